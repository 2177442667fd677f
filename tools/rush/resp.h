// The client side of RESP2, small and standalone (allot-rush must not link the engine):
// an encoder for commands and an incremental reader for replies.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace allot::rush {

// Appends `*N\r\n$len\r\narg\r\n...` for one command.
void AppendCommand(std::string& out, std::initializer_list<std::string_view> args);
void AppendCommand(std::string& out, const std::vector<std::string>& args);

struct RespValue {
  enum class Type : uint8_t { kStatus, kError, kInt, kBulk, kNil, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // status, error or bulk text
  std::vector<RespValue> elements;

  bool is_error() const { return type == Type::kError; }
  bool is_int() const { return type == Type::kInt; }
  bool is_bulk() const { return type == Type::kBulk; }
  bool is_array() const { return type == Type::kArray; }
  // For logs and test messages: a redis-cli-like one-line rendering.
  std::string describe() const;
};

// Reads replies from a byte stream that arrives in pieces. Bounded: a bulk longer than
// kBulkBytesMax, an array longer than kArrayLenMax or nesting deeper than kDepthMax is a
// protocol error (a load generator talks to servers it does not fully trust).
class RespReader {
 public:
  static constexpr int64_t kBulkBytesMax = 64 << 20;
  static constexpr int64_t kArrayLenMax = 1 << 24;
  static constexpr int kDepthMax = 8;

  void feed(std::string_view data) { buf_.append(data); }
  // The next complete reply, or nullopt if more bytes are needed (or on a protocol error:
  // check failed()).
  std::optional<RespValue> next();
  bool failed() const { return failed_; }
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  enum class Parse { kOk, kIncomplete, kError };
  Parse parse(size_t& pos, RespValue& out, int depth);
  Parse line(size_t& pos, std::string_view& out);

  std::string buf_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace allot::rush
