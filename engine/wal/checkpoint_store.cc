#include "engine/wal/checkpoint_store.h"

#include <endian.h>
#include <lmdb.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "engine/util/assert.h"

namespace allot::internal {

namespace {

constexpr const char* kDbName = "checkpoint";
constexpr std::string_view kMetaKey = "meta";

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

// Key of chunk i of checkpoint id: "c" + big-endian id + big-endian i. Ids sort in creation
// order, so the chunks of older checkpoints come first.
std::string ChunkKey(uint64_t id, uint64_t i) {
  uint64_t be[2] = {htobe64(id), htobe64(i)};
  std::string k = "c";
  k.append(reinterpret_cast<const char*>(be), sizeof be);
  return k;
}

// The checkpoint id of a chunk key, or 0 if it is not one.
uint64_t ChunkKeyId(const MDB_val& k) {
  if (k.mv_size != 17 || static_cast<const char*>(k.mv_data)[0] != 'c') return 0;
  uint64_t be;
  std::memcpy(&be, static_cast<const char*>(k.mv_data) + 1, 8);
  return be64toh(be);
}

int64_t MonoUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace

CheckpointStore::CheckpointStore(const std::string& dir, uint64_t map_bytes_initial,
                                 uint64_t map_bytes_max)
    : dir_(dir + "/checkpoint"), map_bytes_max_(map_bytes_max), map_bytes_(map_bytes_initial) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  auto fail = [&](const std::string& what, int rc) {
    if (env_ != nullptr) mdb_env_close(env_);
    env_ = nullptr;
    throw std::runtime_error("allot: checkpoint store in " + dir_ + ": " + what + ": " +
                             (rc != 0 ? mdb_strerror(rc) : ec.message()));
  };
  if (ec) fail("cannot create the directory", 0);
  int rc = mdb_env_create(&env_);
  if (rc != 0) fail("mdb_env_create", rc);
  if ((rc = mdb_env_set_maxdbs(env_, 2)) != 0) fail("mdb_env_set_maxdbs", rc);
  if ((rc = mdb_env_set_mapsize(env_, map_bytes_)) != 0) fail("mdb_env_set_mapsize", rc);
  if ((rc = mdb_env_open(env_, dir_.c_str(), MDB_NOTLS | MDB_NOMETASYNC, 0644)) != 0) {
    fail("mdb_env_open", rc);
  }
  int dead = 0;
  mdb_reader_check(env_, &dead);
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(env_, nullptr, 0, &txn)) != 0) fail("mdb_txn_begin", rc);
  MDB_dbi dbi;
  if ((rc = mdb_dbi_open(txn, kDbName, MDB_CREATE, &dbi)) != 0) {
    mdb_txn_abort(txn);
    fail("mdb_dbi_open", rc);
  }
  if ((rc = mdb_txn_commit(txn)) != 0) fail("mdb_txn_commit", rc);
  mdb_env_sync(env_, 1);
  dbi_ = dbi;
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  map_bytes_ = info.me_mapsize;
}

CheckpointStore::~CheckpointStore() {
  stop();
  if (env_ != nullptr) mdb_env_close(env_);
}

void CheckpointStore::damaged(const std::string& what) const {
  throw std::runtime_error("allot: the checkpoint in " + dir_ + " is damaged: " + what +
                           "; refusing to start rather than lose acknowledged writes");
}

