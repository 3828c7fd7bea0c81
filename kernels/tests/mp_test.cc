// Limb arithmetic against OpenSSL's BIGNUM on random operands.
#include <gtest/gtest.h>

#include "bn_util.h"
#include "gputls/kernels/modexp.h"
#include "gputls/kernels/mp.h"

namespace gputls::kernels {
namespace {

using namespace testing;

Bn random_odd_modulus(int bits) {
  Bn m(BN_new());
  BN_rand(m.get(), bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD);
  return m;
}

TEST(Mp, MontMulMatchesBignum) {
  Ctx ctx(BN_CTX_new());
  for (int n : {1, 2, 7, 32, 48, 64, 96, 128}) {
    for (int iter = 0; iter < 40; ++iter) {
      // Moduli of full and short top limbs: the final subtraction's both sides.
      Bn m = random_odd_modulus(32 * n - (iter % 3) * 7);
      Bn a = random_below(m.get()), b = random_below(m.get());
      auto ml = to_limbs(m.get(), n), al = to_limbs(a.get(), n), bl = to_limbs(b.get(), n);
      std::vector<uint32_t> r(n), t(n + 2);
      mp::mont_mul(r.data(), al.data(), bl.data(), ml.data(), mp::neg_inv32(ml[0]), t.data(), n);
      // Expected: a * b * R^-1 mod m.
      Bn rinv(BN_new()), rr(BN_new()), want(BN_new());
      BN_set_bit(rr.get(), 32 * n);
      BN_mod_inverse(rinv.get(), rr.get(), m.get(), ctx.get());
      BN_mod_mul(want.get(), a.get(), b.get(), m.get(), ctx.get());
      BN_mod_mul(want.get(), want.get(), rinv.get(), m.get(), ctx.get());
      ASSERT_EQ(BN_cmp(from_limbs(r.data(), n).get(), want.get()), 0) << "n=" << n << " iter=" << iter;
    }
  }
}

TEST(Mp, ModAddSubAndCompare) {
  for (int iter = 0; iter < 200; ++iter) {
    const int n = 1 + iter % 9;
    Bn m = random_odd_modulus(32 * n - (iter % 5));
    Bn a = random_below(m.get()), b = random_below(m.get());
    auto ml = to_limbs(m.get(), n), al = to_limbs(a.get(), n), bl = to_limbs(b.get(), n);
    std::vector<uint32_t> r(n), tmp(n);
    Ctx ctx(BN_CTX_new());
    Bn want(BN_new());
    mp::mod_add(r.data(), al.data(), bl.data(), ml.data(), tmp.data(), n);
    BN_mod_add(want.get(), a.get(), b.get(), m.get(), ctx.get());
    ASSERT_EQ(BN_cmp(from_limbs(r.data(), n).get(), want.get()), 0);
    mp::mod_sub(r.data(), al.data(), bl.data(), ml.data(), tmp.data(), n);
    BN_mod_sub(want.get(), a.get(), b.get(), m.get(), ctx.get());
    ASSERT_EQ(BN_cmp(from_limbs(r.data(), n).get(), want.get()), 0);
    EXPECT_EQ(mp::ct_lt_mask(al.data(), bl.data(), n) != 0, BN_cmp(a.get(), b.get()) < 0);
  }
}

TEST(Mp, MontExpMatchesBignum) {
  Ctx ctx(BN_CTX_new());
  for (int n : {1, 3, 32}) {
    for (int iter = 0; iter < 10; ++iter) {
      Bn m = random_odd_modulus(32 * n);
      Bn x = random_below(m.get()), d(BN_new());
      BN_rand(d.get(), 32 * n - iter, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
      auto ml = to_limbs(m.get(), n), xl = to_limbs(x.get(), n), dl = to_limbs(d.get(), n);
      // Montgomery forms through BIGNUM: x*R, R.
      Bn rr(BN_new()), xr(BN_new()), one(BN_new());
      BN_set_bit(rr.get(), 32 * n);
      BN_mod_mul(xr.get(), x.get(), rr.get(), m.get(), ctx.get());
      BN_mod(one.get(), rr.get(), m.get(), ctx.get());
      auto xrl = to_limbs(xr.get(), n), onel = to_limbs(one.get(), n);
      std::vector<uint32_t> r(n), scratch(mp::mont_exp_scratch(n)), t(n + 2), unit(n, 0);
      unit[0] = 1;
      const uint32_t m0 = mp::neg_inv32(ml[0]);
      mp::mont_exp(r.data(), xrl.data(), dl.data(), n, ml.data(), m0, onel.data(), scratch.data(), n);
      mp::mont_mul(r.data(), r.data(), unit.data(), ml.data(), m0, t.data(), n);
      Bn want(BN_new());
      BN_mod_exp(want.get(), x.get(), d.get(), m.get(), ctx.get());
      ASSERT_EQ(BN_cmp(from_limbs(r.data(), n).get(), want.get()), 0) << n << "/" << iter;
    }
  }
}

TEST(Mp, BytesRoundTripAndNegInv) {
  std::vector<uint8_t> be(64);
  RAND_bytes(be.data(), 64);
  std::vector<uint32_t> l(16);
  mp::from_be(l.data(), be.data(), 16);
  std::vector<uint8_t> back(64);
  mp::to_be(back.data(), l.data(), 16);
  EXPECT_EQ(be, back);
  for (uint32_t m0 : {1u, 3u, 0xffffffffu, 0x12345679u}) EXPECT_EQ(m0 * mp::neg_inv32(m0), 0xffffffffu);
}

}  // namespace
}  // namespace gputls::kernels
