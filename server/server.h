// server.h: allotd's process-wide state: the engine, the live config, the listeners of
// every shard thread, the client registry and the shutdown protocol.
//
// Threads: the main thread only starts and stops (start(), wait_and_stop()); every
// socket is served by the shard thread that accepted it, on that shard's io_uring ring
// (server/connection.h). What shards share is here, each piece with its rule: atomics
// for counters and hot-path limits, a mutex for the config text and the client registry.
//
// Shutdown: SIGTERM/SIGINT (blocked in every thread; the main thread waits for them) or
// the SHUTDOWN command (request_shutdown()) wake the main thread, which asks each shard
// to close its listeners and connections, waits until every socket object is gone, then
// stops the engine.
#pragma once

#include <allot/engine.h>

#include <atomic>
#include <bit>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/engine_impl.h"
#include "server/acl.h"
#include "server/config.h"
#include "server/recv_buffers.h"
#include "server/slowlog.h"
#include "server/tls.h"

namespace allot::server {

class Connection;
class Listener;
class IdleTimer;

// Limits read on every request, copied from the config whenever it changes.
struct LiveLimits {
  std::atomic<uint64_t> maxclients{0};
  std::atomic<uint64_t> proto_max_bulk_len{0};
  std::atomic<uint64_t> query_buffer_limit{0};
  std::atomic<uint64_t> out_hard_bytes{0};
  std::atomic<uint64_t> out_soft_bytes{0};
  std::atomic<uint64_t> out_soft_seconds{0};
  std::atomic<uint64_t> timeout_seconds{0};
  std::atomic<bool> protected_mode{true};
  std::atomic<uint64_t> maxmemory{0};
  std::atomic<int> eviction{0};  // EvictionPolicy
  // enable-debug-command: 0 = no (Redis's default), 1 = yes, 2 = local connections only.
  std::atomic<int> debug_command{0};
};

// maxmemory-policy as enforced: the LRU/LFU names sample keys at random (Allot keeps no
// access clock), each within the same set of keys as Redis's policy of that name.
enum class EvictionPolicy { kNoEviction, kAllKeysRandom, kVolatileRandom, kVolatileTtl };
EvictionPolicy ParseEvictionPolicy(std::string_view name);

// Counters a shard writes alone and INFO reads from any thread; padded to keep shards
// off each other's cache lines.
// LATENCY HISTOGRAM's buckets (server/slowlog.cc): Redis reports a command's latencies
// from an HdrHistogram in power-of-two steps from 1024 ns; bucket k counts the calls that
// Redis's step k would newly cover (up to kLatencyBucketUsec[k] µs). Plain counters per
// bucket are enough to reproduce that reply and cost one relaxed add per command.
inline constexpr size_t kLatencyBuckets = 21;

// Index of the bucket of a command that ran usec µs (Redis records usec * 1000 ns, clamped
// to 1 ns .. 1 s; step k >= 1 starts 1/128 above 2^(10+k) ns, HdrHistogram's precision 2).
inline size_t LatencyBucket(int64_t usec) {
  if (usec <= 1) return 0;
  if (usec >= 1000000) return kLatencyBuckets - 1;
  uint64_t ns = static_cast<uint64_t>(usec) * 1000;
  int p = std::bit_width(ns) - 1;  // ns >= 2000, so p >= 10
  size_t k = static_cast<size_t>(p - 10);
  return ns < (uint64_t{1} << p) + (uint64_t{1} << (p - 7)) ? k : k + 1;
}

// INFO commandstats counters of one command on one shard.
struct CommandStat {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> usec{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> latency[kLatencyBuckets] = {};  // LATENCY HISTOGRAM
};

struct alignas(64) ShardNetStats {
  // Error prefixes INFO errorstats counts separately; the last slot counts the others.
  static constexpr std::string_view kErrorPrefixes[] = {
      "ERR",      "WRONGTYPE", "NOAUTH",  "WRONGPASS", "NOPROTO",   "OOM",  "EXECABORT",
      "NOSCRIPT", "BUSY",      "BUSYKEY", "NOPERM",    "CROSSSLOT", "OTHER"};
  static constexpr size_t kErrorKinds = std::size(kErrorPrefixes);
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> error_replies{0};
  std::atomic<uint64_t> errors_by_prefix[kErrorKinds] = {};
  // Indexed like CommandTable::Get().all().
  std::unique_ptr<CommandStat[]> commands_by_spec;

  void count_error(std::string_view text) {
    std::string_view prefix = text.substr(0, text.find(' '));
    size_t i = 0;
    while (i + 1 < kErrorKinds && kErrorPrefixes[i] != prefix) ++i;
    error_replies.fetch_add(1, std::memory_order_relaxed);
    errors_by_prefix[i].fetch_add(1, std::memory_order_relaxed);
  }
};

// Counts a call of the command at spec_index (CommandTable::Get().all()) that ran usec µs
// for LATENCY HISTOGRAM; called where INFO commandstats count the call.
inline void RecordLatency(ShardNetStats& stats, size_t spec_index, int64_t usec) {
  stats.commands_by_spec[spec_index].latency[LatencyBucket(usec)].fetch_add(
      1, std::memory_order_relaxed);
}

// What a shard thread owns of the network: touched only on that thread.
struct ShardNet {
  std::vector<Listener*> listeners;
  // The shard's receive buffer pool (server/recv_buffers.h), made by its first connection;
  // stays null where the kernel refuses provided-buffer rings.
  std::unique_ptr<RecvBuffers> recv_buffers;
  bool recv_buffers_tried = false;
  IdleTimer* timer = nullptr;
  std::unordered_map<uint64_t, Connection*> conns;
  bool stopping = false;
};

class Server {
 public:
  explicit Server(ServerConfig cfg, std::string config_file = "");
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts the engine and a listener per shard per bind address. False (logged) if a
  // listener cannot be set up.
  bool start();
  // Blocks until SIGTERM, SIGINT or SHUTDOWN, then stops everything; returns the exit code.
  int wait_and_stop();
  // Any thread.
  // save = false (SHUTDOWN NOSAVE): no final checkpoint.
  void request_shutdown(bool save = true) {
    save_on_shutdown_.store(save);
    shutdown_requested_.store(true);
  }

