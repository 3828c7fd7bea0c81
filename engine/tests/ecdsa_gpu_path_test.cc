// ECDSA signing as the engine's GPU path does it, without a GPU: nonces drawn
// and digests staged by the CUDA backend's own helpers (ecdsa_inputs.h), the
// batch run by the kernel's host twin (ec_batch_host: the GPU's per-item code,
// with the fixed-base k G), and every signature verified by OpenSSL's default
// provider over the message itself.
//
// 10,000 random messages, each with a fresh key, per curve (scaled by
// GPUTLS_EC_DIFF_SCALE), hashed in turn with each TLS digest (SHA-1, SHA-224,
// SHA-256, SHA-384, SHA-512); every batch also signs one message twice, and
// the two signatures must differ (a fresh nonce per request).
//
// Then the hedged nonce with the DRBG forced to repeat (EcdsaNonce).
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "../src/ecdsa_inputs.h"
#include "ec_test_util.h"
#include "test_keys.h"

namespace gputls::engine {
namespace {

namespace kt = gputls::kernels::testing;
namespace et = gputls::engine::testing;
namespace ec = gputls::kernels::ec;
using kt::Bytes;

constexpr std::array<const char*, 5> kTlsDigests = {"SHA1", "SHA2-224", "SHA2-256", "SHA2-384", "SHA2-512"};
constexpr uint32_t kBatch = 200;

Bytes hash(const char* md_name, const Bytes& msg) {
  EVP_MD* md = EVP_MD_fetch(nullptr, md_name, "provider=default");
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  const bool ok = md && EVP_Digest(msg.data(), msg.size(), out.data(), &len, md, nullptr) == 1;
  EVP_MD_free(md);
  if (!ok) throw std::runtime_error(std::string("digest ") + md_name);
  out.resize(len);
  return out;
}

// OpenSSL's default provider verifies the DER signature over the message.
bool openssl_verifies(EVP_PKEY* key, const char* md_name, const Bytes& msg, const Bytes& rs) {
  const Bytes der = kt::rs_to_der(rs);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx &&
                  EVP_DigestVerifyInit_ex(ctx, nullptr, md_name, nullptr, "provider=default", key, nullptr) == 1 &&
                  EVP_DigestVerify(ctx, der.data(), der.size(), msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

class EcdsaGpuPath : public ::testing::TestWithParam<uint32_t> {};

TEST_P(EcdsaGpuPath, SignaturesOfRandomMessagesVerifyWithOpenssl) {
  const uint32_t id = GetParam();
  const size_t B = kt::coord_bytes(id);
  const int n = kt::ec_diff_scaled(10000);
  std::array<int, kTlsDigests.size()> per_digest{};
  const auto t0 = std::chrono::steady_clock::now();
  for (int done = 0; done < n; done += static_cast<int>(kBatch)) {
    const uint32_t m = std::min<uint32_t>(kBatch, static_cast<uint32_t>(n - done));
    const uint32_t count = m + 1;  // item m signs item 0's message again with item 0's key
    std::vector<kt::EcKey> keys;
    std::vector<Bytes> msgs;
    std::vector<const char*> mds;
    Bytes scalars(m * B), nonces(count * B), digests(count * B), out(count * 2 * B, 0xcc);
    std::vector<uint32_t> idx(count), status(count, 0xffffffffu);
    for (uint32_t i = 0; i < count; ++i) {
      if (i < m) {
        keys.push_back(kt::openssl_keygen(id));
        std::copy(keys.back().priv.begin(), keys.back().priv.end(), scalars.begin() + static_cast<long>(i * B));
        const Bytes len = kt::random_bytes(1);
        msgs.push_back(kt::random_bytes(len[0] + (i % 3) * 100u));  // 0 .. 455 bytes
        mds.push_back(kTlsDigests[static_cast<size_t>(done + static_cast<int>(i)) % kTlsDigests.size()]);
        idx[i] = i;
      } else {
        msgs.push_back(msgs[0]);
        mds.push_back(mds[0]);
        idx[i] = 0;
      }
      const Bytes dg = hash(mds[i], msgs[i]);
      put_ecdsa_digest(digests.data() + i * B, dg.data(), dg.size(), B);
      const Bytes& d = keys[idx[i]].priv;
      ASSERT_TRUE(draw_ecdsa_nonce(nonces.data() + i * B, id, d.data(), d.size(), dg.data(), dg.size()));
    }
    kernels::EcBatch b;
    b.scalars = scalars.data();
    b.scalar_index = idx.data();
    b.nonces = nonces.data();
    b.digests = digests.data();
    b.digest_bytes = static_cast<uint32_t>(B);
    b.out = out.data();
    b.status = status.data();
    b.count = count;
    b.curve = id;
    b.op = ec::kEcSign;
    kernels::ec_batch_host(b);
    std::vector<Bytes> sigs;
    for (uint32_t i = 0; i < count; ++i) {
      // kEcRetry (r or s zero) has probability ~2^-256: not expected here.
      ASSERT_EQ(status[i], ec::kEcOk) << "item " << done + static_cast<int>(i);
      sigs.emplace_back(out.begin() + static_cast<long>(i * 2 * B), out.begin() + static_cast<long>((i + 1) * 2 * B));
      EVP_PKEY* key = keys[idx[i]].pkey.get();
      ASSERT_TRUE(openssl_verifies(key, mds[i], msgs[i], sigs[i]))
          << kt::group_name(id) << " " << mds[i] << " message " << done + static_cast<int>(i);
      if (i < m) ++per_digest[static_cast<size_t>(done + static_cast<int>(i)) % kTlsDigests.size()];
    }
    EXPECT_NE(sigs[0], sigs[m]) << "two signatures of one message are equal: nonce reused";
    // The check can fail: another message does not verify under a signature.
    Bytes other = msgs[1];
    other.push_back(0x5a);
    EXPECT_FALSE(openssl_verifies(keys[1].pkey.get(), mds[1], other, sigs[1]));
  }
  std::printf("[ info ] %s: %d signatures of random messages (fresh keys) verified by OpenSSL (%.2fs):",
              kt::group_name(id), n,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  for (size_t d = 0; d < kTlsDigests.size(); ++d) std::printf(" %s %d", kTlsDigests[d], per_digest[d]);
  std::printf("\n");
  for (int c : per_digest) EXPECT_GT(c, 0) << "a TLS digest was not exercised (scale too small?)";
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaGpuPath, ::testing::Values(ec::kEcP256, ec::kEcP384),
                         [](const ::testing::TestParamInfo<uint32_t>& i) {
                           return std::string(i.param == ec::kEcP256 ? "P256" : "P384");
                         });

// ---- Hedged nonces --------------------------------------------------------

// A DRBG stuck in one state: every call returns the same bytes.
int repeating_rand(unsigned char* buf, int num) {
  for (int i = 0; i < num; ++i) buf[i] = static_cast<unsigned char>(0xa5 ^ i);
  return 1;
}
int failing_rand(unsigned char*, int) { return 0; }

// Installs a randomness source for one test, restores RAND_priv_bytes after.
struct RandHook {
  explicit RandHook(NonceRandFn f) : prev(set_ecdsa_nonce_rand_for_testing(f)) {}
  ~RandHook() { set_ecdsa_nonce_rand_for_testing(prev); }
  NonceRandFn prev;
};

Bytes order_of(uint32_t id) { return et::ec_order(id == ec::kEcP256 ? 256 : 384); }

// 1 <= k < n, as big-endian strings of one width.
bool in_range(const Bytes& k, const Bytes& n) {
  return std::any_of(k.begin(), k.end(), [](uint8_t b) { return b != 0; }) &&
         std::lexicographical_compare(k.begin(), k.end(), n.begin(), n.end());
}

Bytes nonce(uint32_t id, const Bytes& d, const Bytes& digest) {
  Bytes k(kt::coord_bytes(id), 0xcc);
  if (!draw_ecdsa_nonce(k.data(), id, d.data(), d.size(), digest.data(), digest.size())) return {};
  return k;
}

class EcdsaNonce : public ::testing::TestWithParam<uint32_t> {};

// With the DRBG repeating (a cloned VM, a forked process), k still differs
// for another digest or another key: k depends on both, as OpenSSL 3.0's
// BN_generate_dsa_nonce makes it. Before the hedge, k was the DRBG's bytes.
TEST_P(EcdsaNonce, RepeatedDrbgStillGivesDistinctNoncesPerDigestAndKey) {
  const uint32_t id = GetParam();
  const Bytes n = order_of(id);
  RandHook hook(repeating_rand);
  const kt::EcKey a = kt::openssl_keygen(id), b = kt::openssl_keygen(id);
  std::vector<Bytes> digests;
  for (size_t len : {20u, 28u, 32u, 48u, 64u}) digests.push_back(kt::random_bytes(len));
  Bytes flipped = digests[2];
  flipped[31] ^= 1;
  digests.push_back(flipped);
  std::vector<Bytes> seen;
  for (const kt::EcKey* key : {&a, &b}) {
    for (const Bytes& dg : digests) {
      const Bytes k = nonce(id, key->priv, dg);
      ASSERT_FALSE(k.empty());
      EXPECT_TRUE(in_range(k, n));
      for (const Bytes& other : seen) EXPECT_NE(k, other) << "a repeated DRBG repeated k for another digest or key";
      seen.push_back(k);
      // The same key and digest with the same DRBG bytes give the same k (a
      // function of its inputs, nothing else hidden), so the signature is the same too.
      EXPECT_EQ(nonce(id, key->priv, dg), k);
    }
  }
  // A key given with a leading zero byte is the same key: the same k.
  Bytes longer = a.priv;
  longer.insert(longer.begin(), 0);
  EXPECT_EQ(nonce(id, longer, digests[0]), seen[0]);
}

// Signatures made with hedged nonces (repeating DRBG and the real one) by the
// kernel's host twin verify with OpenSSL; many draws all land in [1, n-1].
TEST_P(EcdsaNonce, HedgedNoncesAreInRangeAndSignaturesVerify) {
  const uint32_t id = GetParam();
  const size_t B = kt::coord_bytes(id);
  const Bytes n = order_of(id);
  for (bool repeating : {true, false}) {
    RandHook hook(repeating ? repeating_rand : nullptr);
    for (int i = 0; i < 200; ++i) {
      const kt::EcKey key = kt::openssl_keygen(id);
      const Bytes dg = kt::random_bytes(i % 2 ? 32 : 48);
      const Bytes k = nonce(id, key.priv, dg);
      ASSERT_FALSE(k.empty());
      ASSERT_TRUE(in_range(k, n)) << kt::hex(k);
      if (i % 10) continue;  // signing is slow on the host twin: every tenth
      Bytes e(B), rs(2 * B);
      put_ecdsa_digest(e.data(), dg.data(), dg.size(), B);
      ASSERT_EQ(ec::ec_op(ec::kEcSign, ec::curve(id), key.priv.data(), k.data(), nullptr, e.data(),
                          static_cast<uint32_t>(B), nullptr, rs.data(), ec::base_table_host(id)),
                ec::kEcOk);
      EXPECT_TRUE(kt::openssl_verify_digest(key.pkey.get(), dg, kt::rs_to_der(rs)));
    }
  }
}

// No randomness: no nonce (the CPU signs instead), and nothing left in k.
TEST_P(EcdsaNonce, NoRandomnessNoNonce) {
  const uint32_t id = GetParam();
  RandHook hook(failing_rand);
  const kt::EcKey key = kt::openssl_keygen(id);
  const Bytes dg = kt::random_bytes(32);
  Bytes k(kt::coord_bytes(id), 0xcc);
  EXPECT_FALSE(draw_ecdsa_nonce(k.data(), id, key.priv.data(), key.priv.size(), dg.data(), dg.size()));
  EXPECT_EQ(k, Bytes(k.size(), 0));
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaNonce, ::testing::Values(ec::kEcP256, ec::kEcP384),
                         [](const ::testing::TestParamInfo<uint32_t>& i) {
                           return std::string(i.param == ec::kEcP256 ? "P256" : "P384");
                         });

}  // namespace
}  // namespace gputls::engine
