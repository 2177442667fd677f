// allot/reply.h: the value every command returns.
//
// A Reply is a tree of RESP3-shaped values, independent of any wire format: the engine
// produces Replies, the server encodes them as RESP2 or RESP3 bytes, and an embedded
// application reads them directly. Maps are stored as their keys and values alternately
// (the RESP2 flattening), so array() works on a map too.
//
// Threading: a Reply is a plain value; it may be moved between threads freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace allot {

class Reply {
 public:
  enum class Kind : uint8_t {
    kStatus,   // +OK
    kError,    // -ERR ...; string() holds the text without the leading '-'
    kInteger,  // :1
    kBulk,     // $3 foo
    kNull,     // RESP2 $-1 / *-1, RESP3 _
    kArray,    // *N
    kMap,      // RESP3 %N; RESP2 flat array of 2N
    kSet,      // RESP3 ~N; RESP2 array
    kDouble,   // RESP3 ,1.5; RESP2 bulk string
    kBoolean,  // RESP3 #t; RESP2 integer 1/0
  };

  Reply() : kind_(Kind::kNull) {}

  static Reply Status(std::string_view s) { return Reply(Kind::kStatus, std::string(s)); }
  static Reply Ok() { return Status("OK"); }
  static Reply Error(std::string_view s) { return Reply(Kind::kError, std::string(s)); }
  static Reply Int(int64_t v) {
    Reply r(Kind::kInteger);
    r.int_ = v;
    return r;
  }
  static Reply Bulk(std::string_view s) { return Reply(Kind::kBulk, std::string(s)); }
  static Reply Bulk(std::string&& s) { return Reply(Kind::kBulk, std::move(s)); }
  // A bulk string that RESP3 sends as a verbatim string (=N\r\ntxt:...), as Redis does for
  // INFO and CLIENT LIST; RESP2 and every accessor see a plain bulk string.
  static Reply Verbatim(std::string_view s) {
    Reply r(Kind::kBulk, std::string(s));
    r.int_ = 1;
    return r;
  }
  static Reply Null() { return Reply(Kind::kNull); }
  // A RESP2 null array (*-1). Redis uses it for a few replies (e.g. a failed EXEC, BLPOP
  // timeout); in RESP3 it is the same null as null().
  static Reply NullArray() {
    Reply r(Kind::kNull);
    r.int_ = 1;
    return r;
  }
  static Reply Array(std::vector<Reply> elems = {}) {
    Reply r(Kind::kArray);
    r.elems_ = std::move(elems);
    return r;
  }
  // keys_and_values holds key0, value0, key1, value1, ...
  static Reply Map(std::vector<Reply> keys_and_values = {}) {
    Reply r(Kind::kMap);
    r.elems_ = std::move(keys_and_values);
    return r;
  }
  static Reply Set(std::vector<Reply> elems = {}) {
    Reply r(Kind::kSet);
    r.elems_ = std::move(elems);
    return r;
  }
  static Reply Double(double v) {
    Reply r(Kind::kDouble);
    r.dbl_ = v;
    return r;
  }
  static Reply Bool(bool v) {
    Reply r(Kind::kBoolean);
    r.int_ = v ? 1 : 0;
    return r;
  }

  Kind kind() const { return kind_; }
  bool is_status() const { return kind_ == Kind::kStatus; }
  bool is_error() const { return kind_ == Kind::kError; }
  bool is_integer() const { return kind_ == Kind::kInteger; }
  bool is_bulk() const { return kind_ == Kind::kBulk; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_verbatim() const { return kind_ == Kind::kBulk && int_ == 1; }
  bool is_null_array() const { return kind_ == Kind::kNull && int_ == 1; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_map() const { return kind_ == Kind::kMap; }
  bool is_set() const { return kind_ == Kind::kSet; }
  bool is_double() const { return kind_ == Kind::kDouble; }
  bool is_boolean() const { return kind_ == Kind::kBoolean; }

  // Integer value; for a boolean, 1 or 0.
  int64_t integer() const { return int_; }
  double dbl() const { return dbl_; }
  bool boolean() const { return int_ != 0; }
  // Text of a status, error or bulk string.
  const std::string& string() const { return str_; }
  std::string& mutable_string() { return str_; }
  // Elements of an array or set; for a map, keys and values alternately.
  const std::vector<Reply>& array() const { return elems_; }
  std::vector<Reply>& mutable_array() { return elems_; }
  // Number of entries of a map (pairs), or elements of an array or set.
  size_t size() const { return kind_ == Kind::kMap ? elems_.size() / 2 : elems_.size(); }

  // The value of `key` in a map reply, or nullptr.
  const Reply* find(std::string_view key) const {
    if (kind_ != Kind::kMap) return nullptr;
    for (size_t i = 0; i + 1 < elems_.size(); i += 2) {
      if (elems_[i].str_ == key) return &elems_[i + 1];
    }
    return nullptr;
  }

  // A readable rendering for tests and logs (redis-cli style, one line).
  std::string debug_string() const;

  friend bool operator==(const Reply& a, const Reply& b);

 private:
  explicit Reply(Kind k) : kind_(k) {}
  Reply(Kind k, std::string&& s) : kind_(k), str_(std::move(s)) {}

  Kind kind_;
  int64_t int_ = 0;
  double dbl_ = 0;
  std::string str_;
  std::vector<Reply> elems_;
};

}  // namespace allot
