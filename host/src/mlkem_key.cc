#include "mlkem_key.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstring>

#include "engine_call.h"
#include "gputls/kernels/mlkem_batch.h"
#include "prov_err.h"

namespace gputls::host {

const MlkemGroup kMlkem768Group = {"MLKEM768", Classic::kNone, true, 0, 0, kMlkemEk, kMlkemCt, kMlkemSecret, 192};
const MlkemGroup kX25519Mlkem768Group = {"X25519MLKEM768", Classic::kX25519, true, 32, 32, kMlkemEk + 32,
                                         kMlkemCt + 32, kMlkemSecret + 32, 192};
const MlkemGroup kSecP256r1Mlkem768Group = {"SecP256r1MLKEM768", Classic::kP256, false, 65, 32, kMlkemEk + 65,
                                            kMlkemCt + 65, kMlkemSecret + 32, 192};

namespace {

// One ML-KEM operation: on the engine (no key: everything is in the
// request), or, when the engine cannot take it, the kernels' host code right
// here (the same code the engine's CPU backend runs), counted as software.
bool run_mlkem(ProvCtx* pc, ProvOp which, engine::Op op, const uint8_t* in, size_t in_len, uint8_t* out,
               size_t out_len) {
  auto software = [&] { return kernels::mlkem_run_one(engine::mlkem_kernel_op(op), in, out) == kernels::kMlkemOk; };
  if (engine::Engine* eng = pc->engine())
    return run_or_fall_back(pc, which, eng, op, engine::KeyHandle{}, in, in_len, out, out_len, software);
  return run_software(pc->stats[which], software);
}

bool random_secret(ProvCtx* pc, uint8_t* out, size_t n) { return RAND_priv_bytes_ex(pc->sw, out, n, 256) == 1; }

// A fresh X25519 / P-256 key made in its owner's slot, so that a job paused
// inside the engine call and never resumed leaves it with its owner.
bool fresh_x25519(ProvCtx* pc, std::unique_ptr<X25519Key>& slot) {
  if (X25519Key* ready = x25519_take_ready(pc)) {
    slot.reset(ready);
    return true;
  }
  slot = std::make_unique<X25519Key>(pc, &kX25519Type);
  slot->priv.resize(32);
  slot->has_private = random_secret(pc, slot->priv.data(), 32);
  const bool ok = slot->has_private && x25519_make_public(slot.get());
  x25519_refill_after_miss(pc);
  return ok;
}

const EcCurve* p256() {
  static const EcCurve* const c = ec_curve_by_name("P-256");
  return c;
}

bool fresh_p256(ProvCtx* pc, std::unique_ptr<EcKey>& slot) {
  if (EcKey* ready = ec_take_ready(pc, p256())) {
    slot.reset(ready);
    return true;
  }
  slot = std::make_unique<EcKey>(pc);
  slot->curve = p256();
  slot->has_private = slot->curve && ec_random_private(pc, *slot->curve, &slot->priv);
  const bool ok = slot->has_private && ec_make_public(slot.get());
  ec_refill_after_miss(pc, slot->curve);
  return ok;
}

// Where the ML-KEM and classic parts sit in a share or secret of the group.
size_t mlkem_at(const MlkemGroup& g, size_t classic_len) { return g.mlkem_first ? 0 : classic_len; }
size_t classic_at(const MlkemGroup& g, size_t mlkem_len) { return g.mlkem_first ? mlkem_len : 0; }

// A fresh classic key of the group's kind: k's own (client), or its own_*
// (server, the ephemeral key for this peer).
bool classic_generate(MlkemKey* k, bool server) {
  switch (k->group->classic) {
    case Classic::kNone: return true;
    case Classic::kX25519: return fresh_x25519(k->pc, server ? k->own_x : k->x);
    case Classic::kP256: return fresh_p256(k->pc, server ? k->own_ec : k->ec);
  }
  return false;
}

const uint8_t* classic_public(const MlkemKey& k, bool server) {
  if (k.group->classic == Classic::kX25519) return (server ? k.own_x : k.x)->pub.data();
  return (server ? k.own_ec : k.ec)->pub.data();
}

// A P-256 share: uncompressed (draft-ietf-tls-ecdhe-mlkem) and on the curve;
// false with the reason on the error queue.
bool decode_p256_share(ProvCtx* pc, const MlkemGroup& g, const uint8_t* pub, std::vector<uint8_t>* out) {
  const EcCurve* c = p256();
  if (c && pub[0] == 0x04 && ec_decode_point(pc, *c, pub, 65, out)) return true;
  GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: the P-256 share is not an uncompressed point on the curve",
           g.name);
  return false;
}

// The peer's classic public key; false (with the reason) when malformed.
bool classic_set_peer(MlkemKey* k, const uint8_t* pub) {
  const MlkemGroup& g = *k->group;
  if (g.classic == Classic::kX25519) {
    k->x = std::make_unique<X25519Key>(k->pc, &kX25519Type);
    std::memcpy(k->x->pub.data(), pub, 32);
    k->x->has_public = true;
  } else if (g.classic == Classic::kP256) {
    k->ec = std::make_unique<EcKey>(k->pc);
    k->ec->curve = p256();
    if (!decode_p256_share(k->pc, g, pub, &k->ec->pub)) return false;
    k->ec->has_public = true;
  }
  return true;
}

// out = the classic shared secret of k's key (client) or own_* key (server)
// with the peer's public key.
bool classic_derive(MlkemKey* k, bool server, const uint8_t* peer_pub, uint8_t* out) {
  switch (k->group->classic) {
    case Classic::kNone: return true;
    case Classic::kX25519: return x25519_derive((server ? k->own_x : k->x).get(), peer_pub, out);
    case Classic::kP256: return ec_derive((server ? k->own_ec : k->ec).get(), peer_pub, 65, out);
  }
  return false;
}

// What an abandoned ASYNC_JOB must not leave behind. A job paused inside
// EVP_PKEY_encapsulate / decapsulate and never resumed keeps its
// EVP_PKEY_CTX, and with it a reference to this key, for ever: libssl's
// SSL_free then never frees the key. The wait ctx's cleanup (which SSL_free
// runs) calls this instead: the staging buffers and the ML-KEM private key
// wiped, the classic keys freed (wiped, their engine slots released). The
// key object's memory itself stays with the leaked context.
void drop_secrets(void* p) {
  auto* k = static_cast<MlkemKey*>(p);
  OPENSSL_cleanse(k->scratch_in.data(), k->scratch_in.size());
  OPENSSL_cleanse(k->scratch_out.data(), k->scratch_out.size());
  OPENSSL_cleanse(k->dk.data(), k->dk.size());
  k->has_private = false;
  k->x.reset();
  k->ec.reset();
  k->own_x.reset();
  k->own_ec.reset();
}

}  // namespace

