#include "server/resp_parser.h"

#include <cctype>
#include <cstring>
#include <utility>

#include "engine/commands/args.h"
#include "engine/util/assert.h"

namespace allot::server {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Reads one "..." token starting after the opening quote; *i ends after the closing one.
bool ReadDoubleQuoted(std::string_view s, size_t* i, std::string* cur) {
  size_t p = *i;
  for (;;) {
    if (p >= s.size()) return false;  // unterminated quotes
    char c = s[p];
    if (c == '\\' && p + 3 < s.size() && s[p + 1] == 'x' && HexDigit(s[p + 2]) >= 0 &&
        HexDigit(s[p + 3]) >= 0) {
      cur->push_back(static_cast<char>(HexDigit(s[p + 2]) * 16 + HexDigit(s[p + 3])));
      p += 4;
    } else if (c == '\\' && p + 1 < s.size()) {
      char e = s[p + 1];
      switch (e) {
        case 'n':
          cur->push_back('\n');
          break;
        case 'r':
          cur->push_back('\r');
          break;
        case 't':
          cur->push_back('\t');
          break;
        case 'b':
          cur->push_back('\b');
          break;
        case 'a':
          cur->push_back('\a');
          break;
        default:
          cur->push_back(e);
          break;
      }
      p += 2;
    } else if (c == '"') {
      // The closing quote must be followed by a space or nothing.
      if (p + 1 < s.size() && !IsSpace(s[p + 1])) return false;
      *i = p + 1;
      return true;
    } else {
      cur->push_back(c);
      ++p;
    }
  }
}

bool ReadSingleQuoted(std::string_view s, size_t* i, std::string* cur) {
  size_t p = *i;
  for (;;) {
    if (p >= s.size()) return false;
    char c = s[p];
    if (c == '\\' && p + 1 < s.size() && s[p + 1] == '\'') {
      cur->push_back('\'');
      p += 2;
    } else if (c == '\'') {
      if (p + 1 < s.size() && !IsSpace(s[p + 1])) return false;
      *i = p + 1;
      return true;
    } else {
      cur->push_back(c);
      ++p;
    }
  }
}

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return text;
}

}  // namespace

bool SplitInlineArgs(std::string_view s, std::vector<std::string>* out) {
  out->clear();
  // Redis's sdssplitargs reads a C string: the line ends at its first NUL byte. Without
  // this cut an unquoted NUL would end a token without being consumed and the loop
  // would push empty arguments forever (found by fuzz/resp_parser_fuzz).
  s = s.substr(0, s.find('\0'));
  size_t i = 0;
  for (;;) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i >= s.size()) return true;
    std::string cur;
    bool done = false;
    while (!done) {
      if (i >= s.size()) break;
      char c = s[i];
      if (c == '"') {
        ++i;
        if (!ReadDoubleQuoted(s, &i, &cur)) return false;
        done = true;
      } else if (c == '\'') {
        ++i;
        if (!ReadSingleQuoted(s, &i, &cur)) return false;
        done = true;
      } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0') {
        done = true;
      } else {
        cur.push_back(c);
        ++i;
      }
    }
    out->push_back(std::move(cur));
  }
}

RespParser::Status RespParser::fail(std::string text) {
  error_ = OneLine(std::move(text));
  return Status::kError;
}

Command RespParser::take_command() {
  ALLOT_CHECK(have_command_);
  have_command_ = false;
  Command c = std::move(cmd_);
  cmd_.clear();
  return c;
}

void RespParser::take_command(Command* into) {
  ALLOT_CHECK(have_command_);
  have_command_ = false;
  std::swap(cmd_, *into);
  cmd_.clear();
}

bool RespParser::take_line(std::string_view data, size_t* pos, char terminator) {
  const char* begin = data.data() + *pos;
  size_t avail = data.size() - *pos;
  const void* hit = std::memchr(begin, terminator, avail);
  if (hit == nullptr) {
    line_.append(begin, avail);
    *pos = data.size();
    return false;
  }
  size_t n = static_cast<const char*>(hit) - begin;
  line_.append(begin, n);
  *pos += n + 1;
  return true;
}

RespParser::Status RespParser::parse(std::string_view data, size_t* consumed) {
  ALLOT_CHECK(!have_command_ && error_.empty());
  size_t pos = 0;
  Status st = Status::kNeedMore;
  while (st == Status::kNeedMore && pos < data.size()) {
    switch (state_) {
      case State::kStart:
        if (data[pos] == '*') {
          ++pos;
          state_ = State::kMultibulkLen;
        } else {
          state_ = State::kInline;
        }
        break;
      case State::kInline:
        st = parse_inline(data, &pos);
        break;
      case State::kMultibulkLen:
        st = parse_count_line(data, &pos, true);
        break;
      case State::kBulkLen:
        st = parse_count_line(data, &pos, false);
        break;
      case State::kBulkData:
        st = parse_bulk_data(data, &pos);
        break;
    }
  }
  *consumed = pos;
  return st;
}

