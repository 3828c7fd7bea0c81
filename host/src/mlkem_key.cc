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
  ProvOpStats& st = pc->stats[which];
  if (engine::Engine* eng = pc->engine()) {
    switch (call_engine(pc, which, eng, op, engine::KeyHandle{}, in, in_len, out, out_len)) {
      case CallResult::kOk: return true;
      case CallResult::kFailed: st.failed.fetch_add(1); return false;
      case CallResult::kRefused: break;
    }
  }
  uint32_t status = kernels::kMlkemBadRequest;
  kernels::MlkemBatch b;
  b.in = in;
  b.out = out;
  b.status = &status;
  b.count = 1;
  b.op = op == engine::Op::kMlkemKeygen   ? kernels::kMlkemKeygen
         : op == engine::Op::kMlkemEncaps ? kernels::kMlkemEncaps
                                          : kernels::kMlkemDecaps;
  kernels::mlkem_batch_host(b);
  const bool ok = status == kernels::kMlkemOk;
  (ok ? st.sw : st.failed).fetch_add(1);
  return ok;
}

bool random_secret(ProvCtx* pc, uint8_t* out, size_t n) { return RAND_priv_bytes_ex(pc->sw, out, n, 256) == 1; }

std::unique_ptr<X25519Key> fresh_x25519(ProvCtx* pc) {
  auto x = std::make_unique<X25519Key>(pc, &kX25519Type);
  x->priv.resize(32);
  x->has_private = random_secret(pc, x->priv.data(), 32);
  if (!x->has_private || !x25519_make_public(x.get())) return nullptr;
  return x;
}

const EcCurve* p256() {
  static const EcCurve* const c = ec_curve_by_name("P-256");
  return c;
}

std::unique_ptr<EcKey> fresh_p256(ProvCtx* pc) {
  auto e = std::make_unique<EcKey>(pc);
  e->curve = p256();
  e->has_private = e->curve && ec_random_private(pc, *e->curve, &e->priv);
  if (!e->has_private || !ec_make_public(e.get())) return nullptr;
  return e;
}

// Where the ML-KEM and classic parts sit in a share or secret of the group.
size_t mlkem_at(const MlkemGroup& g, size_t classic_len) { return g.mlkem_first ? 0 : classic_len; }
size_t classic_at(const MlkemGroup& g, size_t mlkem_len) { return g.mlkem_first ? mlkem_len : 0; }

// A fresh classic key of the group's kind into k (client) or `mine` (server).
bool classic_generate(MlkemKey* k) {
  switch (k->group->classic) {
    case Classic::kNone: return true;
    case Classic::kX25519: return (k->x = fresh_x25519(k->pc)) != nullptr;
    case Classic::kP256: return (k->ec = fresh_p256(k->pc)) != nullptr;
  }
  return false;
}

const uint8_t* classic_public(const MlkemKey& k) {
  return k.group->classic == Classic::kX25519 ? k.x->pub.data() : k.ec->pub.data();
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
    // Uncompressed only (draft-ietf-tls-ecdhe-mlkem), and on the curve.
    if (!k->ec->curve || pub[0] != 0x04 || !ec_decode_point(k->pc, *k->ec->curve, pub, 65, &k->ec->pub)) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: the P-256 share is not an uncompressed point on the curve",
               g.name);
      return false;
    }
    k->ec->has_public = true;
  }
  return true;
}

// out = the classic shared secret of `mine` with the peer's public key.
bool classic_derive(MlkemKey* mine, const uint8_t* peer_pub, uint8_t* out) {
  switch (mine->group->classic) {
    case Classic::kNone: return true;
    case Classic::kX25519: return x25519_derive(mine->x.get(), peer_pub, out);
    case Classic::kP256: return ec_derive(mine->ec.get(), peer_pub, 65, out);
  }
  return false;
}

}  // namespace

bool mlkem_generate(MlkemKey* k) {
  engine::SecureBytes seed(64), out(kMlkemEk + kMlkemDk);
  if (!random_secret(k->pc, seed.data(), seed.size())) return false;  // d || z
  if (!run_mlkem(k->pc, ProvOp::kMlkemKeygen, engine::Op::kMlkemKeygen, seed.data(), seed.size(), out.data(),
                 out.size()))
    return false;
  k->ek.assign(out.begin(), out.begin() + kMlkemEk);
  k->dk.assign(out.begin() + kMlkemEk, out.end());
  if (!classic_generate(k)) return false;
  k->has_public = k->has_private = true;
  return true;
}

