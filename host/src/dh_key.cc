#include "dh_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace gputls::host {
namespace {

struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

DhBytes bn_bytes(const BIGNUM* b) {
  DhBytes out(static_cast<size_t>(BN_num_bytes(b)));
  if (!out.empty()) BN_bn2bin(b, out.data());
  return out;
}

Bn bn_of(const uint8_t* data, size_t len) { return Bn(BN_bin2bn(data, static_cast<int>(len), nullptr)); }
Bn bn_of(const DhBytes& v) { return bn_of(v.data(), v.size()); }

// RFC 7919 Appendix A exponent lengths, as OpenSSL 3.0's named-group table has them.
struct GroupInfo {
  const char* name;
  int priv_bits;
};
constexpr GroupInfo kGroups[] = {
    {"ffdhe2048", 225}, {"ffdhe3072", 275}, {"ffdhe4096", 325}, {"ffdhe6144", 375}, {"ffdhe8192", 400}};

bool sw_modexp(ProvCtx* pc, const DhKey& k, const uint8_t* in, uint8_t* out) {
  const size_t len = k.params.bytes();
  Bn p = bn_of(k.params.p), x = bn_of(in, len);
  Bn e(BN_secure_new()), y(BN_secure_new());
  BN_CTX* bctx = BN_CTX_secure_new_ex(pc->sw);
  bool ok = p && x && e && y && bctx && BN_bin2bn(k.priv.data(), static_cast<int>(k.priv.size()), e.get()) &&
            BN_cmp(x.get(), p.get()) < 0;
  if (ok) {
    BN_set_flags(e.get(), BN_FLG_CONSTTIME);
    ok = BN_mod_exp_mont_consttime(y.get(), x.get(), e.get(), p.get(), bctx, nullptr) == 1 &&
         BN_bn2binpad(y.get(), out, static_cast<int>(len)) == static_cast<int>(len);
  }
  BN_CTX_free(bctx);
  return ok;
}

}  // namespace

int DhParams::bits() const {
  if (p.empty()) return 0;
  int top = 0;
  for (uint8_t b = p[0]; b; b >>= 1) ++top;
  return static_cast<int>((p.size() - 1) * 8) + top;
}

bool dh_named_group(ProvCtx* pc, const char* name, DhParams* out) {
  const GroupInfo* info = nullptr;
  for (const GroupInfo& g : kGroups)
    if (OPENSSL_strcasecmp(name, g.name) == 0) info = &g;
  if (!info) return false;
  static std::mutex mu;
  static std::map<std::string, DhParams> cache;  // process-wide: the tables are constants
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(info->name);
  if (it == cache.end()) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(pc->sw, "DH", nullptr);
    EVP_PKEY* pk = nullptr;
    BIGNUM *p = nullptr, *g = nullptr, *q = nullptr;
    bool ok = c && EVP_PKEY_paramgen_init(c) == 1 && EVP_PKEY_CTX_set_group_name(c, info->name) == 1 &&
              EVP_PKEY_paramgen(c, &pk) == 1 && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_FFC_P, &p) == 1 &&
              EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_FFC_G, &g) == 1;
    if (ok) {
      DhParams d;
      d.p = bn_bytes(p);
      d.g = bn_bytes(g);
      if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_FFC_Q, &q) == 1) d.q = bn_bytes(q);
      d.group = info->name;
      it = cache.emplace(info->name, std::move(d)).first;
    }
    BN_free(p);
    BN_free(g);
    BN_free(q);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(c);
    if (!ok) return false;
  }
  *out = it->second;
  return true;
}

bool dh_params_ok(const DhParams& params) {
  if (params.p.empty() || params.g.empty() || !(params.p.back() & 1) || params.bits() < 512) return false;
  return dh_public_in_range(params, params.g.data(), params.g.size());
}

bool dh_public_in_range(const DhParams& params, const uint8_t* y, size_t len) {
  Bn p = bn_of(params.p), v = bn_of(y, len), pm1(BN_new());
  if (!p || !v || !pm1 || !BN_copy(pm1.get(), p.get()) || !BN_sub_word(pm1.get(), 1)) return false;
  return BN_cmp(v.get(), BN_value_one()) > 0 && BN_cmp(v.get(), pm1.get()) < 0;
}

int dh_security_bits(const DhParams& params) {
  if (params.p.empty()) return 0;
  int qbits = -1;
  if (!params.q.empty()) {
    Bn q = bn_of(params.q);
    qbits = q ? BN_num_bits(q.get()) : -1;
  }
  return BN_security_bits(params.bits(), qbits);
}

int dh_private_bits(const DhParams& params) {
  for (const GroupInfo& g : kGroups)
    if (!params.group.empty() && OPENSSL_strcasecmp(params.group.c_str(), g.name) == 0) return g.priv_bits;
  int bits = 2 * dh_security_bits(params);
  return bits >= params.bits() ? params.bits() - 1 : bits;
}

bool dh_modexp(DhKey* k, ProvOp which, const uint8_t* in, uint8_t* out) {
  const size_t len = k->params.bytes();
  if (!k->has_private || k->priv.empty() || len == 0) {
    k->pc->stats[which].failed.fetch_add(1);
    return false;
  }
  auto reg = [k](engine::Engine* eng, engine::KeyHandle* h) {
    engine::DhKeyMaterial m;
    m.p.assign(k->params.p.begin(), k->params.p.end());
    m.priv = k->priv;
    return eng->register_dh_key(m, h);
  };
  auto software = [&] { return sw_modexp(k->pc, *k, in, out); };
  return run_private_op(k->pc, which, k->engine_ref, reg, engine::Op::kModExp, in, len, out, len, software);
}

}  // namespace gputls::host
