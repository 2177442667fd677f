#include "fuzz/resp_check.h"

#include <cstdint>
#include <string>

#include "server/resp_encoder.h"

namespace allot::fuzz {

namespace {

// Recursive descent over one reply. Depth is bounded by the Reply tree the encoder got,
// which the engine builds at most a few levels deep.
class Checker {
 public:
  Checker(std::string_view b, int resp) : b_(b), resp_(resp) {}

  std::string run() {
    if (!value(0)) return err_;
    if (pos_ != b_.size()) return "trailing bytes at offset " + std::to_string(pos_);
    return "";
  }

 private:
  bool fail(std::string why) {
    err_ = why + " at offset " + std::to_string(pos_);
    return false;
  }

  // A line up to CRLF; the line itself must hold neither CR nor LF.
  bool line(std::string_view* out) {
    size_t cr = b_.find('\r', pos_);
    if (cr == std::string_view::npos || cr + 1 >= b_.size() || b_[cr + 1] != '\n') {
      return fail("line not terminated by CRLF");
    }
    std::string_view l = b_.substr(pos_, cr - pos_);
    if (l.find('\n') != std::string_view::npos) return fail("LF inside a line");
    *out = l;
    pos_ = cr + 2;
    return true;
  }

  bool integer_line(int64_t* out) {
    std::string_view l;
    if (!line(&l)) return false;
    if (l.empty() || l.size() > 20) return fail("bad integer '" + std::string(l) + "'");
    bool negative = l[0] == '-';
    size_t i = negative ? 1 : 0;
    if (i == l.size()) return fail("bad integer '-'");
    if (l[i] == '0' && l.size() > i + 1) return fail("integer with a leading zero");
    // Magnitude in uint64: INT64_MIN's is one more than INT64_MAX.
    uint64_t limit = negative ? uint64_t{1} << 63 : uint64_t{INT64_MAX};
    uint64_t v = 0;
    for (; i < l.size(); ++i) {
      if (l[i] < '0' || l[i] > '9') return fail("bad integer '" + std::string(l) + "'");
      uint64_t d = static_cast<uint64_t>(l[i] - '0');
      if (v > (limit - d) / 10) return fail("integer overflow");
      v = v * 10 + d;
    }
    *out = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
    return true;
  }

  bool value(int depth) {
    if (depth > 64) return fail("nesting deeper than 64");
    if (pos_ >= b_.size()) return fail("truncated reply");
    char type = b_[pos_++];
    std::string_view l;
    int64_t n = 0;
    switch (type) {
      case '+':
      case '-':
        if (!line(&l)) return false;
        if (type == '-' && l.empty()) return fail("empty error text");
        return true;
      case ':':
        return integer_line(&n);
      case '$':
        if (!integer_line(&n)) return false;
        if (n == -1) return resp_ == 2 ? true : fail("RESP2 null bulk in RESP3");
        if (n < 0) return fail("negative bulk length");
        if (b_.size() - pos_ < static_cast<uint64_t>(n) + 2) return fail("truncated bulk");
        pos_ += static_cast<size_t>(n);
        if (b_[pos_] != '\r' || b_[pos_ + 1] != '\n') return fail("bulk without CRLF");
        pos_ += 2;
        return true;
      case '=':
        // A verbatim string: like a bulk, whose payload starts with a 3-letter format and
        // ':' (INFO, CLIENT LIST in RESP3).
        if (resp_ == 2) return fail("RESP3 verbatim string in RESP2");
        if (!integer_line(&n)) return false;
        if (n < 4) return fail("verbatim string shorter than its format");
        if (b_.size() - pos_ < static_cast<uint64_t>(n) + 2) return fail("truncated verbatim");
        if (b_[pos_ + 3] != ':') return fail("verbatim string without a format");
        pos_ += static_cast<size_t>(n);
        if (b_[pos_] != '\r' || b_[pos_ + 1] != '\n') return fail("verbatim without CRLF");
        pos_ += 2;
        return true;
      case '*':
      case '%':
      case '~':
        if (type != '*' && resp_ == 2) return fail("RESP3 aggregate in RESP2");
        if (!integer_line(&n)) return false;
        if (n == -1 && type == '*') return resp_ == 2 ? true : fail("RESP2 null array in RESP3");
        if (n < 0) return fail("negative aggregate length");
        if (type == '%') n *= 2;
        for (int64_t i = 0; i < n; ++i) {
          if (!value(depth + 1)) return false;
        }
        return true;
      case '_':
        if (resp_ == 2) return fail("RESP3 null in RESP2");
        if (!line(&l)) return false;
        return l.empty() ? true : fail("null with a payload");
      case '#':
        if (resp_ == 2) return fail("RESP3 boolean in RESP2");
        if (!line(&l)) return false;
        return l == "t" || l == "f" ? true : fail("bad boolean");
      case ',':
        if (resp_ == 2) return fail("RESP3 double in RESP2");
        if (!line(&l)) return false;
        return l.empty() ? fail("empty double") : true;
      default:
        --pos_;
        return fail(std::string("unknown type byte 0x") + "0123456789abcdef"[(type >> 4) & 15] +
                    "0123456789abcdef"[type & 15]);
    }
  }

  std::string_view b_;
  int resp_;
  size_t pos_ = 0;
  std::string err_;
};

}  // namespace

std::string CheckReplyBytes(std::string_view bytes, int resp) { return Checker(bytes, resp).run(); }

std::string CheckReplyTree(const Reply& r) {
  switch (r.kind()) {
    case Reply::Kind::kError:
      if (r.string().empty()) return "empty error text";
      return "";
    case Reply::Kind::kMap:
      if (r.array().size() % 2 != 0) return "map with an odd number of elements";
      [[fallthrough]];
    case Reply::Kind::kArray:
    case Reply::Kind::kSet:
      for (const Reply& e : r.array()) {
        std::string why = CheckReplyTree(e);
        if (!why.empty()) return why;
      }
      return "";
    default:
      return "";
  }
}

std::string CheckReply(const Reply& r) {
  std::string why = CheckReplyTree(r);
  if (!why.empty()) return "reply tree: " + why;
  for (int resp : {2, 3}) {
    std::string bytes;
    server::EncodeReply(r, resp, bytes);
    why = CheckReplyBytes(bytes, resp);
    if (!why.empty()) return "RESP" + std::to_string(resp) + " encoding: " + why;
  }
  return "";
}

}  // namespace allot::fuzz