std::vector<uint8_t> mlkem_encoded_public(const MlkemKey& k) {
  const MlkemGroup& g = *k.group;
  std::vector<uint8_t> share(g.client_share);
  std::memcpy(share.data() + mlkem_at(g, g.classic_pub), k.ek.data(), kMlkemEk);
  if (g.classic_pub) std::memcpy(share.data() + classic_at(g, kMlkemEk), classic_public(k), g.classic_pub);
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
  // FIPS 203 section 7.2: every coefficient of ek below q (the key is public).
  for (size_t i = 0; i + 3 <= 3 * 384; i += 3) {
    const unsigned c0 = ek[i] | (ek[i + 1] & 0x0f) << 8, c1 = ek[i + 1] >> 4 | ek[i + 2] << 4;
    if (c0 >= 3329 || c1 >= 3329) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: ML-KEM encapsulation key fails the modulus check", g.name);
      return false;
    }
  }
  if (g.classic_pub && !classic_set_peer(k, share + classic_at(g, kMlkemEk))) return false;
  k->ek.assign(ek, ek + kMlkemEk);
  k->has_public = true;
  return true;
}

bool mlkem_encapsulate(MlkemKey* peer, uint8_t* ct, uint8_t* secret) {
  if (!peer->has_public) return false;
  const MlkemGroup& g = *peer->group;
  engine::SecureBytes in(kMlkemEk + 32), out(kMlkemSecret + kMlkemCt);
  std::memcpy(in.data(), peer->ek.data(), kMlkemEk);
  if (!random_secret(peer->pc, in.data() + kMlkemEk, 32)) return false;  // m
  if (!run_mlkem(peer->pc, ProvOp::kMlkemEncaps, engine::Op::kMlkemEncaps, in.data(), in.size(), out.data(),
                 out.size()))
    return false;
  std::memcpy(ct + mlkem_at(g, g.classic_pub), out.data() + kMlkemSecret, kMlkemCt);
  std::memcpy(secret + mlkem_at(g, g.classic_secret), out.data(), kMlkemSecret);
  if (g.classic != Classic::kNone) {
    MlkemKey mine(peer->pc, peer->group);  // our ephemeral classic key
    if (!classic_generate(&mine) ||
        !classic_derive(&mine, g.classic == Classic::kX25519 ? peer->x->pub.data() : peer->ec->pub.data(),
                        secret + classic_at(g, kMlkemSecret))) {
      OPENSSL_cleanse(secret, g.secret);
      return false;
    }
    std::memcpy(ct + classic_at(g, kMlkemCt), classic_public(mine), g.classic_pub);
  }
  return true;
}

bool mlkem_decapsulate(MlkemKey* k, const uint8_t* ct, size_t ct_len, uint8_t* secret) {
  if (!k->has_private) return false;
  const MlkemGroup& g = *k->group;
  if (ct_len != g.server_share) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: server share of %zu bytes (%zu expected)", g.name, ct_len,
             g.server_share);
    return false;
  }
  engine::SecureBytes in(kMlkemDk + kMlkemCt);
  std::memcpy(in.data(), k->dk.data(), kMlkemDk);
  std::memcpy(in.data() + kMlkemDk, ct + mlkem_at(g, g.classic_pub), kMlkemCt);
  if (!run_mlkem(k->pc, ProvOp::kMlkemDecaps, engine::Op::kMlkemDecaps, in.data(), in.size(),
                 secret + mlkem_at(g, g.classic_secret), kMlkemSecret))
    return false;
  if (g.classic != Classic::kNone) {
    const uint8_t* peer = ct + classic_at(g, kMlkemCt);
    bool ok = true;
    if (g.classic == Classic::kP256) {  // the server's point: uncompressed and on the curve
      std::vector<uint8_t> decoded;
      ok = peer[0] == 0x04 && ec_decode_point(k->pc, *k->ec->curve, peer, 65, &decoded);
      if (!ok)
        GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: the server's P-256 share is not a point on the curve",
                 g.name);
    }
    if (!ok || !classic_derive(k, peer, secret + classic_at(g, kMlkemSecret))) {
      OPENSSL_cleanse(secret, g.secret);
      return false;
    }
  }
  return true;
}

}  // namespace gputls::host
