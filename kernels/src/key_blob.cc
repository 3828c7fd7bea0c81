#include "gputls/kernels/key_blob.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include <memory>

#include "gputls/kernels/mp.h"
#include "gputls/kernels/rsa_key_layout.h"

namespace gputls::kernels {

KeyBlob& KeyBlob::operator=(KeyBlob&& o) noexcept {
  if (this != &o) {
    OPENSSL_cleanse(words_.data(), words_.size() * sizeof(uint32_t));
    words_ = std::move(o.words_);
  }
  return *this;
}

KeyBlob::~KeyBlob() { OPENSSL_cleanse(words_.data(), words_.size() * sizeof(uint32_t)); }

namespace {

struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct CtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

Bn secret_bn(Bytes b) {
  Bn r(BN_bin2bn(b.data(), static_cast<int>(b.size()), BN_secure_new()));
  if (r) BN_set_flags(r.get(), BN_FLG_CONSTTIME);
  return r;
}

// Writes a (< 2^(32*limbs)) into limbs little-endian words.
bool put(uint32_t* dst, const BIGNUM* a, int limbs) {
  if (BN_num_bytes(a) > 4 * limbs) return false;
  std::vector<uint8_t> be(4 * static_cast<size_t>(limbs));
  if (BN_bn2binpad(a, be.data(), static_cast<int>(be.size())) < 0) return false;
  mp::from_be(dst, be.data(), limbs);
  OPENSSL_cleanse(be.data(), be.size());
  return true;
}

// 2^(32 * limbs * k) mod m.
Bn r_pow_mod(const BIGNUM* m, int limbs, int k, BN_CTX* ctx) {
  Bn r(BN_secure_new());
  BN_set_flags(r.get(), BN_FLG_CONSTTIME);
  Bn x(BN_new());
  if (!r || !x || !BN_set_bit(x.get(), 32 * limbs * k) || !BN_mod(r.get(), x.get(), m, ctx)) return nullptr;
  return r;
}

// Words of a secret (an RSA prime) in a temporary: wiped before the heap
// gets them back.
struct WipedWords {
  explicit WipedWords(size_t n) : w(n) {}
  ~WipedWords() { OPENSSL_cleanse(w.data(), w.size() * sizeof(uint32_t)); }
  std::vector<uint32_t> w;
};

// Writes m0inv, r2 = R^2 mod m and (optionally) r3 = R^3 mod m for an odd m.
bool montgomery(const BIGNUM* m, int limbs, BN_CTX* ctx, uint32_t* m0inv, uint32_t* r2, uint32_t* r3) {
  WipedWords all(static_cast<size_t>(limbs));  // m is a secret prime for RSA-CRT
  if (!put(all.w.data(), m, limbs)) return false;
  *m0inv = mp::neg_inv32(all.w[0]);
  Bn x2 = r_pow_mod(m, limbs, 2, ctx);
  if (!x2 || !put(r2, x2.get(), limbs)) return false;
  if (r3) {
    Bn x3 = r_pow_mod(m, limbs, 3, ctx);
    if (!x3 || !put(r3, x3.get(), limbs)) return false;
  }
  return true;
}

}  // namespace

KeyBlob make_rsa_key_blob(Bytes n_, Bytes e_, Bytes p_, Bytes q_, Bytes dp_, Bytes dq_, Bytes qinv_,
                          std::string* error) {
  std::unique_ptr<BN_CTX, CtxFree> ctx(BN_CTX_secure_new());
  Bn n = secret_bn(n_), e = secret_bn(e_), p = secret_bn(p_), q = secret_bn(q_), dp = secret_bn(dp_),
     dq = secret_bn(dq_), qinv = secret_bn(qinv_);
  if (!ctx || !n || !e || !p || !q || !dp || !dq || !qinv) {
    *error = "out of memory";
    return {};
  }
  if (BN_is_zero(p.get()) || BN_is_zero(q.get()) || BN_is_zero(dp.get()) || BN_is_zero(dq.get()) ||
      BN_is_zero(qinv.get())) {
    *error = "RSA key without CRT parameters";
    return {};
  }
  const int l = limbs_for_bits(static_cast<uint32_t>(BN_num_bits(n.get())));
  // The kernels read and write exactly 4l bytes: the modulus must fill them.
  if (l % 2 != 0 || l / 2 > kMaxRsaHalfLimbs || l < 2 || BN_num_bytes(n.get()) != 4 * l) {
    *error = "RSA modulus of " + std::to_string(BN_num_bits(n.get())) + " bits is not served by the kernels";
    return {};
  }
  const int h = l / 2;
  if (!BN_is_odd(p.get()) || !BN_is_odd(q.get()) || !BN_is_odd(n.get())) {
    *error = "RSA key with an even modulus or prime";
    return {};
  }
  if (BN_num_bits(e.get()) > 64 || BN_num_bits(p.get()) > 32 * h || BN_num_bits(q.get()) > 32 * h ||
      BN_cmp(dp.get(), p.get()) >= 0 || BN_cmp(dq.get(), q.get()) >= 0 || BN_cmp(qinv.get(), p.get()) >= 0) {
    *error = "RSA key parameters out of the kernels' range (unbalanced primes, e >= 2^64 or unreduced CRT values)";
    return {};
  }
  KeyBlob blob(static_cast<size_t>(rsa_key_words(h)));
  uint32_t* w = blob.data();
  w[0] = static_cast<uint32_t>(h);
  w[6] = kKeyRsaCrt;
  uint64_t ev = 0;
  {
    uint32_t e2[2];
    if (!put(e2, e.get(), 2)) return {};
    ev = e2[0] | (static_cast<uint64_t>(e2[1]) << 32);
  }
  w[4] = static_cast<uint32_t>(ev);
  w[5] = static_cast<uint32_t>(ev >> 32);
  uint32_t* a = w + kKeyHeaderWords;
  bool ok = put(a, p.get(), h) && put(a + h, q.get(), h) && put(a + 2 * h, dp.get(), h) &&
            put(a + 3 * h, dq.get(), h) && put(a + 4 * h, qinv.get(), h) &&
            montgomery(p.get(), h, ctx.get(), &w[1], a + 5 * h, a + 6 * h) &&
            montgomery(q.get(), h, ctx.get(), &w[2], a + 7 * h, a + 8 * h) && put(a + 9 * h, n.get(), l);
  if (!ok) {
    *error = "RSA key precomputation failed";
    return {};
  }
  return blob;
}

KeyBlob make_modexp_key_blob(Bytes m_, Bytes d_, std::string* error) {
  std::unique_ptr<BN_CTX, CtxFree> ctx(BN_CTX_secure_new());
  Bn m = secret_bn(m_), d = secret_bn(d_);
  if (!ctx || !m || !d) {
    *error = "out of memory";
    return {};
  }
  const int l = limbs_for_bits(static_cast<uint32_t>(BN_num_bits(m.get())));
  if (l < 1 || l > 2 * kMaxRsaHalfLimbs || !BN_is_odd(m.get()) || BN_num_bytes(m.get()) != 4 * l) {
    *error = "modulus must be odd, at most 4096 bits and a whole number of 32-bit words long";
    return {};
  }
  if (BN_num_bits(d.get()) > 32 * l) {
    *error = "exponent longer than the modulus";
    return {};
  }
  KeyBlob blob(static_cast<size_t>(modexp_key_words(l)));
  uint32_t* w = blob.data();
  w[0] = static_cast<uint32_t>(l);
  w[6] = kKeyModExp;
  uint32_t* a = w + kKeyHeaderWords;
  if (!put(a, m.get(), l) || !montgomery(m.get(), l, ctx.get(), &w[1], a + l, nullptr) ||
      !put(a + 2 * l, d.get(), l)) {
    *error = "modexp key precomputation failed";
    return {};
  }
  return blob;
}

}  // namespace gputls::kernels
