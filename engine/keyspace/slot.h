// slot.h: key -> slot, exactly as Redis Cluster (CRC16-XMODEM of the key, or of the first
// non-empty {hash tag}, modulo 16384), so keys that share a hash tag share a shard.
#pragma once

#include <cstdint>
#include <string_view>

namespace allot::internal {

uint16_t Crc16(std::string_view data);
// The part of the key that is hashed: the content of the first {...} when it is
// non-empty, else the whole key (Redis's keyHashSlot).
std::string_view HashTag(std::string_view key);
uint16_t KeySlot(std::string_view key);

}  // namespace allot::internal