CheckpointMeta CheckpointStore::load(const CheckpointChunksFn& fn) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) damaged(std::string("mdb_txn_begin: ") + mdb_strerror(rc));
  struct Closer {
    MDB_txn* txn;
    ~Closer() { mdb_txn_abort(txn); }
  } closer{txn};
  // Chunks of a checkpoint that never completed may have higher ids: never reuse one.
  MDB_cursor* cur = nullptr;
  MDB_val k, v;
  if (mdb_cursor_open(txn, dbi_, &cur) == 0) {
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      next_id_ = std::max(next_id_, ChunkKeyId(k) + 1);
    }
    mdb_cursor_close(cur);
  }
  CheckpointMeta meta;
  k = Val(kMetaKey);
  rc = mdb_get(txn, dbi_, &k, &v);
  if (rc == MDB_NOTFOUND) return meta;
  if (rc != 0) damaged(std::string("mdb_get: ") + mdb_strerror(rc));
  std::string err =
      DecodeCheckpointMeta(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size), meta);
  if (!err.empty()) damaged(err);
  // The chunks stay mapped while the read transaction lives: the loader reads them in
  // place (in parallel, checkpoint_load.h).
  std::vector<std::string_view> chunks;
  chunks.reserve(meta.chunks);
  for (uint64_t i = 0; i < meta.chunks; ++i) {
    std::string ck = ChunkKey(meta.id, i);
    MDB_val ckv = Val(ck), cv;
    rc = mdb_get(txn, dbi_, &ckv, &cv);
    if (rc != 0) damaged("chunk " + std::to_string(i) + ": mdb_get: " + mdb_strerror(rc));
    chunks.emplace_back(static_cast<const char*>(cv.mv_data), cv.mv_size);
  }
  uint64_t keys = 0;
  err = fn(chunks, meta.shard_keys, &keys);
  if (!err.empty()) damaged(err);
  if (keys != meta.keys) {
    damaged("it holds " + std::to_string(keys) + " keys, its meta says " +
            std::to_string(meta.keys));
  }
  next_id_ = std::max(next_id_, meta.id + 1);
  return meta;
}

void CheckpointStore::start(std::function<void(std::shared_ptr<CheckpointJob>)> written) {
  ALLOT_CHECK(!thread_.joinable());
  written_ = std::move(written);
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "allot-ckpt");
}

void CheckpointStore::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void CheckpointStore::push(Item item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(item));
  }
  cv_.notify_one();
}

void CheckpointStore::begin(std::shared_ptr<CheckpointJob> job) {
  push(Item{Item::kBegin, std::move(job), {}});
}

void CheckpointStore::chunk(std::string bytes) {
  backlog_.fetch_add(bytes.size(), std::memory_order_relaxed);
  push(Item{Item::kChunk, nullptr, std::move(bytes)});
}

void CheckpointStore::shard_done(unsigned shard, uint64_t keys, uint64_t step_us,
                                 uint64_t step_cpu_us) {
  Item it{Item::kDone, nullptr, {}};
  it.shard = shard;
  it.keys = keys;
  it.step_us = step_us;
  it.step_cpu_us = step_cpu_us;
  push(std::move(it));
}

void CheckpointStore::run() {
  std::deque<Item> items;
  std::vector<std::string> chunks;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !items_.empty(); });
      if (items_.empty() && stopping_) break;
      items.swap(items_);
    }
    for (Item& it : items) {
      if (it.kind == Item::kChunk) {
        chunks.push_back(std::move(it.bytes));
        continue;
      }
      if (!chunks.empty()) write_chunks(chunks);  // in order: a begin or done follows them
      if (it.kind == Item::kBegin) {
        ALLOT_CHECK(job_ == nullptr && "one checkpoint at a time (EngineImpl)");
        job_ = std::move(it.job);
        job_->id = next_id_++;
        job_->shard_keys.assign(job_->shards, 0);
        continue;
      }
      ALLOT_CHECK(job_ != nullptr && it.shard < job_->shard_keys.size());
      job_->shard_keys[it.shard] = it.keys;
      job_->keys += it.keys;
      job_->step_us_max = std::max(job_->step_us_max, it.step_us);
      job_->step_cpu_us_max = std::max(job_->step_cpu_us_max, it.step_cpu_us);
      if (++job_->shards_done == job_->shards) finish();
    }
    items.clear();
    if (!chunks.empty()) write_chunks(chunks);
  }
  // Stopped with a checkpoint in flight: its shards stopped, it cannot complete.
  if (job_ != nullptr) {
    if (job_->error.empty()) job_->error = "the engine stopped before it completed";
    auto job = std::move(job_);
    job_ = nullptr;
    written_(std::move(job));
  }
}

