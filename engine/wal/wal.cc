#include "engine/wal/wal.h"

#include <endian.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <lmdb.h>
#include <sys/stat.h>
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
      pipeline_meta_(durability == Durability::kAlways &&
                     (getenv("ALLOT_WAL_PIPELINE_META") == nullptr ||
                      std::string_view(getenv("ALLOT_WAL_PIPELINE_META")) != "0")),
      file_ahead_(getenv("ALLOT_WAL_FILE_AHEAD") == nullptr ||
                  std::string_view(getenv("ALLOT_WAL_FILE_AHEAD")) != "0"),
      map_bytes_max_(map_bytes_max),
      queue_(limits::kWalQueueNodesInitial) {
  ALLOT_CHECK(durability_ != Durability::kNone && !dir_.empty());
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    throw std::runtime_error("allot: cannot create data directory " + dir_ + ": " + ec.message());
  map_bytes_ = std::min<uint64_t>(limits::kWalMapBytesInitial, map_bytes_max);
  open_env();
  store_ = std::make_unique<CheckpointStore>(dir_, map_bytes_, map_bytes_max);
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
  // NOMETASYNC with the pipelined meta page: a commit syncs its data pages, then writes the
  // meta page without a sync; a group is acknowledged after a later sync (wal.h).
  unsigned flags = MDB_NOTLS;
  if (durability_ == Durability::kEverysec) flags |= MDB_NOSYNC;
  if (pipeline_meta_) flags |= MDB_NOMETASYNC;
  if ((rc = mdb_env_open(env_, dir_.c_str(), flags, 0644)) != 0) fail("mdb_env_open", rc);
  int dead = 0;
  mdb_reader_check(env_, &dead);  // slots of a killed process's readers
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(env_, nullptr, 0, &txn)) != 0) fail("mdb_txn_begin", rc);
  MDB_dbi dbi = 0;  // set before use; clang cannot see fail() throws
  if ((rc = mdb_dbi_open(txn, kLogDbName, MDB_CREATE, &dbi)) != 0) {
    mdb_txn_abort(txn);
    fail("mdb_dbi_open", rc);
  }
  if ((rc = mdb_txn_commit(txn)) != 0) fail("mdb_txn_commit", rc);
  dbi_ = dbi;
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

void Wal::set_checkpoint_trigger(uint64_t log_records, uint64_t interval_s, TriggerFn trigger) {
  ALLOT_CHECK(!writer_.joinable());
  checkpoint_log_records_ = log_records;
  checkpoint_interval_ms_ = static_cast<int64_t>(std::min<uint64_t>(interval_s, 1u << 30)) * 1000;
  checkpoint_trigger_ = std::move(trigger);
}

void Wal::recover(const CheckpointChunksFn& load, const ApplyFn& apply,
                  const std::function<void(std::string_view)>& load_functions) {
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
  CheckpointMeta meta = store_->load(load);
  if (load_functions) load_functions(meta.functions);
  const uint64_t checkpoint_lsn = meta.lsn;
  checkpoint_attempt_lsn_ = checkpoint_lsn;
  checkpoint_lsn_.store(meta.lsn);
  checkpoint_keys_.store(meta.keys);
  checkpoint_id_.store(meta.id);
  checkpoint_unix_ms_.store(meta.created_ms);
  // The log may keep records at or before the checkpoint (trim_target): they are checked
  // like the others but not applied.
  uint64_t expect = 0;
  uint64_t n = 0, bytes = 0;
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
    if (expect == 0) {
      expect = std::min(lsn, checkpoint_lsn + 1);
      trimmed_lsn_ = expect - 1;
      log_first_lsn_.store(lsn);
    }
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
    if (lsn > checkpoint_lsn) {
      apply(d.record);
      ++n;
    }
    bytes += v.mv_size;
    ++expect;
  }
  if (rc != MDB_NOTFOUND) throw_damaged(expect, LmdbError("mdb_cursor_get", rc));
  if (expect == 0) {  // empty log
    expect = checkpoint_lsn + 1;
    trimmed_lsn_ = checkpoint_lsn;
  }
  log_bytes_.store(bytes);
  // Never reuse an LSN the checkpoint covers (records after it would be skipped next time).
  expect = std::max(expect, checkpoint_lsn + 1);
  next_lsn_ = expect;
  durable_lsn_.store(expect - 1);
  recovered_records_ = n;
  recovery_us_ = static_cast<uint64_t>(MonoUs() - t0);
}

