// The CPU backend through the engine, every result checked against OpenSSL's
// default provider called directly.
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine_test_util.h"
#include "test_keys.h"

namespace gputls::engine {
namespace {

using namespace testing;

class RsaSizes : public ::testing::TestWithParam<int> {};

TEST_P(RsaSizes, MatchesOpenSSL) {
  const int bits = GetParam();
  EVP_PKEY* pkey = rsa_key(bits);
  for (uint32_t flushers : {1u, 0u}) {
    auto eng = make_engine(cpu_config(flushers));
    KeyHandle h;
    ASSERT_EQ(eng->register_rsa_key(rsa_material(pkey), &h), Status::kOk);
    const int n = bits == 4096 ? 8 : 32;
    std::vector<Bytes> in(n), out(n);
    std::vector<Request> reqs(n);
    for (int i = 0; i < n; ++i) {
      in[i] = random_below_modulus(pkey);
      out[i].assign(in[i].size(), 0);
      prepare(reqs[i], Op::kRsaPriv, h, in[i].data(), in[i].size(), out[i].data(), out[i].size());
      ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
    }
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(eng->wait(reqs[i]), Status::kOk);
      EXPECT_EQ(reqs[i].served_by, BackendKind::kCpu);
      EXPECT_EQ(out[i], openssl_rsa_raw(pkey, in[i])) << "request " << i;
    }
    const OpStats* st = eng->op_stats(Op::kRsaPriv, static_cast<uint32_t>(bits));
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(st->counts().completed, static_cast<uint64_t>(n));
    EXPECT_EQ(st->counts().served_by(BackendKind::kCpu), static_cast<uint64_t>(n));
  }
}
INSTANTIATE_TEST_SUITE_P(Engine, RsaSizes, ::testing::Values(2048, 3072, 4096));

TEST(EngineCpu, RsaInputNotBelowModulusFailsWithZeroedOutput) {
  EVP_PKEY* pkey = rsa_key(2048);
  auto eng = make_engine(cpu_config());
  KeyHandle h;
  ASSERT_EQ(eng->register_rsa_key(rsa_material(pkey), &h), Status::kOk);
  Bytes in(256, 0xff), out(256, 0xaa);
  Request r;
  prepare(r, Op::kRsaPriv, h, in.data(), in.size(), out.data(), out.size());
  ASSERT_EQ(eng->submit(r), Status::kOk);
  EXPECT_EQ(eng->wait(r), Status::kCryptoFailure);
  EXPECT_EQ(out, Bytes(256, 0));
  EXPECT_EQ(eng->op_stats(Op::kRsaPriv, 2048)->errors[static_cast<size_t>(Status::kCryptoFailure)].load(), 1u);
}

TEST(EngineCpu, X25519MatchesOpenSSLAndRefusesZeroSecret) {
  auto eng = make_engine(cpu_config());
  EVP_PKEY* mine = x25519_key();
  KeyHandle h;
  ASSERT_EQ(eng->register_x25519_key(x25519_material(mine), &h), Status::kOk);
  for (int i = 0; i < 20; ++i) {
    EVP_PKEY* peer = x25519_key();
    Bytes pub = x25519_public(peer), out(32);
    Request r;
    prepare(r, Op::kX25519Derive, h, pub.data(), 32, out.data(), 32);
    ASSERT_EQ(eng->submit(r), Status::kOk);
    ASSERT_EQ(eng->wait(r), Status::kOk);
    EXPECT_EQ(out, openssl_x25519(mine, pub));
    EVP_PKEY_free(peer);
  }
  // A low-order point (here: 0) gives the all-zero secret: RFC 7748 6.1 says refuse.
  Bytes zero(32, 0), out(32, 0x55);
  Request r;
  prepare(r, Op::kX25519Derive, h, zero.data(), 32, out.data(), 32);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  EXPECT_EQ(eng->wait(r), Status::kCryptoFailure);
  EXPECT_EQ(out, Bytes(32, 0));
  EVP_PKEY_free(mine);
}

TEST(EngineCpu, X25519KeygenGivesOpenSSLsPublicKey) {
  auto eng = make_engine(cpu_config());
  EVP_PKEY* k = x25519_key();
  KeyHandle h;
  ASSERT_EQ(eng->register_x25519_key(x25519_material(k), &h), Status::kOk);
  Bytes pub(32);
  Request r;
  prepare(r, Op::kX25519Keygen, h, nullptr, 0, pub.data(), 32);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  ASSERT_EQ(eng->wait(r), Status::kOk);
  EXPECT_EQ(pub, x25519_public(k));
  prepare(r, Op::kX25519Keygen, h, nullptr, 0, pub.data(), 31);
  EXPECT_EQ(eng->submit(r), Status::kInvalidArgument);
  EVP_PKEY_free(k);
}

Status run_one(Engine& eng, Op op, KeyHandle h, const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len) {
  Request r;
  prepare(r, op, h, in, in_len, out, out_len);
  Status s = eng.submit(r);
  return s == Status::kOk ? eng.wait(r) : s;
}

// Ephemeral keys are imported by the CPU backend when it first serves them,
// once, not when they are registered: a GPU that serves keygen leaves the
// host no scalar multiplication per key (counted: cpu_keys_imported).
TEST(EngineCpu, EphemeralKeysImportOnFirstUseOnly) {
  auto eng = make_engine(cpu_config());
  auto imported = [&] { return nlohmann::json::parse(eng->stats_json())["cpu_keys_imported"].get<uint64_t>(); };
  EVP_PKEY* x = x25519_key();
  EVP_PKEY* e = ec_key(256);
  KeyHandle hx, he;
  ASSERT_EQ(eng->register_x25519_key(x25519_material(x), &hx), Status::kOk);
  ASSERT_EQ(eng->register_ec_key(ec_material(e, 256), &he), Status::kOk);
  EXPECT_EQ(imported(), 0u) << "registration imported a key";
  for (int i = 0; i < 2; ++i) {
    Bytes pub(32), point(65);
    ASSERT_EQ(run_one(*eng, Op::kX25519Keygen, hx, nullptr, 0, pub.data(), pub.size()), Status::kOk);
    EXPECT_EQ(pub, x25519_public(x));
    ASSERT_EQ(run_one(*eng, Op::kEcKeygen, he, nullptr, 0, point.data(), point.size()), Status::kOk);
    EXPECT_EQ(point, ec_public(e));
    EXPECT_EQ(imported(), 2u) << "each key is imported once, on first use";
  }
  KeyHandle unused;
  ASSERT_EQ(eng->register_x25519_key(x25519_material(x), &unused), Status::kOk);
  EXPECT_EQ(eng->free_key(unused), Status::kOk);
  EXPECT_EQ(imported(), 2u) << "a key freed unused was never imported";
  EVP_PKEY_free(x);
  EVP_PKEY_free(e);
}

TEST(EngineCpu, RejectsMalformedRequests) {
  auto eng = make_engine(cpu_config());
  KeyHandle rsa, x;
  ASSERT_EQ(eng->register_rsa_key(rsa_material(rsa_key(2048)), &rsa), Status::kOk);
  EVP_PKEY* xk = x25519_key();
  ASSERT_EQ(eng->register_x25519_key(x25519_material(xk), &x), Status::kOk);
  Bytes in(256), out(256);
  Request r;
  prepare(r, Op::kRsaPriv, rsa, in.data(), 255, out.data(), 256);  // short input
  EXPECT_EQ(eng->submit(r), Status::kInvalidArgument);
  prepare(r, Op::kRsaPriv, rsa, in.data(), 256, nullptr, 256);  // no output
  EXPECT_EQ(eng->submit(r), Status::kInvalidArgument);
  prepare(r, Op::kRsaPriv, x, in.data(), 256, out.data(), 256);  // wrong key type
  EXPECT_EQ(eng->submit(r), Status::kInvalidArgument);
  prepare(r, Op::kX25519Derive, x, in.data(), 31, out.data(), 32);
  EXPECT_EQ(eng->submit(r), Status::kInvalidArgument);
  prepare(r, static_cast<Op>(200), x, in.data(), 32, out.data(), 32);
  EXPECT_EQ(eng->submit(r), Status::kInvalidArgument);
  prepare(r, Op::kEcho, {}, in.data(), 100, out.data(), 99);  // output too small
  EXPECT_EQ(eng->submit(r), Status::kInvalidArgument);
  EXPECT_FALSE(r.done());
  // The engine still serves well-formed requests afterwards.
  prepare(r, Op::kEcho, {}, in.data(), 100, out.data(), 100);
  ASSERT_EQ(eng->submit(r), Status::kOk);
  EXPECT_EQ(eng->wait(r), Status::kOk);
  EVP_PKEY_free(xk);
}

TEST(EngineCpu, RejectsBadKeys) {
  auto eng = make_engine(cpu_config());
  KeyHandle h;
  RsaKeyMaterial m = rsa_material(rsa_key(2048));
  RsaKeyMaterial swapped = m;
  std::swap(swapped.dp, swapped.dq);  // CRT parameters that do not match
  EXPECT_EQ(eng->register_rsa_key(swapped, &h), Status::kBadKey);
  RsaKeyMaterial no_crt = m;
  no_crt.p.clear();
  no_crt.q.clear();
  no_crt.dp.clear();
  no_crt.dq.clear();
  no_crt.qinv.clear();
  EXPECT_EQ(eng->register_rsa_key(no_crt, &h), Status::kUnsupported);  // caller keeps it on its CPU path
  RsaKeyMaterial multi = m;
  multi.prime_count = 3;
  EXPECT_EQ(eng->register_rsa_key(multi, &h), Status::kUnsupported);
  RsaKeyMaterial wrong_d = m;
  wrong_d.d.back() ^= 1;
  EXPECT_EQ(eng->register_rsa_key(wrong_d, &h), Status::kBadKey);
  X25519KeyMaterial shortx;
  shortx.priv.assign(31, 1);
  EXPECT_EQ(eng->register_x25519_key(shortx, &h), Status::kBadKey);
  EXPECT_EQ(eng->register_rsa_key(m, &h), Status::kOk);
}

// Many threads at once, mixed ops and keys: every result against OpenSSL.
TEST(EngineCpu, ManyThreadsMixedOps) {
  Config c = cpu_config(2);
  c.batch_size = 16;
  auto eng = make_engine(c);
  EVP_PKEY* rsa_a = rsa_key(2048, 0);
  EVP_PKEY* rsa_b = rsa_key(2048, 1);
  EVP_PKEY* xk = x25519_key();
  KeyHandle ha, hb, hx;
  ASSERT_EQ(eng->register_rsa_key(rsa_material(rsa_a), &ha), Status::kOk);
  ASSERT_EQ(eng->register_rsa_key(rsa_material(rsa_b), &hb), Status::kOk);
  ASSERT_EQ(eng->register_x25519_key(x25519_material(xk), &hx), Status::kOk);
  Bytes peer = x25519_public(xk);  // derive with our own public key: fine for a differential test
  const Bytes want_x = openssl_x25519(xk, peer);

  constexpr int kThreads = 8, kPerThread = 24;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Bytes> in(kPerThread), out(kPerThread), want(kPerThread);
      std::vector<Request> reqs(kPerThread);
      for (int i = 0; i < kPerThread; ++i) {
        int kind = (t + i) % 3;
        if (kind == 2) {
          in[i] = peer;
          want[i] = want_x;
          out[i].assign(32, 0);
          prepare(reqs[i], Op::kX25519Derive, hx, in[i].data(), 32, out[i].data(), 32);
        } else {
          EVP_PKEY* k = kind == 0 ? rsa_a : rsa_b;
          in[i] = random_below_modulus(k);
          want[i] = openssl_rsa_raw(k, in[i]);
          out[i].assign(256, 0);
          prepare(reqs[i], Op::kRsaPriv, kind == 0 ? ha : hb, in[i].data(), 256, out[i].data(), 256);
        }
        if (eng->submit(reqs[i]) != Status::kOk) ++wrong;
      }
      for (int i = 0; i < kPerThread; ++i)
        if (eng->wait(reqs[i]) != Status::kOk || out[i] != want[i]) ++wrong;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  const OpStats* st = eng->op_stats(Op::kRsaPriv, 2048);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->counts().completed + eng->op_stats(Op::kX25519Derive, 255)->counts().completed,
            uint64_t{kThreads * kPerThread});
  EVP_PKEY_free(xk);
}

