// resp_parser_fuzz: the request parser (server/resp_parser.h) and the reply encoder.
//
// Input: byte 0 = mode and limits, bytes 1..8 = seed of the split points, the rest = the
// bytes a client sends. Properties checked:
//   * parsing never crashes, never reads out of bounds, and always makes progress;
//   * the input cut at random points parses to exactly the same commands, the same
//     error (text included) and the same buffered remainder as the whole input: what a
//     client gets must not depend on how TCP chunked its bytes;
//   * every parsed command re-encoded as a multibulk parses back to itself.
// Mode bit 0x80 instead builds a Reply tree from the bytes and checks that its RESP2 and
// RESP3 encodings are well formed (fuzz/resp_check.h).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/resp_check.h"
#include "server/resp_parser.h"

namespace {

using allot::Reply;
using allot::server::Command;
using allot::server::ParserLimits;
using allot::server::RespParser;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "resp_parser_fuzz: %s\n", why.c_str());
  std::abort();
}

struct Outcome {
  std::vector<std::vector<std::string>> commands;
  bool failed = false;
  std::string error;
  size_t pending_bytes = 0;
};

// Feeds data in the given chunks exactly as Connection::feed does.
Outcome Parse(const ParserLimits& limits, bool unauth, std::string_view data,
              const std::vector<size_t>& cuts) {
  RespParser p(limits);
  p.set_unauthenticated(unauth);
  Outcome out;
  size_t begin = 0;
  for (size_t k = 0; k <= cuts.size() && !out.failed; ++k) {
    size_t end = k < cuts.size() ? cuts[k] : data.size();
    std::string chunk(data.substr(begin, end - begin));  // its own buffer: ASan sees overreads
    begin = end;
    size_t pos = 0;
    while (pos < chunk.size()) {
      size_t used = 0;
      RespParser::Status st = p.parse(std::string_view(chunk).substr(pos), &used);
      if (used > chunk.size() - pos) Die("consumed more than it was given");
      pos += used;
      if (st == RespParser::Status::kError) {
        if (p.error().empty()) Die("an error without text");
        if (p.error().find_first_of("\r\n") != std::string::npos) Die("a multi-line error");
        out.failed = true;
        out.error = p.error();
        break;
      }
      if (used == 0) Die("no progress");
      if (st == RespParser::Status::kNeedMore) {
        if (pos != chunk.size()) Die("need-more before the end of the data");
        continue;
      }
      Command c = p.take_command();
      if (c.argc() == 0) Die("a command without arguments");
      std::vector<std::string> argv;
      for (size_t i = 0; i < c.argc(); ++i) argv.emplace_back(c.arg(i));
      out.commands.push_back(std::move(argv));
    }
  }
  if (!out.failed) out.pending_bytes = p.pending_bytes();
  return out;
}

std::string EncodeMultibulk(const std::vector<std::string>& argv) {
  std::string out = "*" + std::to_string(argv.size()) + "\r\n";
  for (const std::string& a : argv) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// A Reply tree from the bytes: each node takes a kind byte and, for strings, a length.
class ReplyBuilder {
 public:
  ReplyBuilder(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  Reply build(int depth) {
    uint8_t kind = next();
    switch (kind % 11) {
      case 0:
        return Reply::Status(str());
      case 1: {
        std::string s = str();
        return Reply::Error(s.empty() ? "ERR" : s);
      }
      case 2:
        return Reply::Int(static_cast<int64_t>(u64()));
      case 3:
        return Reply::Bulk(str());
      case 4:
        return Reply::Null();
      case 5:
        return Reply::NullArray();
      case 6: {
        uint64_t bits = u64();
        double d;
        static_assert(sizeof d == sizeof bits);
        __builtin_memcpy(&d, &bits, sizeof d);
        return Reply::Double(d);
      }
      case 7:
        return Reply::Bool(next() & 1);
      default: {
        size_t n = depth > 4 ? 0 : next() % 5;
        std::vector<Reply> elems;
        for (size_t i = 0; i < n * (kind % 11 == 9 ? 2 : 1); ++i) elems.push_back(build(depth + 1));
        if (kind % 11 == 8) return Reply::Array(std::move(elems));
        if (kind % 11 == 9) return Reply::Map(std::move(elems));
        return Reply::Set(std::move(elems));
      }
    }
  }

 private:
  uint8_t next() { return i_ < n_ ? p_[i_++] : 0; }
  uint64_t u64() {
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v = v << 8 | next();
    return v;
  }
  std::string str() {
    size_t len = next() % 32;
    std::string s;
    for (size_t k = 0; k < len && i_ < n_; ++k) s.push_back(static_cast<char>(next()));
    return s;
  }
  const uint8_t* p_;
  size_t n_;
  size_t i_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return 0;
  uint8_t mode = data[0];
  if (mode & 0x80) {
    ReplyBuilder b(data + 1, size - 1);
    std::string why = allot::fuzz::CheckReply(b.build(0));
    if (!why.empty()) Die(why);
    return 0;
  }
  uint64_t seed = 0;
  for (int i = 1; i <= 8; ++i) seed = seed << 8 | data[i];
  std::string_view input(reinterpret_cast<const char*>(data) + 9, size - 9);

  ParserLimits limits;
  if (mode & 1) {  // small limits, so that every limit check is reachable
    limits.bulk_bytes_max = 16 + (mode >> 4);
    limits.multibulk_args_max = 4 + (mode >> 4);
    limits.inline_bytes_max = 32 + (mode >> 4);
    limits.unauth_bulk_bytes_max = 8;
    limits.unauth_multibulk_args_max = 3;
  }
  bool unauth = (mode & 2) != 0;

  Outcome whole = Parse(limits, unauth, input, {});
  std::vector<size_t> cuts;
  uint64_t x = seed | 1;
  for (size_t at = 0; !input.empty();) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
    size_t step = (mode & 4) ? 1 + x % 4 : 1 + x % 64;
    at += step;
    if (at >= input.size()) break;
    cuts.push_back(at);
  }
  Outcome split = Parse(limits, unauth, input, cuts);
  if (whole.commands != split.commands) Die("split parsing gave other commands");
  if (whole.failed != split.failed || whole.error != split.error) {
    Die("split parsing gave another outcome: '" + whole.error + "' vs '" + split.error + "'");
  }
  if (whole.pending_bytes != split.pending_bytes) Die("split parsing buffered other bytes");

  for (const auto& argv : whole.commands) {
    std::string again = EncodeMultibulk(argv);
    Outcome back = Parse(ParserLimits(), false, again, {});
    if (back.failed || back.commands.size() != 1 || back.commands[0] != argv) {
      Die("a parsed command does not round-trip as a multibulk");
    }
  }
  return 0;
}
