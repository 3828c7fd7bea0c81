// gputls's RSA key object (what keymgmt_rsa hands to signature and
// asym-cipher operations) and the raw private-key operation on it: on the
// engine when it takes the key, in the provider's own OpenSSL context when
// it does not (counted either way).
#pragma once

#include <openssl/evp.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gputls/engine/key.h"
#include "engine_call.h"
#include "provider.h"

namespace gputls::host {

// An RSA-PSS key's parameter restrictions (RFC 4055 RSASSA-PSS-params in its
// SubjectPublicKeyInfo), as OpenSSL's default provider keeps them. A key
// with none is unrestricted; one with any carries all four, the rest at
// RFC 4055's defaults (SHA-1, MGF1 with SHA-1, salt 20).
struct RsaPssRestrictions {
  bool restricted = false;
  std::string md = "SHA1", mgf1_md = "SHA1";
  int min_saltlen = 20;
};

struct RsaKey {
  explicit RsaKey(ProvCtx* p, bool pss = false) : pc(p), is_pss(pss) {}
  ~RsaKey();
  RsaKey(const RsaKey&) = delete;
  RsaKey& operator=(const RsaKey&) = delete;

  ProvCtx* pc;
  engine::RsaKeyMaterial mat;  // n, e always; the rest when has_private
  bool has_public = false, has_private = false;
  int bits = 0;
  // RSA-PSS (id-RSASSA-PSS) keys: PSS signatures only, with pss's restrictions.
  bool is_pss = false;
  RsaPssRestrictions pss;
  // Every private component OpenSSL names (rsa-factor1.., rsa-exponent1..,
  // rsa-coefficient1..), multi-prime keys' beyond the second prime included:
  // what export and the software twin are built from.
  std::vector<std::pair<std::string, engine::SecureBytes>> crt;

  EngineKeyRef engine_ref;
  std::mutex mu;                // guards sw_pkey, made on first use
  EVP_PKEY* sw_pkey = nullptr;  // in pc->sw, of the key's type
  EVP_PKEY* sw_raw_pkey = nullptr;  // RSA-PSS keys: the same as type RSA, for the raw private operation
  // Signature contexts of the default provider on sw_pkey, initialised for
  // sign, verify and verify-recover: copied for each new operation (a copy
  // is cheaper than a fetch and init per TLS handshake).
  EVP_PKEY_CTX* sig_proto[3] = {nullptr, nullptr, nullptr};
};

// The key as an EVP_PKEY of the default provider in pc->sw (public-only keys
// included); nullptr if it cannot be built. Owned by the key.
EVP_PKEY* rsa_sw_pkey(RsaKey* k);
// The same as an "RSA" key (an RSA-PSS key's components without its type,
// for the raw private operation OpenSSL refuses on RSA-PSS keys).
EVP_PKEY* rsa_sw_raw_pkey(RsaKey* k);

// A new signature context of the default provider on the key, initialised
// for `operation` (EVP_PKEY_OP_SIGN, _VERIFY or _VERIFYRECOVER); nullptr
// with the reason raised when it cannot be made.
EVP_PKEY_CTX* rsa_sw_sig_ctx(RsaKey* k, int operation);

// The key type's OpenSSL name: "RSA" or "RSA-PSS".
inline const char* rsa_type_name(const RsaKey* k) { return k->is_pss ? "RSA-PSS" : "RSA"; }

// The key as OpenSSL's RSA key parameters: n, e, with `priv` d and every CRT
// component, and an RSA-PSS key's restrictions. Free with OSSL_PARAM_free
// (it clears the secret part); nullptr on failure.
OSSL_PARAM* rsa_key_params(const RsaKey* k, bool priv);

// out = in^d mod n, in and out of exactly the modulus's byte length.
// Returns false when the input is not below n or the key has no private part.
bool rsa_private_raw(RsaKey* k, ProvOp which, const uint8_t* in, uint8_t* out, size_t len);

inline size_t rsa_bytes(const RsaKey* k) { return static_cast<size_t>((k->bits + 7) / 8); }

}  // namespace gputls::host