void Wal::start() {
  ALLOT_CHECK(!writer_.joinable());
  store_->start([this](std::shared_ptr<CheckpointJob> job) {
    // The image is durable (or failed): the writer trims and completes it, in log order.
    auto* p = new Pending{};
    p->kind = Kind::kCheckpointWritten;
    p->checkpoint = std::move(job);
    ALLOT_CHECK(queue_.push(p));
    wake_writer();
  });
  last_sync_ms_ = MonoMs();
  checkpoint_attempt_ms_ = last_sync_ms_;  // the time trigger counts from the start
  writer_ = std::thread([this] { writer_loop(); });
  pthread_setname_np(writer_.native_handle(), "allot-wal");
}

void Wal::stop() {
  if (!writer_.joinable()) return;
  // First the store: a checkpoint in flight fails (its shards stopped) and its completion
  // goes through the queue, which the writer drains before it ends.
  store_->stop();
  stopping_.store(true);
  wake_seq_.fetch_add(1);
  syscall(SYS_futex, &wake_seq_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  writer_.join();
}

void Wal::submit(std::string record, Reply reply, ReplySink* sink) {
  ALLOT_DCHECK(sink != nullptr);
  submitted_.fetch_add(1, std::memory_order_release);
  auto* p = new Pending{};
  p->bytes = std::move(record);
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
  sleep_writer_us(seen, timeout_ms * 1000);
}

void Wal::sleep_writer_us(uint32_t seen, int64_t timeout_us) {
  timespec ts{};
  ts.tv_sec = timeout_us / 1000000;
  ts.tv_nsec = (timeout_us % 1000000) * 1000;
  syscall(SYS_futex, &wake_seq_, FUTEX_WAIT_PRIVATE, seen, &ts, nullptr, 0);
}

void Wal::writer_loop() {
  std::vector<Pending*> group;
  group.reserve(limits::kWalGroupRecordsMax);
  for (;;) {
    group.clear();
    Pending* p = nullptr;
    Pending* control = nullptr;
    while (group.size() < limits::kWalGroupRecordsMax && queue_.pop(p)) {
      if (p->kind == Kind::kRecord) {
        group.push_back(p);
      } else {
        control = p;  // a marker's LSN is that of the records before it: stop the group here
        break;
      }
    }
    if (!group.empty()) handle_group(group);
    if (control != nullptr) {
      handle_control(*control);
      delete control;
      continue;
    }
    // No next group waits whose commit would sync the last group's meta page: sync now.
    if (!unacked_.empty() && queue_.empty()) sync_unacked();
    maybe_trigger_checkpoint();
    int64_t now = MonoMs();
    if ((!stuck_.empty() || sync_failing_) && now - last_retry_ms_ >= limits::kWalRetryIntervalMs) {
      retry_stuck();
    }
    maybe_sync(false);
    if (!group.empty()) {
      // everysec: the replies have left already, so there is no hurry. Let records gather
      // for a moment instead of committing a few at a time, without announcing a sleep:
      // the shards do not wake the writer for each record (a futex call each). Stop and
      // control entries wait at most this long.
      if (durability_ == Durability::kEverysec && stuck_.empty()) {
        sleep_writer_us(wake_seq_.load(std::memory_order_acquire), limits::kWalEverysecGatherUs);
      }
      continue;
    }
    if (stopping_.load(std::memory_order_acquire) && queue_.empty()) break;
    int64_t timeout_ms = limits::kWalEverysecSyncIntervalMs;
    if (!stuck_.empty() || sync_failing_) timeout_ms = limits::kWalRetryIntervalMs;
    uint32_t seen = wake_seq_.load(std::memory_order_acquire);
    writer_sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (queue_.empty() && !stopping_.load()) sleep_writer(seen, timeout_ms);
    writer_sleeping_.store(false, std::memory_order_relaxed);
  }
  if (!stuck_.empty() || sync_failing_) retry_stuck();
  sync_unacked();
  maybe_sync(true);
  // Records that never reached the disk were answered with MISCONF already.
  for (Pending* s : stuck_) delete s;
  stuck_.clear();
}

void Wal::maybe_trigger_checkpoint() {
  // Counted from the last attempt, not the last success: a checkpoint that fails (a full
  // disk) is retried after another interval, not at once. The trigger does nothing while
  // one is in flight.
  if (!checkpoint_trigger_ || stopping_.load(std::memory_order_relaxed)) return;
  uint64_t written = next_lsn_ - 1 - checkpoint_attempt_lsn_;
  int64_t now = MonoMs();
  bool by_size = checkpoint_log_records_ > 0 && written >= checkpoint_log_records_;
  bool by_time = checkpoint_interval_ms_ > 0 && written > 0 &&
                 now - checkpoint_attempt_ms_ >= checkpoint_interval_ms_;
  if (!by_size && !by_time) return;
  checkpoint_attempt_lsn_ = next_lsn_ - 1;
  checkpoint_attempt_ms_ = now;
  checkpoint_trigger_();
}

void Wal::handle_group(std::vector<Pending*>& group) {
  if (!stuck_.empty() || sync_failing_) {
    // Still failing: these queue behind the stuck records, which must be logged first.
    fail_group(group, 0);
    return;
  }
  int64_t t0 = MonoUs();
  int rc = commit(group);
  if (rc != 0) {
    sync_unacked();  // the previous group's meta page still needs its sync
    fail_group(group, rc);
    return;
  }
  unsynced_ = true;
  uint64_t us = static_cast<uint64_t>(MonoUs() - t0);
  records_.fetch_add(group.size(), std::memory_order_relaxed);
  note_commit(us);
  AtomicMax(group_records_max_, group.size());
  if (!pipeline_meta_) {
    // everysec: replied at submit(). always: LMDB synced the meta page too, durable now.
    durable_lsn_.store(next_lsn_ - 1, std::memory_order_release);
    for (Pending* p : group) {
      if (p->sink != nullptr) p->sink->deliver(std::move(p->reply));
      delete p;
    }
    return;
  }
  // This commit's data sync also wrote the previous group's meta page (written at the end
  // of its commit, before this one began): that group is durable now.
  ack_unacked();
  unacked_.assign(group.begin(), group.end());
  unacked_lsn_ = next_lsn_ - 1;
}

void Wal::ack_unacked() {
  if (unacked_.empty()) return;
  durable_lsn_.store(unacked_lsn_, std::memory_order_release);
  for (Pending* p : unacked_) {
    if (p->sink != nullptr) p->sink->deliver(std::move(p->reply));
    delete p;
  }
  unacked_.clear();
}

bool Wal::sync_unacked() {
  if (unacked_.empty()) return true;
  int rc = mdb_env_sync(env_, 1);
  if (rc == 0) {
    syncs_.fetch_add(1, std::memory_order_relaxed);
    explicit_syncs_.fetch_add(1, std::memory_order_relaxed);
    ack_unacked();
    return true;
  }
  // The group is in the log file but maybe not on disk: its outcome is unknown, as for a
  // failed commit. Writes are refused until a sync succeeds (retry_stuck).
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    last_error_ = mdb_strerror(rc);
  }
  sync_failing_ = true;
  refusing_.store(true, std::memory_order_release);
  last_retry_ms_ = MonoMs();
  Reply err = misconf_reply();
  for (Pending* p : unacked_) {
    if (p->sink != nullptr) p->sink->deliver(err);
    delete p;
  }
  unacked_.clear();
  return false;
}

