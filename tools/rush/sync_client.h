// A blocking RESP client for the few commands around a run (setup, reading the server's
// counters at the end, cleanup), and the per-mode setup and read-back built on it.
#pragma once

#include <string>
#include <vector>

#include "tools/rush/options.h"
#include "tools/rush/report.h"
#include "tools/rush/resp.h"

namespace allot::rush {

// Connects a non-blocking-capable TCP socket to host:port; -1 with *err on failure.
int ConnectTcp(const std::string& host, int port, bool nonblocking, std::string* err);

class SyncClient {
 public:
  SyncClient() = default;
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  // Connects and AUTHs when a password is set.
  bool connect(const Options& o, std::string* err);
  // Sends one command and waits for its reply (timeout 10 s). A transport failure
  // returns an error value whose text starts with "transport:".
  RespValue call(const std::vector<std::string>& args);
  // Pipelines the commands; one reply each, in order (transport failures as in call()).
  std::vector<RespValue> call_many(const std::vector<std::vector<std::string>>& cmds);

 private:
  int fd_ = -1;
  RespReader reader_;
};

// The plain keys of a run, all under one hash tag so that a sharded server keeps them on
// one shard (and a Lua script may touch them together).
struct Keys {
  std::string inv;                     // native inventory key
  std::string stock;                   // lua: available units (tickets) / reserved units (quota)
  std::string buyers;                  // lua: users holding or having bought
  std::vector<std::string> hold_keys;  // lua-hold: the 7 keys of scripts.h, in order
  explicit Keys(const std::string& base);
  std::vector<std::string> all() const;
};

struct Scripts {
  std::string buy;  // sha1 of the buy / quota script
  std::string hold;
  std::string confirm;
  std::string sweep;
};

// Deletes the run's keys and creates the sale. Lua modes load their scripts (a server
// without SCRIPT LOAD fails here, with the server's error). False with *err on failure.
bool SetupSale(SyncClient& c, const Options& o, const Keys& k, Scripts* s, std::string* err);
// Reads the server's counters (INV.GET, or the plain keys) into *state.
bool ReadServerState(SyncClient& c, const Options& o, const Keys& k, const Scripts& s,
                     int64_t now_ms, ServerState* state, std::string* err);
void DeleteKeys(SyncClient& c, const Keys& k);
// The lua modes' buyers set (SMEMBERS); false with *err on failure.
bool ReadBuyers(SyncClient& c, const Keys& k, std::vector<std::string>* members, std::string* err);

}  // namespace allot::rush
