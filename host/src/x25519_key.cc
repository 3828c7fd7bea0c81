#include "x25519_key.h"

#include <openssl/evp.h>

#include "engine_call.h"

namespace gputls::host {

X25519Key::~X25519Key() {
  if (registered_with && handle.valid()) (void)registered_with->free_key(handle);
}

namespace {

engine::KeyHandle engine_handle(X25519Key* k, engine::Engine* eng) {
  std::lock_guard<std::mutex> lock(k->mu);
  if (k->registered_with != eng) {
    k->registered_with = eng;
    k->handle = {};
    engine::X25519KeyMaterial m;
    m.priv = k->priv;
    k->engine_refused = eng->register_x25519_key(m, &k->handle) != engine::Status::kOk;
  }
  return k->engine_refused ? engine::KeyHandle{} : k->handle;
}

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

bool x25519_scalarmult(X25519Key* k, ProvOp which, const uint8_t u[32], uint8_t out[32]) {
  ProvOpStats& st = k->pc->stats[which];
  if (!k->has_private || k->priv.size() != 32) {
    st.failed.fetch_add(1);
    return false;
  }
  if (engine::Engine* eng = k->pc->engine()) {
    engine::KeyHandle h = engine_handle(k, eng);
    if (!h.valid()) {
      st.key_refused.fetch_add(1);
    } else {
      switch (call_engine(k->pc, which, eng, engine::Op::kX25519Derive, h, u, 32, out, 32)) {
        case CallResult::kOk: return true;
        case CallResult::kFailed: st.failed.fetch_add(1); return false;
        case CallResult::kRefused: break;
      }
    }
  }
  bool ok = sw_scalarmult(k->pc, k->priv, u, out);
  (ok ? st.sw : st.failed).fetch_add(1);
  return ok;
}

}  // namespace gputls::host
