// Host tests of the X25519 code the GPU runs (GT_HD headers compiled by g++):
// field arithmetic against OpenSSL's BIGNUM (random values and values at the
// documented limb bounds), canonical encoding, RFC 7748 test vectors, low-order
// points, and the batch body.
#include <gtest/gtest.h>
#include <openssl/bn.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "bn_util.h"
#include "gputls/kernels/fe25519.h"
#include "gputls/kernels/x25519.h"
#include "x25519_test_util.h"

namespace gputls::kernels {
namespace {

using namespace testing;
using fe25519::Fe;

constexpr int kOffset[10] = {0, 26, 51, 77, 102, 128, 153, 179, 204, 230};

Bn prime() {
  BIGNUM* p = BN_new();
  BN_set_bit(p, 255);
  BN_sub_word(p, 19);
  return Bn(p);
}

// The integer an element represents (not reduced).
Bn fe_value(const Fe& f) {
  Bn r(BN_new()), t(BN_new());
  BN_zero(r.get());
  for (int i = 0; i < 10; ++i) {
    BN_set_word(t.get(), f.v[i]);
    BN_lshift(t.get(), t.get(), kOffset[i]);
    BN_add(r.get(), r.get(), t.get());
  }
  return r;
}

Bn mod_p(const BIGNUM* a, BN_CTX* ctx) {
  Bn p = prime(), r(BN_new());
  BN_nnmod(r.get(), a, p.get(), ctx);
  return r;
}

// 32 little-endian bytes of a (< 2^256).
Bytes32 le32(const BIGNUM* a) {
  Bytes32 b{};
  BN_bn2lebinpad(a, b.data(), 32);
  return b;
}

// Reduced element from a canonical value < p.
Fe fe_from(const BIGNUM* a) {
  Fe f;
  const Bytes32 b = le32(a);
  fe25519::from_bytes(f, b.data());
  return f;
}

Bytes32 encode(const Fe& f) {
  Bytes32 b{};
  fe25519::to_bytes(b.data(), f);
  return b;
}

// Checks that every limb is within the documented bounds.
bool is_reduced(const Fe& f) {
  for (int i = 0; i < 10; ++i) {
    const uint64_t bound = (i & 1) ? (1u << 25) + (1u << 17) : (1u << 26) - 1;
    if (f.v[i] > bound) return false;
  }
  return true;
}

// Largest limbs each class may hold (see fe25519.h).
constexpr uint32_t kReducedMax[10] = {(1u << 26) - 1, (1u << 25) + (1u << 17), (1u << 26) - 1,
                                      (1u << 25) + (1u << 17), (1u << 26) - 1, (1u << 25) + (1u << 17),
                                      (1u << 26) - 1, (1u << 25) + (1u << 17), (1u << 26) - 1,
                                      (1u << 25) + (1u << 17)};
uint32_t loose_max(int i) {
  const uint32_t two_p = i == 0 ? (1u << 27) - 38 : (i & 1) ? (1u << 26) - 2 : (1u << 27) - 2;
  return kReducedMax[i] + two_p;
}

// Checks mul, sq, mul_small and to_bytes on two elements against BIGNUM.
void check_ops(const Fe& f, const Fe& g, BN_CTX* ctx, const char* what) {
  SCOPED_TRACE(what);
  Bn p = prime(), fv = fe_value(f), gv = fe_value(g), want(BN_new());
  Fe h;
  fe25519::mul(h, f, g);
  BN_mod_mul(want.get(), fv.get(), gv.get(), p.get(), ctx);
  EXPECT_TRUE(is_reduced(h));
  EXPECT_EQ(BN_cmp(mod_p(fe_value(h).get(), ctx).get(), want.get()), 0);
  EXPECT_EQ(encode(h), le32(want.get()));
  fe25519::sq(h, f);
  BN_mod_sqr(want.get(), fv.get(), p.get(), ctx);
  EXPECT_TRUE(is_reduced(h));
  EXPECT_EQ(encode(h), le32(want.get()));
  fe25519::mul_small(h, g, kX25519A24);
  {
    Bn k(BN_new());
    BN_set_word(k.get(), kX25519A24);
    BN_mod_mul(want.get(), gv.get(), k.get(), p.get(), ctx);
  }
  EXPECT_TRUE(is_reduced(h));
  EXPECT_EQ(encode(h), le32(want.get()));
  // to_bytes straight from the (possibly loose) input.
  EXPECT_EQ(encode(f), le32(mod_p(fv.get(), ctx).get()));
}

TEST(Fe25519, MatchesBignumOnRandomValues) {
  Ctx ctx(BN_CTX_new());
  Bn p = prime();
  for (int n = 0; n < 2000; ++n) {
    Bn a = random_below(p.get()), b = random_below(p.get());
    const Fe fa = fe_from(a.get()), fb = fe_from(b.get());
    ASSERT_TRUE(is_reduced(fa));
    ASSERT_EQ(encode(fa), le32(a.get()));
    check_ops(fa, fb, ctx.get(), "reduced");
    // add and sub give loose elements, which feed mul and sq.
    Fe s, d;
    fe25519::add(s, fa, fb);
    fe25519::sub(d, fa, fb);
    Bn want(BN_new());
    BN_mod_add(want.get(), a.get(), b.get(), p.get(), ctx.get());
    EXPECT_EQ(encode(s), le32(want.get()));
    BN_mod_sub(want.get(), a.get(), b.get(), p.get(), ctx.get());
    EXPECT_EQ(encode(d), le32(want.get()));
    check_ops(s, d, ctx.get(), "loose");
    check_ops(d, s, ctx.get(), "loose");
    // Inverse.
    Fe inv;
    fe25519::invert(inv, fa);
    Bn wi(BN_mod_inverse(nullptr, a.get(), p.get(), ctx.get()));
    if (BN_is_zero(a.get())) continue;
    ASSERT_TRUE(wi);
    EXPECT_EQ(encode(inv), le32(wi.get()));
  }
}

// mul, sq, mul_small and to_bytes at the largest limbs they accept (loose),
// and add/sub at the largest reduced limbs: overflow in a 64-bit sum or a
// 32-bit prescaled operand would show here first.
TEST(Fe25519, MatchesBignumAtLimbBounds) {
  Ctx ctx(BN_CTX_new());
  std::mt19937_64 rng(7);
  Fe loose, reduced, zero;
  for (int i = 0; i < 10; ++i) {
    loose.v[i] = loose_max(i);
    reduced.v[i] = kReducedMax[i];
    zero.v[i] = 0;
  }
  check_ops(loose, loose, ctx.get(), "loose max");
  check_ops(loose, zero, ctx.get(), "loose max, zero");
  Fe s, d;
  fe25519::add(s, reduced, reduced);
  fe25519::sub(d, reduced, zero);  // the largest sub output: reduced + 2p
  check_ops(s, d, ctx.get(), "add/sub of reduced max");
  check_ops(d, d, ctx.get(), "sub of reduced max");
  fe25519::sub(d, zero, reduced);
  Bn p = prime(), want(BN_new()), rv = fe_value(reduced);
  BN_mod_sub(want.get(), p.get(), rv.get(), p.get(), ctx.get());
  EXPECT_EQ(encode(d), le32(want.get()));
  for (int n = 0; n < 2000; ++n) {
    Fe f, g;
    for (int i = 0; i < 10; ++i) {
      // Mostly near the bound, sometimes anywhere below it.
      const uint32_t m = loose_max(i);
      f.v[i] = (rng() & 1) ? m - static_cast<uint32_t>(rng() % 1024) : static_cast<uint32_t>(rng() % (m + 1ull));
      g.v[i] = (rng() & 1) ? m - static_cast<uint32_t>(rng() % 1024) : static_cast<uint32_t>(rng() % (m + 1ull));
    }
    check_ops(f, g, ctx.get(), "random loose");
    if (HasFailure()) return;
  }
}

TEST(Fe25519, EncodingIsCanonicalAndIgnoresTopBit) {
  Ctx ctx(BN_CTX_new());
  Bn p = prime();
  // Values around p and 2^255: decode keeps bits 0..254, encode reduces mod p.
  std::vector<Bn> values;
  for (int delta = -3; delta <= 18; ++delta) {
    Bn v(BN_dup(p.get()));
    if (delta < 0)
      BN_sub_word(v.get(), static_cast<BN_ULONG>(-delta));
    else
      BN_add_word(v.get(), static_cast<BN_ULONG>(delta));
    values.push_back(std::move(v));
  }
  values.push_back(Bn(BN_new()));
  BN_zero(values.back().get());
  for (const Bn& v : values) {
    for (int top = 0; top < 2; ++top) {
      Bytes32 in = le32(v.get());
      if (top) in[31] |= 0x80;
      Fe f;
      fe25519::from_bytes(f, in.data());
      EXPECT_TRUE(is_reduced(f));
      const Bytes32 out = encode(f);
      EXPECT_EQ(out, le32(mod_p(v.get(), ctx.get()).get())) << hex(in);
      EXPECT_EQ(out[31] & 0x80, 0);
      uint8_t again[32];
      const uint32_t any = fe25519::to_bytes(again, f);
      EXPECT_EQ(any == 0, BN_is_zero(mod_p(v.get(), ctx.get()).get())) << hex(in);
    }
  }
  // 2^255 - 1 (all bits of the 255-bit field set) = 18 mod p.
  Bytes32 all{};
  all.fill(0xff);
  Fe f;
  fe25519::from_bytes(f, all.data());
  Bytes32 want{};
  want[0] = 18;
  EXPECT_EQ(encode(f), want);
  // invert(0) = 0, invert(1) = 1.
  Fe z, inv;
  fe25519::set_small(z, 0);
  fe25519::invert(inv, z);
  EXPECT_EQ(encode(inv), Bytes32{});
  fe25519::set_small(z, 1);
  fe25519::invert(inv, z);
  Bytes32 one{};
  one[0] = 1;
  EXPECT_EQ(encode(inv), one);
}

TEST(Fe25519, CswapByMask) {
  Fe a, b;
  for (int i = 0; i < 10; ++i) {
    a.v[i] = static_cast<uint32_t>(i);
    b.v[i] = static_cast<uint32_t>(100 + i);
  }
  const Fe a0 = a, b0 = b;
  fe25519::cswap(a, b, 0);
  EXPECT_EQ(encode(a), encode(a0));
  EXPECT_EQ(encode(b), encode(b0));
  fe25519::cswap(a, b, ~0u);
  EXPECT_EQ(encode(a), encode(b0));
  EXPECT_EQ(encode(b), encode(a0));
}

Bytes32 ours(const Bytes32& k, const Bytes32& u, uint32_t* status = nullptr) {
  Bytes32 out{};
  const uint32_t s = x25519(out.data(), k.data(), u.data());
  if (status) *status = s;
  return out;
}

// RFC 7748 section 5.2.
TEST(X25519, Rfc7748Vectors) {
  uint32_t st = 99;
  EXPECT_EQ(hex(ours(hex32("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                     hex32("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"), &st)),
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  EXPECT_EQ(st, kX25519Ok);
  EXPECT_EQ(hex(ours(hex32("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                     hex32("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"), &st)),
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
  EXPECT_EQ(st, kX25519Ok);
}

// RFC 7748 section 5.2, iterated: k, u = X25519(k, u), k.
TEST(X25519, Rfc7748Iterated) {
  Bytes32 k{}, u{};
  k[0] = 9;
  u[0] = 9;
  for (int i = 1; i <= 1000; ++i) {
    const Bytes32 r = ours(k, u);
    u = k;
    k = r;
    if (i == 1) {
      EXPECT_EQ(hex(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(hex(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

// RFC 7748 section 6.1: both key pairs and the shared secret.
TEST(X25519, Rfc7748DiffieHellman) {
  const Bytes32 a = hex32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes32 b = hex32("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  Bytes32 pa{}, pb{};
  EXPECT_EQ(x25519_base(pa.data(), a.data(), ed25519::base_table_host()), kX25519Ok);
  EXPECT_EQ(x25519_base(pb.data(), b.data(), ed25519::base_table_host()), kX25519Ok);
  EXPECT_EQ(hex(pa), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(hex(pb), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  EXPECT_EQ(hex(ours(a, pb)), shared);
  EXPECT_EQ(hex(ours(b, pa)), shared);
}

// RFC 7748 section 6.1: an all-zero result is refused, by status, with the output zero.
TEST(X25519, LowOrderPointsGiveZeroSecretStatus) {
  for (const Bytes32& u : low_order_points()) {
    for (int n = 0; n < 4; ++n) {
      Bytes32 out;
      out.fill(0xa5);
      const Bytes32 k = random32();
      EXPECT_EQ(x25519(out.data(), k.data(), u.data()), kX25519ZeroSecret) << hex(u);
      EXPECT_EQ(out, Bytes32{}) << hex(u);
      EXPECT_FALSE(openssl_x25519(k, u).has_value()) << "OpenSSL accepted low-order " << hex(u);
    }
  }
}

// Clamping: bits 0-2 and 255 of the scalar do not matter, bit 254 is forced.
TEST(X25519, ScalarIsClamped) {
  const Bytes32 u = hex32("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
  for (int n = 0; n < 16; ++n) {
    Bytes32 k = random32(), c = k;
    c[0] &= 248;
    c[31] = static_cast<uint8_t>((c[31] & 127) | 64);
    Bytes32 k2 = k;
    k2[0] ^= static_cast<uint8_t>(n & 7);
    k2[31] ^= 0x80;
    k2[31] ^= 0x40;
    EXPECT_EQ(ours(k, u), ours(c, u));
    EXPECT_EQ(ours(k, u), ours(k2, u));
  }
}

// The batch body: derive with table slots, keygen, and per-item status.
TEST(X25519Batch, HostTwinMatchesSingleCalls) {
  const uint32_t slots = 5, n = 40;
  std::vector<uint8_t> table(slots * 32), peer(n * 32), out(n * 32);
  std::vector<uint32_t> index(n), status(n, 77);
  for (uint32_t s = 0; s < slots; ++s) {
    const Bytes32 k = random32();
    std::copy(k.begin(), k.end(), table.begin() + s * 32);
  }
  const std::vector<Bytes32> low = low_order_points();
  for (uint32_t i = 0; i < n; ++i) {
    index[i] = (i * 3) % slots;
    const Bytes32 u = i % 7 == 3 ? low[i % low.size()] : random32();
    std::copy(u.begin(), u.end(), peer.begin() + i * 32);
  }
  X25519Batch b;
  b.scalars = table.data();
  b.scalar_index = index.data();
  b.peer = peer.data();
  b.out = out.data();
  b.status = status.data();
  b.count = n;
  b.op = kX25519Derive;
  x25519_batch_host(b);
  for (uint32_t i = 0; i < n; ++i) {
    Bytes32 k, u, want;
    std::copy_n(table.begin() + index[i] * 32, 32, k.begin());
    std::copy_n(peer.begin() + i * 32, 32, u.begin());
    uint32_t st;
    want = ours(k, u, &st);
    EXPECT_EQ(status[i], st) << i;
    EXPECT_EQ(status[i], i % 7 == 3 ? kX25519ZeroSecret : kX25519Ok) << i;
    EXPECT_EQ(0, std::memcmp(out.data() + i * 32, want.data(), 32)) << i;
  }
  // Keygen without an index: item i uses scalar i; peer is not read.
  b.scalar_index = nullptr;
  b.peer = nullptr;
  b.count = slots;
  b.op = kX25519Keygen;
  x25519_batch_host(b);
  for (uint32_t s = 0; s < slots; ++s) {
    Bytes32 k;
    std::copy_n(table.begin() + s * 32, 32, k.begin());
    EXPECT_EQ(status[s], kX25519Ok);
    EXPECT_EQ(hex(out.data() + s * 32, 32), hex(*openssl_x25519_public(k)));
  }
}

}  // namespace
}  // namespace gputls::kernels
