#include "engine/wal/wal.h"

#include <endian.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <lmdb.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "engine/engine_impl.h"
#include "engine/limits.h"
#include "engine/util/assert.h"

namespace allot::internal {

namespace {

constexpr const char* kLogDbName = "log";
constexpr const char* kCheckpointDbName = "checkpoint";
constexpr std::string_view kCheckpointMetaKey = "meta";

// Key of checkpoint chunk i: "c" + big-endian i (recovery reads them by number).
std::string ChunkKey(uint64_t i) {
  uint64_t be = htobe64(i);
  std::string k = "c";
  k.append(reinterpret_cast<const char*>(&be), sizeof be);
  return k;
}

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

int64_t MonoUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}
int64_t MonoMs() { return MonoUs() / 1000; }

std::string LmdbError(const char* what, int rc) {
  return std::string(what) + ": " + mdb_strerror(rc);
}

void AtomicMax(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t cur = a.load(std::memory_order_relaxed);
  while (cur < v && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

Wal::Wal(std::string dir, Durability durability, uint64_t map_bytes_max)
    : dir_(std::move(dir)),
      durability_(durability),
      map_bytes_max_(map_bytes_max),
      queue_(limits::kWalQueueNodesInitial) {
  ALLOT_CHECK(durability_ != Durability::kNone && !dir_.empty());
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    throw std::runtime_error("allot: cannot create data directory " + dir_ + ": " + ec.message());
  map_bytes_ = std::min<uint64_t>(limits::kWalMapBytesInitial, map_bytes_max);
  open_env();
}

Wal::~Wal() {
  stop();
  close_env();
}

void Wal::open_env() {
  int rc = mdb_env_create(&env_);
  if (rc != 0)
    throw std::runtime_error("allot: WAL in " + dir_ + ": " + LmdbError("mdb_env_create", rc));
  auto fail = [&](const char* what, int code) {
    mdb_env_close(env_);
    env_ = nullptr;
    throw std::runtime_error("allot: WAL in " + dir_ + ": " + LmdbError(what, code));
  };
  if ((rc = mdb_env_set_maxdbs(env_, 4)) != 0) fail("mdb_env_set_maxdbs", rc);
  if ((rc = mdb_env_set_mapsize(env_, map_bytes_)) != 0) fail("mdb_env_set_mapsize", rc);
  // NOTLS: the read transaction of recovery and the writer's transactions are on different
  // threads. NOSYNC in everysec: commits only write, maybe_sync() makes them durable.
  unsigned flags = MDB_NOTLS;
  if (durability_ == Durability::kEverysec) flags |= MDB_NOSYNC;
  if ((rc = mdb_env_open(env_, dir_.c_str(), flags, 0644)) != 0) fail("mdb_env_open", rc);
  int dead = 0;
  mdb_reader_check(env_, &dead);  // slots of a killed process's readers
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(env_, nullptr, 0, &txn)) != 0) fail("mdb_txn_begin", rc);
  MDB_dbi dbi = 0, checkpoint_dbi = 0;  // set before use; clang cannot see fail() throws
  if ((rc = mdb_dbi_open(txn, kLogDbName, MDB_CREATE, &dbi)) != 0 ||
      (rc = mdb_dbi_open(txn, kCheckpointDbName, MDB_CREATE, &checkpoint_dbi)) != 0) {
    mdb_txn_abort(txn);
    fail("mdb_dbi_open", rc);
  }
  if ((rc = mdb_txn_commit(txn)) != 0) fail("mdb_txn_commit", rc);
  dbi_ = dbi;
  checkpoint_dbi_ = checkpoint_dbi;
  // The files may have just been created: make their directory entries durable too.
  int dir_fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  map_bytes_ = info.me_mapsize;  // LMDB keeps a larger size an existing file already has
  map_bytes_stat_.store(map_bytes_);
}

void Wal::close_env() {
  if (env_ == nullptr) return;
  mdb_env_close(env_);
  env_ = nullptr;
}

void Wal::throw_damaged(uint64_t lsn, const std::string& what) const {
  throw std::runtime_error("allot: the write-ahead log in " + dir_ + " is damaged at LSN " +
                           std::to_string(lsn) + ": " + what +
                           "; refusing to start rather than lose acknowledged writes");
}

void Wal::set_checkpoint_trigger(uint64_t log_records, TriggerFn trigger) {
  ALLOT_CHECK(!writer_.joinable());
  checkpoint_log_records_ = log_records;
  checkpoint_trigger_ = std::move(trigger);
}

void Wal::load_checkpoint(MDB_txn* txn, const CheckpointEntryFn& load, uint64_t* lsn) {
  MDB_val k = Val(kCheckpointMetaKey), v;
  int rc = mdb_get(txn, checkpoint_dbi_, &k, &v);
  if (rc == MDB_NOTFOUND) return;
  auto damaged = [&](const std::string& what) {
    throw std::runtime_error("allot: the checkpoint in " + dir_ + " is damaged: " + what +
                             "; refusing to start rather than lose acknowledged writes");
  };
  if (rc != 0) damaged(LmdbError("mdb_get", rc));
  CheckpointMeta meta;
  std::string err =
      DecodeCheckpointMeta(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size), meta);
  if (!err.empty()) damaged(err);
  uint64_t keys = 0;
  auto count = [&](int db, std::string_view key, Value value, int64_t expire_at_ms) {
    ++keys;
    load(db, key, std::move(value), expire_at_ms);
  };
  for (uint64_t i = 0; i < meta.chunks; ++i) {
    std::string ck = ChunkKey(i);
    MDB_val ckv = Val(ck), cv;
    rc = mdb_get(txn, checkpoint_dbi_, &ckv, &cv);
    if (rc != 0) damaged("chunk " + std::to_string(i) + ": " + LmdbError("mdb_get", rc));
    err = DecodeCheckpointChunk(std::string_view(static_cast<const char*>(cv.mv_data), cv.mv_size),
                                count);
    if (!err.empty()) damaged("chunk " + std::to_string(i) + ": " + err);
  }
  if (keys != meta.keys) {
    damaged("it holds " + std::to_string(keys) + " keys, its meta says " +
            std::to_string(meta.keys));
  }
  *lsn = meta.lsn;
  checkpoint_lsn_.store(meta.lsn);
  checkpoint_keys_.store(keys);
}

