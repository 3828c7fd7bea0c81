// GHASH's field GF(2^128) (NIST SP 800-38D), constant time, written once for
// host and device (GT_HD). Carry-less products come from ordinary integer
// multiplications of operands with holes: each 32-bit operand is split into
// four parts holding every fourth bit, so a column of any 32x32 -> 64 product
// sums at most 8 one-bits and its carries never reach the next bit the mask
// keeps. No table, no branch, no data-dependent index.
//
// An element is the 16-byte block loaded big-endian into (hi, lo): GCM's
// coefficient of x^0 is the most significant bit of hi ("reflected" order).
#pragma once

#include <cstdint>

#include "gputls/kernels/gt_hd.h"

namespace gputls::kernels::gf128 {

struct Elem {
  uint64_t hi = 0, lo = 0;
};

GT_HD Elem load(const uint8_t b[16]) {
  Elem e;
  for (int i = 0; i < 8; ++i) {
    e.hi = (e.hi << 8) | b[i];
    e.lo = (e.lo << 8) | b[8 + i];
  }
  return e;
}

// The same from a block held as four little-endian 32-bit words (the AES
// kernels' word form): each word byte-reversed.
GT_HD Elem load_words(const uint32_t w[4]) {
  return Elem{uint64_t{bswap32(w[0])} << 32 | bswap32(w[1]), uint64_t{bswap32(w[2])} << 32 | bswap32(w[3])};
}

GT_HD void store(uint8_t b[16], const Elem& e) {
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(e.hi >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(e.lo >> (56 - 8 * i));
  }
}

GT_HD Elem add(const Elem& a, const Elem& b) { return Elem{a.hi ^ b.hi, a.lo ^ b.lo}; }

namespace detail {

// Carry-less 32 x 32 -> 64-bit product.
// The four parts of a 32-bit operand, every fourth bit each.
struct Parts32 {
  uint32_t p[4];
};

GT_HD Parts32 split32(uint32_t b) {
  return Parts32{{b & 0x11111111u, b & 0x22222222u, b & 0x44444444u, b & 0x88888888u}};
}

GT_HD uint64_t clmul32(uint32_t a, const Parts32& bp) {
  const uint32_t a0 = a & 0x11111111u, a1 = a & 0x22222222u, a2 = a & 0x44444444u, a3 = a & 0x88888888u;
  const uint32_t b0 = bp.p[0], b1 = bp.p[1], b2 = bp.p[2], b3 = bp.p[3];
  // 32 x 32 -> 64-bit products, one IMAD.WIDE.U32 each. On the device in PTX:
  // from C++ nvcc followed about every product with a VIADD moving its high
  // half (a tenth of GHASH's instructions).
  auto m = [](uint32_t x, uint32_t y) {
#if defined(__CUDA_ARCH__)
    uint64_t r;
    asm("mul.wide.u32 %0, %1, %2;" : "=l"(r) : "r"(x), "r"(y));
    return r;
#else
    return static_cast<uint64_t>(x) * y;
#endif
  };
  // z_k gathers the products whose bits land at positions = k (mod 4).
  const uint64_t z0 = m(a0, b0) ^ m(a1, b3) ^ m(a2, b2) ^ m(a3, b1);
  const uint64_t z1 = m(a0, b1) ^ m(a1, b0) ^ m(a2, b3) ^ m(a3, b2);
  const uint64_t z2 = m(a0, b2) ^ m(a1, b1) ^ m(a2, b0) ^ m(a3, b3);
  const uint64_t z3 = m(a0, b3) ^ m(a1, b2) ^ m(a2, b1) ^ m(a3, b0);
  return (z0 & 0x1111111111111111ull) | (z1 & 0x2222222222222222ull) | (z2 & 0x4444444444444444ull) |
         (z3 & 0x8888888888888888ull);
}

GT_HD uint64_t clmul32(uint32_t a, uint32_t b) { return clmul32(a, split32(b)); }

// The three 32-bit operands Karatsuba multiplies a 64-bit b by (high half,
// low half, their sum), split.
struct Parts64 {
  Parts32 hi, lo, mid;
};

GT_HD Parts64 split64(uint64_t b) {
  const uint32_t b1 = static_cast<uint32_t>(b >> 32), b0 = static_cast<uint32_t>(b);
  return Parts64{split32(b1), split32(b0), split32(b1 ^ b0)};
}

// Carry-less 64 x 64 -> 128-bit product (Karatsuba over 32-bit halves).
GT_HD void clmul64(uint64_t a, const Parts64& b, uint64_t& hi, uint64_t& lo) {
  const uint32_t a1 = static_cast<uint32_t>(a >> 32), a0 = static_cast<uint32_t>(a);
  const uint64_t z2 = clmul32(a1, b.hi), z0 = clmul32(a0, b.lo);
  const uint64_t z1 = clmul32(a1 ^ a0, b.mid) ^ z2 ^ z0;
  hi = z2 ^ (z1 >> 32);
  lo = z0 ^ (z1 << 32);
}

}  // namespace detail

// A 256-bit carry-less product, not yet reduced (and not yet shifted for the
// reflected order). Products to be summed are summed in this form and reduced
// once: shifting and reduction are linear, so the sum of the reductions is the
// reduction of the sum ("aggregated reduction").
struct Wide {
  uint64_t w3 = 0, w2 = 0, w1 = 0, w0 = 0;
};

GT_HD Wide add(const Wide& a, const Wide& b) { return Wide{a.w3 ^ b.w3, a.w2 ^ b.w2, a.w1 ^ b.w1, a.w0 ^ b.w0}; }

// A multiplier y split once for many products (GCM's H powers, per key): the
// splits are a third of a multiplication's logic operations.
struct Prepared {
  detail::Parts64 hi, lo, mid;
};

GT_HD Prepared prepare(const Elem& y) { return Prepared{detail::split64(y.hi), detail::split64(y.lo), detail::split64(y.hi ^ y.lo)}; }

// x * y unreduced: Karatsuba over 64-bit halves.
GT_HD Wide mul_wide(const Elem& x, const Prepared& y) {
  GT_COUNT("gf128::mul", 128);
  uint64_t p2h, p2l, p0h, p0l, p1h, p1l;
  detail::clmul64(x.hi, y.hi, p2h, p2l);
  detail::clmul64(x.lo, y.lo, p0h, p0l);
  detail::clmul64(x.hi ^ x.lo, y.mid, p1h, p1l);
  p1h ^= p2h ^ p0h;
  p1l ^= p2l ^ p0l;
  return Wide{p2h, p2l ^ p1h, p0h ^ p1l, p0l};
}

GT_HD Wide mul_wide(const Elem& x, const Elem& y) { return mul_wide(x, prepare(y)); }

// The product's shift left by one for the reflected order, then reduction by
// x^128 = x^7 + x^2 + x + 1 in two folds.
GT_HD Elem reduce(const Wide& p) {
  const uint64_t w3 = (p.w3 << 1) | (p.w2 >> 63);
  const uint64_t w2 = (p.w2 << 1) | (p.w1 >> 63);
  const uint64_t w1 = (p.w1 << 1) | (p.w0 >> 63);
  const uint64_t w0 = p.w0 << 1;
  // Low half V = (w1, w0) holds x^128..x^255. The bits V >> {1, 2, 7} push
  // out (degrees >= 128 again) come back as the top 7 bits of a second fold.
  const uint64_t vh = w1, vl = w0;
  const uint64_t spill = (vl << 63) ^ (vl << 62) ^ (vl << 57);
  const uint64_t uh = vh ^ spill, ul = vl;
  const uint64_t fh = uh ^ (uh >> 1) ^ (uh >> 2) ^ (uh >> 7);
  const uint64_t fl = ul ^ (ul >> 1) ^ (ul >> 2) ^ (ul >> 7) ^ (uh << 63) ^ (uh << 62) ^ (uh << 57);
  return Elem{w3 ^ fh, w2 ^ fl};
}

// x * y in GCM's field.
GT_HD Elem mul(const Elem& x, const Elem& y) { return reduce(mul_wide(x, y)); }

}  // namespace gputls::kernels::gf128
