#include "ecdsa_inputs.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstring>

#include "gputls/kernels/p256.h"

namespace gputls::engine {

bool draw_ecdsa_nonce(uint8_t* k, uint32_t curve) {
  const kernels::ec::Curve& c = kernels::ec::curve(curve);
  const int w = kernels::ec::coord_bytes(c);
  uint8_t n_be[kernels::ec::kMaxBytes];
  for (int i = 0; i < c.limbs; ++i)
    for (int j = 0; j < 4; ++j) n_be[w - 1 - (4 * i + j)] = static_cast<uint8_t>(c.n[i] >> (8 * j));
  for (int attempt = 0; attempt < 64; ++attempt) {
    if (RAND_priv_bytes(k, w) != 1) break;
    uint32_t borrow = 0, nonzero = 0;
    for (int i = w - 1; i >= 0; --i) {  // k - n: borrow out means k < n
      borrow = (static_cast<uint32_t>(k[i]) - n_be[i] - borrow) >> 31;
      nonzero |= k[i];
    }
    if (borrow & (nonzero != 0)) return true;
  }
  OPENSSL_cleanse(k, static_cast<size_t>(w));
  return false;
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