void Wal::recover(const CheckpointEntryFn& load, const ApplyFn& apply) {
  ALLOT_CHECK(!writer_.joinable());
  int64_t t0 = MonoUs();
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0)
    throw std::runtime_error("allot: WAL in " + dir_ + ": " + LmdbError("mdb_txn_begin", rc));
  MDB_cursor* cur = nullptr;
  rc = mdb_cursor_open(txn, dbi_, &cur);
  if (rc != 0) {
    mdb_txn_abort(txn);
    throw std::runtime_error("allot: WAL in " + dir_ + ": " + LmdbError("mdb_cursor_open", rc));
  }
  // The read transaction is released however this ends (apply may throw).
  struct Closer {
    MDB_txn* txn;
    MDB_cursor* cur;
    ~Closer() {
      mdb_cursor_close(cur);
      mdb_txn_abort(txn);
    }
  } closer{txn, cur};
  uint64_t checkpoint_lsn = 0;
  load_checkpoint(txn, load, &checkpoint_lsn);
  checkpoint_attempt_lsn_ = checkpoint_lsn;
  uint64_t expect = checkpoint_lsn + 1;
  uint64_t n = 0;
  MDB_val k, v;
  // Records up to the checkpoint may still be there (kept by the trim floor): start after.
  uint64_t first_be = htobe64(expect);
  k.mv_size = 8;
  k.mv_data = &first_be;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8)
      throw_damaged(expect, "a key of " + std::to_string(k.mv_size) + " bytes, not 8");
    uint64_t be;
    std::memcpy(&be, k.mv_data, 8);
    uint64_t lsn = be64toh(be);
    if (lsn != expect) {
      throw_damaged(expect, "the next record has LSN " + std::to_string(lsn) +
                                (lsn > expect ? " (records missing)" : " (out of order)"));
    }
    WalDecodeResult d =
        DecodeWalRecord(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size));
    if (!d.ok()) throw_damaged(lsn, d.detail);
    if (d.record.lsn != lsn) {
      throw_damaged(lsn, "the record says LSN " + std::to_string(d.record.lsn));
    }
    apply(d.record);
    ++expect;
    ++n;
  }
  if (rc != MDB_NOTFOUND) throw_damaged(expect, LmdbError("mdb_cursor_get", rc));
  next_lsn_ = expect;
  durable_lsn_.store(expect - 1);
  recovered_records_ = n;
  recovery_us_ = static_cast<uint64_t>(MonoUs() - t0);
}

