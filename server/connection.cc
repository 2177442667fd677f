#include "server/connection.h"

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "engine/commands/command_table.h"
#include "engine/runtime/clock.h"
#include "engine/scripting/lua_runtime.h"
#include "engine/util/assert.h"
#include "server/log.h"
#include "server/resp_encoder.h"
#include "server/server.h"

namespace allot::server {

namespace {

// Limits in engine/limits.h.
constexpr size_t kPendingCommandsMax = limits::kConnPendingCommandsMax;
constexpr size_t kUnsentPauseBytes = limits::kConnUnsentPauseBytes;
constexpr size_t kKeepBufferBytes = limits::kConnKeepBufferBytes;
constexpr size_t kReplySlotsMax = limits::kConnReplySlotsMax;
// Spent slots and command buffers a connection keeps for reuse; a command that carried more
// than kSpareCommandBytesMax gives its buffer back to the allocator instead.
constexpr size_t kFreeSlotsKept = 64;
constexpr size_t kSpareCommandsKept = 16;
constexpr size_t kSpareCommandBytesMax = 16 * 1024;
// Consecutive pipelined commands for one other shard travel in one message of at most
// this many (one hop out for the run instead of one round trip per command).
constexpr size_t kRemoteBatchMax = 64;

int64_t NowMs() { return internal::RealClockMs(); }
// More than the kernel tick by which CLOCK_REALTIME_COARSE may lag CLOCK_REALTIME.
constexpr int64_t kCoarseClockSlackMs = 20;

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

void Connection::Sink::deliver(Reply r) {
  Connection* c = conn;
  Slot* s = slot;
  internal::Reactor* here = internal::Reactor::current();
  if (here == c->reactor_ && c->executing_ == s) {  // inline: execute() is on the stack
    s->reply = std::move(r);
    s->filled = true;
    return;
  }
  if (here == c->reactor_) {  // a multi-shard command that finished on our own thread
    Hold hold(c);
    c->on_slot_reply(s, std::move(r));
    c->after_replies();
    return;
  }
  c->arrive(s, std::move(r));
}

void Connection::arrive(Slot* slot, Reply r) {
  // From another shard or the log writer (which completes a whole group at once): the
  // replies gather in the inbox and one message home takes them all, so the connection
  // encodes and sends them together instead of one send per reply.
  bool post = false;
  {
    std::lock_guard<std::mutex> lock(arrivals_mu_);
    arrivals_.emplace_back(slot, std::move(r));
    post = !arrivals_posted_;
    arrivals_posted_ = true;
  }
  if (post) {
    server_.engine().run_on_shard_async(shard_, [this](internal::ShardState&) { on_arrivals(); });
  }
}

void Connection::on_arrivals() {
  Hold hold(this);
  std::vector<std::pair<Slot*, Reply>> got;
  {
    std::lock_guard<std::mutex> lock(arrivals_mu_);
    got.swap(arrivals_);
    arrivals_posted_ = false;
  }
  for (auto& [slot, reply] : got) {
    if (slot == nullptr) {  // a remote batch has run (execute_remote_batch)
      ALLOT_CHECK(stopped_ > 0 && deferred_ > 0);
      --stopped_;
      --deferred_;
      continue;
    }
    on_slot_reply(slot, std::move(reply));
  }
  after_replies();
}

Connection::Connection(Server& server, unsigned shard, int fd, uint64_t id, std::string peer,
                       std::string local, const TlsContext* tls)
    : server_(server), reactor_(&server.engine().reactor(shard)), shard_(shard), fd_(fd), id_(id) {
  if (tls != nullptr) tls_ = std::make_unique<TlsSession>(*tls);
  meta_.peer = std::move(peer);
  meta_.local = std::move(local);
  meta_.fd = fd;
  meta_.created_ms = NowMs();
  meta_.last_active_ms.store(meta_.created_ms);
  session_.resp = 2;
  gate_.conn = this;
  session_.gate = &gate_;
  recv_op_.conn = this;
  send_op_.conn = this;
  send_op_.fn = &Connection::on_send;
  pause_op_.conn = this;
  pause_op_.fn = &Connection::on_pause_check;
  user_ = server.acl().default_user();
  acl_version_ = server.acl().version();
  // As Redis: a new client is authenticated as default when it needs no password.
  authenticated_ = user_->enabled && user_->nopass;
  ParserLimits pl;
  pl.bulk_bytes_max = server.limits().proto_max_bulk_len.load();
  parser_ = RespParser(pl);
  parser_.set_unauthenticated(!authenticated_);
  server_.live_sockets.fetch_add(1);
}

Connection::~Connection() { server_.live_sockets.fetch_sub(1); }

void Connection::start() {
  server_.register_client(this);
  ShardNet& net = server_.net(shard_);
  net.conns.emplace(id_, this);
  if (!net.recv_buffers_tried) {
    net.recv_buffers_tried = true;
    net.recv_buffers = RecvBuffers::Create(reactor_->ring(), 0);
    if (!net.recv_buffers) {
      LogNotice("Shard {}: no provided-buffer rings on this kernel, receiving one by one", shard_);
    }
  }
  bufs_ = net.recv_buffers.get();
  if (bufs_ == nullptr) own_buf_ = std::make_unique<char[]>(limits::kRecvBufferBytes);
  maybe_read();
}

bool Connection::wants_input() const {
  return !closing_ && !close_after_write_ && proto_error_.empty() &&
         pending_.size() < kPendingCommandsMax && unsent_bytes() < kUnsentPauseBytes;
}

void Connection::maybe_read() {
  if (!wants_input()) {
    // A multishot receive reads until it is cancelled: stop it, so that the client's TCP
    // window holds the rest instead of our memory. It is re-armed when input is wanted.
    if (recv_armed_ && bufs_ != nullptr && !recv_cancelling_ && !closing_) {
      io_uring_sqe* sqe = reactor_->get_sqe();
      io_uring_prep_cancel(sqe, &recv_op_, 0);
      io_uring_sqe_set_data64(sqe, 0);
      recv_cancelling_ = true;
    }
    return;
  }
  if (recv_armed_) return;
  io_uring_sqe* sqe = reactor_->get_sqe();
  if (bufs_ != nullptr) {
    io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = bufs_->group();
  } else {
    io_uring_prep_recv(sqe, fd_, own_buf_.get(), limits::kRecvBufferBytes, 0);
  }
  io_uring_sqe_set_data(sqe, &recv_op_);
  recv_armed_ = true;
}

void Connection::on_recv(int32_t res, uint32_t flags) {
  Hold hold(this);
  // Without IORING_CQE_F_MORE this is the receive's last completion (EOF, error, cancel, or
  // the kernel ending a multishot): it has to be armed again to read on.
  if (bufs_ == nullptr || (flags & IORING_CQE_F_MORE) == 0) {
    recv_armed_ = false;
    recv_cancelling_ = false;
  }
  std::string_view bytes;
  uint16_t buf_id = 0;
  bool lent = bufs_ != nullptr && (flags & IORING_CQE_F_BUFFER) != 0;
  if (lent) {
    bytes = bufs_->take(flags, res, &buf_id);
  } else if (res > 0) {
    bytes = std::string_view(own_buf_.get(), static_cast<size_t>(res));
  }
  if (!bytes.empty() && !closing_ && !close_after_write_ && proto_error_.empty()) {
    // Bytes after a protocol error or QUIT (still in flight when reading stopped) are dropped,
    // as Redis never reads them.
    meta_.last_active_ms.store(internal::RealClockCoarseMs(), std::memory_order_relaxed);
    if (tls_) {
      on_tls_bytes(bytes);
    } else {
      feed(bytes);  // the parser copies what it keeps: the buffer can go back now
    }
  }
  if (lent) bufs_->give_back(buf_id);
  if (closing_) return maybe_destroy();
  if (res <= 0) {
    // -ENOBUFS: the pool ran dry in this round; the buffers parsed since are back by the
    // time the re-armed receive is submitted. -ECANCELED: maybe_read() paused reading.
    if (res == -ENOBUFS || res == -ECANCELED) return process();
    if (res < 0 && res != -ECONNRESET) {
      LogVerbose("Reading from client id={}: {}", id_, std::strerror(-res));
    }
    return close_now();
  }
  process();
}

void Connection::on_tls_bytes(std::string_view ciphertext) {
  tls_->feed_ciphertext(ciphertext);
  std::string plain;
  TlsSession::Status st = tls_->read_plaintext(&plain);
  if (!plain.empty()) feed(plain);
  if (closing_ || st == TlsSession::Status::kOk) return;
  if (st == TlsSession::Status::kError) {
    LogVerbose("Error accepting a client TLS connection: {} (id={} addr={})", tls_->error(), id_,
               meta_.peer);
  }
  // The peer closed the session or failed the handshake: send the alert, then close.
  close_after_write_ = true;
}

void Connection::feed(std::string_view data) {
  size_t pos = 0;
  parser_.set_bulk_bytes_max(server_.limits().proto_max_bulk_len.load(std::memory_order_relaxed));
  while (pos < data.size()) {
    size_t used = 0;
    RespParser::Status st = parser_.parse(data.substr(pos), &used);
    pos += used;
    if (st == RespParser::Status::kCommand) {
      Command& cmd = pending_.emplace_back();
      if (!spare_cmds_.empty()) {
        cmd = std::move(spare_cmds_.back());
        spare_cmds_.pop_back();
      }
      parser_.take_command(&cmd);
      pending_bytes_ += cmd.bytes();
    } else if (st == RespParser::Status::kError) {
      proto_error_ = parser_.error();
      LogVerbose("Protocol error ({}) from client: id={} addr={}", proto_error_, id_, meta_.peer);
      break;
    }
  }
  uint64_t limit = server_.limits().query_buffer_limit.load(std::memory_order_relaxed);
  if (pending_bytes_ + parser_.pending_bytes() > limit) {
    LogWarning("Closing client that reached max query buffer length: id={} addr={} qbuf={}", id_,
               meta_.peer, pending_bytes_ + parser_.pending_bytes());
    close_now();
  }
}

bool Connection::can_execute(bool ignore_unsent) const {
  // Unsent replies bound what runs: a client that does not read stops its own commands
  // (and, since it is not read either, its TCP window stops its requests) instead of
  // piling up replies in memory. Found by tests/overload_test.cc: 2,000 pipelined GETs
  // of a 1 MB value, never read, grew one connection's buffer by gigabytes and kept its
  // shard thread copying them while the other clients of that shard waited.
  return stopped_ == 0 && !closing_ && !close_after_write_ && !pending_.empty() &&
         slots_.size() < kReplySlotsMax && (ignore_unsent || unsent_bytes() < kUnsentPauseBytes);
}

void Connection::process() {
  executing_pass_ = true;
  clock_mark_ns_ = -1;
  struct PassEnd {
    Connection* c;
    ~PassEnd() {
      c->executing_pass_ = false;
      c->clock_mark_ns_ = -1;
    }
  } pass_end{this};
  for (;;) {
    while (can_execute()) {
      if (wait_for_pause()) break;
      recycle(std::move(current_));
      current_ = std::move(pending_.front());
      pending_.pop_front();
      pending_bytes_ -= current_.bytes();
      current_.views(argv_);
      if (!execute_current()) break;
    }
    if (closing_) return;
    // Stopped only by unsent replies: if the socket takes them at once, go on.
    if (pause_armed_ || can_execute() || !can_execute(true)) break;
    flush();
    if (closing_) return;
    if (send_armed_) break;  // on_send resumes once the kernel has taken them
  }
  if (pending_.empty() && stopped_ == 0 && !proto_error_.empty() && !close_after_write_) {
    // Redis answers a protocol error after the requests before it, then closes.
    reply_mode_ = ReplyMode::kOn;
    skip_next_reply_ = false;
    close_after_write_ = true;
    Slot& slot = new_slot();
    slot.resp = session_.resp;
    fill(slot, Reply::Error(proto_error_));
    if (closing_) return;
  }
  flush();
  if (close_after_write_ && !send_armed_ && !has_output() && slots_.empty()) return close_now();
  maybe_read();
}

bool Connection::wait_for_pause() {
  if (pause_armed_) return true;
  // Every request passes here: the exact clock only when a pause may be in force (the
  // coarse clock lags the exact one by at most a tick, a few milliseconds).
  int64_t end = server_.pause_end_ms();
  if (end < internal::RealClockCoarseMs() - kCoarseClockSlackMs) return false;
  int64_t now = NowMs();
  if (end <= now) return false;
  const internal::CommandSpec* spec = internal::CommandTable::Get().find(pending_.front().arg(0));
  if (!server_.paused_for(spec != nullptr ? spec->flags : 0, now)) return false;
  // Re-check at most every 50 ms, so CLIENT UNPAUSE on any shard takes effect quickly
  // without a message to every connection.
  constexpr int64_t kRecheckMs = 50;
  int64_t wait_ms = std::min(kRecheckMs, server_.pause_end_ms() - now);
  pause_ts_.tv_sec = 0;
  pause_ts_.tv_nsec = wait_ms * 1000000;
  io_uring_sqe* sqe = reactor_->get_sqe();
  io_uring_prep_timeout(sqe, &pause_ts_, 0, 0);
  io_uring_sqe_set_data(sqe, &pause_op_);
  pause_armed_ = true;
  server_.paused_clients.fetch_add(1);
  return true;
}

void Connection::on_pause_check(int32_t) {
  Hold hold(this);
  pause_armed_ = false;
  server_.paused_clients.fetch_sub(1);
  if (closing_) return;
  process();
}

bool Connection::execute_current() {
  server_.stats(shard_).commands.fetch_add(1, std::memory_order_relaxed);
  // Back to back in one pass, a request starts when the previous one was measured as done:
  // one clock read per request instead of two.
  int64_t start_ns = std::exchange(clock_mark_ns_, -1);
  if (start_ns < 0) start_ns = MonotonicNs();
  std::optional<Reply> r;
  TxnStep step = transaction_step(argv_, &r);
  if (step == TxnStep::kNone) r = server_command(argv_);
  Slot& slot = new_slot();
  slot.sink.conn = this;
  slot.sink.slot = &slot;
  slot.spec = current_spec_;
  slot.rejected = current_rejected_;
  slot.start_ns = start_ns;
  if (step == TxnStep::kExec) return execute_exec(slot);
  if (r) {
    note_duration(slot, argv_);
    slot.visible = take_reply_visibility();
    slot.resp = session_.resp;
    fill(slot, std::move(*r));
    return true;
  }
  // Looked up and hashed once per request (server_command() found the spec).
  const internal::CommandSpec* spec = current_rejected_ ? nullptr : current_spec_;
  int route = spec != nullptr ? server_.engine().route_of(*spec, argv_) : -1;
  if (!pending_.empty() && route >= 0 && route != static_cast<int>(shard_) &&
      !internal::ShardBusyReply(server_.engine().shard(static_cast<unsigned>(route)))) {
    // A shard busy with a long script: execute_routed() below answers BUSY.
    execute_remote_batch(slot, static_cast<unsigned>(route));
    return false;
  }
  executing_ = &slot;
  if (spec != nullptr) {
    server_.engine().execute_routed(session_, *spec, argv_, route, &slot.sink);
  } else {
    server_.engine().execute(session_, argv_, &slot.sink);  // the unknown/arity error texts
  }
  executing_ = nullptr;
  meta_.db.store(session_.db, std::memory_order_relaxed);
  slot.visible = take_reply_visibility();
  slot.resp = session_.resp;
  if (slot.filled) {
    note_duration(slot, argv_);
    slot.filled = false;
    fill(slot, std::move(slot.reply));
    return true;
  }
  ++deferred_;
  // A command routed to this very shard has run already (its reply waits for the log):
  // later commands may run meanwhile, their replies queue behind. One routed elsewhere
  // has not run yet; nothing more runs until it has, so the order of execution stays the
  // order of the requests.
  // Whatever execute_routed() ran on this thread (this shard's keys, no keys, no shard) has
  // run when it returns, writes and scripts alike.
  bool ran_here = spec != nullptr && !(spec->flags & internal::kCmdBlocking) &&
                  ((spec->flags & internal::kCmdNoShard) || route == static_cast<int>(shard_) ||
                   route == internal::EngineImpl::kRouteNone);
  if (ran_here) {
    note_duration(slot, argv_);  // ran; only its reply waits for the log
    return true;
  }
  slot.stops = true;
  ++stopped_;
  return false;
}

void Connection::execute_remote_batch(Slot& first, unsigned target) {
  // The batch as a whole stops this connection until it has RUN on the target shard (one
  // message home after its last command), not until its replies are back: a write's reply
  // may wait there for the log, and later requests need not wait for that disk sync, only
  // for the order of execution. The replies keep their places in slots_.
  std::vector<Slot*> batch;
  auto add = [&](Slot& slot) {
    slot.cmd = std::move(current_);  // the bytes must live until the command has run
    slot.visible = take_reply_visibility();
    slot.resp = session_.resp;
    slot.remote = true;
    ++deferred_;
    batch.push_back(&slot);
  };
  ++stopped_;
  ++deferred_;  // the "batch ran" message home
  add(first);
  const internal::CommandTable& table = internal::CommandTable::Get();
  while (!pending_.empty() && slots_.size() < kReplySlotsMax && batch.size() < kRemoteBatchMax) {
    pending_.front().views(argv_);
    // Only engine commands for the same shard join; anything else (connection commands,
    // other shards, a CLIENT PAUSE in force) waits for the batch's replies, as before.
    const internal::CommandSpec* spec = table.find(argv_[0]);
    if (spec == nullptr || (spec->flags & internal::kCmdConnection) ||
        !internal::ArityOk(*spec, argv_.size()) ||
        server_.engine().route_of(*spec, argv_) != static_cast<int>(target)) {
      break;
    }
    if (server_.pause_end_ms() > NowMs()) break;
    // A refused command (ACL, maxmemory) is answered here, in order, after the batch.
    if (refusal(*spec, argv_).has_value()) break;
    current_ = std::move(pending_.front());
    pending_.pop_front();
    pending_bytes_ -= current_.bytes();
    current_.views(argv_);
    server_.stats(shard_).commands.fetch_add(1, std::memory_order_relaxed);
    int64_t start_ns = MonotonicNs();
    // Checked just above: used memory may have moved since, and the verdict must not.
    refusal_checked_ = true;
    ALLOT_CHECK(!server_command(argv_).has_value());  // keyed, allowed, not ours
    Slot& slot = new_slot();
    slot.sink.conn = this;
    slot.sink.slot = &slot;
    slot.spec = current_spec_;
    slot.rejected = current_rejected_;
    slot.start_ns = start_ns;
    add(slot);
  }
  internal::EngineImpl* engine = &server_.engine();
  Session* session = &session_;  // not touched here while stopped_ > 0
  engine->run_on_shard_async(target, [this, engine, session, batch](internal::ShardState& shard) {
    std::vector<std::string_view> args;
    for (Slot* slot : batch) {
      slot->cmd.views(args);
      engine->execute_here(*session, args, shard, &slot->sink);
    }
    // "The batch has run" travels with the replies that were ready (one message home for
    // both), after them. The slots are not touched from here on (they may be reused once
    // their replies are out).
    arrive(nullptr, Reply());
  });
}

void Connection::on_slot_reply(Slot* slot, Reply r) {
  ALLOT_CHECK(deferred_ > 0 && !slot->filled);
  --deferred_;
  const bool ran_elsewhere = slot->stops || slot->remote;
  if (slot->stops) {
    ALLOT_CHECK(stopped_ > 0);
    --stopped_;
    slot->stops = false;
  }
  if (ran_elsewhere) {
    // It ran on another shard: its arguments are in the slot (a remote batch) or still
    // in current_ (nothing else ran since it was dispatched).
    std::vector<std::string_view> args;
    (slot->cmd.argc() > 0 ? slot->cmd : current_).views(args);
    note_duration(*slot, args);
  }
  if (closing_) {
    record_call(*slot, r);
    return;  // the caller's Hold frees us once nothing else is outstanding
  }
  fill(*slot, std::move(r));
}

void Connection::after_replies() {
  Hold hold(this);
  if (closing_) return;
  process();
}

void Connection::fill(Slot& slot, Reply r) {
  if (!slot.exec_later.empty()) r = finish_exec(slot, std::move(r));
  record_call(slot, r);
  if (r.is_error()) server_.stats(shard_).count_error(r.string());
  slot.reply = std::move(r);
  slot.filled = true;
  if (&slot == slots_.front().get()) drain_slots();
}

Connection::Slot& Connection::new_slot() {
  if (free_slots_.empty()) return *slots_.emplace_back(std::make_unique<Slot>());
  slots_.push_back(std::move(free_slots_.back()));
  free_slots_.pop_back();
  return *slots_.back();
}

void Connection::pop_slot() {
  std::unique_ptr<Slot> spent = std::move(slots_.front());
  slots_.pop_front();
  if (free_slots_.size() >= kFreeSlotsKept) return;
  // Reset what a reused slot reads; the rest is assigned by every path that fills one.
  spent->reply = Reply();
  spent->filled = false;
  spent->visible = true;
  spent->stops = false;
  spent->remote = false;
  if (spent->cmd.argc() > 0) spent->cmd = Command();
  spent->resp = 2;
  spent->spec = nullptr;
  spent->rejected = false;
  spent->start_ns = 0;
  spent->ran_ns = -1;
  spent->exec_later.clear();
  free_slots_.push_back(std::move(spent));
}

void Connection::recycle(Command&& spent) {
  if (spare_cmds_.size() >= kSpareCommandsKept || spent.bytes() > kSpareCommandBytesMax) return;
  Command c = std::move(spent);
  c.clear();
  spare_cmds_.push_back(std::move(c));
}

void Connection::drain_slots() {
  while (!closing_ && !slots_.empty() && slots_.front()->filled) {
    Slot& slot = *slots_.front();
    if (slot.visible) {
      EncodeReply(slot.reply, slot.resp, out_);
      if (over_output_limit()) {
        LogWarning(
            "Client id={} addr={} closed for overcoming of output buffer limits (unsent {} "
            "bytes).",
            id_, meta_.peer, unsent_bytes());
        return close_now();
      }
    }
    pop_slot();
  }
}

bool Connection::take_reply_visibility() {
  if (reply_mode_ == ReplyMode::kOff) return false;
  if (skip_next_reply_) {
    skip_next_reply_ = false;
    return false;
  }
  if (reply_mode_ == ReplyMode::kSkip) {  // this is CLIENT REPLY SKIP's own reply
    reply_mode_ = ReplyMode::kOn;
    skip_next_reply_ = true;
    return false;
  }
  return true;
}

// Redis counts a command refused before it ran (arity, NOAUTH) as rejected, one that ran
// and answered an error as failed. usec here is the time from dispatch to the reply on
// this shard, so for a command run on another shard it includes the hop.
void Connection::record_call(const Slot& slot, const Reply& r) {
  if (slot.spec == nullptr) return;
  size_t idx = static_cast<size_t>(slot.spec - internal::CommandTable::Get().all().data());
  CommandStat& st = server_.stats(shard_).commands_by_spec[idx];
  if (slot.rejected) {
    st.rejected.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  st.calls.fetch_add(1, std::memory_order_relaxed);
  // Measured when it ran (note_duration), not now: a write's reply may have waited for the log.
  int64_t ran_ns = slot.ran_ns >= 0 ? slot.ran_ns : MonotonicNs() - slot.start_ns;
  st.usec.fetch_add(static_cast<uint64_t>(ran_ns / 1000), std::memory_order_relaxed);
  RecordLatency(server_.stats(shard_), idx, ran_ns / 1000);  // LATENCY HISTOGRAM
  if (r.is_error()) st.failed.fetch_add(1, std::memory_order_relaxed);
}

void Connection::note_duration(Slot& slot, std::span<const std::string_view> args) {
  int64_t now_ns = MonotonicNs();
  slot.ran_ns = now_ns - slot.start_ns;
  if (executing_pass_) clock_mark_ns_ = now_ns;
  int64_t us = slot.ran_ns / 1000;
  SlowLog& slowlog = server_.slowlog();
  LatencyMonitor& latency = server_.latency();
  bool slow = slowlog.wants(us);
  bool spike = latency.wants(us / 1000);
  if (!slow && !spike) return;  // the ordinary path ends here
  int64_t now_s = NowMs() / 1000;
  if (spike) {
    bool fast = slot.spec != nullptr && (slot.spec->flags & internal::kCmdFast);
    latency.add(fast ? "fast-command" : "command", now_s, us / 1000);
  }
  if (!slow || args.empty()) return;
  SlowlogEntry e;
  e.unix_s = now_s;
  e.duration_us = us;
  e.args = SlowlogArgs(args);
  e.peer = meta_.peer;
  {
    std::lock_guard<std::mutex> lock(*server_.registry_mutex());
    e.name = meta_.name;
  }
  slowlog.add(std::move(e));
}

bool Connection::over_output_limit() {
  const LiveLimits& l = server_.limits();
  uint64_t hard = l.out_hard_bytes.load(std::memory_order_relaxed);
  uint64_t soft = l.out_soft_bytes.load(std::memory_order_relaxed);
  uint64_t unsent = unsent_bytes();
  if (hard > 0 && unsent > hard) return true;
  if (soft == 0 || unsent <= soft) {
    soft_limit_since_ms_ = 0;
    return false;
  }
  int64_t now = NowMs();
  if (soft_limit_since_ms_ == 0) soft_limit_since_ms_ = now;
  uint64_t secs = l.out_soft_seconds.load(std::memory_order_relaxed);
  return static_cast<uint64_t>(now - soft_limit_since_ms_) > secs * 1000;
}

void Connection::flush() {
  if (send_armed_ || closing_) return;
  if (tls_) {
    // Replies are encrypted only now, when they go to the socket: out_ becomes the records.
    if (!out_.empty() && tls_->encrypt(out_) == TlsSession::Status::kError) {
      LogVerbose("TLS error writing to client id={}: {}", id_, tls_->error());
      return close_now();
    }
    out_.clear();
    tls_->take_ciphertext(&out_);
  }
  if (out_.empty()) return;
  // The send goes on the ring, not through a send() syscall: the loop submits the sends of
  // every connection served in this pass with one io_uring_enter, and the kernel completes
  // each at once when the socket has room. (A direct send() per reply cost a syscall per
  // request at -P 1, and its exit ran other sockets' receive work, see reactor.cc.)
  sending_.swap(out_);
  out_.clear();
  sent_ = 0;
  submit_send();
}

void Connection::submit_send() {
  io_uring_sqe* sqe = reactor_->get_sqe();
  io_uring_prep_send(sqe, fd_, sending_.data() + sent_, sending_.size() - sent_, MSG_NOSIGNAL);
  io_uring_sqe_set_data(sqe, &send_op_);
  send_armed_ = true;
}

void Connection::on_send(int32_t res) {
  Hold hold(this);
  send_armed_ = false;
  if (closing_) return maybe_destroy();
  if (res < 0) {
    LogVerbose("Error writing to client id={}: {}", id_, std::strerror(-res));
    return close_now();
  }
  sent_ += static_cast<size_t>(res);
  if (sent_ < sending_.size()) return submit_send();
  sending_.clear();
  if (sending_.capacity() > kKeepBufferBytes) std::string().swap(sending_);
  sent_ = 0;
  if (can_execute()) return process();  // what waited for the replies to leave
  if (has_output()) {
    flush();
    if (send_armed_ || closing_) return;
  }
  if (close_after_write_ && slots_.empty()) return close_now();
  maybe_read();
}

void Connection::close_now() {
  if (closing_) return;
  closing_ = true;
  // Wake our outstanding recv/send: they complete, and the last one frees us.
  ::shutdown(fd_, SHUT_RDWR);
  if (recv_armed_ || send_armed_) {
    io_uring_sqe* sqe = reactor_->get_sqe();
    io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, 0);
  }
  server_.net(shard_).conns.erase(id_);
  server_.unregister_client(this);
  maybe_destroy();
}

void Connection::maybe_destroy() {
  if (!closing_ || holds_ > 0 || recv_armed_ || send_armed_ || deferred_ > 0 || pause_armed_) {
    return;
  }
  release_watch();  // nothing of ours runs any more: the session is ours again
  ::close(fd_);
  delete this;
}

}  // namespace allot::server
