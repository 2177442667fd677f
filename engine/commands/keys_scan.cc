// keys_scan.cc: the keyless key commands that look at every shard: KEYS, SCAN, RANDOMKEY.
// They are declared kCmdAllShards, so dispatch holds every shard (ctx.shards, ascending by
// shard id) while they run. Expired keys are never returned (Db skips them).
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/commands/family.h"
#include "engine/limits.h"

namespace allot::internal {

namespace {

Reply CmdKeys(CmdCtx& ctx, Args args) {
  std::string_view pattern = args[1];
  bool all = pattern == "*";
  std::vector<Reply> out;
  for (ShardState* s : ctx.shards) {
    ctx.db_of(s).for_each(ctx.now_ms, [&](const std::string& key, Entry&) {
      if (all || GlobMatch(pattern, key)) out.push_back(Reply::Bulk(key));
    });
  }
  return Reply::Array(std::move(out));
}

// A SCAN cursor names a shard (high bits) and a bucket cursor of that shard's Db::scan
// (low bits). A scan walks the shards in order, so it ends with cursor 0 after the last.
constexpr int kScanShardShift = 48;
constexpr uint64_t kScanBucketMask = (uint64_t{1} << kScanShardShift) - 1;
static_assert(limits::kShardsMax <= (uint64_t{1} << (64 - kScanShardShift)));

// Redis's parseScanCursorOrReply: strtoul on the whole text, no leading space, no range
// error. Like strtoul it accepts a sign ("-1" wraps to the largest cursor).
bool ParseScanCursor(std::string_view arg, uint64_t* out) {
  std::string text(arg);
  if (!text.empty() && std::isspace(static_cast<unsigned char>(text[0]))) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return false;
  *out = v;
  return true;
}

struct ScanOptions {
  std::string_view pattern;  // empty when every key matches
  bool use_pattern = false;
  std::string_view type;
  bool use_type = false;
  size_t count = limits::kScanCountDefault;
};

// [MATCH pattern] [COUNT count] [TYPE type] in args[2..], in any order, repeatable.
OpResult<ScanOptions> ParseScanOptions(Args args) {
  ScanOptions o;
  for (size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) return OpStatus::kSyntax;
    std::string_view opt = args[i], val = args[i + 1];
    if (EqualsIgnoreCase(opt, "COUNT")) {
      int64_t n = 0;
      if (!ParseInt64(val, &n)) return OpStatus::kNotInteger;
      if (n < 1) return OpStatus::kSyntax;
      // COUNT is a hint; bounding it bounds the work of one call.
      o.count = static_cast<size_t>(std::min<int64_t>(n, limits::kScanCountMax));
    } else if (EqualsIgnoreCase(opt, "MATCH")) {
      o.pattern = val;
      o.use_pattern = val != "*";
    } else if (EqualsIgnoreCase(opt, "TYPE")) {
      o.type = val;
      o.use_type = true;
    } else {
      return OpStatus::kSyntax;
    }
  }
  return o;
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. Like Redis, COUNT bounds the keys
// visited before MATCH and TYPE filter them, so a call may return fewer keys (even none)
// with a non-zero cursor.
Reply CmdScan(CmdCtx& ctx, Args args) {
  uint64_t cursor = 0;
  if (!ParseScanCursor(args[1], &cursor)) return ErrorReply(OpStatus::kInvalidCursor);
  OpResult<ScanOptions> o = ParseScanOptions(args);
  if (!o.ok()) return ErrorReply(o.status());
  uint64_t shard = cursor >> kScanShardShift;
  uint64_t bucket = cursor & kScanBucketMask;
  std::vector<Reply> keys;
  size_t visited = 0;
  while (shard < ctx.shards.size() && visited < o->count) {
    Db& db = ctx.db_of(ctx.shards[shard]);
    bucket = db.scan(bucket, o->count - visited, ctx.now_ms, [&](const std::string& k, Entry& e) {
      ++visited;
      if (o->use_pattern && !GlobMatch(o->pattern, k)) return;
      if (o->use_type && !EqualsIgnoreCase(TypeName(e.type()), o->type)) return;
      keys.push_back(Reply::Bulk(k));
    });
    if (bucket == 0) ++shard;
  }
  ALLOT_CHECK(bucket <= kScanBucketMask);
  uint64_t next = shard >= ctx.shards.size() ? 0 : (shard << kScanShardShift) | bucket;
  return Reply::Array({Reply::Bulk(std::to_string(next)), Reply::Array(std::move(keys))});
}

// RANDOMKEY: picks a shard with probability proportional to its key count, then a random
// live key of it; nil when every shard is empty.
Reply CmdRandomkey(CmdCtx& ctx, Args) {
  uint64_t total = 0;
  for (ShardState* s : ctx.shards) total += ctx.db_of(s).size();
  if (total == 0) return Reply::Null();
  uint64_t pick = ctx.home->next_random() % total;
  size_t first = 0;
  for (; first + 1 < ctx.shards.size(); ++first) {
    uint64_t n = ctx.db_of(ctx.shards[first]).size();
    if (pick < n) break;
    pick -= n;
  }
  // The chosen shard may hold only expired keys; then try the others in turn.
  for (size_t i = 0; i < ctx.shards.size(); ++i) {
    Db& db = ctx.db_of(ctx.shards[(first + i) % ctx.shards.size()]);
    const std::string* key = db.random_key(ctx.now_ms, ctx.home->next_random());
    if (key != nullptr) return Reply::Bulk(*key);
  }
  return Reply::Null();
}

constexpr uint32_t kAll = kCmdReadOnly | kCmdAllShards;

constexpr CommandSpec kKeyScanCommands[] = {
    {"KEYS", 2, kAll, 0, 0, 0, CmdKeys},
    {"SCAN", -2, kAll, 0, 0, 0, CmdScan},
    {"RANDOMKEY", 1, kAll | kCmdRandom, 0, 0, 0, CmdRandomkey},
};

}  // namespace

void RegisterKeyScanCommands(CommandTable& t) { t.add(kKeyScanCommands); }

}  // namespace allot::internal
