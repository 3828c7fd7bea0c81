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
// Then the hedged nonce with the DRBG forced to repeat (EcdsaNonce), and the
// fault check: the engine with a fake GPU that signs with the host twin and
// injects faults (a bit of r || s, of d, of k between k G and k^-1) must
// never release a faulted signature, re-sign those requests on the CPU and
// count them (EcdsaFaultCheck). EcdsaCheckCost prints what the check costs
// the host per signature (not asserted).
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
#include "engine_test_util.h"
#include "fake_gpu.h"
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

// ---- The fault check, through the engine with a fake GPU ----------------

using Fault = et::FakeGpu::Options::EcFault;

struct FaultCase {
  uint32_t curve;
  Fault fault;
  uint32_t bit;
  const char* name;
};

void PrintTo(const FaultCase& c, std::ostream* os) { *os << c.name; }

Config fake_config(et::FakeGpu::Options o, et::FakeGpu::Counters* c) {
  Config cfg;
  cfg.policy = Policy::kGpu;
  cfg.quiet = true;
  cfg.batch_size = 16;
  cfg.gpu_backend_factory = [o, c] { return std::make_unique<et::FakeGpu>(o, c); };
  return cfg;
}

class EcdsaFaultCheck : public ::testing::TestWithParam<FaultCase> {};

// Every faulted signature is withheld (never in any request's output), its
// request gets a correct signature from the CPU, and the stats count it as a
// device-error fallback; the unfaulted ones are the device's and verify.
TEST_P(EcdsaFaultCheck, FaultedSignatureIsNeverReleasedAndTheCpuSigns) {
  const FaultCase fc = GetParam();
  const int bits = fc.curve == ec::kEcP256 ? 256 : 384;
  const size_t B = static_cast<size_t>(bits / 8);
  et::FakeGpu::Counters counters;
  et::FakeGpu::Options o;
  o.ec_host_twin = true;
  o.ec_fault = fc.fault;
  o.ec_fault_period = fc.fault == Fault::kNone ? 0 : 3;
  o.ec_fault_bit = fc.bit;
  auto eng = et::make_engine(fake_config(o, &counters));
  ASSERT_TRUE(eng);
  ASSERT_TRUE(eng->gpu_available());
  EVP_PKEY* pkey = et::ec_key(bits);
  KeyHandle h;
  ASSERT_EQ(eng->register_ec_key(et::ec_material(pkey, bits), &h), Status::kOk);
  constexpr int kN = 48;
  std::vector<Bytes> digests(kN), sigs(kN);
  std::vector<Request> reqs(kN);
  for (int i = 0; i < kN; ++i) {
    digests[i] = kt::random_bytes(i % 3 == 0 ? 32 : i % 3 == 1 ? 48 : 20);
    sigs[i].assign(2 * B, 0);
    et::prepare(reqs[i], Op::kEcdsaSign, h, digests[i].data(), digests[i].size(), sigs[i].data(), sigs[i].size());
    ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
  }
  size_t on_cpu = 0;
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(eng->wait(reqs[i]), Status::kOk) << i;
    EXPECT_TRUE(et::openssl_ecdsa_verify(pkey, digests[i], sigs[i])) << "request " << i << " released a bad signature";
    on_cpu += reqs[i].served_by == BackendKind::kCpu;
  }
  const uint64_t faults = counters.ec_faults.load();
  {
    std::lock_guard<std::mutex> lock(counters.mu);
    ASSERT_EQ(counters.faulty_signatures.size(), faults);
    for (const Bytes& bad : counters.faulty_signatures) {
      // The injection made a signature that must not verify (else no fault to catch).
      bool bad_verifies = false;
      for (int i = 0; i < kN; ++i) bad_verifies |= et::openssl_ecdsa_verify(pkey, digests[i], bad);
      EXPECT_FALSE(bad_verifies) << "injected fault gave a valid signature: " << kt::hex(bad);
      for (int i = 0; i < kN; ++i) EXPECT_NE(sigs[i], bad) << "faulted signature released to request " << i;
    }
  }
  const OpStats* st = eng->op_stats(Op::kEcdsaSign, static_cast<uint32_t>(bits));
  const auto counts = st->counts();
  if (fc.fault == Fault::kNone) {
    EXPECT_EQ(faults, 0u);
    EXPECT_EQ(counters.ec_signed.load(), static_cast<uint64_t>(kN));
  } else {
    EXPECT_GE(faults, static_cast<uint64_t>(kN / 16));  // item 0 of every batch at least
  }
  EXPECT_EQ(counters.ec_withheld.load(), faults);
  EXPECT_EQ(on_cpu, faults);
  EXPECT_EQ(counts.fallback(Fallback::kDeviceError), faults);
  EXPECT_EQ(counts.served_by(BackendKind::kCpu), faults);
  EXPECT_EQ(counts.served_by(BackendKind::kCuda), kN - faults);
  EXPECT_EQ(counters.ec_signed.load(), kN - faults);
  std::printf("[ info ] %s: %d signatures, %llu faulted on the device, withheld and re-signed on the CPU\n", fc.name,
              kN, static_cast<unsigned long long>(faults));
  eng.reset();
  EVP_PKEY_free(pkey);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, EcdsaFaultCheck,
    ::testing::Values(FaultCase{ec::kEcP256, Fault::kNone, 0, "P256_none"},
                      FaultCase{ec::kEcP256, Fault::kResultBit, 0, "P256_s_bit0"},
                      FaultCase{ec::kEcP256, Fault::kResultBit, 511, "P256_r_bit255"},
                      FaultCase{ec::kEcP256, Fault::kKeyBit, 7, "P256_d_bit7"},
                      FaultCase{ec::kEcP256, Fault::kNonceBit, 100, "P256_k_bit100"},
                      FaultCase{ec::kEcP384, Fault::kNone, 0, "P384_none"},
                      FaultCase{ec::kEcP384, Fault::kResultBit, 200, "P384_s_bit200"},
                      FaultCase{ec::kEcP384, Fault::kKeyBit, 383, "P384_d_bit383"},
                      FaultCase{ec::kEcP384, Fault::kNonceBit, 0, "P384_k_bit0"}),
    [](const ::testing::TestParamInfo<FaultCase>& i) { return std::string(i.param.name); });

