// memory.h: used_memory, as Redis's zmalloc counts it: the usable size of every live
// allocation made through operator new in this process (keys, values, client buffers,
// queued log records). Memory allocated by C libraries directly (LMDB's map, OpenSSL,
// liburing's rings) is not included; INFO memory shows the RSS beside it.
//
// Cost: operator new/delete are replaced (server/memory.cc) by malloc/free plus one
// malloc_usable_size() and one add to a per-thread counter (no atomic read-modify-write
// unless more than kMemorySlots threads allocate). Measured in docs/access-control.md.
#pragma once

#include <cstdint>

namespace allot::server {

// Sum of every thread's counter: bytes live now (approximate while threads run).
int64_t UsedMemoryBytes();
// Resident set size from /proc/self/statm (INFO memory's used_memory_rss).
int64_t RssBytes();

}  // namespace allot::server
