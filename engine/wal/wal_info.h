// wal_info.h: the Persistence section of INFO, built in one place. Other parts of the
// engine that persist something (PostgreSQL sync) add their lines through a hook.
#pragma once

#include <string>

namespace allot::internal {

class EngineImpl;

// Appends "name:value\r\n" lines to out. Called on a shard thread while INFO holds every
// shard: it must not wait for the shards or call the engine synchronously.
using PersistenceInfoHook = void (*)(EngineImpl& engine, std::string& out);
// Adds a hook (at start, before the engine serves; at most kPersistenceInfoHooksMax).
void AddPersistenceInfoHook(PersistenceInfoHook hook);

// Redis's persistence fields that apply, then the WAL's and the checkpoints', then the
// hooks' lines.
void AppendPersistenceInfo(EngineImpl& engine, std::string& out);

}  // namespace allot::internal
