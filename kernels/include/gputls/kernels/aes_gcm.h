// AES-GCM (NIST SP 800-38D) seal and open over batches of records, written
// once for host and device (GT_HD): bitsliced AES (aes_bitsliced.h) in
// counter mode, GHASH by constant-time carry-less multiplication (ghash.h).
//
// One record spreads over many threads. Its GHASH input is the sequence of
// N = ceil(aad/16) + ceil(len/16) + 1 blocks (AAD, ciphertext, lengths), and
// block g is weighted by H^(N-g). Chunks of kGcmChunkBlocks blocks, counted
// from the end, are the work items: item k of a record covers the blocks with
// weights H^(kP+1) .. H^((k+1)P), runs CTR over the ciphertext blocks among
// them, sums X_g * H^(N-g-kP) from the key's precomputed powers, multiplies by
// H^(kP), and XORs the result (and, for k = 0, E_K(J0)) into the record's
// accumulator. XOR is commutative, so the order of the items does not matter
// (atomicXor on the device, plain XOR in the host twin) and the accumulator
// ends as the tag. A second pass compares the tag (open) in constant time and
// zeroes the output of every failed record by mask.
//
// Secrets: keys, round keys, H and its powers, plaintexts, the keystream and
// the computed tag. Public: lengths, slots, ops, the nonce, the statuses.
// Only 96-bit nonces and 16-byte tags exist at this layer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gputls/kernels/aes_bitsliced.h"
#include "gputls/kernels/ghash.h"

