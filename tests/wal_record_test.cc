// wal_record_test.cc: CRC-32C and the WAL record encoding (engine/wal/record.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/wal/crc32c.h"
#include "engine/wal/record.h"

namespace allot::internal {
namespace {

TEST(Crc32cTest, KnownVectors) {
  // The check value of CRC-32C, and the test vectors of RFC 3720 (iSCSI), appendix B.4.
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string inc;
  for (int i = 0; i < 32; ++i) inc.push_back(static_cast<char>(i));
  EXPECT_EQ(Crc32c(inc), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s;
  for (int i = 0; i < 1000; ++i) s.push_back(static_cast<char>(i * 7 + 3));
  for (size_t cut : {0ul, 1ul, 7ul, 8ul, 9ul, 500ul, 999ul, 1000ul}) {
    uint32_t c = Crc32cExtend(0, s.data(), cut);
    c = Crc32cExtend(c, s.data() + cut, s.size() - cut);
    EXPECT_EQ(c, Crc32c(s)) << cut;
  }
}

std::string Sample(uint64_t lsn, std::vector<std::string_view> args) {
  WalRecordInfo info;
  info.db = 7;
  info.now_ms = 1767225600123;
  info.rng_state = 0x0123456789abcdefull;
  std::string bytes = EncodeWalRecord(info, args);
  SealWalRecord(bytes, lsn);
  return bytes;
}

TEST(WalRecordTest, RoundTrip) {
  std::string big(100000, 'x');
  std::string binary("a\0b\r\n\xff", 6);
  std::vector<std::string_view> args = {"SET", "key", "", binary, big};
  std::string bytes = Sample(42, args);
  EXPECT_EQ(bytes.size(), kWalHeaderBytes + 21 + 5 * 4 + 3 + 3 + 0 + 6 + 100000);
  WalDecodeResult d = DecodeWalRecord(bytes);
  ASSERT_TRUE(d.ok()) << d.detail;
  EXPECT_EQ(d.record.lsn, 42u);
  EXPECT_EQ(d.record.info.db, 7);
  EXPECT_EQ(d.record.info.flags, 0);
  EXPECT_EQ(d.record.info.now_ms, 1767225600123);
  EXPECT_EQ(d.record.info.rng_state, 0x0123456789abcdefull);
  ASSERT_EQ(d.record.args.size(), args.size());
  for (size_t i = 0; i < args.size(); ++i) EXPECT_EQ(d.record.args[i], args[i]) << i;
}

TEST(WalRecordTest, FlagsAndNegativeTimeSurvive) {
  WalRecordInfo info;
  info.flags = kWalFlagErrorReply;
  info.now_ms = -5;
  std::vector<std::string_view> args = {"EVAL"};
  std::string bytes = EncodeWalRecord(info, args);
  SealWalRecord(bytes, 1);
  WalDecodeResult d = DecodeWalRecord(bytes);
  ASSERT_TRUE(d.ok()) << d.detail;
  EXPECT_EQ(d.record.info.flags, kWalFlagErrorReply);
  EXPECT_EQ(d.record.info.now_ms, -5);
}

TEST(WalRecordTest, EveryFlippedBitIsDetected) {
  std::string good = Sample(9, {"SET", "k", "value"});
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      WalDecodeResult d = DecodeWalRecord(bad);
      ASSERT_FALSE(d.ok()) << "byte " << i << " bit " << bit;
      WalDecodeStatus want =
          i < 24 ? WalDecodeStatus::kBadHeaderChecksum : WalDecodeStatus::kBadPayloadChecksum;
      // Bytes 0..3 are the header CRC itself: a flip there is a header mismatch too.
      EXPECT_EQ(d.status, want) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(WalRecordTest, ChecksumMessagesNameTheValues) {
  std::string bad = Sample(9, {"SET", "k", "value"});
  bad.back() = 'X';
  WalDecodeResult d = DecodeWalRecord(bad);
  EXPECT_EQ(d.status, WalDecodeStatus::kBadPayloadChecksum);
  EXPECT_NE(d.detail.find("payload checksum mismatch (stored 0x"), std::string::npos) << d.detail;
  EXPECT_NE(d.detail.find(", computed 0x"), std::string::npos) << d.detail;
}

TEST(WalRecordTest, EveryTruncationIsDetected) {
  std::string good = Sample(3, {"SET", "key", "some value"});
  for (size_t len = 0; len < good.size(); ++len) {
    WalDecodeResult d = DecodeWalRecord(std::string_view(good).substr(0, len));
    ASSERT_FALSE(d.ok()) << len;
    EXPECT_EQ(d.status, WalDecodeStatus::kTruncated) << len;
    EXPECT_NE(d.detail.find("truncated"), std::string::npos) << d.detail;
  }
  WalDecodeResult d = DecodeWalRecord(good.substr(0, 30));
  EXPECT_EQ(d.detail, "record truncated: payload has 6 of " +
                          std::to_string(good.size() - kWalHeaderBytes) + " bytes");
}

TEST(WalRecordTest, TrailingBytesAreDetected) {
  std::string bytes = Sample(3, {"SET", "k", "v"}) + "zz";
  WalDecodeResult d = DecodeWalRecord(bytes);
  EXPECT_EQ(d.status, WalDecodeStatus::kTrailingBytes);
  EXPECT_EQ(d.detail, "2 bytes after the record's payload");
}

TEST(WalRecordTest, UnknownVersionIsRefused) {
  std::string bytes = Sample(3, {"SET", "k", "v"});
  bytes[12] = 9;
  SealWalRecord(bytes, 3);  // a valid header CRC over the unknown version
  WalDecodeResult d = DecodeWalRecord(bytes);
  EXPECT_EQ(d.status, WalDecodeStatus::kBadVersion);
  EXPECT_EQ(d.detail, "unknown record version 9");
}

}  // namespace
}  // namespace allot::internal
