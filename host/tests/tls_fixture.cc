#include "tls_fixture.h"

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <chrono>
#include <fstream>

namespace gputls::host::testing {

void ProviderFixture::SetUp() {
  lib_ = OSSL_LIB_CTX_new();
  ASSERT_NE(lib_, nullptr);
  ASSERT_EQ(OSSL_PROVIDER_set_default_search_path(lib_, GPUTLS_MODULE_DIR), 1);
  gputls_ = OSSL_PROVIDER_load(lib_, "gputls");
  ASSERT_NE(gputls_, nullptr) << "gputls.so did not load from " << GPUTLS_MODULE_DIR;
  default_ = OSSL_PROVIDER_load(lib_, "default");
  ASSERT_NE(default_, nullptr);
}

void ProviderFixture::TearDown() {
  OSSL_PROVIDER_unload(gputls_);
  OSSL_PROVIDER_unload(default_);
  OSSL_LIB_CTX_free(lib_);
  env_.restore();
}

nlohmann::json provider_stats(OSSL_PROVIDER* gputls) {
  std::vector<char> buf(1 << 20);
  OSSL_PARAM p[] = {OSSL_PARAM_utf8_string("gputls-stats", buf.data(), buf.size()), OSSL_PARAM_END};
  EXPECT_EQ(OSSL_PROVIDER_get_params(gputls, p), 1);
  return nlohmann::json::parse(buf.data());
}

nlohmann::json ProviderFixture::stats() const { return provider_stats(gputls_); }

uint64_t ProviderFixture::count(const char* op, const char* field) const {
  return stats()["provider"][op][field].get<uint64_t>();
}

// For the whole test binary (the engine is made once per process, by
// whichever test uses it first): a lone queued request waits 20 ms for
// company before the engine flushes it, so an async job has certainly looked
// at it (and paused) before it is done, even on a loaded CI machine; at the
// default 200 us a descheduled caller sometimes finds it finished and never
// pauses. Inline execution (the default without a GPU) never queues, so only
// the queued fixtures see it. An explicit GPUTLS_DEADLINE_US wins.
const bool kQueuedDeadlineSet = setenv("GPUTLS_DEADLINE_US", "20000", /*overwrite=*/0) == 0;

uint64_t ProviderFixture::engine_total() const {
  uint64_t n = 0;
  const nlohmann::json s = stats();
  for (const auto& [op, v] : s["provider"].items()) n += v["engine"].get<uint64_t>();
  return n;
}

void QueuedProviderFixture::SetUp() {
  ASSERT_TRUE(kQueuedDeadlineSet);
  env_.set("GPUTLS_INLINE", inline_mode());
  if (key_share_pool()) env_.set("GPUTLS_KEY_SHARE_POOL", key_share_pool());
  ProviderFixture::SetUp();
}

namespace {

X509* self_signed(EVP_PKEY* key) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("gputls-test"), -1,
                             -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  return cert;
}

}  // namespace

ServerIdentity::ServerIdentity(int bits) : key(EVP_RSA_gen(static_cast<unsigned>(bits))), cert(self_signed(key)) {}

ServerIdentity::ServerIdentity(const char* ec_curve) : key(EVP_EC_gen(ec_curve)), cert(self_signed(key)) {}

ServerIdentity::ServerIdentity(EVP_PKEY* owned_key) : key(owned_key), cert(key ? self_signed(key) : nullptr) {}

nlohmann::json wycheproof_vectors(const char* file) {
  std::ifstream f(std::string(GPUTLS_VECTORS_DIR) + "/wycheproof/" + file);
  EXPECT_TRUE(f.good()) << file;
  return f.good() ? nlohmann::json::parse(f) : nlohmann::json::object();
}

EVP_PKEY* pem_key(const std::string& pem, bool is_private) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = is_private ? PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr)
                           : PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return k;
}

EVP_PKEY* wycheproof_private_key(const char* file) {
  const nlohmann::json v = wycheproof_vectors(file);
  if (!v.contains("testGroups") || v["testGroups"].empty()) return nullptr;
  return pem_key(v["testGroups"][0]["privateKeyPem"].get<std::string>(), true);
}

ServerIdentity::~ServerIdentity() {
  X509_free(cert);
  EVP_PKEY_free(key);
}

SSL_CTX* make_server_ctx(OSSL_LIB_CTX* lib, const ServerIdentity& id, bool async) {
  SSL_CTX* ctx = SSL_CTX_new_ex(lib, "?provider=gputls", TLS_server_method());
  if (!ctx) return nullptr;
  SSL_CTX_use_certificate(ctx, id.cert);
  SSL_CTX_use_PrivateKey(ctx, id.key);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // every handshake full
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (async) SSL_CTX_set_mode(ctx, SSL_MODE_ASYNC);
  return ctx;
}

SSL_CTX* make_client_ctx(int version, const char* cipher12) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, version);
  SSL_CTX_set_max_proto_version(ctx, version);
  if (cipher12) SSL_CTX_set_cipher_list(ctx, cipher12);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return ctx;
}

