// Test helpers: keys made by OpenSSL's default provider, converted to engine
// key material, and OpenSSL's own answers to compare the engine against.
#pragma once

#include <openssl/bn.h>
#include <openssl/evp.h>

#include <cstdint>
#include <vector>

#include "gputls/engine/key.h"

namespace gputls::engine::testing {

using Bytes = std::vector<uint8_t>;

// A fresh RSA key of `bits` (cached per size: generation is slow), owned by the cache.
EVP_PKEY* rsa_key(int bits, int index = 0);
RsaKeyMaterial rsa_material(EVP_PKEY* pkey);
// A random integer in [0, n) of the key's byte length, big-endian.
Bytes random_below_modulus(EVP_PKEY* pkey);
// c^d mod n by OpenSSL's default provider (RSA_NO_PADDING decrypt).
Bytes openssl_rsa_raw(EVP_PKEY* pkey, const Bytes& in);

// A fresh X25519 key; caller frees.
EVP_PKEY* x25519_key();
X25519KeyMaterial x25519_material(EVP_PKEY* pkey);
Bytes x25519_public(EVP_PKEY* pkey);
Bytes openssl_x25519(EVP_PKEY* priv, const Bytes& peer_public);

Bytes random_bytes(size_t n);

// A fresh P-256 / P-384 key (bits 256 or 384); caller frees.
EVP_PKEY* ec_key(int bits);
// The key's private scalar, big-endian, padded to the coordinate width.
EcKeyMaterial ec_material(EVP_PKEY* pkey, int bits);
// The key's public point, uncompressed: 04 || X || Y.
Bytes ec_public(EVP_PKEY* pkey);
// The group order n, big-endian, coordinate width.
Bytes ec_order(int bits);
// x(d*Q) by OpenSSL's default provider; throws if OpenSSL refuses.
Bytes openssl_ecdh(EVP_PKEY* priv, const Bytes& peer_public);
// Verifies a fixed-width r || s over the digest with OpenSSL (re-encoded to DER).
bool openssl_ecdsa_verify(EVP_PKEY* pkey, const Bytes& digest, const Bytes& rs);

// A finite-field DH key on the RFC 3526 prime of `bits` (2048 or 3072) with
// a random 256-bit exponent; BN_mod_exp is the reference.
class DhTestKey {
 public:
  explicit DhTestKey(int bits);
  ~DhTestKey();
  DhTestKey(const DhTestKey&) = delete;
  DhTestKey& operator=(const DhTestKey&) = delete;

  DhKeyMaterial material() const;
  size_t bytes() const;
  Bytes p_bytes() const;
  Bytes random_below_p() const;
  Bytes openssl_modexp(const Bytes& x) const;

 private:
  BIGNUM* p_;
  BIGNUM* priv_;
};

}  // namespace gputls::engine::testing