namespace gputls::kernels {

// P: GHASH blocks (at most P CTR blocks) per work item. 8 spreads a 16 KiB
// record over 130 threads, so 1024 such records already give about 133k
// threads (an H100 holds 270k); larger P saves a multiplication and four
// atomics per P blocks. Not yet tuned on a GPU.
constexpr uint32_t kGcmChunkBlocks = 8;
constexpr uint32_t kGcmMaxChunks = 160;  // records up to 160 * 8 GHASH blocks (AAD + payload + lengths: 20 KiB)
constexpr uint32_t kGcmMaxBlocks = kGcmChunkBlocks * kGcmMaxChunks;
constexpr uint32_t kGcmNonceBytes = 12;
constexpr uint32_t kGcmTagBytes = 16;

enum AesGcmOp : uint32_t { kAesGcmSeal = 0, kAesGcmOpen = 1 };

enum AesGcmStatus : uint32_t {
  kAesGcmOk = 0,
  kAesGcmAuthFailed = 1,  // open: the tag does not match; output zeroed
  kAesGcmTooLong = 2,     // more than kGcmMaxBlocks GHASH blocks: run it elsewhere; output zeroed
  kAesGcmBadRequest = 3,  // unknown op; output zeroed
  kAesGcmBadNonce = 4,    // (aes_gcm_one only) IV not 96 bits: GCM's other IV lengths are not served
};

// Per-key state, computed once at key registration (aes_gcm_key_init) and
// kept in a slot table (device memory for the kernel): round keys, H and the
// powers the chunks need. Secret throughout.
struct AesGcmKey {
  aes::RoundKeys rk;
  gf128::Prepared hpow[kGcmChunkBlocks];  // H^(i+1), split for multiplication
  gf128::Elem hchunk[kGcmMaxChunks];  // hchunk[k] = H^(k * P); hchunk[0] unused
};

// One record of a batch (a scatter-gather entry): pointers in the memory
// space of whoever runs the batch. in and out may be the same buffer.
struct AesGcmRecord {
  const uint8_t* in = nullptr;   // len bytes: plaintext (seal) or ciphertext (open)
  uint8_t* out = nullptr;        // len bytes
  const uint8_t* aad = nullptr;  // aad_len bytes
  uint8_t* tag = nullptr;        // 16 bytes: written (seal) or expected (open)
  uint32_t len = 0;
  uint32_t aad_len = 0;
  uint32_t key_slot = 0;  // index into AesGcmBatch::keys
  uint32_t op = kAesGcmSeal;
  uint8_t nonce[kGcmNonceBytes] = {};
};

// A batch: count records and their work items. chunk_start (count + 1
// entries, from aes_gcm_plan) gives record r the items
// [chunk_start[r], chunk_start[r + 1]). acc holds 4 words per record and must
// be zero before pass 1 (the host twin and the launcher clear it).
struct AesGcmBatch {
  const AesGcmRecord* records = nullptr;
  const uint32_t* chunk_start = nullptr;
  const AesGcmKey* keys = nullptr;
  uint32_t* acc = nullptr;     // count * 4
  uint32_t* status = nullptr;  // count
  uint32_t count = 0;
  uint32_t items = 0;  // chunk_start[count]
};

// GHASH blocks of a record: AAD, payload, lengths (64-bit: no overflow for any lengths).
GT_HD uint64_t gcm_blocks(uint32_t len, uint32_t aad_len) {
  return (uint64_t{aad_len} + 15) / 16 + (uint64_t{len} + 15) / 16 + 1;
}

// Work items of one record: ceil(N / P), and 1 for a record too long to serve
// (its single item only reports the status).
GT_HD uint32_t gcm_chunks(uint32_t len, uint32_t aad_len) {
  const uint64_t n = gcm_blocks(len, aad_len);
  if (n > kGcmMaxBlocks) return 1;
  return static_cast<uint32_t>((n + kGcmChunkBlocks - 1) / kGcmChunkBlocks);
}

GT_HD bool gcm_servable(uint32_t len, uint32_t aad_len) { return gcm_blocks(len, aad_len) <= kGcmMaxBlocks; }

namespace gcm_detail {

// Record of work item `item`: the last r with chunk_start[r] <= item (public data).
GT_HD uint32_t record_of(const AesGcmBatch& b, uint32_t item) {
  uint32_t lo = 0, hi = b.count;
  while (hi - lo > 1) {
    const uint32_t mid = (lo + hi) / 2;
    if (b.chunk_start[mid] <= item)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

GT_HD void acc_xor(uint32_t* p, uint32_t v) {
#if defined(__CUDA_ARCH__)
  atomicXor(p, v);
#else
  *p ^= v;
#endif
}

GT_HD void counter_block(uint8_t blk[16], const uint8_t nonce[12], uint32_t ctr) {
  for (int i = 0; i < 12; ++i) blk[i] = nonce[i];
  blk[12] = static_cast<uint8_t>(ctr >> 24);
  blk[13] = static_cast<uint8_t>(ctr >> 16);
  blk[14] = static_cast<uint8_t>(ctr >> 8);
  blk[15] = static_cast<uint8_t>(ctr);
}

// m <= 16 bytes from src as four little-endian words, zero-padded; one 16-byte
// load on the device when src is aligned and the block is whole. Addresses and
// lengths are public.
GT_HD void load_words(uint32_t w[4], const uint8_t* src, uint32_t m) {
#if defined(__CUDA_ARCH__)
  if (m == 16 && (reinterpret_cast<uintptr_t>(src) & 15) == 0) {
    const uint4 v = *reinterpret_cast<const uint4*>(src);
    w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
    return;
  }
#endif
  for (int i = 0; i < 4; ++i) w[i] = 0;
GT_ROLLED
  for (uint32_t t = 0; t < m; ++t) w[t / 4] |= uint32_t{src[t]} << (8 * (t % 4));
}

// The first m <= 16 bytes of the block in word form w to dst.
GT_HD void store_words(uint8_t* dst, const uint32_t w[4], uint32_t m) {
#if defined(__CUDA_ARCH__)
  if (m == 16 && (reinterpret_cast<uintptr_t>(dst) & 15) == 0) {
    *reinterpret_cast<uint4*>(dst) = make_uint4(w[0], w[1], w[2], w[3]);
    return;
  }
#endif
  for (uint32_t t = 0; t < m; ++t) dst[t] = static_cast<uint8_t>(w[t / 4] >> (8 * (t % 4)));
}

// A (possibly partial, zero-padded) 16-byte block of `data` starting at off.
GT_HD gf128::Elem load_block(const uint8_t* data, uint32_t len, uint32_t off) {
  uint8_t blk[16];
  for (uint32_t i = 0; i < 16; ++i) blk[i] = off + i < len ? data[off + i] : 0;  // lengths are public
  return gf128::load(blk);
}

}  // namespace gcm_detail

// Pass 1, one work item: CTR over its ciphertext blocks and its share of GHASH.
GT_HD void aes_gcm_pass1(const AesGcmBatch& b, uint32_t item) {
  using namespace gcm_detail;
  const uint32_t r = record_of(b, item);
  const AesGcmRecord& R = b.records[r];
  if (!gcm_servable(R.len, R.aad_len) || R.op > kAesGcmOpen) return;
  const uint32_t k = item - b.chunk_start[r];  // chunk index, counted from the end
  const AesGcmKey& key = b.keys[R.key_slot];
  const bool seal = R.op == kAesGcmSeal;
  const uint32_t a = (R.aad_len + 15) / 16, c = (R.len + 15) / 16, n = a + c + 1;
  const uint32_t g_hi = n - 1 - k * kGcmChunkBlocks;  // exponent of block g is n - g
  const uint32_t g_lo = n > (k + 1) * kGcmChunkBlocks ? n - (k + 1) * kGcmChunkBlocks : 0;
  uint32_t nw[3];  // the nonce as the counter blocks' first three words
  for (int w = 0; w < 3; ++w) nw[w] = aes::detail::load_le32(R.nonce + 4 * w);
  gf128::Wide sum;  // this item's blocks times their H powers, reduced once after the loop
  for (uint32_t g = g_lo; g <= g_hi;) {
    if (g < a) {
      sum = gf128::add(sum, gf128::mul_wide(load_block(R.aad, R.aad_len, 16 * g), key.hpow[n - g - k * kGcmChunkBlocks - 1]));
      ++g;
      continue;
    }
    if (g == n - 1) {  // lengths block: bit lengths of AAD and payload, big-endian 64-bit each
      const gf128::Elem lens{uint64_t{R.aad_len} * 8, uint64_t{R.len} * 8};
      sum = gf128::add(sum, gf128::mul_wide(lens, key.hpow[0]));
      ++g;
      continue;
    }
    // Ciphertext blocks i and (when it is in this chunk too) i + 1: one
    // two-block AES call for both keystream blocks, in word form throughout
    // (counter words built directly, data loaded and stored as words).
    const uint32_t i = g - a;
    const uint32_t pair = (g + 1 <= g_hi && g + 1 < n - 1) ? 2 : 1;
    uint32_t ks[2][4] = {{nw[0], nw[1], nw[2], bswap32(2 + i)}, {nw[0], nw[1], nw[2], bswap32(3 + i)}};
    aes::encrypt2_words(key.rk, ks[0], ks[1], ks[0], ks[1]);
GT_UNROLL
    for (uint32_t j = 0; j < 2; ++j) {
      if (j == pair) break;  // public: the chunk's last block has no partner
      const uint32_t off = 16 * (i + j);
      const uint32_t m = R.len - off < 16 ? R.len - off : 16;
      uint32_t v[4], o[4];
      load_words(v, R.in + off, m);  // read before the write: in and out may alias
      for (int w = 0; w < 4; ++w) o[w] = v[w] ^ ks[j][w];
      store_words(R.out + off, o, m);
      // GHASH pads a partial block (a record's last) with zeros; m is public.
GT_ROLLED
      for (uint32_t t = m; t < 16; ++t) o[t / 4] &= ~(0xffu << (8 * (t % 4)));
      const gf128::Elem x = gf128::load_words(seal ? o : v);  // GHASH runs over the ciphertext
      sum = gf128::add(sum, gf128::mul_wide(x, key.hpow[n - (g + j) - k * kGcmChunkBlocks - 1]));
    }
    g += pair;
  }
  gf128::Elem part = gf128::reduce(sum);
  if (k > 0) part = gf128::mul(part, key.hchunk[k]);
  if (k == 0) {  // the tag's mask E_K(J0), added once per record
    uint8_t j0[16], unused[16];
    counter_block(j0, R.nonce, 1);
    aes::encrypt2(key.rk, j0, j0, j0, unused);
    part = gf128::add(part, gf128::load(j0));
  }
  uint32_t* acc = b.acc + 4 * size_t{r};
  acc_xor(acc + 0, static_cast<uint32_t>(part.hi >> 32));
  acc_xor(acc + 1, static_cast<uint32_t>(part.hi));
  acc_xor(acc + 2, static_cast<uint32_t>(part.lo >> 32));
  acc_xor(acc + 3, static_cast<uint32_t>(part.lo));
}

// Pass 2, one work item: the record's status (tag written for seal, compared
// in constant time for open) and, by mask, the zeroing of its share of the
// output when the record failed.
GT_HD void aes_gcm_pass2(const AesGcmBatch& b, uint32_t item) {
  const uint32_t r = gcm_detail::record_of(b, item);
  const AesGcmRecord& R = b.records[r];
  const uint32_t k = item - b.chunk_start[r];
  const uint32_t* acc = b.acc + 4 * size_t{r};
  uint8_t tag[16];
  for (int w = 0; w < 4; ++w)
    for (int j = 0; j < 4; ++j) tag[4 * w + j] = static_cast<uint8_t>(acc[w] >> (24 - 8 * j));
  uint32_t status;
  uint32_t keep;  // all ones: release the output; zero: wipe it
  if (!gcm_servable(R.len, R.aad_len) || R.op > kAesGcmOpen) {
    status = R.op > kAesGcmOpen ? kAesGcmBadRequest : kAesGcmTooLong;
    keep = 0;
  } else if (R.op == kAesGcmOpen) {
    uint32_t diff = 0;
    for (int j = 0; j < 16; ++j) diff |= static_cast<uint32_t>(tag[j] ^ R.tag[j]);
    const uint32_t bad = (diff | (0u - diff)) >> 31;  // 1 iff any byte differs, without a branch
    status = bad * kAesGcmAuthFailed;
    keep = bad - 1u;
  } else {
    status = kAesGcmOk;
    keep = ~0u;
  }
  if (k == 0) {
    b.status[r] = status;
    if (R.op == kAesGcmSeal) {
      const uint8_t m = static_cast<uint8_t>(keep);
      for (int j = 0; j < 16; ++j) R.tag[j] = static_cast<uint8_t>(tag[j] & m);
    }
  }
  // A servable seal releases its whole output (keep is all ones, and public:
  // the op and the lengths): nothing to mask, and rewriting 16 KiB a byte at a
  // time was most of pass 2's memory traffic.
  if (R.op == kAesGcmSeal && gcm_servable(R.len, R.aad_len)) return;
  // This item's ciphertext bytes (the whole output for a record that had no work items).
  uint32_t lo = 0, hi = R.len;
  if (gcm_servable(R.len, R.aad_len) && R.op <= kAesGcmOpen) {
    const uint32_t a = (R.aad_len + 15) / 16, c = (R.len + 15) / 16, n = a + c + 1;
    const uint32_t g_hi = n - 1 - k * kGcmChunkBlocks;
    const uint32_t g_lo = n > (k + 1) * kGcmChunkBlocks ? n - (k + 1) * kGcmChunkBlocks : 0;
    const uint32_t c_lo = g_lo > a ? g_lo - a : 0;
    const uint32_t c_end = g_hi >= a ? (g_hi - a + 1 < c ? g_hi - a + 1 : c) : 0;
    lo = 16 * c_lo;
    hi = c_end > c_lo ? (16 * c_end < R.len ? 16 * c_end : R.len) : lo;
  }
  const uint8_t m = static_cast<uint8_t>(keep);
  uint32_t t = lo;
#if defined(__CUDA_ARCH__)
  // 16 bytes a store where the output is aligned (addresses and lengths are
  // public; keep is applied by mask, never by branch).
  if ((reinterpret_cast<uintptr_t>(R.out + t) & 15) == 0) {
    for (; t + 16 <= hi; t += 16) {
      uint4* p = reinterpret_cast<uint4*>(R.out + t);
      const uint4 v = *p;
      *p = make_uint4(v.x & keep, v.y & keep, v.z & keep, v.w & keep);
    }
  }
#endif
  for (; t < hi; ++t) R.out[t] = static_cast<uint8_t>(R.out[t] & m);
}

// Builds the per-key state: false for a key length other than 16 or 32 bytes.
GT_HD bool aes_gcm_key_init(AesGcmKey& out, const uint8_t* key, size_t key_len) {
  if (!aes::expand_key(out.rk, key, key_len)) return false;
  uint8_t h[16], unused[16];
  for (int i = 0; i < 16; ++i) h[i] = 0;
  aes::encrypt2(out.rk, h, h, h, unused);
  const gf128::Elem H = gf128::load(h);
  gf128::Elem hp = H;
  for (uint32_t i = 0; i < kGcmChunkBlocks; ++i) {
    if (i > 0) hp = gf128::mul(hp, H);
    out.hpow[i] = gf128::prepare(hp);
  }
  const gf128::Elem HP = hp;
  out.hchunk[0] = gf128::Elem{};
  out.hchunk[1] = HP;
  for (uint32_t k = 2; k < kGcmMaxChunks; ++k) out.hchunk[k] = gf128::mul(out.hchunk[k - 1], HP);
  volatile uint8_t* vh = h;
  for (int i = 0; i < 16; ++i) vh[i] = 0;
  return true;
}

// Fills chunk_start (count + 1 entries) and returns the number of work items.
inline uint32_t aes_gcm_plan(const AesGcmRecord* records, uint32_t count, uint32_t* chunk_start) {
  uint32_t total = 0;
  for (uint32_t r = 0; r < count; ++r) {
    chunk_start[r] = total;
    total += gcm_chunks(records[r].len, records[r].aad_len);
  }
  chunk_start[count] = total;
  return total;
}

// Host twin of the two kernels: the same bodies, looped over the work items.
inline void aes_gcm_batch_host(const AesGcmBatch& b) {
  for (uint32_t i = 0; i < 4 * b.count; ++i) b.acc[i] = 0;
  for (uint32_t i = 0; i < b.items; ++i) aes_gcm_pass1(b, i);
  for (uint32_t i = 0; i < b.items; ++i) aes_gcm_pass2(b, i);
  for (uint32_t i = 0; i < 4 * b.count; ++i) b.acc[i] = 0;  // the accumulators held tags
}

// One record through the host twin (tests, key set-up checks). iv_len other
// than 12 is refused with kAesGcmBadNonce before anything runs.
inline uint32_t aes_gcm_one(const AesGcmKey& key, uint32_t op, const uint8_t* iv, size_t iv_len, const uint8_t* aad,
                            uint32_t aad_len, const uint8_t* in, uint32_t len, uint8_t* out, uint8_t* tag) {
  if (iv_len != kGcmNonceBytes) return kAesGcmBadNonce;
  AesGcmRecord rec;
  rec.in = in;
  rec.out = out;
  rec.aad = aad;
  rec.tag = tag;
  rec.len = len;
  rec.aad_len = aad_len;
  rec.op = op;
  for (uint32_t i = 0; i < kGcmNonceBytes; ++i) rec.nonce[i] = iv[i];
  uint32_t chunk_start[2], acc[4], status = 0;
  AesGcmBatch b;
  b.records = &rec;
  b.chunk_start = chunk_start;
  b.keys = &key;
  b.acc = acc;
  b.status = &status;
  b.count = 1;
  b.items = aes_gcm_plan(&rec, 1, chunk_start);
  aes_gcm_batch_host(b);
  return status;
}

}  // namespace gputls::kernels
