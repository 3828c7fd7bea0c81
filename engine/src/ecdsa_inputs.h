// The host side of an ECDSA sign request on the GPU path: the nonce, drawn
// here (never on the device), the digest as the fixed-width integer the
// kernel takes, and the check every device-made signature passes before it
// is released. Kept apart from the CUDA backend so GPU-less tests run the
// GPU path's own staging and release with the kernel's host twin
// (ec_batch_host, tests/fake_gpu.h).
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "gputls/engine/status.h"

namespace gputls::engine {

// Where nonces get their fresh randomness: RAND_priv_bytes (OpenSSL's
// private DRBG) unless a test put another function here. Same contract as
// RAND_priv_bytes: 1 on success.
using NonceRandFn = int (*)(unsigned char* buf, int num);

// Tests only: replaces the randomness source (nullptr: RAND_priv_bytes
// again) and returns the previous one (nullptr when it was RAND_priv_bytes).
NonceRandFn set_ecdsa_nonce_rand_for_testing(NonceRandFn f);

// A nonce k for ECDSA on curve `curve` (kernels::ec::EcCurveId), in
// [1, n-1], written as coord_bytes big-endian bytes, hedged as OpenSSL 3.0's
// BN_generate_dsa_nonce hedges it: k comes from SHA-512 over a domain label,
// the curve, an attempt counter, the private key d (priv: big-endian, any
// width up to leading zeros), the digest as the caller gave it, and 32 fresh
// bytes from the randomness source. A repeated DRBG state (a cloned VM, a
// forked process) then still gives a different k for a different message or
// key; with a good DRBG k stays uniform. Candidates >= n or zero are
// rejected (comparison in constant time; only the public accept/reject
// outcome branches). False (k wiped) when no randomness is available.
bool draw_ecdsa_nonce(uint8_t* k, uint32_t curve, const uint8_t* priv, size_t priv_len, const uint8_t* digest,
                      size_t digest_len);

// A digest as the integer FIPS 186-4 takes, in B bytes: its leftmost B
// bytes, or left-padded with zeros to B bytes.
void put_ecdsa_digest(uint8_t* dg, const uint8_t* in, size_t len, size_t B);

struct EvpPkeyFree {
  void operator()(EVP_PKEY* k) const;
};
using EcdsaPublicKey = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// The fault check of GPU-made ECDSA signatures (the ECDSA counterpart of
// RSA's public-exponent check): OpenSSL's default provider, in a private
// library context (so it never routes back into gputls), verifies r || s
// against the key's public point and the digest as the caller gave it.
// A transient fault in d, k or the arithmetic yields a signature that does
// not verify, and such a signature can give the key away: it is never
// released. Public inputs only. Safe to use from several threads.
class EcdsaChecker {
 public:
  EcdsaChecker();
  ~EcdsaChecker();
  EcdsaChecker(const EcdsaChecker&) = delete;
  EcdsaChecker& operator=(const EcdsaChecker&) = delete;

  bool ready() const { return ctx_ != nullptr; }

  // The public key Q = X || Y (coord_bytes each) on `curve`, for verifies();
  // null when it is not a point of the curve or OpenSSL fails. Free it before
  // the checker.
  EcdsaPublicKey public_key(uint32_t curve, const uint8_t* xy) const;

  // True when rs (r || s, B bytes each) is a valid signature of digest under
  // pub. Public inputs only.
  bool verifies(EVP_PKEY* pub, const uint8_t* digest, size_t digest_len, const uint8_t* rs, size_t B) const;

 private:
  OSSL_LIB_CTX* ctx_ = nullptr;
  OSSL_PROVIDER* prov_ = nullptr;
};

// Releases one device-made signature (rs: r || s, B bytes each; kernel_status
// a kernels::ec::EcStatus) of the request's digest into out (2B bytes): only
// when the kernel reports kEcOk and the checker verifies it under pub. A
// signature that does not verify, and kEcRetry (r or s zero) or any other
// status, leaves out untouched and returns kDeviceError, which the engine
// answers by signing again on the CPU (counted as a device-error fallback):
// the CPU decides afresh, from the registered key, whether it can sign
// (kEcBadScalar cannot come from a registered key and a good nonce, so it is
// treated as a fault too).
Status release_ecdsa_signature(const EcdsaChecker& checker, EVP_PKEY* pub, uint32_t kernel_status, const uint8_t* rs,
                               size_t B, const uint8_t* digest, size_t digest_len, uint8_t* out);

}  // namespace gputls::engine
