// EC key management, named like the default provider's EC, for every named
// curve OpenSSL has (as the default's EC keymgmt): P-256 and P-384 on the
// engine, the rest on OpenSSL's arithmetic in the provider's own context.
// Key generation is one engine operation (public = d*G); a TLS 1.3 peer key
// is a parameters-only key (gen with a group name, no key-pair selection)
// plus encoded-pub-key; a TLS 1.2 peer key is a dup of our parameters
// (copy-parameters) plus encoded-pub-key. Points arriving from outside are
// decoded and checked on the curve by OpenSSL in the provider's own context,
// and kept uncompressed. Explicit (unnamed) curve parameters are refused
// with an error saying so.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <cstring>

#include "ec_key.h"
#include "prov_err.h"
#include "provider.h"

namespace gputls::host {
namespace {

constexpr int kPub = OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
constexpr int kPriv = OSSL_KEYMGMT_SELECT_PRIVATE_KEY;
constexpr int kParams = OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;

void* ek_new(void* provctx) { return new EcKey(static_cast<ProvCtx*>(provctx)); }
void ek_free(void* key) { delete static_cast<EcKey*>(key); }

int ek_has(const void* keydata, int selection) {
  auto* k = static_cast<const EcKey*>(keydata);
  if (!k) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) && !k->curve) return 0;
  if ((selection & kPub) && !k->has_public) return 0;
  if ((selection & kPriv) && !k->has_private) return 0;
  return 1;
}

// As OpenSSL's EC match: a key pair compares public points (private scalars
// when there is no public selection), parameters compare the curve.
int ek_match(const void* a, const void* b, int selection) {
  auto* x = static_cast<const EcKey*>(a);
  auto* y = static_cast<const EcKey*>(b);
  if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) && x->curve != y->curve) return 0;
  if (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) {
    if (x->curve != y->curve) return 0;
    if (selection & kPub) {
      if (!x->has_public || !y->has_public || x->pub != y->pub) return 0;
    } else if (!x->has_private || !y->has_private || x->priv.size() != y->priv.size() ||
               CRYPTO_memcmp(x->priv.data(), y->priv.data(), x->priv.size()) != 0) {
      return 0;
    }
  }
  return 1;
}

bool set_pub(EcKey* k, const OSSL_PARAM* p) {
  const void* data = nullptr;
  size_t len = 0;
  if (!k->curve || !OSSL_PARAM_get_octet_string_ptr(p, &data, &len)) return false;
  // The point at infinity (its one-byte encoding) is taken, as the default's
  // EC_KEY_oct2key takes it, and refused by the public check (so by
  // EVP_PKEY_derive_set_peer) and by ECDH, as there.
  if (len == 1 && static_cast<const uint8_t*>(data)[0] == 0x00) {
    k->pub.assign(1, 0x00);
    k->has_public = true;
    return true;
  }
  if (!ec_decode_point(k->pc, *k->curve, static_cast<const uint8_t*>(data), len, &k->pub)) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls EC: public key (%zu bytes) is not a point on %s", len,
             k->curve->group);
    return false;
  }
  k->has_public = true;
  return true;
}

// The curve from "group". Explicit parameters (p, a, b, generator, ...)
// without a name we serve are refused.
bool read_curve(EcKey* k, const OSSL_PARAM params[]) {
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
  if (!p) {
    if (!k->curve)
      GT_RAISE(ERR_R_UNSUPPORTED, "gputls EC: no group name (explicit curve parameters are not served by gputls)");
    return k->curve != nullptr;
  }
  const char* name = nullptr;
  const EcCurve* c = OSSL_PARAM_get_utf8_string_ptr(p, &name) ? ec_curve_by_name(name) : nullptr;
  if (!c) {
    GT_RAISE(ERR_R_UNSUPPORTED, "gputls EC: group \"%s\" is not a named curve OpenSSL knows", name ? name : "?");
    return false;
  }
  if (k->curve && k->curve != c) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls EC: group %s does not match the key's %s", c->group, k->curve->group);
    return false;
  }
  k->curve = c;
  return true;
}

