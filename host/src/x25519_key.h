// gputls's X25519 key object, shared by keymgmt_x25519 and keyexch_x25519,
// and the scalar multiplication on it (engine first, software fallback).
#pragma once

#include <array>
#include <cstdint>

#include "gputls/engine/key.h"
#include "engine_call.h"
#include "provider.h"

namespace gputls::host {

struct X25519Key {
  explicit X25519Key(ProvCtx* p) : pc(p) {}
  X25519Key(const X25519Key&) = delete;
  X25519Key& operator=(const X25519Key&) = delete;

  ProvCtx* pc;
  std::array<uint8_t, 32> pub{};
  engine::SecureBytes priv;  // 32 bytes when has_private
  bool has_public = false, has_private = false;

  EngineKeyRef engine_ref;
};

// out = X25519(k.priv, u). False on an all-zero result (RFC 7748 6.1) or
// without a private key.
bool x25519_derive(X25519Key* k, const uint8_t u[32], uint8_t out[32]);

// k.pub = X25519(k.priv, 9): one engine operation (on the CPU path, OpenSSL
// already made it when the key was registered, so nothing is computed twice).
bool x25519_make_public(X25519Key* k);

}  // namespace gputls::host
