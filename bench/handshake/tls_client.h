// The client half both loads share: its SSL_CTX (version, group, cipher,
// peer verification, client certificate), session reuse at a given ratio,
// the check that a handshake really verified the peer, and the application
// data exchange that follows.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <string>

#include "runner.h"

namespace gputls::bench {

// OpenSSL's first queued error as text (empty queue: "no OpenSSL error").
std::string ssl_error(const char* who);

// TLS version pinned, groups, TLS 1.2 ciphers, SSL_VERIFY_PEER, partial
// writes; session tickets only when resuming. The caller adds the CA and,
// for mTLS, the client's certificate. `lib` and `propq` from client_libctx
// (client_lib.h). Null and *error on failure.
SSL_CTX* make_client_ctx(const RunConfig& cfg, OSSL_LIB_CTX* lib, const char* propq, std::string* error);

// Empty when the handshake on `client` verified the peer's certificate
// chain against the CA (and the name); else what went wrong.
std::string check_peer_verified(SSL* client);

// Per worker thread: resumes every handshake whose turn it is (an exact
// share `ratio` of them) with the newest resumable session this thread has.
class SessionReuse {
 public:
  explicit SessionReuse(double ratio) : ratio_(ratio) {}
  ~SessionReuse() { SSL_SESSION_free(last_); }
  SessionReuse(const SessionReuse&) = delete;
  SessionReuse& operator=(const SessionReuse&) = delete;
  void prepare(SSL* client);   // before the handshake
  void completed(SSL* client); // after the exchange (TLS 1.3 tickets arrive with the data)

 private:
  double ratio_;
  uint64_t started_ = 0;
  SSL_SESSION* last_ = nullptr;
};

// The client's application data after the handshake:
//   echo: send N bytes ('q'... '\n', one line, so `openssl s_server -rev`
//         echoes it unchanged), read the same N bytes back;
//   http: send a GET request padded to N bytes, read the response (headers,
//         then Content-Length bytes, or until the server closes).
class ClientExchange {
 public:
  enum class Step { kDone, kWant, kError };
  ClientExchange(const RunConfig& cfg, const std::string& host);
  void reset();
  // Advances on `ssl`; kWant: call again when the socket (or BIO) is ready.
  Step step(SSL* ssl, std::string* error);
  uint64_t sent() const { return sent_; }
  uint64_t received() const { return received_; }

 private:
  Step read_echo(SSL* ssl, std::string* error);
  Step read_http(SSL* ssl, std::string* error);
  bool http_;
  std::string request_;
  uint64_t sent_ = 0, received_ = 0;
  long long body_left_ = -1;  // http: body bytes still to come (-1: headers not complete yet, or no length)
  bool headers_done_ = false;
  std::string header_;
  char buf_[16384];
};

}  // namespace gputls::bench