void Wal::start() {
  ALLOT_CHECK(!writer_.joinable());
  last_sync_ms_ = MonoMs();
  writer_ = std::thread([this] { writer_loop(); });
  pthread_setname_np(writer_.native_handle(), "allot-wal");
}

void Wal::stop() {
  if (!writer_.joinable()) return;
  stopping_.store(true);
  wake_seq_.fetch_add(1);
  syscall(SYS_futex, &wake_seq_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  writer_.join();
}

void Wal::submit(std::string record, Reply reply, ReplySink* sink) {
  ALLOT_DCHECK(sink != nullptr);
  submitted_.fetch_add(1, std::memory_order_release);
  auto* p = new Pending{std::move(record), Reply(), nullptr, nullptr};
  if (durability_ == Durability::kAlways) {
    p->reply = std::move(reply);
    p->sink = sink;
    ALLOT_CHECK(queue_.push(p));
    wake_writer();
    return;
  }
  // everysec: the reply leaves now; p is the writer's from the push on.
  ALLOT_CHECK(queue_.push(p));
  wake_writer();
  sink->deliver(std::move(reply));
}

void Wal::wake_writer() {
  // Pairs with the fence in writer_loop: either the writer sees the record, or we see it
  // asleep and wake it. A syscall only when it actually sleeps.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (writer_sleeping_.load(std::memory_order_relaxed) && writer_sleeping_.exchange(false)) {
    wake_seq_.fetch_add(1, std::memory_order_release);
    syscall(SYS_futex, &wake_seq_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
}

void Wal::sleep_writer(uint32_t seen, int64_t timeout_ms) {
  timespec ts{};
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = (timeout_ms % 1000) * 1000000;
  syscall(SYS_futex, &wake_seq_, FUTEX_WAIT_PRIVATE, seen, &ts, nullptr, 0);
}

void Wal::writer_loop() {
  std::vector<Pending*> group;
  group.reserve(limits::kWalGroupRecordsMax);
  for (;;) {
    group.clear();
    Pending* p = nullptr;
    Pending* marker = nullptr;
    while (group.size() < limits::kWalGroupRecordsMax && queue_.pop(p)) {
      if (p->checkpoint != nullptr) {
        marker = p;  // the records before it make up the image's state; stop the group here
        break;
      }
      group.push_back(p);
    }
    if (!group.empty()) handle_group(group);
    if (marker != nullptr) {
      handle_checkpoint(*marker->checkpoint);
      delete marker;
      continue;
    }
    // Counted from the last attempt, not the last success: a checkpoint that fails (a value
    // it cannot serialize, a full disk) is retried after another interval, not at once.
    if (checkpoint_trigger_ && checkpoint_log_records_ > 0 && !checkpoint_in_flight_ &&
        !stopping_.load(std::memory_order_relaxed) &&
        next_lsn_ - 1 - checkpoint_attempt_lsn_ >= checkpoint_log_records_) {
      checkpoint_attempt_lsn_ = next_lsn_ - 1;
      checkpoint_in_flight_ = true;
      checkpoint_trigger_();
    }
    int64_t now = MonoMs();
    if (!stuck_.empty() && now - last_retry_ms_ >= limits::kWalRetryIntervalMs) retry_stuck();
    maybe_sync(false);
    if (!group.empty()) continue;
    if (stopping_.load(std::memory_order_acquire) && queue_.empty()) break;
    int64_t timeout_ms = limits::kWalEverysecSyncIntervalMs;
    if (!stuck_.empty()) timeout_ms = limits::kWalRetryIntervalMs;
    uint32_t seen = wake_seq_.load(std::memory_order_acquire);
    writer_sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (queue_.empty() && !stopping_.load()) sleep_writer(seen, timeout_ms);
    writer_sleeping_.store(false, std::memory_order_relaxed);
  }
  if (!stuck_.empty()) retry_stuck();
  maybe_sync(true);
  // Records that never reached the disk were answered with MISCONF already.
  for (Pending* s : stuck_) delete s;
  stuck_.clear();
}

void Wal::handle_group(std::vector<Pending*>& group) {
  if (!stuck_.empty()) {
    // Still failing: these queue behind the stuck records, which must be logged first.
    fail_group(group, 0);
    return;
  }
  int64_t t0 = MonoUs();
  int rc = commit(group);
  if (rc != 0) {
    fail_group(group, rc);
    return;
  }
  uint64_t us = static_cast<uint64_t>(MonoUs() - t0);
  records_.fetch_add(group.size(), std::memory_order_relaxed);
  groups_.fetch_add(1, std::memory_order_relaxed);
  if (durability_ == Durability::kAlways) syncs_.fetch_add(1, std::memory_order_relaxed);
  commit_us_last_.store(us, std::memory_order_relaxed);
  commit_us_total_.fetch_add(us, std::memory_order_relaxed);
  AtomicMax(group_records_max_, group.size());
  durable_lsn_.store(next_lsn_ - 1, std::memory_order_release);
  unsynced_ = true;
  for (Pending* p : group) {
    if (p->sink != nullptr) p->sink->deliver(std::move(p->reply));
    delete p;
  }
}

void Wal::fail_group(std::vector<Pending*>& group, int rc) {
  if (rc != 0) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(error_mu_);
      last_error_ = mdb_strerror(rc);
    }
    refusing_.store(true, std::memory_order_release);
    last_retry_ms_ = MonoMs();
  }
  Reply err = misconf_reply();
  for (Pending* p : group) {
    // The write is in memory already; it will be logged when the disk recovers, before any
    // later write. Its client learns only that durability failed (outcome unknown).
    if (p->sink != nullptr) p->sink->deliver(err);
    p->sink = nullptr;
    p->reply = Reply();
    stuck_.push_back(p);
  }
}

