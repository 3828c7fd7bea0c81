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

// A named curve. Every curve of OpenSSL's built-in table is served (as the
// default provider's EC keymgmt serves them); P-256 and P-384 run on the
// engine, the others on OpenSSL's EC arithmetic in the provider's own
// context (counted as `sw`).
struct EcCurve {
  int nid;
  const char* group;          // as the default provider exports it ("prime256v1", "secp521r1", ...)
  uint32_t bits;              // order bits: the key's "bits", as the default reports it
  size_t bytes;               // field element length (degree rounded up): coordinates, ECDH output
  size_t order_bytes;         // scalar, r and s length
  int security_bits;          // as the default's EC keymgmt derives it from the order's bits
  int max_sig_size;           // largest DER ECDSA signature (ECDSA_size)
  const uint8_t* order;       // n, big-endian, `order_bytes` long
  bool cofactor_one;          // h == 1: cofactor ECDH changes nothing
  bool accelerated;           // P-256 / P-384: the engine's curves
  size_t point_bytes() const { return 1 + 2 * bytes; }  // uncompressed
};

// Longest order of any built-in curve (sect571: 72 bytes).
inline constexpr size_t kEcMaxOrderBytes = 72;

// A curve by any name OpenSSL gives it: short name ("prime256v1",
// "secp521r1", "brainpoolP256r1"), NIST name ("P-256"), "secp256r1", long
// name, any case; nullptr when OpenSSL has no such named curve.
const EcCurve* ec_curve_by_name(const char* name);
const EcCurve* ec_curve_by_nid(int nid);
// An engine curve by its field bits (256, 384); nullptr otherwise.
const EcCurve* ec_curve_by_bits(uint32_t bits);

struct EcKey {
  explicit EcKey(ProvCtx* c) : pc(c) {}
  EcKey(const EcKey&) = delete;
  EcKey& operator=(const EcKey&) = delete;

  ProvCtx* pc;
  const EcCurve* curve = nullptr;  // nullptr: no parameters yet
  std::vector<uint8_t> pub;        // uncompressed 04 || X || Y when has_public
  engine::SecureBytes priv;        // d, big-endian, curve->order_bytes long, 1 <= d < n, when has_private
  bool has_public = false, has_private = false;
  bool use_cofactor = false;       // the key's use-cofactor-flag (EC_FLAG_COFACTOR_ECDH)

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

// A fresh key pair on `curve` (P-256 or P-384) the engine made ahead
// (take_key_share), now the caller's; nullptr for other curves, when a
// generation would run inline, or when none is ready.
EcKey* ec_take_ready(ProvCtx* pc, const EcCurve* curve);
// After ec_take_ready found none and the caller generated its own: the
// curve's pool refills if it is low.
void ec_refill_after_miss(ProvCtx* pc, const EcCurve* curve);

// P-256 and P-384 keys for a KeySharePool.
extern const KeyShareKind kP256ShareKind, kP384ShareKind;

// out (curve->bytes) = x(d * peer), peer uncompressed and on the curve; with
// `cofactor`, x(h * d * peer) as OpenSSL's cofactor ECDH.
bool ec_derive(EcKey* k, const uint8_t* peer, size_t peer_len, uint8_t* out, bool cofactor = false);

// n * Q == infinity for the key's public point (the full public check of a
// curve with a cofactor); true on curves with cofactor 1.
bool ec_public_in_subgroup(const EcKey* k);

// ECDSA over a digest (truncated to the order's length; 1..64 bytes on the
// engine's curves): r || s, each curve->order_bytes long, written to rs.
bool ec_sign(EcKey* k, const uint8_t* digest, size_t digest_len, uint8_t* rs);

// The key as an EVP_PKEY in pc->sw (public part, and private part when
// with_private), for software verification; caller frees.
EVP_PKEY* ec_sw_pkey(const EcKey* k, bool with_private);

}  // namespace gputls::host
