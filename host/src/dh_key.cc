#include "dh_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cctype>
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
    {"ffdhe2048", 225}, {"ffdhe3072", 275}, {"ffdhe4096", 325}, {"ffdhe6144", 375}, {"ffdhe8192", 400},
    {"modp_1536", 200}, {"modp_2048", 225}, {"modp_3072", 275}, {"modp_4096", 325}, {"modp_6144", 375},
    {"modp_8192", 400}};

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

// Any group name the default provider's DH keymgmt knows (ffdhe*, modp_*,
// dh_1024_160 / dh_2048_224 / dh_2048_256): p, g and q from its tables.
bool dh_named_group(ProvCtx* pc, const char* name, DhParams* out) {
  if (!name || !*name) return false;
  std::string key = name;
  for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  static std::mutex mu;
  static std::map<std::string, DhParams> cache;  // process-wide: the tables are constants
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it == cache.end()) {
    ERR_set_mark();
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(pc->sw, "DH", nullptr);
    EVP_PKEY* pk = nullptr;
    BIGNUM *p = nullptr, *g = nullptr, *q = nullptr;
    char canonical[64] = {0};
    size_t canonical_len = 0;
    bool ok = c && EVP_PKEY_paramgen_init(c) == 1 && EVP_PKEY_CTX_set_group_name(c, name) == 1 &&
              EVP_PKEY_paramgen(c, &pk) == 1 && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_FFC_P, &p) == 1 &&
              EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_FFC_G, &g) == 1;
    if (ok) {
      DhParams d;
      d.p = bn_bytes(p);
      d.g = bn_bytes(g);
      if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_FFC_Q, &q) == 1) d.q = bn_bytes(q);
      d.group = EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, canonical, sizeof canonical,
                                               &canonical_len) == 1
                    ? canonical
                    : name;
      it = cache.emplace(key, std::move(d)).first;
    }
    BN_free(p);
    BN_free(g);
    BN_free(q);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(c);
    ERR_pop_to_mark();  // the caller reports a name the default does not know either
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

bool dh_public_in_subgroup(const DhParams& params, const uint8_t* y, size_t len) {
  if (!dh_public_in_range(params, y, len)) return false;
  if (params.q.empty()) return true;
  Bn p = bn_of(params.p), q = bn_of(params.q), v = bn_of(y, len), r(BN_new());
  BN_CTX* bctx = BN_CTX_new();
  // Public values only: no constant-time exponentiation needed.
  const bool ok = p && q && v && r && bctx && BN_ucmp(p.get(), q.get()) >= 0 &&
                  BN_mod_exp(r.get(), v.get(), q.get(), p.get(), bctx) == 1 && BN_is_one(r.get());
  BN_CTX_free(bctx);
  return ok;
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
  const int pbits = params.bits();
  int bits = 0;
  for (const GroupInfo& g : kGroups)
    if (!params.group.empty() && OPENSSL_strcasecmp(params.group.c_str(), g.name) == 0) bits = g.priv_bits;
  if (bits == 0) bits = 2 * dh_security_bits(params);
  // A prime too small for BN_security_bits (below 1024 bits): as the default
  // provider without a length, p's length less one.
  if (bits < 2 || bits >= pbits) bits = pbits - 1;
  // With a subgroup order q, x < q (exactly `bits` bits, top bit set).
  if (!params.q.empty()) {
    Bn q = bn_of(params.q);
    const int qbits = q ? BN_num_bits(q.get()) : 0;
    if (qbits > 2 && bits >= qbits) bits = qbits - 1;
  }
  return bits;
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
