// The promise, from an application's point of view: 5,000 tickets, limit 1 per user,
// 50,000 concurrent buyers from many application threads. Exits non-zero on any violation.
#include <allot/engine.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

int main() {
  allot::Config cfg;  // one shard per core, memory only
  allot::Engine engine(cfg);
  allot::Reply created =
      engine.call({"INV.CREATE", "concert:42", "5000", "LIMIT", "1", "HOLD", "300000"});
  if (!created.is_status()) {
    std::fprintf(stderr, "INV.CREATE: %s\n", created.debug_string().c_str());
    return 1;
  }
  constexpr int kUsers = 50000;
  constexpr int kThreads = 50;
  std::atomic<int> taken{0}, sold_out{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int u = t; u < kUsers; u += kThreads) {
        std::string user = "user:" + std::to_string(u);
        // Every user double-clicks: the second click must answer -1 (at the limit) or 0.
        for (int click = 0; click < 2; ++click) {
          allot::Reply r = engine.call({"INV.BUY", "concert:42", user});
          if (r.is_integer() && r.integer() == 1) {
            taken.fetch_add(1);
          } else if (r.is_integer() && (r.integer() == 0 || r.integer() == -1)) {
            sold_out.fetch_add(1);
          } else {
            other.fetch_add(1);
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  allot::Reply info = engine.call({"INV.GET", "concert:42"});
  const allot::Reply* sold = info.find("sold");
  const allot::Reply* available = info.find("available");
  std::printf("taken=%d refused=%d other=%d sold=%lld available=%lld\n", taken.load(),
              sold_out.load(), other.load(), sold ? static_cast<long long>(sold->integer()) : -1,
              available ? static_cast<long long>(available->integer()) : -1);
  bool ok = taken.load() == 5000 && other.load() == 0 && sold && sold->integer() == 5000 &&
            available && available->integer() == 0;
  return ok ? 0 : 1;
}
