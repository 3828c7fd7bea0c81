// X25519 key pairs made ahead on the engine (host/src/key_share_pool.h):
// handshakes take them instead of pausing on a key generation; every pair is
// fresh, correct (its public half is X25519(private, 9) by OpenSSL's default
// provider), handed out once, wiped when too old, never used by a forked
// child, and none is left behind when the provider unloads mid-refill.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes32 = std::array<uint8_t, 32>;

// Public-key work queued to the engine's threads (GPUTLS_INLINE=2, as with a
// GPU), so the pool is in use; settings read when the provider loads.
class KeySharePoolTest : public QueuedProviderFixture {
 protected:
  const char* inline_mode() const override { return "2"; }
  const char* key_share_pool() const override { return "128"; }
  virtual const char* max_age_ms() const { return "60000"; }
  void SetUp() override {
    env_.set("GPUTLS_KEY_SHARE_MAX_AGE_MS", max_age_ms());
    QueuedProviderFixture::SetUp();
  }

  uint64_t pool(const char* field, const char* kind = "x25519") const {
    return stats()["key_share_pool"][kind][field].get<uint64_t>();
  }

  // Waits (at most 10 s) until at least n pairs of `kind` are ready.
  void wait_ready(uint64_t n, const char* kind = "x25519") const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pool("ready", kind) < n && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_GE(pool("ready", kind), n) << stats()["key_share_pool"].dump();
  }

  // An X25519 key generated through gputls (outside any ASYNC_JOB).
  EVP_PKEY* generate() const {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib_, "X25519", "provider=gputls");
    EVP_PKEY* k = nullptr;
    EXPECT_TRUE(c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_generate(c, &k) == 1);
    EVP_PKEY_CTX_free(c);
    return k;
  }
};

// What gputls-info prints for the pools.
std::string key_share_status(OSSL_PROVIDER* prov) {
  char buf[256] = {0};
  OSSL_PARAM p[] = {OSSL_PARAM_utf8_string("gputls-key-shares", buf, sizeof buf), OSSL_PARAM_END};
  EXPECT_EQ(OSSL_PROVIDER_get_params(prov, p), 1);
  return buf;
}

Bytes32 raw(EVP_PKEY* k, bool priv) {
  Bytes32 b{};
  size_t len = b.size();
  const int ok = priv ? EVP_PKEY_get_raw_private_key(k, b.data(), &len) : EVP_PKEY_get_raw_public_key(k, b.data(), &len);
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(len, b.size());
  return b;
}

// X25519(priv, 9) by OpenSSL's default provider.
Bytes32 reference_public(const Bytes32& priv) {
  EVP_PKEY* k = EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", "provider=default", priv.data(), priv.size());
  EXPECT_NE(k, nullptr);
  Bytes32 pub = k ? raw(k, false) : Bytes32{};
  EVP_PKEY_free(k);
  return pub;
}

TEST_F(KeySharePoolTest, AsyncHandshakesTakeReadyPairsAndDoNotPauseToGenerate) {
  ServerIdentity id("P-256");
  SSL_CTX* server = make_server_ctx(lib_, id, /*async=*/true);
  SSL_CTX* client = make_client_ctx(TLS1_3_VERSION, nullptr);
  ASSERT_TRUE(SSL_CTX_set1_groups_list(client, "X25519"));
  // The first generation finds the pool empty: made on demand, and the
  // refill starts.
  run_one_handshake(server, client, TLS1_3_VERSION, nullptr, true, /*expect_pause=*/true);
  EXPECT_EQ(pool("taken"), 0u);
  wait_ready(8);
  EXPECT_NE(key_share_status(gputls_).find("128 pairs per kind (X25519, P-256, P-384), in use"), std::string::npos)
      << key_share_status(gputls_);

  const uint64_t taken = pool("taken"), kg = count("x25519_keygen"), kg_paused = count("x25519_keygen", "async_paused"),
                 dv = count("x25519_derive"), dv_paused = count("x25519_derive", "async_paused");
  constexpr int kHandshakes = 8;
  for (int i = 0; i < kHandshakes; ++i)
    run_one_handshake(server, client, TLS1_3_VERSION, nullptr, true, /*expect_pause=*/true);
  EXPECT_EQ(pool("taken") - taken, uint64_t{kHandshakes}) << stats()["key_share_pool"].dump();
  EXPECT_EQ(count("x25519_keygen") - kg, uint64_t{kHandshakes}) << "a served pair counts as a generation on the engine";
  EXPECT_EQ(count("x25519_keygen", "async_paused"), kg_paused) << "no handshake paused to generate its key share";
  EXPECT_EQ(count("x25519_derive") - dv, uint64_t{kHandshakes});
  EXPECT_GE(count("x25519_derive", "async_paused") - dv_paused, uint64_t{kHandshakes}) << "the derivation still pauses";
  EXPECT_EQ(count("x25519_keygen", "sw") + count("x25519_derive", "sw"), 0u);
  EXPECT_EQ(pool("failed"), 0u);
  SSL_CTX_free(client);
  SSL_CTX_free(server);
}

