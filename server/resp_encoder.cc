#include "server/resp_encoder.h"

#include <charconv>
#include <cmath>

#include "engine/commands/args.h"

namespace allot::server {

namespace {

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void AppendHeader(std::string& out, char type, int64_t n) {
  out.push_back(type);
  AppendInt(out, n);
  out.append("\r\n");
}

void AppendBulk(std::string& out, std::string_view s) {
  AppendHeader(out, '$', static_cast<int64_t>(s.size()));
  out.append(s);
  out.append("\r\n");
}

// Status and error lines must stay one line: Redis replaces CR and LF with spaces.
void AppendLine(std::string& out, char type, std::string_view s) {
  out.push_back(type);
  size_t start = out.size();
  out.append(s);
  for (size_t i = start; i < out.size(); ++i) {
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  }
  out.append("\r\n");
}

std::string DoubleText(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  return internal::FormatDouble(v);
}

}  // namespace

void EncodeReply(const Reply& r, int resp, std::string& out) {
  switch (r.kind()) {
    case Reply::Kind::kStatus:
      AppendLine(out, '+', r.string());
      return;
    case Reply::Kind::kError:
      AppendLine(out, '-', r.string());
      return;
    case Reply::Kind::kInteger:
      out.push_back(':');
      AppendInt(out, r.integer());
      out.append("\r\n");
      return;
    case Reply::Kind::kBulk:
      if (resp >= 3 && r.is_verbatim()) {
        AppendHeader(out, '=', static_cast<int64_t>(r.string().size() + 4));
        out.append("txt:");
        out.append(r.string());
        out.append("\r\n");
        return;
      }
      AppendBulk(out, r.string());
      return;
    case Reply::Kind::kNull:
      if (resp >= 3) {
        out.append("_\r\n");
      } else {
        out.append(r.is_null_array() ? "*-1\r\n" : "$-1\r\n");
      }
      return;
    case Reply::Kind::kArray:
    case Reply::Kind::kMap:
    case Reply::Kind::kSet: {
      char type = '*';
      int64_t n = static_cast<int64_t>(r.array().size());
      if (resp >= 3 && r.is_map()) {
        type = '%';
        n /= 2;
      } else if (resp >= 3 && r.is_set()) {
        type = '~';
      }
      AppendHeader(out, type, n);
      for (const Reply& e : r.array()) EncodeReply(e, resp, out);
      return;
    }
    case Reply::Kind::kDouble:
      if (resp >= 3) {
        AppendLine(out, ',', DoubleText(r.dbl()));
      } else {
        AppendBulk(out, DoubleText(r.dbl()));
      }
      return;
    case Reply::Kind::kBoolean:
      if (resp >= 3) {
        out.append(r.boolean() ? "#t\r\n" : "#f\r\n");
      } else {
        out.append(r.boolean() ? ":1\r\n" : ":0\r\n");
      }
      return;
  }
}

}  // namespace allot::server
