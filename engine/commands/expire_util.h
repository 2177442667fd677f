// expire_util.h: expiry helpers shared by the string family (SET EX, GETEX, SETEX) and the
// key family (EXPIRE, PEXPIREAT, ...), so both follow Redis's rules the same way.
#pragma once

#include <allot/reply.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "engine/commands/args.h"
#include "engine/commands/status.h"
#include "engine/keyspace/db.h"
#include "engine/util/assert.h"

namespace allot::internal {

inline constexpr int64_t kExpireMsMax = std::numeric_limits<int64_t>::max();

// "ERR invalid expire time in '<cmd>' command", as Redis's addReplyErrorExpireTime.
inline Reply InvalidExpireReply(std::string_view cmd) {
  std::string text = "ERR invalid expire time in '";
  text.append(ToLower(cmd));
  text.append("' command");
  return Reply::Error(text);
}

// Sets entry's absolute expiry, or deletes the key at once when the deadline has already
// passed (Redis's checkAlreadyExpired), so a key never sits in the table already dead.
// entry is invalid afterwards if the key was deleted; returns whether it still exists.
inline bool ExpireOrDelete(Db& db, Entry* entry, int64_t at_ms, int64_t now_ms) {
  ALLOT_DCHECK(entry != nullptr);
  if (at_ms <= now_ms) {
    db.erase(entry);
    return false;
  }
  db.set_expire(entry, at_ms);
  return true;
}

// The absolute expiry in ms of a SET/GETEX/SETEX-style TTL argument (Redis's
// getExpireMillisecondsOrReply): it must be a positive integer whose conversion to ms and
// addition of now (relative units) do not overflow. kNotInteger for a non-number,
// kOutOfRange for an invalid expire time (reply with InvalidExpireReply).
inline OpResult<int64_t> PositiveExpireToMs(std::string_view arg, bool seconds, bool relative,
                                            int64_t now_ms) {
  int64_t v = 0;
  if (!ParseInt64(arg, &v)) return OpStatus::kNotInteger;
  if (v <= 0 || (seconds && v > kExpireMsMax / 1000)) return OpStatus::kOutOfRange;
  if (seconds) v *= 1000;
  if (relative) {
    if (v > kExpireMsMax - now_ms) return OpStatus::kOutOfRange;
    v += now_ms;
  }
  return v;
}

// The error reply for a failed PositiveExpireToMs of command `cmd`.
inline Reply ExpireParseError(OpStatus s, std::string_view cmd) {
  return s == OpStatus::kOutOfRange ? InvalidExpireReply(cmd) : ErrorReply(s);
}

}  // namespace allot::internal