// X25519MLKEM768 (gputls's default first group): its X25519 half comes from
// the pool too, on both sides of the handshake.
TEST_F(KeySharePoolTest, HybridGroupTakesItsX25519HalfFromThePool) {
  ServerIdentity id("P-256");
  SSL_CTX* server = make_server_ctx(lib_, id, /*async=*/true);
  ASSERT_EQ(SSL_CTX_set1_groups_list(server, "X25519MLKEM768"), 1);
  SSL_CTX* client = SSL_CTX_new_ex(lib_, "?provider=gputls", TLS_client_method());
  SSL_CTX_set_min_proto_version(client, TLS1_3_VERSION);
  SSL_CTX_set_verify(client, SSL_VERIFY_NONE, nullptr);
  ASSERT_EQ(SSL_CTX_set1_groups_list(client, "X25519MLKEM768"), 1);
  run_one_handshake(server, client, TLS1_3_VERSION, nullptr, true, /*expect_pause=*/true);
  wait_ready(8);
  const uint64_t taken = pool("taken"), kg_paused = count("x25519_keygen", "async_paused"),
                 encaps = count("mlkem768_encaps"), dv = count("x25519_derive");
  constexpr int kHandshakes = 3;
  for (int i = 0; i < kHandshakes; ++i)
    run_one_handshake(server, client, TLS1_3_VERSION, nullptr, true, /*expect_pause=*/true);
  EXPECT_EQ(pool("taken") - taken, uint64_t{2 * kHandshakes}) << "the client's and the server's X25519 halves";
  EXPECT_EQ(count("x25519_keygen", "async_paused"), kg_paused);
  EXPECT_EQ(count("mlkem768_encaps") - encaps, uint64_t{kHandshakes}) << "the ML-KEM half still runs on the engine";
  EXPECT_EQ(count("x25519_derive") - dv, uint64_t{2 * kHandshakes});
  SSL_CTX_free(client);
  SSL_CTX_free(server);
}

