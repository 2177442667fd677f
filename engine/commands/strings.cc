// strings.cc: the string and counter family (GET, SET, INCR, ...).
#include "engine/commands/family.h"

namespace allot::internal {

namespace {

Reply CmdGet(CmdCtx& ctx, Args args) {
  Entry* e = ctx.db(args[1]).find(args[1], ctx.now_ms);
  if (e == nullptr) return Reply::Null();
  if (e->type() != ValueType::kString) return ErrorReply(OpStatus::kWrongType);
  return Reply::Bulk(e->as<StringValue>());
}

Reply CmdSet(CmdCtx& ctx, Args args) {
  // TODO(strings family): EX/PX/EXAT/PXAT/NX/XX/GET/KEEPTTL.
  if (args.size() != 3) return ErrorReply(OpStatus::kSyntax);
  ctx.db(args[1]).assign(args[1], StringValue(args[2]), ctx.now_ms);
  return Reply::Ok();
}

constexpr CommandSpec kStringCommands[] = {
    {"GET", 2, kCmdReadOnly | kCmdFast, 1, 1, 1, CmdGet},
    {"SET", -3, kCmdWrite | kCmdDenyOom, 1, 1, 1, CmdSet},
};

}  // namespace

void RegisterStringFamily(CommandTable& t) { t.add(kStringCommands); }

}  // namespace allot::internal
