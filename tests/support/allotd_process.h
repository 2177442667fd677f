// allotd_process.h: starts a real allotd for integration tests (a copy of the helper in
// server_integration_test.cc, shared by the durability tests), with hiredis helpers.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace allot::testing {

inline int FreePort() {
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

inline bool CanConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

using ReplyPtr = std::unique_ptr<redisReply, void (*)(void*)>;
struct CtxDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Ctx = std::unique_ptr<redisContext, CtxDeleter>;

inline ReplyPtr Cmd(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  void* r = redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
  return ReplyPtr(static_cast<redisReply*>(r), freeReplyObject);
}

inline std::string Str(const ReplyPtr& r) {
  return r && r->str != nullptr ? std::string(r->str, r->len) : std::string("<none>");
}

class AllotdProcess {
 public:
  // Starts allotd on dir (kept) with extra flags; started() tells whether it listens.
  AllotdProcess(std::string dir, std::vector<std::string> extra = {}) : dir_(std::move(dir)) {
    port_ = FreePort();
    std::vector<std::string> args = {ALLOTD_PATH, "--port",    std::to_string(port_),
                                     "--dir",     dir_,        "--threads",
                                     "2",         "--logfile", dir_ + "/allotd.log"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 1500; ++i) {
      if (CanConnect(port_)) {
        started_ = true;
        return;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: refused to start
        pid_ = -1;
        exit_status_ = status;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~AllotdProcess() {
    if (pid_ > 0) Kill();
  }
  bool started() const { return started_; }
  int exit_status() const { return exit_status_; }
  void Kill() {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int Stop() {
    kill(pid_, SIGTERM);
    return Wait();
  }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  int port() const { return port_; }
  std::string log() const {
    std::ifstream in(dir_ + "/allotd.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  Ctx Client() const {
    redisContext* c = redisConnect("127.0.0.1", port_);
    EXPECT_TRUE(c != nullptr && c->err == 0);
    timeval tv{30, 0};
    redisSetTimeout(c, tv);
    return Ctx(c);
  }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool started_ = false;
  int exit_status_ = -1;
};

}  // namespace allot::testing