void Wal::note_commit(uint64_t us) {
  groups_.fetch_add(1, std::memory_order_relaxed);
  // always: LMDB fdatasyncs the data pages, then writes the meta page O_DSYNC (two
  // flushes); with the pipelined meta page only the first.
  if (durability_ == Durability::kAlways) {
    syncs_.fetch_add(pipeline_meta_ ? 1 : 2, std::memory_order_relaxed);
  }
  commit_us_last_.store(us, std::memory_order_relaxed);
  commit_us_total_.fetch_add(us, std::memory_order_relaxed);
  AtomicMax(commit_us_max_, us);
  size_t bucket = us <= 100 ? 0 : us <= 1000 ? 1 : us <= 10000 ? 2 : us <= 100000 ? 3 : 4;
  commit_hist_[bucket].fetch_add(1, std::memory_order_relaxed);
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
  if (sync_failing_) {
    int rc = mdb_env_sync(env_, 1);
    if (rc != 0) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(error_mu_);
      last_error_ = mdb_strerror(rc);
      return;
    }
    syncs_.fetch_add(1, std::memory_order_relaxed);
    explicit_syncs_.fetch_add(1, std::memory_order_relaxed);
    sync_failing_ = false;
    durable_lsn_.store(next_lsn_ - 1, std::memory_order_release);
  }
  size_t done = 0;
  while (done < stuck_.size()) {
    size_t n = std::min(stuck_.size() - done, limits::kWalGroupRecordsMax);
    int64_t t0 = MonoUs();
    int rc = commit(std::span<Pending* const>(stuck_.data() + done, n));
    if (rc != 0) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(error_mu_);
      last_error_ = mdb_strerror(rc);
      break;
    }
    records_.fetch_add(n, std::memory_order_relaxed);
    note_commit(static_cast<uint64_t>(MonoUs() - t0));
    unsynced_ = true;
    done += n;
  }
  if (done > 0 && pipeline_meta_) {
    // The last retried commit's meta page (its records were answered with MISCONF).
    int rc = mdb_env_sync(env_, 1);
    if (rc != 0) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(error_mu_);
      last_error_ = mdb_strerror(rc);
      sync_failing_ = true;
    } else {
      syncs_.fetch_add(1, std::memory_order_relaxed);
      explicit_syncs_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (done > 0 && !sync_failing_) durable_lsn_.store(next_lsn_ - 1, std::memory_order_release);
  for (size_t i = 0; i < done; ++i) delete stuck_[i];
  stuck_.erase(stuck_.begin(), stuck_.begin() + static_cast<std::ptrdiff_t>(done));
  if (stuck_.empty() && !sync_failing_) refusing_.store(false, std::memory_order_release);
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
  uint64_t bytes = 0;
  for (Pending* p : records) {
    bytes += p->bytes.size();
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
  if (!records.empty() && log_first_lsn_.load(std::memory_order_relaxed) == 0) {
    log_first_lsn_.store(next_lsn_, std::memory_order_relaxed);
  }
  next_lsn_ = lsn;
  log_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  keep_file_ahead();
  return 0;
}

// Why: a commit that makes data.mdb longer costs ext4 (no journal here) two more
// synchronous writes in its fdatasync, the block allocation and the inode's new size,
// each a device round trip (perf: fsync_buffers_list + ext4_write_inode, a third of the
// writer's CPU). So the file is kept kWalFileAheadBytes longer than LMDB's last page, with
// zeros written (not fallocate'd: an unwritten extent would need its conversion synced),
// and the commits overwrite blocks that already exist: their fdatasync writes data only.
// The zeros are appended at the file's end, which LMDB never wrote (its pages are below
// its last page number, and a page it writes past the end extends the file), between
// transactions, on the only thread that writes: they can never cover a page in use.
// Their allocation is synced once per kWalFileAheadBytes / 2 by the next commit's
// fdatasync; sync_file_range starts their writeback now so that sync finds it done.
void Wal::keep_file_ahead() {
  if (!file_ahead_) return;
  MDB_envinfo info;
  MDB_stat st;
  if (mdb_env_info(env_, &info) != 0 || mdb_env_stat(env_, &st) != 0) return;
  uint64_t used = (static_cast<uint64_t>(info.me_last_pgno) + 1) * st.ms_psize;
  if (file_end_ >= used + limits::kWalFileAheadBytes / 2) return;
  int fd = -1;
  if (mdb_env_get_fd(env_, &fd) != 0 || fd < 0) return;
  struct stat fs;
  if (fstat(fd, &fs) != 0) return;
  uint64_t end = static_cast<uint64_t>(fs.st_size);
  // Never past the map: the file stays within what LMDB could ever use.
  uint64_t target = std::min(used + limits::kWalFileAheadBytes, map_bytes_);
  if (end >= target) {
    file_end_ = end;
    return;
  }
  static const std::vector<char> zeros(size_t{1} << 20, '\0');
  uint64_t from = end;
  while (end < target) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), target - end));
    ssize_t w = pwrite(fd, zeros.data(), n, static_cast<off_t>(end));
    if (w <= 0) break;  // disk full: LMDB extends the file itself as before
    end += static_cast<uint64_t>(w);
  }
  if (end > from) {
    sync_file_range(fd, static_cast<off_t>(from), static_cast<off_t>(end - from),
                    SYNC_FILE_RANGE_WRITE);
  }
  file_end_ = end;
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

