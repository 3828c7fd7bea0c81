// RSA and RSA-PSS key management: keys from the default provider are
// imported (libssl exports PEM-loaded keys to us when it fetches our
// signature or cipher) with every component (multi-prime keys' too) and an
// RSA-PSS key's parameter restrictions, which the signature enforces as the
// default provider does; keys made here export the same; generation runs in
// the provider's own context.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/proverr.h>

#include <cstring>
#include <string>
#include <vector>

#include "bn_params.h"
#include "provider.h"
#include "rsa_key.h"

namespace gputls::host {
namespace {

constexpr int kPub = OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
constexpr int kPriv = OSSL_KEYMGMT_SELECT_PRIVATE_KEY;

bool get_bn(const OSSL_PARAM* params, const char* name, engine::SecureBytes* out) {
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, name);
  if (!p) return false;
  BIGNUM* bn = nullptr;
  if (OSSL_PARAM_get_BN(p, &bn) != 1) return false;
  out->resize(BN_num_bytes(bn));
  BN_bn2bin(bn, out->data());
  BN_clear_free(bn);
  return true;
}

void* rsa_new(void* provctx) { return new RsaKey(static_cast<ProvCtx*>(provctx)); }
void* rsa_pss_new(void* provctx) { return new RsaKey(static_cast<ProvCtx*>(provctx), true); }
void rsa_free(void* key) { delete static_cast<RsaKey*>(key); }

int rsa_has(const void* keydata, int selection) {
  auto* k = static_cast<const RsaKey*>(keydata);
  if (!k) return 0;
  if ((selection & kPub) && !k->has_public) return 0;
  if ((selection & kPriv) && !k->has_private) return 0;
  return 1;
}

int rsa_match(const void* a, const void* b, int selection) {
  auto* x = static_cast<const RsaKey*>(a);
  auto* y = static_cast<const RsaKey*>(b);
  if (x->mat.n != y->mat.n || x->mat.e != y->mat.e) return 0;
  if ((selection & kPriv) && !(selection & kPub)) return x->mat.d == y->mat.d ? 1 : 0;
  return 1;
}

// The private components OpenSSL exports, in its own names.
std::vector<std::string> crt_names() {
  std::vector<std::string> names;
  for (int i = 1; i <= 10; ++i) names.push_back(std::string(OSSL_PKEY_PARAM_RSA_FACTOR) + std::to_string(i));
  for (int i = 1; i <= 10; ++i) names.push_back(std::string(OSSL_PKEY_PARAM_RSA_EXPONENT) + std::to_string(i));
  for (int i = 1; i <= 9; ++i) names.push_back(std::string(OSSL_PKEY_PARAM_RSA_COEFFICIENT) + std::to_string(i));
  return names;
}

// An RSA-PSS key's restrictions, as the default provider reads them
// (ossl_rsa_pss_params_30_fromdata): any of them makes the key restricted,
// the others keep RFC 4055's defaults.
bool import_pss_restrictions(RsaKey* k, const OSSL_PARAM params[]) {
  const OSSL_PARAM* md = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_DIGEST);
  const OSSL_PARAM* mgf = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_MASKGENFUNC);
  const OSSL_PARAM* mgf1 = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_MGF1_DIGEST);
  const OSSL_PARAM* salt = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_PSS_SALTLEN);
  if (!md && !mgf && !mgf1 && !salt) return true;
  RsaPssRestrictions r;
  r.restricted = true;
  const char* s = nullptr;
  if (md && (!OSSL_PARAM_get_utf8_string_ptr(md, &s) || !s)) return false;
  if (md) r.md = s;
  if (mgf && (!OSSL_PARAM_get_utf8_string_ptr(mgf, &s) || !s || OPENSSL_strcasecmp(s, "MGF1") != 0)) {
    ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_KEY, "gputls: RSA-PSS mask generation function %s: only MGF1",
                   s ? s : "?");
    return false;
  }
  if (mgf1 && (!OSSL_PARAM_get_utf8_string_ptr(mgf1, &s) || !s)) return false;
  if (mgf1) r.mgf1_md = s;
  if (salt && !OSSL_PARAM_get_int(salt, &r.min_saltlen)) return false;
  k->pss = r;
  return true;
}

