// wal_record_fuzz: WAL record decoding (engine/wal/record.h).
//
// Input: byte 0 selects the mode, the rest is the material.
//   * mode 0: the bytes are a record as read from the log. DecodeWalRecord must never
//     crash or read outside them; a record it accepts re-encodes to the same bytes.
//   * mode 1: the bytes are a payload wrapped in a header with valid checksums, so that
//     the payload parser (the part behind the CRCs) is reached with arbitrary fields.
//   * mode 2: the bytes describe a record (db, now, rng, flags, arguments): encode, seal,
//     decode must give back exactly what went in.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/wal/crc32c.h"
#include "engine/wal/record.h"

namespace {

using namespace allot::internal;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "wal_record_fuzz: %s\n", why.c_str());
  std::abort();
}

void CheckReencodes(std::string_view bytes, const WalDecodeResult& r) {
  std::vector<std::string_view> args(r.record.args.begin(), r.record.args.end());
  std::string again = EncodeWalRecord(r.record.info, args);
  if (r.record.lsn > 0) SealWalRecord(again, r.record.lsn);
  // An unsealed record (lsn 0) keeps whatever header CRC the input had.
  if (r.record.lsn == 0) std::memcpy(again.data(), bytes.data(), 4);
  if (again != bytes) Die("a decoded record does not re-encode to its bytes");
}

void Wrapped(std::string_view payload, uint8_t flags, uint64_t lsn) {
  std::string rec(kWalHeaderBytes, '\0');
  uint32_t payload_crc = Crc32c(payload);
  uint32_t payload_len = static_cast<uint32_t>(payload.size());
  std::memcpy(rec.data() + 4, &payload_crc, 4);
  std::memcpy(rec.data() + 8, &payload_len, 4);
  rec[12] = static_cast<char>(kWalRecordVersion);
  rec[13] = static_cast<char>(flags);
  rec.append(payload);
  SealWalRecord(rec, lsn);
  WalDecodeResult r = DecodeWalRecord(rec);
  if (r.ok()) {
    CheckReencodes(rec, r);
  } else if (r.status != WalDecodeStatus::kMalformedPayload || r.detail.empty()) {
    Die("a payload behind valid checksums failed as something else: " + r.detail);
  }
}

void RoundTrip(const uint8_t* p, size_t n) {
  if (n < 18) return;
  WalRecordInfo info;
  info.db = p[0];
  info.flags = p[1];
  std::memcpy(&info.now_ms, p + 2, 8);
  std::memcpy(&info.rng_state, p + 10, 8);
  p += 18;
  n -= 18;
  // Arguments: a length byte, then that many bytes (shorter at the end of the input).
  std::vector<std::string_view> args;
  while (n > 0) {
    size_t len = p[0];
    ++p, --n;
    if (len > n) len = n;
    args.emplace_back(reinterpret_cast<const char*>(p), len);
    p += len, n -= len;
  }
  if (args.empty()) return;
  std::string rec = EncodeWalRecord(info, args);
  SealWalRecord(rec, 1 + info.rng_state % 1000000);
  WalDecodeResult r = DecodeWalRecord(rec);
  if (!r.ok()) Die("a fresh record does not decode: " + r.detail);
  const WalRecordInfo& got = r.record.info;
  if (got.db != info.db || got.flags != info.flags || got.now_ms != info.now_ms ||
      got.rng_state != info.rng_state || r.record.args != args) {
    Die("a record decodes to something else than was encoded");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0] % 3;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);  // exact-size buffer
  if (mode == 0) {
    WalDecodeResult r = DecodeWalRecord(bytes);
    if (r.ok()) {
      CheckReencodes(bytes, r);
    } else if (r.detail.empty()) {
      Die("a failure without detail");
    }
  } else if (mode == 1) {
    Wrapped(bytes, static_cast<uint8_t>(size), 1 + size);
  } else {
    RoundTrip(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  return 0;
}