int CheckpointStore::with_growth(const std::function<int()>& txn_fn) {
  for (;;) {
    int rc = txn_fn();
    if (rc != MDB_MAP_FULL || map_bytes_ >= map_bytes_max_) return rc;
    uint64_t next = std::min(map_bytes_max_, map_bytes_ * 2);
    if (mdb_env_set_mapsize(env_, next) != 0) return rc;
    map_bytes_ = next;
  }
}

void CheckpointStore::write_chunks(std::vector<std::string>& chunks) {
  size_t bytes = 0;
  for (const std::string& c : chunks) bytes += c.size();
  backlog_.fetch_sub(bytes, std::memory_order_relaxed);
  // Chunks of a failed checkpoint are dropped: nothing will refer to them.
  if (job_ != nullptr && job_->error.empty()) {
    for (std::string& c : chunks) SealCheckpointChunk(c);
    int rc = with_growth([&] {
      MDB_txn* txn = nullptr;
      int r = mdb_txn_begin(env_, nullptr, 0, &txn);
      if (r != 0) return r;
      uint64_t seq = job_->chunks;
      for (const std::string& c : chunks) {
        std::string ck = ChunkKey(job_->id, seq++);
        MDB_val k = Val(ck), v = Val(c);
        if ((r = mdb_put(txn, dbi_, &k, &v, 0)) != 0) {
          mdb_txn_abort(txn);
          return r;
        }
      }
      return mdb_txn_commit(txn);
    });
    if (rc != 0) {
      job_->error = std::string("writing a checkpoint chunk: ") + mdb_strerror(rc);
    } else {
      job_->chunks += chunks.size();
      job_->bytes += bytes;
    }
  }
  chunks.clear();
}

void CheckpointStore::finish() {
  // The marker's LSN comes from the log writer, which reaches the marker right after the
  // records queued before it: wait for it (it is there long before the shards are done).
  while (!job_->lsn_set.load(std::memory_order_acquire)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (job_->error.empty()) {
    int64_t t0 = MonoUs();
    int rc = with_growth([&] { return write_meta(*job_); });
    if (rc == 0) rc = mdb_env_sync(env_, 1);  // the meta page too, before the log is trimmed
    job_->write_us = static_cast<uint64_t>(MonoUs() - t0);
    if (rc != 0) job_->error = std::string("writing the checkpoint: ") + mdb_strerror(rc);
  }
  auto job = std::move(job_);
  job_ = nullptr;
  written_(std::move(job));
}

int CheckpointStore::write_meta(CheckpointJob& job) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return rc;
  CheckpointMeta meta{job.lsn,        job.id,         job.chunks,   job.keys,
                      job.created_ms, job.shard_keys, job.functions};
  std::string mb = EncodeCheckpointMeta(meta);
  MDB_val mk = Val(kMetaKey), mv = Val(mb);
  if ((rc = mdb_put(txn, dbi_, &mk, &mv, 0)) != 0) {
    mdb_txn_abort(txn);
    return rc;
  }
  // Every chunk of a lower id: the previous checkpoint's and any that never completed.
  MDB_cursor* cur = nullptr;
  if ((rc = mdb_cursor_open(txn, dbi_, &cur)) != 0) {
    mdb_txn_abort(txn);
    return rc;
  }
  MDB_val k, v;
  while ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
    uint64_t id = ChunkKeyId(k);
    if (id == 0 || id >= job.id) break;
    if ((rc = mdb_cursor_del(cur, 0)) != 0) break;
  }
  mdb_cursor_close(cur);
  if (rc != 0 && rc != MDB_NOTFOUND) {
    mdb_txn_abort(txn);
    return rc;
  }
  return mdb_txn_commit(txn);
}

}  // namespace allot::internal