TlsPair::TlsPair(SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
  server = SSL_new(server_ctx);
  client = SSL_new(client_ctx);
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(client, cb, cb);
  SSL_set_bio(server, sb, sb);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
}

TlsPair::~TlsPair() {
  SSL_free(client);
  SSL_free(server);
}

namespace {

// One handshake step; true while progress is possible.
bool advance(SSL* ssl, bool* done, bool* waited_async, std::string* error) {
  if (*done) return true;
  int r = SSL_do_handshake(ssl);
  if (r == 1) {
    *done = true;
    return true;
  }
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
  if (e == SSL_ERROR_WANT_ASYNC) {
    *waited_async = true;
    return true;
  }
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  *error = std::string(SSL_is_server(ssl) ? "server: " : "client: ") + buf;
  return false;
}

}  // namespace

bool TlsPair::step() {
  bool ignored = false;
  return advance(client, &client_done, &ignored, &error) &&
         advance(server, &server_done, &server_waited_async, &error);
}

void run_one_handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx, int version, const char* cipher12, bool async,
                       bool expect_pause) {
  TlsPair pair(server_ctx, client_ctx);
  std::vector<TlsPair*> pairs{&pair};
  std::string err;
  EXPECT_TRUE(run_handshakes(pairs, 20000, &err)) << err;
  EXPECT_EQ(SSL_version(pair.server), version);
  if (cipher12) {
    EXPECT_STREQ(SSL_CIPHER_get_name(SSL_get_current_cipher(pair.server)), cipher12);
  }
  if (async && expect_pause) {
    EXPECT_TRUE(pair.server_waited_async) << "the server's job never paused";
  }
}

void add_async_fds(SSL* ssl, std::vector<pollfd>* fds) {
  if (!SSL_waiting_for_async(ssl)) return;
  size_t n = 0;
  SSL_get_all_async_fds(ssl, nullptr, &n);
  std::vector<OSSL_ASYNC_FD> afds(n);
  SSL_get_all_async_fds(ssl, afds.data(), &n);
  for (OSSL_ASYNC_FD fd : afds) fds->push_back({fd, POLLIN, 0});
}

bool run_handshakes(std::vector<TlsPair*>& pairs, int limit_ms, std::string* error) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
  for (;;) {
    bool all_done = true;
    std::vector<pollfd> fds;
    for (TlsPair* p : pairs) {
      if (!p->step()) {
        *error = p->error;
        return false;
      }
      if (p->done()) continue;
      all_done = false;
      add_async_fds(p->server, &fds);
    }
    if (all_done) return true;
    if (std::chrono::steady_clock::now() > end) {
      *error = "handshakes did not finish in time";
      return false;
    }
    if (!fds.empty()) poll(fds.data(), fds.size(), 5);
  }
}

std::vector<uint8_t> digest_sign_bytes(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* key, const char* md,
                                       const std::vector<uint8_t>& msg) {
  EVP_MD_CTX* m = EVP_MD_CTX_new();
  std::vector<uint8_t> sig(512);
  size_t len = sig.size();
  bool ok = EVP_DigestSignInit_ex(m, nullptr, md, lib, propq, key, nullptr) == 1 &&
            EVP_DigestSign(m, sig.data(), &len, msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(m);
  if (!ok) return {};
  sig.resize(len);
  return sig;
}

bool digest_verify_bytes(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* key, const char* md,
                         const std::vector<uint8_t>& msg, const std::vector<uint8_t>& sig) {
  EVP_MD_CTX* m = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit_ex(m, nullptr, md, lib, propq, key, nullptr) == 1 &&
            EVP_DigestVerify(m, sig.data(), sig.size(), msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(m);
  return ok;
}

int async_pairs(int full) {
  double scale = 1.0;
  if (const char* s = std::getenv("GPUTLS_HANDSHAKE_SCALE")) scale = std::atof(s);
  int n = std::max(10, static_cast<int>(full * scale));
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
    // The provider keeps wait fds to half the limit (the rest run in software).
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 2 < static_cast<rlim_t>(n) + 50)
      n = static_cast<int>(rl.rlim_cur / 2) - 50;
  }
  return n;
}

AsyncTally tally(const nlohmann::json& s) {
  AsyncTally t;
  for (const auto& [op, v] : s["provider"].items()) {
    t.engine += v["engine"].get<uint64_t>();
    t.paused += v["async_paused"].get<uint64_t>();
  }
  return t;
}

bool some_batch_above_one(const nlohmann::json& s, const char* op) {
  for (const auto& q : s["engine"]["ops"]) {
    if (op && q["op"].get<std::string>() != op) continue;
    for (const auto& bucket : q["batch_size_histogram"].items())
      if (bucket.key() != "1" && bucket.value().get<uint64_t>() > 0) return true;
  }
  return false;
}

}  // namespace gputls::host::testing
