// Test helpers: OpenSSL BIGNUM <-> limbs and bytes, for differential tests.
#pragma once

#include <openssl/bn.h>
#include <openssl/rand.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "gputls/kernels/mp.h"

namespace gputls::kernels::testing {

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
struct CtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
using Ctx = std::unique_ptr<BN_CTX, CtxFree>;

inline std::vector<uint8_t> to_bytes(const BIGNUM* a, size_t len) {
  std::vector<uint8_t> b(len);
  BN_bn2binpad(a, b.data(), static_cast<int>(len));
  return b;
}

inline std::vector<uint32_t> to_limbs(const BIGNUM* a, int n) {
  std::vector<uint8_t> be = to_bytes(a, 4 * static_cast<size_t>(n));
  std::vector<uint32_t> r(static_cast<size_t>(n));
  mp::from_be(r.data(), be.data(), n);
  return r;
}

inline Bn from_limbs(const uint32_t* a, int n) {
  std::vector<uint8_t> be(4 * static_cast<size_t>(n));
  mp::to_be(be.data(), a, n);
  return Bn(BN_bin2bn(be.data(), static_cast<int>(be.size()), nullptr));
}

inline Bn from_bytes(const std::vector<uint8_t>& b) {
  return Bn(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
}

// Uniform in [0, m).
inline Bn random_below(const BIGNUM* m) {
  Bn r(BN_new());
  BN_rand_range(r.get(), m);
  return r;
}

}  // namespace gputls::kernels::testing