void Wal::submit_checkpoint_begin(std::shared_ptr<CheckpointJob> job) {
  ckpt_in_progress_.store(true, std::memory_order_relaxed);
  store_->begin(job);  // before any chunk of it: the shards start saving after this returns
  auto* p = new Pending{};
  p->kind = Kind::kCheckpointBegin;
  p->checkpoint = std::move(job);
  ALLOT_CHECK(queue_.push(p));
  wake_writer();
}

void Wal::handle_control(Pending& p) {
  CheckpointJob& job = *p.checkpoint;
  if (p.kind == Kind::kCheckpointBegin) {
    // Every record queued before the marker is committed (handle_group): the image's LSN.
    // Records stuck after a failed commit ran before the marker but have no LSN yet: the
    // image would contain them and the log would replay them again, so it must fail.
    // The records <= the image's LSN are made durable before the image can be: a trim
    // must never leave the log ending before the checkpoint.
    sync_unacked();
    job.lsn = next_lsn_ - 1;
    job.started_us = MonoUs();
    if (!stuck_.empty() || sync_failing_) {
      job.marker_error = "the log cannot be written (" + misconf_reply().string() + ")";
    }
    job.lsn_set.store(true, std::memory_order_release);
    return;
  }
  ALLOT_CHECK(p.kind == Kind::kCheckpointWritten);
  finish_checkpoint(job);
}

