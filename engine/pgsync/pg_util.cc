#include "engine/pgsync/pg_util.h"

#include <time.h>

#include <cstdio>
#include <vector>

#include "engine/limits.h"

namespace allot::internal {

namespace {

std::string ConnError(PGconn* c) {
  std::string e = PQerrorMessage(c);
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
  return e;
}

// Migration n brings the schema from version n - 1 to n. "@" stands for the quoted
// schema name. Never edit a released step: add the next one.
std::string Migration(int n) {
  switch (n) {
    case 1:
      return R"sql(
CREATE TABLE @.inventory (
  key text PRIMARY KEY,
  total bigint NOT NULL,
  available bigint NOT NULL,
  held bigint NOT NULL,
  sold bigint NOT NULL,
  per_user_limit bigint NOT NULL,
  updated_at timestamptz NOT NULL,
  lsn bigint NOT NULL,
  hold_ttl_ms bigint NOT NULL,
  item_id bigint NOT NULL,
  next_event_seq bigint NOT NULL,
  next_hold_seq bigint NOT NULL);
CREATE TABLE @.purchases (
  key text NOT NULL,
  user_id text NOT NULL,
  qty bigint NOT NULL,
  hold_id text NULL,
  status text NOT NULL CHECK (status IN ('sold', 'cancelled')),
  created_at timestamptz NOT NULL,
  item_id bigint NOT NULL,
  seq bigint NOT NULL,
  request_id text NULL,
  PRIMARY KEY (item_id, seq));
CREATE INDEX purchases_key_user ON @.purchases (key, user_id);
CREATE TABLE @.holds (
  key text NOT NULL,
  hold_id text NOT NULL,
  user_id text NOT NULL,
  qty bigint NOT NULL,
  deadline timestamptz NOT NULL,
  seq bigint NOT NULL,
  PRIMARY KEY (key, hold_id));
CREATE TABLE @.kv (
  key text PRIMARY KEY,
  value bytea NULL,
  expires_at timestamptz NULL,
  type text NOT NULL CHECK (type IN ('string', 'set')));
CREATE INDEX kv_expires_at ON @.kv (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE @.kv_set_members (
  key text NOT NULL,
  member bytea NOT NULL,
  PRIMARY KEY (key, member));
CREATE TABLE @.sync_state (
  node text PRIMARY KEY,
  lsn bigint NOT NULL,
  synced_at timestamptz NOT NULL);
)sql";
  }
  return "";
}

std::string ReplaceAll(std::string s, std::string_view from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
    s.replace(p, from.size(), to);
  }
  return s;
}

}  // namespace

PgConnPtr PgConnect(const std::string& url, std::string* err) {
  std::string timeout = std::to_string(limits::kPgConnectTimeoutS);
  // dbname is expanded as a connection string or URI; the keywords after it override it.
  const char* keys[] = {"dbname",
                        "connect_timeout",
                        "keepalives",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "application_name",
                        nullptr};
  const char* values[] = {url.c_str(), timeout.c_str(), "1", "10", "5", "3", "allot", nullptr};
  PgConnPtr c(PQconnectdbParams(keys, values, 1));
  if (c == nullptr) {
    *err = "out of memory";
    return nullptr;
  }
  if (PQstatus(c.get()) != CONNECTION_OK) {
    *err = ConnError(c.get());
    return nullptr;
  }
  // NOTICEs ("schema already exists, skipping") would go to stderr: not errors.
  PQsetNoticeProcessor(
      c.get(), [](void*, const char*) {}, nullptr);
  return c;
}

bool PgExec(PGconn* c, const std::string& sql, std::string* err) {
  // PQexec with several statements returns the last result; an error stops the rest.
  PgResultPtr r(PQexec(c, sql.c_str()));
  ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return true;
  *err = r ? PQresultErrorMessage(r.get()) : ConnError(c);
  if (err->empty()) *err = ConnError(c);
  while (!err->empty() && err->back() == '\n') err->pop_back();
  return false;
}

PgResultPtr PgQuery(PGconn* c, const std::string& sql, std::string* err) {
  PgResultPtr r(PQexec(c, sql.c_str()));
  if (r && PQresultStatus(r.get()) == PGRES_TUPLES_OK) return r;
  *err = r ? PQresultErrorMessage(r.get()) : ConnError(c);
  if (err->empty()) *err = ConnError(c);
  while (!err->empty() && err->back() == '\n') err->pop_back();
  return nullptr;
}