TEST(EngineCpu, EventfdAndCallbackCompletion) {
  auto eng = make_engine(cpu_config());
  int efd = eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  Bytes in = random_bytes(64), out1(64), out2(64);
  Request a, b;
  prepare(a, Op::kEcho, {}, in.data(), 64, out1.data(), 64);
  a.notify_fd = efd;
  std::atomic<int> calls{0};
  prepare(b, Op::kEcho, {}, in.data(), 64, out2.data(), 64);
  b.user = &calls;
  b.on_complete = [](void* user, Status s) {
    static_cast<std::atomic<int>*>(user)->fetch_add(s == Status::kOk ? 1 : 100);
  };
  ASSERT_EQ(eng->submit(a), Status::kOk);
  ASSERT_EQ(eng->submit(b), Status::kOk);
  uint64_t v = 0;
  ASSERT_EQ(read(efd, &v, sizeof v), static_cast<ssize_t>(sizeof v));  // blocks until a completes
  EXPECT_EQ(v, 1u);
  while (!a.done()) std::this_thread::yield();  // published just after the fd write
  EXPECT_EQ(out1, in);
  while (calls.load() == 0) std::this_thread::yield();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(out2, in);
  close(efd);
}

}  // namespace
}  // namespace gputls::engine

namespace gputls::engine {
namespace {

using namespace testing;

// Finite-field DH exponentiation against BN_mod_exp, on the RFC 3526 primes.
TEST(EngineCpu, ModExpMatchesBignum) {
  auto eng = make_engine(cpu_config());
  for (int bits : {2048, 3072}) {
    DhTestKey key(bits);
    KeyHandle h;
    ASSERT_EQ(eng->register_dh_key(key.material(), &h), Status::kOk);
    const size_t len = key.bytes();
    for (int i = 0; i < 6; ++i) {
      Bytes in = key.random_below_p(), out(len);
      if (i == 0) in.assign(len, 0), in.back() = 2;  // key generation: g = 2
      Request r;
      prepare(r, Op::kModExp, h, in.data(), len, out.data(), len);
      ASSERT_EQ(eng->submit(r), Status::kOk);
      ASSERT_EQ(eng->wait(r), Status::kOk);
      EXPECT_EQ(out, key.openssl_modexp(in)) << bits << "/" << i;
    }
    Bytes pin = key.p_bytes(), out(len);  // x = p: out of range
    Request r;
    prepare(r, Op::kModExp, h, pin.data(), len, out.data(), len);
    ASSERT_EQ(eng->submit(r), Status::kOk);
    EXPECT_EQ(eng->wait(r), Status::kCryptoFailure);
  }
}

}  // namespace
}  // namespace gputls::engine

