// Operations the engine refuses as busy (its queue full) run in software on
// their caller's thread, at most GPUTLS_BUSY_SOFTWARE_MAX at once in the
// process; past that callers wait for room and try again (counted as
// busy_waited), and every result is still right.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

class BusyBound : public QueuedProviderFixture {
 protected:
  void SetUp() override {
    env_.set("GPUTLS_QUEUE_CAPACITY", "1");  // the queue is full with one request waiting
    env_.set("GPUTLS_BATCH", "1");
    env_.set("GPUTLS_BUSY_SOFTWARE_MAX", "1");
    QueuedProviderFixture::SetUp();
  }
};

bool sign_and_verify(OSSL_LIB_CTX* lib, EVP_PKEY* key) {
  unsigned char digest[32], sig[256];
  RAND_bytes(digest, sizeof digest);
  size_t len = sizeof sig;
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib, key, "provider=gputls");
  bool ok = c && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
            EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
            EVP_PKEY_sign(c, sig, &len, digest, sizeof digest) == 1;
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_CTX* v = EVP_PKEY_CTX_new(key, nullptr);  // the default provider checks it
  ok = ok && v && EVP_PKEY_verify_init(v) == 1 && EVP_PKEY_CTX_set_rsa_padding(v, RSA_PKCS1_PADDING) == 1 &&
       EVP_PKEY_CTX_set_signature_md(v, EVP_sha256()) == 1 && EVP_PKEY_verify(v, sig, len, digest, sizeof digest) == 1;
  EVP_PKEY_CTX_free(v);
  return ok;
}

TEST_F(BusyBound, SoftwareRunsForABusyEngineStayWithinTheBound) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  ASSERT_TRUE(key);
  ASSERT_TRUE(sign_and_verify(lib_, key));  // the key is exported to gputls once, before the threads
  const uint64_t before = count("rsa_sign") + count("rsa_sign", "sw");
  constexpr int kThreads = 6, kPerThread = 25;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i)
        if (!sign_and_verify(lib_, key)) ++bad;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  const nlohmann::json s = stats();
  const uint64_t busy = count("rsa_sign", "busy"), waited = count("rsa_sign", "busy_waited"),
                 past = count("rsa_sign", "busy_past_bound");
  EXPECT_EQ(count("rsa_sign") + count("rsa_sign", "sw"), before + kThreads * kPerThread) << s.dump();
  EXPECT_GT(busy, 0u) << "the engine was never busy: the test did not test the bound. " << s.dump();
  EXPECT_GT(waited, 0u) << "no caller ever found the bound reached. " << s.dump();
  EXPECT_LE(s["busy_software_peak"].get<long>(), 1 + static_cast<long>(past)) << s.dump();
  EVP_PKEY_free(key);
}

// Async servers on two threads: a job that finds the engine busy and the
// bound taken by the other thread yields to its event loop (it pauses with
// its wait fd already readable) and tries again; every handshake completes.
TEST_F(BusyBound, AsyncJobsYieldWhileTheBoundIsTaken) {
  static ServerIdentity id(2048);
  SSL_CTX* sctx = make_server_ctx(lib_, id, /*async=*/true);
  SSL_CTX* cctx = make_client_ctx(TLS1_3_VERSION, nullptr);
  const uint64_t before = count("rsa_sign") + count("rsa_sign", "sw");
  constexpr int kThreads = 2, kPairs = 24;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      std::vector<std::unique_ptr<TlsPair>> owned;
      std::vector<TlsPair*> pairs;
      for (int i = 0; i < kPairs; ++i) {
        owned.push_back(std::make_unique<TlsPair>(sctx, cctx));
        pairs.push_back(owned.back().get());
      }
      std::string err;
      if (!run_handshakes(pairs, 60000, &err)) {
        ++failed;
        ADD_FAILURE() << err;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  const nlohmann::json s = stats();
  EXPECT_EQ(count("rsa_sign") + count("rsa_sign", "sw"), before + kThreads * kPairs) << s.dump();
  EXPECT_LE(s["busy_software_peak"].get<long>(), 1 + static_cast<long>(count("rsa_sign", "busy_past_bound")))
      << s.dump();
  EXPECT_EQ(s["calls_alive"].get<long>(), 0) << s.dump();
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
}

}  // namespace
}  // namespace gputls::host::testing
