// args.h: argument parsing with Redis's exact rules (string2ll, strtold checks).
#pragma once

#include <allot/reply.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace allot::internal {

// Redis's string2ll: optional '-', digits, no leading zeros (except "0"), no spaces,
// no '+', fits in int64.
bool ParseInt64(std::string_view s, int64_t* out);
// Redis's string2ld-style double: strtod on the whole string, no spaces, not NaN.
// Accepts "inf", "-inf", "+inf".
bool ParseDouble(std::string_view s, double* out);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view s);
std::string ToUpper(std::string_view s);

// Redis's formatting of integers and of doubles in replies (INCRBYFLOAT uses "%.17Lg"
// then trims trailing zeros; HINCRBYFLOAT the same).
std::string FormatInt64(int64_t v);
// Redis's LD_STR_HUMAN: "%.17Lf" with trailing zeros (and a bare ".") removed.
std::string FormatLongDouble(long double v);
// Redis's string2ld: strtold on the whole string, no spaces, not NaN.
bool ParseLongDouble(std::string_view s, long double* out);
// RESP3 double / RESP2 bulk text of a double score: "%.17g" (Redis's fpconv for 7.x).
std::string FormatDouble(double v);

// Redis glob-style pattern match (stringmatchlen): * ? [abc] [^a] [a-z] and \ escapes.
bool GlobMatch(std::string_view pattern, std::string_view s, bool nocase = false);

// "ERR wrong number of arguments for 'name' command" with name lower-cased.
Reply WrongArgsReply(std::string_view name);

}  // namespace allot::internal
