// function_store.h: FUNCTION DUMP / RESTORE's payload, and how function libraries survive
// a restart.
//
// Payload (ours, not Redis's RDB encoding; docs/scripting.md): little-endian
//   "AFNS"  u8 version (1)  u32 count  count x (u32 length, library code)  u32 crc32c
// where the CRC-32C covers every byte before it. Only the codes are stored: RESTORE
// compiles them again, exactly as FUNCTION LOAD would. Anything else, a Redis DUMP payload
// included, gets Redis's own "ERR DUMP payload version or checksum are wrong".
//
// Durability. FUNCTION LOAD / DELETE / FLUSH / RESTORE are write commands of the function
// registry: a successful one is logged as one WAL record (its argv, as sent) and its reply
// waits for the record like any write's (wal.h). Recovery re-runs it: the same code
// compiled in the same order gives the same libraries. Scripts are never re-run; their
// effects are logged (txn/nested.h), so the position of a FUNCTION record among the data
// records does not matter, only its order among the other FUNCTION records. Checkpoints
// carry the whole library set as one payload in their meta (checkpoint.h, version 3),
// copied at the marker: the registry's changes_mutex() is held both while a change is
// applied and logged and while the marker copies the set and enters the log queue, so
// each change is either in the image or after its LSN, never both or neither.
// The registry is process-wide: an engine that recovers a data directory resets it to what
// that directory holds.
#pragma once

#include <allot/reply.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/commands/command.h"
#include "engine/scripting/registry.h"

namespace allot::internal {

inline constexpr std::string_view kFunctionsPayloadMagic = "AFNS";
inline constexpr uint8_t kFunctionsPayloadVersion = 1;

std::string EncodeFunctionsPayload(const std::vector<FunctionLibrary>& libs);
// false when payload is not one of ours (magic, version, lengths or checksum).
bool DecodeFunctionsPayload(std::string_view payload, std::vector<std::string>& codes);
// Decodes and compiles every library of payload into libs; "" or the error text.
std::string CompileFunctionsPayload(std::string_view payload, std::vector<FunctionLibrary>& libs);

// Recovery: replaces the registry's libraries with the checkpoint's payload ("" = a
// checkpoint older than version 3: no libraries). Returns "" or what is wrong.
std::string LoadCheckpointFunctions(std::string_view payload);

// Recovery: re-applies a logged FUNCTION LOAD/DELETE/FLUSH/RESTORE (scripting.cc).
Reply ReplayFunctionCommand(Args args);

}  // namespace allot::internal