int rsa_import(void* keydata, int selection, const OSSL_PARAM params[]) {
  auto* k = static_cast<RsaKey*>(keydata);
  if (!k || !(selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) return 0;
  auto& m = k->mat;
  if (!get_bn(params, OSSL_PKEY_PARAM_RSA_N, &m.n) || !get_bn(params, OSSL_PKEY_PARAM_RSA_E, &m.e)) {
    ERR_raise_data(ERR_LIB_PROV, PROV_R_MISSING_KEY, "gputls: an RSA key needs n and e");
    return 0;
  }
  k->has_public = true;
  // OpenSSL exports with SELECT_ALL whatever the key holds: a public key
  // (a certificate's, a peer's) comes without d and stays public here.
  if ((selection & kPriv) && OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D)) {
    if (!get_bn(params, OSSL_PKEY_PARAM_RSA_D, &m.d)) return 0;
    k->crt.clear();
    uint32_t factors = 0;
    for (const std::string& name : crt_names()) {
      engine::SecureBytes v;
      if (!get_bn(params, name.c_str(), &v)) continue;
      if (name.rfind(OSSL_PKEY_PARAM_RSA_FACTOR, 0) == 0) ++factors;
      k->crt.emplace_back(name, std::move(v));
    }
    get_bn(params, OSSL_PKEY_PARAM_RSA_FACTOR1, &m.p);
    get_bn(params, OSSL_PKEY_PARAM_RSA_FACTOR2, &m.q);
    get_bn(params, OSSL_PKEY_PARAM_RSA_EXPONENT1, &m.dp);
    get_bn(params, OSSL_PKEY_PARAM_RSA_EXPONENT2, &m.dq);
    get_bn(params, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &m.qinv);
    // Factors beyond two make a multi-prime key, which the engine refuses
    // (it then runs on the CPU, counted as key_refused).
    m.prime_count = factors;
    k->has_private = true;
  }
  if ((selection & OSSL_KEYMGMT_SELECT_OTHER_PARAMETERS) && k->is_pss && !import_pss_restrictions(k, params))
    return 0;
  BIGNUM* n = BN_bin2bn(m.n.data(), static_cast<int>(m.n.size()), nullptr);
  k->bits = n ? BN_num_bits(n) : 0;
  BN_free(n);
  return k->bits > 0;
}

#define RSA_CRT_PARAM(kind, i) OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_##kind##i, nullptr, 0)
#define RSA_KEY_PARAMS                                                                                  \
  OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0), OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),   \
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_D, nullptr, 0), RSA_CRT_PARAM(FACTOR, 1), RSA_CRT_PARAM(FACTOR, 2), \
      RSA_CRT_PARAM(FACTOR, 3), RSA_CRT_PARAM(FACTOR, 4), RSA_CRT_PARAM(FACTOR, 5), RSA_CRT_PARAM(FACTOR, 6), \
      RSA_CRT_PARAM(FACTOR, 7), RSA_CRT_PARAM(FACTOR, 8), RSA_CRT_PARAM(FACTOR, 9), RSA_CRT_PARAM(FACTOR, 10), \
      RSA_CRT_PARAM(EXPONENT, 1), RSA_CRT_PARAM(EXPONENT, 2), RSA_CRT_PARAM(EXPONENT, 3),                  \
      RSA_CRT_PARAM(EXPONENT, 4), RSA_CRT_PARAM(EXPONENT, 5), RSA_CRT_PARAM(EXPONENT, 6),                  \
      RSA_CRT_PARAM(EXPONENT, 7), RSA_CRT_PARAM(EXPONENT, 8), RSA_CRT_PARAM(EXPONENT, 9),                  \
      RSA_CRT_PARAM(EXPONENT, 10), RSA_CRT_PARAM(COEFFICIENT, 1), RSA_CRT_PARAM(COEFFICIENT, 2),           \
      RSA_CRT_PARAM(COEFFICIENT, 3), RSA_CRT_PARAM(COEFFICIENT, 4), RSA_CRT_PARAM(COEFFICIENT, 5),         \
      RSA_CRT_PARAM(COEFFICIENT, 6), RSA_CRT_PARAM(COEFFICIENT, 7), RSA_CRT_PARAM(COEFFICIENT, 8),         \
      RSA_CRT_PARAM(COEFFICIENT, 9)
#define RSA_PSS_PARAMS                                                       \
  OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_RSA_DIGEST, nullptr, 0),            \
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_RSA_DIGEST_PROPS, nullptr, 0),  \
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_RSA_MASKGENFUNC, nullptr, 0),   \
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_RSA_MGF1_DIGEST, nullptr, 0),   \
      OSSL_PARAM_int(OSSL_PKEY_PARAM_RSA_PSS_SALTLEN, nullptr)

