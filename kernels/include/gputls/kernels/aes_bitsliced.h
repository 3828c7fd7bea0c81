// AES-128 / AES-256 encryption, bitsliced and table-free, written once for
// host and device (GT_HD). Two blocks are encrypted at a time in eight 32-bit
// bit planes; the S-box is a boolean circuit (GF(2^8) inversion through the
// tower field GF((2^4)^2), then the affine map), so no memory
// index and no branch ever depends on the key or the data: there is no table
// to leak through caches or shared-memory bank conflicts. (About 220 gates per
// 32 S-boxes: the inversion runs in a tower field, see sub_bytes.)
//
// Plane layout: plane b holds bit b (LSB = 0) of every byte of both blocks;
// byte j of block `blk` (row j % 4, column j / 4 of the AES state) sits at bit
// 8 * row + 2 * column + blk. Rows are byte lanes, so MixColumns' row rotation
// is a 32-bit rotation by 8; ShiftRows, a different rotation of each byte
// lane, is not run per round at all (fixslicing, see mix_columns_frame).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gputls/kernels/gt_hd.h"

namespace gputls::kernels::aes {

constexpr int kMaxRounds = 14;

// Round keys in plane form (each round key in both block lanes).
struct RoundKeys {
  uint32_t rounds = 0;  // 10 (AES-128) or 14 (AES-256); public
  uint32_t rk[kMaxRounds + 1][8];
};

namespace detail {

GT_HD uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

// The S-box inverts in a tower field instead of AES's own: GF(2^8) as
// GF(16)[y]/(y^2 + y + lambda) over GF(16) = GF(2)[x]/(x^4 + x + 1), with
// lambda = x^3. There, (h y + l)^-1 = (h y + (h + l)) / d with
// d = lambda h^2 + h l + l^2 in GF(16): five GF(16) multiplications instead of
// GF(2^8) ones. The basis changes are linear maps derived once (the root
// X = 0x5c of x^4 + x + 1 and Y = 0xa2 of y^2 + y + lambda in AES's field give
// the isomorphism); the map back is merged with the S-box's affine matrix.
// AesBitsliced.SboxCircuitMatchesTheDefinition checks all 256 inputs against
// the definition (inverse in AES's field, then the affine map).

// GF(16) on four bit planes: a * b reduced by x^4 = x + 1. Each product
// term is one AND-XOR (a LOP3), the reduction four XORs.
GT_HD void gf16_mul(uint32_t r[4], const uint32_t a[4], const uint32_t b[4]) {
  constexpr uint32_t kAndXor = lop3_table([](uint32_t x, uint32_t y, uint32_t z) { return (x & y) ^ z; });
  constexpr uint32_t kXor3 = lop3_table([](uint32_t x, uint32_t y, uint32_t z) { return x ^ y ^ z; });
  uint32_t p[7];
  for (int k = 0; k < 7; ++k) p[k] = a[k < 4 ? k : 3] & b[k < 4 ? 0 : k - 3];  // the first term of each p[k]
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      if (!(j == 0 && i + j < 4) && !(i == 3 && i + j >= 4)) p[i + j] = lop3<kAndXor>(a[i], b[j], p[i + j]);
  r[0] = p[0] ^ p[4];
  r[1] = lop3<kXor3>(p[1], p[4], p[5]);
  r[2] = lop3<kXor3>(p[2], p[5], p[6]);
  r[3] = p[3] ^ p[6];
}

// Squaring is linear: a0 + a1 x^2 + a2 (x + 1) + a3 (x^3 + x^2).
GT_HD void gf16_sq(uint32_t r[4], const uint32_t a[4]) {
  const uint32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
  r[0] = a0 ^ a2;
  r[1] = a2;
  r[2] = a1 ^ a3;
  r[3] = a3;
}

// Inversion in GF(16) (0 for 0). Each output bit is a function of the four
// input bits, written as a choice on d3 between two functions of d0, d1, d2:
// three 3-input logic operations (LOP3) per bit on the device, against two
// multiplications and three squarings for d^14. The functions are the
// algebraic normal forms of the inverse table of GF(2)[x]/(x^4 + x + 1);
// AesBitsliced.SboxCircuitMatchesTheDefinition checks every input.
GT_HD void gf16_inv(uint32_t r[4], const uint32_t d[4]) {
  using F = uint32_t;
  constexpr uint32_t kPick = lop3_table([](F sel, F if1, F if0) { return (sel & if1) | (~sel & if0); });
  constexpr uint32_t k0h = lop3_table([](F a, F b, F c) { return ~(a ^ b ^ c ^ (a & c) ^ (a & b & c)); });
  constexpr uint32_t k0l = lop3_table([](F a, F b, F c) { return a ^ b ^ c ^ (a & c) ^ (b & c) ^ (a & b & c); });
  constexpr uint32_t k1h = lop3_table([](F a, F b, F c) { return ~(b ^ (a & c) ^ (b & c)); });
  constexpr uint32_t k1l = lop3_table([](F a, F b, F c) { return (a & b) ^ (a & c) ^ (b & c); });
  constexpr uint32_t k2h = lop3_table([](F a, F b, F c) { return ~(a ^ (a & b) ^ c); });
  constexpr uint32_t k2l = lop3_table([](F a, F b, F c) { return (a & b) ^ c ^ (a & c); });
  constexpr uint32_t k3h = lop3_table([](F a, F b, F c) { return ~(a ^ (b & c)); });
  constexpr uint32_t k3l = lop3_table([](F, F b, F c) { return b ^ c; });
  const uint32_t a = d[0], b = d[1], c = d[2], s = d[3];
  r[0] = lop3<kPick>(s, lop3<k0h>(a, b, c), lop3<k0l>(a, b, c));
  r[1] = lop3<kPick>(s, lop3<k1h>(a, b, c), lop3<k1l>(a, b, c));
  r[2] = lop3<kPick>(s, lop3<k2h>(a, b, c), lop3<k2l>(a, b, c));
  r[3] = lop3<kPick>(s, lop3<k3h>(a, b, c), lop3<k3l>(a, b, c));
}

// The AES S-box on 32 bytes at once.
GT_HD void sub_bytes(uint32_t s[8]) {
  const uint32_t* x = s;
  // AES basis -> tower basis: l = t[0..3], h = t[4..7].
  uint32_t l[4], h[4];
  l[0] = x[0] ^ x[5] ^ x[7];
  l[1] = x[2];
  l[2] = x[2] ^ x[3] ^ x[4] ^ x[5] ^ x[6] ^ x[7];
  l[3] = x[3] ^ x[4];
  h[0] = x[4] ^ x[5] ^ x[6];
  h[1] = x[1] ^ x[4] ^ x[6] ^ x[7];
  h[2] = x[2] ^ x[3] ^ x[5] ^ x[7];
  h[3] = x[5] ^ x[7];
  // d = lambda h^2 + h l + l^2; lambda h^2 = x^3 (h0 + h2, h2, h1 + h3, h3).
  uint32_t hl[4], l2[4], d[4];
  gf16_mul(hl, h, l);
  gf16_sq(l2, l);
  d[0] = h[2] ^ hl[0] ^ l2[0];
  d[1] = h[1] ^ h[2] ^ h[3] ^ hl[1] ^ l2[1];
  d[2] = h[1] ^ hl[2] ^ l2[2];
  d[3] = h[0] ^ h[2] ^ h[3] ^ hl[3] ^ l2[3];
  uint32_t di[4];
  gf16_inv(di, d);  // 0 for 0, as the S-box wants
  // Inverse: high half h d^-1, low half (h + l) d^-1.
  uint32_t hpl[4] = {h[0] ^ l[0], h[1] ^ l[1], h[2] ^ l[2], h[3] ^ l[3]};
  uint32_t u[8];
  gf16_mul(u, hpl, di);
  gf16_mul(u + 4, h, di);
  // Tower basis -> AES basis, merged with the affine matrix; then + 0x63 (bits 0, 1, 5, 6).
  s[0] = ~(u[0] ^ u[2] ^ u[6]);
  s[1] = ~(u[0] ^ u[1] ^ u[2] ^ u[3] ^ u[4] ^ u[5]);
  s[2] = u[0] ^ u[3] ^ u[5] ^ u[6];
  s[3] = u[0] ^ u[2] ^ u[5];
  s[4] = u[0] ^ u[1] ^ u[3] ^ u[4] ^ u[5];
  s[5] = ~(u[1] ^ u[2] ^ u[3] ^ u[5] ^ u[6] ^ u[7]);
  s[6] = ~(u[4] ^ u[6] ^ u[7]);
  s[7] = u[1] ^ u[2];
}

// Column shift by J in every byte lane at once: within each byte, column c
// takes column c + J (bit 2c + blk takes bit 2((c + J) mod 4) + blk), a right
// rotation of each byte by 2J bits.
template <int J>
GT_HD uint32_t col_shift(uint32_t x) {
  if constexpr (J % 4 == 0) {
    return x;
  } else {
    constexpr int n = 2 * (J % 4);
    constexpr uint32_t lo = (0xffu >> n) * 0x01010101u;  // bits that move down within their byte
    return ((x >> n) & lo) | ((x << (8 - n)) & ~lo);
  }
}

// ShiftRows applied m times (m mod 4), on one plane: row r (byte lane r)
// rotates left by m r columns, a right rotation of lane r by 2 m r bits.
// Key set-up and the final fix-up only: the rounds never run it (below).
GT_HD uint32_t shift_rows_pow(uint32_t x, int m) {
  uint32_t out = 0;
  for (int r = 0; r < 4; ++r) {
    const int n = 2 * ((m * r) % 4);
    const uint32_t lane = (x >> (8 * r)) & 0xffu;
    const uint32_t rot = n == 0 ? lane : ((lane >> n) | (lane << (8 - n))) & 0xffu;
    out |= rot << (8 * r);
  }
  return out;
}

// Fixslicing: the rounds skip ShiftRows. After k rounds the planes hold X with
// the true state S(r, c) = X(r, c + k r) ("frame k"), and MixColumns in frame
// k reads row r + i at column c + k i:
//   X'(r, c) = 2 X(r, c) + 3 X(r+1, c+k) + X(r+2, c+2k) + X(r+3, c+3k),
// which is a rotation across lanes (rows) and one column shift shared by all
// lanes, instead of ShiftRows' different rotation per lane. Round keys are
// stored in their round's frame (expand_key), so AddRoundKey stays one XOR,
// and frame nr mod 4 = 2 is undone once after the last round.
// With a1 = col_shift<k>(rotr8(X)) (row r+1) and t = X + a1:
//   X' = xtime(t) + a1 + col_shift<2k>(rotr16(t)).
template <int K>
GT_HD void mix_columns_frame(uint32_t s[8]) {
  uint32_t t[8], a1[8];
  for (int b = 0; b < 8; ++b) {
    a1[b] = col_shift<K>(rotr(s[b], 8));
    t[b] = s[b] ^ a1[b];
  }
  // xtime(t): multiply by x, reduce with 0x1b (bits 0, 1, 3, 4).
  const uint32_t hi = t[7];
  uint32_t xt[8] = {hi, t[0] ^ hi, t[1], t[2] ^ hi, t[3] ^ hi, t[4], t[5], t[6]};
  for (int b = 0; b < 8; ++b) s[b] = xt[b] ^ a1[b] ^ col_shift<2 * K>(rotr(t[b], 16));
}

// One full round in frame K: SubBytes, (ShiftRows skipped), MixColumns, AddRoundKey.
template <int K>
GT_HD void round_frame(uint32_t s[8], const uint32_t rk[8]) {
  sub_bytes(s);
  mix_columns_frame<K>(s);
  for (int b = 0; b < 8; ++b) s[b] ^= rk[b];
}

}  // namespace detail

// Plane form is the transpose of word form: a 16-byte block is four 32-bit
// little-endian words (word c = column c, byte r of it = row r), and with the
// eight words of two blocks at index p = 2c + blk, bit b of byte r of word p
// is bit 8r + p of plane b. Transposing the 8x8 bit matrix of each byte lane
// takes three layers of swaps (plane index bit k <-> position bit k), each a
// SWAPMOVE on four pairs: 60 logic operations for both directions, since the
// transpose is its own inverse.
namespace detail {

GT_HD void swapmove(uint32_t& a, uint32_t& b, uint32_t mask, int n) {
  const uint32_t t = ((a >> n) ^ b) & mask;
  b ^= t;
  a ^= t << n;
}

GT_HD void transpose_lanes(uint32_t x[8]) {
  for (int i = 0; i < 8; i += 2) swapmove(x[i], x[i + 1], 0x55555555u, 1);
  for (int i = 0; i < 8; i += 4)
    for (int j = 0; j < 2; ++j) swapmove(x[i + j], x[i + j + 2], 0x33333333u, 2);
  for (int j = 0; j < 4; ++j) swapmove(x[j], x[j + 4], 0x0f0f0f0fu, 4);
}

GT_HD uint32_t load_le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

GT_HD void store_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace detail

// Two blocks in word form into plane form, and back.
GT_HD void pack_words(uint32_t s[8], const uint32_t w0[4], const uint32_t w1[4]) {
  for (int c = 0; c < 4; ++c) {
    s[2 * c] = w0[c];
    s[2 * c + 1] = w1[c];
  }
  detail::transpose_lanes(s);
}

GT_HD void unpack_words(uint32_t w0[4], uint32_t w1[4], const uint32_t s[8]) {
  uint32_t x[8];
  for (int b = 0; b < 8; ++b) x[b] = s[b];
  detail::transpose_lanes(x);
  for (int c = 0; c < 4; ++c) {
    w0[c] = x[2 * c];
    w1[c] = x[2 * c + 1];
  }
}

// Two 16-byte blocks into plane form, and back.
GT_HD void pack(uint32_t s[8], const uint8_t b0[16], const uint8_t b1[16]) {
  uint32_t w0[4], w1[4];
  for (int c = 0; c < 4; ++c) {
    w0[c] = detail::load_le32(b0 + 4 * c);
    w1[c] = detail::load_le32(b1 + 4 * c);
  }
  pack_words(s, w0, w1);
}

GT_HD void unpack(uint8_t b0[16], uint8_t b1[16], const uint32_t s[8]) {
  uint32_t w0[4], w1[4];
  unpack_words(w0, w1, s);
  for (int c = 0; c < 4; ++c) {
    detail::store_le32(b0 + 4 * c, w0[c]);
    detail::store_le32(b1 + 4 * c, w1[c]);
  }
}

// Encrypts the two blocks held in s (plane form) in place, leaving them in
// frame 2 (frame2_to_words finishes the job after unpacking). Rounds 1 .. nr-1
// run in frames 1, 2, 3, 0, ... (round r in frame r mod 4); nr is 10 or 14,
// so the groups of four end at round nr - 2, round nr - 1 is in frame 1 and
// the last round leaves frame 2.
GT_HD void encrypt_planes(uint32_t s[8], const RoundKeys& k) {
  for (int b = 0; b < 8; ++b) s[b] ^= k.rk[0][b];
  const int nr = static_cast<int>(k.rounds);
  int round = 1;
  for (; round + 4 <= nr; round += 4) {
    detail::round_frame<1>(s, k.rk[round]);
    detail::round_frame<2>(s, k.rk[round + 1]);
    detail::round_frame<3>(s, k.rk[round + 2]);
    detail::round_frame<0>(s, k.rk[round + 3]);
  }
  detail::round_frame<1>(s, k.rk[round]);
  detail::sub_bytes(s);  // last round: no MixColumns; its key is stored in frame 2 too
  for (int b = 0; b < 8; ++b) s[b] ^= k.rk[nr][b];
}

// Frame 2 -> 0 on two blocks in word form: ShiftRows twice moves rows 1 and 3
// (bytes 1 and 3 of every word) two columns over, so words c and c + 2
// exchange those bytes: one select each, where the same in plane form is a
// nibble swap on every plane.
GT_HD void frame2_to_words(uint32_t w[4]) {
  constexpr uint32_t kRows02 = 0x00ff00ffu;
  for (int c = 0; c < 2; ++c) {
    const uint32_t a = w[c], b = w[c + 2];
    w[c] = (a & kRows02) | (b & ~kRows02);
    w[c + 2] = (b & kRows02) | (a & ~kRows02);
  }
}

// Two blocks in word form (counter mode builds and consumes words).
GT_HD void encrypt2_words(const RoundKeys& k, const uint32_t in0[4], const uint32_t in1[4], uint32_t out0[4],
                          uint32_t out1[4]) {
  uint32_t s[8];
  GT_COUNT("aes::encrypt2", static_cast<int>(k.rounds));
  pack_words(s, in0, in1);
  encrypt_planes(s, k);
  unpack_words(out0, out1, s);
  frame2_to_words(out0);
  frame2_to_words(out1);
}

// out0 = AES_K(in0), out1 = AES_K(in1). Outputs may alias inputs.
GT_HD void encrypt2(const RoundKeys& k, const uint8_t in0[16], const uint8_t in1[16], uint8_t out0[16],
                    uint8_t out1[16]) {
  uint32_t w0[4], w1[4];
  for (int c = 0; c < 4; ++c) {
    w0[c] = detail::load_le32(in0 + 4 * c);
    w1[c] = detail::load_le32(in1 + 4 * c);
  }
  encrypt2_words(k, w0, w1, w0, w1);
  for (int c = 0; c < 4; ++c) {
    detail::store_le32(out0 + 4 * c, w0[c]);
    detail::store_le32(out1 + 4 * c, w1[c]);
  }
}

// Key expansion (FIPS 197 section 5.2) for 16- or 32-byte keys; false for any
// other length (AES-192 is not served). SubWord runs through the same
// bitsliced S-box, so the schedule has no secret-indexed load either.
GT_HD bool expand_key(RoundKeys& out, const uint8_t* key, size_t key_len) {
  if (key_len != 16 && key_len != 32) return false;
  const int nk = static_cast<int>(key_len / 4);
  const int nr = nk + 6;
  const int total = 4 * (nr + 1);
  uint8_t w[4 * 4 * (kMaxRounds + 1)];
  for (size_t i = 0; i < key_len; ++i) w[i] = key[i];
  uint8_t rcon = 1;
  for (int i = nk; i < total; ++i) {
    uint8_t t[4] = {w[4 * (i - 1)], w[4 * (i - 1) + 1], w[4 * (i - 1) + 2], w[4 * (i - 1) + 3]};
    const bool rot = i % nk == 0;            // public: depends on the position only
    const bool sub = rot || (nk == 8 && i % nk == 4);
    if (rot) {
      const uint8_t t0 = t[0];
      t[0] = t[1];
      t[1] = t[2];
      t[2] = t[3];
      t[3] = t0;
    }
    if (sub) {
      uint32_t s[8];
      for (int b = 0; b < 8; ++b) {
        s[b] = 0;
        for (int j = 0; j < 4; ++j) s[b] |= static_cast<uint32_t>((t[j] >> b) & 1) << j;
      }
      detail::sub_bytes(s);
      for (int j = 0; j < 4; ++j) {
        uint8_t v = 0;
        for (int b = 0; b < 8; ++b) v |= static_cast<uint8_t>(((s[b] >> j) & 1) << b);
        t[j] = v;
      }
    }
    if (rot) {
      t[0] ^= rcon;
      rcon = static_cast<uint8_t>((rcon << 1) ^ ((rcon >> 7) * 0x1b));  // rcon is public
    }
    for (int j = 0; j < 4; ++j) w[4 * i + j] = w[4 * (i - nk) + j] ^ t[j];
  }
  out.rounds = static_cast<uint32_t>(nr);
  // Round r's key in round r's frame (X = ShiftRows^-r of the true state);
  // the last round's, like the state it is added to, in frame 2.
  for (int r = 0; r <= nr; ++r) {
    pack(out.rk[r], w + 16 * r, w + 16 * r);
    const int m = r == nr ? 2 : (4 - r % 4) % 4;
    for (int b = 0; b < 8; ++b) out.rk[r][b] = detail::shift_rows_pow(out.rk[r][b], m);
  }
  for (int r = nr + 1; r <= kMaxRounds; ++r)
    for (int b = 0; b < 8; ++b) out.rk[r][b] = 0;
  volatile uint8_t* vw = w;  // the expanded key bytes are secret: a wipe the compiler keeps
  for (int i = 0; i < total * 4; ++i) vw[i] = 0;
  return true;
}

}  // namespace gputls::kernels::aes
