// gputls's RSA key object (what keymgmt_rsa hands to signature and
// asym-cipher operations) and the raw private-key operation on it: on the
// engine when it takes the key, in the provider's own OpenSSL context when
// it does not (counted either way).
#pragma once

#include <openssl/evp.h>

#include <mutex>

#include "gputls/engine/key.h"
#include "engine_call.h"
#include "provider.h"

namespace gputls::host {

struct RsaKey {
  explicit RsaKey(ProvCtx* p) : pc(p) {}
  ~RsaKey();
  RsaKey(const RsaKey&) = delete;
  RsaKey& operator=(const RsaKey&) = delete;

  ProvCtx* pc;
  engine::RsaKeyMaterial mat;  // n, e always; the rest when has_private
  bool has_public = false, has_private = false;
  int bits = 0;

  EngineKeyRef engine_ref;
  std::mutex mu;                // guards sw_pkey, made on first use
  EVP_PKEY* sw_pkey = nullptr;  // in pc->sw
};

// The key as an EVP_PKEY of the default provider in pc->sw (public-only keys
// included); nullptr if it cannot be built. Owned by the key.
EVP_PKEY* rsa_sw_pkey(RsaKey* k);

// out = in^d mod n, in and out of exactly the modulus's byte length.
// Returns false when the input is not below n or the key has no private part.
bool rsa_private_raw(RsaKey* k, ProvOp which, const uint8_t* in, uint8_t* out, size_t len);

inline size_t rsa_bytes(const RsaKey* k) { return static_cast<size_t>((k->bits + 7) / 8); }

}  // namespace gputls::host
