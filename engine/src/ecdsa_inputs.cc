// SHA512_Init/Update/Final: a direct call, no algorithm fetch from a library
// context (the application's default one may route to gputls itself, or lack
// the default provider). Deprecated in 3.0, still built.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "ecdsa_inputs.h"

#include <openssl/crypto.h>
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

}  // namespace gputls::engine
