// What a run measured, what the clients were told, what the server says, and the checks
// that compare them. Pure data and arithmetic (no I/O), so the tests can feed it numbers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tools/rush/histogram.h"
#include "tools/rush/options.h"

namespace allot::rush {

enum Op : uint8_t { kOpBuy, kOpHold, kOpConfirm, kOpCount };
const char* OpName(Op op, const Options& o);

// What the clients were told, summed over every reply.
struct Tally {
  uint64_t requests_sent = 0;
  uint64_t replies = 0;
  uint64_t retries = 0;     // requests sent again after a timeout or a dropped connection
  uint64_t timeouts = 0;    // requests that timed out (each attempt)
  uint64_t unanswered = 0;  // requests given up after the last retry: outcome unknown
  uint64_t reconnects = 0;
  uint64_t errors = 0;  // error replies and unexpected replies
  std::map<std::string, uint64_t> error_texts;

  int64_t units_bought = 0;     // acknowledged by INV.BUY / the buy script (1)
  int64_t units_confirmed = 0;  // acknowledged by a confirm (1)
  int64_t units_unknown = 0;    // units of requests whose outcome the client never learnt
  int64_t holds_opened = 0;     // hold replies with a hold
  int64_t holds_confirmed = 0;
  int64_t holds_expired_at_confirm = 0;  // confirm answered -2: paid too late
  int64_t holds_abandoned = 0;           // user walked away; the hold expires
  int64_t units_held_open = 0;  // units in holds the client still considers open at the end

  uint64_t users = 0;                  // users who arrived (before the duration cap)
  uint64_t users_served = 0;           // got at least one unit in the end
  uint64_t users_sold_out = 0;         // told "sold out" and got nothing
  uint64_t users_limited = 0;          // only ever told "over the limit" (e.g. both clicks of a
                                       // double click lost... or a retry after a silent success)
  uint64_t users_lost_hold = 0;        // had a hold and lost it (expired or abandoned)
  uint64_t users_failed = 0;           // only errors / no answer
  uint64_t duplicate_buyers_seen = 0;  // users told they got more units than the limit

  int64_t units_sold() const { return units_bought + units_confirmed; }
};

// The server's own counters at the end of the run.
struct ServerState {
  bool read = false;   // false: could not be read (then the counter checks fail)
  std::string source;  // "INV.GET {k}:inv" or the plain keys read
  int64_t total = 0;   // units on sale (native) or the configured stock/quota (lua)
  int64_t available = 0;
  int64_t held = 0;  // units in open holds
  int64_t sold = 0;
  int64_t buyers = -1;   // distinct users holding or having bought; -1 unknown
  int64_t expired = -1;  // holds expired (lua-hold keeps a counter); -1 unknown
};

// The per-user cross-check: every user the clients saw get a unit (or double-click),
// looked up on the server (INV.USER, or the buyers set of the lua modes).
struct PerUserCheck {
  int64_t checked = -1;    // users compared; -1 = not done (quota: no per-user state)
  int64_t over_limit = 0;  // server: held + bought above the limit
  int64_t mismatched = 0;  // server's units for the user differ from what it was told
  std::string example;     // the first mismatch, for the report
};

struct Check {
  std::string name;
  bool ok = true;
  std::string detail;
};

struct Report {
  Options options;
  Tally tally;
  ServerState server;
  PerUserCheck per_user;
  Histogram all;            // every request: send to reply, nanoseconds
  Histogram ops[kOpCount];  // per operation
  Histogram user_wait;      // arrival to the first answer of the user's first step
  double wall_s = 0;        // from the sale's opening to the last reply (incl. payments)
  // The rush proper: from the opening to the answer of the last user's click (buy or
  // hold). Throughput is measured over it, since the payments that follow a hold trickle
  // in at the users' pace, not the server's.
  double rush_s = 0;
  uint64_t rush_replies = 0;
  double cpu_user_s = 0;  // allot-rush's own CPU over the rush
  double cpu_sys_s = 0;
  bool waited_for_expiry = false;  // holds were all past their deadline when the server was read
  std::vector<std::string> notes;

  // Derived by Verify().
  int64_t oversold = 0;
  int64_t duplicate_buyers = 0;
  std::vector<Check> checks;
  bool passed() const;
  double throughput_rps() const { return rush_s > 0 ? rush_replies / rush_s : 0; }
};

// Fills oversold, duplicate_buyers and checks from the tally and the server state.
void Verify(Report& r);

std::string FormatText(const Report& r);
std::string FormatJson(const Report& r);

}  // namespace allot::rush