namespace gputls::engine {
namespace {

using namespace testing;

class EcCurves : public ::testing::TestWithParam<int> {};

TEST_P(EcCurves, KeygenGivesOpenSSLsPublicKey) {
  const int bits = GetParam();
  const size_t pub_len = 1 + 2 * static_cast<size_t>(bits / 8);
  auto eng = make_engine(cpu_config());
  for (int i = 0; i < 4; ++i) {
    EVP_PKEY* k = ec_key(bits);
    KeyHandle h;
    ASSERT_EQ(eng->register_ec_key(ec_material(k, bits), &h), Status::kOk);
    Bytes pub(pub_len);
    ASSERT_EQ(run_one(*eng, Op::kEcKeygen, h, nullptr, 0, pub.data(), pub.size()), Status::kOk);
    EXPECT_EQ(pub, ec_public(k));
    EXPECT_EQ(run_one(*eng, Op::kEcKeygen, h, nullptr, 0, pub.data(), pub.size() - 1), Status::kInvalidArgument);
    EXPECT_EQ(eng->free_key(h), Status::kOk);
    EVP_PKEY_free(k);
  }
  EXPECT_NE(eng->op_stats(Op::kEcKeygen, static_cast<uint32_t>(bits)), nullptr);
}

// A point on the curve with a small x, uncompressed, as given (canonical) and
// with X replaced by x + p: the same point mod p, but a coordinate >= p, which
// must be refused rather than reduced.
void small_x_point(int bits, Bytes* canonical, Bytes* x_plus_p) {
  const size_t w = static_cast<size_t>(bits / 8);
  EC_GROUP* g = EC_GROUP_new_by_curve_name(bits == 256 ? NID_X9_62_prime256v1 : NID_secp384r1);
  EC_POINT* pt = EC_POINT_new(g);
  BIGNUM *p = BN_new(), *x = BN_new(), *y = BN_new();
  ASSERT_EQ(EC_GROUP_get_curve(g, p, nullptr, nullptr, nullptr), 1);
  for (unsigned v = 1;; ++v) {  // about every other x has a point
    BN_set_word(x, v);
    if (EC_POINT_set_compressed_coordinates(g, pt, x, 0, nullptr) == 1) break;
    ERR_clear_error();
  }
  ASSERT_EQ(EC_POINT_get_affine_coordinates(g, pt, x, y, nullptr), 1);
  canonical->assign(1 + 2 * w, 0);
  (*canonical)[0] = 0x04;
  BN_bn2binpad(x, canonical->data() + 1, static_cast<int>(w));
  BN_bn2binpad(y, canonical->data() + 1 + w, static_cast<int>(w));
  *x_plus_p = *canonical;
  BN_add(x, x, p);  // < 2^bits: p is far below 2^bits - small x
  ASSERT_EQ(BN_bn2binpad(x, x_plus_p->data() + 1, static_cast<int>(w)), static_cast<int>(w));
  BN_free(p);
  BN_free(x);
  BN_free(y);
  EC_POINT_free(pt);
  EC_GROUP_free(g);
}

TEST_P(EcCurves, EcdhMatchesOpenSSLAndRefusesInvalidPoints) {
  const int bits = GetParam();
  const size_t w = static_cast<size_t>(bits / 8);
  for (uint32_t flushers : {1u, 0u}) {
    auto eng = make_engine(cpu_config(flushers));
    EVP_PKEY* mine = ec_key(bits);
    KeyHandle h;
    ASSERT_EQ(eng->register_ec_key(ec_material(mine, bits), &h), Status::kOk);
    const int n = 12;
    std::vector<Bytes> peer(n), out(n, Bytes(w)), want(n);
    std::vector<Request> reqs(n);
    for (int i = 0; i < n; ++i) {
      EVP_PKEY* p = ec_key(bits);
      peer[i] = ec_public(p);
      EVP_PKEY_free(p);
      want[i] = openssl_ecdh(mine, peer[i]);
      prepare(reqs[i], Op::kEcdhDerive, h, peer[i].data(), peer[i].size(), out[i].data(), w);
      ASSERT_EQ(eng->submit(reqs[i]), Status::kOk);
    }
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(eng->wait(reqs[i]), Status::kOk) << i;
      EXPECT_EQ(reqs[i].served_by, BackendKind::kCpu);
      EXPECT_EQ(out[i], want[i]) << bits << "/" << i;
    }
    // Off the curve: a valid point with Y changed.
    Bytes bad = peer[0], o(w, 0x55);
    bad.back() ^= 1;
    EXPECT_EQ(run_one(*eng, Op::kEcdhDerive, h, bad.data(), bad.size(), o.data(), w), Status::kCryptoFailure);
    EXPECT_EQ(o, Bytes(w, 0));
    // A coordinate >= p.
    bad = peer[0];
    std::fill(bad.begin() + 1, bad.begin() + 1 + static_cast<std::ptrdiff_t>(w), 0xff);
    o.assign(w, 0x55);
    EXPECT_EQ(run_one(*eng, Op::kEcdhDerive, h, bad.data(), bad.size(), o.data(), w), Status::kCryptoFailure);
    EXPECT_EQ(o, Bytes(w, 0));
    // An on-curve point with X + p: refused (the range check is not lost to
    // the single validation); the canonical encoding is the control.
    Bytes canonical, x_plus_p;
    small_x_point(bits, &canonical, &x_plus_p);
    o.assign(w, 0x55);
    EXPECT_EQ(run_one(*eng, Op::kEcdhDerive, h, canonical.data(), canonical.size(), o.data(), w), Status::kOk);
    EXPECT_EQ(o, openssl_ecdh(mine, canonical));
    o.assign(w, 0x55);
    EXPECT_EQ(run_one(*eng, Op::kEcdhDerive, h, x_plus_p.data(), x_plus_p.size(), o.data(), w),
              Status::kCryptoFailure);
    EXPECT_EQ(o, Bytes(w, 0));
    // All zero after the prefix ((0, 0) is not on these curves).
    bad.assign(peer[0].size(), 0);
    bad[0] = 0x04;
    EXPECT_EQ(run_one(*eng, Op::kEcdhDerive, h, bad.data(), bad.size(), o.data(), w), Status::kCryptoFailure);
    // Malformed requests: not uncompressed, wrong lengths.
    bad = peer[0];
    bad[0] = 0x06;  // hybrid form: not what the op takes
    EXPECT_EQ(run_one(*eng, Op::kEcdhDerive, h, bad.data(), bad.size(), o.data(), w), Status::kInvalidArgument);
    EXPECT_EQ(run_one(*eng, Op::kEcdhDerive, h, peer[0].data(), peer[0].size() - 1, o.data(), w),
              Status::kInvalidArgument);
    EXPECT_EQ(run_one(*eng, Op::kEcdhDerive, h, peer[0].data(), peer[0].size(), o.data(), w + 1),
              Status::kInvalidArgument);
    EVP_PKEY_free(mine);
  }
}

TEST_P(EcCurves, EcdsaSignaturesVerifyWithOpenSSL) {
  const int bits = GetParam();
  const size_t w = static_cast<size_t>(bits / 8);
  auto eng = make_engine(cpu_config());
  EVP_PKEY* k = ec_key(bits);
  KeyHandle h;
  ASSERT_EQ(eng->register_ec_key(ec_material(k, bits), &h), Status::kOk);
  // SHA-1, SHA-256, SHA-384, SHA-512 lengths, and odd ones.
  for (size_t dlen : {20u, 32u, 48u, 64u, 1u, 33u}) {
    Bytes digest = random_bytes(dlen), sig(2 * w), sig2(2 * w);
    ASSERT_EQ(run_one(*eng, Op::kEcdsaSign, h, digest.data(), dlen, sig.data(), sig.size()), Status::kOk);
    EXPECT_TRUE(openssl_ecdsa_verify(k, digest, sig)) << bits << "/" << dlen;
    ASSERT_EQ(run_one(*eng, Op::kEcdsaSign, h, digest.data(), dlen, sig2.data(), sig2.size()), Status::kOk);
    EXPECT_TRUE(openssl_ecdsa_verify(k, digest, sig2));
    EXPECT_NE(sig, sig2);  // a fresh nonce each time
    Bytes other = digest;
    other[0] ^= 0x80;
    EXPECT_FALSE(openssl_ecdsa_verify(k, other, sig));
  }
  Bytes digest(65, 1), sig(2 * w);
  EXPECT_EQ(run_one(*eng, Op::kEcdsaSign, h, digest.data(), 65, sig.data(), sig.size()), Status::kInvalidArgument);
  EXPECT_EQ(run_one(*eng, Op::kEcdsaSign, h, digest.data(), 0, sig.data(), sig.size()), Status::kInvalidArgument);
  EXPECT_EQ(run_one(*eng, Op::kEcdsaSign, h, digest.data(), 32, sig.data(), sig.size() - 1),
            Status::kInvalidArgument);
  // run_now takes the same path.
  Request r;
  prepare(r, Op::kEcdsaSign, h, digest.data(), 32, sig.data(), sig.size());
  ASSERT_EQ(eng->run_now(r), Status::kOk);
  EXPECT_TRUE(openssl_ecdsa_verify(k, Bytes(digest.begin(), digest.begin() + 32), sig));
  EVP_PKEY_free(k);
}

// OpenSSL's signature over the digest as fixed-width r || s.
Bytes openssl_ecdsa_sign(EVP_PKEY* k, const Bytes& digest, size_t w) {
  uint8_t der[160];
  size_t der_len = sizeof der;
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new(k, nullptr);
  const bool ok = c && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_sign(c, der, &der_len, digest.data(), digest.size()) == 1;
  EVP_PKEY_CTX_free(c);
  if (!ok) return {};
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
  Bytes rs(2 * w);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs.data(), static_cast<int>(w));
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs.data() + w, static_cast<int>(w));
  ECDSA_SIG_free(sig);
  return rs;
}

