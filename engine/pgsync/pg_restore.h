// pg_restore.h: rebuilds a data directory from the PostgreSQL tables the sync worker
// writes, for when the local disk is lost (`allotd --restore-from-pg`, docs/postgres.md).
#pragma once

#include <string>

namespace allot::internal {

struct PgRestoreStats {
  uint64_t items = 0, holds = 0, buyers = 0, strings = 0, sets = 0;
};

// Reads inventory, purchases (each item's buyers: sold minus cancelled units), holds, kv
// and kv_set_members in one consistent snapshot, puts them into a fresh engine on dir
// (database 0) and writes them as a checkpoint. dir must not hold a log already. Returns ""
// or what went wrong.
std::string RestoreFromPostgres(const std::string& url, const std::string& schema,
                                const std::string& dir, PgRestoreStats* stats);

}  // namespace allot::internal
