// connection.h: one client socket, served on the io_uring ring of the shard thread that
// accepted it.
//
// Life of a request: recv completes -> the bytes go through the RespParser into a queue
// of parsed Commands -> process() executes them one after another -> their encoded
// replies are appended to out_ -> one send per pass carries every reply produced.
//
// Order: every executed command takes a reply slot in an ordered queue; replies leave
// from the head while the head slot is filled. A command whose keys live on this shard
// completes inline (the fast path) and fills its slot at once. A write logged by the WAL
// in `durability always` has run already when execute() returns, but its reply exists
// only once the record is durable: its slot stays open, and later commands go on
// executing (they join the same group commit), while their replies wait behind it. A
// command that runs on another shard (or several) has not run yet: until its reply is
// home the connection executes nothing more, so the execution order per connection is
// exactly the request order. Its Command (argument bytes) and the Session stay alive in
// the connection until then. Consecutive pipelined commands for the same other shard go
// there in one message (execute_remote_batch). Replies completed on other threads (the
// log writer finishes a whole group at once) gather in arrivals_ and go home in one
// message, so a burst of them is encoded and sent together.
//
// Bounds: reading pauses while a batch of parsed requests or of unsent replies is large
// (TCP back-pressure instead of buffering); the query buffer limit and the output buffer
// limit of the config close the client, as in Redis.
//
// Lifetime: a Connection deletes itself once it is closing and no recv, send or remote
// command is outstanding. Every member function runs on the owning shard thread.
#pragma once

#include <allot/engine.h>
#include <allot/reply.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/engine_impl.h"
#include "engine/runtime/reactor.h"
#include "server/acl.h"
#include "server/resp_parser.h"
#include "server/tls.h"