// The kEcdsaVerify input: L || digest (zero-padded to 64) || r || s.
Bytes verify_input(const Bytes& digest, const Bytes& rs) {
  Bytes in(1 + 64 + rs.size(), 0);
  in[0] = static_cast<uint8_t>(digest.size());
  std::copy(digest.begin(), digest.end(), in.begin() + 1);
  std::copy(rs.begin(), rs.end(), in.begin() + 65);
  return in;
}

TEST_P(EcCurves, EcdsaVerifiesOpenSSLSignatures) {
  const int bits = GetParam();
  const size_t w = static_cast<size_t>(bits / 8);
  auto eng = make_engine(cpu_config());
  EVP_PKEY* k = ec_key(bits);
  KeyHandle h;
  ASSERT_EQ(eng->register_ec_key(ec_material(k, bits), &h), Status::kOk);
  for (size_t dlen : {20u, 32u, 48u, 64u, 1u, 33u}) {
    Bytes digest = random_bytes(dlen);
    Bytes rs = openssl_ecdsa_sign(k, digest, w);
    ASSERT_EQ(rs.size(), 2 * w);
    Bytes in = verify_input(digest, rs);
    uint8_t out = 0xaa;
    ASSERT_EQ(run_one(*eng, Op::kEcdsaVerify, h, in.data(), in.size(), &out, 1), Status::kOk);
    EXPECT_EQ(out, 1) << bits << "/" << dlen;
    // Tampered digest, r, s: invalid, still kOk.
    for (size_t pos : {size_t{1}, size_t{65}, 65 + w, in.size() - 1}) {
      Bytes bad = in;
      bad[pos] ^= 0x01;
      out = 0xaa;
      ASSERT_EQ(run_one(*eng, Op::kEcdsaVerify, h, bad.data(), bad.size(), &out, 1), Status::kOk);
      EXPECT_EQ(out, 0) << bits << "/" << dlen << " at " << pos;
    }
  }
  // Our own signatures verify; r = 0 and s = n do not.
  Bytes digest = random_bytes(32), sig(2 * w);
  ASSERT_EQ(run_one(*eng, Op::kEcdsaSign, h, digest.data(), 32, sig.data(), sig.size()), Status::kOk);
  Bytes in = verify_input(digest, sig);
  uint8_t out = 0;
  ASSERT_EQ(run_one(*eng, Op::kEcdsaVerify, h, in.data(), in.size(), &out, 1), Status::kOk);
  EXPECT_EQ(out, 1);
  Bytes zero_r = in;
  std::fill(zero_r.begin() + 65, zero_r.begin() + 65 + w, 0);
  ASSERT_EQ(run_one(*eng, Op::kEcdsaVerify, h, zero_r.data(), zero_r.size(), &out, 1), Status::kOk);
  EXPECT_EQ(out, 0);
  Bytes n = ec_order(bits), s_is_n = in;
  std::copy(n.begin(), n.end(), s_is_n.begin() + 65 + w);
  ASSERT_EQ(run_one(*eng, Op::kEcdsaVerify, h, s_is_n.data(), s_is_n.size(), &out, 1), Status::kOk);
  EXPECT_EQ(out, 0);
  // Another key's public point: invalid.
  EVP_PKEY* k2 = ec_key(bits);
  KeyHandle h2;
  ASSERT_EQ(eng->register_ec_key(ec_material(k2, bits), &h2), Status::kOk);
  out = 0xaa;
  ASSERT_EQ(run_one(*eng, Op::kEcdsaVerify, h2, in.data(), in.size(), &out, 1), Status::kOk);
  EXPECT_EQ(out, 0);
  // Malformed sizes and digest lengths.
  Bytes big(in.size() + 1, 0);
  std::copy(in.begin(), in.end(), big.begin());
  EXPECT_EQ(run_one(*eng, Op::kEcdsaVerify, h, in.data(), in.size() - 1, &out, 1), Status::kInvalidArgument);
  EXPECT_EQ(run_one(*eng, Op::kEcdsaVerify, h, big.data(), big.size(), &out, 1), Status::kInvalidArgument);
  uint8_t out2[2];
  EXPECT_EQ(run_one(*eng, Op::kEcdsaVerify, h, in.data(), in.size(), out2, 2), Status::kInvalidArgument);
  EXPECT_EQ(run_one(*eng, Op::kEcdsaVerify, h, in.data(), in.size(), &out, 0), Status::kInvalidArgument);
  for (uint8_t L : {uint8_t{0}, uint8_t{65}, uint8_t{255}}) {
    Bytes bad = in;
    bad[0] = L;
    EXPECT_EQ(run_one(*eng, Op::kEcdsaVerify, h, bad.data(), bad.size(), &out, 1), Status::kInvalidArgument) << int{L};
  }
  // run_now takes the same path.
  Request r;
  out = 0;
  prepare(r, Op::kEcdsaVerify, h, in.data(), in.size(), &out, 1);
  ASSERT_EQ(eng->run_now(r), Status::kOk);
  EXPECT_EQ(out, 1);
  EVP_PKEY_free(k2);
  EVP_PKEY_free(k);
}

