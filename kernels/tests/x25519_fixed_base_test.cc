// The fixed-base X25519 key generation (x25519_fixed_base.h: signed-digit
// comb over a precomputed edwards25519 table): the base point and curve
// constant it is built from, and its results bit for bit against OpenSSL and
// against the variable-base ladder on u = 9, for random and edge scalars.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "gputls/kernels/x25519.h"
#include "x25519_test_util.h"

namespace gputls::kernels {
namespace {

using namespace testing;
using fe25519::Fe;

Bytes32 enc(const Fe& f) {
  Bytes32 b{};
  fe25519::to_bytes(b.data(), f);
  return b;
}

Bytes32 small(uint8_t v) {
  Bytes32 b{};
  b[0] = v;
  return b;
}

// B is on edwards25519 (-x^2 + y^2 = 1 + d x^2 y^2) and maps to u = 9; d is
// -121665/121666 (d * 121666 + 121665 = 0).
TEST(X25519FixedBase, BasePointAndCurveConstant) {
  Fe d, x, y, x2, y2, lhs, rhs, t, one;
  ed25519::curve_d(d);
  fe25519::set_small(t, 121666);
  fe25519::mul(t, d, t);
  fe25519::set_small(one, 121665);
  fe25519::add(t, t, one);
  EXPECT_EQ(enc(t), Bytes32{});
  fe25519::from_bytes(x, ed25519::kBaseX);
  fe25519::from_bytes(y, ed25519::kBaseY);
  fe25519::sq(x2, x);
  fe25519::sq(y2, y);
  fe25519::sub(lhs, y2, x2);
  fe25519::mul(rhs, x2, y2);
  fe25519::mul(rhs, rhs, d);
  fe25519::set_small(one, 1);
  fe25519::add(rhs, rhs, one);
  EXPECT_EQ(hex(enc(lhs)), hex(enc(rhs)));
  Fe num, den;
  fe25519::add(num, one, y);
  fe25519::sub(den, one, y);
  fe25519::invert(den, den);
  fe25519::mul(num, num, den);
  EXPECT_EQ(enc(num), small(9));
}

// Fixed base, ladder on u = 9 and OpenSSL agree on scalar k.
void expect_keygen_matches(const Bytes32& k, const char* what) {
  Bytes32 fixed{}, ladder{};
  const Bytes32 nine = small(9);
  EXPECT_EQ(x25519_base(fixed.data(), k.data(), ed25519::base_table_host()), kX25519Ok) << what;
  EXPECT_EQ(x25519(ladder.data(), k.data(), nine.data()), kX25519Ok) << what;
  const std::optional<Bytes32> want = openssl_x25519_public(k);
  ASSERT_TRUE(want.has_value()) << what;
  EXPECT_EQ(hex(fixed), hex(*want)) << what << " scalar " << hex(k);
  EXPECT_EQ(hex(ladder), hex(*want)) << what << " scalar " << hex(k);
}

TEST(X25519FixedBase, EdgeScalarsMatchOpensslAndLadder) {
  std::vector<std::pair<Bytes32, const char*>> cases;
  Bytes32 k{};
  cases.push_back({k, "all zero (clamps to 2^254)"});
  k.fill(0xff);
  cases.push_back({k, "all ones"});
  cases.push_back({small(1), "one"});
  cases.push_back({small(8), "eight"});
  cases.push_back({small(9), "nine"});
  k.fill(0x88);
  cases.push_back({k, "every digit 8 (longest carry chain)"});
  k.fill(0x77);
  cases.push_back({k, "every digit 7"});
  k.fill(0xf8);
  cases.push_back({k, "every digit pair 8, 15"});
  k.fill(0x00);
  k[31] = 0x7f;
  cases.push_back({k, "top byte 0x7f"});
  k.fill(0xff);
  k[31] = 0x40;
  cases.push_back({k, "2^255 - 2^254 ... pattern"});
  for (int bit = 3; bit < 254; bit += 7) {
    Bytes32 b{};
    b[bit / 8] = static_cast<uint8_t>(1u << (bit % 8));
    cases.push_back({b, "single bit"});
  }
  // Every table entry: byte r set to j | j << 4 makes digits 2r and 2r + 1
  // equal j (rows r of both halves of the comb), column j - 1.
  for (int r = 0; r < ed25519::kBaseRows; ++r)
    for (int j = 1; j <= 8; ++j) {
      Bytes32 b{};
      b[r] = static_cast<uint8_t>(r == 0 ? (j << 4) : (j | (j << 4)));
      cases.push_back({b, "one row"});
    }
  for (const auto& [scalar, what] : cases) expect_keygen_matches(scalar, what);
}

TEST(X25519FixedBase, RandomScalarsMatchOpensslAndLadder) {
  for (int i = 0; i < 500; ++i) expect_keygen_matches(random32(), "random");
}

// Batch keygen: the host twin (host table) equals the ladder fallback the
// device uses without a table, item by item, with key slots.
TEST(X25519FixedBase, BatchWithAndWithoutTableAgree) {
  const uint32_t n = 33;
  std::vector<uint8_t> scalars(n * 32), a(n * 32), b(n * 32);
  std::vector<uint32_t> sa(n, 77), sb(n, 77), index(n);
  for (uint32_t i = 0; i < n; ++i) {
    const Bytes32 k = random32();
    std::memcpy(scalars.data() + i * 32, k.data(), 32);
    index[i] = (i * 5) % n;
  }
  X25519Batch batch;
  batch.scalars = scalars.data();
  batch.scalar_index = index.data();
  batch.out = a.data();
  batch.status = sa.data();
  batch.count = n;
  batch.op = kX25519Keygen;
  x25519_batch_host(batch);  // fills the host table
  batch.out = b.data();
  batch.status = sb.data();
  for (uint32_t i = 0; i < n; ++i) x25519_batch_item(batch, i);  // no table: the ladder
  EXPECT_EQ(a, b);
  for (uint32_t i = 0; i < n; ++i) {
    EXPECT_EQ(sa[i], kX25519Ok);
    EXPECT_EQ(sb[i], kX25519Ok);
  }
}

}  // namespace
}  // namespace gputls::kernels
