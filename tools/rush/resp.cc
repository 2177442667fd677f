#include "tools/rush/resp.h"

#include <charconv>

namespace allot::rush {

namespace {

void AppendArg(std::string& out, std::string_view a) {
  char num[24];
  auto r = std::to_chars(num, num + sizeof num, a.size());
  out += '$';
  out.append(num, r.ptr);
  out += "\r\n";
  out.append(a);
  out += "\r\n";
}

void AppendHeader(std::string& out, size_t n) {
  char num[24];
  auto r = std::to_chars(num, num + sizeof num, n);
  out += '*';
  out.append(num, r.ptr);
  out += "\r\n";
}

bool ParseI64(std::string_view s, int64_t& v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

}  // namespace

void AppendCommand(std::string& out, std::initializer_list<std::string_view> args) {
  AppendHeader(out, args.size());
  for (auto a : args) AppendArg(out, a);
}

void AppendCommand(std::string& out, const std::vector<std::string>& args) {
  AppendHeader(out, args.size());
  for (const auto& a : args) AppendArg(out, a);
}

std::string RespValue::describe() const {
  switch (type) {
    case Type::kStatus:
      return str;
    case Type::kError:
      return "(error) " + str;
    case Type::kInt:
      return "(integer) " + std::to_string(integer);
    case Type::kBulk:
      return "\"" + str + "\"";
    case Type::kNil:
      return "(nil)";
    case Type::kArray: {
      std::string s = "[";
      for (size_t i = 0; i < elements.size(); ++i) {
        if (i) s += ", ";
        s += elements[i].describe();
      }
      return s + "]";
    }
  }
  return "?";
}

RespReader::Parse RespReader::line(size_t& pos, std::string_view& out) {
  size_t end = buf_.find("\r\n", pos);
  if (end == std::string::npos) {
    // A header line is short; a long one without CRLF is garbage, not a slow peer.
    return buf_.size() - pos > 64 ? Parse::kError : Parse::kIncomplete;
  }
  out = std::string_view(buf_).substr(pos, end - pos);
  pos = end + 2;
  return Parse::kOk;
}

RespReader::Parse RespReader::parse(size_t& pos, RespValue& out, int depth) {
  if (pos >= buf_.size()) return Parse::kIncomplete;
  if (depth > kDepthMax) return Parse::kError;
  char kind = buf_[pos];
  size_t p = pos + 1;
  std::string_view text;
  if (kind == '+' || kind == '-') {
    // Status and error lines may be long (error texts); search without the 64-byte cap.
    size_t end = buf_.find("\r\n", p);
    if (end == std::string::npos) return Parse::kIncomplete;
    out.type = kind == '+' ? RespValue::Type::kStatus : RespValue::Type::kError;
    out.str.assign(buf_, p, end - p);
    pos = end + 2;
    return Parse::kOk;
  }
  if (Parse r = line(p, text); r != Parse::kOk) return r;
  int64_t n = 0;
  if (!ParseI64(text, n)) return Parse::kError;
  if (kind == ':') {
    out.type = RespValue::Type::kInt;
    out.integer = n;
  } else if (kind == '$') {
    if (n < 0) {
      out.type = RespValue::Type::kNil;
    } else {
      if (n > kBulkBytesMax) return Parse::kError;
      if (buf_.size() - p < static_cast<size_t>(n) + 2) return Parse::kIncomplete;
      out.type = RespValue::Type::kBulk;
      out.str.assign(buf_, p, static_cast<size_t>(n));
      p += static_cast<size_t>(n) + 2;
    }
  } else if (kind == '*') {
    if (n < 0) {
      out.type = RespValue::Type::kNil;
    } else {
      if (n > kArrayLenMax) return Parse::kError;
      out.type = RespValue::Type::kArray;
      out.elements.resize(static_cast<size_t>(n));
      for (auto& e : out.elements) {
        if (Parse r = parse(p, e, depth + 1); r != Parse::kOk) return r;
      }
    }
  } else {
    return Parse::kError;
  }
  pos = p;
  return Parse::kOk;
}

std::optional<RespValue> RespReader::next() {
  if (failed_) return std::nullopt;
  RespValue v;
  size_t p = pos_;
  Parse r = parse(p, v, 0);
  if (r == Parse::kError) failed_ = true;
  if (r != Parse::kOk) return std::nullopt;
  pos_ = p;
  // Compact once the consumed prefix dominates, so the buffer does not grow forever.
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return v;
}

}  // namespace allot::rush