// use-cofactor-flag (EC_FLAG_COFACTOR_ECDH), as the default's EC keymgmt takes it.
bool read_cofactor_flag(const OSSL_PARAM params[], bool* flag) {
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_USE_COFACTOR_ECDH);
  int v = 0;
  if (!p) return true;
  if (!OSSL_PARAM_get_int(p, &v)) return false;
  *flag = v != 0;
  return true;
}

// Imported private keys without a public point get one computed (by the
// engine). point-format, encoding, use-cofactor-flag, group-check and
// decoded-from-explicit, as the default provider exports them, change
// nothing here and are ignored; use-cofactor-flag is kept for ECDH.
int ek_import(void* keydata, int selection, const OSSL_PARAM params[]) {
  auto* k = static_cast<EcKey*>(keydata);
  if (!k || !(selection & (kParams | OSSL_KEYMGMT_SELECT_KEYPAIR))) return 0;
  if (!read_curve(k, params)) return 0;
  if (k->curve->nid == NID_sm2) {  // as the default's EC import (common_check_sm2)
    GT_RAISE(ERR_R_UNSUPPORTED, "gputls EC: SM2-curve keys are imported as the SM2 key type, not EC");
    return 0;
  }
  if (!read_cofactor_flag(params, &k->use_cofactor)) return 0;
  const OSSL_PARAM* p;
  if ((selection & kPriv) && (p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY))) {
    BIGNUM* b = nullptr;
    if (!OSSL_PARAM_get_BN(p, &b)) return 0;
    engine::SecureBytes raw(static_cast<size_t>(BN_num_bytes(b)), 0);
    if (!raw.empty()) BN_bn2bin(b, raw.data());
    BN_clear_free(b);
    if (!ec_set_private(*k->curve, raw.data(), raw.size(), &k->priv)) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls EC: private scalar outside 1 <= d < n for %s", k->curve->group);
      return 0;
    }
    k->has_private = true;
  }
  if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) && (p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY)) &&
      !set_pub(k, p))
    return 0;
  if (k->has_private && !k->has_public && !ec_make_public(k)) return 0;
  return 1;
}

const OSSL_PARAM* ek_key_types(int) {
  static const OSSL_PARAM kTypes[] = {
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_GROUP_CHECK_TYPE, nullptr, 0),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_USE_COFACTOR_ECDH, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS, nullptr),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, nullptr, 0),
      OSSL_PARAM_END};
  return kTypes;
}

int ek_export(void* keydata, int selection, OSSL_CALLBACK* cb, void* cbarg) {
  auto* k = static_cast<EcKey*>(keydata);
  if (!k || !k->curve) return 0;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BIGNUM* d = nullptr;
  // The curve always goes along: an EC key means nothing without it.
  bool ok = bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, k->curve->group, 0) &&
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_GROUP, 0) &&
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                            OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED, 0) &&
            OSSL_PARAM_BLD_push_int(bld, OSSL_PKEY_PARAM_USE_COFACTOR_ECDH, k->use_cofactor ? 1 : 0);
  if (ok && (selection & kPub) && k->has_public)
    ok = OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, k->pub.data(), k->pub.size());
  if (ok && (selection & kPriv) && k->has_private) {
    d = BN_bin2bn(k->priv.data(), static_cast<int>(k->priv.size()), BN_secure_new());
    ok = d && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
  }
  OSSL_PARAM* params = ok ? OSSL_PARAM_BLD_to_param(bld) : nullptr;
  int r = params ? cb(params, cbarg) : 0;
  OSSL_PARAM_free(params);
  BN_clear_free(d);
  OSSL_PARAM_BLD_free(bld);
  return r;
}

