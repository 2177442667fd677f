// tls.h: TLS for the tls-port listener, on OpenSSL 3 memory BIOs so that the io_uring
// loop keeps doing every socket read and write itself.
//
// Data path of a TLS connection (server/connection.cc): received ciphertext goes into
// the session (feed_ciphertext -> BIO_write into the read BIO); read_plaintext()
// (SSL_read) yields request bytes for the ordinary RESP parser and, while the handshake
// runs, produces handshake records in the write BIO. Replies are encrypted at send time
// (encrypt(): SSL_write into the write BIO) and take_ciphertext() (BIO_read) hands the
// records to the ordinary send path. So the handshake, renegotiation-free reads and
// writes all happen in the same loop, with no blocking call and no extra thread.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

namespace allot::server {

struct TlsSettings {
  std::string cert_file;
  std::string key_file;
  std::string ca_cert_file;         // optional unless auth_clients != "no"
  std::string auth_clients = "no";  // no | yes | optional
};

// The server's SSL_CTX: certificate, key, client verification. Shared by every shard
// (OpenSSL makes SSL_new on a shared context thread-safe).
class TlsContext {
 public:
  // nullptr and *err on failure (unreadable file, key not matching the certificate).
  static std::unique_ptr<TlsContext> Create(const TlsSettings& s, std::string* err);
  ~TlsContext();
  SSL_CTX* ctx() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// One connection's TLS state.
class TlsSession {
 public:
  explicit TlsSession(const TlsContext& ctx);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  enum class Status { kOk, kClosed, kError };
  void feed_ciphertext(std::string_view data);
  // Appends the decrypted bytes available now to *out. kClosed after the peer's
  // close_notify, kError on a protocol or handshake failure (error() says why).
  Status read_plaintext(std::string* out);
  // Encrypts plain (all of it, or keeps the rest until the handshake allows writing).
  Status encrypt(std::string_view plain);
  // Moves the records waiting to be sent into *out (appends).
  void take_ciphertext(std::string* out);
  bool has_ciphertext() const;
  const std::string& error() const { return error_; }

 private:
  Status fail(int ret);
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;    // ciphertext received, read by OpenSSL
  BIO* wbio_ = nullptr;    // ciphertext produced by OpenSSL, to send
  std::string unwritten_;  // plaintext waiting for the handshake
  std::string error_;
};

}  // namespace allot::server
