// record.h: the WAL record, one per logged command, and its binary encoding.
//
// A record is the command itself plus everything that makes re-executing it deterministic:
// the database it ran in, the time its handler saw (ctx.now_ms) and the state of its home
// shard's random source before it ran. Replaying the same handler on the same state with
// these inputs produces the same effects: absolute deadlines, assigned ids, random picks.
//
// Layout (little-endian; every byte is covered by a checksum):
//
//   offset  size  field
//        0     4  header_crc   CRC-32C of bytes 4..23
//        4     4  payload_crc  CRC-32C of the payload
//        8     4  payload_len  bytes after the 24-byte header
//       12     1  version      kWalRecordVersion
//       13     1  flags        kWalFlag*
//       14     2  reserved     0
//       16     8  lsn          log sequence number (also the LMDB key, big-endian there)
//       24     -  payload:     u8 db, i64 now_ms, u64 rng_state, u32 argc,
//                              argc x (u32 len, len bytes)
//
// The payload (and its CRC) is built on the shard thread that ran the command; the log
// writer only stamps the LSN and the 20-byte header CRC (Seal), so checksumming costs the
// single writer thread almost nothing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace allot::internal {

inline constexpr uint8_t kWalRecordVersion = 1;
inline constexpr size_t kWalHeaderBytes = 24;
// The handler replied with an error (logged anyway because it may have written, e.g. a
// script that failed half-way). Replay checks that it fails again, and otherwise succeeds.
inline constexpr uint8_t kWalFlagErrorReply = 1u << 0;

struct WalRecordInfo {
  uint8_t flags = 0;
  uint8_t db = 0;
  int64_t now_ms = 0;
  uint64_t rng_state = 0;
};

// A decoded record; args point into the decoded bytes.
struct WalRecordView {
  uint64_t lsn = 0;
  WalRecordInfo info;
  std::vector<std::string_view> args;
};

enum class WalDecodeStatus {
  kOk = 0,
  kTruncated,      // fewer bytes than the header or the payload length says
  kTrailingBytes,  // more bytes than the header says
  kBadHeaderChecksum,
  kBadPayloadChecksum,
  kBadVersion,
  kMalformedPayload,  // checksums fine but the fields do not parse (a writer bug)
};

struct WalDecodeResult {
  WalDecodeStatus status = WalDecodeStatus::kOk;
  std::string detail;  // human-readable, names the field and the values; empty when kOk
  WalRecordView record;
  bool ok() const { return status == WalDecodeStatus::kOk; }
};

// Builds a record with lsn 0 and no header CRC; Seal() completes it.
std::string EncodeWalRecord(const WalRecordInfo& info, std::span<const std::string_view> args);
// Stamps lsn and the header CRC into an encoded record.
void SealWalRecord(std::string& bytes, uint64_t lsn);
// Verifies both checksums and parses. Never reads outside bytes.
WalDecodeResult DecodeWalRecord(std::string_view bytes);

}  // namespace allot::internal
