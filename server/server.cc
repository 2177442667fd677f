#include "server/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "engine/commands/args.h"
#include "engine/commands/command_table.h"
#include "engine/commands/server_info.h"
#include "engine/runtime/clock.h"
#include "engine/util/assert.h"
#include "server/connection.h"
#include "server/log.h"
#include "server/memory.h"
#include "server/resp_parser.h"

namespace allot::server {

// One SO_REUSEPORT listening socket of one shard; its accepts complete on that shard's
// ring. Multishot accept (one SQE, a CQE per connection) when the kernel has it, else a
// plain accept re-armed after each completion.
class Listener final : public internal::Completion {
 public:
  Listener(Server& server, unsigned shard, int fd, bool tls)
      : server_(server), shard_(shard), fd_(fd), tls_(tls) {
    server_.live_sockets.fetch_add(1);
  }
  ~Listener() override { server_.live_sockets.fetch_sub(1); }

  void arm(internal::Reactor& r) {
    io_uring_sqe* sqe = r.get_sqe();
    if (multishot_) {
      io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
    } else {
      io_uring_prep_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
    }
    io_uring_sqe_set_data(sqe, this);
    armed_ = true;
  }

  void on_complete(internal::Reactor& r, int32_t res, uint32_t flags) override {
    if (!(flags & IORING_CQE_F_MORE)) armed_ = false;
    if (res >= 0) {
      if (stopping_) {
        ::close(res);
      } else {
        server_.on_accept(shard_, res, tls_);
      }
    } else if (res == -EINVAL && multishot_ && !stopping_) {
      multishot_ = false;  // an older kernel: fall back to one accept per SQE
    } else if (!stopping_ && res != -ECANCELED) {
      LogWarning("Accepting client connection: {}", std::strerror(-res));
    }
    if (stopping_) {
      if (!armed_) {
        ::close(fd_);
        delete this;
      }
      return;
    }
    if (!armed_) arm(r);
  }

  void stop(internal::Reactor& r) {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    io_uring_sqe* sqe = r.get_sqe();
    io_uring_prep_cancel(sqe, this, 0);
    io_uring_sqe_set_data64(sqe, 0);
  }

 private:
  Server& server_;
  unsigned shard_;
  int fd_;
  bool tls_;
  bool multishot_ = true;
  bool armed_ = false;
  bool stopping_ = false;
};

// Once a second on each shard: closes the clients idle longer than `timeout` (Redis's
// clientsCronHandleTimeout). An io_uring timeout, so it wakes the ring like any other I/O.
class IdleTimer final : public internal::Completion {
 public:
  IdleTimer(Server& server, unsigned shard) : server_(server), shard_(shard) {
    server_.live_sockets.fetch_add(1);
  }
  ~IdleTimer() override { server_.live_sockets.fetch_sub(1); }

  void arm(internal::Reactor& r) {
    ts_.tv_sec = 1;
    ts_.tv_nsec = 0;
    io_uring_sqe* sqe = r.get_sqe();
    io_uring_prep_timeout(sqe, &ts_, 0, 0);
    io_uring_sqe_set_data(sqe, this);
  }

  void on_complete(internal::Reactor& r, int32_t, uint32_t) override {
    if (stopping_) {
      delete this;
      return;
    }
    uint64_t timeout_s = server_.limits().timeout_seconds.load(std::memory_order_relaxed);
    if (timeout_s > 0) {
      int64_t now = internal::RealClockMs();
      std::vector<Connection*> idle;
      for (auto& [id, c] : server_.net(shard_).conns) {
        int64_t last = c->meta().last_active_ms.load(std::memory_order_relaxed);
        if (now - last > static_cast<int64_t>(timeout_s) * 1000 && !c->busy()) idle.push_back(c);
      }
      for (Connection* c : idle) {
        LogVerbose("Closing idle client id={}", c->id());
        c->close_now();
      }
    }
    arm(r);
  }