int ek_get_params(void* keydata, OSSL_PARAM params[]) {
  auto* k = static_cast<EcKey*>(keydata);
  const EcCurve* c = k->curve;
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) && (!c || !OSSL_PARAM_set_int(p, static_cast<int>(c->bits))))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) && (!c || !OSSL_PARAM_set_int(p, c->security_bits)))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) && (!c || !OSSL_PARAM_set_int(p, c->max_sig_size)))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST)) && !OSSL_PARAM_set_utf8_string(p, "SHA256"))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_GROUP_NAME)) && (!c || !OSSL_PARAM_set_utf8_string(p, c->group)))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_EC_ENCODING)) &&
      !OSSL_PARAM_set_utf8_string(p, OSSL_PKEY_EC_ENCODING_GROUP))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT)) &&
      !OSSL_PARAM_set_utf8_string(p, OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_USE_COFACTOR_ECDH)) && !OSSL_PARAM_set_int(p, k->use_cofactor ? 1 : 0))
    return 0;
  for (const char* name : {OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, OSSL_PKEY_PARAM_PUB_KEY}) {
    if ((p = OSSL_PARAM_locate(params, name)) &&
        (!k->has_public || !OSSL_PARAM_set_octet_string(p, k->pub.data(), k->pub.size())))
      return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY))) {
    if (!k->has_private) return 0;
    BIGNUM* d = BN_bin2bn(k->priv.data(), static_cast<int>(k->priv.size()), BN_secure_new());
    const bool ok = d && OSSL_PARAM_set_BN(p, d);
    BN_clear_free(d);
    if (!ok) return 0;
  }
  return 1;
}

const OSSL_PARAM* ek_gettable_params(void*) {
  static const OSSL_PARAM kGettable[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, nullptr, 0),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_USE_COFACTOR_ECDH, nullptr),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, nullptr, 0),
      OSSL_PARAM_END};
  return kGettable;
}

// encoded-pub-key: any SEC1 encoding, checked on the curve, kept uncompressed.
int ek_set_params(void* keydata, const OSSL_PARAM params[]) {
  auto* k = static_cast<EcKey*>(keydata);
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
  if (p && !set_pub(k, p)) return 0;
  return 1;
}

const OSSL_PARAM* ek_settable_params(void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
                                         OSSL_PARAM_END};
  return kSettable;
}

// As OpenSSL's EC dup: the curve always, key halves as selected.
void* ek_dup(const void* keydata, int selection) {
  auto* k = static_cast<const EcKey*>(keydata);
  auto* d = new EcKey(k->pc);
  d->curve = k->curve;
  d->use_cofactor = k->use_cofactor;
  if ((selection & kPub) && k->has_public) {
    d->pub = k->pub;
    d->has_public = true;
  }
  if ((selection & kPriv) && k->has_private) {
    d->priv = k->priv;
    d->has_private = true;
  }
  return d;
}

// EVP_PKEY_public_check and friends (EVP_PKEY_derive_set_peer runs the public
// check on the peer). A public point is validated once, where it enters the
// provider: set_pub decodes it with ec_decode_point (coordinates < p, on the
// curve, not infinity; cofactor 1, so that is the full check), and the only
// other ways pub is set are dup (a copy) and keygen (d G computed here). So a
// key with has_public holds a valid point; decoding it again on every derive
// would repeat the same check. The engine validates the raw bytes it is given
// in its own right (CPU backend: the import; GPU: the kernel's decode_point).
// On a curve with a cofactor the full check (not the quick one) also asks
// n*Q = infinity, as the default's ossl_ec_key_public_check. The scalar's
// range is checked.
int ek_validate(const void* keydata, int selection, int checktype) {
  auto* k = static_cast<const EcKey*>(keydata);
  if (!k || !k->curve) return 0;
  if ((selection & kPub) && (!k->has_public || k->pub.size() != k->curve->point_bytes() || k->pub[0] != 0x04)) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls EC: key check failed: no public point (or the point at infinity)");
    return 0;
  }
  if ((selection & kPub) && checktype != OSSL_KEYMGMT_VALIDATE_QUICK_CHECK && !ec_public_in_subgroup(k)) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls EC: public point not in the subgroup of order n on %s",
             k->curve->group);
    return 0;
  }
  if (selection & kPriv) {
    engine::SecureBytes again;
    if (!k->has_private || !ec_set_private(*k->curve, k->priv.data(), k->priv.size(), &again)) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls EC: key check failed: private scalar missing or outside 1 <= d < n");
      return 0;
    }
  }
  return 1;
}

