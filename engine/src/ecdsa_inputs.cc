// SHA512_Init/Update/Final: a direct call, no algorithm fetch from a library
// context (the application's default one may route to gputls itself, or lack
// the default provider). Deprecated in 3.0, still built.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "ecdsa_inputs.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <atomic>
#include <cstring>

#include "gputls/kernels/ec_ops.h"

namespace gputls::engine {

namespace {

std::atomic<NonceRandFn> g_nonce_rand{nullptr};  // nullptr: RAND_priv_bytes

void put_u32(SHA512_CTX* h, uint32_t v) {
  const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
                        static_cast<uint8_t>(v)};
  SHA512_Update(h, b, sizeof b);
}

constexpr char kNonceLabel[] = "gputls ECDSA nonce v1";  // with its NUL: a fixed-length prefix
constexpr int kFreshBytes = 32;
constexpr int kMaxAttempts = 64;  // P-256 rejects a candidate with probability < 2^-32, P-384 < 2^-189

}  // namespace

NonceRandFn set_ecdsa_nonce_rand_for_testing(NonceRandFn f) { return g_nonce_rand.exchange(f); }

bool draw_ecdsa_nonce(uint8_t* k, uint32_t curve, const uint8_t* priv, size_t priv_len, const uint8_t* digest,
                      size_t digest_len) {
  const kernels::ec::Curve& c = kernels::ec::curve(curve);
  const size_t w = static_cast<size_t>(kernels::ec::coord_bytes(c));
  uint8_t n_be[kernels::ec::kMaxBytes];
  for (int i = 0; i < c.limbs; ++i)
    for (int j = 0; j < 4; ++j) n_be[w - 1 - (4 * i + j)] = static_cast<uint8_t>(c.n[i] >> (8 * j));

  // d at the curve's width: right-aligned; a longer encoding has only zeros
  // beyond the width (registration checked), skipped by its public length.
  uint8_t d[kernels::ec::kMaxBytes] = {};
  const size_t take = priv_len < w ? priv_len : w;
  std::memcpy(d + (w - take), priv + (priv_len - take), take);

  uint8_t fresh[kFreshBytes];
  const NonceRandFn rnd = g_nonce_rand.load();
  bool ok = (rnd ? rnd(fresh, kFreshBytes) : RAND_priv_bytes(fresh, kFreshBytes)) == 1;

  uint8_t h[SHA512_DIGEST_LENGTH];
  SHA512_CTX ctx;
  bool found = false;
  for (int attempt = 0; ok && !found && attempt < kMaxAttempts; ++attempt) {
    ok = SHA512_Init(&ctx) == 1;
    if (!ok) break;
    SHA512_Update(&ctx, kNonceLabel, sizeof kNonceLabel);
    put_u32(&ctx, curve);
    put_u32(&ctx, static_cast<uint32_t>(attempt));
    put_u32(&ctx, static_cast<uint32_t>(w));
    SHA512_Update(&ctx, d, w);
    put_u32(&ctx, static_cast<uint32_t>(digest_len));
    SHA512_Update(&ctx, digest, digest_len);
    SHA512_Update(&ctx, fresh, kFreshBytes);
    ok = SHA512_Final(h, &ctx) == 1;
    if (!ok) break;
    // The leftmost w bytes (w <= 48 < 64) as the candidate, kept only when
    // 1 <= k < n: borrow and zero test over every byte, no early exit.
    std::memcpy(k, h, w);
    uint32_t borrow = 0, nonzero = 0;
    for (size_t i = w; i-- > 0;) {  // k - n: borrow out means k < n
      borrow = (static_cast<uint32_t>(k[i]) - n_be[i] - borrow) >> 31;
      nonzero |= k[i];
    }
    found = (borrow & static_cast<uint32_t>(nonzero != 0)) != 0;  // public: accepted or not
  }
  OPENSSL_cleanse(&ctx, sizeof ctx);
  OPENSSL_cleanse(h, sizeof h);
  OPENSSL_cleanse(d, sizeof d);
  OPENSSL_cleanse(fresh, sizeof fresh);
  if (!found) OPENSSL_cleanse(k, w);
  return found;
}

