// db_checkpoint_recorder.h: a checkpoint sink that records what a Db's incremental
// checkpoint saved, for the tests of Db's checkpoint scan.
#pragma once

#include <map>
#include <string>

#include "engine/keyspace/db.h"

namespace allot::testing {

// Keeps each saved key's string value and counts keys saved twice (which must never happen).
struct CheckpointRecorder final : internal::DbCheckpointSink {
  std::map<std::string, std::string> saved;
  int duplicates = 0;
  void save(const std::string& key, const internal::Entry& e) override {
    if (!saved.emplace(key, e.as<internal::StringValue>()).second) ++duplicates;
  }
};

// Every live key of db with its string value.
inline std::map<std::string, std::string> SnapshotStrings(internal::Db& db) {
  std::map<std::string, std::string> out;
  db.for_each(
      0, [&](const std::string& k, internal::Entry& e) { out[k] = e.as<internal::StringValue>(); });
  return out;
}

}  // namespace allot::testing
