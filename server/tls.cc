#include "server/tls.h"

#include <openssl/err.h>

#include "engine/util/assert.h"

namespace allot::server {

namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

}  // namespace

std::unique_ptr<TlsContext> TlsContext::Create(const TlsSettings& s, std::string* err) {
  if (s.cert_file.empty() || s.key_file.empty()) {
    *err = "tls-port needs tls-cert-file and tls-key-file";
    return nullptr;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    *err = "SSL_CTX_new: " + OpenSslError();
    return nullptr;
  }
  std::unique_ptr<TlsContext> out(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, s.cert_file.c_str()) != 1) {
    *err = "Failed to load certificate " + s.cert_file + ": " + OpenSslError();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, s.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    *err = "Failed to load private key " + s.key_file + ": " + OpenSslError();
    return nullptr;
  }
  if (!s.ca_cert_file.empty() &&
      SSL_CTX_load_verify_locations(ctx, s.ca_cert_file.c_str(), nullptr) != 1) {
    *err = "Failed to load CA certificates " + s.ca_cert_file + ": " + OpenSslError();
    return nullptr;
  }
  if (s.auth_clients != "no") {
    if (s.ca_cert_file.empty()) {
      *err = "tls-auth-clients " + s.auth_clients + " needs tls-ca-cert-file";
      return nullptr;
    }
    int mode = SSL_VERIFY_PEER;
    if (s.auth_clients == "yes") mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
  }
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsSession::TlsSession(const TlsContext& ctx) {
  ssl_ = SSL_new(ctx.ctx());
  ALLOT_CHECK(ssl_ != nullptr);
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  ALLOT_CHECK(rbio_ != nullptr && wbio_ != nullptr);
  // An empty read BIO means "no data yet" (retry), not end of file.
  BIO_set_mem_eof_return(rbio_, -1);
  SSL_set_bio(ssl_, rbio_, wbio_);  // the SSL owns both BIOs now
  SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::feed_ciphertext(std::string_view data) {
  // A memory BIO takes everything (it grows); the caller bounds what it reads.
  int n = BIO_write(rbio_, data.data(), static_cast<int>(data.size()));
  ALLOT_CHECK(n == static_cast<int>(data.size()));
}

TlsSession::Status TlsSession::fail(int ret) {
  int e = SSL_get_error(ssl_, ret);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Status::kOk;
  if (e == SSL_ERROR_ZERO_RETURN) return Status::kClosed;
  error_ = e == SSL_ERROR_SSL ? OpenSslError() : "TLS error " + std::to_string(e);
  return Status::kError;
}

TlsSession::Status TlsSession::read_plaintext(std::string* out) {
  char buf[16 * 1024];
  for (;;) {
    int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) {
      Status st = fail(n);
      // The handshake may have just completed: send what waited for it.
      if (st == Status::kOk && !unwritten_.empty() && SSL_is_init_finished(ssl_)) {
        std::string pending;
        pending.swap(unwritten_);
        return encrypt(pending);
      }
      return st;
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

TlsSession::Status TlsSession::encrypt(std::string_view plain) {
  if (!unwritten_.empty()) {
    unwritten_.append(plain);
    plain = {};
    std::string pending;
    pending.swap(unwritten_);
    return encrypt(pending);
  }
  while (!plain.empty()) {
    int n =
        SSL_write(ssl_, plain.data(), static_cast<int>(std::min<size_t>(plain.size(), 1 << 30)));
    if (n <= 0) {
      Status st = fail(n);
      if (st == Status::kOk) unwritten_.assign(plain);  // handshake first
      return st;
    }
    plain.remove_prefix(static_cast<size_t>(n));
  }
  return Status::kOk;
}

void TlsSession::take_ciphertext(std::string* out) {
  size_t pending = BIO_ctrl_pending(wbio_);
  if (pending == 0) return;
  size_t at = out->size();
  out->resize(at + pending);
  int n = BIO_read(wbio_, out->data() + at, static_cast<int>(pending));
  out->resize(at + (n > 0 ? static_cast<size_t>(n) : 0));
}

bool TlsSession::has_ciphertext() const { return BIO_ctrl_pending(wbio_) > 0; }

}  // namespace allot::server