// ECDHE on P-256 (TLS 1.3 group secp256r1) and P-384 (TLS 1.2
// ECDHE-ECDSA): the server's key share comes from the curve's pool; a
// default-provider client agrees on the secret, so the pairs are right.
TEST_F(KeySharePoolTest, NistCurveHandshakesTakeReadyPairs) {
  ServerIdentity id("P-256");
  SSL_CTX* server = make_server_ctx(lib_, id, /*async=*/true);
  struct Case {
    const char* kind;
    const char* groups;  // the first is the key share's; TLS 1.2 also needs the certificate's
    int version;
    const char* cipher12;
  };
  for (const Case& c : {Case{"p256", "P-256", TLS1_3_VERSION, nullptr},
                        Case{"p384", "P-384:P-256", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"}}) {
    SCOPED_TRACE(c.groups);
    SSL_CTX* client = make_client_ctx(c.version, c.cipher12);
    ASSERT_EQ(SSL_CTX_set1_groups_list(client, c.groups), 1);
    run_one_handshake(server, client, c.version, c.cipher12, true, /*expect_pause=*/true);
    wait_ready(4, c.kind);
    const uint64_t taken = pool("taken", c.kind), kg = count("ec_keygen"),
                   kg_paused = count("ec_keygen", "async_paused"), dv = count("ecdh_derive");
    constexpr int kHandshakes = 4;
    for (int i = 0; i < kHandshakes; ++i)
      run_one_handshake(server, client, c.version, c.cipher12, true, /*expect_pause=*/true);
    EXPECT_EQ(pool("taken", c.kind) - taken, uint64_t{kHandshakes}) << stats()["key_share_pool"].dump();
    EXPECT_EQ(count("ec_keygen") - kg, uint64_t{kHandshakes});
    EXPECT_EQ(count("ec_keygen", "async_paused"), kg_paused) << "no handshake paused to generate its key share";
    EXPECT_EQ(count("ecdh_derive") - dv, uint64_t{kHandshakes});
    EXPECT_EQ(pool("failed", c.kind), 0u);
    SSL_CTX_free(client);
  }
  EXPECT_EQ(count("ec_keygen", "sw") + count("ecdh_derive", "sw"), 0u);
  SSL_CTX_free(server);
}

// P-256 pairs: distinct, and each one's public point belongs to its private
// scalar: ECDH with a default-provider key gives the same secret whether
// gputls uses the pair's scalar or the default provider uses its point.
TEST_F(KeySharePoolTest, NistCurvePairsAreFreshAndConsistent) {
  auto generate_p256 = [this] {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib_, "EC", "provider=gputls");
    EVP_PKEY* k = nullptr;
    EXPECT_TRUE(c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_CTX_set_group_name(c, "P-256") == 1 &&
                EVP_PKEY_generate(c, &k) == 1);
    EVP_PKEY_CTX_free(c);
    return k;
  };
  auto derive = [](OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* mine, EVP_PKEY* peer) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib, mine, propq);
    std::vector<uint8_t> out(32);
    size_t len = out.size();
    EXPECT_TRUE(c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
                EVP_PKEY_derive(c, out.data(), &len) == 1);
    EVP_PKEY_CTX_free(c);
    out.resize(len);
    return out;
  };
  EVP_PKEY_free(generate_p256());
  wait_ready(64, "p256");
  EVP_PKEY* other = EVP_EC_gen("P-256");  // OpenSSL's default provider
  ASSERT_NE(other, nullptr);
  std::set<std::vector<uint8_t>> pubs;
  constexpr int kKeys = 150;
  for (int i = 0; i < kKeys; ++i) {
    EVP_PKEY* k = generate_p256();
    ASSERT_NE(k, nullptr);
    unsigned char* enc = nullptr;
    const size_t n = EVP_PKEY_get1_encoded_public_key(k, &enc);
    ASSERT_EQ(n, 65u);
    pubs.insert(std::vector<uint8_t>(enc, enc + n));
    // The pair's point, alone, in OpenSSL's default provider.
    EVP_PKEY* pub_only = nullptr;
    EVP_PKEY_CTX* fc = EVP_PKEY_CTX_new_from_name(nullptr, "EC", "provider=default");
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("P-256"), 0),
                           OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, enc, n), OSSL_PARAM_END};
    ASSERT_TRUE(fc && EVP_PKEY_fromdata_init(fc) == 1 &&
                EVP_PKEY_fromdata(fc, &pub_only, EVP_PKEY_PUBLIC_KEY, params) == 1);
    EVP_PKEY_CTX_free(fc);
    OPENSSL_free(enc);
    if (i % 10 == 0) {  // every tenth: the ECDH cross-check (an engine derivation each)
      EXPECT_EQ(derive(lib_, "provider=gputls", k, other), derive(nullptr, "provider=default", other, pub_only))
          << "key " << i;
    }
    EVP_PKEY_free(pub_only);
    EVP_PKEY_free(k);
  }
  EVP_PKEY_free(other);
  EXPECT_EQ(pubs.size(), size_t{kKeys}) << "a pair was handed out twice";
  EXPECT_GE(pool("taken", "p256"), 64u) << stats()["key_share_pool"].dump();
  EXPECT_EQ(count("ec_keygen", "sw"), 0u);
}