bool mlkem_generate(MlkemKey* k) {
  engine::SecureBytes& seed = k->scratch_in;  // d || z
  engine::SecureBytes& out = k->scratch_out;  // ek || dk
  seed.assign(64, 0);
  out.assign(kMlkemEk + kMlkemDk, 0);
  if (!random_secret(k->pc, seed.data(), seed.size())) return false;
  if (!run_mlkem(k->pc, ProvOp::kMlkemKeygen, engine::Op::kMlkemKeygen, seed.data(), seed.size(), out.data(),
                 out.size()))
    return false;
  k->ek.assign(out.begin(), out.begin() + kMlkemEk);
  k->dk.assign(out.begin() + kMlkemEk, out.end());
  OPENSSL_cleanse(seed.data(), seed.size());
  OPENSSL_cleanse(out.data(), out.size());
  if (!classic_generate(k, false)) return false;
  k->has_public = k->has_private = true;
  return true;
}

std::vector<uint8_t> mlkem_encoded_public(const MlkemKey& k) {
  const MlkemGroup& g = *k.group;
  std::vector<uint8_t> share(g.client_share);
  std::memcpy(share.data() + mlkem_at(g, g.classic_pub), k.ek.data(), kMlkemEk);
  if (g.classic_pub) std::memcpy(share.data() + classic_at(g, kMlkemEk), classic_public(k, false), g.classic_pub);
  return share;
}

