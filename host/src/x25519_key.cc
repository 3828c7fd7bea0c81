#include "x25519_key.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "prov_err.h"

namespace gputls::host {

const EcxType kX25519Type{"X25519", 32, 253, 128, ProvOp::kX25519Keygen, ProvOp::kX25519Derive, true};
const EcxType kX448Type{"X448", 56, 448, 224, ProvOp::kX448Keygen, ProvOp::kX448Derive, false};

namespace {

bool sw_scalarmult(ProvCtx* pc, const EcxType& t, const engine::SecureBytes& priv, const uint8_t* u, uint8_t* out) {
  EVP_PKEY* mine = EVP_PKEY_new_raw_private_key_ex(pc->sw, t.name, nullptr, priv.data(), priv.size());
  EVP_PKEY* peer = EVP_PKEY_new_raw_public_key_ex(pc->sw, t.name, nullptr, u, t.len);
  EVP_PKEY_CTX* c = mine && peer ? EVP_PKEY_CTX_new_from_pkey(pc->sw, mine, nullptr) : nullptr;
  size_t len = t.len;
  bool ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer_ex(c, peer, 0) == 1 &&
            EVP_PKEY_derive(c, out, &len) == 1 && len == t.len;
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(peer);
  EVP_PKEY_free(mine);
  return ok;
}

engine::Status register_key(X25519Key* k, engine::Engine* eng, engine::KeyHandle* h) {
  engine::X25519KeyMaterial m;
  m.priv = k->priv;
  return eng->register_x25519_key(m, h);
}

bool has_private(X25519Key* k, ProvOp which) {
  if (k->has_private && k->priv.size() == k->type->len) return true;
  k->pc->stats[which].failed.fetch_add(1);
  return false;
}

}  // namespace

bool x25519_derive(X25519Key* k, const uint8_t* u, uint8_t* out) {
  const EcxType& t = *k->type;
  if (!has_private(k, t.derive)) return false;
  auto software = [&] { return sw_scalarmult(k->pc, t, k->priv, u, out); };
  bool ok;
  if (!t.accelerated) {
    ok = run_software(k->pc->stats[t.derive], software);
  } else {
    auto reg = [k](engine::Engine* eng, engine::KeyHandle* h) { return register_key(k, eng, h); };
    ok = run_private_op(k->pc, t.derive, k->engine_ref, reg, engine::Op::kX25519Derive, u, 32, out, 32, software);
  }
  if (!ok) GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: derive failed (all-zero shared secret?)", t.name);
  return ok;
}

bool x25519_make_public(X25519Key* k) {
  const EcxType& t = *k->type;
  if (!has_private(k, t.keygen)) return false;
  static const uint8_t kBase25519[32] = {9};
  static const uint8_t kBase448[56] = {5};
  auto software = [&] { return sw_scalarmult(k->pc, t, k->priv, t.accelerated ? kBase25519 : kBase448, k->pub.data()); };
  bool ok;
  if (!t.accelerated) {
    ok = run_software(k->pc->stats[t.keygen], software);
  } else {
    auto reg = [k](engine::Engine* eng, engine::KeyHandle* h) { return register_key(k, eng, h); };
    ok = run_private_op(k->pc, t.keygen, k->engine_ref, reg, engine::Op::kX25519Keygen, nullptr, 0, k->pub.data(), 32,
                        software);
  }
  if (ok) k->has_public = true;
  return ok;
}

X25519Key* x25519_take_ready(ProvCtx* pc) {
  return static_cast<X25519Key*>(
      take_key_share(pc, pc->x25519_shares.get(), engine::Op::kX25519Keygen, ProvOp::kX25519Keygen));
}

void x25519_refill_after_miss(ProvCtx* pc) {
  refill_key_shares(pc, pc->x25519_shares.get(), engine::Op::kX25519Keygen);
}

namespace {

void* share_make(ProvCtx* pc, engine::Engine* eng, engine::KeyHandle* h, uint8_t** out, size_t* out_len) {
  auto k = std::make_unique<X25519Key>(pc, &kX25519Type);
  k->priv.resize(kX25519Type.len);
  if (RAND_priv_bytes_ex(pc->sw, k->priv.data(), kX25519Type.len, 0) != 1) return nullptr;
  k->has_private = true;
  *h = x25519_engine_handle(k.get(), eng);
  if (!h->valid()) return nullptr;
  *out = k->pub.data();
  *out_len = kX25519Type.len;
  return k.release();
}
bool share_finish(void* k) { return static_cast<X25519Key*>(k)->has_public = true; }
void share_free(void* k) { delete static_cast<X25519Key*>(k); }

}  // namespace

const KeyShareKind kX25519ShareKind{"x25519", engine::Op::kX25519Keygen, share_make, share_finish, share_free};

engine::KeyHandle x25519_engine_handle(X25519Key* k, engine::Engine* eng) {
  return k->engine_ref.handle_for(eng, [k](engine::Engine* e, engine::KeyHandle* h) { return register_key(k, e, h); });
}

}  // namespace gputls::host
