#include "engine/wal/checkpoint.h"

#include <time.h>

#include <algorithm>
#include <cstring>

#include "engine/keyspace/inventory.h"
#include "engine/limits.h"
#include "engine/pgsync/tracker.h"
#include "engine/util/assert.h"
#include "engine/wal/crc32c.h"

namespace allot::internal {

namespace {

template <class T>
void Put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

void PutStr(std::string& out, std::string_view s) {
  ALLOT_CHECK(s.size() <= UINT32_MAX);
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

void Seal(std::string& bytes) {
  uint32_t crc = Crc32cExtend(0, bytes.data() + 4, bytes.size() - 4);
  std::memcpy(bytes.data(), &crc, 4);
}

std::string CheckCrc(std::string_view bytes) {
  if (bytes.size() < 4) return "truncated (" + std::to_string(bytes.size()) + " bytes)";
  uint32_t stored;
  std::memcpy(&stored, bytes.data(), 4);
  if (stored != Crc32cExtend(0, bytes.data() + 4, bytes.size() - 4)) return "checksum mismatch";
  return "";
}

// Bounds-checked reading of a chunk.
struct Reader {
  const char* p;
  const char* end;
  bool ok = true;
  template <class T>
  T get() {
    T v{};
    if (static_cast<size_t>(end - p) < sizeof(T)) {
      ok = false;
      return v;
    }
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return v;
  }
  std::string_view str() {
    uint32_t n = get<uint32_t>();
    if (!ok || static_cast<size_t>(end - p) < n) {
      ok = false;
      return {};
    }
    std::string_view s(p, n);
    p += n;
    return s;
  }
};

// PostgreSQL sync: the item's identity and its sales PostgreSQL has not acknowledged.
void PutLedger(std::string& out, uint64_t item_id, uint64_t next_event_seq,
               const SaleLedger<SaleEvent>& events) {
  Put<uint64_t>(out, item_id);
  Put<uint64_t>(out, next_event_seq);
  Put<uint32_t>(out, static_cast<uint32_t>(events.size()));
  for (const SaleEvent& ev : events) {
    Put<uint64_t>(out, ev.seq);
    Put<int64_t>(out, ev.qty);
    Put<int64_t>(out, ev.at_ms);
    Put<uint8_t>(out, ev.cancelled ? 1 : 0);
    PutStr(out, ev.user);
    PutStr(out, ev.hold_id);
    PutStr(out, ev.request_id);
  }
}

// An inventory item whole: counters, holds (open and remembered), buyers and the request
// ids of idempotent retries. Derived indexes (open deadlines, each user's open holds) are
// rebuilt on load; the shard timer registration is redone by InventoryKeyAttached().
void PutInventory(std::string& out, const Inventory& inv) {
  for (int64_t v : {inv.total, inv.available, inv.held, inv.sold, inv.limit, inv.hold_ttl_ms}) {
    Put<int64_t>(out, v);
  }
  Put<uint64_t>(out, inv.next_hold_seq);
  Put<uint32_t>(out, static_cast<uint32_t>(inv.users.size()));
  for (const auto& [user, u] : inv.users) {
    PutStr(out, user);
    Put<int64_t>(out, u.held);
    Put<int64_t>(out, u.bought);
  }
  Put<uint32_t>(out, static_cast<uint32_t>(inv.holds.size()));
  for (const auto& [id, h] : inv.holds) {
    PutStr(out, id);
    PutStr(out, h.user);
    Put<int64_t>(out, h.qty);
    Put<int64_t>(out, h.deadline_ms);
    Put<uint64_t>(out, h.seq);
    Put<uint8_t>(out, static_cast<uint8_t>(h.state));
  }
  Put<uint32_t>(out, static_cast<uint32_t>(inv.resolved_order.size()));
  for (const std::string& id : inv.resolved_order) PutStr(out, id);
  Put<uint32_t>(out, static_cast<uint32_t>(inv.buy_request_order.size()));
  for (const std::string& id : inv.buy_request_order) {
    const BuyRequest& b = inv.buy_requests.at(id);
    PutStr(out, id);
    PutStr(out, b.user);
    Put<int64_t>(out, b.qty);
  }
  PutLedger(out, inv.item_id, inv.next_event_seq, inv.unsynced);
}

// Orphaned events (checkpoint.h, kCheckpointOrphansDb) as an entry whose inventory holds
// nothing but them, so that the loader reads them as it reads an item.
void PutOrphans(std::string& out, const PgOrphanEvents& o) {
  Put<uint8_t>(out, static_cast<uint8_t>(kCheckpointOrphansDb));
  Put<uint8_t>(out, static_cast<uint8_t>(ValueType::kInventory));
  Put<int64_t>(out, 0);
  PutStr(out, o.key);
  for (int i = 0; i < 6; ++i) Put<int64_t>(out, 0);   // counters
  Put<uint64_t>(out, 0);                              // next_hold_seq
  for (int i = 0; i < 4; ++i) Put<uint32_t>(out, 0);  // users, holds, resolved, requests
  PutLedger(out, o.item_id, o.events.back().seq + 1, o.events);
}

// Appends one entry.
void PutEntry(std::string& out, int db, const std::string& key, const Entry& e) {
  Put<uint8_t>(out, static_cast<uint8_t>(db));
  Put<uint8_t>(out, static_cast<uint8_t>(e.type()));
  Put<int64_t>(out, e.expire_at_ms);
  PutStr(out, key);
  switch (e.type()) {
    case ValueType::kString:
      PutStr(out, e.as<StringValue>());
      break;
    case ValueType::kSet:
      Put<uint32_t>(out, static_cast<uint32_t>(e.as<SetValue>().size()));
      for (const std::string& m : e.as<SetValue>()) PutStr(out, m);
      break;
    case ValueType::kList:
      Put<uint32_t>(out, static_cast<uint32_t>(e.as<ListValue>().size()));
      for (const std::string& m : e.as<ListValue>()) PutStr(out, m);
      break;
    case ValueType::kHash:
      Put<uint32_t>(out, static_cast<uint32_t>(e.as<HashValue>().size()));
      for (const auto& [f, v] : e.as<HashValue>()) {
        PutStr(out, f);
        PutStr(out, v);
      }
      break;
    case ValueType::kInventory:
      PutInventory(out, *e.as<InventoryValue>());
      break;
  }
}

// Reads what PutInventory wrote; an empty string or what is wrong with it.
std::string ReadInventory(Reader& r, Inventory& inv) {
  int64_t* counters[] = {&inv.total, &inv.available, &inv.held,
                         &inv.sold,  &inv.limit,     &inv.hold_ttl_ms};
  for (int64_t* c : counters) *c = r.get<int64_t>();
  inv.next_hold_seq = r.get<uint64_t>();
  // Sized up front (an item can have millions of buyers): no rehash while loading. The
  // count is bounded by the bytes left (each user takes at least 20), so a damaged count
  // cannot reserve gigabytes.
  auto bounded = [&](uint32_t n, size_t min_bytes) {
    return std::min<size_t>(n, static_cast<size_t>(r.end - r.p) / min_bytes);
  };
  uint32_t users = r.get<uint32_t>();
  inv.users.reserve(bounded(users, 20));
  for (uint32_t n = users; r.ok && n > 0; --n) {
    auto [it, inserted] = inv.users.try_emplace(std::string(r.str()));
    InventoryUser& u = it->second;
    u.held = r.get<int64_t>();
    u.bought = r.get<int64_t>();
  }
  uint32_t holds = r.get<uint32_t>();
  inv.holds.reserve(bounded(holds, 33));
  for (uint32_t n = holds; r.ok && n > 0; --n) {
    std::string id(r.str());
    Hold h;
    h.user = std::string(r.str());
    h.qty = r.get<int64_t>();
    h.deadline_ms = r.get<int64_t>();
    h.seq = r.get<uint64_t>();
    uint8_t state = r.get<uint8_t>();
    if (!r.ok) break;
    if (state > static_cast<uint8_t>(HoldState::kExpired)) return "bad hold state";
    h.state = static_cast<HoldState>(state);
    if (h.state == HoldState::kOpen) {
      auto u = inv.users.find(h.user);
      if (u == inv.users.end()) return "open hold of an unknown user";
      u->second.open_holds.emplace(h.seq, id);
      inv.open_deadlines.emplace(h.deadline_ms, id);
    }
    inv.holds.emplace(std::move(id), std::move(h));
  }
  for (uint32_t n = r.get<uint32_t>(); r.ok && n > 0; --n) inv.resolved_order.emplace_back(r.str());
  uint32_t requests = r.get<uint32_t>();
  inv.buy_requests.reserve(bounded(requests, 16));
  for (uint32_t n = requests; r.ok && n > 0; --n) {
    std::string id(r.str());
    BuyRequest b;
    b.user = std::string(r.str());
    b.qty = r.get<int64_t>();
    inv.buy_request_order.push_back(id);
    inv.buy_requests.emplace(std::move(id), std::move(b));
  }
  inv.item_id = r.get<uint64_t>();
  inv.next_event_seq = r.get<uint64_t>();
  for (uint32_t n = r.get<uint32_t>(); r.ok && n > 0; --n) {
    SaleEvent ev;
    ev.seq = r.get<uint64_t>();
    ev.qty = r.get<int64_t>();
    ev.at_ms = r.get<int64_t>();
    ev.cancelled = r.get<uint8_t>() != 0;
    ev.user = std::string(r.str());
    ev.hold_id = std::string(r.str());
    ev.request_id = std::string(r.str());
    inv.unsynced.push_back(std::move(ev));
  }
  if (!r.ok) return "";  // the caller reports the overrun
  if (inv.total != inv.available + inv.held + inv.sold || inv.available < 0 || inv.held < 0 ||
      inv.sold < 0) {
    return "inventory counters do not add up";
  }
  return "";
}

int64_t ClockUs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}
int64_t MonoUs() { return ClockUs(CLOCK_MONOTONIC); }

}  // namespace

void ShardCheckpoint::begin(EmitFn emit) {
  ALLOT_CHECK(!active_);
  emit_ = std::move(emit);
  active_ = true;
  keys_ = 0;
  longest_step_us_ = 0;
  longest_step_cpu_us_ = 0;
  chunk_.reserve(limits::kCheckpointChunkBytes + 16384);
  chunk_.assign(4, '\0');
  orphans_next_ = 0;
  orphans_end_ = shard_.pg != nullptr ? shard_.pg->next_orphan_serial : 0;
  for (int db = 0; db < limits::kDatabaseCount; ++db) {
    sinks_[db].owner = this;
    sinks_[db].db = db;
    shard_.dbs[db].checkpoint_begin(&sinks_[db]);
  }
}

void ShardCheckpoint::Sink::save(const std::string& key, const Entry& entry) {
  owner->put(db, key, entry);
}

void ShardCheckpoint::put(int db, const std::string& key, const Entry& entry) {
  PutEntry(chunk_, db, key, entry);
  ++keys_;
  if (chunk_.size() >= limits::kCheckpointChunkBytes) flush_chunk();
}

bool ShardCheckpoint::save_orphans(size_t& budget, int64_t t0, int64_t max_us) {
  if (orphans_next_ >= orphans_end_) return true;
  // Acknowledgements erase orphans in between steps, so the place is kept as a serial.
  for (const PgOrphanEvents& o : shard_.pg->orphans) {
    if (o.serial < orphans_next_) continue;
    if (o.serial >= orphans_end_) break;  // created after the marker
    if (o.events.empty()) continue;       // all acknowledged (erased by the next ack)
    if (budget == 0) return false;
    PutOrphans(chunk_, o);
    orphans_next_ = o.serial + 1;
    --budget;
    if (chunk_.size() >= limits::kCheckpointChunkBytes) flush_chunk();
    if (MonoUs() - t0 >= max_us) budget = 0;
  }
  orphans_next_ = orphans_end_;
  return true;
}

void ShardCheckpoint::flush_chunk() {
  if (chunk_.size() <= 4) return;
  // Sealed (CRC) by the checkpoint store's thread, not here: the shard's step stays short.
  emit_(std::move(chunk_));
  chunk_ = std::string();
  chunk_.reserve(limits::kCheckpointChunkBytes + 16384);  // no copies while it grows
  chunk_.assign(4, '\0');
}

void SealCheckpointChunk(std::string& chunk) { Seal(chunk); }

bool ShardCheckpoint::step(size_t budget, int64_t max_us) {
  ALLOT_CHECK(active_);
  int64_t t0 = MonoUs();
  int64_t cpu0 = ClockUs(CLOCK_THREAD_CPUTIME_ID);
  bool done = save_orphans(budget, t0, max_us);
  for (Db& db : shard_.dbs) {
    // Small slices so the clock is read often enough to keep the step short: at 10
    // million keys every bucket visited is a cache and TLB miss (measured up to ~2 us on
    // this VM), so 256 entries between two reads could already overrun the budget.
    while (db.checkpoint_pending() > 0 && budget > 0) {
      size_t slice = std::min<size_t>(budget, 32);
      db.checkpoint_step(slice);
      budget -= slice;
      if (MonoUs() - t0 >= max_us) budget = 0;
    }
    if (db.checkpoint_pending() > 0) done = false;
  }
  if (done) {
    for (Db& db : shard_.dbs) db.checkpoint_end();
    flush_chunk();
    active_ = false;
  }
  longest_step_us_ = std::max(longest_step_us_, static_cast<uint64_t>(MonoUs() - t0));
  longest_step_cpu_us_ = std::max(longest_step_cpu_us_,
                                  static_cast<uint64_t>(ClockUs(CLOCK_THREAD_CPUTIME_ID) - cpu0));
  return done;
}

std::string EncodeCheckpointMeta(const CheckpointMeta& meta) {
  std::string out(4, '\0');
  Put<uint8_t>(out, kCheckpointVersion);
  Put<uint64_t>(out, meta.lsn);
  Put<uint64_t>(out, meta.id);
  Put<uint64_t>(out, meta.chunks);
  Put<uint64_t>(out, meta.keys);
  Put<int64_t>(out, meta.created_ms);
  Put<uint32_t>(out, static_cast<uint32_t>(meta.shard_keys.size()));
  for (uint64_t k : meta.shard_keys) Put<uint64_t>(out, k);
  Put<uint32_t>(out, static_cast<uint32_t>(meta.functions.size()));
  out += meta.functions;
  Seal(out);
  return out;
}

std::string DecodeCheckpointMeta(std::string_view bytes, CheckpointMeta& meta) {
  std::string err = CheckCrc(bytes);
  if (!err.empty()) return "checkpoint meta " + err;
  Reader r{bytes.data() + 4, bytes.data() + bytes.size()};
  uint8_t version = r.get<uint8_t>();
  if (version != kCheckpointVersion && version != 3 && version != 2) {
    return "unknown checkpoint version " + std::to_string(version);
  }
  meta.lsn = r.get<uint64_t>();
  meta.id = r.get<uint64_t>();
  meta.chunks = r.get<uint64_t>();
  meta.keys = r.get<uint64_t>();
  meta.created_ms = r.get<int64_t>();
  uint32_t shards = r.get<uint32_t>();
  meta.shard_keys.clear();
  for (uint32_t i = 0; r.ok && i < shards && i < limits::kShardsMax; ++i) {
    meta.shard_keys.push_back(r.get<uint64_t>());
  }
  meta.functions.clear();
  if (version >= 3) meta.functions = std::string(r.str());
  if (!r.ok || r.p != r.end) return "checkpoint meta has the wrong size";
  return "";
}

std::string_view FirstKeyOfCheckpointChunk(std::string_view bytes) {
  if (bytes.size() < 4) return {};
  Reader r{bytes.data() + 4, bytes.data() + bytes.size()};
  r.get<uint8_t>();  // db
  r.get<uint8_t>();  // type
  r.get<int64_t>();  // expire_at_ms
  std::string_view key = r.str();
  return r.ok ? key : std::string_view();
}

std::string DecodeCheckpointChunk(std::string_view bytes, const CheckpointEntryFn& fn) {
  std::string err = CheckCrc(bytes);
  if (!err.empty()) return err;
  Reader r{bytes.data() + 4, bytes.data() + bytes.size()};
  while (r.ok && r.p < r.end) {
    int db = r.get<uint8_t>();
    uint8_t type = r.get<uint8_t>();
    int64_t expire = r.get<int64_t>();
    std::string_view key = r.str();
    Value v;
    switch (static_cast<ValueType>(type)) {
      case ValueType::kString:
        v = StringValue(r.str());
        break;
      case ValueType::kSet: {
        SetValue s;
        for (uint32_t n = r.get<uint32_t>(); r.ok && n > 0; --n) s.emplace(r.str());
        v = std::move(s);
        break;
      }
      case ValueType::kList: {
        ListValue l;
        for (uint32_t n = r.get<uint32_t>(); r.ok && n > 0; --n) l.emplace_back(r.str());
        v = std::move(l);
        break;
      }
      case ValueType::kHash: {
        HashValue h;
        for (uint32_t n = r.get<uint32_t>(); r.ok && n > 0; --n) {
          std::string_view f = r.str();
          h.insert_or_assign(std::string(f), std::string(r.str()));
        }
        v = std::move(h);
        break;
      }
      case ValueType::kInventory: {
        auto inv = std::make_unique<Inventory>();
        std::string err = ReadInventory(r, *inv);
        if (!err.empty()) return err + " (key '" + std::string(key.substr(0, 64)) + "')";
        v = std::move(inv);
        break;
      }
      default:
        return "unknown value type " + std::to_string(type);
    }
    if (!r.ok) break;
    if (db >= limits::kDatabaseCount &&
        !(db == kCheckpointOrphansDb && type == static_cast<uint8_t>(ValueType::kInventory))) {
      return "database index " + std::to_string(db);
    }
    fn(db, key, std::move(v), expire);
  }
  if (!r.ok) return "entry runs past the end of the chunk";
  return "";
}

}  // namespace allot::internal