void put_ecdsa_digest(uint8_t* dg, const uint8_t* in, size_t len, size_t B) {
  if (len >= B) {
    std::memcpy(dg, in, B);  // leftmost bits
  } else {
    std::memset(dg, 0, B - len);
    std::memcpy(dg + (B - len), in, len);
  }
}

void EvpPkeyFree::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }

EcdsaChecker::EcdsaChecker() {
  ctx_ = OSSL_LIB_CTX_new();
  if (ctx_) prov_ = OSSL_PROVIDER_load(ctx_, "default");
  if (!prov_) {
    OSSL_LIB_CTX_free(ctx_);
    ctx_ = nullptr;
  }
}

EcdsaChecker::~EcdsaChecker() {
  if (prov_) OSSL_PROVIDER_unload(prov_);
  OSSL_LIB_CTX_free(ctx_);
}

EcdsaPublicKey EcdsaChecker::public_key(uint32_t curve, const uint8_t* xy) const {
  if (!ctx_ || curve >= kernels::ec::kEcCurveCount) return nullptr;
  const size_t w = static_cast<size_t>(kernels::ec::coord_bytes(kernels::ec::curve(curve)));
  uint8_t pub[1 + 2 * kernels::ec::kMaxBytes];
  pub[0] = 0x04;
  std::memcpy(pub + 1, xy, 2 * w);
  const char* group = curve == kernels::ec::kEcP256 ? "P-256" : "P-384";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * w), OSSL_PARAM_construct_end()};
  ERR_set_mark();
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* pc = EVP_PKEY_CTX_new_from_name(ctx_, "EC", nullptr);
  if (!pc || EVP_PKEY_fromdata_init(pc) != 1 || EVP_PKEY_fromdata(pc, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
    key = nullptr;
  EVP_PKEY_CTX_free(pc);
  ERR_pop_to_mark();
  return EcdsaPublicKey(key);
}

bool EcdsaChecker::verifies(EVP_PKEY* pub, const uint8_t* digest, size_t digest_len, const uint8_t* rs,
                            size_t B) const {
  if (!ctx_ || !pub) return false;
  ERR_set_mark();  // a signature that does not verify leaves nothing on the caller's error queue
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(rs, static_cast<int>(B), nullptr);
  BIGNUM* s = BN_bin2bn(rs + B, static_cast<int>(B), nullptr);
  bool ok = sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1;
  if (!ok) {
    BN_free(r);
    BN_free(s);
  }
  uint8_t der[2 * (2 + 1 + kernels::ec::kMaxBytes) + 3];
  unsigned char* p = der;
  const int der_len = ok ? i2d_ECDSA_SIG(sig, nullptr) : -1;
  ok = ok && der_len > 0 && static_cast<size_t>(der_len) <= sizeof der && i2d_ECDSA_SIG(sig, &p) == der_len;
  ECDSA_SIG_free(sig);
  EVP_PKEY_CTX* c = ok ? EVP_PKEY_CTX_new_from_pkey(ctx_, pub, nullptr) : nullptr;
  ok = c && EVP_PKEY_verify_init(c) == 1 &&
       EVP_PKEY_verify(c, der, static_cast<size_t>(der_len), digest, digest_len) == 1;
  EVP_PKEY_CTX_free(c);
  ERR_pop_to_mark();
  return ok;
}

Status release_ecdsa_signature(const EcdsaChecker& checker, EVP_PKEY* pub, uint32_t kernel_status, const uint8_t* rs,
                               size_t B, const uint8_t* digest, size_t digest_len, uint8_t* out) {
  if (kernel_status != kernels::ec::kEcOk) return Status::kDeviceError;
  if (!checker.verifies(pub, digest, digest_len, rs, B)) return Status::kDeviceError;  // a fault: never released
  std::memcpy(out, rs, 2 * B);
  return Status::kOk;
}

}  // namespace gputls::engine
