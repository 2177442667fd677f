// crc32c.h: CRC-32C (Castagnoli), the checksum of every WAL record.
//
// Castagnoli's polynomial detects all burst errors up to 32 bits and has better Hamming
// distance than the zlib CRC-32 at record sizes; it is what iSCSI, ext4 and RocksDB use.
// Table-driven (slicing by 8), no CPU-specific instructions, so the on-disk format does not
// depend on the build machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace allot::internal {

// Continues a CRC-32C: pass the previous result as crc (0 to start).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);
inline uint32_t Crc32c(std::string_view bytes) {
  return Crc32cExtend(0, bytes.data(), bytes.size());
}

}  // namespace allot::internal
