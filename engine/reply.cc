#include <allot/reply.h>

#include <cstdio>

namespace allot {

namespace {

void Render(const Reply& r, std::string& out) {
  switch (r.kind()) {
    case Reply::Kind::kStatus:
      out += r.string();
      return;
    case Reply::Kind::kError:
      out += "(error) " + r.string();
      return;
    case Reply::Kind::kInteger:
      out += "(integer) " + std::to_string(r.integer());
      return;
    case Reply::Kind::kBulk:
      out += "\"" + r.string() + "\"";
      return;
    case Reply::Kind::kNull:
      out += "(nil)";
      return;
    case Reply::Kind::kDouble: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "(double) %.17g", r.dbl());
      out += buf;
      return;
    }
    case Reply::Kind::kBoolean:
      out += r.boolean() ? "(true)" : "(false)";
      return;
    case Reply::Kind::kArray:
    case Reply::Kind::kSet:
    case Reply::Kind::kMap: {
      const char* open = r.is_map() ? "{" : (r.is_set() ? "~[" : "[");
      const char* close = r.is_map() ? "}" : "]";
      out += open;
      const auto& a = r.array();
      for (size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out += (r.is_map() && i % 2 == 1) ? ": " : ", ";
        Render(a[i], out);
      }
      out += close;
      return;
    }
  }
}

}  // namespace

std::string Reply::debug_string() const {
  std::string out;
  Render(*this, out);
  return out;
}

bool operator==(const Reply& a, const Reply& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Reply::Kind::kInteger:
    case Reply::Kind::kBoolean:
      return a.int_ == b.int_;
    case Reply::Kind::kDouble:
      return a.dbl_ == b.dbl_;
    case Reply::Kind::kNull:
      return a.int_ == b.int_;  // a null array (*-1) is not a null bulk ($-1) in RESP2
    case Reply::Kind::kStatus:
    case Reply::Kind::kError:
    case Reply::Kind::kBulk:
      return a.str_ == b.str_;
    case Reply::Kind::kArray:
    case Reply::Kind::kMap:
    case Reply::Kind::kSet:
      return a.elems_ == b.elems_;
  }
  return false;
}

}  // namespace allot
