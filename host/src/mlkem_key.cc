#include "mlkem_key.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstring>

#include "engine_call.h"
#include "gputls/kernels/mlkem_batch.h"
#include "prov_err.h"

namespace gputls::host {

const MlkemGroup kMlkem768Group = {"MLKEM768", false, kMlkemEk, kMlkemCt, kMlkemSecret, 192};
const MlkemGroup kX25519Mlkem768Group = {"X25519MLKEM768", true, kMlkemEk + 32, kMlkemCt + 32, kMlkemSecret + 32,
                                         192};

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

}  // namespace

bool mlkem_generate(MlkemKey* k) {
  engine::SecureBytes seed(64), out(kMlkemEk + kMlkemDk);
  if (!random_secret(k->pc, seed.data(), seed.size())) return false;  // d || z
  if (!run_mlkem(k->pc, ProvOp::kMlkemKeygen, engine::Op::kMlkemKeygen, seed.data(), seed.size(), out.data(),
                 out.size()))
    return false;
  k->ek.assign(out.begin(), out.begin() + kMlkemEk);
  k->dk.assign(out.begin() + kMlkemEk, out.end());
  if (k->group->x25519 && !(k->x = fresh_x25519(k->pc))) return false;
  k->has_public = k->has_private = true;
  return true;
}

std::vector<uint8_t> mlkem_encoded_public(const MlkemKey& k) {
  std::vector<uint8_t> share = k.ek;
  if (k.group->x25519) share.insert(share.end(), k.x->pub.begin(), k.x->pub.begin() + 32);
  return share;
}

bool mlkem_set_encoded_public(MlkemKey* k, const uint8_t* share, size_t len) {
  if (len != k->group->client_share) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: key share of %zu bytes (%zu expected)", k->group->name, len,
             k->group->client_share);
    return false;
  }
  // FIPS 203 section 7.2: every coefficient of ek below q (the key is public).
  for (size_t i = 0; i + 3 <= 3 * 384; i += 3) {
    const unsigned c0 = share[i] | (share[i + 1] & 0x0f) << 8, c1 = share[i + 1] >> 4 | share[i + 2] << 4;
    if (c0 >= 3329 || c1 >= 3329) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: ML-KEM encapsulation key fails the modulus check",
               k->group->name);
      return false;
    }
  }
  k->ek.assign(share, share + kMlkemEk);
  if (k->group->x25519) {
    k->x = std::make_unique<X25519Key>(k->pc, &kX25519Type);
    std::memcpy(k->x->pub.data(), share + kMlkemEk, 32);
    k->x->has_public = true;
  }
  k->has_public = true;
  return true;
}

bool mlkem_encapsulate(MlkemKey* peer, uint8_t* ct, uint8_t* secret) {
  if (!peer->has_public) return false;
  engine::SecureBytes in(kMlkemEk + 32), out(kMlkemSecret + kMlkemCt);
  std::memcpy(in.data(), peer->ek.data(), kMlkemEk);
  if (!random_secret(peer->pc, in.data() + kMlkemEk, 32)) return false;  // m
  if (!run_mlkem(peer->pc, ProvOp::kMlkemEncaps, engine::Op::kMlkemEncaps, in.data(), in.size(), out.data(),
                 out.size()))
    return false;
  std::memcpy(ct, out.data() + kMlkemSecret, kMlkemCt);
  std::memcpy(secret, out.data(), kMlkemSecret);
  if (peer->group->x25519) {
    std::unique_ptr<X25519Key> mine = fresh_x25519(peer->pc);
    if (!mine || !x25519_derive(mine.get(), peer->x->pub.data(), secret + kMlkemSecret)) {
      OPENSSL_cleanse(secret, kMlkemSecret);
      return false;
    }
    std::memcpy(ct + kMlkemCt, mine->pub.data(), 32);
  }
  return true;
}

bool mlkem_decapsulate(MlkemKey* k, const uint8_t* ct, size_t ct_len, uint8_t* secret) {
  if (!k->has_private) return false;
  if (ct_len != k->group->server_share) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: server share of %zu bytes (%zu expected)", k->group->name,
             ct_len, k->group->server_share);
    return false;
  }
  engine::SecureBytes in(kMlkemDk + kMlkemCt);
  std::memcpy(in.data(), k->dk.data(), kMlkemDk);
  std::memcpy(in.data() + kMlkemDk, ct, kMlkemCt);
  if (!run_mlkem(k->pc, ProvOp::kMlkemDecaps, engine::Op::kMlkemDecaps, in.data(), in.size(), secret, kMlkemSecret))
    return false;
  if (k->group->x25519 && !x25519_derive(k->x.get(), ct + kMlkemCt, secret + kMlkemSecret)) {
    OPENSSL_cleanse(secret, kMlkemSecret);
    return false;
  }
  return true;
}

}  // namespace gputls::host