  internal::EngineImpl& engine() { return engine_->impl(); }
  const LiveLimits& limits() const { return limits_; }
  ShardNet& net(unsigned shard) { return nets_[shard]; }
  ShardNetStats& stats(unsigned shard) { return stats_[shard]; }
  int port() const { return port_; }
  int64_t start_time_ms() const { return start_time_ms_; }
  const std::string& run_id() const { return run_id_; }
  const std::string& config_file() const { return config_file_; }

  // Config access from any thread.
  ServerConfig config() const;
  // CONFIG SET name value...: empty string or the reason it was refused.
  std::string config_set(std::string_view name, const std::vector<std::string>& values);
  AclStore& acl() { return acl_; }

  // maxmemory (server/maxmemory.cc). Whether used memory is over a set limit now.
  bool over_maxmemory() const;
  // Before a command that grows memory, on shard's thread: evicts keys of this shard by
  // the policy while over the limit (asking the other shards to evict too when this one
  // has nothing to give). True if memory is within the limit afterwards.
  bool make_room(unsigned shard);
  std::atomic<uint64_t> evicted_keys{0};

  // Called by a shard's listener with an accepted socket (tls: from the TLS port).
  void on_accept(unsigned shard, int fd, bool tls);
  int tls_port() const { return tls_port_; }

  // Client registry (CLIENT LIST / KILL, INFO clients).
  void register_client(Connection* c);
  void unregister_client(Connection* c);
  std::string client_list(std::string_view only_id = {}) const;
  // Closes the client with this id (on its own shard); false if unknown.
  bool kill_client(uint64_t id);
  // Id of the client whose peer address is addr ("ip:port"), or 0.
  uint64_t find_client_by_addr(std::string_view addr) const;
  std::mutex* registry_mutex() const { return &registry_mu_; }
  SlowLog& slowlog() { return slowlog_; }
  LatencyMonitor& latency() { return latency_; }
  // CONFIG RESETSTAT: the server's counters.
  void reset_stats();
  uint64_t next_client_id() { return next_client_id_.fetch_add(1) + 1; }

  // CLIENT PAUSE: until when (Unix ms), and whether every command or only writes wait.
  void pause(int64_t end_ms, bool all);
  void unpause() { pause_end_ms_.store(0); }
  // Whether a command with these flags must wait now (0 flags = unknown command).
  bool paused_for(uint32_t flags, int64_t now_ms) const;
  int64_t pause_end_ms() const { return pause_end_ms_.load(std::memory_order_relaxed); }

  std::atomic<uint64_t> connected_clients{0};
  std::atomic<int64_t> paused_clients{0};
  std::atomic<uint64_t> total_connections{0};
  std::atomic<uint64_t> rejected_connections{0};
  // Sockets (listeners and connections) not yet freed: shutdown waits for zero.
  std::atomic<int64_t> live_sockets{0};

 private:
  bool open_listeners(unsigned shard, std::string* err);
  // Listens on every bind address at port (updating *port when it is 0); false if none.
  bool open_port(unsigned shard, int* port, bool tls, std::string* err);
  void stop_shard(unsigned shard);
  void apply_limits(const ServerConfig& cfg);
  // Evicts up to max keys of shard (its thread) by the policy until used memory is at most
  // target bytes; how many it evicted.
  size_t evict_on(unsigned shard, size_t max, uint64_t target);

  AclStore acl_;
  std::unique_ptr<std::atomic<bool>[]> evicting_;  // per shard: an eviction request is queued

  mutable std::mutex cfg_mu_;
  ServerConfig cfg_;
  std::string config_file_;
  LiveLimits limits_;
  SlowLog slowlog_;
  LatencyMonitor latency_;
  int port_ = 0;
  int tls_port_ = 0;
  std::unique_ptr<TlsContext> tls_;
  std::unique_ptr<allot::Engine> engine_;
  std::unique_ptr<ShardNet[]> nets_;
  std::unique_ptr<ShardNetStats[]> stats_;
  std::atomic<bool> shutdown_requested_{false};
  std::atomic<bool> save_on_shutdown_{true};
  std::atomic<int64_t> pause_end_ms_{0};
  std::atomic<bool> pause_all_{false};
  std::mutex pause_mu_;
  std::atomic<uint64_t> next_client_id_{0};
  int64_t start_time_ms_ = 0;
  std::string run_id_;

  mutable std::mutex registry_mu_;
  std::map<uint64_t, Connection*> registry_;
};

}  // namespace allot::server
