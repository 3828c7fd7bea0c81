// ECDH on every named curve: the shared value x(d*Q) is one engine
// operation on P-256 / P-384 with our private key and the peer's point
// (validated once by keymgmt when it arrived, kept uncompressed; the engine
// checks the bytes it is given in its own right: the import on the CPU,
// decode_point in the kernel), and OpenSSL's arithmetic in the provider's
// own context on the other curves. The output is the x coordinate padded to
// the field's length (RFC 8446 7.4.2, RFC 4492 5.10). As the default
// provider's ecdh_exch.c: ecdh-cofactor-mode (-1: the key's
// use-cofactor-flag) multiplies by the cofactor on curves that have one, and
// kdf-type "X963KDF" (kdf-digest, kdf-outlen, kdf-ukm) runs the X9.63 KDF,
// fetched from the provider's own context, over the shared value.
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstring>
#include <vector>

#include "ec_key.h"
#include "kex_kdf.h"
#include "prov_err.h"
#include "provider.h"

namespace gputls::host {
namespace {

constexpr const char* kX963 = "X963KDF";  // OSSL_KDF_NAME_X963KDF

struct KexCtx {
  explicit KexCtx(ProvCtx* p) : pc(p) {}
  ProvCtx* pc;
  EcKey* key = nullptr;
  EcKey* peer = nullptr;
  int cofactor_mode = -1;  // -1: the key's use-cofactor-flag
  KexKdf kdf{"gputls ECDH", kX963, OSSL_KDF_PARAM_INFO};  // X9.63: the ukm is the KDF's info
};

void* ex_newctx(void* provctx) { return new KexCtx(static_cast<ProvCtx*>(provctx)); }
void ex_freectx(void* ctx) { delete static_cast<KexCtx*>(ctx); }
void* ex_dupctx(void* ctx) { return new KexCtx(*static_cast<KexCtx*>(ctx)); }

int ex_set_ctx_params(void* ctx, const OSSL_PARAM params[]) {
  auto* c = static_cast<KexCtx*>(ctx);
  if (!params) return 1;
  const OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE))) {
    int mode = 0;
    if (!OSSL_PARAM_get_int(p, &mode) || mode < -1 || mode > 1) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls ECDH: ecdh-cofactor-mode must be -1, 0 or 1");
      return 0;
    }
    c->cofactor_mode = mode;
  }
  return c->kdf.set_params(c->pc->sw, params) ? 1 : 0;
}

const OSSL_PARAM* ex_settable_ctx_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, nullptr),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS, nullptr, 0),
                                         OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, nullptr),
                                         OSSL_PARAM_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, nullptr, 0),
                                         OSSL_PARAM_END};
  return kSettable;
}

bool cofactor_on(const KexCtx* c) {
  return c->cofactor_mode == 1 || (c->cofactor_mode == -1 && c->key && c->key->use_cofactor);
}

int ex_get_ctx_params(void* ctx, OSSL_PARAM params[]) {
  auto* c = static_cast<KexCtx*>(ctx);
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE)) &&
      !OSSL_PARAM_set_int(p, cofactor_on(c) ? 1 : 0))
    return 0;
  return c->kdf.get_params(params) ? 1 : 0;
}

const OSSL_PARAM* ex_gettable_ctx_params(void*, void*) {
  static const OSSL_PARAM kGettable[] = {OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, nullptr),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, nullptr, 0),
                                         OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, nullptr),
                                         OSSL_PARAM_DEFN(OSSL_EXCHANGE_PARAM_KDF_UKM, OSSL_PARAM_OCTET_PTR, nullptr, 0),
                                         OSSL_PARAM_END};
  return kGettable;
}

int ex_init(void* ctx, void* key, const OSSL_PARAM params[]) {
  auto* c = static_cast<KexCtx*>(ctx);
  c->key = static_cast<EcKey*>(key);
  c->peer = nullptr;
  c->cofactor_mode = -1;
  c->kdf.off();
  if (!c->key || !c->key->has_private || !c->key->curve) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls ECDH: derive needs a key with a curve and a private scalar");
    return 0;
  }
  return ex_set_ctx_params(c, params);
}

int ex_set_peer(void* ctx, void* peer) {
  auto* c = static_cast<KexCtx*>(ctx);
  auto* p = static_cast<EcKey*>(peer);
  if (!c->key || !p || !p->has_public || p->curve != c->key->curve) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls ECDH: the peer key has no public point or is on another curve");
    return 0;
  }
  c->peer = p;
  return 1;
}

// As OpenSSL's ECDH: a shorter buffer gets the leading bytes.
int plain_derive(KexCtx* c, unsigned char* secret, size_t* secretlen, size_t outlen) {
  const size_t len = c->key->curve->bytes;
  if (!secret) {
    *secretlen = len;
    return 1;
  }
  if (outlen == 0) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls ECDH: empty output buffer");
    return 0;
  }
  const std::vector<uint8_t>& q = c->peer->pub;
  engine::SecureBytes full;
  uint8_t* out = secret;
  if (outlen < len) {
    full.assign(len, 0);
    out = full.data();
  }
  if (!ec_derive(c->key, q.data(), q.size(), out, cofactor_on(c))) {
    GT_RAISE(ERR_R_INTERNAL_ERROR, "gputls ECDH: the shared point on %s could not be computed (point at infinity?)",
             c->key->curve->group);
    return 0;
  }
  const size_t n = outlen < len ? outlen : len;
  if (out != secret) std::memcpy(secret, out, n);
  *secretlen = n;
  return 1;
}

// As the default provider's ecdh_X9_63_kdf_derive: the KDF over the shared value.
int x963_derive(KexCtx* c, unsigned char* secret, size_t* secretlen, size_t outlen) {
  if (!secret) {
    *secretlen = c->kdf.outlen();
    return 1;
  }
  if (!c->kdf.can_derive(outlen)) return 0;
  engine::SecureBytes z(c->key->curve->bytes, 0);
  size_t zlen = 0;
  if (!plain_derive(c, z.data(), &zlen, z.size()) || !c->kdf.derive(c->pc->sw, z.data(), zlen, secret, outlen))
    return 0;
  *secretlen = c->kdf.outlen();
  return 1;
}

int ex_derive(void* ctx, unsigned char* secret, size_t* secretlen, size_t outlen) {
  auto* c = static_cast<KexCtx*>(ctx);
  if (!c->key || !c->key->curve) return 0;
  if (secret && !c->peer) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls ECDH: derive without a peer key");
    return 0;
  }
  return c->kdf.on() ? x963_derive(c, secret, secretlen, outlen) : plain_derive(c, secret, secretlen, outlen);
}

}  // namespace

const OSSL_DISPATCH kEcdhKeyexch[] = {
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_NEWCTX, ex_newctx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_FREECTX, ex_freectx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_DUPCTX, ex_dupctx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_INIT, ex_init),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SET_PEER, ex_set_peer),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_DERIVE, ex_derive),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, ex_set_ctx_params),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, ex_settable_ctx_params),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_GET_CTX_PARAMS, ex_get_ctx_params),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_GETTABLE_CTX_PARAMS, ex_gettable_ctx_params),
    {0, nullptr}};

}  // namespace gputls::host
