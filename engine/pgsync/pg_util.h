// pg_util.h: the libpq pieces the sync worker and the restore share: connecting, running
// SQL, COPY, the text escaping of COPY, and the schema (created and migrated at start).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace allot::internal {

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnCloser>;

struct PgResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultCloser>;

// Connects with a connect timeout (kPgConnectTimeoutS) and TCP keepalives, so a vanished
// server is noticed. nullptr and *err on failure.
PgConnPtr PgConnect(const std::string& url, std::string* err);

// Runs sql (one or several statements, simple protocol). False and *err on failure.
bool PgExec(PGconn* c, const std::string& sql, std::string* err);
// Runs one query and returns its result (nullptr and *err on failure).
PgResultPtr PgQuery(PGconn* c, const std::string& sql, std::string* err);
// COPY <table> FROM STDIN with data in COPY's text format.
bool PgCopyIn(PGconn* c, const std::string& table, const std::string& data, std::string* err);

// COPY text format: a field (escaped), the null marker, separators.
void CopyText(std::string& out, std::string_view s);
void CopyBytea(std::string& out, std::string_view bytes);
void CopyInt(std::string& out, int64_t v);
void CopyNull(std::string& out);
// Unix milliseconds as a timestamptz literal in UTC ("2026-11-23 13:26:34.123+00").
void CopyTimestamp(std::string& out, int64_t ms);
inline void CopyTab(std::string& out) { out.push_back('\t'); }
inline void CopyEol(std::string& out) { out.push_back('\n'); }

// Whether s can be stored in a text column: valid UTF-8 without NUL.
bool PgTextOk(std::string_view s);

// "schema"."name", quoted.
std::string PgTable(PGconn* c, const std::string& schema, std::string_view name);
// A quoted literal.
std::string PgLiteral(PGconn* c, std::string_view s);

// The schema version this build writes.
inline constexpr int kPgSchemaVersion = 1;
// Creates the schema and its tables or migrates them to kPgSchemaVersion, in one
// transaction under an advisory lock (two nodes starting at once do it once).
bool PgMigrate(PGconn* c, const std::string& schema, std::string* err);

}  // namespace allot::internal
