// The provider against OpenSSL's default provider, operation by operation,
// with gputls's own counters proving the work ran in gputls.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <vector>

#include "tls_fixture.h"

namespace gputls::host::testing {
namespace {

using Bytes = std::vector<uint8_t>;

class Provider : public ProviderFixture {};

TEST_F(Provider, LoadsAndReportsItself) {
  const char* name = nullptr;
  int status = 0;
  char device[256] = {0};
  OSSL_PARAM p[] = {OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, &name, 0), OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, &status),
                    OSSL_PARAM_utf8_string("gputls-device", device, sizeof device), OSSL_PARAM_END};
  ASSERT_EQ(OSSL_PROVIDER_get_params(gputls_, p), 1);
  EXPECT_STREQ(name, "gputls");
  EXPECT_EQ(status, 1);
  EXPECT_STRNE(device, "");  // "none" without a GPU, else the GPU's name
  auto s = stats();
  EXPECT_TRUE(s["engine"].is_object()) << s.dump();
}

Bytes sign(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* key, int pad, const Bytes& msg) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  Bytes sig(static_cast<size_t>(EVP_PKEY_get_size(key)));
  size_t len = sig.size();
  bool ok = EVP_DigestSignInit_ex(md, &pctx, "SHA256", lib, propq, key, nullptr) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(pctx, pad) == 1 &&
            (pad != RSA_PKCS1_PSS_PADDING || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1) &&
            EVP_DigestSign(md, sig.data(), &len, msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(md);
  if (!ok) return {};
  sig.resize(len);
  return sig;
}

bool verify(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* key, int pad, const Bytes& msg, const Bytes& sig) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", lib, propq, key, nullptr) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(pctx, pad) == 1 &&
            (pad != RSA_PKCS1_PSS_PADDING || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1) &&
            EVP_DigestVerify(md, sig.data(), sig.size(), msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(md);
  return ok;
}

// Sign here, verify there and back, for both paddings TLS uses.
TEST_F(Provider, RsaSignaturesInteroperateWithDefault) {
  for (int bits : {2048, 3072}) {
    EVP_PKEY* key = EVP_RSA_gen(static_cast<unsigned>(bits));
    for (int pad : {RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING}) {
      Bytes msg(100 + bits / 64, 0x5a);
      const uint64_t before = count("rsa_sign");
      Bytes ours = sign(lib_, "provider=gputls", key, pad, msg);
      ASSERT_FALSE(ours.empty()) << bits << " pad " << pad;
      EXPECT_EQ(count("rsa_sign"), before + 1) << "the private-key operation ran in the engine";
      EXPECT_TRUE(verify(nullptr, nullptr, key, pad, msg, ours)) << "default provider accepts gputls's signature";
      Bytes theirs = sign(nullptr, nullptr, key, pad, msg);
      EXPECT_TRUE(verify(lib_, "provider=gputls", key, pad, msg, theirs));
      theirs[10] ^= 1;
      EXPECT_FALSE(verify(lib_, "provider=gputls", key, pad, msg, theirs));
      if (pad == RSA_PKCS1_PADDING) {
        EXPECT_EQ(ours, sign(nullptr, nullptr, key, pad, msg));  // deterministic
      }
    }
    EVP_PKEY_free(key);
  }
}

