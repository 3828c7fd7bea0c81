// Test fixture for the provider: an isolated library context with gputls and
// the default provider loaded, gputls's stats read back as JSON, an RSA
// server certificate, and TLS connections over memory BIOs (no sockets).
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scoped_env.h"

namespace gputls::host::testing {

// The stats of a loaded gputls provider (its "gputls-stats" parameter) as JSON.
nlohmann::json provider_stats(OSSL_PROVIDER* gputls);

class ProviderFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // gputls's stats: {"provider": {op: {engine, sw, ...}}, "engine": {...}}.
  nlohmann::json stats() const;
  // provider.<op>.<field>
  uint64_t count(const char* op, const char* field = "engine") const;
  // Operations of every kind completed on gputls's engine so far.
  uint64_t engine_total() const;

  OSSL_LIB_CTX* lib_ = nullptr;  // gputls + default
  OSSL_PROVIDER* gputls_ = nullptr;
  OSSL_PROVIDER* default_ = nullptr;
  // GPUTLS_* settings a fixture sets before SetUp() loads the provider;
  // put back as they were once TearDown() has unloaded it.
  ScopedEnv env_;
};

// Requests go through the engine's queue (GPUTLS_INLINE=0, read when the
// provider loads), as they do when a GPU batches them, so sync waits and
// ASYNC_JOB pauses are exercised on a machine without a GPU too.
class QueuedProviderFixture : public ProviderFixture {
 protected:
  void SetUp() override;
  // GPUTLS_INLINE's value for this fixture: 0 queues everything; 2 only
  // public-key operations (small AES-GCM records run on the caller's thread).
  virtual const char* inline_mode() const { return "0"; }
  // GPUTLS_KEY_SHARE_POOL for this fixture; nullptr leaves the default. "0"
  // where a test checks the key-share generation's own pause.
  virtual const char* key_share_pool() const { return nullptr; }
};

// A self-signed RSA (bits) or EC (curve, e.g. "P-256") certificate and its
// key, made by the default provider.
struct ServerIdentity {
  explicit ServerIdentity(int bits);
  explicit ServerIdentity(const char* ec_curve);
  explicit ServerIdentity(EVP_PKEY* owned_key);  // a self-signed certificate for this key
  ~ServerIdentity();
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
};

// One client/server pair over a BIO pair. The server's SSL_CTX lives in the
// gputls library context with `?provider=gputls`; the client uses OpenSSL's
// default context.
struct TlsPair {
  TlsPair(SSL_CTX* server_ctx, SSL_CTX* client_ctx);
  ~TlsPair();
  // Advances both sides once; returns false on a hard error.
  bool step();
  bool done() const { return client_done && server_done; }
  SSL* client = nullptr;
  SSL* server = nullptr;
  bool client_done = false, server_done = false, server_waited_async = false;
  std::string error;
};

SSL_CTX* make_server_ctx(OSSL_LIB_CTX* lib, const ServerIdentity& id, bool async);
SSL_CTX* make_client_ctx(int version, const char* cipher12);

// One full handshake between a fresh server and client of these contexts,
// checked with gtest: it completes, negotiates `version` (and `cipher12`
// when given), and with `expect_pause` an async server's job really paused.
void run_one_handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx, int version, const char* cipher12, bool async,
                       bool expect_pause);

// A Wycheproof file from tests/vectors/wycheproof.
nlohmann::json wycheproof_vectors(const char* file);
// A PEM private or public key, in OpenSSL's default context; nullptr if unreadable.
EVP_PKEY* pem_key(const std::string& pem, bool is_private);
// The first test group's private key of a Wycheproof decryption file (a
// fixed RSA key of the file's size, not generated at run time).
EVP_PKEY* wycheproof_private_key(const char* file);

// A signature over msg with digest md by key, through the providers propq
// selects in lib (nullptr, nullptr: OpenSSL's default context); empty on
// failure. And its verification.
std::vector<uint8_t> digest_sign_bytes(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* key, const char* md,
                                       const std::vector<uint8_t>& msg);
bool digest_verify_bytes(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* key, const char* md,
                         const std::vector<uint8_t>& msg, const std::vector<uint8_t>& sig);

// Appends the wait fds of ssl's paused job (if any) for poll().
void add_async_fds(SSL* ssl, std::vector<pollfd>* fds);

// Drives pairs to completion; waits on the servers' async fds with poll().
// Returns false (with the first error) when any pair fails or it takes longer than limit_ms.
bool run_handshakes(std::vector<TlsPair*>& pairs, int limit_ms, std::string* error);

// How many concurrent connections the async tests run: `full` unless
// GPUTLS_HANDSHAKE_SCALE (a factor, 0.2 in the sanitizer build) says fewer,
// and no more than the provider's share of the descriptor limit allows (one
// eventfd per paused server, up to half of RLIMIT_NOFILE).
int async_pairs(int full);

// Deltas of what the async tests assert: engine work, pauses, and whether
// some engine batch (of operation `op`, any when null) held more than one request.
struct AsyncTally {
  uint64_t engine = 0, paused = 0;
};
AsyncTally tally(const nlohmann::json& s);
bool some_batch_above_one(const nlohmann::json& s, const char* op = nullptr);

}  // namespace gputls::host::testing
