// RSA key management: keys from the default provider are imported (libssl
// exports PEM-loaded keys to us when it fetches our signature or cipher),
// keys made here export, generation runs in the provider's own context.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <cstring>

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

int rsa_import(void* keydata, int selection, const OSSL_PARAM params[]) {
  auto* k = static_cast<RsaKey*>(keydata);
  if (!k || !(selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) return 0;
  auto& m = k->mat;
  if (!get_bn(params, OSSL_PKEY_PARAM_RSA_N, &m.n) || !get_bn(params, OSSL_PKEY_PARAM_RSA_E, &m.e)) return 0;
  k->has_public = true;
  // OpenSSL exports with SELECT_ALL whatever the key holds: a public key
  // (a certificate's, a peer's) comes without d and stays public here.
  if ((selection & kPriv) && OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D)) {
    if (!get_bn(params, OSSL_PKEY_PARAM_RSA_D, &m.d)) return 0;
    get_bn(params, OSSL_PKEY_PARAM_RSA_FACTOR1, &m.p);
    get_bn(params, OSSL_PKEY_PARAM_RSA_FACTOR2, &m.q);
    get_bn(params, OSSL_PKEY_PARAM_RSA_EXPONENT1, &m.dp);
    get_bn(params, OSSL_PKEY_PARAM_RSA_EXPONENT2, &m.dq);
    get_bn(params, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &m.qinv);
    // Factors beyond two make a multi-prime key, which the engine refuses.
    m.prime_count = m.p.empty() ? 0 : 2;
    if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_FACTOR3)) m.prime_count = 3;
    k->has_private = true;
  }
  BIGNUM* n = BN_bin2bn(m.n.data(), static_cast<int>(m.n.size()), nullptr);
  k->bits = n ? BN_num_bits(n) : 0;
  BN_free(n);
  return k->bits > 0;
}

#define RSA_KEY_PARAMS                                                                      \
  OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0), OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0), \
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_D, nullptr, 0),                                     \
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR1, nullptr, 0),                               \
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR2, nullptr, 0),                               \
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT1, nullptr, 0),                             \
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT2, nullptr, 0),                             \
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, nullptr, 0)

const OSSL_PARAM kKeyTypes[] = {RSA_KEY_PARAMS, OSSL_PARAM_END};
const OSSL_PARAM* rsa_key_types(int) { return kKeyTypes; }

int rsa_export(void* keydata, int selection, OSSL_CALLBACK* cb, void* cbarg) {
  auto* k = static_cast<RsaKey*>(keydata);
  if (!k || !(selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) return 0;
  const auto& m = k->mat;
  BnParams b;
  b.push(OSSL_PKEY_PARAM_RSA_N, m.n).push(OSSL_PKEY_PARAM_RSA_E, m.e);
  if ((selection & kPriv) && k->has_private) {
    b.push(OSSL_PKEY_PARAM_RSA_D, m.d);
    if (m.prime_count == 2)
      b.push(OSSL_PKEY_PARAM_RSA_FACTOR1, m.p)
          .push(OSSL_PKEY_PARAM_RSA_FACTOR2, m.q)
          .push(OSSL_PKEY_PARAM_RSA_EXPONENT1, m.dp)
          .push(OSSL_PKEY_PARAM_RSA_EXPONENT2, m.dq)
          .push(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, m.qinv);
  }
  OSSL_PARAM* params = b.build();
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
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST)) && !OSSL_PARAM_set_utf8_string(p, "SHA256"))
    return 0;
  for (auto [name, field] : {std::pair{OSSL_PKEY_PARAM_RSA_N, &k->mat.n}, {OSSL_PKEY_PARAM_RSA_E, &k->mat.e}}) {
    if ((p = OSSL_PARAM_locate(params, name))) {
      BIGNUM* bn = BN_bin2bn(field->data(), static_cast<int>(field->size()), nullptr);
      bool ok = bn && OSSL_PARAM_set_BN(p, bn);
      BN_free(bn);
      if (!ok) return 0;
    }
  }
  return 1;
}

const OSSL_PARAM* rsa_gettable_params(void*) {
  static const OSSL_PARAM kGettable[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr), OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0), OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
      OSSL_PARAM_END};
  return kGettable;
}