TEST_P(EcCurves, RejectsBadKeys) {
  const int bits = GetParam();
  const size_t w = static_cast<size_t>(bits / 8);
  auto eng = make_engine(cpu_config());
  KeyHandle h;
  EcKeyMaterial m;
  m.curve_bits = static_cast<uint32_t>(bits);
  m.priv.assign(w, 0);  // d = 0
  EXPECT_EQ(eng->register_ec_key(m, &h), Status::kBadKey);
  Bytes n = ec_order(bits);
  m.priv.assign(n.begin(), n.end());  // d = n
  EXPECT_EQ(eng->register_ec_key(m, &h), Status::kBadKey);
  m.priv.assign(w, 0xff);  // d > n
  EXPECT_EQ(eng->register_ec_key(m, &h), Status::kBadKey);
  m.priv.clear();
  EXPECT_EQ(eng->register_ec_key(m, &h), Status::kBadKey);
  // d = n - 1 and d = 1 (public key -G and G) are fine.
  m.priv.assign(n.begin(), n.end());
  m.priv.back() -= 1;
  EXPECT_EQ(eng->register_ec_key(m, &h), Status::kOk);
  m.priv.assign(1, 1);  // short big-endian encodings are accepted
  ASSERT_EQ(eng->register_ec_key(m, &h), Status::kOk);
  Bytes pub(1 + 2 * w);
  ASSERT_EQ(run_one(*eng, Op::kEcKeygen, h, nullptr, 0, pub.data(), pub.size()), Status::kOk);
  EXPECT_EQ(pub[0], 0x04);
  // Curves other than P-256 / P-384.
  EVP_PKEY* k = ec_key(bits);
  EcKeyMaterial good = ec_material(k, bits);
  for (uint32_t cb : {255u, 0u, 521u, 257u}) {
    EcKeyMaterial other = good;
    other.curve_bits = cb;
    EXPECT_EQ(eng->register_ec_key(other, &h), Status::kBadKey) << cb;
  }
  // An EC key is not usable for other ops, nor other keys for EC ops.
  ASSERT_EQ(eng->register_ec_key(good, &h), Status::kOk);
  Bytes buf(256);
  EXPECT_EQ(run_one(*eng, Op::kX25519Derive, h, buf.data(), 32, buf.data(), 32), Status::kInvalidArgument);
  KeyHandle x;
  EVP_PKEY* xk = x25519_key();
  ASSERT_EQ(eng->register_x25519_key(x25519_material(xk), &x), Status::kOk);
  EXPECT_EQ(run_one(*eng, Op::kEcdsaSign, x, buf.data(), 32, buf.data(), 2 * w), Status::kInvalidArgument);
  EVP_PKEY_free(xk);
  EVP_PKEY_free(k);
}