TEST_F(KeySharePoolTest, PairsAreFreshCorrectAndHandedOutOnce) {
  EVP_PKEY_free(generate());  // starts the first refill
  wait_ready(64);
  std::set<Bytes32> privs, pubs;
  constexpr int kKeys = 300;  // more than the pool holds: refills, and some made on demand
  for (int i = 0; i < kKeys; ++i) {
    EVP_PKEY* k = generate();
    ASSERT_NE(k, nullptr);
    const Bytes32 priv = raw(k, true), pub = raw(k, false);
    EXPECT_EQ(pub, reference_public(priv)) << "key " << i;
    privs.insert(priv);
    pubs.insert(pub);
    EVP_PKEY_free(k);
  }
  EXPECT_EQ(privs.size(), size_t{kKeys}) << "a private key was handed out twice";
  EXPECT_EQ(pubs.size(), size_t{kKeys});
  EXPECT_GE(pool("taken"), 64u) << stats()["key_share_pool"].dump();
  EXPECT_LE(pool("taken"), uint64_t{kKeys});
  EXPECT_EQ(count("x25519_keygen"), uint64_t{kKeys + 1}) << "served pairs and on-demand generations, once each";
  EXPECT_EQ(count("x25519_keygen", "sw"), 0u);
}

class ShortLivedKeySharePoolTest : public KeySharePoolTest {
 protected:
  const char* max_age_ms() const override { return "50"; }
};

TEST_F(ShortLivedKeySharePoolTest, PairsOlderThanTheMaximumAgeAreWipedUnused) {
  EVP_PKEY_free(generate());
  wait_ready(64);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // every ready pair is now too old
  const uint64_t ready = pool("ready"), taken = pool("taken");
  EVP_PKEY* k = generate();
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(raw(k, false), reference_public(raw(k, true)));
  EVP_PKEY_free(k);
  EXPECT_EQ(pool("expired"), ready) << stats()["key_share_pool"].dump();
  EXPECT_EQ(pool("taken"), taken) << "an expired pair was handed out";
}

// A child shares its parent's memory image: a pair both used would give two
// sessions the same key. The child wipes its copies and makes its own.
TEST_F(KeySharePoolTest, ForkedChildNeverUsesItsParentsPairs) {
  EVP_PKEY_free(generate());
  wait_ready(64);
  const uint64_t ready_at_fork = pool("ready");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    int code = 0;
    const nlohmann::json before = stats()["key_share_pool"]["x25519"];
    if (before["ready"].get<uint64_t>() != 0 || before["discarded"].get<uint64_t>() < ready_at_fork) code |= 1;
    EVP_PKEY* k = generate();
    if (!k) code |= 2;
    Bytes32 pub{};
    if (k) {
      pub = raw(k, false);
      if (pub != reference_public(raw(k, true))) code |= 4;
    }
    if (pool("taken") != before["taken"].get<uint64_t>()) code |= 8;
    if (write(fds[1], pub.data(), pub.size()) != static_cast<ssize_t>(pub.size())) code |= 16;
    EVP_PKEY_free(k);
    _exit(code);
  }
  close(fds[1]);
  Bytes32 child_pub{};
  ASSERT_EQ(read(fds[0], child_pub.data(), child_pub.size()), static_cast<ssize_t>(child_pub.size()));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: parent's pairs kept, 2: no key, 4: wrong public half, 8: a pair taken";
  // The parent hands out the pairs it held at fork: none is the child's.
  const uint64_t taken = pool("taken");
  for (uint64_t i = 0; i < ready_at_fork; ++i) {
    EVP_PKEY* k = generate();
    ASSERT_NE(k, nullptr);
    EXPECT_NE(raw(k, false), child_pub);
    EVP_PKEY_free(k);
  }
  EXPECT_EQ(pool("taken") - taken, ready_at_fork) << "the parent still serves its own pairs";
}

// Refills that wait in the engine's queue: large batches flush only at a
// 2 s deadline (a caller blocked on its own request is flushed at once).
class SlowRefillKeySharePoolTest : public KeySharePoolTest {
 protected:
  void SetUp() override {
    env_.set("GPUTLS_BATCH", "4096");
    env_.set("GPUTLS_DEADLINE_US", "2000000");
    KeySharePoolTest::SetUp();
  }
};

