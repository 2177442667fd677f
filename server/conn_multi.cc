// conn_multi.cc: MULTI, EXEC, DISCARD and queueing, as Redis 7.0's processCommand and
// multi.c do it. The connection keeps the queue; EXEC hands it to the engine as one
// transaction (EngineImpl::execute_transaction, engine/txn/transaction.cc), which runs it
// atomically over every shard it touches and checks WATCH (engine/txn/watch.h).
//
// Inside MULTI every command is queued (+QUEUED) except MULTI, EXEC, DISCARD, WATCH, QUIT
// and RESET, which act at once. A command refused while queueing (unknown, wrong arity,
// NOAUTH, not allowed in a transaction, queue full) answers its error and flags the
// transaction: EXEC then answers EXECABORT and runs nothing. The connection commands
// allotd answers itself (CLIENT, HELLO, CONFIG, COMMAND, AUTH) are queued too; the engine
// cannot run them, so they run on this thread when EXEC's reply comes back, in their
// places in the reply array (they touch no data, so the atomic part is unchanged).
#include "engine/commands/args.h"
#include "engine/commands/command_table.h"
#include "engine/limits.h"
#include "engine/txn/watch.h"
#include "server/connection.h"
#include "server/server.h"

namespace allot::server {

using internal::Args;
using internal::CommandSpec;
using internal::EqualsIgnoreCase;

namespace {

constexpr std::string_view kExecAbort =
    "EXECABORT Transaction discarded because of previous errors.";

bool IsTxnControl(std::string_view name) {
  return EqualsIgnoreCase(name, "MULTI") || EqualsIgnoreCase(name, "EXEC") ||
         EqualsIgnoreCase(name, "DISCARD");
}

// Connection commands the engine cannot run (answered by allotd itself); SELECT is
// handled by the engine's transaction, which tracks the database.
bool RunsOnConnection(const CommandSpec& spec) {
  return (spec.flags & internal::kCmdConnection) && spec.name != "SELECT";
}

}  // namespace

Connection::TxnStep Connection::transaction_step(Args args, std::optional<Reply>* out) {
  if (!in_multi_ && !IsTxnControl(args[0])) return TxnStep::kNone;
  const CommandSpec* spec = internal::CommandTable::Get().find(args[0]);
  current_spec_ = spec;
  current_rejected_ = spec == nullptr || !ArityOk(*spec, args.size());
  if (!in_multi_) {
    // Unknown/arity/NOAUTH errors come from the usual path, with the usual texts.
    if (current_rejected_ || !authenticated_) return TxnStep::kNone;
    meta_.last_cmd.store(spec->name.data(), std::memory_order_relaxed);
    if (std::optional<Reply> refused = refusal(*spec, args)) {  // ACL (server/acl.h)
      current_rejected_ = true;
      *out = std::move(refused);
      return TxnStep::kReplied;
    }
    if (spec->name == "MULTI") {
      in_multi_ = true;
      multi_failed_ = false;
      *out = Reply::Ok();
    } else {
      *out = Reply::Error("ERR " + std::string(spec->name == "EXEC" ? "EXEC" : "DISCARD") +
                          " without MULTI");
    }
    return TxnStep::kReplied;
  }
  // In MULTI. Refusals flag the transaction (Redis's rejectCommand -> flagTransaction).
  auto refuse = [&](Reply r) {
    current_rejected_ = true;
    multi_failed_ = true;
    *out = std::move(r);
    return TxnStep::kReplied;
  };
  if (spec == nullptr) return refuse(internal::UnknownCommandReply(args));
  meta_.last_cmd.store(spec->name.data(), std::memory_order_relaxed);
  std::string_view name = spec->name;
  if (!ArityOk(*spec, args.size())) {
    Reply err = internal::WrongArgsReply(spec->name);
    if (name != "EXEC") return refuse(std::move(err));
    // A malformed EXEC discards the transaction at once, with the reason.
    std::string why = err.string();
    if (why.rfind("ERR ", 0) == 0) why.erase(0, 4);
    discard_multi();
    release_watch();
    current_rejected_ = true;
    *out = Reply::Error("EXECABORT Transaction discarded because of: " + why);
    return TxnStep::kReplied;
  }
  bool no_auth = name == "AUTH" || name == "HELLO" || name == "QUIT" || name == "RESET";
  if (!authenticated_ && !no_auth) return refuse(Reply::Error("NOAUTH Authentication required."));
  // ACL rules and maxmemory are checked when a command is queued, as Redis does: a refusal
  // answers NOPERM/OOM now and EXEC then aborts.
  if (!no_auth) {
    if (std::optional<Reply> refused = refusal(*spec, args)) return refuse(std::move(*refused));
  }
  if (name == "QUIT" || name == "RESET") return TxnStep::kNone;  // act at once
  if (name == "MULTI") {
    *out = Reply::Error("ERR MULTI calls can not be nested");
    return TxnStep::kReplied;
  }
  if (name == "WATCH") {
    *out = Reply::Error("ERR WATCH inside MULTI is not allowed");
    return TxnStep::kReplied;
  }
  if (name == "DISCARD") {
    discard_multi();
    release_watch();
    *out = Reply::Ok();
    return TxnStep::kReplied;
  }
  if (name == "EXEC") {
    if (!multi_failed_) return TxnStep::kExec;
    discard_multi();
    release_watch();
    *out = Reply::Error(kExecAbort);
    return TxnStep::kReplied;
  }
  if (name == "SHUTDOWN") {  // Redis's no-multi commands: SAVE, SHUTDOWN, SYNC, PSYNC
    return refuse(Reply::Error("ERR Command not allowed inside a transaction"));
  }
  size_t bytes = 0;
  for (std::string_view a : args) bytes += a.size();
  if (multi_queue_.size() >= limits::kMultiQueuedCommandsMax ||
      multi_bytes_ + bytes > limits::kMultiQueuedBytesMax) {
    // Free the queue now: EXEC will discard it anyway.
    multi_queue_.clear();
    multi_bytes_ = 0;
    return refuse(Reply::Error("ERR MULTI queue limit reached (" +
                               std::to_string(limits::kMultiQueuedCommandsMax) + " commands or " +
                               std::to_string(limits::kMultiQueuedBytesMax) +
                               " bytes); the transaction will be discarded"));
  }
  multi_queue_.emplace_back(args.begin(), args.end());
  multi_bytes_ += bytes;
  *out = Reply::Status("QUEUED");
  return TxnStep::kReplied;
}

bool Connection::execute_exec(Slot& slot) {
  const internal::CommandTable& table = internal::CommandTable::Get();
  std::vector<std::vector<std::string>> queue;
  queue.reserve(multi_queue_.size());
  for (size_t i = 0; i < multi_queue_.size(); ++i) {
    const CommandSpec* spec = table.find(multi_queue_[i][0]);
    if (spec != nullptr && RunsOnConnection(*spec)) {
      slot.exec_later.emplace_back(i, std::move(multi_queue_[i]));
    } else {
      queue.push_back(std::move(multi_queue_[i]));
    }
  }
  in_multi_ = false;
  multi_queue_.clear();
  multi_bytes_ = 0;
  executing_ = &slot;
  server_.engine().execute_transaction(session_, std::move(queue), &slot.sink);
  executing_ = nullptr;
  slot.visible = take_reply_visibility();
  slot.resp = session_.resp;
  if (slot.filled) {
    slot.filled = false;
    fill(slot, std::move(slot.reply));
    return true;
  }
  // The transaction runs elsewhere (or waits for the log): nothing more runs until its
  // reply is home, so the session (db, watch) is not touched meanwhile.
  ++deferred_;
  slot.stops = true;
  ++stopped_;
  return false;
}

Reply Connection::finish_exec(Slot& slot, Reply r) {
  std::vector<std::pair<size_t, std::vector<std::string>>> later = std::move(slot.exec_later);
  slot.exec_later.clear();
  meta_.db.store(session_.db, std::memory_order_relaxed);  // a SELECT may have run
  if (!r.is_array()) return r;                             // aborted by WATCH: none of them runs
  std::vector<Reply>& items = r.mutable_array();
  std::vector<std::string_view> views;
  for (auto& [pos, cmd] : later) {
    views.assign(cmd.begin(), cmd.end());
    std::optional<Reply> one = server_command(views);
    Reply reply = one ? std::move(*one) : Reply::Error("ERR command not available in MULTI");
    items.insert(items.begin() + static_cast<std::ptrdiff_t>(std::min(pos, items.size())),
                 std::move(reply));
  }
  return r;
}

void Connection::discard_multi() {
  in_multi_ = false;
  multi_failed_ = false;
  multi_queue_.clear();
  multi_bytes_ = 0;
}

void Connection::release_watch() {
  if (session_.watch != nullptr) internal::ReleaseWatch(server_.engine(), session_);
}

}  // namespace allot::server
