// log.h: allotd's log, one line per event with time and level, through fmt.
//
//   LogNotice("Ready to accept connections on port {}", port);
//
// Line format as Redis's: "<pid>:M 23 Nov 2026 11:30:53.123 <mark> <message>", where the
// mark is '.' debug, '-' verbose, '*' notice, '#' warning. Thread-safe: a line is written
// with one call under a mutex.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace allot::server {

enum class LogLevel { kDebug = 0, kVerbose = 1, kNotice = 2, kWarning = 3 };

// Sets the minimum level and the file (empty = standard output). False if the file
// cannot be opened.
bool LogInit(std::string_view level, const std::string& path);
void LogSetLevel(std::string_view level);
bool LogEnabled(LogLevel level);
void LogWrite(LogLevel level, std::string_view message);

template <class... A>
void Log(LogLevel level, fmt::format_string<A...> f, A&&... args) {
  if (LogEnabled(level)) LogWrite(level, fmt::format(f, std::forward<A>(args)...));
}
template <class... A>
void LogWarning(fmt::format_string<A...> f, A&&... args) {
  Log(LogLevel::kWarning, f, std::forward<A>(args)...);
}
template <class... A>
void LogNotice(fmt::format_string<A...> f, A&&... args) {
  Log(LogLevel::kNotice, f, std::forward<A>(args)...);
}
template <class... A>
void LogVerbose(fmt::format_string<A...> f, A&&... args) {
  Log(LogLevel::kVerbose, f, std::forward<A>(args)...);
}

}  // namespace allot::server