// The checker itself: a valid signature passes, each single-bit change of
// r || s fails, and r = 0, s = n fail without raising.
TEST(EcdsaChecker, AcceptsValidRejectsEveryBitFlip) {
  EcdsaChecker chk;
  ASSERT_TRUE(chk.ready());
  for (uint32_t id : {ec::kEcP256, ec::kEcP384}) {
    const size_t B = kt::coord_bytes(id);
    const kt::EcKey key = kt::openssl_keygen(id);
    EcdsaPublicKey pub = chk.public_key(id, key.pub.data());
    ASSERT_TRUE(pub);
    const Bytes dg = kt::random_bytes(48);
    bool ok = false;
    const Bytes rs = kt::der_to_rs(kt::openssl_sign_digest(key.pkey.get(), dg), B, &ok);
    ASSERT_TRUE(ok);
    EXPECT_TRUE(chk.verifies(pub.get(), dg.data(), dg.size(), rs.data(), B));
    for (size_t bit = 0; bit < 16 * B; ++bit) {
      Bytes bad = rs;
      bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      ASSERT_FALSE(chk.verifies(pub.get(), dg.data(), dg.size(), bad.data(), B)) << bit;
    }
    Bytes zero_r = rs;
    std::fill(zero_r.begin(), zero_r.begin() + static_cast<long>(B), 0);
    EXPECT_FALSE(chk.verifies(pub.get(), dg.data(), dg.size(), zero_r.data(), B));
    Bytes s_n = rs;
    const Bytes n = order_of(id);
    std::copy(n.begin(), n.end(), s_n.begin() + static_cast<long>(B));
    EXPECT_FALSE(chk.verifies(pub.get(), dg.data(), dg.size(), s_n.data(), B));
    Bytes out(2 * B, 0x77);
    EXPECT_EQ(release_ecdsa_signature(chk, pub.get(), ec::kEcOk, zero_r.data(), B, dg.data(), dg.size(), out.data()),
              Status::kDeviceError);
    EXPECT_EQ(release_ecdsa_signature(chk, pub.get(), ec::kEcRetry, rs.data(), B, dg.data(), dg.size(), out.data()),
              Status::kDeviceError);
    EXPECT_EQ(out, Bytes(2 * B, 0x77)) << "a withheld signature was written out";
    EXPECT_EQ(release_ecdsa_signature(chk, pub.get(), ec::kEcOk, rs.data(), B, dg.data(), dg.size(), out.data()),
              Status::kOk);
    EXPECT_EQ(out, rs);
    // A point off the curve is no key.
    Bytes off = key.pub;
    off.back() ^= 1;
    EXPECT_FALSE(chk.public_key(id, off.data()));
  }
}

// What the check costs the host per signature (printed, never asserted):
// EcdsaChecker::verifies (OpenSSL's default provider), next to OpenSSL
// signing the same digest on the CPU and the hedged nonce draw.
TEST(EcdsaCheckCost, PrintsMicrosecondsPerSignature) {
  EcdsaChecker chk;
  ASSERT_TRUE(chk.ready());
  for (uint32_t id : {ec::kEcP256, ec::kEcP384}) {
    const size_t B = kt::coord_bytes(id);
    const kt::EcKey key = kt::openssl_keygen(id);
    EcdsaPublicKey pub = chk.public_key(id, key.pub.data());
    ASSERT_TRUE(pub);
    const int n = id == ec::kEcP256 ? 400 : 100;
    std::vector<Bytes> dgs, sigs;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      dgs.push_back(kt::random_bytes(B));
      bool ok = false;
      sigs.push_back(kt::der_to_rs(kt::openssl_sign_digest(key.pkey.get(), dgs.back()), B, &ok));
      ASSERT_TRUE(ok);
    }
    const auto t1 = std::chrono::steady_clock::now();
    int good = 0;
    for (int i = 0; i < n; ++i) good += chk.verifies(pub.get(), dgs[i].data(), dgs[i].size(), sigs[i].data(), B);
    const auto t2 = std::chrono::steady_clock::now();
    Bytes k(B);
    for (int i = 0; i < n; ++i) draw_ecdsa_nonce(k.data(), id, key.priv.data(), key.priv.size(), dgs[i].data(), B);
    const auto t3 = std::chrono::steady_clock::now();
    EXPECT_EQ(good, n);
    auto us = [n](auto a, auto b) { return std::chrono::duration<double, std::micro>(b - a).count() / n; };
    std::printf("[ info ] %s per signature on this host: fault check (OpenSSL verify) %.1f us, OpenSSL sign %.1f us, "
                "hedged nonce %.2f us\n",
                kt::group_name(id), us(t1, t2), us(t0, t1), us(t2, t3));
  }
}

}  // namespace
}  // namespace gputls::engine
