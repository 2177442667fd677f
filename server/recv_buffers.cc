#include "server/recv_buffers.h"

#include <sys/mman.h>

#include "engine/limits.h"
#include "engine/util/assert.h"

namespace allot::server {

namespace {

constexpr unsigned kCount = limits::kRecvBufferCount;
constexpr size_t kBytes = limits::kRecvBufferBytes;
constexpr unsigned kMask = kCount - 1;

}  // namespace

std::unique_ptr<RecvBuffers> RecvBuffers::Create(io_uring* ring, uint16_t group) {
  // One mapping: the ring's entries first (the kernel wants them page aligned), then the
  // buffers themselves.
  const size_t ring_bytes = kCount * sizeof(io_uring_buf);
  const size_t map_bytes = ring_bytes + kCount * kBytes;
  void* mem = mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return nullptr;
  auto* br = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(br);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br);
  reg.ring_entries = kCount;
  reg.bgid = group;
  if (io_uring_register_buf_ring(ring, &reg, 0) != 0) {
    munmap(mem, map_bytes);
    return nullptr;
  }
  char* bufs = static_cast<char*>(mem) + ring_bytes;
  for (unsigned i = 0; i < kCount; ++i) {
    io_uring_buf_ring_add(br, bufs + i * kBytes, kBytes, static_cast<uint16_t>(i), kMask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(br, static_cast<int>(kCount));
  return std::unique_ptr<RecvBuffers>(new RecvBuffers(group, br, bufs, map_bytes));
}

RecvBuffers::RecvBuffers(uint16_t group, io_uring_buf_ring* br, char* mem, size_t map_bytes)
    : group_(group), br_(br), mem_(mem), map_bytes_(map_bytes) {}

RecvBuffers::~RecvBuffers() { munmap(br_, map_bytes_); }

std::string_view RecvBuffers::take(uint32_t cqe_flags, int32_t res, uint16_t* id) {
  ALLOT_CHECK((cqe_flags & IORING_CQE_F_BUFFER) != 0 && res >= 0 &&
              static_cast<size_t>(res) <= kBytes);
  *id = static_cast<uint16_t>(cqe_flags >> IORING_CQE_BUFFER_SHIFT);
  ALLOT_CHECK(*id < kCount);
  ++lent_;
  return {mem_ + size_t{*id} * kBytes, static_cast<size_t>(res)};
}

void RecvBuffers::give_back(uint16_t id) {
  ALLOT_CHECK(id < kCount && lent_ > 0);
  --lent_;
  io_uring_buf_ring_add(br_, mem_ + size_t{id} * kBytes, kBytes, id, kMask, 0);
  io_uring_buf_ring_advance(br_, 1);
}

}  // namespace allot::server
