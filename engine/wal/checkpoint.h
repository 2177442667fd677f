// checkpoint.h: a serialized image of every shard's keyspace, stored in the WAL's LMDB
// environment so that the log before it can be trimmed.
//
// The image is taken at a consistent point: inside a multi-shard transaction over ALL
// shards (engine/txn/multi_shard.h), so no command runs while it is copied, and the
// transaction pushes a marker into the log queue right after copying. Every record of a
// command that ran before the copy is ahead of the marker, every later one behind it
// (wal.h, Order), so the writer knows the exact LSN the image corresponds to: the last
// one it assigned before reaching the marker. It then writes the image, records that LSN
// and deletes the log up to it, in ONE LMDB transaction: after a crash, either the old
// checkpoint and the whole log are there, or the new checkpoint and the log after it.
//
// Format. LMDB database "checkpoint": key "meta" and keys "c" + 8-byte big-endian chunk
// number. Every value starts with the CRC-32C of the rest.
//   meta:  u32 crc, u8 version, u64 lsn, u64 chunks, u64 keys, i64 created_ms
//   chunk: u32 crc, then entries until the end:
//          u8 db, u8 type, i64 expire_at_ms, str key, value by type:
//          string: str; set/list: u32 n, n x str; hash: u32 n, n x (str field, str value)
//          (str = u32 length + bytes)
// Inventory values are not serialized yet (the inventory family owns their layout): a
// checkpoint of a keyspace holding one fails and nothing is trimmed.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/keyspace/shard_state.h"
#include "engine/keyspace/value.h"

namespace allot::internal {

inline constexpr uint8_t kCheckpointVersion =
    2;  // 2: inventory items carry the sale ledger (pgsync)

struct CheckpointImage {
  std::vector<std::string> chunks;  // each sealed with its CRC
  uint64_t keys = 0;
};

// Copies every database of shards into image. Returns "" or why it cannot (a value type
// it does not know how to serialize).
std::string BuildCheckpointImage(std::span<ShardState* const> shards, CheckpointImage& image);

struct CheckpointMeta {
  uint64_t lsn = 0;
  uint64_t chunks = 0;
  uint64_t keys = 0;
  int64_t created_ms = 0;
};
std::string EncodeCheckpointMeta(const CheckpointMeta& meta);
// Returns "" or what is wrong.
std::string DecodeCheckpointMeta(std::string_view bytes, CheckpointMeta& meta);

using CheckpointEntryFn =
    std::function<void(int db, std::string_view key, Value value, int64_t expire_at_ms)>;
// Verifies a chunk's CRC and calls fn for each entry. Returns "" or what is wrong.
std::string DecodeCheckpointChunk(std::string_view bytes, const CheckpointEntryFn& fn);

}  // namespace allot::internal
