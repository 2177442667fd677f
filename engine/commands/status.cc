#include "engine/commands/status.h"

#include "engine/util/assert.h"

namespace allot::internal {

std::string_view ErrorText(OpStatus s) {
  switch (s) {
    case OpStatus::kOk:
      break;
    case OpStatus::kWrongType:
      return "WRONGTYPE Operation against a key holding the wrong kind of value";
    case OpStatus::kNotInteger:
      return "ERR value is not an integer or out of range";
    case OpStatus::kNotFloat:
      return "ERR value is not a valid float";
    case OpStatus::kOverflow:
      return "ERR increment or decrement would overflow";
    case OpStatus::kIncrNanOrInf:
      return "ERR increment would produce NaN or Infinity";
    case OpStatus::kSyntax:
      return "ERR syntax error";
    case OpStatus::kNoSuchKey:
      return "ERR no such key";
    case OpStatus::kIndexOutOfRange:
      return "ERR index out of range";
    case OpStatus::kOutOfRange:
      return "ERR value is out of range";
    case OpStatus::kNotPositive:
      return "ERR value is out of range, must be positive";
    case OpStatus::kDbIndex:
      return "ERR DB index is out of range";
    case OpStatus::kStringTooLong:
      return "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    case OpStatus::kHashValueNotInteger:
      return "ERR hash value is not an integer";
    case OpStatus::kHashValueNotFloat:
      return "ERR hash value is not a float";
    case OpStatus::kInvalidCursor:
      return "ERR invalid cursor";
    case OpStatus::kKeyExists:
      return "ERR key already exists";
    case OpStatus::kNoSuchHold:
      return "ERR no such hold";
    case OpStatus::kHoldExpired:
      return "ERR hold expired";
    case OpStatus::kNotEnoughStock:
      return "ERR not enough units available";
    case OpStatus::kIdConflict:
      return "ERR id already used by another request";
  }
  ALLOT_CHECK(false && "ErrorText(kOk)");
  return {};
}

Reply ErrorReply(OpStatus s) { return Reply::Error(ErrorText(s)); }

}  // namespace allot::internal
