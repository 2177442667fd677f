// status.h: business outcomes and errors of shard-local operations, and the one place
// where they become error replies with Redis's exact wording.
#pragma once

#include <allot/reply.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace allot::internal {

enum class OpStatus : uint8_t {
  kOk,
  kWrongType,            // WRONGTYPE Operation against a key holding the wrong kind of value
  kNotInteger,           // ERR value is not an integer or out of range
  kNotFloat,             // ERR value is not a valid float
  kOverflow,             // ERR increment or decrement would overflow
  kIncrNanOrInf,         // ERR increment would produce NaN or Infinity
  kSyntax,               // ERR syntax error
  kNoSuchKey,            // ERR no such key
  kIndexOutOfRange,      // ERR index out of range
  kOutOfRange,           // ERR value is out of range
  kNotPositive,          // ERR value is out of range, must be positive
  kDbIndex,              // ERR DB index is out of range
  kStringTooLong,        // ERR string exceeds maximum allowed size (proto-max-bulk-len)
  kHashValueNotInteger,  // ERR hash value is not an integer
  kHashValueNotFloat,    // ERR hash value is not a float
  kInvalidCursor,        // ERR invalid cursor
  kKeyExists,            // ERR key already exists (INV.CREATE)
  kNoSuchHold,           // ERR no such hold
  kHoldExpired,          // ERR hold expired
  kNotEnoughStock,       // ERR not enough units available (INV.WITHDRAW)
  kIdConflict,           // ERR id already used by another request (INV.HOLD/INV.BUY ... ID)
};

// The error reply for a non-OK status. Crashes on kOk (a programmer error).
Reply ErrorReply(OpStatus s);
std::string_view ErrorText(OpStatus s);

// A value or a status, for Op* functions.
template <class T>
class OpResult {
 public:
  OpResult(T v) : value_(std::move(v)) {}  // NOLINT: implicit on purpose
  OpResult(OpStatus s) : status_(s) {}     // NOLINT
  bool ok() const { return status_ == OpStatus::kOk; }
  OpStatus status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }

 private:
  std::optional<T> value_;
  OpStatus status_ = OpStatus::kOk;
};

}  // namespace allot::internal