// A generation that finds the pool empty makes its own pair first and only
// then starts the refill: its request is not queued behind 128 others (on
// the CPU backend it would wait for all of them). The provider is then
// unloaded with the refill still queued: the pairs are wiped and freed as
// the engine completes them (the key table returns to where it was;
// LeakSanitizer checks the heap in the sanitizer build).
TEST_F(SlowRefillKeySharePoolTest, MissDoesNotWaitBehindTheRefillAndUnloadMidRefillLeavesNothing) {
  auto keys_live = [&] { return stats()["engine"]["keys_live"].get<uint64_t>(); };
  const uint64_t keys_before = keys_live();
  OSSL_LIB_CTX* other = OSSL_LIB_CTX_new();
  ASSERT_NE(other, nullptr);
  ASSERT_EQ(OSSL_PROVIDER_set_default_search_path(other, GPUTLS_MODULE_DIR), 1);
  OSSL_PROVIDER* prov = OSSL_PROVIDER_load(other, "gputls");
  ASSERT_NE(prov, nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(other, "X25519", "provider=gputls");
  EVP_PKEY* k = nullptr;
  ASSERT_TRUE(c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_generate(c, &k) == 1);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(k);
  const nlohmann::json pool = provider_stats(prov)["key_share_pool"]["x25519"];
  EXPECT_EQ(pool["generating"].get<uint64_t>(), 128u)
      << "the refill was queued after the caller's own request, and waits there: " << pool.dump();
  EXPECT_EQ(pool["ready"].get<uint64_t>(), 0u) << pool.dump();
  EXPECT_LT(waited, std::chrono::milliseconds(1900)) << "the caller's generation waited for the refill's deadline";
  OSSL_PROVIDER_unload(prov);  // 128 generations still queued
  OSSL_LIB_CTX_free(other);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (keys_live() != keys_before && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(keys_live(), keys_before) << "pairs of the unloaded pool stayed registered";
}

// With nothing to batch for (policy cpu, GPUTLS_INLINE=1: the default
// without a GPU) a generation runs on the caller's thread: the pools exist
// and make nothing.
class InlineKeySharePoolTest : public ProviderFixture {
 protected:
  void SetUp() override {
    env_.set("GPUTLS_POLICY", "cpu");
    env_.set("GPUTLS_KEY_SHARE_POOL", "128");
    ProviderFixture::SetUp();
  }
};

TEST_F(InlineKeySharePoolTest, PoolsStayIdleWhenGenerationRunsInline) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(lib_, "X25519", "provider=gputls");
  for (int i = 0; i < 4; ++i) {
    EVP_PKEY* k = nullptr;
    ASSERT_TRUE(c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_generate(c, &k) == 1);
    EVP_PKEY_free(k);
  }
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(EVP_EC_gen("P-256"));  // OpenSSL's default context: not gputls
  EVP_PKEY_CTX* e = EVP_PKEY_CTX_new_from_name(lib_, "EC", "provider=gputls");
  for (int i = 0; i < 4; ++i) {
    EVP_PKEY* k = nullptr;
    ASSERT_TRUE(e && EVP_PKEY_keygen_init(e) == 1 && EVP_PKEY_CTX_set_group_name(e, "P-256") == 1 &&
                EVP_PKEY_generate(e, &k) == 1);
    EVP_PKEY_free(k);
  }
  EVP_PKEY_CTX_free(e);
  const nlohmann::json pools = stats()["key_share_pool"];
  ASSERT_EQ(pools.size(), 3u) << pools.dump();
  EXPECT_NE(key_share_status(gputls_).find(", idle: "), std::string::npos) << key_share_status(gputls_);
  for (const auto& [kind, p] : pools.items())
    EXPECT_EQ(p["made"].get<uint64_t>() + p["generating"].get<uint64_t>() + p["taken"].get<uint64_t>(), 0u)
        << kind << ": " << p.dump();
  EXPECT_GE(count("x25519_keygen"), 4u);
  EXPECT_GE(count("ec_keygen"), 4u);
}

}  // namespace
}  // namespace gputls::host::testing