// RSA key exchange: a well-formed premaster comes back; a malformed one gives
// 48 random bytes through the same path (no Bleichenbacher oracle).
TEST_F(Provider, TlsPremasterDecryption) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  auto encrypt = [&](const Bytes& pt, int pad) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new(key, nullptr);
    Bytes ct(256);
    size_t len = ct.size();
    EXPECT_EQ(EVP_PKEY_encrypt_init(c), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(c, pad), 1);
    EXPECT_EQ(EVP_PKEY_encrypt(c, ct.data(), &len, pt.data(), pt.size()), 1);
    EVP_PKEY_CTX_free(c);
    return ct;
  };
  auto decrypt = [&](const Bytes& ct, unsigned version, Bytes* out) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib_, key, "provider=gputls");
    out->assign(48, 0);
    size_t len = 48;
    OSSL_PARAM p[] = {OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, &version),
                      OSSL_PARAM_construct_end()};
    bool ok = EVP_PKEY_decrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_WITH_TLS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_params(c, p) == 1 && EVP_PKEY_decrypt(c, out->data(), &len, ct.data(), ct.size()) == 1 &&
              len == 48;
    EVP_PKEY_CTX_free(c);
    return ok;
  };
  Bytes pm(48);
  RAND_bytes(pm.data(), 48);
  pm[0] = 0x03;
  pm[1] = 0x03;
  const uint64_t before = count("rsa_decrypt");
  Bytes out;
  ASSERT_TRUE(decrypt(encrypt(pm, RSA_PKCS1_PADDING), 0x0303, &out));
  EXPECT_EQ(out, pm);
  // Wrong version in the premaster: success, but random.
  Bytes out2;
  ASSERT_TRUE(decrypt(encrypt(pm, RSA_PKCS1_PADDING), 0x0302, &out2));
  EXPECT_NE(out2, pm);
  // Not PKCS#1 at all (raw random block below n): success, random, different every time.
  Bytes raw(256);
  RAND_bytes(raw.data(), 256);
  raw[0] = 0;
  Bytes bad = encrypt(raw, RSA_NO_PADDING), r1, r2;
  ASSERT_TRUE(decrypt(bad, 0x0303, &r1));
  ASSERT_TRUE(decrypt(bad, 0x0303, &r2));
  EXPECT_NE(r1, r2);
  EXPECT_EQ(count("rsa_decrypt"), before + 4) << stats().dump();
  // A ciphertext longer than the modulus is an error (a shorter one is the
  // same number without leading zeros, as the default provider takes it).
  Bytes long_ct(257, 1);
  EXPECT_FALSE(decrypt(long_ct, 0x0303, &out));
  EVP_PKEY_free(key);
}

Bytes derive(OSSL_LIB_CTX* lib, const char* propq, EVP_PKEY* mine, EVP_PKEY* peer) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(lib, mine, propq);
  Bytes out(32);
  size_t len = 32;
  bool ok = EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
            EVP_PKEY_derive(c, out.data(), &len) == 1;
  EVP_PKEY_CTX_free(c);
  return ok ? out : Bytes{};
}

TEST_F(Provider, X25519BothSidesAgreeWithDefault) {
  const uint64_t kg = count("x25519_keygen"), dv = count("x25519_derive");
  EVP_PKEY* ours = EVP_PKEY_Q_keygen(lib_, "provider=gputls", "X25519");
  ASSERT_NE(ours, nullptr);
  EXPECT_EQ(count("x25519_keygen"), kg + 1);
  EVP_PKEY* theirs = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  Bytes a = derive(lib_, "provider=gputls", ours, theirs);
  Bytes b = derive(nullptr, nullptr, theirs, ours);
  ASSERT_EQ(a.size(), 32u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(count("x25519_derive"), dv + 1);
  // A low-order peer point gives the all-zero secret: refused.
  const uint8_t zero[32] = {0};
  EVP_PKEY* low = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, zero, 32);
  EXPECT_TRUE(derive(lib_, "provider=gputls", ours, low).empty());
  EVP_PKEY_free(low);
  EVP_PKEY_free(ours);
  EVP_PKEY_free(theirs);
}

}  // namespace
}  // namespace gputls::host::testing

