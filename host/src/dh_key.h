// gputls's finite-field Diffie-Hellman key object, shared by keymgmt_dh and
// keyexch_dh, and the one modular exponentiation both need (engine first,
// software fallback): public = g^x mod p at key generation, shared =
// y^x mod p at derivation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gputls/engine/key.h"
#include "engine_call.h"
#include "provider.h"

namespace gputls::host {

using DhBytes = std::vector<uint8_t>;

// Domain parameters, big-endian without leading zeros. q is empty for primes
// imported without one (TLS 1.2 DHE: RFC 3526 p and g = 2); group names the
// RFC 7919 group ("ffdhe2048") when the parameters are one.
struct DhParams {
  DhBytes p, g, q;
  std::string group;
  bool empty() const { return p.empty(); }
  size_t bytes() const { return p.size(); }
  int bits() const;
  bool same_group(const DhParams& o) const { return p == o.p && g == o.g; }
};

struct DhKey {
  explicit DhKey(ProvCtx* c) : pc(c) {}
  DhKey(const DhKey&) = delete;
  DhKey& operator=(const DhKey&) = delete;

  ProvCtx* pc;
  DhParams params;
  DhBytes pub;               // padded to params.bytes() when has_public
  engine::SecureBytes priv;  // big-endian exponent when has_private
  bool has_public = false, has_private = false;

  EngineKeyRef engine_ref;
};

// p, g and q of a group the default provider's DH keymgmt names (RFC 7919
// "ffdhe2048".., RFC 3526 "modp_2048".., RFC 5114 "dh_2048_224"..), taken
// from OpenSSL's own tables through the default provider in pc->sw (cached).
bool dh_named_group(ProvCtx* pc, const char* name, DhParams* out);

// Checks domain parameters well-formed enough for the engine: p odd and at
// least 512 bits, 1 < g < p-1.
bool dh_params_ok(const DhParams& params);

// 1 < y < p-1 for a big-endian y of any length (leading zeros allowed).
bool dh_public_in_range(const DhParams& params, const uint8_t* y, size_t len);

// The full public-value check of OpenSSL's DH_check_pub_key (the default's
// validate without QUICK): in range, and y^q mod p == 1 when there is a q.
bool dh_public_in_subgroup(const DhParams& params, const uint8_t* y, size_t len);

// Private exponent length in bits for these parameters: the RFC 7919 length
// OpenSSL 3.0 uses for the named group (225 for ffdhe2048, 275 for ffdhe3072,
// 325/375/400 for the larger ones), else twice the parameters' security bits
// (224 for a 2048-bit RFC 3526 prime, 256 for 3072 bits), p's length less one
// for primes below 1024 bits, and below q's length when there is a q.
int dh_private_bits(const DhParams& params);

// Security bits as OpenSSL counts them (BN_security_bits over p and q).
int dh_security_bits(const DhParams& params);

// out = in^x mod p, in and out of exactly params.bytes() bytes, in < p. False
// without a private key or when the input is out of range.
bool dh_modexp(DhKey* k, ProvOp which, const uint8_t* in, uint8_t* out);

}  // namespace gputls::host
