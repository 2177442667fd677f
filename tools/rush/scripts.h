// The Lua scripts lua modes load with SCRIPT LOAD and run with EVALSHA on plain keys.
#pragma once

#include <string>

namespace allot::rush {

// Seed 002, verbatim: KEYS[1] = ticket counter, KEYS[2] = purchased users set,
// ARGV[1] = user id. Replies 1 taken, 0 sold out, -1 already bought.
extern const char* const kTicketsScript;

// Seed 000's reserve script (the seed's text is cut off where the script is; this is the
// check-then-INCRBY it describes): KEYS[1] = reserved counter, ARGV[1] = amount,
// ARGV[2] = quota. Replies 1 reserved, 0 the quota would be exceeded.
extern const char* const kQuotaScript;

// Holds on plain keys, in the style of the seeds (seed 003: "DECR and Lua scripts to lock
// inventory" for 5 minutes). KEYS: 1 stock, 2 buyers set (holding or bought), 3 holds hash
// (id -> "deadline_ms:user"), 4 holds list (ids in creation order), 5 sold counter,
// 6 expired counter, 7 confirmed set. Every script first returns the due holds' units
// (Redis has no timer that could run a script; the oldest holds come first in the list).
// HOLD  ARGV: user, now_ms, ttl_ms, hold id  -> 1 held, 0 sold out, -1 already holds/bought
// CONFIRM ARGV: hold id, now_ms              -> 1 sold (also on repeat), -2 expired
// SWEEP ARGV: now_ms                         -> number of holds still open
extern const std::string kHoldScript;
extern const std::string kConfirmScript;
extern const std::string kSweepScript;
constexpr int kHoldKeyCount = 7;

}  // namespace allot::rush