const OSSL_PARAM kKeyTypes[] = {RSA_KEY_PARAMS, OSSL_PARAM_END};
const OSSL_PARAM kPssKeyTypes[] = {RSA_KEY_PARAMS, RSA_PSS_PARAMS, OSSL_PARAM_END};
const OSSL_PARAM* rsa_key_types(int) { return kKeyTypes; }
const OSSL_PARAM* rsa_pss_key_types(int) { return kPssKeyTypes; }

int rsa_export(void* keydata, int selection, OSSL_CALLBACK* cb, void* cbarg) {
  auto* k = static_cast<RsaKey*>(keydata);
  if (!k || !(selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) return 0;
  OSSL_PARAM* params = rsa_key_params(k, (selection & kPriv) != 0);
  int r = params ? cb(params, cbarg) : 0;
  OSSL_PARAM_free(params);
  return r;
}

int rsa_get_params(void* keydata, OSSL_PARAM params[]) {
  auto* k = static_cast<RsaKey*>(keydata);
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) && !OSSL_PARAM_set_int(p, k->bits)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) &&
      !OSSL_PARAM_set_int(p, BN_security_bits(k->bits, -1)))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) && !OSSL_PARAM_set_int(p, (k->bits + 7) / 8))
    return 0;
  // As the default provider: restricted RSA-PSS keys name a mandatory
  // digest and no default one; other keys a default digest only.
  const bool restricted = k->is_pss && k->pss.restricted;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST)) && !restricted &&
      !OSSL_PARAM_set_utf8_string(p, "SHA256"))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MANDATORY_DIGEST)) && restricted &&
      !OSSL_PARAM_set_utf8_string(p, k->pss.md.c_str()))
    return 0;
  if (restricted) {
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_DIGEST)) && !OSSL_PARAM_set_utf8_string(p, k->pss.md.c_str()))
      return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_MASKGENFUNC)) && !OSSL_PARAM_set_utf8_string(p, "MGF1"))
      return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_MGF1_DIGEST)) &&
        !OSSL_PARAM_set_utf8_string(p, k->pss.mgf1_md.c_str()))
      return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_PSS_SALTLEN)) && !OSSL_PARAM_set_int(p, k->pss.min_saltlen))
      return 0;
  }
  // Key components (the default answers them too: `openssl pkey -text`).
  auto set_bn = [&](const char* name, const engine::SecureBytes& v) {
    if (!(p = OSSL_PARAM_locate(params, name)) || v.empty()) return true;
    BIGNUM* bn = BN_bin2bn(v.data(), static_cast<int>(v.size()), BN_secure_new());
    bool ok = bn && OSSL_PARAM_set_BN(p, bn);
    BN_clear_free(bn);
    return ok;
  };
  if (!set_bn(OSSL_PKEY_PARAM_RSA_N, k->mat.n) || !set_bn(OSSL_PKEY_PARAM_RSA_E, k->mat.e)) return 0;
  if (k->has_private) {
    if (!set_bn(OSSL_PKEY_PARAM_RSA_D, k->mat.d)) return 0;
    for (const auto& [name, v] : k->crt)
      if (!set_bn(name.c_str(), v)) return 0;
  }
  return 1;
}

const OSSL_PARAM* rsa_gettable_params(void*) {
  static const OSSL_PARAM kGettable[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr), OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0), RSA_KEY_PARAMS, OSSL_PARAM_END};
  return kGettable;
}
const OSSL_PARAM* rsa_pss_gettable_params(void*) {
  static const OSSL_PARAM kGettable[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr), OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, nullptr, 0), RSA_KEY_PARAMS, RSA_PSS_PARAMS,
      OSSL_PARAM_END};
  return kGettable;
}

void* rsa_dup(const void* keydata, int selection) {
  auto* k = static_cast<const RsaKey*>(keydata);
  auto* d = new RsaKey(k->pc, k->is_pss);
  d->bits = k->bits;
  d->pss = k->pss;
  if (selection & kPub) {
    d->mat.n = k->mat.n;
    d->mat.e = k->mat.e;
    d->has_public = k->has_public;
  }
  if ((selection & kPriv) && k->has_private) {
    d->mat = k->mat;
    d->crt = k->crt;
    d->has_private = true;
    d->has_public = k->has_public;
  }
  return d;
}

const char* rsa_query_operation_name(int) { return "RSA"; }

