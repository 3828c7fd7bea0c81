#include "x25519_key.h"

#include <openssl/evp.h>

namespace gputls::host {
namespace {

bool sw_scalarmult(ProvCtx* pc, const engine::SecureBytes& priv, const uint8_t u[32], uint8_t out[32]) {
  EVP_PKEY* mine = EVP_PKEY_new_raw_private_key_ex(pc->sw, "X25519", nullptr, priv.data(), priv.size());
  EVP_PKEY* peer = EVP_PKEY_new_raw_public_key_ex(pc->sw, "X25519", nullptr, u, 32);
  EVP_PKEY_CTX* c = mine && peer ? EVP_PKEY_CTX_new_from_pkey(pc->sw, mine, nullptr) : nullptr;
  size_t len = 32;
  bool ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
            EVP_PKEY_derive(c, out, &len) == 1 && len == 32;
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(peer);
  EVP_PKEY_free(mine);
  return ok;
}

}  // namespace

namespace {

engine::Status register_key(X25519Key* k, engine::Engine* eng, engine::KeyHandle* h) {
  engine::X25519KeyMaterial m;
  m.priv = k->priv;
  return eng->register_x25519_key(m, h);
}

bool has_private(X25519Key* k, ProvOp which) {
  if (k->has_private && k->priv.size() == 32) return true;
  k->pc->stats[which].failed.fetch_add(1);
  return false;
}

}  // namespace

bool x25519_derive(X25519Key* k, const uint8_t u[32], uint8_t out[32]) {
  if (!has_private(k, ProvOp::kX25519Derive)) return false;
  auto reg = [k](engine::Engine* eng, engine::KeyHandle* h) { return register_key(k, eng, h); };
  auto software = [&] { return sw_scalarmult(k->pc, k->priv, u, out); };
  return run_private_op(k->pc, ProvOp::kX25519Derive, k->engine_ref, reg, engine::Op::kX25519Derive, u, 32, out, 32,
                        software);
}

bool x25519_make_public(X25519Key* k) {
  if (!has_private(k, ProvOp::kX25519Keygen)) return false;
  static const uint8_t kBasePoint[32] = {9};
  auto reg = [k](engine::Engine* eng, engine::KeyHandle* h) { return register_key(k, eng, h); };
  auto software = [&] { return sw_scalarmult(k->pc, k->priv, kBasePoint, k->pub.data()); };
  bool ok = run_private_op(k->pc, ProvOp::kX25519Keygen, k->engine_ref, reg, engine::Op::kX25519Keygen, nullptr, 0,
                           k->pub.data(), 32, software);
  if (ok) k->has_public = true;
  return ok;
}

}  // namespace gputls::host
