#include "tools/rush/driver.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <numeric>
#include <queue>
#include <random>

#include "tools/rush/resp.h"
#include "tools/rush/scripts.h"
#include "tools/rush/sync_client.h"

namespace allot::rush {

namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t WallMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

double CpuSeconds(const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

constexpr int64_t kTimeoutScanNs = 10'000'000;  // how often in-flight requests are checked
constexpr int64_t kReconnectDelayNs = 50'000'000;
constexpr int kEpollBatch = 512;

// Everything decided about a user before the sale opens, from the seed alone, so a run
// is reproducible whatever the timing.
struct UserPlan {
  int64_t arrival_ns = 0;    // after the sale opens, wall clock
  int64_t pay_delay_ns = 0;  // hold flow: from the hold to the confirm
  uint32_t qty = 1;
  bool duplicate = false;  // the click is sent twice at once
  bool abandon = false;    // walks away from the hold
};

struct UserState {
  uint8_t outstanding = 0;  // requests queued or in flight
  bool answered = false;    // the first step got an answer (user_wait recorded)
  bool sold_out = false;
  bool limited = false;
  bool failed = false;             // an error reply or no answer
  bool lost_hold = false;          // hold expired before the confirm, or abandoned
  bool uncertain = false;          // a request timed out: its outcome is unknown
  int32_t acquired = 0;            // units the user was told it bought or holds (peak)
  int32_t units_sold = 0;          // bought or confirmed
  std::vector<std::string> holds;  // hold ids the user was given
};

struct Req {
  uint32_t user = 0;
  Op op = kOpBuy;
  uint8_t click = 0;
  uint8_t attempt = 0;
  int64_t sent_ns = 0;
  std::string hold_id;  // confirm
};

struct Conn {
  int fd = -1;
  bool connecting = false;
  bool in_idle = false;
  bool dirty = false;
  bool want_out = false;
  int auth_pending = 0;
  int64_t opened_ns = 0;
  int64_t reconnect_at_ns = 0;  // > 0: closed, reconnect then
  std::string out;
  size_t out_off = 0;
  RespReader reader;
  std::deque<Req> inflight;
};

class Rush {
 public:
  Rush(const Options& o, Report* r, FILE* progress)
      : o_(o), r_(*r), progress_(progress), keys_(o.key) {}
  ~Rush();
  bool run(std::string* err);

 private:
  void loop();
  void plan();
  bool open_pool(std::string* err);
  void open_conn(size_t ci);
  void drop_conn(size_t ci, bool timed_out);
  void dispatch(Req req);
  void fill(size_t ci);
  void assign(size_t ci, Req req);
  void encode(std::string& out, const Req& req);
  void flush(size_t ci);
  void on_event(size_t ci, uint32_t events);
  void on_readable(size_t ci);
  void on_reply(Req& req, const RespValue& v);
  void on_buy_reply(Req& req, UserState& u, const RespValue& v);
  void on_hold_reply(Req& req, UserState& u, const RespValue& v);
  void on_confirm_reply(Req& req, UserState& u, const RespValue& v);
  void error_reply(UserState& u, const std::string& text);
  void done_request(UserState& u);
  void give_up(Req& req);
  void arrive(uint32_t user);
  void pay(uint32_t user);
  void check_timeouts(int64_t now);
  void show_progress(int64_t now, bool last);
  void wait_for_expiry();
  void summarize_users();
  void check_users(SyncClient& admin);
  void compare_user(uint32_t user, int64_t server_units, int64_t server_held);
  int64_t epoll_timeout_ns(int64_t now) const;
  bool finished(int64_t now) const;
  void abort_remaining();

  const Options& o_;
  Report& r_;
  Tally& t_ = r_.tally;
  FILE* progress_;
  bool tty_ = false;
  Keys keys_;
  Scripts sha_;
  int ep_ = -1;
  std::vector<Conn> conns_;
  std::vector<uint32_t> idle_;   // connections with room for another request
  std::vector<uint32_t> dirty_;  // connections with bytes to send
  std::deque<Req> ready_;        // requests waiting for a connection
  size_t inflight_ = 0;
  std::vector<UserPlan> plan_;
  std::vector<UserState> users_;
  std::vector<uint32_t> order_;  // users by arrival
  size_t next_arrival_ = 0;
  using Event = std::pair<int64_t, uint32_t>;  // (when, user): a payment
  std::priority_queue<Event, std::vector<Event>, std::greater<>> payments_;
  std::deque<int64_t> abandoned_deadlines_;  // for the live "holds open" figure
  int64_t abandoned_expired_ = 0;
  int64_t t0_ = 0;                // the sale opens (monotonic ns)
  int64_t cap_ns_ = 0;            // no new requests after t0_ + cap_ns_
  int64_t last_deadline_ms_ = 0;  // wall clock: the latest hold deadline a client saw
  int64_t next_scan_ = 0;
  int64_t next_progress_ = 0;
  uint64_t last_progress_replies_ = 0;
  int64_t last_progress_ns_ = 0;
  bool cap_hit_ = false;
  int64_t rush_end_ns_ = 0;        // the last answer to a user's click
  int64_t last_connected_ns_ = 0;  // the last scan that found a connection up
  bool server_gone_ = false;
};

Rush::~Rush() {
  for (auto& c : conns_) {
    if (c.fd >= 0) close(c.fd);
  }
  if (ep_ >= 0) close(ep_);
}

void Rush::plan() {
  std::mt19937_64 rng(o_.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int64_t> qty(o_.qty_min, o_.qty_max);
  const double window_ns = o_.window_s * 1e9 / o_.time_scale;
  plan_.resize(static_cast<size_t>(o_.users));
  for (auto& p : plan_) {
    double u = unit(rng);
    // Burst: most users in the first moments, then a tail (density ~ t^(-2/3)).
    double at = o_.arrival == Arrival::kBurst ? u * u * u : u;
    p.arrival_ns = static_cast<int64_t>(at * window_ns);
    double pay_s = o_.pay_min_s + unit(rng) * (o_.pay_max_s - o_.pay_min_s);
    p.pay_delay_ns = static_cast<int64_t>(pay_s * 1e9 / o_.time_scale);
    p.qty = static_cast<uint32_t>(qty(rng));
    p.duplicate = unit(rng) < o_.duplicate_rate;
    p.abandon = unit(rng) < o_.abandon_rate;
  }
  users_.resize(plan_.size());
  order_.resize(plan_.size());
  std::iota(order_.begin(), order_.end(), 0);
  std::stable_sort(order_.begin(), order_.end(), [&](uint32_t a, uint32_t b) {
    return plan_[a].arrival_ns < plan_[b].arrival_ns;
  });
}

void Rush::open_conn(size_t ci) {
  Conn& c = conns_[ci];
  std::string err;
  c = Conn{};
  c.fd = ConnectTcp(o_.host, o_.port, true, &err);
  c.opened_ns = NowNs();
  if (c.fd < 0) {
    c.reconnect_at_ns = c.opened_ns + kReconnectDelayNs;
    return;
  }
  c.connecting = true;
  c.want_out = true;
  if (!o_.password.empty()) {
    AppendCommand(c.out, {"AUTH", o_.password});
    c.auth_pending = 1;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = ci;
  epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
}

bool Rush::open_pool(std::string* err) {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  conns_.resize(static_cast<size_t>(o_.connections));
  for (size_t i = 0; i < conns_.size(); ++i) open_conn(i);
  // The sale opens once the whole pool is connected, as a web tier's pool would be.
  int64_t deadline = NowNs() + 10'000'000'000;
  epoll_event evs[kEpollBatch];
  while (NowNs() < deadline) {
    size_t connected = 0;
    for (auto& c : conns_) connected += c.fd >= 0 && !c.connecting;
    if (connected == conns_.size()) return true;
    int n = epoll_wait(ep_, evs, kEpollBatch, 50);
    for (int i = 0; i < n; ++i) on_event(evs[i].data.u64, evs[i].events);
    for (size_t i = 0; i < conns_.size(); ++i) {
      if (conns_[i].fd < 0 && NowNs() >= conns_[i].reconnect_at_ns) open_conn(i);
    }
  }
  size_t connected = 0;
  for (auto& c : conns_) connected += c.fd >= 0 && !c.connecting;
  *err = "only " + std::to_string(connected) + " of " + std::to_string(conns_.size()) +
         " connections to " + o_.host + ":" + std::to_string(o_.port) +
         " were established within 10 s (ulimit -n? server maxclients?)";
  return false;
}

// Closes a connection whose peer failed or whose oldest request timed out, and gives
// its requests another attempt elsewhere (same request id: INV.* ids make the retry
// safe) or, after the last retry, gives them up as unanswered.
void Rush::drop_conn(size_t ci, bool timed_out) {
  Conn& c = conns_[ci];
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  std::deque<Req> lost = std::move(c.inflight);
  inflight_ -= lost.size();
  c.inflight.clear();
  c.in_idle = false;
  c.reconnect_at_ns = NowNs() + (timed_out ? 0 : kReconnectDelayNs);
  ++t_.reconnects;
  for (auto& req : lost) {
    if (timed_out) ++t_.timeouts;
    users_[req.user].uncertain = true;
    // The buy script has no request id: a retry may buy a second time.
    if (o_.mode == Mode::kLua && req.op == kOpBuy) t_.units_unknown += plan_[req.user].qty;
    if (req.attempt < o_.retries && !cap_hit_) {
      ++req.attempt;
      ++t_.retries;
      ready_.push_front(std::move(req));
    } else {
      give_up(req);
    }
  }
}

void Rush::give_up(Req& req) {
  ++t_.unanswered;
  if (!(o_.mode == Mode::kLua && req.op == kOpBuy)) t_.units_unknown += plan_[req.user].qty;
  UserState& u = users_[req.user];
  u.failed = true;
  done_request(u);
}

void Rush::dispatch(Req req) {
  while (!idle_.empty()) {
    uint32_t ci = idle_.back();
    Conn& c = conns_[ci];
    if (c.fd < 0 || c.connecting || c.inflight.size() >= static_cast<size_t>(o_.pipeline)) {
      idle_.pop_back();
      c.in_idle = false;
      continue;
    }
    assign(ci, std::move(req));
    if (c.inflight.size() >= static_cast<size_t>(o_.pipeline)) {
      idle_.pop_back();
      c.in_idle = false;
    }
    return;
  }
  // A confirm goes ahead of queued clicks: the user already holds the unit, and a
  // checkout rarely waits behind the buy button's queue (it is its own service in most
  // designs). Otherwise an overloaded pool lets every hold expire in the queue.
  if (req.op == kOpConfirm) {
    ready_.push_front(std::move(req));
  } else {
    ready_.push_back(std::move(req));
  }
}

// Gives a connection with room the queued requests, or parks it as idle.
void Rush::fill(size_t ci) {
  Conn& c = conns_[ci];
  if (c.fd < 0 || c.connecting) return;
  while (!ready_.empty() && c.inflight.size() < static_cast<size_t>(o_.pipeline)) {
    Req req = std::move(ready_.front());
    ready_.pop_front();
    assign(ci, std::move(req));
  }
  if (c.inflight.size() < static_cast<size_t>(o_.pipeline) && !c.in_idle) {
    c.in_idle = true;
    idle_.push_back(static_cast<uint32_t>(ci));
  }
}

void Rush::assign(size_t ci, Req req) {
  Conn& c = conns_[ci];
  encode(c.out, req);
  req.sent_ns = NowNs();
  ++t_.requests_sent;
  c.inflight.push_back(std::move(req));
  ++inflight_;
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(static_cast<uint32_t>(ci));
  }
}

void Rush::encode(std::string& out, const Req& req) {
  const std::string user = "u" + std::to_string(req.user);
  const std::string qty = std::to_string(plan_[req.user].qty);
  const std::string id = std::to_string(req.user) + "." + std::to_string(req.click);
  const bool one = plan_[req.user].qty == 1;
  switch (o_.mode) {
    case Mode::kBuy:
      if (one) {
        AppendCommand(out, {"INV.BUY", keys_.inv, user, "ID", "r" + id});
      } else {
        AppendCommand(out, {"INV.BUY", keys_.inv, user, "QTY", qty, "ID", "r" + id});
      }
      return;
    case Mode::kHold:
      if (req.op == kOpConfirm) {
        AppendCommand(out, {"INV.CONFIRM", keys_.inv, req.hold_id});
      } else {
        AppendCommand(out, {"INV.HOLD", keys_.inv, user, "QTY", qty, "ID", "h" + id});
      }
      return;
    case Mode::kLua:
      if (o_.script == Script::kQuota) {
        AppendCommand(out, {"EVALSHA", sha_.buy, "1", keys_.stock, qty, std::to_string(o_.items)});
      } else {
        AppendCommand(out, {"EVALSHA", sha_.buy, "2", keys_.stock, keys_.buyers, user});
      }
      return;
    case Mode::kLuaHold: {
      std::vector<std::string> a = {"EVALSHA", req.op == kOpConfirm ? sha_.confirm : sha_.hold,
                                    std::to_string(kHoldKeyCount)};
      a.insert(a.end(), keys_.hold_keys.begin(), keys_.hold_keys.end());
      std::string now = std::to_string(WallMs());
      if (req.op == kOpConfirm) {
        a.insert(a.end(), {req.hold_id, now});
      } else {
        a.insert(a.end(), {user, now, std::to_string(o_.hold_ttl_ms()), "h" + id});
      }
      AppendCommand(out, a);
      return;
    }
  }
}

void Rush::flush(size_t ci) {
  Conn& c = conns_[ci];
  c.dirty = false;
  if (c.fd < 0 || c.connecting) return;
  while (c.out_off < c.out.size()) {
    ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    drop_conn(ci, false);
    return;
  }
  bool pending = c.out_off < c.out.size();
  if (!pending) {
    c.out.clear();
    c.out_off = 0;
  }
  if (pending != c.want_out) {
    c.want_out = pending;
    epoll_event ev{};
    ev.events = EPOLLIN | (pending ? EPOLLOUT : 0u);
    ev.data.u64 = ci;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }
}

void Rush::on_event(size_t ci, uint32_t events) {
  Conn& c = conns_[ci];
  if (c.fd < 0) return;
  if (c.connecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0) {
      drop_conn(ci, false);
      return;
    }
    c.connecting = false;
    flush(ci);
    if (c.fd >= 0 && t0_ > 0) fill(ci);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(ci);
  if (c.fd >= 0 && (events & EPOLLOUT)) flush(ci);
}

void Rush::on_readable(size_t ci) {
  Conn& c = conns_[ci];
  char buf[65536];
  while (true) {
    ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.reader.feed(std::string_view(buf, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    drop_conn(ci, false);  // closed by the server, or reset
    return;
  }
  int64_t now = NowNs();
  while (auto v = c.reader.next()) {
    if (c.auth_pending > 0) {
      --c.auth_pending;
      if (v->is_error()) error_reply(users_[0], "AUTH: " + v->str);
      continue;
    }
    if (c.inflight.empty()) {
      ++t_.errors;
      ++t_.error_texts["a reply nobody asked for: " + v->describe()];
      continue;
    }
    Req req = std::move(c.inflight.front());
    c.inflight.pop_front();
    --inflight_;
    ++t_.replies;
    uint64_t lat = static_cast<uint64_t>(now - req.sent_ns);
    r_.all.record(lat);
    r_.ops[req.op].record(lat);
    on_reply(req, *v);
  }
  if (c.reader.failed()) {
    ++t_.errors;
    ++t_.error_texts["protocol error in a reply"];
    drop_conn(ci, false);
    return;
  }
  fill(ci);
}

void Rush::error_reply(UserState& u, const std::string& text) {
  ++t_.errors;
  ++t_.error_texts[text];
  u.failed = true;
}

void Rush::on_reply(Req& req, const RespValue& v) {
  UserState& u = users_[req.user];
  if (req.op != kOpConfirm) {
    rush_end_ns_ = NowNs();
    r_.rush_replies = t_.replies;
  }
  if (!u.answered && req.op != kOpConfirm) {
    u.answered = true;
    int64_t waited = NowNs() - (t0_ + plan_[req.user].arrival_ns);
    r_.user_wait.record(static_cast<uint64_t>(std::max<int64_t>(waited, 0)));
  }
  if (v.is_error()) {
    error_reply(u, v.str);
  } else if (req.op == kOpBuy) {
    on_buy_reply(req, u, v);
  } else if (req.op == kOpHold) {
    on_hold_reply(req, u, v);
  } else {
    on_confirm_reply(req, u, v);
  }
  done_request(u);
}

void Rush::on_buy_reply(Req& req, UserState& u, const RespValue& v) {
  const int32_t qty = static_cast<int32_t>(plan_[req.user].qty);
  if (v.is_int() && v.integer == 1) {
    t_.units_bought += qty;
    u.units_sold += qty;
    u.acquired += qty;
    if (o_.limit > 0 && u.acquired > o_.limit && u.acquired - qty <= o_.limit) {
      ++t_.duplicate_buyers_seen;
    }
  } else if (v.is_int() && v.integer == 0) {
    u.sold_out = true;
  } else if (v.is_int() && v.integer == -1) {
    u.limited = true;
  } else {
    error_reply(u, "unexpected buy reply: " + v.describe());
  }
}

void Rush::on_hold_reply(Req& req, UserState& u, const RespValue& v) {
  const int32_t qty = static_cast<int32_t>(plan_[req.user].qty);
  std::string id;
  if (o_.mode == Mode::kHold && v.is_bulk()) {
    id = v.str;
  } else if (o_.mode == Mode::kLuaHold && v.is_int() && v.integer == 1) {
    id = "h" + std::to_string(req.user) + "." + std::to_string(req.click);
  }
  if (!id.empty()) {
    ++t_.holds_opened;
    last_deadline_ms_ = std::max(last_deadline_ms_, WallMs() + o_.hold_ttl_ms());
    u.acquired += qty;
    if (o_.limit > 0 && u.acquired > o_.limit && u.acquired - qty <= o_.limit) {
      ++t_.duplicate_buyers_seen;
    }
    u.holds.push_back(std::move(id));
    if (u.holds.size() == 1) payments_.emplace(NowNs() + plan_[req.user].pay_delay_ns, req.user);
    if (u.holds.size() > 1 && !plan_[req.user].abandon) {
      // A second hold (a broken server let both clicks through): pay it too.
      Req c{req.user, kOpConfirm, req.click, 0, 0, u.holds.back()};
      ++u.outstanding;
      dispatch(std::move(c));
    }
  } else if (v.is_int() && v.integer == 0) {
    u.sold_out = true;
  } else if (v.is_int() && v.integer == -1) {
    u.limited = true;
  } else {
    error_reply(u, "unexpected hold reply: " + v.describe());
  }
}

void Rush::on_confirm_reply(Req& req, UserState& u, const RespValue& v) {
  const int32_t qty = static_cast<int32_t>(plan_[req.user].qty);
  if (v.is_int() && v.integer == 1) {
    ++t_.holds_confirmed;
    t_.units_confirmed += qty;
    u.units_sold += qty;
  } else if (v.is_int() && v.integer == -2) {
    ++t_.holds_expired_at_confirm;
    u.lost_hold = true;
  } else {
    error_reply(u, "unexpected confirm reply: " + v.describe());
  }
}

void Rush::done_request(UserState& u) { --u.outstanding; }

void Rush::arrive(uint32_t user) {
  ++t_.users;
  const Op op = o_.hold_flow() ? kOpHold : kOpBuy;
  int clicks = plan_[user].duplicate ? 2 : 1;
  users_[user].outstanding += static_cast<uint8_t>(clicks);
  for (int k = 0; k < clicks; ++k) {
    dispatch(Req{user, op, static_cast<uint8_t>(k), 0, 0, {}});
  }
}

void Rush::pay(uint32_t user) {
  UserState& u = users_[user];
  if (plan_[user].abandon || cap_hit_) {
    // Walks away (or the run's cap passed): the hold expires on the server.
    t_.holds_abandoned += 1;
    u.lost_hold = true;
    abandoned_deadlines_.push_back(NowNs() + o_.hold_ttl_ms() * 1'000'000 -
                                   plan_[user].pay_delay_ns);
    return;
  }
  ++u.outstanding;
  dispatch(Req{user, kOpConfirm, 0, 0, 0, u.holds.front()});
}

void Rush::check_timeouts(int64_t now) {
  const int64_t timeout_ns = o_.timeout_ms * 1'000'000;
  for (size_t ci = 0; ci < conns_.size(); ++ci) {
    Conn& c = conns_[ci];
    if (c.fd < 0) {
      if (c.reconnect_at_ns > 0 && now >= c.reconnect_at_ns) open_conn(ci);
      continue;
    }
    bool late = !c.inflight.empty() && now - c.inflight.front().sent_ns > timeout_ns;
    bool stuck = c.connecting && now - c.opened_ns > timeout_ns;
    if (late || stuck) drop_conn(ci, late);
    if (c.fd >= 0 && !c.connecting) last_connected_ns_ = now;
  }
  // The server is gone (no connection up for three timeouts, at least 2 s): stop the
  // sale here instead of queueing users until --duration-s.
  if (!cap_hit_ && now - last_connected_ns_ > std::max<int64_t>(3 * timeout_ns, 2'000'000'000)) {
    cap_hit_ = true;
    server_gone_ = true;
    r_.notes.push_back("no connection to the server for " +
                       std::to_string((now - last_connected_ns_) / 1'000'000) +
                       " ms: the run was stopped");
    abort_remaining();
  }
}

bool Rush::finished(int64_t now) const {
  bool arrivals_done = next_arrival_ == order_.size() || now - t0_ >= cap_ns_;
  return arrivals_done && payments_.empty() && ready_.empty() && inflight_ == 0;
}

int64_t Rush::epoll_timeout_ns(int64_t now) const {
  int64_t next = std::min(next_scan_, next_progress_);
  if (next_arrival_ < order_.size())
    next = std::min(next, t0_ + plan_[order_[next_arrival_]].arrival_ns);
  if (!payments_.empty()) next = std::min(next, payments_.top().first);
  return std::max<int64_t>(0, next - now);
}

// After the cap (and a grace of one timeout), whatever is still queued or in flight is
// given up, so a dead server cannot keep the run going.
void Rush::abort_remaining() {
  for (size_t ci = 0; ci < conns_.size(); ++ci) {
    Conn& c = conns_[ci];
    while (!c.inflight.empty()) {
      give_up(c.inflight.front());
      c.inflight.pop_front();
      --inflight_;
    }
  }
  while (!ready_.empty()) {
    give_up(ready_.front());
    ready_.pop_front();
  }
  while (!payments_.empty()) {
    pay(payments_.top().second);
    payments_.pop();
  }
}

void Rush::show_progress(int64_t now, bool last) {
  if (progress_ == nullptr) return;
  while (!abandoned_deadlines_.empty() && abandoned_deadlines_.front() <= now) {
    abandoned_deadlines_.pop_front();
    ++abandoned_expired_;
  }
  double elapsed = (now - t0_) / 1e9;
  double dt = (now - last_progress_ns_) / 1e9;
  double rps = dt > 0 ? (t_.replies - last_progress_replies_) / dt : 0;
  last_progress_ns_ = now;
  last_progress_replies_ = t_.replies;
  int64_t open =
      t_.holds_opened - t_.holds_confirmed - t_.holds_expired_at_confirm - abandoned_expired_;
  int64_t left = o_.items - t_.units_sold() - std::max<int64_t>(open, 0);
  char line[256];
  std::snprintf(line, sizeof line,
                "%7.1fs %8.0f req/s  sold %lld/%lld  left %lld  holds %lld  users %llu/%lld  "
                "errors %llu  timeouts %llu  p99 %.2f ms",
                elapsed, rps, static_cast<long long>(t_.units_sold()),
                static_cast<long long>(o_.items), static_cast<long long>(left),
                static_cast<long long>(std::max<int64_t>(open, 0)),
                static_cast<unsigned long long>(t_.users), static_cast<long long>(o_.users),
                static_cast<unsigned long long>(t_.errors),
                static_cast<unsigned long long>(t_.timeouts), r_.all.percentile(99) / 1e6);
  if (tty_) {
    std::fprintf(progress_, "\r%-130s%s", line, last ? "\n" : "");
  } else {
    std::fprintf(progress_, "%s\n", line);
  }
  std::fflush(progress_);
}

void Rush::wait_for_expiry() {
  if (server_gone_) return;
  if (!o_.hold_flow() || last_deadline_ms_ == 0) {
    r_.waited_for_expiry = o_.hold_flow();
    return;
  }
  int64_t wait_ms = last_deadline_ms_ + 50 - WallMs();
  double spent_s = (NowNs() - t0_) / 1e9;
  double budget_s = std::max(5.0, o_.duration_s - spent_s);
  if (wait_ms > budget_s * 1000) {
    r_.notes.push_back("did not wait " + std::to_string(wait_ms / 1000) +
                       " s for the last holds to expire (over --duration-s)");
    return;
  }
  if (wait_ms > 0) {
    if (progress_ != nullptr && !o_.quiet) {
      std::fprintf(progress_, "waiting %.1f s for the open holds' deadlines\n", wait_ms / 1e3);
    }
    usleep(static_cast<useconds_t>(wait_ms) * 1000);
  }
  r_.waited_for_expiry = true;
}

void Rush::summarize_users() {
  for (size_t i = 0; i < users_.size(); ++i) {
    const UserState& u = users_[i];
    if (u.units_sold > 0) {
      ++t_.users_served;
    } else if (u.lost_hold) {
      ++t_.users_lost_hold;
    } else if (u.sold_out) {
      ++t_.users_sold_out;
    } else if (u.limited) {
      ++t_.users_limited;
    } else if (u.failed) {
      ++t_.users_failed;
    }
  }
  t_.units_held_open =
      t_.holds_opened - t_.holds_confirmed - t_.holds_expired_at_confirm - t_.holds_abandoned;
}

// The sale: arrivals, payments, replies and timeouts until every user is done.
void Rush::loop() {
  t0_ = NowNs();
  cap_ns_ = static_cast<int64_t>(o_.duration_s * 1e9);
  next_scan_ = t0_ + kTimeoutScanNs;
  next_progress_ = t0_ + (tty_ ? 250'000'000 : 1'000'000'000);
  last_progress_ns_ = t0_;
  last_connected_ns_ = t0_;
  for (size_t ci = 0; ci < conns_.size(); ++ci) fill(ci);
  epoll_event evs[kEpollBatch];
  int64_t now = t0_;
  while (!finished(now)) {
    for (uint32_t ci : dirty_) flush(ci);
    dirty_.clear();
    int64_t wait_ns = epoll_timeout_ns(now);
    timespec ts{static_cast<time_t>(wait_ns / 1'000'000'000),
                static_cast<long>(wait_ns % 1'000'000'000)};
    int n = epoll_pwait2(ep_, evs, kEpollBatch, &ts, nullptr);
    for (int i = 0; i < n; ++i) on_event(evs[i].data.u64, evs[i].events);
    now = NowNs();
    if (!cap_hit_ && now - t0_ >= cap_ns_) {
      cap_hit_ = true;
      r_.notes.push_back("--duration-s cap reached: " +
                         std::to_string(order_.size() - next_arrival_) + " users never arrived");
    }
    while (!cap_hit_ && next_arrival_ < order_.size() &&
           t0_ + plan_[order_[next_arrival_]].arrival_ns <= now) {
      arrive(order_[next_arrival_++]);
    }
    while (!payments_.empty() && (payments_.top().first <= now || cap_hit_)) {
      uint32_t user = payments_.top().second;
      payments_.pop();
      pay(user);
    }
    if (now >= next_scan_) {
      check_timeouts(now);
      next_scan_ = now + kTimeoutScanNs;
    }
    if (cap_hit_ && now - t0_ >= cap_ns_ + o_.timeout_ms * 1'000'000) abort_remaining();
    if (now >= next_progress_) {
      if (!o_.quiet) show_progress(now, false);
      next_progress_ = now + (tty_ ? 250'000'000 : 1'000'000'000);
    }
  }
}

void Rush::compare_user(uint32_t user, int64_t server_units, int64_t server_held) {
  PerUserCheck& p = r_.per_user;
  const UserState& u = users_[user];
  ++p.checked;
  if (o_.limit > 0 && server_units + server_held > o_.limit) ++p.over_limit;
  // A user with a timed-out request may have bought without being told.
  if (!u.uncertain && server_units != u.units_sold) {
    ++p.mismatched;
    if (p.example.empty()) {
      p.example = "u" + std::to_string(user) + ": server " + std::to_string(server_units) +
                  ", told " + std::to_string(u.units_sold);
    }
  }
}

// Looks up, on the server, every user who was told they got something or who clicked
// twice (native: INV.USER, pipelined; lua: the buyers set, once). Quota runs have no
// per-user state on the server and are skipped.
void Rush::check_users(SyncClient& admin) {
  if (o_.limit == 0 || !r_.server.read) return;
  std::vector<uint32_t> who;
  for (uint32_t i = 0; i < users_.size(); ++i) {
    if (users_[i].acquired > 0 || plan_[i].duplicate) who.push_back(i);
  }
  r_.per_user.checked = 0;
  if (o_.lua()) {
    std::vector<std::string> members;
    std::string err;
    if (!ReadBuyers(admin, keys_, &members, &err)) {
      r_.notes.push_back("per-user check skipped: " + err);
      r_.per_user.checked = -1;
      return;
    }
    std::vector<char> in_set(users_.size(), 0);
    for (const auto& m : members) {
      uint64_t n = m.size() > 1 ? std::strtoull(m.c_str() + 1, nullptr, 10) : users_.size();
      if (n < users_.size()) in_set[n] = 1;
    }
    for (uint32_t i = 0; i < users_.size(); ++i) {
      if (in_set[i] || users_[i].units_sold > 0) compare_user(i, in_set[i], 0);
    }
    return;
  }
  constexpr size_t kBatch = 1000;
  for (size_t at = 0; at < who.size(); at += kBatch) {
    std::vector<std::vector<std::string>> cmds;
    for (size_t k = at; k < std::min(who.size(), at + kBatch); ++k) {
      cmds.push_back({"INV.USER", keys_.inv, "u" + std::to_string(who[k])});
    }
    std::vector<RespValue> replies = admin.call_many(cmds);
    for (size_t k = 0; k < replies.size(); ++k) {
      int64_t held = 0, bought = 0;
      const auto& e = replies[k].elements;
      for (size_t f = 0; f + 1 < e.size(); f += 2) {
        if (e[f].str == "held") held = e[f + 1].integer;
        if (e[f].str == "bought") bought = e[f + 1].integer;
      }
      compare_user(who[at + k], bought, held);
    }
  }
}

bool Rush::run(std::string* err) {
  tty_ = progress_ != nullptr && isatty(fileno(progress_));
  SyncClient admin;
  if (!admin.connect(o_, err)) return false;
  if (!SetupSale(admin, o_, keys_, &sha_, err)) return false;
  plan();
  if (!open_pool(err)) return false;

  rusage ru0;
  getrusage(RUSAGE_SELF, &ru0);
  loop();
  r_.wall_s = (NowNs() - t0_) / 1e9;
  r_.rush_s = rush_end_ns_ > t0_ ? (rush_end_ns_ - t0_) / 1e9 : r_.wall_s;
  rusage ru1;
  getrusage(RUSAGE_SELF, &ru1);
  r_.cpu_user_s = CpuSeconds(ru1.ru_utime) - CpuSeconds(ru0.ru_utime);
  r_.cpu_sys_s = CpuSeconds(ru1.ru_stime) - CpuSeconds(ru0.ru_stime);
  if (!o_.quiet) show_progress(NowNs(), true);
  summarize_users();
  for (auto& c : conns_) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }
  wait_for_expiry();
  std::string read_err;
  if (!ReadServerState(admin, o_, keys_, sha_, WallMs(), &r_.server, &read_err)) {
    r_.notes.push_back("reading the server's counters failed: " + read_err);
  }
  check_users(admin);
  if (!o_.keep_keys) DeleteKeys(admin, keys_);
  return true;
}

}  // namespace

bool RunRush(const Options& o, Report* report, std::string* err, FILE* progress) {
  *report = Report{};
  report->options = o;
  // Thousands of sockets: raise the soft descriptor limit to the hard one.
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  auto rush = std::make_unique<Rush>(report->options, report, progress);
  if (!rush->run(err)) return false;
  Verify(*report);
  return true;
}

}  // namespace allot::rush
