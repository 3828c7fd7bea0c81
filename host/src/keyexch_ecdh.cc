// ECDH on P-256 / P-384: the shared value x(d*Q) is one engine operation with
// our private key and the peer's point (validated once by keymgmt when it
// arrived, kept uncompressed; the engine checks the bytes it is given in its
// own right: the import on the CPU, decode_point in the kernel). The output is the x
// coordinate padded to the field's length (RFC 8446 7.4.2, RFC 4492 5.10).
// Cofactor mode changes nothing (cofactor 1); no X9.63 KDF.
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include <cstring>
#include <vector>

#include "ec_key.h"
#include "provider.h"

namespace gputls::host {
namespace {

struct KexCtx {
  ProvCtx* pc;
  EcKey* key = nullptr;
  EcKey* peer = nullptr;
};

void* ex_newctx(void* provctx) { return new KexCtx{static_cast<ProvCtx*>(provctx)}; }
void ex_freectx(void* ctx) { delete static_cast<KexCtx*>(ctx); }
void* ex_dupctx(void* ctx) { return new KexCtx(*static_cast<KexCtx*>(ctx)); }

int ex_set_ctx_params(void*, const OSSL_PARAM params[]) {
  const OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE))) {
    int mode = 0;
    if (!OSSL_PARAM_get_int(p, &mode) || mode < -1 || mode > 1) return 0;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE))) {
    const char* kdf = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &kdf) || (kdf && *kdf)) return 0;
  }
  return 1;
}

const OSSL_PARAM* ex_settable_ctx_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, nullptr),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, nullptr, 0),
                                         OSSL_PARAM_END};
  return kSettable;
}

int ex_get_ctx_params(void*, OSSL_PARAM params[]) {
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE)) && !OSSL_PARAM_set_int(p, 0))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_TYPE)) && !OSSL_PARAM_set_utf8_string(p, ""))
    return 0;
  return 1;
}

const OSSL_PARAM* ex_gettable_ctx_params(void*, void*) {
  static const OSSL_PARAM kGettable[] = {OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, nullptr),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, nullptr, 0),
                                         OSSL_PARAM_END};
  return kGettable;
}

int ex_init(void* ctx, void* key, const OSSL_PARAM params[]) {
  auto* c = static_cast<KexCtx*>(ctx);
  c->key = static_cast<EcKey*>(key);
  c->peer = nullptr;
  if (!c->key || !c->key->has_private || !c->key->curve) return 0;
  return ex_set_ctx_params(c, params);
}

int ex_set_peer(void* ctx, void* peer) {
  auto* c = static_cast<KexCtx*>(ctx);
  auto* p = static_cast<EcKey*>(peer);
  if (!c->key || !p || !p->has_public || p->curve != c->key->curve) return 0;
  c->peer = p;
  return 1;
}

// As OpenSSL's ECDH: a shorter buffer gets the leading bytes.
int ex_derive(void* ctx, unsigned char* secret, size_t* secretlen, size_t outlen) {
  auto* c = static_cast<KexCtx*>(ctx);
  if (!c->key || !c->key->curve) return 0;
  const size_t len = c->key->curve->bytes;
  if (!secret) {
    *secretlen = len;
    return 1;
  }
  if (!c->peer || outlen == 0) return 0;
  const std::vector<uint8_t>& q = c->peer->pub;
  uint8_t full[48];
  uint8_t* out = outlen >= len ? secret : full;
  if (!ec_derive(c->key, q.data(), q.size(), out)) return 0;
  const size_t n = outlen < len ? outlen : len;
  if (out == full) {
    std::memcpy(secret, full, n);
    OPENSSL_cleanse(full, sizeof full);
  }
  *secretlen = n;
  return 1;
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
