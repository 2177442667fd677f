// resp_parser.h: the incremental, bounded RESP request parser (multibulk and inline).
//
// The parser is fed whatever bytes arrived and consumes a prefix of them; it never needs
// the caller to keep earlier bytes, because it copies every argument into the Command it
// is building. It follows Redis's processMultibulkBuffer / processInlineBuffer: the same
// limits, the same order of checks and the same error texts, so a client sees exactly
// what Redis would send. Every length is checked against its limit before any byte is
// reserved for it, so a hostile header cannot make us allocate.
//
// Threading: one parser per connection, used only by the connection's shard thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace allot::server {

// One parsed request: its arguments stored back to back in one buffer, so a command costs
// one allocation however many arguments it has. args[0] is the command name.
class Command {
 public:
  size_t argc() const { return ends_.size(); }
  std::string_view arg(size_t i) const {
    size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(bytes_).substr(begin, ends_[i] - begin);
  }
  // Views of every argument; valid while this Command is alive and unmodified.
  void views(std::vector<std::string_view>& out) const {
    out.clear();
    for (size_t i = 0; i < argc(); ++i) out.push_back(arg(i));
  }
  size_t bytes() const { return bytes_.size(); }
  void clear() {
    bytes_.clear();
    ends_.clear();
  }

 private:
  friend class RespParser;
  std::string bytes_;
  std::vector<size_t> ends_;
};

struct ParserLimits {
  uint64_t bulk_bytes_max = 512ull * 1024 * 1024;  // proto-max-bulk-len
  uint64_t multibulk_args_max = 1024 * 1024;       // Redis's fixed limit
  uint64_t inline_bytes_max = 64 * 1024;           // PROTO_INLINE_MAX_SIZE
  // Redis's tighter limits while a requirepass client has not authenticated.
  uint64_t unauth_multibulk_args_max = 10;
  uint64_t unauth_bulk_bytes_max = 16384;
};

class RespParser {
 public:
  enum class Status { kNeedMore, kCommand, kError };

  explicit RespParser(ParserLimits limits = ParserLimits()) : limits_(limits) {}

  // Consumes a prefix of data (*consumed bytes). kCommand: a request is complete, take it
  // with take_command(). kError: error() holds the reply text (without '-'); the
  // connection must send it and close; the parser must not be fed again.
  // kNeedMore: every byte was consumed and the request is not complete yet.
  Status parse(std::string_view data, size_t* consumed);
  Command take_command();
  // The same into *into, whose buffers (a spent command's) the parser keeps for the next
  // request: no allocation per request once a connection is warm.
  void take_command(Command* into);
  const std::string& error() const { return error_; }

  // While true, the unauthenticated limits apply (Redis's authRequired()).
  void set_unauthenticated(bool on) { unauthenticated_ = on; }
  void set_bulk_bytes_max(uint64_t n) { limits_.bulk_bytes_max = n; }
  // Bytes buffered for the request being parsed (for the query buffer limit).
  size_t pending_bytes() const { return line_.size() + cmd_.bytes(); }

 private:
  enum class State { kStart, kInline, kMultibulkLen, kBulkLen, kBulkData };

  Status fail(std::string text);
  Status parse_inline(std::string_view data, size_t* pos);
  Status parse_count_line(std::string_view data, size_t* pos, bool multibulk);
  Status on_multibulk_len(int64_t n);
  Status on_bulk_len(std::string_view line);
  Status parse_bulk_data(std::string_view data, size_t* pos);
  // Appends the bytes of data up to '\r' (multibulk) or '\n' (inline) to line_; true when
  // the terminator was found (and consumed).
  bool take_line(std::string_view data, size_t* pos, char terminator);

  ParserLimits limits_;
  bool unauthenticated_ = false;
  State state_ = State::kStart;
  std::string line_;        // a header or inline line being collected
  bool line_done_ = false;  // the header line's '\r' was seen; one more byte to skip
  uint64_t args_left_ = 0;  // bulk strings still expected in this multibulk
  uint64_t bulk_left_ = 0;  // bytes of the current bulk still expected (+2 for CRLF)
  Command cmd_;
  bool have_command_ = false;
  std::string error_;
};

// Redis's sdssplitargs: splits an inline request with its quoting rules ("..." with
// \n \r \t \b \a \xHH escapes, '...' with \' only). False on unbalanced quotes.
bool SplitInlineArgs(std::string_view line, std::vector<std::string>* out);

}  // namespace allot::server
