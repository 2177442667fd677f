#include "engine/wal/wal_info.h"

#include <sys/stat.h>

#include <array>
#include <atomic>
#include <cstdio>

#include "engine/engine_impl.h"
#include "engine/util/assert.h"

namespace allot::internal {

namespace {

constexpr size_t kPersistenceInfoHooksMax = 8;
std::array<std::atomic<PersistenceInfoHook>, kPersistenceInfoHooksMax> g_hooks{};

void Line(std::string& out, const char* name, const std::string& value) {
  out.append(name);
  out.push_back(':');
  out.append(value);
  out.append("\r\n");
}
void Line(std::string& out, const char* name, uint64_t v) { Line(out, name, std::to_string(v)); }
void Line(std::string& out, const char* name, int64_t v) { Line(out, name, std::to_string(v)); }

std::string Fixed2(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

uint64_t FileBytes(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

const char* DurabilityName(Durability d) {
  switch (d) {
    case Durability::kAlways:
      return "always";
    case Durability::kEverysec:
      return "everysec";
    case Durability::kNone:
      return "none";
  }
  return "none";
}

void AppendWalLines(EngineImpl& engine, const WalStats& s, std::string& out) {
  Line(out, "wal_durability", std::string(DurabilityName(engine.config().durability)));
  Line(out, "wal_durable_lsn", s.durable_lsn);
  Line(out, "wal_log_first_lsn", s.log_first_lsn);
  Line(out, "wal_log_records", s.log_records);
  Line(out, "wal_log_bytes", s.log_bytes);
  Line(out, "wal_file_bytes", FileBytes(engine.wal()->dir() + "/data.mdb"));
  Line(out, "wal_map_bytes", s.map_bytes);
  Line(out, "wal_records", s.records);
  Line(out, "wal_groups", s.groups);
  Line(out, "wal_records_per_group",
       Fixed2(s.groups == 0 ? 0.0 : static_cast<double>(s.records) / s.groups));
  Line(out, "wal_group_records_max", s.group_records_max);
  Line(out, "wal_syncs", s.syncs);
  Line(out, "wal_explicit_syncs", s.explicit_syncs);
  Line(out, "wal_commit_us_avg", s.groups == 0 ? 0 : s.commit_us_total / s.groups);
  Line(out, "wal_commit_us_sum", s.commit_us_total);
  Line(out, "wal_commit_us_last", s.commit_us_last);
  Line(out, "wal_commit_us_max", s.commit_us_max);
  const auto& h = s.commit_us_histogram;
  Line(out, "wal_commit_us_histogram",
       "le100us=" + std::to_string(h[0]) + ",le1ms=" + std::to_string(h[1]) +
           ",le10ms=" + std::to_string(h[2]) + ",le100ms=" + std::to_string(h[3]) +
           ",gt100ms=" + std::to_string(h[4]));
  Line(out, "wal_write_errors", s.write_errors);
  Line(out, "wal_refusing_writes", uint64_t{s.refusing_writes});
  Line(out, "checkpoint_in_progress", uint64_t{s.checkpoint_in_progress});
  Line(out, "checkpoints", s.checkpoints);
  Line(out, "checkpoint_failures", s.checkpoint_failures);
  Line(out, "checkpoint_last_lsn", s.checkpoint_lsn);
  Line(out, "checkpoint_last_id", s.checkpoint_id);
  Line(out, "checkpoint_last_time", s.checkpoint_unix_ms / 1000);
  Line(out, "checkpoint_last_keys", s.checkpoint_keys);
  Line(out, "checkpoint_last_chunks", s.checkpoint_chunks_last);
  Line(out, "checkpoint_last_bytes", s.checkpoint_bytes_last);
  Line(out, "checkpoint_last_duration_us", s.checkpoint_duration_us_last);
  Line(out, "checkpoint_last_start_pause_us", s.checkpoint_pause_us_last);
  Line(out, "checkpoint_last_longest_step_us", s.checkpoint_step_us_last);
  Line(out, "checkpoint_longest_pause_us", s.checkpoint_step_us_max);
  Line(out, "checkpoint_last_write_us", s.checkpoint_write_us_last);
  Line(out, "recovery_records", s.recovered_records);
  Line(out, "recovery_us", s.recovery_us);
}

}  // namespace

void AddPersistenceInfoHook(PersistenceInfoHook hook) {
  for (auto& slot : g_hooks) {
    PersistenceInfoHook expected = nullptr;
    if (slot.load() == hook) return;
    if (slot.compare_exchange_strong(expected, hook)) return;
  }
  ALLOT_CHECK(false && "too many persistence INFO hooks");
}

void AppendPersistenceInfo(EngineImpl& engine, std::string& out) {
  Wal* wal = engine.wal();
  WalStats s;
  if (wal != nullptr) s = wal->stats();
  // Redis's fields, mapped: a checkpoint is the RDB save, the WAL is the AOF.
  out.append("loading:0\r\nasync_loading:0\r\n");
  Line(out, "rdb_changes_since_last_save",
       s.durable_lsn > s.checkpoint_lsn ? s.durable_lsn - s.checkpoint_lsn : 0);
  Line(out, "rdb_bgsave_in_progress", uint64_t{s.checkpoint_in_progress});
  Line(out, "rdb_last_save_time", static_cast<int64_t>(engine.last_save_unix_s()));
  Line(out, "rdb_last_bgsave_status", std::string(engine.last_checkpoint_ok() ? "ok" : "err"));
  Line(out, "rdb_last_bgsave_time_sec",
       s.checkpoints == 0 ? int64_t{-1}
                          : static_cast<int64_t>(s.checkpoint_duration_us_last / 1000000));
  Line(out, "aof_enabled", uint64_t{wal != nullptr});
  Line(out, "aof_rewrite_in_progress", uint64_t{0});
  Line(out, "aof_rewrite_scheduled", uint64_t{0});
  Line(out, "aof_last_write_status", std::string(s.refusing_writes ? "err" : "ok"));
  if (wal != nullptr) AppendWalLines(engine, s, out);
  for (auto& slot : g_hooks) {
    PersistenceInfoHook hook = slot.load(std::memory_order_acquire);
    if (hook != nullptr) hook(engine, out);
  }
}

}  // namespace allot::internal
