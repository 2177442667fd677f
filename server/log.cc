#include "server/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace allot::server {

namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kNotice)};
std::mutex g_mu;
FILE* g_file = stdout;

LogLevel ParseLevel(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "verbose") return LogLevel::kVerbose;
  if (s == "warning") return LogLevel::kWarning;
  return LogLevel::kNotice;
}

}  // namespace

bool LogInit(std::string_view level, const std::string& path) {
  LogSetLevel(level);
  if (path.empty()) return true;
  FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) return false;
  std::lock_guard<std::mutex> lock(g_mu);
  g_file = f;
  return true;
}

void LogSetLevel(std::string_view level) {
  g_level.store(static_cast<int>(ParseLevel(level)), std::memory_order_relaxed);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void LogWrite(LogLevel level, std::string_view message) {
  static constexpr char kMarks[] = {'.', '-', '*', '#'};
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm local{};
  localtime_r(&tv.tv_sec, &local);
  char when[64];
  size_t n = std::strftime(when, sizeof when, "%d %b %Y %H:%M:%S", &local);
  std::string line =
      fmt::format("{}:M {}.{:03d} {} {}\n", getpid(), std::string_view(when, n),
                  static_cast<int>(tv.tv_usec / 1000), kMarks[static_cast<int>(level)], message);
  std::lock_guard<std::mutex> lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), g_file);
  std::fflush(g_file);
}

}  // namespace allot::server