// Both line kinds check their limit whether or not the terminator has arrived, so that
// the outcome does not depend on how TCP cut the bytes (Redis checks only while the line
// is incomplete, which accepts a slightly longer line when it arrives in one read).
RespParser::Status RespParser::parse_inline(std::string_view data, size_t* pos) {
  bool complete = take_line(data, pos, '\n');
  if (line_.size() > limits_.inline_bytes_max) {
    return fail("ERR Protocol error: too big inline request");
  }
  if (!complete) return Status::kNeedMore;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  std::vector<std::string> args;
  bool ok = SplitInlineArgs(line_, &args);
  line_.clear();
  state_ = State::kStart;
  if (!ok) return fail("ERR Protocol error: unbalanced quotes in request");
  if (args.empty()) return Status::kNeedMore;  // an empty line is ignored, as in Redis
  for (const std::string& a : args) {
    cmd_.bytes_.append(a);
    cmd_.ends_.push_back(cmd_.bytes_.size());
  }
  have_command_ = true;
  return Status::kCommand;
}

// The "*<n>\r" or "$<n>\r" header; Redis looks for '\r' and skips the byte after it.
RespParser::Status RespParser::parse_count_line(std::string_view data, size_t* pos,
                                                bool multibulk) {
  if (!line_done_) {
    bool complete = take_line(data, pos, '\r');
    if (line_.size() > limits_.inline_bytes_max) {
      return fail(multibulk ? "ERR Protocol error: too big mbulk count string"
                            : "ERR Protocol error: too big bulk count string");
    }
    if (!complete) return Status::kNeedMore;
    line_done_ = true;
  }
  if (*pos >= data.size()) return Status::kNeedMore;  // the '\n' has not arrived yet
  ++*pos;
  line_done_ = false;
  std::string line = std::move(line_);
  line_.clear();
  if (multibulk) {
    int64_t n = 0;
    bool ok = internal::ParseInt64(line, &n);
    return ok ? on_multibulk_len(n) : fail("ERR Protocol error: invalid multibulk length");
  }
  return on_bulk_len(line);
}

RespParser::Status RespParser::on_multibulk_len(int64_t n) {
  if (n > static_cast<int64_t>(limits_.multibulk_args_max)) {
    return fail("ERR Protocol error: invalid multibulk length");
  }
  if (unauthenticated_ && n > static_cast<int64_t>(limits_.unauth_multibulk_args_max)) {
    return fail("ERR Protocol error: unauthenticated multibulk length");
  }
  if (n <= 0) {  // "*0" and "*-1" are empty requests: ignored, as in Redis.
    state_ = State::kStart;
    return Status::kNeedMore;
  }
  args_left_ = static_cast<uint64_t>(n);
  cmd_.ends_.reserve(static_cast<size_t>(n < 1024 ? n : 1024));
  state_ = State::kBulkLen;
  return Status::kNeedMore;
}

RespParser::Status RespParser::on_bulk_len(std::string_view line) {
  if (line.empty() || line[0] != '$') {
    char got = line.empty() ? '\r' : line[0];
    return fail(std::string("ERR Protocol error: expected '$', got '") + got + "'");
  }
  int64_t n = 0;
  bool ok = internal::ParseInt64(line.substr(1), &n);
  if (!ok || n < 0 || static_cast<uint64_t>(n) > limits_.bulk_bytes_max) {
    return fail("ERR Protocol error: invalid bulk length");
  }
  if (unauthenticated_ && static_cast<uint64_t>(n) > limits_.unauth_bulk_bytes_max) {
    return fail("ERR Protocol error: unauthenticated bulk length");
  }
  // Reserve what the sender has actually promised, capped, so a large declared length
  // does not allocate before its bytes arrive.
  constexpr uint64_t kReserveBytesMax = 64 * 1024;
  cmd_.bytes_.reserve(
      cmd_.bytes_.size() +
      static_cast<size_t>(n < static_cast<int64_t>(kReserveBytesMax) ? n : kReserveBytesMax));
  bulk_left_ = static_cast<uint64_t>(n) + 2;
  state_ = State::kBulkData;
  return Status::kNeedMore;
}

RespParser::Status RespParser::parse_bulk_data(std::string_view data, size_t* pos) {
  size_t avail = data.size() - *pos;
  size_t take = avail < bulk_left_ ? avail : static_cast<size_t>(bulk_left_);
  // The last two bytes are the CRLF, which Redis skips without looking at them.
  size_t payload = 0;
  if (bulk_left_ > 2) {
    uint64_t payload_left = bulk_left_ - 2;
    payload = take < payload_left ? take : static_cast<size_t>(payload_left);
    cmd_.bytes_.append(data.data() + *pos, payload);
  }
  *pos += take;
  bulk_left_ -= take;
  (void)payload;
  if (bulk_left_ > 0) return Status::kNeedMore;
  cmd_.ends_.push_back(cmd_.bytes_.size());
  if (--args_left_ > 0) {
    state_ = State::kBulkLen;
    return Status::kNeedMore;
  }
  state_ = State::kStart;
  have_command_ = true;
  return Status::kCommand;
}

}  // namespace allot::server