void Wal::finish_checkpoint(CheckpointJob& job) {
  if (job.error.empty() && !job.marker_error.empty()) job.error = job.marker_error;
  if (job.error.empty()) {
    // The image and its meta are durable in the store: the log up to it may go.
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    uint64_t upto = trim_target(job.lsn);
    uint64_t before = log_bytes_.load();
    if (rc == 0 && (rc = trim_log(txn, upto)) != 0) mdb_txn_abort(txn);
    if (rc == 0) rc = mdb_txn_commit(txn);
    if (rc != 0) {
      // Not an error of the checkpoint (it is complete): the next one trims further.
      log_bytes_.store(before);
      write_errors_.fetch_add(1, std::memory_order_relaxed);
    } else {
      trimmed_lsn_ = std::max(trimmed_lsn_, upto);
      log_first_lsn_.store(trimmed_lsn_ + 1 < next_lsn_ ? trimmed_lsn_ + 1 : 0);
      unsynced_ = true;
      maybe_sync(true);
    }
  }
  job.duration_us = static_cast<uint64_t>(MonoUs() - job.started_us);
  if (job.error.empty()) {
    checkpoints_.fetch_add(1, std::memory_order_relaxed);
    checkpoint_lsn_.store(job.lsn, std::memory_order_relaxed);
    checkpoint_id_.store(job.id, std::memory_order_relaxed);
    checkpoint_keys_.store(job.keys, std::memory_order_relaxed);
    checkpoint_unix_ms_.store(job.created_ms, std::memory_order_relaxed);
    checkpoint_pause_us_.store(job.pause_us, std::memory_order_relaxed);
    checkpoint_step_us_.store(job.step_us_max, std::memory_order_relaxed);
    checkpoint_step_cpu_us_.store(job.step_cpu_us_max, std::memory_order_relaxed);
    AtomicMax(checkpoint_step_us_max_, std::max(job.step_us_max, job.pause_us));
    checkpoint_duration_us_.store(job.duration_us, std::memory_order_relaxed);
    checkpoint_write_us_.store(job.write_us, std::memory_order_relaxed);
    checkpoint_chunks_.store(job.chunks, std::memory_order_relaxed);
    checkpoint_bytes_.store(job.bytes, std::memory_order_relaxed);
    checkpoint_attempt_lsn_ = std::max(checkpoint_attempt_lsn_, job.lsn);
  } else {
    checkpoint_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  ckpt_in_progress_.store(false, std::memory_order_relaxed);
  if (job.on_done) job.on_done(job);
  job.done.store(1, std::memory_order_release);
  job.done.notify_all();
}

// Not past the trim floor: PostgreSQL sync keeps what PostgreSQL has not confirmed.
uint64_t Wal::trim_target(uint64_t checkpoint_lsn) const {
  return std::min(checkpoint_lsn, trim_floor_.load(std::memory_order_acquire));
}

int Wal::trim_log(MDB_txn* txn, uint64_t upto) {
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn, dbi_, &cur);
  if (rc != 0) return rc;
  MDB_val k, v;
  uint64_t bytes = 0;
  while ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
    uint64_t be;
    std::memcpy(&be, k.mv_data, 8);
    if (be64toh(be) > upto) break;
    bytes += v.mv_size;
    if ((rc = mdb_cursor_del(cur, 0)) != 0) break;
  }
  mdb_cursor_close(cur);
  if (rc != 0 && rc != MDB_NOTFOUND) return rc;
  log_bytes_.fetch_sub(std::min(bytes, log_bytes_.load()));
  return 0;
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
  s.explicit_syncs = explicit_syncs_.load(std::memory_order_relaxed);
  s.group_records_max = group_records_max_.load(std::memory_order_relaxed);
  s.commit_us_last = commit_us_last_.load(std::memory_order_relaxed);
  s.commit_us_total = commit_us_total_.load(std::memory_order_relaxed);
  s.commit_us_max = commit_us_max_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < s.commit_us_histogram.size(); ++i) {
    s.commit_us_histogram[i] = commit_hist_[i].load(std::memory_order_relaxed);
  }
  s.durable_lsn = durable_lsn_.load(std::memory_order_acquire);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  s.map_bytes = map_bytes_stat_.load(std::memory_order_relaxed);
  s.recovered_records = recovered_records_;
  s.recovery_us = recovery_us_;
  s.refusing_writes = refusing_writes();
  s.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  s.checkpoint_failures = checkpoint_failures_.load(std::memory_order_relaxed);
  s.checkpoint_in_progress = ckpt_in_progress_.load(std::memory_order_relaxed);
  s.checkpoint_lsn = checkpoint_lsn_.load(std::memory_order_relaxed);
  s.checkpoint_id = checkpoint_id_.load(std::memory_order_relaxed);
  s.checkpoint_keys = checkpoint_keys_.load(std::memory_order_relaxed);
  s.checkpoint_unix_ms = checkpoint_unix_ms_.load(std::memory_order_relaxed);
  s.checkpoint_pause_us_last = checkpoint_pause_us_.load(std::memory_order_relaxed);
  s.checkpoint_step_us_last = checkpoint_step_us_.load(std::memory_order_relaxed);
  s.checkpoint_step_cpu_us_last = checkpoint_step_cpu_us_.load(std::memory_order_relaxed);
  s.checkpoint_step_us_max = checkpoint_step_us_max_.load(std::memory_order_relaxed);
  s.checkpoint_duration_us_last = checkpoint_duration_us_.load(std::memory_order_relaxed);
  s.checkpoint_write_us_last = checkpoint_write_us_.load(std::memory_order_relaxed);
  s.checkpoint_chunks_last = checkpoint_chunks_.load(std::memory_order_relaxed);
  s.checkpoint_bytes_last = checkpoint_bytes_.load(std::memory_order_relaxed);
  s.log_first_lsn = log_first_lsn_.load(std::memory_order_relaxed);
  s.log_records = s.log_first_lsn == 0 || s.durable_lsn < s.log_first_lsn
                      ? 0
                      : s.durable_lsn - s.log_first_lsn + 1;
  s.log_bytes = log_bytes_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace allot::internal
