// limits.h: every fixed maximum of the engine, in one place, with units in the names.
//
// A limit that a user can change at run time is a Config or allotd setting whose default
// is defined here; one that cannot is a constant. The static_asserts at the bottom state
// how the limits relate to each other.
#pragma once

#include <cstddef>
#include <cstdint>

namespace allot::limits {

// Shards and slots.
inline constexpr unsigned kShardsMax = 256;
inline constexpr unsigned kSlotCount = 16384;  // Redis Cluster's slot space.
inline constexpr int kDatabaseCount = 16;      // SELECT 0..15, as Redis's default.

// Cross-thread messaging: capacity of each shard's inbox (messages, not bytes). A
// producer that finds the inbox full yields and retries, so this bounds memory, not work.
inline constexpr size_t kInboxMessagesMax = 16384;  // boost::lockfree caps fixed queues at 65535.
// Messages a shard drains from its inbox before it looks at its timers and sockets again.
inline constexpr size_t kInboxDrainBatchMax = 1024;

// Values.
inline constexpr size_t kStringBytesMax = 512ull * 1024 * 1024;  // Redis's proto-max-bulk-len.
inline constexpr size_t kCommandArgsMax = 1024 * 1024;           // Arguments in one command.
// Redis refuses INCRBYFLOAT results that are not finite; these bound formatted numbers.
inline constexpr size_t kDoubleTextBytesMax = 5 * 1024;

// OBJECT ENCODING/REFCOUNT report what Redis 7.0's defaults would pick: strings up to 44
// bytes are embstr, sets of at most 512 integers intset, hashes of at most 128 fields of
// at most 64 bytes listpack, and the integers 0..9999 are shared.
inline constexpr size_t kEmbstrBytesMax = 44;
inline constexpr size_t kSetIntsetEntriesMax = 512;
inline constexpr size_t kHashListpackEntriesMax = 128;
inline constexpr size_t kHashListpackValueBytesMax = 64;
inline constexpr int64_t kSharedIntegersMax = 10000;

// Active expiry: keys with a TTL examined per database per sweep, and holds expired per
// sweep, so one sweep stays short however much is due (the rest is picked up next time).
inline constexpr size_t kExpireKeysPerSweepMax = 2000;
inline constexpr size_t kExpireHoldsPerSweepMax = 10000;

// SCAN: default and maximum COUNT hint.
inline constexpr size_t kScanCountDefault = 10;
inline constexpr size_t kScanCountMax = 1 << 20;
// SRANDMEMBER/HRANDFIELD with a negative count (repetition allowed): the most elements one
// reply may hold. Redis streams such replies; the engine builds them in memory first.
inline constexpr uint64_t kRandomRepeatCountMax = 1 << 20;

// Scripting (engine/scripting/). busy-reply-threshold's default (Redis's lua-time-limit);
// instructions between two checks of a running script's clock and kill flag; nesting
// depth of a script's returned tables (a table containing itself ends there).
inline constexpr int64_t kScriptBusyThresholdMsDefault = 5000;
inline constexpr int kScriptHookInstructions = 100000;
inline constexpr size_t kScriptReplyDepthMax = 1000;

// Inventory.
inline constexpr int64_t kInventoryUnitsMax = int64_t{1} << 50;           // total, qty, restock.
inline constexpr int64_t kHoldTtlMsMax = int64_t{30} * 24 * 3600 * 1000;  // 30 days.
inline constexpr int64_t kHoldTtlMsDefault = 5 * 60 * 1000;  // The seeds' 5-minute checkout.
inline constexpr size_t kUserIdBytesMax = 1024;
// Hold ids (assigned or client-chosen with INV.HOLD ... ID) and INV.BUY request ids.
inline constexpr size_t kHoldIdBytesMax = 256;
inline constexpr size_t kRequestIdBytesMax = 256;
// Resolved (confirmed, released, expired) holds an item remembers so that a retried
// CONFIRM/RELEASE/EXTEND/HOLD ID gets the same answer; the oldest resolution is forgotten
// first, after which its id answers "no such hold".
inline constexpr size_t kResolvedHoldsPerItemMax = 65536;
// Successful INV.BUY ... ID request ids an item remembers for idempotent retries (FIFO).
inline constexpr size_t kBuyRequestIdsPerItemMax = 65536;
// Open holds and buyers per item are bounded by its units (every hold and every buyer
// has at least one unit) and by memory (maxmemory).

// Write-ahead log (engine/wal/). Records the log writer takes into one LMDB transaction
// (one commit, one sync): bounds a group's latency and its transaction's dirty pages.
inline constexpr size_t kWalGroupRecordsMax = 4096;
// Nodes preallocated in the shards -> writer queue; a shard never waits for one (the queue
// allocates past it), the bound on records in flight is the shards' own admission.
inline constexpr size_t kWalQueueNodesInitial = 16384;
// LMDB map: initial size (virtual; the file grows only with data) and the default ceiling.
inline constexpr uint64_t kWalMapBytesInitial = uint64_t{64} << 30;
// `everysec`: the log is synced at least this often.
inline constexpr int64_t kWalEverysecSyncIntervalMs = 1000;
// `everysec`: after a commit the writer lets records gather this long before the next one
// (the shards do not wake it per record; a process crash loses at most about this much).
inline constexpr int64_t kWalEverysecGatherUs = 1000;
// The log file is kept this much longer than LMDB's used pages, zero-filled, so that a
// commit overwrites existing blocks instead of growing the file (engine/wal/wal.cc).
inline constexpr uint64_t kWalFileAheadBytes = uint64_t{8} << 20;
// Checkpoints: bytes per LMDB value of the image (LMDB overflow pages, allocated
// contiguously). Kept with its slack under glibc's 128 KiB mmap threshold, so a shard's
// chunk buffer comes from the heap instead of fresh page-faulting mmaps in every step.
// And the default log size (records since the last checkpoint) that triggers one.
inline constexpr size_t kCheckpointChunkBytes = size_t{96} << 10;
inline constexpr uint64_t kCheckpointLogRecordsDefault = 1000000;
// Incremental checkpoints: one background step of a shard examines at most this many
// entries (or buckets) and runs at most kCheckpointStepUsMax (the longest pause it adds
// to the shard's other work); the shards stop scanning while more than
// kCheckpointBacklogBytesMax of chunks wait for the checkpoint store's thread.
inline constexpr size_t kCheckpointStepEntriesMax = 4096;
inline constexpr int64_t kCheckpointStepUsMax = 1000;
inline constexpr size_t kCheckpointBacklogBytesMax = size_t{32} << 20;
// Default time trigger: a checkpoint at least this often when anything was written.
inline constexpr uint64_t kCheckpointIntervalSDefault = 300;
// After a failed commit (disk full), how often the writer retries the stuck records.
inline constexpr int64_t kWalRetryIntervalMs = 100;

// MULTI: commands and argument bytes one connection may queue before EXEC. Redis bounds
// them only by the client's memory; past these the command is refused with an error and
// the transaction is discarded at EXEC (EXECABORT), so a client cannot grow a queue
// without limit.
inline constexpr size_t kMultiQueuedCommandsMax = 1 << 20;
inline constexpr size_t kMultiQueuedBytesMax = size_t{512} << 20;

// allotd's sockets (server/connection.cc, server/recv_buffers.h). Each shard thread lends
// its connections receive buffers from one pool registered with its io_uring ring (a
// provided-buffer ring): kRecvBufferCount buffers of kRecvBufferBytes (4 MiB per shard),
// instead of one buffer per connection (16 KiB x 10,000 idle clients = 160 MiB).
// The count must be a power of two (the kernel's ring size rule).
inline constexpr unsigned kRecvBufferCount = 256;
inline constexpr size_t kRecvBufferBytes = 16 * 1024;
// Reading pauses while this many parsed requests wait, or this many reply bytes are
// unsent: the client's own TCP window then holds the rest (no unbounded buffering).
inline constexpr size_t kConnPendingCommandsMax = 1024;
inline constexpr size_t kConnUnsentPauseBytes = 1024 * 1024;
// A send buffer that grew past this is released once drained.
inline constexpr size_t kConnKeepBufferBytes = 64 * 1024;
// Executed commands whose replies may wait at once on one connection (behind a write the
// log has not made durable yet). At the bound the connection stops executing until the
// head of the queue drains: the memory of a pipelining client stays bounded.
inline constexpr size_t kConnReplySlotsMax = 1024;

// PostgreSQL sync (engine/pgsync/pg_sync.h). A connection attempt gives up after this;
// reconnects back off from the minimum, doubling, to the maximum.
inline constexpr int kPgConnectTimeoutS = 5;
inline constexpr int64_t kPgReconnectMinMs = 100;
inline constexpr int64_t kPgReconnectMaxMs = 5000;
// One sync transaction carries at most this many keys and sale events; a larger backlog
// is sent in several transactions back to back (catch-up).
inline constexpr size_t kPgSyncBatchKeysMax = 50000;
inline constexpr size_t kPgSyncBatchEventsMax = 200000;
// How long a round waits for the log to commit what it copied before giving up.
inline constexpr int64_t kPgDurableWaitMs = 10000;
// The backlog warning starts at this share of pg-backlog-max (percent), and is logged at
// most once per interval.
inline constexpr uint64_t kPgBacklogWarnPercent = 80;
inline constexpr int64_t kPgBacklogWarnIntervalMs = 10000;
// The worker re-reads the backlog at least this often (the limit is soft by the sales of
// about this long).
inline constexpr int64_t kPgBacklogCheckMs = 50;
// Each shard thread keeps up to this many bytes of freed sale-ledger blocks for reuse
// (engine/keyspace/sale_ledger.h): at 100k sales/s and one round per second the ledger
// cycles about 13 MB per round without returning pages to the system and faulting them in
// again.
inline constexpr size_t kPgLedgerPoolBytesMax = size_t{64} << 20;

static_assert((kRecvBufferCount & (kRecvBufferCount - 1)) == 0 && kRecvBufferCount <= 32768);
static_assert(kShardsMax <= kSlotCount, "every shard needs at least one slot");
static_assert(kInboxDrainBatchMax <= kInboxMessagesMax);
static_assert(kHoldTtlMsDefault <= kHoldTtlMsMax);
// A deadline (now + TTL, pushed by EXTEND up to now + max) must fit in int64 for any clock.
static_assert(kHoldTtlMsMax < (int64_t{1} << 62) / 2);
static_assert(kInventoryUnitsMax < (int64_t{1} << 62), "total + restock cannot overflow");
static_assert(kResolvedHoldsPerItemMax > 0 && kBuyRequestIdsPerItemMax > 0);
static_assert(kWalGroupRecordsMax <= kWalQueueNodesInitial);
static_assert(kWalRetryIntervalMs < kWalEverysecSyncIntervalMs);

}  // namespace allot::limits
