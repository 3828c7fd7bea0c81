// The P-256 / P-384 fixed-base multiplication (ec_fixed_base.h: 4-bit windows
// over a precomputed table of multiples of G) used by keygen, ECDSA sign and
// verify: bit for bit against OpenSSL's EC_POINT_mul and against the
// variable-base routine on G, for random scalars, every table entry, and edge
// scalars (1, 2, n - 1, n - 2, small values, all-ones patterns).
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>

#include <string>
#include <vector>

#include "ec_test_util.h"

namespace gputls::kernels {
namespace {

using namespace testing;

class EcFixedBase : public ::testing::TestWithParam<uint32_t> {};

std::string curve_param_name(const ::testing::TestParamInfo<uint32_t>& i) {
  return i.param == ec::kEcP256 ? "P256" : "P384";
}

// d G with OpenSSL (EC_POINT_mul), X || Y; empty for d = 0 mod n (infinity).
Bytes openssl_mul_g(uint32_t curve, const Bytes& d) {
  EC_GROUP* g = EC_GROUP_new_by_curve_name(nid_of(curve));
  EC_POINT* p = EC_POINT_new(g);
  BIGNUM* k = BN_bin2bn(d.data(), static_cast<int>(d.size()), nullptr);
  BIGNUM *x = BN_new(), *y = BN_new();
  Bytes out;
  if (!g || !p || !k || !x || !y || EC_POINT_mul(g, p, k, nullptr, nullptr, nullptr) != 1)
    throw std::runtime_error("EC_POINT_mul");
  if (!EC_POINT_is_at_infinity(g, p)) {
    if (EC_POINT_get_affine_coordinates(g, p, x, y, nullptr) != 1) throw std::runtime_error("affine");
    const size_t B = coord_bytes(curve);
    out.assign(2 * B, 0);
    BN_bn2binpad(x, out.data(), static_cast<int>(B));
    BN_bn2binpad(y, out.data() + B, static_cast<int>(B));
  }
  BN_free(x);
  BN_free(y);
  BN_free(k);
  EC_POINT_free(p);
  EC_GROUP_free(g);
  return out;
}

// k G in affine X || Y by the fixed-base table or the variable-base routine;
// empty for infinity.
Bytes ours_mul_g(uint32_t curve, const Bytes& kbe, bool fixed) {
  const ec::Curve& c = ec::curve(curve);
  uint32_t k[ec::kMaxLimbs] = {}, x[ec::kMaxLimbs] = {}, y[ec::kMaxLimbs] = {};
  mp::from_be(k, kbe.data(), c.limbs);
  ec::Point r;
  ec::generator_mul(r, k, c, fixed ? ec::base_table_host(curve) : nullptr);
  if (ec::to_affine(x, y, r, c)) return {};
  Bytes out(2 * coord_bytes(curve));
  mp::to_be(out.data(), x, c.limbs);
  mp::to_be(out.data() + coord_bytes(curve), y, c.limbs);
  return out;
}

Bytes order_minus(uint32_t curve, uint32_t v) {
  const ec::Curve& c = ec::curve(curve);
  uint32_t n[ec::kMaxLimbs] = {}, s[ec::kMaxLimbs] = {};
  mp::copy(n, c.n, c.limbs);
  s[0] = v;
  mp::sub(n, n, s, c.limbs);
  Bytes b(coord_bytes(curve));
  mp::to_be(b.data(), n, c.limbs);
  return b;
}

Bytes small_scalar(uint32_t curve, uint32_t v) {
  Bytes b(coord_bytes(curve), 0);
  for (int i = 0; i < 4; ++i) b[b.size() - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
  return b;
}

// Keygen (fixed base, through the batch body) equals OpenSSL on edge scalars;
// out-of-range ones are refused with the output zero, as before.
TEST_P(EcFixedBase, KeygenEdgeScalarsMatchOpenssl) {
  const uint32_t id = GetParam();
  const size_t B = coord_bytes(id);
  std::vector<Bytes> ok;
  for (uint32_t v : {1u, 2u, 3u, 7u, 15u, 16u, 17u, 255u, 256u, 0xffffu, 0xffffffffu}) ok.push_back(small_scalar(id, v));
  for (uint32_t v : {1u, 2u, 15u, 16u, 17u}) ok.push_back(order_minus(id, v));
  Bytes t(B, 0xff);
  t[0] = 0x7f;  // 2^(bits-1) - 1
  ok.push_back(t);
  t.assign(B, 0);
  t[0] = 0x80;  // 2^(bits-1)
  ok.push_back(t);
  t.assign(B, 0x11);  // every digit 1
  ok.push_back(t);
  t.assign(B, 0xee);  // every digit 14
  ok.push_back(t);
  t.assign(B, 0xff);  // all ones in the low half
  for (size_t i = 0; i < B / 2; ++i) t[i] = 0;
  ok.push_back(t);
  const ec::Curve& c = ec::curve(id);
  for (const Bytes& d : ok) {
    uint32_t k[ec::kMaxLimbs] = {};
    mp::from_be(k, d.data(), c.limbs);
    const bool in_range = ec::scalar_ok_mask(k, c) != 0;
    const OneResult r = run_one(id, ec::kEcKeygen, d, {}, {}, {}, {});
    if (in_range) {
      EXPECT_EQ(r.status, ec::kEcOk) << hex(d);
      EXPECT_EQ(hex(r.out), hex(openssl_mul_g(id, d))) << hex(d);
    } else {
      EXPECT_EQ(r.status, ec::kEcBadScalar) << hex(d);
      EXPECT_EQ(r.out, Bytes(2 * B, 0)) << hex(d);
    }
  }
  // Refused: 0, n, all ones.
  for (const Bytes& d : {Bytes(B, 0), order_minus(id, 0), Bytes(B, 0xff)}) {
    const OneResult r = run_one(id, ec::kEcKeygen, d, {}, {}, {}, {});
    EXPECT_EQ(r.status, ec::kEcBadScalar) << hex(d);
    EXPECT_EQ(r.out, Bytes(2 * B, 0)) << hex(d);
  }
}

// Random keys: keygen equals OpenSSL; the raw multiplication equals the
// variable-base routine for any 32 L-bit value, n and above included.
TEST_P(EcFixedBase, RandomScalarsMatchOpensslAndVariableBase) {
  const uint32_t id = GetParam();
  const size_t B = coord_bytes(id);
  for (int i = 0; i < 100; ++i) {
    const Bytes d = random_bytes(B);
    const Bytes fixed = ours_mul_g(id, d, true);
    EXPECT_EQ(hex(fixed), hex(ours_mul_g(id, d, false))) << hex(d);
    EXPECT_EQ(hex(fixed), hex(openssl_mul_g(id, d))) << hex(d);
  }
  for (const Bytes& d : {order_minus(id, 0), Bytes(B, 0xff), Bytes(B, 0)}) {
    EXPECT_EQ(hex(ours_mul_g(id, d, true)), hex(ours_mul_g(id, d, false))) << hex(d);
    EXPECT_EQ(hex(ours_mul_g(id, d, true)), hex(openssl_mul_g(id, d))) << hex(d);
  }
}

// Every table entry: the scalar j 16^w selects exactly entry (w, j).
TEST_P(EcFixedBase, EveryTableEntryEqualsVariableBase) {
  const uint32_t id = GetParam();
  const size_t B = coord_bytes(id);
  const int windows = ec::base_table_windows(ec::curve(id).limbs);
  for (int w = 0; w < windows; ++w)
    for (uint32_t j = 1; j <= 15; ++j) {
      Bytes d(B, 0);
      d[B - 1 - static_cast<size_t>(w / 2)] = static_cast<uint8_t>(j << (4 * (w % 2)));
      ASSERT_EQ(hex(ours_mul_g(id, d, true)), hex(ours_mul_g(id, d, false))) << "window " << w << " digit " << j;
    }
}

INSTANTIATE_TEST_SUITE_P(Curves, EcFixedBase, ::testing::Values(ec::kEcP256, ec::kEcP384), curve_param_name);

}  // namespace
}  // namespace gputls::kernels
