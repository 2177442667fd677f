// allot-inspect: lists and verifies what an Allot data directory holds: the log range and
// records (decoded), the checkpoint (LSN, per-shard key counts, chunks) and every
// checksum. Opens the LMDB environment read-only, so it can run next to allotd.
//
//   allot-inspect DIR                 summary + full verification (exit 0 = intact)
//   allot-inspect DIR --records [--from LSN] [--limit N]   decoded log records
//   allot-inspect DIR --keys [--limit N]                    checkpoint entries
//
// Exit status: 0 intact, 1 damaged (the first damage is printed on a line starting with
// "DAMAGED:"), 2 usage or cannot open.
#include <endian.h>
#include <lmdb.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "engine/keyspace/inventory.h"
#include "engine/keyspace/value.h"
#include "engine/scripting/function_store.h"
#include "engine/wal/checkpoint.h"
#include "engine/wal/record.h"

namespace {

using allot::internal::CheckpointMeta;

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (std::isprint(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out + "\"";
}

std::string TimeText(int64_t ms) {
  time_t s = static_cast<time_t>(ms / 1000);
  tm t;
  gmtime_r(&s, &t);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

struct Options {
  std::string dir;
  bool records = false, keys = false;
  uint64_t from = 0, limit = UINT64_MAX;
};

struct Inspector {
  Options opt;
  MDB_txn* txn = nullptr;
  MDB_dbi log = 0, ckpt = 0;
  bool has_ckpt_db = false;
  uint64_t checkpoint_lsn = 0;
  std::string damage;  // the first damage found

  void damaged(const std::string& what) {
    if (damage.empty()) damage = what;
  }

  void log_pass() {
    MDB_cursor* cur = nullptr;
    mdb_cursor_open(txn, log, &cur);
    MDB_val k, v;
    uint64_t first = 0, last = 0, n = 0, bytes = 0, printed = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      if (k.mv_size != 8) {
        damaged("log: a key of " + std::to_string(k.mv_size) + " bytes after LSN " +
                std::to_string(last));
        continue;
      }
      uint64_t be;
      std::memcpy(&be, k.mv_data, 8);
      uint64_t lsn = be64toh(be);
      if (n > 0 && lsn != last + 1) {
        damaged("log at LSN " + std::to_string(last + 1) + ": the next record has LSN " +
                std::to_string(lsn));
      }
      if (n == 0) first = lsn;
      last = lsn;
      ++n;
      bytes += v.mv_size;
      auto d = allot::internal::DecodeWalRecord(View(v));
      if (!d.ok()) {
        damaged("log at LSN " + std::to_string(lsn) + ": " + d.detail);
        continue;
      }
      if (d.record.lsn != lsn) {
        damaged("log at LSN " + std::to_string(lsn) + ": the record says LSN " +
                std::to_string(d.record.lsn));
      }
      if (opt.records && lsn >= opt.from && printed < opt.limit) {
        ++printed;
        std::printf(
            "lsn=%llu db=%d time=%s (%lld)%s", static_cast<unsigned long long>(lsn),
            d.record.info.db, TimeText(d.record.info.now_ms).c_str(),
            static_cast<long long>(d.record.info.now_ms),
            (d.record.info.flags & allot::internal::kWalFlagErrorReply) ? " error-reply" : "");
        for (std::string_view a : d.record.args) std::printf(" %s", Quote(a).c_str());
        std::printf("\n");
      }
    }
    mdb_cursor_close(cur);
    if (n > 0 && first > checkpoint_lsn + 1) {
      damaged("log: the checkpoint is at LSN " + std::to_string(checkpoint_lsn) +
              " but the log starts at LSN " + std::to_string(first) + " (records missing)");
    }
    if (n > 0 && first <= checkpoint_lsn) {
      std::printf(
          "log: records up to LSN %llu are covered by the checkpoint (kept, not "
          "replayed)\n",
          static_cast<unsigned long long>(checkpoint_lsn));
    }
    if (n == 0) {
      std::printf("log: empty\n");
    } else {
      std::printf("log: %llu records, LSN %llu..%llu, %llu bytes\n",
                  static_cast<unsigned long long>(n), static_cast<unsigned long long>(first),
                  static_cast<unsigned long long>(last), static_cast<unsigned long long>(bytes));
    }
  }

  void checkpoint_pass() {
    MDB_val mk{4, const_cast<char*>("meta")}, mv;
    if (!has_ckpt_db || mdb_get(txn, ckpt, &mk, &mv) != 0) {
      std::printf("checkpoint: none\n");
      stray_chunks(0);
      return;
    }
    CheckpointMeta meta;
    std::string err = allot::internal::DecodeCheckpointMeta(View(mv), meta);
    if (!err.empty()) {
      damaged("checkpoint: " + err);
      return;
    }
    checkpoint_lsn = meta.lsn;
    std::printf("checkpoint: id %llu, LSN %llu, %llu keys in %llu chunks, taken %s\n",
                static_cast<unsigned long long>(meta.id), static_cast<unsigned long long>(meta.lsn),
                static_cast<unsigned long long>(meta.keys),
                static_cast<unsigned long long>(meta.chunks), TimeText(meta.created_ms).c_str());
    for (size_t i = 0; i < meta.shard_keys.size(); ++i) {
      std::printf("  shard %zu: %llu keys\n", i,
                  static_cast<unsigned long long>(meta.shard_keys[i]));
    }
    if (!meta.functions.empty()) {  // meta version 3 (engine/scripting/function_store.h)
      std::vector<std::string> codes;
      if (!allot::internal::DecodeFunctionsPayload(meta.functions, codes)) {
        damaged("checkpoint: the function libraries' payload is damaged");
      } else if (!codes.empty()) {
        std::printf("  function libraries: %zu (%zu bytes)\n", codes.size(), meta.functions.size());
      }
    }
    uint64_t keys = 0, printed = 0, bytes = 0, orphans = 0, orphan_events = 0;
    for (uint64_t i = 0; i < meta.chunks; ++i) {
      uint64_t be[2] = {htobe64(meta.id), htobe64(i)};
      std::string key = "c" + std::string(reinterpret_cast<const char*>(be), sizeof be);
      MDB_val k{key.size(), key.data()}, v;
      if (mdb_get(txn, ckpt, &k, &v) != 0) {
        damaged("checkpoint chunk " + std::to_string(i) + ": missing");
        continue;
      }
      bytes += v.mv_size;
      err = allot::internal::DecodeCheckpointChunk(
          View(v), [&](int db, std::string_view key, allot::internal::Value value, int64_t exp) {
            if (db == allot::internal::kCheckpointOrphansDb) {  // not a key (checkpoint.h)
              ++orphans;
              orphan_events += std::get<allot::internal::InventoryValue>(value)->unsynced.size();
              return;
            }
            ++keys;
            if (opt.keys && printed < opt.limit) {
              ++printed;
              auto type = static_cast<allot::internal::ValueType>(value.index());
              std::printf("db=%d type=%s key=%s expire_at_ms=%lld\n", db,
                          std::string(allot::internal::TypeName(type)).c_str(), Quote(key).c_str(),
                          static_cast<long long>(exp));
            }
          });
      if (!err.empty()) damaged("checkpoint chunk " + std::to_string(i) + ": " + err);
    }
    std::printf("checkpoint: %llu bytes of chunks\n", static_cast<unsigned long long>(bytes));
    if (orphans > 0) {  // PostgreSQL sync (engine/pgsync/tracker.h)
      std::printf("checkpoint: %llu unsent sales of %llu items gone from database 0\n",
                  static_cast<unsigned long long>(orphan_events),
                  static_cast<unsigned long long>(orphans));
    }
    if (damage.empty() && keys != meta.keys) {
      damaged("checkpoint: it holds " + std::to_string(keys) + " keys, its meta says " +
              std::to_string(meta.keys));
    }
    stray_chunks(meta.id);
  }

  // Chunks of other ids: a checkpoint that never completed (harmless; the next one
  // deletes them).
  void stray_chunks(uint64_t id) {
    if (!has_ckpt_db) return;
    MDB_cursor* cur = nullptr;
    mdb_cursor_open(txn, ckpt, &cur);
    MDB_val k, v;
    uint64_t stray = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      if (k.mv_size != 17 || static_cast<const char*>(k.mv_data)[0] != 'c') continue;
      uint64_t be;
      std::memcpy(&be, static_cast<const char*>(k.mv_data) + 1, 8);
      if (be64toh(be) != id) ++stray;
    }
    mdb_cursor_close(cur);
    if (stray > 0) {
      std::printf("checkpoint: %llu chunks of an unfinished checkpoint (ignored)\n",
                  static_cast<unsigned long long>(stray));
    }
  }
};

int Usage() {
  std::fprintf(stderr, "usage: allot-inspect DIR [--records [--from LSN]] [--keys] [--limit N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Inspector in;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--records") {
      in.opt.records = true;
    } else if (a == "--keys") {
      in.opt.keys = true;
    } else if ((a == "--from" || a == "--limit") && i + 1 < argc) {
      uint64_t v = std::strtoull(argv[++i], nullptr, 10);
      (a == "--from" ? in.opt.from : in.opt.limit) = v;
    } else if (a.rfind("--", 0) == 0 || !in.opt.dir.empty()) {
      return Usage();
    } else {
      in.opt.dir = a;
    }
  }
  if (in.opt.dir.empty()) return Usage();
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 4);
  int rc = mdb_env_open(env, in.opt.dir.c_str(), MDB_RDONLY, 0644);
  if (rc != 0) {
    std::fprintf(stderr, "allot-inspect: cannot open %s: %s\n", in.opt.dir.c_str(),
                 mdb_strerror(rc));
    return 2;
  }
  mdb_txn_begin(env, nullptr, MDB_RDONLY, &in.txn);
  if ((rc = mdb_dbi_open(in.txn, "log", 0, &in.log)) != 0) {
    std::fprintf(stderr, "allot-inspect: %s has no log: %s\n", in.opt.dir.c_str(),
                 mdb_strerror(rc));
    return 2;
  }
  // Checkpoints live in their own environment, <dir>/checkpoint (checkpoint_store.h).
  MDB_env* cenv = nullptr;
  MDB_txn* ctxn = nullptr;
  mdb_env_create(&cenv);
  mdb_env_set_maxdbs(cenv, 2);
  std::string cdir = in.opt.dir + "/checkpoint";
  MDB_txn* log_txn = in.txn;
  if (mdb_env_open(cenv, cdir.c_str(), MDB_RDONLY, 0644) == 0 &&
      mdb_txn_begin(cenv, nullptr, MDB_RDONLY, &ctxn) == 0) {
    in.has_ckpt_db = mdb_dbi_open(ctxn, "checkpoint", 0, &in.ckpt) == 0;
    in.txn = ctxn;
  }
  in.checkpoint_pass();
  in.txn = log_txn;
  in.log_pass();
  mdb_txn_abort(in.txn);
  if (ctxn != nullptr) mdb_txn_abort(ctxn);
  mdb_env_close(cenv);
  mdb_env_close(env);
  if (!in.damage.empty()) {
    std::printf("DAMAGED: %s\n", in.damage.c_str());
    return 1;
  }
  std::printf("OK: every checksum verified\n");
  return 0;
}
