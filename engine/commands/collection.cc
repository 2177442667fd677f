#include "engine/commands/collection.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "engine/commands/args.h"

namespace allot::internal {

OpResult<Entry*> FindOfType(Db& db, std::string_view key, int64_t now_ms, ValueType t) {
  Entry* e = db.find(key, now_ms);
  if (e != nullptr && e->type() != t) return OpStatus::kWrongType;
  return e;
}

OpResult<uint64_t> ParseScanCursor(std::string_view arg) {
  // strtoull needs a terminated string; copy the whole argument (leading zeros are valid).
  std::string buf(arg);
  if (!buf.empty() && std::isspace(static_cast<unsigned char>(buf[0]))) {
    return OpStatus::kInvalidCursor;
  }
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(buf.c_str(), &end, 10);
  // The number must be the whole argument. (Redis checks up to a NUL byte only, so it
  // accepts "1\0x"; this rejects it.)
  if (end != buf.c_str() + buf.size() || errno == ERANGE) return OpStatus::kInvalidCursor;
  return static_cast<uint64_t>(v);
}

OpResult<ScanOptions> ParseScanOptions(Args args, size_t first) {
  ScanOptions opts;
  for (size_t i = first; i < args.size(); i += 2) {
    bool has_value = i + 1 < args.size();
    if (has_value && EqualsIgnoreCase(args[i], "COUNT")) {
      int64_t count = 0;
      if (!ParseInt64(args[i + 1], &count)) return OpStatus::kNotInteger;
      if (count < 1) return OpStatus::kSyntax;
      opts.count = static_cast<uint64_t>(count) > limits::kScanCountMax
                       ? limits::kScanCountMax
                       : static_cast<size_t>(count);
    } else if (has_value && EqualsIgnoreCase(args[i], "MATCH")) {
      opts.pattern = args[i + 1];
      opts.use_pattern = opts.pattern != "*";
    } else {
      return OpStatus::kSyntax;
    }
  }
  return opts;
}

std::variant<int64_t, Reply> ParseRandomCount(std::string_view arg) {
  int64_t count = 0;
  if (!ParseInt64(arg, &count)) return ErrorReply(OpStatus::kNotInteger);
  if (count == INT64_MIN) {
    return Reply::Error(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
  }
  return count;
}

}  // namespace allot::internal
