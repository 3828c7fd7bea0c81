#include "rsa_unpad.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <initializer_list>
#include <utility>
#include <vector>

#include "rsa_padding.h"

namespace gputls::host {
namespace {

// All-ones / all-zeros masks over size_t. The asm barrier hides a mask's
// origin from the optimiser so it cannot turn a select back into a branch.
using Mask = size_t;

inline size_t barrier(size_t x) {
  __asm__("" : "+r"(x));
  return x;
}
inline Mask msb_mask(size_t a) { return barrier(0 - (a >> (sizeof(size_t) * 8 - 1))); }
inline Mask is_zero(size_t a) { return msb_mask(~a & (a - 1)); }
inline Mask eq(size_t a, size_t b) { return is_zero(a ^ b); }
inline Mask lt(size_t a, size_t b) { return msb_mask(a ^ ((a ^ b) | ((a - b) ^ b))); }
inline size_t select(Mask m, size_t a, size_t b) { return (m & a) | (~m & b); }
inline uint8_t select8(Mask m, uint8_t a, uint8_t b) { return static_cast<uint8_t>(select(m, a, b)); }

// The message is the last mlen (secret) bytes of buf[0, n), with at most
// n - first bytes. Moves it to buf[first] by shifting buf left by
// n - first - mlen in log steps (every step reads and writes the same
// addresses whatever mlen is), then copies it out under masks.
void copy_tail(uint8_t* buf, size_t n, size_t first, size_t mlen, Mask good, uint8_t* out, size_t outsize) {
  const size_t room = n - first;
  const size_t shift = room - mlen;  // wrapped garbage when good is clear: only masks use it
  for (size_t step = 1; step < room; step <<= 1) {
    const Mask take = ~is_zero(shift & step);
    for (size_t i = first; i + step < n; ++i) buf[i] = select8(take, buf[i + step], buf[i]);
  }
  const size_t tlen = outsize < room ? outsize : room;
  // barrier(i): without it the optimiser rewrites i as an offset from mlen,
  // and the loop's addresses and exit test are then computed from a secret.
  for (size_t i = 0; i < tlen; ++i) out[i] = static_cast<uint8_t>(buf[first + i] & (good & lt(barrier(i), mlen)));
  for (size_t i = tlen; i < outsize; ++i) out[i] = 0;
}

long result(Mask good, size_t mlen) { return static_cast<long>(select(good, mlen, static_cast<size_t>(-1))); }

}  // namespace

long rsaes_pkcs1_v15_decode(const uint8_t* em, size_t k, uint8_t* out, size_t outsize) {
  constexpr size_t kMinPad = 11;  // 00 02, eight non-zero bytes, 00
  if (k < kMinPad) return -1;
  // EM = 00 02 PS 00 M: the first zero after PS ends the padding.
  Mask good = eq(em[0], 0) & eq(em[1], 2);
  Mask found = 0;
  size_t zero_at = 0;
  for (size_t i = 2; i < k; ++i) {
    const Mask z = is_zero(em[i]);
    zero_at = select(~found & z, i, zero_at);
    found |= z;
  }
  good &= found & ~lt(zero_at, kMinPad - 1);  // PS has at least 8 bytes
  const size_t mlen = k - zero_at - 1;
  good &= ~lt(outsize, mlen);
  std::vector<uint8_t> buf(em, em + k);
  copy_tail(buf.data(), k, kMinPad, mlen, good, out, outsize);
  OPENSSL_cleanse(buf.data(), buf.size());
  return result(good, mlen);
}

namespace {

// HMAC-SHA256 over the parts, keyed with key (32 bytes).
bool hmac_sha256(OSSL_LIB_CTX* libctx, const uint8_t* key, size_t key_len,
                 std::initializer_list<std::pair<const uint8_t*, size_t>> parts, uint8_t out[32]) {
  EVP_MAC* mac = EVP_MAC_fetch(libctx, "HMAC", nullptr);
  EVP_MAC_CTX* c = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
                         OSSL_PARAM_construct_end()};
  bool ok = c && EVP_MAC_init(c, key, key_len, params) == 1;
  for (const auto& [data, len] : parts) ok = ok && EVP_MAC_update(c, data, len) == 1;
  size_t out_len = 0;
  ok = ok && EVP_MAC_final(c, out, &out_len, 32) == 1 && out_len == 32;
  EVP_MAC_CTX_free(c);
  EVP_MAC_free(mac);
  return ok;
}

// OpenSSL's ossl_rsa_prf: out (len bytes) = HMAC(kdk, be16(i) || label ||
// be16(len * 8)) for i = 0, 1, .. concatenated.
bool rsa_prf(OSSL_LIB_CTX* libctx, const uint8_t kdk[32], const char* label, uint8_t* out, size_t len) {
  const size_t bits = len * 8;
  if (bits > 0xffff) return false;
  const uint8_t be_bits[2] = {static_cast<uint8_t>(bits >> 8), static_cast<uint8_t>(bits)};
  uint8_t block[32];
  bool ok = true;
  for (size_t pos = 0, i = 0; ok && pos < len; pos += 32, ++i) {
    const uint8_t be_i[2] = {static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    ok = hmac_sha256(libctx, kdk, 32,
                     {{be_i, 2}, {reinterpret_cast<const uint8_t*>(label), std::strlen(label)}, {be_bits, 2}}, block);
    const size_t n = len - pos < 32 ? len - pos : 32;
    if (ok) std::memcpy(out + pos, block, n);
  }
  OPENSSL_cleanse(block, sizeof block);
  return ok;
}

}  // namespace

bool rsa_implicit_rejection_kdk(OSSL_LIB_CTX* libctx, const uint8_t* d, size_t d_len, const uint8_t* ct, size_t k,
                                uint8_t kdk[32]) {
  if (d_len > k) return false;
  std::vector<uint8_t> dk(k, 0);
  std::memcpy(dk.data() + (k - d_len), d, d_len);
  uint8_t d_hash[32];
  EVP_MD* sha256 = EVP_MD_fetch(libctx, "SHA256", nullptr);
  bool ok = sha256 && EVP_Digest(dk.data(), k, d_hash, nullptr, sha256, nullptr) == 1 &&
            hmac_sha256(libctx, d_hash, sizeof d_hash, {{ct, k}}, kdk);
  EVP_MD_free(sha256);
  OPENSSL_cleanse(dk.data(), dk.size());
  OPENSSL_cleanse(d_hash, sizeof d_hash);
  return ok;
}

long rsaes_pkcs1_v15_decode_implicit(OSSL_LIB_CTX* libctx, const uint8_t kdk[32], const uint8_t* em, size_t k,
                                     uint8_t* out, size_t outsize) {
  constexpr size_t kMinPad = 11;
  constexpr size_t kLenTries = 128;  // as OpenSSL: 2^-128 chance none is short enough (then 0)
  if (k < kMinPad || outsize < k - kMinPad) return -1;
  // The synthetic message (its last synth_len bytes) and its length, both
  // from the KDK: the first candidate below k - 10, in constant time.
  std::vector<uint8_t> synthetic(k);
  uint8_t lengths[kLenTries * 2];
  if (!rsa_prf(libctx, kdk, "message", synthetic.data(), k) || !rsa_prf(libctx, kdk, "length", lengths, sizeof lengths)) {
    OPENSSL_cleanse(synthetic.data(), synthetic.size());
    OPENSSL_cleanse(lengths, sizeof lengths);
    return -1;  // a digest failure: not secret
  }
  const size_t max_sep_offset = k - 2 - 8;
  size_t len_mask = max_sep_offset;
  len_mask |= len_mask >> 1;
  len_mask |= len_mask >> 2;
  len_mask |= len_mask >> 4;
  len_mask |= len_mask >> 8;
  len_mask &= 0xffff;
  size_t synth_len = 0;
  for (size_t i = 0; i < sizeof lengths; i += 2) {
    const size_t cand = ((static_cast<size_t>(lengths[i]) << 8) | lengths[i + 1]) & len_mask;
    synth_len = select(lt(cand, max_sep_offset), cand, synth_len);
  }
  // The real padding check, as rsaes_pkcs1_v15_decode.
  Mask good = eq(em[0], 0) & eq(em[1], 2);
  Mask found = 0;
  size_t zero_at = 0;
  for (size_t i = 2; i < k; ++i) {
    const Mask z = is_zero(em[i]);
    zero_at = select(~found & z, i, zero_at);
    found |= z;
  }
  good &= found & ~lt(zero_at, kMinPad - 1);
  const size_t real_len = k - zero_at - 1;
  good &= ~lt(outsize, real_len);
  const size_t mlen = select(good, real_len, synth_len);
  // Both candidates are read in full, byte by byte, whichever is taken.
  std::vector<uint8_t> buf(k);
  for (size_t i = 0; i < k; ++i) buf[i] = select8(good, em[i], synthetic[i]);
  copy_tail(buf.data(), k, kMinPad, mlen, ~static_cast<Mask>(0), out, outsize);
  OPENSSL_cleanse(buf.data(), buf.size());
  OPENSSL_cleanse(synthetic.data(), synthetic.size());
  OPENSSL_cleanse(lengths, sizeof lengths);
  return static_cast<long>(select(lt(outsize, mlen), outsize, mlen));
}

long rsaes_oaep_decode(const EVP_MD* md, const EVP_MD* mgf1, const uint8_t* label, size_t label_len,
                       const uint8_t* em, size_t k, uint8_t* out, size_t outsize) {
  const int hlen_i = EVP_MD_get_size(md);
  if (hlen_i <= 0) return -1;
  const size_t hlen = static_cast<size_t>(hlen_i);
  if (k < 2 * hlen + 2) return -1;
  uint8_t lhash[EVP_MAX_MD_SIZE];
  if (EVP_Digest(label, label_len, lhash, nullptr, md, nullptr) != 1) return -1;
  // EM = Y || maskedSeed (hLen) || maskedDB (k - hLen - 1).
  const size_t db_len = k - hlen - 1;
  std::vector<uint8_t> seed(em + 1, em + 1 + hlen), db(em + 1 + hlen, em + k);
  bool ok = mgf1_xor(mgf1, db.data(), db_len, seed.data(), hlen) &&
            mgf1_xor(mgf1, seed.data(), hlen, db.data(), db_len);
  // DB = lHash' || PS (zeros) || 01 || M
  Mask good = eq(em[0], 0);
  for (size_t i = 0; i < hlen; ++i) good &= eq(db[i], lhash[i]);
  Mask found = 0;
  size_t one_at = 0;
  for (size_t i = hlen; i < db_len; ++i) {
    const Mask nonzero = ~is_zero(db[i]);
    const Mask first = ~found & nonzero;
    good &= ~first | eq(db[i], 1);  // the first non-zero byte must be 01
    one_at = select(first, i, one_at);
    found |= nonzero;
  }
  good &= found;
  const size_t mlen = db_len - one_at - 1;
  good &= ~lt(outsize, mlen);
  copy_tail(db.data(), db_len, hlen + 1, mlen, good, out, outsize);
  OPENSSL_cleanse(seed.data(), seed.size());
  OPENSSL_cleanse(db.data(), db.size());
  if (!ok) return -1;  // a digest failure is not secret
  return result(good, mlen);
}

}  // namespace gputls::host