// Generation: by the default provider in our own context, then imported
// (counted as rsa_keygen sw). Parameters go to the default provider's own
// generation context as they arrive, so they are checked exactly as it
// checks them (a modulus under 512 bits, RSA_MIN_MODULUS_BITS, is refused
// when set; RSA-PSS restrictions are validated), with its errors.
struct RsaGen {
  ProvCtx* pc;
  bool pss;
  EVP_PKEY_CTX* shadow = nullptr;
};

int rsa_gen_set_params(void* genctx, const OSSL_PARAM params[]) {
  auto* g = static_cast<RsaGen*>(genctx);
  if (!params) return 1;
  return EVP_PKEY_CTX_set_params(g->shadow, params) == 1 ? 1 : 0;
}
void rsa_gen_cleanup(void* genctx) {
  auto* g = static_cast<RsaGen*>(genctx);
  if (!g) return;
  EVP_PKEY_CTX_free(g->shadow);
  delete g;
}
void* gen_init(void* provctx, const OSSL_PARAM params[], bool pss) {
  auto* g = new RsaGen{static_cast<ProvCtx*>(provctx), pss};
  g->shadow = EVP_PKEY_CTX_new_from_name(g->pc->sw, pss ? "RSA-PSS" : "RSA", nullptr);
  if (!g->shadow || EVP_PKEY_keygen_init(g->shadow) != 1 || !rsa_gen_set_params(g, params)) {
    rsa_gen_cleanup(g);
    return nullptr;
  }
  return g;
}
void* rsa_gen_init(void* provctx, int, const OSSL_PARAM params[]) { return gen_init(provctx, params, false); }
void* rsa_pss_gen_init(void* provctx, int, const OSSL_PARAM params[]) { return gen_init(provctx, params, true); }

#define RSA_GEN_PARAMS                                                                        \
  OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_BITS, nullptr), OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_PRIMES, nullptr), \
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0)
const OSSL_PARAM* rsa_gen_settable_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {RSA_GEN_PARAMS, OSSL_PARAM_END};
  return kSettable;
}
const OSSL_PARAM* rsa_pss_gen_settable_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {RSA_GEN_PARAMS, RSA_PSS_PARAMS, OSSL_PARAM_END};
  return kSettable;
}
int import_cb(const OSSL_PARAM params[], void* arg) {
  return rsa_import(arg, OSSL_KEYMGMT_SELECT_ALL, params);
}
void* rsa_gen(void* genctx, OSSL_CALLBACK*, void*) {
  auto* g = static_cast<RsaGen*>(genctx);
  EVP_PKEY* pkey = nullptr;
  auto* k = EVP_PKEY_generate(g->shadow, &pkey) == 1 ? new RsaKey(g->pc, g->pss) : nullptr;
  if (k && EVP_PKEY_export(pkey, EVP_PKEY_KEYPAIR, import_cb, k) != 1) {
    delete k;
    k = nullptr;
  }
  EVP_PKEY_free(pkey);
  auto& st = g->pc->stats[ProvOp::kRsaKeygen];
  (k ? st.sw : st.failed).fetch_add(1);
  return k;
}

}  // namespace

const OSSL_DISPATCH kRsaPssKeymgmt[] = {
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_NEW, rsa_pss_new),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_FREE, rsa_free),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_HAS, rsa_has),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_MATCH, rsa_match),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT, rsa_import),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, rsa_pss_key_types),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT, rsa_export),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, rsa_pss_key_types),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GET_PARAMS, rsa_get_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, rsa_pss_gettable_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_DUP, rsa_dup),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, rsa_query_operation_name),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_INIT, rsa_pss_gen_init),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, rsa_gen_set_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, rsa_pss_gen_settable_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN, rsa_gen),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, rsa_gen_cleanup),
    {0, nullptr}};

const OSSL_DISPATCH kRsaKeymgmt[] = {
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_NEW, rsa_new),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_FREE, rsa_free),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_HAS, rsa_has),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_MATCH, rsa_match),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT, rsa_import),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, rsa_key_types),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT, rsa_export),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, rsa_key_types),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GET_PARAMS, rsa_get_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, rsa_gettable_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_DUP, rsa_dup),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, rsa_query_operation_name),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_INIT, rsa_gen_init),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, rsa_gen_set_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, rsa_gen_settable_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN, rsa_gen),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, rsa_gen_cleanup),
    {0, nullptr}};

}  // namespace gputls::host
