#include "engine/wal/record.h"

#include <bit>
#include <cstdio>
#include <cstring>

#include "engine/limits.h"
#include "engine/util/assert.h"
#include "engine/wal/crc32c.h"

namespace allot::internal {

static_assert(std::endian::native == std::endian::little,
              "the WAL format and the CRC slicing assume a little-endian host");

namespace {

constexpr size_t kPayloadFixedBytes = 1 + 8 + 8 + 4;

template <class T>
void Put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

template <class T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

WalDecodeResult Fail(WalDecodeStatus s, std::string detail) {
  WalDecodeResult r;
  r.status = s;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

std::string EncodeWalRecord(const WalRecordInfo& info, std::span<const std::string_view> args) {
  ALLOT_CHECK(!args.empty() && args.size() <= limits::kCommandArgsMax);
  size_t size = kWalHeaderBytes + kPayloadFixedBytes;
  for (std::string_view a : args) size += 4 + a.size();
  std::string out;
  out.reserve(size);
  out.resize(kWalHeaderBytes, '\0');
  Put<uint8_t>(out, info.db);
  Put<int64_t>(out, info.now_ms);
  Put<uint64_t>(out, info.rng_state);
  Put<uint32_t>(out, static_cast<uint32_t>(args.size()));
  for (std::string_view a : args) {
    ALLOT_CHECK(a.size() <= limits::kStringBytesMax);
    Put<uint32_t>(out, static_cast<uint32_t>(a.size()));
    out.append(a);
  }
  ALLOT_CHECK(out.size() == size);
  std::string_view payload(out.data() + kWalHeaderBytes, size - kWalHeaderBytes);
  uint32_t payload_crc = Crc32c(payload);
  uint32_t payload_len = static_cast<uint32_t>(payload.size());
  std::memcpy(out.data() + 4, &payload_crc, 4);
  std::memcpy(out.data() + 8, &payload_len, 4);
  out[12] = static_cast<char>(kWalRecordVersion);
  out[13] = static_cast<char>(info.flags);
  return out;
}

void SealWalRecord(std::string& bytes, uint64_t lsn) {
  ALLOT_CHECK(bytes.size() >= kWalHeaderBytes && lsn > 0);
  std::memcpy(bytes.data() + 16, &lsn, 8);
  uint32_t header_crc = Crc32cExtend(0, bytes.data() + 4, kWalHeaderBytes - 4);
  std::memcpy(bytes.data(), &header_crc, 4);
}

WalDecodeResult DecodeWalRecord(std::string_view bytes) {
  if (bytes.size() < kWalHeaderBytes) {
    return Fail(WalDecodeStatus::kTruncated, "record truncated: " + std::to_string(bytes.size()) +
                                                 " bytes, shorter than the 24-byte header");
  }
  const char* p = bytes.data();
  uint32_t header_crc = Get<uint32_t>(p);
  uint32_t header_crc_now = Crc32cExtend(0, p + 4, kWalHeaderBytes - 4);
  if (header_crc != header_crc_now) {
    return Fail(WalDecodeStatus::kBadHeaderChecksum, "header checksum mismatch (stored " +
                                                         Hex(header_crc) + ", computed " +
                                                         Hex(header_crc_now) + ")");
  }
  uint32_t payload_crc = Get<uint32_t>(p + 4);
  uint32_t payload_len = Get<uint32_t>(p + 8);
  if (static_cast<uint8_t>(p[12]) != kWalRecordVersion) {
    return Fail(WalDecodeStatus::kBadVersion,
                "unknown record version " + std::to_string(static_cast<uint8_t>(p[12])));
  }
  size_t have = bytes.size() - kWalHeaderBytes;
  if (have < payload_len) {
    return Fail(WalDecodeStatus::kTruncated, "record truncated: payload has " +
                                                 std::to_string(have) + " of " +
                                                 std::to_string(payload_len) + " bytes");
  }
  if (have > payload_len) {
    return Fail(WalDecodeStatus::kTrailingBytes,
                std::to_string(have - payload_len) + " bytes after the record's payload");
  }
  std::string_view payload = bytes.substr(kWalHeaderBytes);
  uint32_t payload_crc_now = Crc32c(payload);
  if (payload_crc != payload_crc_now) {
    return Fail(WalDecodeStatus::kBadPayloadChecksum, "payload checksum mismatch (stored " +
                                                          Hex(payload_crc) + ", computed " +
                                                          Hex(payload_crc_now) + ")");
  }
  WalDecodeResult r;
  r.record.lsn = Get<uint64_t>(p + 16);
  r.record.info.flags = static_cast<uint8_t>(p[13]);
  if (payload.size() < kPayloadFixedBytes) {
    return Fail(WalDecodeStatus::kMalformedPayload, "payload shorter than its fixed fields");
  }
  const char* q = payload.data();
  const char* end = q + payload.size();
  r.record.info.db = static_cast<uint8_t>(q[0]);
  r.record.info.now_ms = Get<int64_t>(q + 1);
  r.record.info.rng_state = Get<uint64_t>(q + 9);
  uint32_t argc = Get<uint32_t>(q + 17);
  q += kPayloadFixedBytes;
  if (argc == 0 || argc > limits::kCommandArgsMax) {
    return Fail(WalDecodeStatus::kMalformedPayload, "bad argument count " + std::to_string(argc));
  }
  r.record.args.reserve(argc);
  for (uint32_t i = 0; i < argc; ++i) {
    if (end - q < 4) {
      return Fail(WalDecodeStatus::kMalformedPayload,
                  "argument " + std::to_string(i) + " length runs past the payload");
    }
    uint32_t len = Get<uint32_t>(q);
    q += 4;
    if (static_cast<size_t>(end - q) < len) {
      return Fail(WalDecodeStatus::kMalformedPayload,
                  "argument " + std::to_string(i) + " runs past the payload");
    }
    r.record.args.emplace_back(q, len);
    q += len;
  }
  if (q != end) {
    return Fail(WalDecodeStatus::kMalformedPayload,
                std::to_string(end - q) + " bytes after the last argument");
  }
  return r;
}

}  // namespace allot::internal