namespace gputls::host::testing {
namespace {

// The fixtures' environment helper puts back what was there: a value set
// before the scope, or nothing.
TEST(ScopedEnvTest, RestoresEarlierValuesAndAbsence) {
  setenv("GPUTLS_TEST_SCOPED_A", "outer", 1);
  unsetenv("GPUTLS_TEST_SCOPED_B");
  {
    ScopedEnv env;
    env.set("GPUTLS_TEST_SCOPED_A", "inner");
    env.set("GPUTLS_TEST_SCOPED_A", "inner2");  // the first value seen is the one restored
    env.set("GPUTLS_TEST_SCOPED_B", "set");
    EXPECT_STREQ(std::getenv("GPUTLS_TEST_SCOPED_A"), "inner2");
    EXPECT_STREQ(std::getenv("GPUTLS_TEST_SCOPED_B"), "set");
    env.set("GPUTLS_TEST_SCOPED_A", nullptr);
    EXPECT_EQ(std::getenv("GPUTLS_TEST_SCOPED_A"), nullptr);
  }
  EXPECT_STREQ(std::getenv("GPUTLS_TEST_SCOPED_A"), "outer");
  EXPECT_EQ(std::getenv("GPUTLS_TEST_SCOPED_B"), nullptr);
  unsetenv("GPUTLS_TEST_SCOPED_A");
}

// Key-share pools hold a key-table slot per pair (three pools) and queue up
// to a pool's worth of requests: their size is lowered to fit in half of
// the key table and of the queue, so certificate and record keys still find
// room (the stats' capacity says the size in use).
TEST(ProviderConfig, KeySharePoolsFitInHalfTheKeyTable) {
  auto capacity_with = [](const char* max_keys, const char* pool) -> long {
    ScopedEnv env;
    env.set("GPUTLS_MAX_KEYS", max_keys);
    env.set("GPUTLS_KEY_SHARE_POOL", pool);  // null: unset, the default
    OSSL_LIB_CTX* lib = OSSL_LIB_CTX_new();
    EXPECT_EQ(OSSL_PROVIDER_set_default_search_path(lib, GPUTLS_MODULE_DIR), 1);
    OSSL_PROVIDER* prov = OSSL_PROVIDER_load(lib, "gputls");
    env.restore();
    EXPECT_NE(prov, nullptr);
    const auto pools = prov ? provider_stats(prov)["key_share_pool"] : nlohmann::json();
    OSSL_PROVIDER_unload(prov);
    OSSL_LIB_CTX_free(lib);
    return pools.is_null() ? 0 : pools["p256"]["capacity"].get<long>();
  };
  EXPECT_EQ(capacity_with("16384", nullptr), 128) << "the default";
  EXPECT_EQ(capacity_with("600", "101"), 100) << "3 x 100 = half of 600";
  EXPECT_EQ(capacity_with("600", "50"), 50);
  EXPECT_EQ(capacity_with("5", nullptr), 0) << "a key table of 5: no pools";
  ScopedEnv env;
  env.set("GPUTLS_KEY_SHARE_POOL", "0");
  OSSL_LIB_CTX* lib = OSSL_LIB_CTX_new();
  ASSERT_EQ(OSSL_PROVIDER_set_default_search_path(lib, GPUTLS_MODULE_DIR), 1);
  OSSL_PROVIDER* prov = OSSL_PROVIDER_load(lib, "gputls");
  env.restore();
  char status[256] = {0};
  OSSL_PARAM q[] = {OSSL_PARAM_utf8_string("gputls-key-shares", status, sizeof status), OSSL_PARAM_END};
  ASSERT_TRUE(prov && OSSL_PROVIDER_get_params(prov, q) == 1);
  EXPECT_EQ(std::string(status).rfind("off", 0), 0u) << "gputls-info says the pools are off: " << status;
  OSSL_PROVIDER_unload(prov);
  OSSL_LIB_CTX_free(lib);
}

// flushers=0 leaves nobody to launch the batches a paused ASYNC_JOB waits
// for: the provider refuses it, says why, and computes in software.
TEST(ProviderConfig, ZeroFlushersIsRefusedWithAReason) {
  ScopedEnv env;
  env.set("GPUTLS_FLUSHERS", "0");
  OSSL_LIB_CTX* lib = OSSL_LIB_CTX_new();
  ASSERT_EQ(OSSL_PROVIDER_set_default_search_path(lib, GPUTLS_MODULE_DIR), 1);
  OSSL_PROVIDER* prov = OSSL_PROVIDER_load(lib, "gputls");
  OSSL_PROVIDER* def = OSSL_PROVIDER_load(lib, "default");
  env.restore();
  ASSERT_NE(prov, nullptr);
  char device[512] = {0};
  OSSL_PARAM p[] = {OSSL_PARAM_utf8_string("gputls-device", device, sizeof device), OSSL_PARAM_END};
  ASSERT_EQ(OSSL_PROVIDER_get_params(prov, p), 1);
  EXPECT_NE(std::string(device).find("flushers=0"), std::string::npos) << device;
  // An X25519 derive through gputls: computed in its software context.
  EVP_PKEY* a = EVP_PKEY_Q_keygen(lib, "provider=default", "X25519");
  EVP_PKEY* b = EVP_PKEY_Q_keygen(lib, "provider=default", "X25519");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(lib, a, "provider=gputls");
  uint8_t secret[32];
  size_t len = sizeof secret;
  ASSERT_TRUE(ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, b) == 1 &&
              EVP_PKEY_derive(ctx, secret, &len) == 1);
  const auto js = provider_stats(prov);
  EXPECT_EQ(js["provider"]["x25519_derive"]["engine"].get<uint64_t>(), 0u);
  EXPECT_EQ(js["provider"]["x25519_derive"]["sw"].get<uint64_t>(), 1u);
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(a);
  EVP_PKEY_free(b);
  OSSL_PROVIDER_unload(prov);
  OSSL_PROVIDER_unload(def);
  OSSL_LIB_CTX_free(lib);
}

}  // namespace
}  // namespace gputls::host::testing