void Wal::retry_stuck() {
  last_retry_ms_ = MonoMs();
  size_t done = 0;
  while (done < stuck_.size()) {
    size_t n = std::min(stuck_.size() - done, limits::kWalGroupRecordsMax);
    int rc = commit(std::span<Pending* const>(stuck_.data() + done, n));
    if (rc != 0) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(error_mu_);
      last_error_ = mdb_strerror(rc);
      break;
    }
    records_.fetch_add(n, std::memory_order_relaxed);
    groups_.fetch_add(1, std::memory_order_relaxed);
    if (durability_ == Durability::kAlways) syncs_.fetch_add(1, std::memory_order_relaxed);
    durable_lsn_.store(next_lsn_ - 1, std::memory_order_release);
    unsynced_ = true;
    done += n;
  }
  for (size_t i = 0; i < done; ++i) delete stuck_[i];
  stuck_.erase(stuck_.begin(), stuck_.begin() + static_cast<std::ptrdiff_t>(done));
  if (stuck_.empty()) refusing_.store(false, std::memory_order_release);
}

int Wal::commit(std::span<Pending* const> records) {
  for (;;) {
    int rc = write_txn(records);
    if (rc == MDB_PANIC) {
      // A failed meta-page write leaves the environment unusable until it is reopened;
      // the data on disk is the last good commit.
      close_env();
      try {
        open_env();
      } catch (const std::runtime_error&) {
        ALLOT_CHECK(false && "WAL: cannot reopen the LMDB environment after a fatal error");
      }
      return rc;
    }
    if (rc != MDB_MAP_FULL || !grow_map()) return rc;
  }
}