bool PgCopyIn(PGconn* c, const std::string& table, const std::string& data, std::string* err) {
  PgResultPtr r(PQexec(c, ("COPY " + table + " FROM STDIN").c_str()));
  if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN) {
    *err = r ? PQresultErrorMessage(r.get()) : ConnError(c);
    if (err->empty()) *err = ConnError(c);
    return false;
  }
  // In pieces: PQputCopyData takes an int length.
  for (size_t off = 0; off < data.size(); off += size_t{1} << 24) {
    size_t n = std::min(data.size() - off, size_t{1} << 24);
    if (PQputCopyData(c, data.data() + off, static_cast<int>(n)) != 1) {
      *err = ConnError(c);
      return false;
    }
  }
  if (PQputCopyEnd(c, nullptr) != 1) {
    *err = ConnError(c);
    return false;
  }
  bool ok = true;
  // Drain every result of the COPY; the last one is its status.
  while (PGresult* res = PQgetResult(c)) {
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      ok = false;
      *err = PQresultErrorMessage(res);
    }
    PQclear(res);
  }
  while (!err->empty() && err->back() == '\n') err->pop_back();
  return ok;
}

void CopyText(std::string& out, std::string_view s) {
  for (char ch : s) {
    switch (ch) {
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        out.push_back(ch);
    }
  }
}

void CopyBytea(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.append("\\\\x");  // bytea's hex form "\x...", its backslash escaped for COPY
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
}

void CopyInt(std::string& out, int64_t v) { out.append(std::to_string(v)); }

void CopyNull(std::string& out) { out.append("\\N"); }

void CopyTimestamp(std::string& out, int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(frac));
  out.append(buf);
}

bool PgTextOk(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > s.size() || (n == 2 && c < 0xC2)) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    uint32_t cp = c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string PgTable(PGconn* c, const std::string& schema, std::string_view name) {
  char* q = PQescapeIdentifier(c, schema.data(), schema.size());
  std::string out = q != nullptr ? q : "\"allot\"";
  PQfreemem(q);
  out.push_back('.');
  out.append(name);
  return out;
}

std::string PgLiteral(PGconn* c, std::string_view s) {
  char* q = PQescapeLiteral(c, s.data(), s.size());
  std::string out = q != nullptr ? q : "''";
  PQfreemem(q);
  return out;
}

bool PgMigrate(PGconn* c, const std::string& schema, std::string* err) {
  char* q = PQescapeIdentifier(c, schema.data(), schema.size());
  if (q == nullptr) {
    *err = "bad schema name";
    return false;
  }
  std::string s = q;
  PQfreemem(q);
  std::string sql =
      "BEGIN; SELECT pg_advisory_xact_lock(7271390001); CREATE SCHEMA IF NOT EXISTS " + s +
      "; CREATE TABLE IF NOT EXISTS " + s +
      ".schema_version (version int NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())";
  if (!PgExec(c, sql, err)) {
    PgExec(c, "ROLLBACK", err);
    return false;
  }
  PgResultPtr r = PgQuery(c, "SELECT coalesce(max(version), 0) FROM " + s + ".schema_version", err);
  if (!r) {
    std::string ignored;
    PgExec(c, "ROLLBACK", &ignored);
    return false;
  }
  int have = std::atoi(PQgetvalue(r.get(), 0, 0));
  if (have > kPgSchemaVersion) {
    std::string ignored;
    PgExec(c, "ROLLBACK", &ignored);
    *err = "the schema " + schema + " is at version " + std::to_string(have) +
           ", newer than this build's " + std::to_string(kPgSchemaVersion);
    return false;
  }
  for (int v = have + 1; v <= kPgSchemaVersion; ++v) {
    std::string step = ReplaceAll(Migration(v), "@", s) + "INSERT INTO " + s +
                       ".schema_version (version) VALUES (" + std::to_string(v) + ");";
    if (!PgExec(c, step, err)) {
      std::string ignored;
      PgExec(c, "ROLLBACK", &ignored);
      return false;
    }
  }
  return PgExec(c, "COMMIT", err);
}

}  // namespace allot::internal