  void stop(internal::Reactor& r) {
    stopping_ = true;
    io_uring_sqe* sqe = r.get_sqe();
    io_uring_prep_timeout_remove(sqe, reinterpret_cast<uint64_t>(this), 0);
    io_uring_sqe_set_data64(sqe, 0);
  }

 private:
  Server& server_;
  unsigned shard_;
  bool stopping_ = false;
  __kernel_timespec ts_{};
};

namespace {

Server* g_server = nullptr;

std::string AddrText(const sockaddr_storage& ss) {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    port = ntohs(a->sin6_port);
  }
  return std::string(ip) + ":" + std::to_string(port);
}

void AppendKV(std::string& out, std::string_view k, std::string_view v) {
  out.append(k);
  out.push_back(':');
  out.append(v);
  out.append("\r\n");
}

void AppendKV(std::string& out, std::string_view k, uint64_t v) {
  AppendKV(out, k, std::to_string(v));
}

// Redis's bytesToHuman: "1.50M".
std::string HumanBytes(int64_t n) {
  double d = static_cast<double>(n);
  if (n < 1024) return std::to_string(n) + "B";
  if (n < 1024 * 1024) return fmt::format("{:.2f}K", d / 1024);
  if (n < 1024ll * 1024 * 1024) return fmt::format("{:.2f}M", d / (1024 * 1024));
  return fmt::format("{:.2f}G", d / (1024.0 * 1024 * 1024));
}

void InfoCommandStats(Server* s, std::string& out) {
  auto specs = internal::CommandTable::Get().all();
  for (size_t k = 0; k < specs.size(); ++k) {
    uint64_t calls = 0, usec = 0, rejected = 0, failed = 0;
    for (unsigned i = 0; i < s->engine().shard_count(); ++i) {
      const CommandStat& st = s->stats(i).commands_by_spec[k];
      calls += st.calls.load(std::memory_order_relaxed);
      usec += st.usec.load(std::memory_order_relaxed);
      rejected += st.rejected.load(std::memory_order_relaxed);
      failed += st.failed.load(std::memory_order_relaxed);
    }
    if (calls == 0 && rejected == 0) continue;
    out.append(fmt::format(
        "cmdstat_{}:calls={},usec={},usec_per_call={:.2f},rejected_calls={},failed_calls={}\r\n",
        internal::ToLower(specs[k].name), calls, usec,
        calls > 0 ? static_cast<double>(usec) / static_cast<double>(calls) : 0.0, rejected,
        failed));
  }
}

void InfoErrorStats(Server* s, std::string& out) {
  for (size_t k = 0; k < ShardNetStats::kErrorKinds; ++k) {
    uint64_t n = 0;
    for (unsigned i = 0; i < s->engine().shard_count(); ++i) {
      n += s->stats(i).errors_by_prefix[k].load(std::memory_order_relaxed);
    }
    if (n == 0) continue;
    out.append(fmt::format("errorstat_{}:count={}\r\n", ShardNetStats::kErrorPrefixes[k], n));
  }
}

// allotd's lines of the INFO sections (engine/commands/server_info.h).
void InfoHook(std::string_view section, std::string& out) {
  Server* s = g_server;
  if (s == nullptr) return;
  if (section == "server") {
    utsname u{};
    uname(&u);
    int64_t up_s = (internal::RealClockMs() - s->start_time_ms()) / 1000;
    AppendKV(out, "redis_version", "7.0.15");
    AppendKV(out, "allot_version", "0.1.0");
    AppendKV(out, "redis_mode", "standalone");
    AppendKV(out, "os", std::string(u.sysname) + " " + u.release + " " + u.machine);
    AppendKV(out, "arch_bits", 64);
    AppendKV(out, "multiplexing_api", "io_uring");
    AppendKV(out, "process_id", static_cast<uint64_t>(getpid()));
    AppendKV(out, "run_id", s->run_id());
    AppendKV(out, "tcp_port", static_cast<uint64_t>(s->port()));
    AppendKV(out, "uptime_in_seconds", static_cast<uint64_t>(up_s));
    AppendKV(out, "uptime_in_days", static_cast<uint64_t>(up_s / 86400));
    AppendKV(out, "hz", 10);
    AppendKV(out, "shard_threads", s->engine().shard_count());
    AppendKV(out, "config_file", s->config_file());
  } else if (section == "clients") {
    AppendKV(out, "connected_clients", s->connected_clients.load());
    AppendKV(out, "cluster_connections", 0);
    AppendKV(out, "maxclients", s->limits().maxclients.load());
    AppendKV(out, "blocked_clients", static_cast<uint64_t>(s->paused_clients.load()));
    AppendKV(out, "tracking_clients", 0);
  } else if (section == "memory") {
    ServerConfig cfg = s->config();
    int64_t used = UsedMemoryBytes();
    AppendKV(out, "used_memory", static_cast<uint64_t>(used));
    AppendKV(out, "used_memory_human", HumanBytes(used));
    AppendKV(out, "used_memory_rss", static_cast<uint64_t>(RssBytes()));
    AppendKV(out, "maxmemory", cfg.maxmemory);
    AppendKV(out, "maxmemory_human", HumanBytes(static_cast<int64_t>(cfg.maxmemory)));
    AppendKV(out, "maxmemory_policy", cfg.maxmemory_policy);
  } else if (section == "stats") {
    uint64_t cmds = 0, errs = 0;
    for (unsigned i = 0; i < s->engine().shard_count(); ++i) {
      cmds += s->stats(i).commands.load(std::memory_order_relaxed);
      errs += s->stats(i).error_replies.load(std::memory_order_relaxed);
    }
    AppendKV(out, "total_connections_received", s->total_connections.load());
    AppendKV(out, "total_commands_processed", cmds);
    AppendKV(out, "rejected_connections", s->rejected_connections.load());
    AppendKV(out, "total_error_replies", errs);
    AppendKV(out, "evicted_keys", s->evicted_keys.load());
  } else if (section == "commandstats") {
    InfoCommandStats(s, out);
  } else if (section == "errorstats") {
    InfoErrorStats(s, out);
  } else if (section == "cpu") {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    out.append(fmt::format("used_cpu_sys:{}.{:06d}\r\nused_cpu_user:{}.{:06d}\r\n",
                           ru.ru_stime.tv_sec, ru.ru_stime.tv_usec, ru.ru_utime.tv_sec,
                           ru.ru_utime.tv_usec));
  }
}

bool MakeSockaddr(const std::string& host, int port, sockaddr_storage* ss, socklen_t* len) {
  std::memset(ss, 0, sizeof *ss);
  auto* a4 = reinterpret_cast<sockaddr_in*>(ss);
  if (host == "*" || inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    if (host == "*") a4->sin_addr.s_addr = htonl(INADDR_ANY);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* a6 = reinterpret_cast<sockaddr_in6*>(ss);
  std::string h6 = host == "::*" ? "::" : host;
  if (inet_pton(AF_INET6, h6.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// Whether nobody listens on the address: a socket without SO_REUSEPORT can bind it. (With
// SO_REUSEADDR, so that connections of a previous run in TIME_WAIT do not count.)
bool PortFree(const sockaddr_storage& ss, socklen_t len) {
  int probe = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return true;  // let the real bind report the problem
  int one = 1;
  setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6) setsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  bool free = bind(probe, reinterpret_cast<const sockaddr*>(&ss), len) == 0 || errno != EADDRINUSE;
  ::close(probe);
  return free;
}

}  // namespace

Server::Server(ServerConfig cfg, std::string config_file)
    : cfg_(std::move(cfg)), config_file_(std::move(config_file)) {
  apply_limits(cfg_);
  // Config `user` lines first, then requirepass on top of the default user, as Redis.
  for (const std::string& line : cfg_.users) {
    std::vector<std::string> argv;
    SplitInlineArgs(line, &argv);
    std::string err = acl_.set_user(argv[0], {argv.begin() + 1, argv.end()});
    ALLOT_CHECK(err.empty());  // checked when the config was read
  }
  if (!cfg_.requirepass.empty()) acl_.set_requirepass(cfg_.requirepass);
  std::random_device rd;
  std::mt19937_64 rng(rd());
  for (int i = 0; i < 40; ++i) run_id_.push_back("0123456789abcdef"[rng() % 16]);
}

Server::~Server() {
  if (engine_) engine_->impl().shutdown();
  // The rings go first: the shards' receive buffer pools (in nets_) must outlive them.
  engine_.reset();
  internal::SetServerInfoHook(nullptr);
  internal::SetServerLogHook(nullptr);
  g_server = nullptr;
}

void Server::apply_limits(const ServerConfig& cfg) {
  limits_.maxclients.store(cfg.maxclients);
  limits_.proto_max_bulk_len.store(cfg.proto_max_bulk_len);
  limits_.query_buffer_limit.store(cfg.client_query_buffer_limit);
  const OutputBufferLimit& normal = cfg.output_limits[static_cast<int>(ClientClass::kNormal)];
  limits_.out_hard_bytes.store(normal.hard_bytes);
  limits_.out_soft_bytes.store(normal.soft_bytes);
  limits_.out_soft_seconds.store(normal.soft_seconds);
  limits_.timeout_seconds.store(cfg.timeout_seconds);
  limits_.protected_mode.store(cfg.protected_mode);
  limits_.maxmemory.store(cfg.maxmemory);
  limits_.eviction.store(static_cast<int>(ParseEvictionPolicy(cfg.maxmemory_policy)));
  // Redis parameters Allot keeps as text (config.cc kAccepted) that the server now uses.
  auto number = [&](const char* name, int64_t fallback) {
    auto it = cfg.accepted.find(name);
    int64_t v = 0;
    return it != cfg.accepted.end() && internal::ParseInt64(it->second, &v) ? v : fallback;
  };
  slowlog_.configure(number("slowlog-log-slower-than", 10000),
                     static_cast<uint64_t>(std::max<int64_t>(0, number("slowlog-max-len", 128))));
  latency_.configure(std::max<int64_t>(0, number("latency-monitor-threshold", 0)));
  auto debug = cfg.accepted.find("enable-debug-command");
  int mode = 0;
  if (debug != cfg.accepted.end()) {
    if (internal::EqualsIgnoreCase(debug->second, "yes")) mode = 1;
    if (internal::EqualsIgnoreCase(debug->second, "local")) mode = 2;
  }
  limits_.debug_command.store(mode);
}

ServerConfig Server::config() const {
  std::lock_guard<std::mutex> lock(cfg_mu_);
  return cfg_;
}

std::string Server::config_set(std::string_view name, const std::vector<std::string>& values) {
  std::lock_guard<std::mutex> lock(cfg_mu_);
  ServerConfig next = cfg_;
  std::string err = ApplyDirective(next, name, values, false);
  if (!err.empty()) return err;
  cfg_ = std::move(next);
  apply_limits(cfg_);
  if (internal::EqualsIgnoreCase(name, "requirepass")) acl_.set_requirepass(cfg_.requirepass);
  LogSetLevel(cfg_.loglevel);
  return "";
}

bool Server::start() {
  signal(SIGPIPE, SIG_IGN);
  // Block the stop signals in every thread (the shard threads inherit the mask); the main
  // thread collects them in wait_and_stop().
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  ServerConfig cfg = config();
  if (!cfg.dir.empty() && mkdir(cfg.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    LogWarning("Can't create the data directory '{}': {}", cfg.dir, std::strerror(errno));
    return false;
  }
  allot::Config ec;
  ec.threads = cfg.threads;
  ec.dir = cfg.dir;
  ec.durability = cfg.durability == "none"       ? allot::Durability::kNone
                  : cfg.durability == "everysec" ? allot::Durability::kEverysec
                                                 : allot::Durability::kAlways;
  ec.pg_url = cfg.pg_url;
  ec.pg_sync_interval_ms = static_cast<uint32_t>(cfg.pg_sync_interval_ms);
  ec.pg_sync_keys = cfg.pg_sync_keys;
  ec.pg_schema = cfg.pg_schema;
  ec.pg_node = cfg.pg_node;
  ec.pg_backlog_max = cfg.pg_backlog_max;
  ec.log_warning = [](std::string_view text) { LogWarning("{}", text); };
  ec.checkpoint_log_records = cfg.checkpoint_log_records;
  ec.checkpoint_interval_s = cfg.checkpoint_interval_s;
  try {
    engine_ = std::make_unique<allot::Engine>(ec);
  } catch (const std::exception& e) {
    // A damaged store: refuse to start rather than serve data with a hole in it.
    LogWarning("Can't load the data in '{}': {}", cfg.dir, e.what());
    return false;
  }
  unsigned n = engine_->shards();
  nets_ = std::make_unique<ShardNet[]>(n);
  stats_ = std::make_unique<ShardNetStats[]>(n);
  evicting_ = std::make_unique<std::atomic<bool>[]>(n);
  size_t specs = internal::CommandTable::Get().all().size();
  for (unsigned i = 0; i < n; ++i) {
    stats_[i].commands_by_spec = std::make_unique<CommandStat[]>(specs);
  }
  start_time_ms_ = internal::RealClockMs();
  g_server = this;
  internal::SetServerInfoHook(&InfoHook);
  internal::SetServerLogHook([](std::string_view line) { LogWarning("{}", line); });
  port_ = cfg.port;
  tls_port_ = cfg.tls_port;
  if (tls_port_ > 0) {
    std::string err;
    tls_ = TlsContext::Create(
        {cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_ca_cert_file, cfg.tls_auth_clients}, &err);
    if (tls_ == nullptr) {
      LogWarning("Failed to configure TLS: {}", err);
      return false;
    }
  }
  for (unsigned i = 0; i < n; ++i) {
    std::string err;
    bool ok = true;
    engine().run_on_shard(i, [&](internal::ShardState&) { ok = open_listeners(i, &err); });
    if (!ok) {
      LogWarning("{}", err);
      return false;
    }
  }
  LogNotice("Allot 0.1.0 started: {} shard threads, pid {}", n, getpid());
  LogNotice("Ready to accept connections tcp on port {}", port_);
  if (tls_port_ > 0) LogNotice("Ready to accept connections tls on port {}", tls_port_);
  return true;
}

bool Server::open_listeners(unsigned shard, std::string* err) {
  if (!open_port(shard, &port_, false, err)) return false;
  if (tls_port_ > 0 && !open_port(shard, &tls_port_, true, err)) return false;
  auto* timer = new IdleTimer(*this, shard);
  nets_[shard].timer = timer;
  timer->arm(engine().reactor(shard));
  return true;
}

bool Server::open_port(unsigned shard, int* port, bool tls, std::string* err) {
  ServerConfig cfg = config();
  size_t opened = 0;
  for (const std::string& spec : cfg.bind) {
    bool optional = !spec.empty() && spec[0] == '-';
    std::string host = optional ? spec.substr(1) : spec;
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (!MakeSockaddr(host, *port, &ss, &len)) {
      *err = "Invalid bind address '" + host + "'";
      return false;
    }
    int one = 1;
    if (shard == 0 && port_ != 0 && !PortFree(ss, len)) {
      // Another process listens there, maybe another allotd whose SO_REUSEPORT group ours
      // would silently join, splitting the clients between two servers. Refuse, as Redis.
      if (optional) {
        LogWarning("Skipping optional bind address {}: {}", host, std::strerror(EADDRINUSE));
        continue;
      }
      *err = fmt::format("Could not create server TCP listening socket {}:{}: {}", host, port_,
                         std::strerror(EADDRINUSE));
      return false;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 511) != 0) {
      if (optional) {
        if (shard == 0)
          LogWarning("Skipping optional bind address {}: {}", host, std::strerror(errno));
        ::close(fd);
        continue;
      }
      *err = fmt::format("Could not create server {} listening socket {}:{}: {}",
                         tls ? "TLS" : "TCP", host, *port, std::strerror(errno));
      ::close(fd);
      return false;
    }
    if (*port == 0) {  // --port 0: every shard then shares the port the kernel chose
      sockaddr_storage got{};
      socklen_t got_len = sizeof got;
      getsockname(fd, reinterpret_cast<sockaddr*>(&got), &got_len);
      *port = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                             : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
    }
    auto* l = new Listener(*this, shard, fd, tls);
    nets_[shard].listeners.push_back(l);
    l->arm(engine().reactor(shard));
    ++opened;
  }
  if (opened == 0) {
    *err = "Failed listening on any bind address";
    return false;
  }
  return true;
}

void Server::on_accept(unsigned shard, int fd, bool tls) {
  uint64_t n = connected_clients.fetch_add(1) + 1;
  if (n > limits_.maxclients.load(std::memory_order_relaxed) || nets_[shard].stopping) {
    connected_clients.fetch_sub(1);
    rejected_connections.fetch_add(1);
    static constexpr std::string_view kMsg = "-ERR max number of clients reached\r\n";
    ssize_t w = ::send(fd, kMsg.data(), kMsg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w;  // best effort, as Redis: the client is closed either way
    ::close(fd);
    LogVerbose("Rejected connection: max number of clients reached");
    return;
  }
  total_connections.fetch_add(1, std::memory_order_relaxed);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_storage peer{}, local{};
  socklen_t plen = sizeof peer, llen = sizeof local;
  getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
  if (ProtectedModeRefuses(limits_.protected_mode.load(std::memory_order_relaxed),
                           acl_.default_nopass(), peer)) {
    connected_clients.fetch_sub(1);
    std::string_view msg = ProtectedModeError();
    ssize_t w = ::send(fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w;  // best effort, as Redis
    ::close(fd);
    LogVerbose("Refused {} in protected mode", AddrText(peer));
    return;
  }
  auto* c = new Connection(*this, shard, fd, next_client_id(), AddrText(peer), AddrText(local),
                           tls ? tls_.get() : nullptr);
  LogVerbose("Accepted {} (id={}, shard {})", c->meta().peer, c->id(), shard);
  c->start();
}

void Server::register_client(Connection* c) {
  std::lock_guard<std::mutex> lock(registry_mu_);
  registry_[c->id()] = c;
}

void Server::unregister_client(Connection* c) {
  {
    std::lock_guard<std::mutex> lock(registry_mu_);
    registry_.erase(c->id());
  }
  connected_clients.fetch_sub(1);
  LogVerbose("Client closed connection id={} addr={}", c->id(), c->meta().peer);
}

std::string Server::client_list(std::string_view only_id) const {
  std::lock_guard<std::mutex> lock(registry_mu_);
  int64_t now = internal::RealClockMs();
  std::string out;
  for (const auto& [id, c] : registry_) {
    if (!only_id.empty() && std::to_string(id) != only_id) continue;
    const ClientMeta& m = c->meta();
    out += fmt::format(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags=N db={} sub=0 psub=0 "
        "ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 "
        "omem=0 tot-mem=0 events=r cmd={} user={} redir=-1 resp={} lib-name={} "
        "lib-ver={}\n",
        id, m.peer, m.local, m.fd, m.name, (now - m.created_ms) / 1000,
        (now - m.last_active_ms.load(std::memory_order_relaxed)) / 1000,
        m.db.load(std::memory_order_relaxed),
        internal::ToLower(m.last_cmd.load(std::memory_order_relaxed)), m.user,
        m.resp.load(std::memory_order_relaxed), m.lib_name, m.lib_ver);
  }
  return out;
}

uint64_t Server::find_client_by_addr(std::string_view addr) const {
  std::lock_guard<std::mutex> lock(registry_mu_);
  for (const auto& [id, c] : registry_) {
    if (c->meta().peer == addr) return id;
  }
  return 0;
}

bool Server::kill_client(uint64_t id) {
  unsigned shard = 0;
  {
    std::lock_guard<std::mutex> lock(registry_mu_);
    auto it = registry_.find(id);
    if (it == registry_.end()) return false;
    shard = it->second->shard();
  }
  // The connection belongs to its shard thread: close it there, found again by id in case
  // it went away meanwhile.
  engine().run_on_shard_async(shard, [this, shard, id](internal::ShardState&) {
    auto it = nets_[shard].conns.find(id);
    if (it != nets_[shard].conns.end()) it->second->close_now();
  });
  return true;
}

void Server::pause(int64_t end_ms, bool all) {
  std::lock_guard<std::mutex> lock(pause_mu_);
  int64_t now = internal::RealClockMs();
  bool active = pause_end_ms_.load() > now;
  // As Redis: an active pause is never shortened, and ALL wins over WRITE.
  pause_all_.store(all || (active && pause_all_.load()));
  if (!active || end_ms > pause_end_ms_.load()) pause_end_ms_.store(end_ms);
}

bool Server::paused_for(uint32_t flags, int64_t now_ms) const {
  if (pause_end_ms_.load(std::memory_order_relaxed) <= now_ms) return false;
  return pause_all_.load(std::memory_order_relaxed) || (flags & internal::kCmdWrite) != 0;
}

void Server::reset_stats() {
  for (unsigned i = 0; i < engine().shard_count(); ++i) {
    stats_[i].commands.store(0);
    stats_[i].error_replies.store(0);
    for (auto& e : stats_[i].errors_by_prefix) e.store(0);
    for (size_t k = 0; k < internal::CommandTable::Get().all().size(); ++k) {
      CommandStat& st = stats_[i].commands_by_spec[k];
      st.calls.store(0);
      st.usec.store(0);
      st.rejected.store(0);
      st.failed.store(0);
      for (auto& b : st.latency) b.store(0);
    }
  }
  total_connections.store(0);
  rejected_connections.store(0);
  evicted_keys.store(0);
}

void Server::stop_shard(unsigned shard) {
  ShardNet& net = nets_[shard];
  net.stopping = true;
  for (Listener* l : net.listeners) l->stop(engine().reactor(shard));
  net.listeners.clear();
  if (net.timer != nullptr) net.timer->stop(engine().reactor(shard));
  net.timer = nullptr;
  std::vector<Connection*> conns;
  for (auto& [id, c] : net.conns) conns.push_back(c);
  for (Connection* c : conns) c->close_now();
}

int Server::wait_and_stop() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  while (!shutdown_requested_.load()) {
    timespec ts{0, 100 * 1000 * 1000};
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      LogWarning("Received {} scheduling shutdown...", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
  }
  for (unsigned i = 0; i < engine().shard_count(); ++i) {
    engine().run_on_shard(i, [this, i](internal::ShardState&) { stop_shard(i); });
  }
  // Sockets finish their outstanding operations (and remote commands) on their shards.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (live_sockets.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (live_sockets.load() > 0) LogWarning("{} sockets still open at exit", live_sockets.load());
  // No client is served any more: a final checkpoint makes the next start replay nothing.
  if (engine_->impl().wal() != nullptr && save_on_shutdown_.load()) {
    LogWarning("Saving the final checkpoint before exiting.");
    std::string err = engine_->impl().checkpoint();
    if (err.empty()) {
      LogWarning("Checkpoint saved at LSN {}.", engine_->impl().wal()->stats().checkpoint_lsn);
    } else {
      // Nothing is lost: the log still holds every write; the next start replays it.
      LogWarning("Error saving the final checkpoint: {}", err);
    }
  }
  engine_->impl().shutdown();
  LogWarning("Allot is now ready to exit, bye bye...");
  return 0;
}

}  // namespace allot::server