bool mlkem_set_encoded_public(MlkemKey* k, const uint8_t* share, size_t len) {
  const MlkemGroup& g = *k->group;
  if (len != g.client_share) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: key share of %zu bytes (%zu expected)", g.name, len,
             g.client_share);
    return false;
  }
  const uint8_t* ek = share + mlkem_at(g, g.classic_pub);
  if (!kernels::mlkem::ek_passes_modulus_check(ek)) {  // FIPS 203 section 7.2 (the key is public)
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: ML-KEM encapsulation key fails the modulus check", g.name);
    return false;
  }
  if (g.classic_pub && !classic_set_peer(k, share + classic_at(g, kMlkemEk))) return false;
  k->ek.assign(ek, ek + kMlkemEk);
  k->has_public = true;
  return true;
}

bool mlkem_encapsulate(MlkemKey* peer, uint8_t* ct, uint8_t* secret) {
  if (!peer->has_public) return false;
  const MlkemGroup& g = *peer->group;
  AbandonGuard guard(drop_secrets, peer);
  engine::SecureBytes& in = peer->scratch_in;    // ek || m
  engine::SecureBytes& out = peer->scratch_out;  // K || c
  in.assign(kMlkemEk + 32, 0);
  out.assign(kMlkemSecret + kMlkemCt, 0);
  std::memcpy(in.data(), peer->ek.data(), kMlkemEk);
  bool ok = random_secret(peer->pc, in.data() + kMlkemEk, 32) &&  // m
            run_mlkem(peer->pc, ProvOp::kMlkemEncaps, engine::Op::kMlkemEncaps, in.data(), in.size(), out.data(),
                      out.size());
  if (ok) {
    std::memcpy(ct + mlkem_at(g, g.classic_pub), out.data() + kMlkemSecret, kMlkemCt);
    std::memcpy(secret + mlkem_at(g, g.classic_secret), out.data(), kMlkemSecret);
  }
  OPENSSL_cleanse(in.data(), in.size());
  OPENSSL_cleanse(out.data(), out.size());
  if (ok && g.classic != Classic::kNone) {  // our ephemeral classic key, kept in the peer key
    ok = classic_generate(peer, true) &&
         classic_derive(peer, true, classic_public(*peer, false), secret + classic_at(g, kMlkemSecret));
    if (ok) std::memcpy(ct + classic_at(g, kMlkemCt), classic_public(*peer, true), g.classic_pub);
  }
  if (!ok) OPENSSL_cleanse(secret, g.secret);
  return ok;
}

bool mlkem_decapsulate(MlkemKey* k, const uint8_t* ct, size_t ct_len, uint8_t* secret) {
  if (!k->has_private) return false;
  const MlkemGroup& g = *k->group;
  if (ct_len != g.server_share) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: server share of %zu bytes (%zu expected)", g.name, ct_len,
             g.server_share);
    return false;
  }
  AbandonGuard guard(drop_secrets, k);
  engine::SecureBytes& in = k->scratch_in;  // dk || c
  in.assign(kMlkemDk + kMlkemCt, 0);
  std::memcpy(in.data(), k->dk.data(), kMlkemDk);
  std::memcpy(in.data() + kMlkemDk, ct + mlkem_at(g, g.classic_pub), kMlkemCt);
  const bool ok = run_mlkem(k->pc, ProvOp::kMlkemDecaps, engine::Op::kMlkemDecaps, in.data(), in.size(),
                            secret + mlkem_at(g, g.classic_secret), kMlkemSecret);
  OPENSSL_cleanse(in.data(), in.size());
  if (!ok) return false;
  if (g.classic != Classic::kNone) {
    const uint8_t* peer = ct + classic_at(g, kMlkemCt);
    std::vector<uint8_t> decoded;  // the server's point, checked as the client's was
    const bool peer_ok = g.classic != Classic::kP256 || decode_p256_share(k->pc, g, peer, &decoded);
    if (!peer_ok || !classic_derive(k, false, peer, secret + classic_at(g, kMlkemSecret))) {
      OPENSSL_cleanse(secret, g.secret);
      return false;
    }
  }
  return true;
}

}  // namespace gputls::host