INSTANTIATE_TEST_SUITE_P(Engine, EcCurves, ::testing::Values(256, 384));

// The null policy computes nothing and zeroes EC outputs like any other op's.
TEST(EngineNull, EcOpsZeroOutputs) {
  Config c = cpu_config();
  c.policy = Policy::kNull;
  auto eng = make_engine(c);
  EVP_PKEY* k = ec_key(256);
  KeyHandle h;
  ASSERT_EQ(eng->register_ec_key(ec_material(k, 256), &h), Status::kOk);
  Bytes digest(32, 7), sig(64, 0xaa);
  ASSERT_EQ(run_one(*eng, Op::kEcdsaSign, h, digest.data(), 32, sig.data(), 64), Status::kOk);
  EXPECT_EQ(sig, Bytes(64, 0));
  EVP_PKEY_free(k);
}

// Once done() is true the caller owns its fd again (it may drain it for
// good, or close it): the engine's write must already be there. Checked at
// the first moment done() is seen, many times over (the flusher thread
// completes while this thread watches).
TEST(EngineCpu, EventfdIsWrittenBeforeCompletionIsPublished) {
  auto eng = make_engine(cpu_config());
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(efd, 0);
  Bytes in = random_bytes(16), out(16);
  int late = 0;
  for (int i = 0; i < 5000; ++i) {
    Request r;
    prepare(r, Op::kEcho, {}, in.data(), 16, out.data(), 16);
    r.notify_fd = efd;
    ASSERT_EQ(eng->submit(r), Status::kOk);
    while (!r.done()) {
    }
    uint64_t v = 0;
    if (read(efd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) {
      ++late;  // not yet written: a later write would leave the drained fd readable
      while (read(efd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) std::this_thread::yield();
    }
  }
  EXPECT_EQ(late, 0) << "the fd was written after completion was published";
  close(efd);
}

}  // namespace
}  // namespace gputls::engine
