// recv_buffers.h: a shard's pool of receive buffers, lent to its connections by the kernel.
//
// Every connection of a shard keeps ONE multishot receive armed on the shard's io_uring
// ring for its whole life. When bytes arrive, the kernel picks a free buffer from this
// pool (a provided-buffer ring, IORING_REGISTER_PBUF_RING), fills it and posts a completion
// naming the buffer; the connection parses the bytes (the parser copies what it keeps) and
// gives the buffer back at once. So a request costs no SQE to re-arm a receive, and memory
// is kRecvBufferCount x kRecvBufferBytes per shard instead of a buffer per connection.
//
// Threading: created and used on the shard thread that owns the ring (the ring is
// SINGLE_ISSUER). The memory must outlive every receive that may still pick from it, so the
// owner destroys the pool only after the ring itself is gone (Server::~Server resets the
// engine first); the ring's teardown unregisters the group, the destructor only unmaps.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace allot::server {

class RecvBuffers {
 public:
  // Registers the pool as buffer group `group` on `ring`. Null if the kernel refuses
  // (before 5.19): connections then receive into their own buffer, one SQE per receive.
  static std::unique_ptr<RecvBuffers> Create(io_uring* ring, uint16_t group);
  ~RecvBuffers();
  RecvBuffers(const RecvBuffers&) = delete;
  RecvBuffers& operator=(const RecvBuffers&) = delete;

  uint16_t group() const { return group_; }
  // The bytes of a completion that carries a buffer (IORING_CQE_F_BUFFER); *id receives
  // the buffer's id for give_back().
  std::string_view take(uint32_t cqe_flags, int32_t res, uint16_t* id);
  // Returns buffer `id` to the kernel. Call exactly once per buffer received.
  void give_back(uint16_t id);
  // Buffers lent out right now (for INFO and tests).
  uint32_t lent() const { return lent_; }

 private:
  RecvBuffers(uint16_t group, io_uring_buf_ring* br, char* mem, size_t map_bytes);

  uint16_t group_;
  io_uring_buf_ring* br_;
  char* mem_;  // the buffers, after the ring's entries in the same mapping
  size_t map_bytes_;
  uint32_t lent_ = 0;
};

}  // namespace allot::server
