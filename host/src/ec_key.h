// gputls's P-256 / P-384 key object, shared by keymgmt_ec, keyexch_ecdh and
// signature_ecdsa, and the private-key operations on it (engine first,
// software fallback in the provider's own OpenSSL context): public = d*G at
// key generation, shared x(d*Q) at derivation, ECDSA signatures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gputls/engine/key.h"
#include "engine_call.h"
#include "provider.h"

namespace gputls::host {

// A curve gputls serves. Other curves are refused (the default provider
// serves them).
struct EcCurve {
  int nid;
  const char* group;          // as the default provider exports it ("prime256v1", "secp384r1")
  uint32_t bits;              // field and order size: 256 / 384
  size_t bytes;               // 32 / 48
  int security_bits;          // 128 / 192
  int max_sig_size;           // largest DER ECDSA signature (ECDSA_size): 72 / 104
  const uint8_t* order;       // n, big-endian, `bytes` long
  size_t point_bytes() const { return 1 + 2 * bytes; }  // uncompressed
};

// "prime256v1", "P-256", "secp256r1", "secp384r1", "P-384" (any case); nullptr otherwise.
const EcCurve* ec_curve_by_name(const char* name);
const EcCurve* ec_curve_by_bits(uint32_t bits);

struct EcKey {
  explicit EcKey(ProvCtx* c) : pc(c) {}
  EcKey(const EcKey&) = delete;
  EcKey& operator=(const EcKey&) = delete;

  ProvCtx* pc;
  const EcCurve* curve = nullptr;  // nullptr: no parameters yet
  std::vector<uint8_t> pub;        // uncompressed 04 || X || Y when has_public
  engine::SecureBytes priv;        // d, big-endian, curve->bytes long, 1 <= d < n, when has_private
  bool has_public = false, has_private = false;

  EngineKeyRef engine_ref;
};

// A point in any SEC1 encoding (uncompressed, compressed, hybrid) on `curve`,
// re-encoded uncompressed. False when it is not on the curve, is the point at
// infinity, or is malformed. Decoding is done by OpenSSL in pc->sw.
bool ec_decode_point(ProvCtx* pc, const EcCurve& curve, const uint8_t* data, size_t len, std::vector<uint8_t>* out);

// d from big-endian bytes of any length (leading zeros allowed): padded to the
// curve's length; false unless 1 <= d < n.
bool ec_set_private(const EcCurve& curve, const uint8_t* data, size_t len, engine::SecureBytes* out);

// A uniformly random d in [1, n-1] from RAND_priv_bytes_ex(pc->sw) by rejection sampling.
bool ec_random_private(ProvCtx* pc, const EcCurve& curve, engine::SecureBytes* out);

// k.pub = d*G: one engine operation (software fallback).
bool ec_make_public(EcKey* k);

// out (curve->bytes) = x(d * peer), peer uncompressed and on the curve.
bool ec_derive(EcKey* k, const uint8_t* peer, size_t peer_len, uint8_t* out);

// ECDSA over a digest (1..64 bytes, truncated to the order's length):
// r || s, each curve->bytes long, written to rs.
bool ec_sign(EcKey* k, const uint8_t* digest, size_t digest_len, uint8_t* rs);

// The key as an EVP_PKEY in pc->sw (public part, and private part when
// with_private), for software verification; caller frees.
EVP_PKEY* ec_sw_pkey(const EcKey* k, bool with_private);

}  // namespace gputls::host
