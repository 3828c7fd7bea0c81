// libssl handshakes over memory BIOs, server through gputls, with gputls's
// counters proving each handshake's private-key work ran in gputls.
#include <gtest/gtest.h>

#include <gtest/gtest-spi.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdlib>
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

 public:
  nlohmann::json stats_json() const { return stats(); }
  uint64_t count_of(const char* op) const { return count(op); }

 protected:
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
// really pause (most operations return SSL_ERROR_WANT_ASYNC first), and the
// engine batches requests of different connections.
void many_async_handshakes(Handshake* t, OSSL_LIB_CTX* lib, const ServerIdentity& id, int version,
                           const char* cipher12, int n, const char* sign_op) {
  SSL_CTX* sctx = make_server_ctx(lib, id, true);
  SSL_CTX* cctx = make_client_ctx(version, cipher12);
  const AsyncTally before = tally(t->stats_json());
  const uint64_t signs_before = t->count_of(sign_op);
  std::vector<std::unique_ptr<TlsPair>> owned;
  std::vector<TlsPair*> pairs;
  for (int i = 0; i < n; ++i) {
    owned.push_back(std::make_unique<TlsPair>(sctx, cctx));
    pairs.push_back(owned.back().get());
  }
  std::string err;
  ASSERT_TRUE(run_handshakes(pairs, 300000, &err)) << err;
  int waited = 0;
  for (TlsPair* p : pairs) waited += p->server_waited_async;
  EXPECT_GT(waited, n / 2) << "most handshakes should have paused on the engine";
  EXPECT_EQ(t->count_of(sign_op), signs_before + n);
  const nlohmann::json s = t->stats_json();
  const AsyncTally after = tally(s);
  const uint64_t ops = after.engine - before.engine, paused = after.paused - before.paused;
  EXPECT_GT(paused * 2, ops) << "most engine operations paused their job: " << paused << " of " << ops;
  EXPECT_TRUE(some_batch_above_one(s)) << s.dump(2);
  owned.clear();
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
}

TEST_F(Handshake, ManyConcurrentAsyncHandshakes) {
  ServerIdentity id(2048);
  const int n = async_pairs(1000);
  RecordProperty("handshakes", n);
  many_async_handshakes(this, lib_, id, TLS1_3_VERSION, nullptr, n, "rsa_sign");
}

// RSA-4096 (a Wycheproof key, not generated here): TLS 1.2 RSA key exchange
// and TLS 1.3, concurrent and async.
TEST_F(Handshake, ConcurrentAsyncRsa4096) {
  ServerIdentity id(wycheproof_private_key("rsa_pkcs1_4096_test.json"));
  ASSERT_NE(id.key, nullptr);
  ASSERT_EQ(EVP_PKEY_get_bits(id.key), 4096);
  const int n = async_pairs(60);
  many_async_handshakes(this, lib_, id, TLS1_2_VERSION, "AES128-GCM-SHA256", n, "rsa_decrypt");
  many_async_handshakes(this, lib_, id, TLS1_3_VERSION, nullptr, n, "rsa_sign");
}

// Freeing an SSL while its job is paused on the engine (a client that goes
// away mid-handshake): nothing crashes, the engine still completes the
// abandoned requests (their memory is freed then: the LSan build checks),
// the ephemeral key the job was generating is freed with its engine slot
// (the server's first pause is inside its key-share generation: X25519,
// P-256 or ffdhe2048; no key-share pool, which would skip that pause), and
// the next handshakes work.
class HandshakeWithoutKeySharePool : public Handshake {
 protected:
  const char* key_share_pool() const override { return "0"; }
};

TEST_F(HandshakeWithoutKeySharePool, FreeingAnSslWithAPausedJobIsSafe) {
  static ServerIdentity id(2048);
  SSL_CTX* sctx = make_server_ctx(lib_, id, true);
  auto calls_alive_settled = [this] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (stats()["calls_alive"].get<long>() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return stats()["calls_alive"].get<long>();
  };
  for (const char* group : {"x25519", "P-256", "ffdhe2048"}) {
    SCOPED_TRACE(group);
    SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
    ASSERT_EQ(SSL_CTX_set1_groups_list(cctx, group), 1);
    run_one_handshake(sctx, cctx, TLS1_3_VERSION, nullptr, true, true);  // the certificate's key registered
    const long keys_before = stats()["engine"]["keys_live"].get<long>();
    int freed_paused = 0;
    for (int i = 0; i < 20; ++i) {
      auto pair = std::make_unique<TlsPair>(sctx, cctx);
      for (int step = 0; step < 100 && !SSL_waiting_for_async(pair->server); ++step)
        ASSERT_TRUE(pair->step()) << pair->error;
      freed_paused += SSL_waiting_for_async(pair->server);
      pair.reset();  // SSL_free with the job paused
    }
    // A job whose request finished before it looked does not pause: nearly all do.
    EXPECT_GE(freed_paused, 10);
    // The abandoned requests' memory goes once the engine has finished them
    // (its thread drops its reference just after completing, so poll briefly).
    EXPECT_EQ(calls_alive_settled(), 0) << "requests of freed SSLs leaked";
    EXPECT_EQ(stats()["engine"]["keys_live"].get<long>(), keys_before)
        << "keys half-built by abandoned jobs stayed registered (and in the heap)";
    const uint64_t signs_before = count("rsa_sign");
    run_one_handshake(sctx, cctx, TLS1_3_VERSION, nullptr, true, true);
    EXPECT_EQ(count("rsa_sign"), signs_before + 1);
    EXPECT_EQ(calls_alive_settled(), 0);
    SSL_CTX_free(cctx);
  }
  SSL_CTX_free(sctx);
}

}  // namespace
}  // namespace gputls::host::testing
