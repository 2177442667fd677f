// wal_support.h: helpers shared by the WAL tests: a temporary data directory, a dump of
// every shard's state for exact comparisons, and direct access to the LMDB log.
#pragma once

#include <allot/engine.h>
#include <endian.h>
#include <lmdb.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>

#include "engine/engine_impl.h"

namespace allot::testing {

inline std::string MakeTempDir(const char* name) {
  std::string tmpl = std::filesystem::temp_directory_path().string() + "/" + name + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

// "db|key" -> "type|value|expire_at_ms" for every key of every database of every shard.
inline std::map<std::string, std::string> DumpState(Engine& engine) {
  std::map<std::string, std::string> out;
  auto& impl = engine.impl();
  for (unsigned i = 0; i < impl.shard_count(); ++i) {
    impl.run_on_shard(i, [&](internal::ShardState& s) {
      for (int db = 0; db < limits::kDatabaseCount; ++db) {
        // Time 0: include keys whose TTL has passed; replay must reproduce them too.
        s.dbs[db].for_each(0, [&](const std::string& key, internal::Entry& e) {
          std::string v(internal::TypeName(e.type()));
          if (e.type() == internal::ValueType::kString) v += "|" + e.as<internal::StringValue>();
          v += "|" + std::to_string(e.expire_at_ms);
          out[std::to_string(db) + "|" + key] = v;
        });
      }
    });
  }
  return out;
}

// Runs fn inside one write transaction on the log database of the WAL in dir. The
// Engine on dir must be closed.
inline void EditLog(const std::string& dir, const std::function<void(MDB_txn*, MDB_dbi)>& fn) {
  MDB_env* env = nullptr;
  if (mdb_env_create(&env) != 0) throw std::runtime_error("mdb_env_create");
  mdb_env_set_maxdbs(env, 4);
  if (mdb_env_open(env, dir.c_str(), 0, 0644) != 0) throw std::runtime_error("mdb_env_open");
  MDB_txn* txn = nullptr;
  mdb_txn_begin(env, nullptr, 0, &txn);
  MDB_dbi dbi;
  if (mdb_dbi_open(txn, "log", 0, &dbi) != 0) throw std::runtime_error("no log database");
  fn(txn, dbi);
  if (mdb_txn_commit(txn) != 0) throw std::runtime_error("mdb_txn_commit");
  mdb_env_close(env);
}

inline MDB_val LsnKey(uint64_t* be, uint64_t lsn) {
  *be = htobe64(lsn);
  return MDB_val{sizeof *be, be};
}

}  // namespace allot::testing
