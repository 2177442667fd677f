// allot-rush against a server that stops answering: requests time out, are retried on
// new connections with the same id, are given up after the last retry, and the run ends
// on time with failed checks instead of hanging. The "server" is a thread here that
// answers +OK to every command of the first connection (setup) and nothing to the rest.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/rush_support.h"
#include "tools/rush/driver.h"
#include "tools/rush/resp.h"

namespace allot::rush {
namespace {

class StallingServer {
 public:
  StallingServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listen_fd_, 128);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~StallingServer() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) close(fd);
    close(listen_fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void loop() {
    RespReader admin;
    while (!stop_) {
      std::vector<pollfd> p = {{listen_fd_, POLLIN, 0}};
      for (int fd : fds_) p.push_back({fd, POLLIN, 0});
      if (poll(p.data(), p.size(), 20) <= 0) continue;
      if (p[0].revents & POLLIN) {
        fds_.push_back(accept(listen_fd_, nullptr, nullptr));
        ++accepted_;
      }
      for (size_t i = 1; i < p.size(); ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
        char buf[65536];
        ssize_t n = recv(p[i].fd, buf, sizeof buf, 0);
        if (n <= 0 || i != 1) continue;  // only the first connection gets answers
        admin.feed(std::string_view(buf, static_cast<size_t>(n)));
        while (admin.next()) send(p[i].fd, "+OK\r\n", 5, MSG_NOSIGNAL);
      }
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<int> fds_;
  std::thread thread_;
};

TEST(RushTimeout, RetriesThenGivesUpAndFails) {
  StallingServer server;
  Options o;
  ApplyPreset("seed-200", o);
  o.port = server.port();
  o.users = 10;
  o.duplicate_rate = 0;
  o.window_s = 0;
  o.connections = 4;
  o.timeout_ms = 50;
  o.retries = 2;
  o.quiet = true;
  Report r;
  std::string err;
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(RunRush(o, &r, &err, nullptr)) << err;
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(took, 10.0);
  const Tally& t = r.tally;
  EXPECT_EQ(t.replies, 0u);
  EXPECT_EQ(t.requests_sent, 30u);  // 10 users x (1 + 2 retries)
  EXPECT_EQ(t.timeouts, 30u);
  EXPECT_EQ(t.retries, 20u);
  EXPECT_EQ(t.unanswered, 10u);
  EXPECT_EQ(t.units_unknown, 10);
  EXPECT_EQ(t.users_failed, 10u);
  EXPECT_GT(server.accepted(), 1 + 4);  // timed-out connections were replaced
  // INV.GET answered +OK: the counters cannot be read, so the run fails.
  EXPECT_FALSE(r.server.read);
  EXPECT_FALSE(r.passed());
}

}  // namespace
}  // namespace allot::rush
