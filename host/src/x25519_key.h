// gputls's X25519 and X448 key object, shared by keymgmt_x25519 and
// keyexch_x25519, and the scalar multiplication on it: X25519 on the engine
// first (software fallback), X448 in the provider's own OpenSSL context (no
// X448 kernel; counted as `sw`).
#pragma once

#include <array>
#include <cstdint>

#include "gputls/engine/key.h"
#include "engine_call.h"
#include "provider.h"

namespace gputls::host {

// What differs between the two curves.
struct EcxType {
  const char* name;   // "X25519" / "X448", as the default provider names the key type
  size_t len;         // key and secret bytes: 32 / 56
  int bits;           // 253 / 448 (the default's "bits")
  int security_bits;  // 128 / 224
  ProvOp keygen, derive;
  bool accelerated;   // on the engine
};
extern const EcxType kX25519Type, kX448Type;

struct X25519Key {
  X25519Key(ProvCtx* p, const EcxType* t) : pc(p), type(t) {}
  X25519Key(const X25519Key&) = delete;
  X25519Key& operator=(const X25519Key&) = delete;

  ProvCtx* pc;
  const EcxType* type;
  std::array<uint8_t, 56> pub{};  // type->len bytes used
  engine::SecureBytes priv;  // type->len bytes when has_private
  bool has_public = false, has_private = false;

  EngineKeyRef engine_ref;
};

// out = X25519(k.priv, u) (X448 likewise, type->len bytes). False on an
// all-zero result (RFC 7748 6.1) or without a private key.
bool x25519_derive(X25519Key* k, const uint8_t* u, uint8_t* out);

// k.pub = X25519(k.priv, 9): one engine operation (on the CPU path, OpenSSL
// already made it when the key was registered, so nothing is computed
// twice); X448(k.priv, 5) in software.
bool x25519_make_public(X25519Key* k);

// k's registration with eng (made on first use; invalid when refused).
engine::KeyHandle x25519_engine_handle(X25519Key* k, engine::Engine* eng);

// A fresh X25519 key pair the engine made ahead (KeySharePool), now the
// caller's, when a generation would be a round trip to the engine's threads
// (a GPU, GPUTLS_INLINE=0/2); nullptr otherwise or when none is ready: the
// caller then generates one itself.
X25519Key* x25519_take_ready(ProvCtx* pc);
// After x25519_take_ready found none and the caller generated its own: the
// pool refills if it is low (after, so the caller did not wait behind it).
void x25519_refill_after_miss(ProvCtx* pc);

// X25519 keys for a KeySharePool.
extern const KeyShareKind kX25519ShareKind;

}  // namespace gputls::host