const char* ek_query_operation_name(int operation_id) {
  switch (operation_id) {
    case OSSL_OP_KEYEXCH: return "ECDH";
    case OSSL_OP_SIGNATURE: return "ECDSA";
    default: return nullptr;
  }
}

struct EGen {
  ProvCtx* pc;
  int selection;
  const EcCurve* curve;  // from a group name or a template
  bool use_cofactor;
};

// A name OpenSSL does not know as a curve is refused (with the reason on the
// error queue); the other parameters the default provider takes (encoding,
// point-format, ...) change nothing here.
int ek_gen_set_params(void* genctx, const OSSL_PARAM params[]) {
  auto* g = static_cast<EGen*>(genctx);
  if (!read_cofactor_flag(params, &g->use_cofactor)) return 0;
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
  if (!p) return 1;
  const char* name = nullptr;
  const EcCurve* c = OSSL_PARAM_get_utf8_string_ptr(p, &name) ? ec_curve_by_name(name) : nullptr;
  if (!c) {
    GT_RAISE(ERR_R_UNSUPPORTED, "gputls EC: group \"%s\" is not a named curve OpenSSL knows", name ? name : "?");
    return 0;
  }
  g->curve = c;
  return 1;
}

void* ek_gen_init(void* provctx, int selection, const OSSL_PARAM params[]) {
  auto* g = new EGen{static_cast<ProvCtx*>(provctx), selection, nullptr, false};
  if (!ek_gen_set_params(g, params)) {
    delete g;
    return nullptr;
  }
  return g;
}

int ek_gen_set_template(void* genctx, void* templ) {
  auto* g = static_cast<EGen*>(genctx);
  auto* t = static_cast<EcKey*>(templ);
  if (!g || !t || !t->curve) return 0;
  g->curve = t->curve;
  g->use_cofactor = t->use_cofactor;
  return 1;
}

const OSSL_PARAM* ek_gen_settable_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, nullptr, 0),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_USE_COFACTOR_ECDH, nullptr),
      OSSL_PARAM_END};
  return kSettable;
}

// Parameters only (a TLS 1.3 peer-key shell) cost nothing; a key pair costs
// one engine operation.
void* ek_gen(void* genctx, OSSL_CALLBACK*, void*) {
  auto* g = static_cast<EGen*>(genctx);
  if (!g->curve) {  // no group name, no template
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls EC: key generation without a group name or template");
    return nullptr;
  }
  if (g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) {
    if (EcKey* ready = ec_take_ready(g->pc, g->curve)) {
      ready->use_cofactor = g->use_cofactor;
      return ready;
    }
  }
  auto* k = new EcKey(g->pc);
  k->curve = g->curve;
  k->use_cofactor = g->use_cofactor;
  if (!(g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) return k;
  k->has_private = ec_random_private(g->pc, *k->curve, &k->priv);
  // A job paused in ec_make_public and never resumed frees k from its wait
  // ctx's cleanup (the private key wiped, the engine slot freed).
  AbandonGuard guard([](void* p) { delete static_cast<EcKey*>(p); }, k);
  const bool ok = k->has_private && ec_make_public(k);
  ec_refill_after_miss(g->pc, k->curve);
  if (!ok) {
    delete k;
    return nullptr;
  }
  return k;
}
void ek_gen_cleanup(void* genctx) { delete static_cast<EGen*>(genctx); }

}  // namespace

const OSSL_DISPATCH kEcKeymgmt[] = {
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_NEW, ek_new),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_FREE, ek_free),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_HAS, ek_has),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_MATCH, ek_match),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_VALIDATE, ek_validate),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT, ek_import),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, ek_key_types),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT, ek_export),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, ek_key_types),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GET_PARAMS, ek_get_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, ek_gettable_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_SET_PARAMS, ek_set_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, ek_settable_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_DUP, ek_dup),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, ek_query_operation_name),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_INIT, ek_gen_init),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE, ek_gen_set_template),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, ek_gen_set_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, ek_gen_settable_params),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN, ek_gen),
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, ek_gen_cleanup),
    {0, nullptr}};

}  // namespace gputls::host
