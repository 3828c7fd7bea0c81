// libssl handshakes over memory BIOs, server through gputls, with gputls's
// counters proving each handshake's private-key work ran in gputls.
#include <gtest/gtest.h>

#include <gtest/gtest-spi.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

// Through the engine's queue; InlineHandshake covers the default inline path.
class Handshake : public QueuedProviderFixture {
 protected:
  struct Counts {
    uint64_t sign, decrypt, keygen, derive;
  };
  Counts counts() const {
    return {count("rsa_sign"), count("rsa_decrypt"), count("x25519_keygen"), count("x25519_derive")};
  }
  // One handshake; returns the counter deltas.
  Counts handshake(int version, const char* cipher12, bool async, bool expect_pause = true) {
    static ServerIdentity id(2048);
    SSL_CTX* sctx = make_server_ctx(lib_, id, async);
    SSL_CTX* cctx = make_client_ctx(version, cipher12);
    Counts before = counts();
    run_one_handshake(sctx, cctx, version, cipher12, async, expect_pause);
    Counts after = counts();
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return {after.sign - before.sign, after.decrypt - before.decrypt, after.keygen - before.keygen,
            after.derive - before.derive};
  }
};

TEST_F(Handshake, Tls13X25519RsaPss) {
  for (bool async : {false, true}) {
    Counts d = handshake(TLS1_3_VERSION, nullptr, async);
    EXPECT_EQ(d.sign, 1u);
    EXPECT_EQ(d.keygen, 1u);
    EXPECT_EQ(d.derive, 1u);
    EXPECT_EQ(d.decrypt, 0u);
  }
}

TEST_F(Handshake, Tls12RsaKeyExchange) {
  for (bool async : {false, true}) {
    Counts d = handshake(TLS1_2_VERSION, "AES128-GCM-SHA256", async);
    EXPECT_EQ(d.decrypt, 1u);
    EXPECT_EQ(d.sign + d.keygen + d.derive, 0u);
  }
}

TEST_F(Handshake, Tls12EcdheRsa) {
  for (bool async : {false, true}) {
    Counts d = handshake(TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", async);
    EXPECT_EQ(d.sign, 1u);
    EXPECT_EQ(d.keygen, 1u);
    EXPECT_EQ(d.derive, 1u);
  }
}

// Without a GPU to batch for, the default: operations run at once on the
// calling thread (Engine::run_now), still counted as engine work, and an
// async server never pauses.
class InlineHandshake : public Handshake {
 protected:
  void SetUp() override { ProviderFixture::SetUp(); }
};

TEST_F(InlineHandshake, RunsOnTheCallersThreadWithoutPausing) {
  for (bool async : {false, true}) {
    const uint64_t paused = count("rsa_sign", "async_paused") + count("x25519_keygen", "async_paused");
    Counts d = handshake(TLS1_3_VERSION, nullptr, async, /*expect_pause=*/false);
    EXPECT_EQ(d.sign, 1u);
    EXPECT_EQ(d.keygen, 1u);
    EXPECT_EQ(d.derive, 1u);
    EXPECT_EQ(count("rsa_sign", "async_paused") + count("x25519_keygen", "async_paused"), paused);
  }
}

// With gputls preferred for everything in the library context, gputls's own
// software paths (digests, RNG, verification) must not recurse into it.
TEST_F(Handshake, DefaultPropertiesPreferGputls) {
  ASSERT_EQ(EVP_set_default_properties(lib_, "?provider=gputls"), 1);
  Counts d = handshake(TLS1_3_VERSION, nullptr, false);
  EXPECT_EQ(d.sign, 1u);
  EXPECT_EQ(d.derive, 1u);
  d = handshake(TLS1_2_VERSION, "AES128-GCM-SHA256", true);
  EXPECT_EQ(d.decrypt, 1u);
  // Keys made in the context come from gputls too, and its operations work.
  EVP_PKEY* key = EVP_PKEY_Q_keygen(lib_, nullptr, "X25519");
  ASSERT_NE(key, nullptr);
  EXPECT_STREQ(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(key)), "gputls");
  EVP_PKEY_free(key);
}

// HAProxy and nginx fork workers after loading providers: a child's
// handshakes run on an engine of its own.
TEST_F(Handshake, ForkedChildHandshakesOnItsOwnEngine) {
  Counts parent = handshake(TLS1_3_VERSION, nullptr, false);  // the parent's engine exists now
  ASSERT_EQ(parent.sign, 1u);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: no gtest assertions, an exit code.
    ::testing::TestPartResultArray results;
    ::testing::ScopedFakeTestPartResultReporter reporter(::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &results);
    Counts c = handshake(TLS1_3_VERSION, nullptr, true);
    _exit(results.size() == 0 && c.sign == 1 && c.keygen == 1 && c.derive == 1 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's handshake failed or did not run in gputls";
  Counts again = handshake(TLS1_3_VERSION, nullptr, false);  // and the parent still works
  EXPECT_EQ(again.sign, 1u);
}

// Many handshakes in one thread, SSL_MODE_ASYNC, driven by the wait fds: jobs
// really pause, and the engine batches requests of different connections.
TEST_F(Handshake, ManyConcurrentAsyncHandshakes) {
  ServerIdentity id(2048);
  SSL_CTX* sctx = make_server_ctx(lib_, id, true);
  SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
  constexpr int kPairs = 200;
  const uint64_t paused_before = count("rsa_sign", "async_paused") + count("x25519_keygen", "async_paused");
  const uint64_t signs_before = count("rsa_sign");
  std::vector<std::unique_ptr<TlsPair>> owned;
  std::vector<TlsPair*> pairs;
  for (int i = 0; i < kPairs; ++i) {
    owned.push_back(std::make_unique<TlsPair>(sctx, cctx));
    pairs.push_back(owned.back().get());
  }
  std::string err;
  ASSERT_TRUE(run_handshakes(pairs, 120000, &err)) << err;
  int waited = 0;
  for (TlsPair* p : pairs) waited += p->server_waited_async;
  EXPECT_GT(waited, kPairs / 2) << "most handshakes should have paused on the engine";
  EXPECT_EQ(count("rsa_sign"), signs_before + kPairs);
  EXPECT_GT(count("rsa_sign", "async_paused") + count("x25519_keygen", "async_paused"), paused_before);
  // Some engine batch held more than one request.
  bool batched = false;
  const nlohmann::json s = stats();  // held: iterating into a temporary would dangle
  for (const auto& op : s["engine"]["ops"])
    for (const auto& bucket : op["batch_size_histogram"].items())
      if (bucket.key() != "1" && bucket.value().get<uint64_t>() > 0) batched = true;
  EXPECT_TRUE(batched) << s.dump(2);
  owned.clear();
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
}

}  // namespace
}  // namespace gputls::host::testing