int Wal::write_txn(std::span<Pending* const> records) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return rc;
  uint64_t lsn = next_lsn_;
  for (Pending* p : records) {
    SealWalRecord(p->bytes, lsn);
    uint64_t be = htobe64(lsn);
    MDB_val k{sizeof be, &be};
    MDB_val v{p->bytes.size(), p->bytes.data()};
    rc = mdb_put(txn, dbi_, &k, &v, MDB_APPEND);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return rc;
    }
    ++lsn;
  }
  rc = mdb_txn_commit(txn);  // frees txn on failure too
  if (rc != 0) return rc;
  next_lsn_ = lsn;
  return 0;
}

bool Wal::grow_map() {
  uint64_t max = map_bytes_max_.load();
  if (map_bytes_ >= max) return false;
  uint64_t next = std::min(max, map_bytes_ * 2);
  // Allowed here: the writer is the only thread with transactions on this environment.
  if (mdb_env_set_mapsize(env_, next) != 0) return false;
  map_bytes_ = next;
  map_bytes_stat_.store(next);
  return true;
}

void Wal::maybe_sync(bool force) {
  if (durability_ != Durability::kEverysec || !unsynced_) return;
  int64_t now = MonoMs();
  if (!force && now - last_sync_ms_ < limits::kWalEverysecSyncIntervalMs) return;
  int rc = mdb_env_sync(env_, 1);
  last_sync_ms_ = now;
  if (rc != 0) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(error_mu_);
    last_error_ = mdb_strerror(rc);
    return;  // retried at the next interval; unsynced_ stays set
  }
  syncs_.fetch_add(1, std::memory_order_relaxed);
  unsynced_ = false;
}

void Wal::submit_checkpoint(std::shared_ptr<CheckpointJob> job) {
  auto* p = new Pending{std::string(), Reply(), nullptr, std::move(job)};
  ALLOT_CHECK(queue_.push(p));
  wake_writer();
}

