// server_info.h: how allotd adds its own sections to INFO and answers the commands about
// connections, which the engine registers (so COMMAND lists them and arity is checked in
// one place) but cannot answer itself.
//
// The engine never includes server code: allotd installs these hooks at start. In an
// embedded Engine no hook is installed; INFO then has only the engine's sections and the
// connection commands answer with an error naming allotd.
#pragma once

#include <allot/reply.h>

#include <string>
#include <string_view>

namespace allot::internal {

// Appends allotd's lines of one INFO section ("server", "clients", "stats", ...; lower
// case) to out, after the engine's lines of that section. Called on a shard thread while
// INFO holds every shard; it must be thread-safe and must not call the engine.
using InfoSectionFn = void (*)(std::string_view section, std::string& out);
void SetServerInfoHook(InfoSectionFn fn);

// Writes one line to allotd's log at warning level (DEBUG LOG). Without a hook (embedded),
// DEBUG LOG writes to stderr.
using LogLineFn = void (*)(std::string_view line);
void SetServerLogHook(LogLineFn fn);

}  // namespace allot::internal
