// A key the engine refused for want of a slot is registered again once a
// slot is free: a moment of a full key table must not leave a key (a
// certificate's, or a connection's record key) on the CPU for its life.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;

// The engine's key table holds two keys (read when the provider loads).
class TinyKeyTable : public ProviderFixture {
 protected:
  void SetUp() override {
    env_.set("GPUTLS_MAX_KEYS", "2");
    ProviderFixture::SetUp();
    cipher_ = EVP_CIPHER_fetch(lib_, "AES-128-GCM", "provider=gputls");
    ASSERT_NE(cipher_, nullptr);
    // The engine is the process's: made at the first load, with the
    // settings of that moment (ctest runs each test in a process of its own).
    const auto eng = stats()["engine"];
    if (eng["keys_capacity"].get<long>() != 2 || eng["keys_live"].get<long>() != 0)
      GTEST_SKIP() << "the process's engine was made by an earlier test; run this test alone (as ctest does)";
  }
  void TearDown() override {
    EVP_CIPHER_free(cipher_);
    ProviderFixture::TearDown();
  }

  // One TLS 1.3-shaped record sealed under ctx's key (a fresh IV each time).
  bool seal_record(EVP_CIPHER_CTX* ctx, const Bytes* key) {
    Bytes iv(12), pt(100), ct(100);
    RAND_bytes(iv.data(), 12);
    const uint8_t header[5] = {0x17, 0x03, 0x03, 0x00, 100 + 16};
    int n = 0;
    return EVP_EncryptInit_ex2(ctx, key ? cipher_ : nullptr, key ? key->data() : nullptr, iv.data(), nullptr) == 1 &&
           EVP_EncryptUpdate(ctx, nullptr, &n, header, 5) == 1 &&
           EVP_EncryptUpdate(ctx, ct.data(), &n, pt.data(), 100) == 1 && EVP_EncryptFinal_ex(ctx, ct.data() + n, &n) == 1;
  }

  EVP_CIPHER* cipher_ = nullptr;
};

TEST_F(TinyKeyTable, RefusedKeyIsRegisteredOnceASlotIsFree) {
  Bytes keys[3];
  EVP_CIPHER_CTX* ctx[3];
  for (int i = 0; i < 3; ++i) {
    keys[i].resize(16);
    RAND_bytes(keys[i].data(), 16);
    ctx[i] = EVP_CIPHER_CTX_new();
  }
  ASSERT_TRUE(seal_record(ctx[0], &keys[0]));
  ASSERT_TRUE(seal_record(ctx[1], &keys[1]));
  const uint64_t engine0 = count("aes_gcm_seal");
  ASSERT_EQ(engine0, 2u);
  // The table is full: the third key is refused, its record sealed in software.
  ASSERT_TRUE(seal_record(ctx[2], &keys[2]));
  EXPECT_EQ(count("aes_gcm_seal", "key_refused"), 1u);
  EXPECT_EQ(count("aes_gcm_seal"), engine0);
  // A slot frees up; after the retry interval the third key gets it.
  EVP_CIPHER_CTX_free(ctx[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  ASSERT_TRUE(seal_record(ctx[2], nullptr));
  EXPECT_EQ(count("aes_gcm_seal"), engine0 + 1) << "the refused key stayed on the CPU";
  EXPECT_EQ(stats()["engine"]["keys_live"].get<long>(), 2);
  EVP_CIPHER_CTX_free(ctx[1]);
  EVP_CIPHER_CTX_free(ctx[2]);
  EXPECT_EQ(stats()["engine"]["keys_live"].get<long>(), 0);
}

}  // namespace
}  // namespace gputls::host::testing
