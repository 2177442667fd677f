#include "tools/rush/sync_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tools/rush/scripts.h"

namespace allot::rush {

int ConnectTcp(const std::string& host, int port, bool nonblocking, std::string* err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    *err = std::string("resolve ") + host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0),
                a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || (nonblocking && errno == EINPROGRESS)) {
      break;
    }
    *err = "connect " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

SyncClient::~SyncClient() {
  if (fd_ >= 0) close(fd_);
}

bool SyncClient::connect(const Options& o, std::string* err) {
  fd_ = ConnectTcp(o.host, o.port, false, err);
  if (fd_ < 0) return false;
  if (!o.password.empty()) {
    RespValue r = call({"AUTH", o.password});
    if (r.is_error()) {
      *err = "AUTH: " + r.str;
      return false;
    }
  }
  return true;
}

RespValue SyncClient::call(const std::vector<std::string>& args) {
  return call_many({args}).front();
}

std::vector<RespValue> SyncClient::call_many(const std::vector<std::vector<std::string>>& cmds) {
  std::string out;
  for (const auto& args : cmds) AppendCommand(out, args);
  std::vector<RespValue> replies;
  RespValue fail;
  fail.type = RespValue::Type::kError;
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = send(fd_, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      fail.str = std::string("transport: send: ") + std::strerror(errno);
      return std::vector<RespValue>(cmds.size(), fail);
    }
    off += static_cast<size_t>(n);
  }
  char buf[65536];
  while (replies.size() < cmds.size()) {
    if (auto v = reader_.next()) {
      replies.push_back(std::move(*v));
      continue;
    }
    if (reader_.failed()) {
      fail.str = "transport: protocol error in the reply";
      break;
    }
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) {
      fail.str = "transport: no reply within 10 s";
      break;
    }
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      fail.str = "transport: connection closed";
      break;
    }
    reader_.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
  replies.resize(cmds.size(), fail);
  return replies;
}

Keys::Keys(const std::string& base) {
  std::string tag = "{" + base + "}:";
  inv = tag + "inv";
  stock = tag + "stock";
  buyers = tag + "buyers";
  hold_keys = {stock,        buyers,          tag + "holds",    tag + "holdq",
               tag + "sold", tag + "expired", tag + "confirmed"};
}

std::vector<std::string> Keys::all() const {
  std::vector<std::string> v = {inv};
  v.insert(v.end(), hold_keys.begin(), hold_keys.end());
  return v;
}

bool ReadBuyers(SyncClient& c, const Keys& k, std::vector<std::string>* members, std::string* err) {
  RespValue r = c.call({"SMEMBERS", k.buyers});
  if (!r.is_array()) {
    *err = "SMEMBERS " + k.buyers + ": " + r.describe();
    return false;
  }
  members->clear();
  for (auto& e : r.elements) members->push_back(std::move(e.str));
  return true;
}

void DeleteKeys(SyncClient& c, const Keys& k) {
  std::vector<std::string> del = {"DEL"};
  for (auto& key : k.all()) del.push_back(key);
  c.call(del);
}