void* rsa_dup(const void* keydata, int selection) {
  auto* k = static_cast<const RsaKey*>(keydata);
  auto* d = new RsaKey(k->pc);
  d->bits = k->bits;
  if (selection & kPub) {
    d->mat.n = k->mat.n;
    d->mat.e = k->mat.e;
    d->has_public = k->has_public;
  }
  if ((selection & kPriv) && k->has_private) {
    d->mat = k->mat;
    d->has_private = true;
    d->has_public = k->has_public;
  }
  return d;
}

const char* rsa_query_operation_name(int) { return "RSA"; }

// Generation: done by the default provider in our own context, then imported.
struct RsaGen {
  ProvCtx* pc;
  int selection;
  size_t bits = 2048;
  BIGNUM* e = nullptr;
};

void* rsa_gen_init(void* provctx, int selection, const OSSL_PARAM params[]);
int rsa_gen_set_params(void* genctx, const OSSL_PARAM params[]) {
  auto* g = static_cast<RsaGen*>(genctx);
  const OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_BITS)) && !OSSL_PARAM_get_size_t(p, &g->bits))
    return 0;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_E)) && !OSSL_PARAM_get_BN(p, &g->e)) return 0;
  return 1;
}
void* rsa_gen_init(void* provctx, int selection, const OSSL_PARAM params[]) {
  auto* g = new RsaGen{static_cast<ProvCtx*>(provctx), selection};
  if (!rsa_gen_set_params(g, params)) {
    BN_free(g->e);
    delete g;
    return nullptr;
  }
  return g;
}
const OSSL_PARAM* rsa_gen_settable_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_BITS, nullptr),
                                         OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0), OSSL_PARAM_END};
  return kSettable;
}
int import_cb(const OSSL_PARAM params[], void* arg) {
  return rsa_import(arg, OSSL_KEYMGMT_SELECT_KEYPAIR, params);
}
void* rsa_gen(void* genctx, OSSL_CALLBACK*, void*) {
  auto* g = static_cast<RsaGen*>(genctx);
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(g->pc->sw, "RSA", nullptr);
  EVP_PKEY* pkey = nullptr;
  bool ok = c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(c, static_cast<int>(g->bits)) == 1 &&
            (!g->e || EVP_PKEY_CTX_set1_rsa_keygen_pubexp(c, g->e) == 1) && EVP_PKEY_generate(c, &pkey) == 1;
  EVP_PKEY_CTX_free(c);
  auto* k = ok ? new RsaKey(g->pc) : nullptr;
  if (k && EVP_PKEY_export(pkey, EVP_PKEY_KEYPAIR, import_cb, k) != 1) {
    delete k;
    k = nullptr;
  }
  EVP_PKEY_free(pkey);
  return k;
}
void rsa_gen_cleanup(void* genctx) {
  auto* g = static_cast<RsaGen*>(genctx);
  BN_free(g->e);
  delete g;
}

// RSA-PSS (id-RSASSA-PSS) keys: the same key material, used only for PSS
// signatures (libssl picks the rsa_pss_pss_* algorithms for them). A key that
// restricts its PSS parameters (digest, MGF1 digest, salt length) is refused
// here, so OpenSSL keeps it in the default provider, which enforces them;
// gputls does not track restrictions. No generation: an RSA-PSS key made
// with gputls preferred comes from the default provider.
int rsa_pss_import(void* keydata, int selection, const OSSL_PARAM params[]) {
  for (const char* restriction :
       {OSSL_PKEY_PARAM_RSA_DIGEST, OSSL_PKEY_PARAM_RSA_MGF1_DIGEST, OSSL_PKEY_PARAM_RSA_PSS_SALTLEN})
    if (OSSL_PARAM_locate_const(params, restriction)) return 0;
  return rsa_import(keydata, selection, params);
}

}  // namespace

const OSSL_DISPATCH kRsaPssKeymgmt[] = {
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_NEW, rsa_new),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_FREE, rsa_free),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_HAS, rsa_has),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_MATCH, rsa_match),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT, rsa_pss_import),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, rsa_key_types),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT, rsa_export),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, rsa_key_types),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GET_PARAMS, rsa_get_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, rsa_gettable_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_DUP, rsa_dup),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, rsa_query_operation_name),
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