namespace allot::server {

class Server;
class RecvBuffers;

// Metadata CLIENT LIST reads from other threads (under the registry mutex or atomically).
struct ClientMeta {
  std::string name;              // under Server's registry mutex
  std::string lib_name;          // under Server's registry mutex
  std::string lib_ver;           // under Server's registry mutex
  std::string user = "default";  // under Server's registry mutex
  std::string peer;
  std::string local;
  int fd = -1;
  int64_t created_ms = 0;
  std::atomic<int64_t> last_active_ms{0};
  std::atomic<int> db{0};
  std::atomic<int> resp{2};
  std::atomic<const char*> last_cmd{"NULL"};
};

class Connection {
 public:
  // tls: the context of the TLS port, nullptr for a plain connection.
  Connection(Server& server, unsigned shard, int fd, uint64_t id, std::string peer,
             std::string local, const TlsContext* tls = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // Shuts the socket down; the object goes away once nothing is outstanding.
  void close_now();
  // Sends what is pending, then closes (QUIT, protocol errors).
  void close_after_reply() { close_after_write_ = true; }

  uint64_t id() const { return id_; }
  // A command of this client is running on another shard, or a reply waits for the log
  // (not idle, whatever the clock).
  bool busy() const { return stopped_ > 0 || deferred_ > 0; }
  unsigned shard() const { return shard_; }
  ClientMeta& meta() { return meta_; }
  const ClientMeta& meta() const { return meta_; }

 private:
  struct Op final : internal::Completion {
    Connection* conn = nullptr;
    void (Connection::*fn)(int32_t res) = nullptr;
    void on_complete(internal::Reactor&, int32_t res, uint32_t) override { (conn->*fn)(res); }
  };
  // The receive's completion also needs the CQE flags (buffer id, more to come).
  struct RecvOp final : internal::Completion {
    Connection* conn = nullptr;
    void on_complete(internal::Reactor&, int32_t res, uint32_t flags) override {
      conn->on_recv(res, flags);
    }
  };
  struct Slot;
  // Completes one slot; deliver() may run on any thread (it posts home).
  struct Sink final : internal::ReplySink {
    Connection* conn = nullptr;
    Slot* slot = nullptr;
    void deliver(Reply r) override;
  };
  // One executed command's place in the reply order. Lives in slots_ (owned through a
  // pointer: its address is stable) until its reply has left, then is reused: pop_slot()
  // resets every field below, so a field added here must be reset there too.
  struct Slot {
    Sink sink;
    Reply reply;
    bool filled = false;
    bool visible = true;  // CLIENT REPLY OFF/SKIP, decided when the command ran
    bool stops = false;   // had not run when execute() returned (remote, multi-shard)
    bool remote = false;  // one of a remote batch (which stops the connection as a whole)
    Command cmd;          // a batch's argument bytes, until the command has run
    int resp = 2;         // the protocol when it ran (HELLO answers in the new one)
    // For INFO commandstats (record_call).
    const internal::CommandSpec* spec = nullptr;
    bool rejected = false;
    int64_t start_ns = 0;
    int64_t ran_ns = -1;  // how long it ran, once note_duration() measured it
    // EXEC: the queued connection commands (CLIENT, HELLO, CONFIG...) the engine does not
    // run, with their index in the reply array; run when the engine's reply is home.
    std::vector<std::pair<size_t, std::vector<std::string>>> exec_later;
  };
  enum class ReplyMode { kOn, kOff, kSkip };
  Slot& new_slot();
  void pop_slot();
  void recycle(Command&& spent);
  // Held by every entry point (completions, remote replies): while one is on the stack the
  // object is not deleted, so code after a close_now() deep inside it stays valid.
  struct Hold {
    explicit Hold(Connection* c) : conn(c) { ++c->holds_; }
    ~Hold() {
      if (--conn->holds_ == 0) conn->maybe_destroy();
    }
    Connection* conn;
  };

  void on_recv(int32_t res, uint32_t flags);
  // TLS: decrypts what arrived and feeds the plaintext to the parser.
  void on_tls_bytes(std::string_view ciphertext);
  void on_send(int32_t res);
  // Completes slot (on this thread, under a Hold of the caller); after_replies() then
  // runs what can run and sends what is ready.
  void on_slot_reply(Slot* slot, Reply r);
  void after_replies();
  // Takes every reply gathered in arrivals_.
  void on_arrivals();
  // Any thread but ours: queues slot's reply (slot = nullptr: a remote batch has run on its
  // shard) for on_arrivals(), posting it home if not posted yet.
  void arrive(Slot* slot, Reply r);
  // Puts r in slot (stats, error counts) and sends what the head of the queue allows.
  void fill(Slot& slot, Reply r);
  // Encodes the filled slots at the head of slots_ into out_.
  void drain_slots();
  // Whether the reply of the command that just ran is sent (CLIENT REPLY OFF/SKIP).
  bool take_reply_visibility();
  void on_pause_check(int32_t res);
  // True (and a re-check armed) if the next pending command must wait for CLIENT PAUSE.
  bool wait_for_pause();
  void feed(std::string_view data);
  // Whether the next pending command may run now (order, pause, reply and output bounds).
  // ignore_unsent: all but the bound on unsent replies.
  bool can_execute(bool ignore_unsent = false) const;
  void process();
  // Runs current_; false if it went to another shard (its reply comes later).
  bool execute_current();
  // Sends current_ (in first) and the pending commands right after it that route to the
  // same other shard to that shard in one message.
  void execute_remote_batch(Slot& first, unsigned target);
  void record_call(const Slot& slot, const Reply& r);
  // SLOWLOG and LATENCY: notes a command dispatched at start_ns that has just run.
  void note_duration(Slot& slot, std::span<const std::string_view> args);
  bool debug_allowed() const;
  bool over_output_limit();
  void flush();
  void submit_send();
  void maybe_read();
  // Whether the connection reads now (false while it pauses for back-pressure or closes).
  bool wants_input() const;
  // Deletes this once closing and nothing is outstanding. Not inlined: GCC's use-after-free
  // analysis cannot see that holds_ > 0 keeps the delete from running under a Hold.
  [[gnu::noinline]] void maybe_destroy();
  size_t unsent_bytes() const { return out_.size() + (sending_.size() - sent_); }
  bool has_output() const { return !out_.empty() || (tls_ && tls_->has_ciphertext()); }

  // MULTI/EXEC/DISCARD and queueing inside MULTI (server/conn_multi.cc).
  enum class TxnStep { kNone, kReplied, kExec };
  // For a command while in MULTI, or MULTI/EXEC/DISCARD outside: kReplied with *out set
  // (queued, refused, MULTI, DISCARD...), kExec to run the queue, kNone for the usual path.
  TxnStep transaction_step(internal::Args args, std::optional<Reply>* out);
  // Sends the queue to the engine as one transaction; false if its reply comes later.
  bool execute_exec(Slot& slot);
  // Runs the queued connection commands of an EXEC reply and puts their replies in place.
  Reply finish_exec(Slot& slot, Reply r);
  void discard_multi();
  void release_watch();

  // Commands allotd answers itself (server/conn_commands.cc); nullopt = not one of them.
  std::optional<Reply> server_command(internal::Args args);
  Reply cmd_hello(internal::Args args);
  Reply cmd_auth(internal::Args args);
  Reply cmd_client(internal::Args args);
  Reply cmd_client_list(internal::Args args);
  Reply cmd_client_kill(internal::Args args);
  Reply cmd_client_pause(internal::Args args);
  Reply cmd_config(internal::Args args);
  Reply cmd_reset();
  Reply cmd_acl(internal::Args args);
  Reply cmd_acl_setuser(internal::Args args);
  // AUTH / HELLO AUTH: authenticates as user if the password matches.
  bool try_auth(std::string_view user, std::string_view pass);
  void authenticate(bool ok);
  // Why an authenticated client may not run this known, well-formed command now (ACL
  // permissions, maxmemory), or nullopt. Cheap when the user may run everything and no
  // memory limit applies.
  std::optional<Reply> refusal(const internal::CommandSpec& spec, internal::Args args);
  // Re-reads user_ after ACL changes; false if the user was deleted (the client closes).
  bool refresh_user();

  Server& server_;
  internal::Reactor* reactor_;
  const unsigned shard_;
  const int fd_;
  const uint64_t id_;
  ClientMeta meta_;
  // The ACL of user_ for what this client's scripts run (Session::gate). It reads user_
  // on the thread that runs the script while this connection waits for that reply, so
  // user_ does not change meanwhile (refusal() runs only between commands).
  struct AclGate final : CommandGate {
    const Connection* conn = nullptr;
    std::string check(std::span<const std::string_view> args) const override;
  };
  AclGate gate_;
  Session session_;
  bool authenticated_ = false;
  AclUserPtr user_;  // the user this client runs as (default until AUTH)
  uint64_t acl_version_ = 0;
  bool refusal_checked_ = false;  // server_command skips refusal() once (remote batches)
  ReplyMode reply_mode_ = ReplyMode::kOn;
  bool skip_next_reply_ = false;
  RespParser parser_;

  std::deque<Command> pending_;  // parsed, not executed yet
  size_t pending_bytes_ = 0;
  Command current_;  // executing (possibly on another shard)
  std::vector<std::string_view> argv_;
  size_t stopped_ = 0;  // commands out that had not run yet: execute nothing meanwhile
  std::deque<std::unique_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<Slot>> free_slots_;  // spent slots, reused (no allocation)
  std::vector<Command> spare_cmds_;  // spent commands' buffers, for the parser to refill     //
                                     // replies in request order, head first
  size_t deferred_ = 0;              // sinks that will still be delivered
  Slot* executing_ = nullptr;        // the slot whose command is inside execute()
  // Replies delivered on other threads, waiting for one message home (Sink::deliver).
  std::mutex arrivals_mu_;
  std::vector<std::pair<Slot*, Reply>> arrivals_;  // under arrivals_mu_
  bool arrivals_posted_ = false;                   // under arrivals_mu_
  // For INFO commandstats: the running command's spec (nullptr if unknown) and whether it
  // was refused before running (arity, NOAUTH); copied into its Slot.
  const internal::CommandSpec* current_spec_ = nullptr;
  bool current_rejected_ = false;
  std::string proto_error_;  // to reply once the commands before it are answered
  // MULTI: queued commands (argv copies), their bytes, and whether one was refused while
  // queueing (EXEC then answers EXECABORT and runs nothing).
  bool in_multi_ = false;
  bool multi_failed_ = false;
  std::vector<std::vector<std::string>> multi_queue_;
  size_t multi_bytes_ = 0;

  std::unique_ptr<TlsSession> tls_;  // TLS port only (server/tls.h)
  std::string out_;                  // replies not handed to the kernel yet (plaintext under TLS)
  std::string sending_;              // bytes of the send in flight
  size_t sent_ = 0;
  int64_t soft_limit_since_ms_ = 0;

  int holds_ = 0;
  bool recv_armed_ = false;
  bool send_armed_ = false;
  bool pause_armed_ = false;
  __kernel_timespec pause_ts_{};
  bool closing_ = false;
  bool close_after_write_ = false;
  bool recv_cancelling_ = false;
  // Inside process()'s loop: the monotonic time the last request was measured done, the
  // next one's start (see execute_current()); -1 outside a pass.
  bool executing_pass_ = false;
  int64_t clock_mark_ns_ = -1;  // a cancel of the multishot receive is on its way
  RecvOp recv_op_;
  Op send_op_;
  Op pause_op_;
  // The shard's pool the multishot receive picks from, or null where the kernel has no
  // provided-buffer rings: then one receive at a time into own_buf_.
  RecvBuffers* bufs_ = nullptr;
  std::unique_ptr<char[]> own_buf_;
};

}  // namespace allot::server