void Wal::handle_checkpoint(CheckpointJob& job) {
  checkpoint_in_flight_ = false;
  if (job.error.empty() && !stuck_.empty()) {
    job.error = "the log cannot be written (" + misconf_reply().string() + ")";
  }
  if (job.error.empty()) {
    int64_t t0 = MonoUs();
    int rc;
    for (;;) {
      rc = write_checkpoint(job);
      if (rc != MDB_MAP_FULL || !grow_map()) break;
    }
    job.write_us = static_cast<uint64_t>(MonoUs() - t0);
    if (rc != 0) {
      job.error = LmdbError("writing the checkpoint", rc);
    } else {
      unsynced_ = true;
      checkpoints_.fetch_add(1, std::memory_order_relaxed);
      checkpoint_lsn_.store(job.lsn, std::memory_order_relaxed);
      checkpoint_keys_.store(job.image.keys, std::memory_order_relaxed);
      checkpoint_pause_us_.store(job.pause_us, std::memory_order_relaxed);
      checkpoint_write_us_.store(job.write_us, std::memory_order_relaxed);
      maybe_sync(true);  // everysec: a checkpoint is made durable at once
    }
  }
  if (job.error.empty()) {
    checkpoint_attempt_lsn_ = std::max(checkpoint_attempt_lsn_, job.lsn);
  } else {
    checkpoint_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  job.image = CheckpointImage();  // free the copy before waking the waiter
  job.done.store(1, std::memory_order_release);
  job.done.notify_all();
}

int Wal::write_checkpoint(CheckpointJob& job) {
  job.lsn = next_lsn_ - 1;  // every record before the marker is committed (handle_group)
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return rc;
  auto abort = [&](int code) {
    mdb_txn_abort(txn);
    return code;
  };
  if ((rc = mdb_drop(txn, checkpoint_dbi_, 0)) != 0) return abort(rc);
  for (uint64_t i = 0; i < job.image.chunks.size(); ++i) {
    std::string ck = ChunkKey(i);
    MDB_val k = Val(ck), v = Val(job.image.chunks[i]);
    if ((rc = mdb_put(txn, checkpoint_dbi_, &k, &v, 0)) != 0) return abort(rc);
  }
  CheckpointMeta meta{job.lsn, job.image.chunks.size(), job.image.keys, 0};
  std::string mb = EncodeCheckpointMeta(meta);
  MDB_val mk = Val(kCheckpointMetaKey), mv = Val(mb);
  if ((rc = mdb_put(txn, checkpoint_dbi_, &mk, &mv, 0)) != 0) return abort(rc);
  // Trim: the log up to the checkpoint's LSN, in the same transaction (not past the
  // trim floor: PostgreSQL sync keeps what PostgreSQL has not confirmed).
  const uint64_t trim_to = std::min(job.lsn, trim_floor_.load(std::memory_order_acquire));
  MDB_cursor* cur = nullptr;
  if ((rc = mdb_cursor_open(txn, dbi_, &cur)) != 0) return abort(rc);
  MDB_val k, v;
  while ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
    uint64_t be;
    std::memcpy(&be, k.mv_data, 8);
    if (be64toh(be) > trim_to) break;
    if ((rc = mdb_cursor_del(cur, 0)) != 0) break;
  }
  mdb_cursor_close(cur);
  if (rc != 0 && rc != MDB_NOTFOUND) return abort(rc);
  return mdb_txn_commit(txn);
}

Reply Wal::misconf_reply() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return Reply::Error("MISCONF Errors writing to the WAL (LMDB: " + last_error_ +
                      "). Commands that may modify the data set are disabled.");
}

WalStats Wal::stats() const {
  WalStats s;
  s.records = records_.load(std::memory_order_relaxed);
  s.groups = groups_.load(std::memory_order_relaxed);
  s.syncs = syncs_.load(std::memory_order_relaxed);
  s.group_records_max = group_records_max_.load(std::memory_order_relaxed);
  s.commit_us_last = commit_us_last_.load(std::memory_order_relaxed);
  s.commit_us_total = commit_us_total_.load(std::memory_order_relaxed);
  s.durable_lsn = durable_lsn_.load(std::memory_order_acquire);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  s.map_bytes = map_bytes_stat_.load(std::memory_order_relaxed);
  s.recovered_records = recovered_records_;
  s.recovery_us = recovery_us_;
  s.refusing_writes = refusing_writes();
  s.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  s.checkpoint_failures = checkpoint_failures_.load(std::memory_order_relaxed);
  s.checkpoint_lsn = checkpoint_lsn_.load(std::memory_order_relaxed);
  s.checkpoint_keys = checkpoint_keys_.load(std::memory_order_relaxed);
  s.checkpoint_pause_us_last = checkpoint_pause_us_.load(std::memory_order_relaxed);
  s.checkpoint_write_us_last = checkpoint_write_us_.load(std::memory_order_relaxed);
  s.log_records = s.durable_lsn - s.checkpoint_lsn;
  return s;
}

}  // namespace allot::internal
