// pg_server.h: a throwaway PostgreSQL for integration tests: Debian's postgresql 15
// binaries, initdb into a temporary directory and pg_ctl start on a free loopback port,
// as the `postgres` user (PostgreSQL refuses to run as root; runuser when we are root).
// Stopped and removed by the destructor. Header-only; tests that use it link libpq.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace allot::testing {

class PgServer {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

  PgServer() {
    char tmpl[] = "/tmp/allot_pg_XXXXXX";
    dir_ = mkdtemp(tmpl);
    port_ = FreePort();
    Run("chown postgres " + dir_ + " && chmod 700 " + dir_);
    ok_ = Run(AsPostgres(std::string(kBin) + "/initdb -D " + dir_ +
                         "/data -A trust -U postgres -E UTF8 --locale=C.UTF-8") +
              " > " + dir_ + "/initdb.log 2>&1") &&
          Start();
  }
  ~PgServer() {
    Stop();
    Run("rm -rf " + dir_);
  }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  bool ok() const { return ok_; }
  int port() const { return port_; }
  // A libpq URI for the postgres database.
  std::string url() const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
  }
  // Starts (again); waits until it accepts connections.
  bool Start() {
    return Run(AsPostgres(std::string(kBin) + "/pg_ctl -D " + dir_ + "/data -l " + dir_ +
                          "/server.log -w -t 60 -o \"-p " + std::to_string(port_) + " -k " + dir_ +
                          " -c listen_addresses=127.0.0.1 -c fsync=off\" start") +
               " > /dev/null 2>&1");
  }
  // Fast shutdown: open transactions are rolled back, clients are disconnected.
  bool Stop() {
    return Run(AsPostgres(std::string(kBin) + "/pg_ctl -D " + dir_ + "/data -m fast -w stop") +
               " > /dev/null 2>&1");
  }

 private:
  static bool Run(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }
  static std::string AsPostgres(const std::string& cmd) {
    if (geteuid() != 0) return cmd;  // already an unprivileged user
    return "runuser -u postgres -- " + cmd;
  }
  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
  }

  std::string dir_;
  int port_ = 0;
  bool ok_ = false;
};

}  // namespace allot::testing