namespace {

bool Expect(const RespValue& r, const std::string& what, std::string* err) {
  if (r.is_error()) {
    *err = what + ": " + r.str;
    return false;
  }
  return true;
}

bool Load(SyncClient& c, const std::string& body, std::string* sha, std::string* err) {
  RespValue r = c.call({"SCRIPT", "LOAD", body});
  if (r.is_error() || !r.is_bulk()) {
    *err = "SCRIPT LOAD failed (" + r.describe() + "): lua modes need a server with scripting";
    return false;
  }
  *sha = r.str;
  return true;
}

bool ReadFile(const std::string& path, std::string* out, std::string* err) {
  std::ifstream f(path);
  if (!f) {
    *err = "cannot read " + path;
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

int64_t IntOf(const RespValue& v) {
  if (v.is_int()) return v.integer;
  if (v.is_bulk()) {
    try {
      return std::stoll(v.str);
    } catch (...) {
    }
  }
  return 0;
}

}  // namespace

bool SetupSale(SyncClient& c, const Options& o, const Keys& k, Scripts* s, std::string* err) {
  DeleteKeys(c, k);
  if (!o.lua()) {
    return Expect(c.call({"INV.CREATE", k.inv, std::to_string(o.items), "LIMIT",
                          std::to_string(o.limit), "HOLD", std::to_string(o.hold_ttl_ms())}),
                  "INV.CREATE", err);
  }
  if (o.mode == Mode::kLuaHold) {
    const auto& h = k.hold_keys;
    if (!Expect(c.call({"SET", h[0], std::to_string(o.items)}), "SET", err)) return false;
    if (!Expect(c.call({"SET", h[4], "0"}), "SET", err)) return false;
    if (!Expect(c.call({"SET", h[5], "0"}), "SET", err)) return false;
    return Load(c, kHoldScript, &s->hold, err) && Load(c, kConfirmScript, &s->confirm, err) &&
           Load(c, kSweepScript, &s->sweep, err);
  }
  std::string body = o.script == Script::kQuota ? kQuotaScript : kTicketsScript;
  if (o.script == Script::kFile && !ReadFile(o.script_file, &body, err)) return false;
  // Tickets: the counter holds the units left; quota: the units reserved so far.
  std::string start = o.script == Script::kQuota ? "0" : std::to_string(o.items);
  if (!Expect(c.call({"SET", k.stock, start}), "SET", err)) return false;
  return Load(c, body, &s->buy, err);
}

bool ReadServerState(SyncClient& c, const Options& o, const Keys& k, const Scripts& s,
                     int64_t now_ms, ServerState* st, std::string* err) {
  *st = ServerState{};
  if (!o.lua()) {
    st->source = "INV.GET " + k.inv;
    RespValue r = c.call({"INV.GET", k.inv});
    if (!r.is_array() || r.elements.size() % 2 != 0) {
      *err = "INV.GET: " + r.describe();
      return false;
    }
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      const std::string& f = r.elements[i].str;
      int64_t v = IntOf(r.elements[i + 1]);
      if (f == "total") st->total = v;
      if (f == "available") st->available = v;
      if (f == "held") st->held = v;
      if (f == "sold") st->sold = v;
      if (f == "buyers") st->buyers = v;
    }
  } else if (o.mode == Mode::kLuaHold) {
    const auto& h = k.hold_keys;
    std::vector<std::string> sweep = {"EVALSHA", s.sweep, std::to_string(kHoldKeyCount)};
    sweep.insert(sweep.end(), h.begin(), h.end());
    sweep.push_back(std::to_string(now_ms));
    RespValue open = c.call(sweep);
    if (open.is_error()) {
      *err = "sweep script: " + open.str;
      return false;
    }
    st->source = "GET " + h[0] + " / " + h[4] + " / " + h[5] + ", HLEN " + h[2] + ", SCARD " + h[1];
    st->total = o.items;
    st->available = IntOf(c.call({"GET", h[0]}));
    st->sold = IntOf(c.call({"GET", h[4]}));
    st->expired = IntOf(c.call({"GET", h[5]}));
    st->held = IntOf(c.call({"HLEN", h[2]}));
    st->buyers = IntOf(c.call({"SCARD", h[1]}));
  } else {
    RespValue v = c.call({"GET", k.stock});
    if (v.is_error()) {
      *err = "GET " + k.stock + ": " + v.str;
      return false;
    }
    int64_t counter = IntOf(v);
    st->total = o.items;
    if (o.script == Script::kQuota) {
      st->source = "GET " + k.stock + " (units reserved)";
      st->sold = counter;
      st->available = o.items - counter;
    } else {
      st->source = "GET " + k.stock + " (units left), SCARD " + k.buyers;
      st->available = counter;
      st->sold = o.items - counter;
      st->buyers = IntOf(c.call({"SCARD", k.buyers}));
    }
  }
  st->read = true;
  return true;
}

}  // namespace allot::rush
