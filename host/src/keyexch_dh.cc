// Finite-field DH key exchange: the shared value y^x mod p is one engine
// operation. The peer's y must satisfy 1 < y < p-1 and share our p and g.
// Output: padded to the prime's length when the `pad` parameter is set
// (libssl sets it for TLS 1.3), else leading zero bytes stripped as PKCS#3
// and TLS 1.2 (RFC 5246 8.1.2) want; the same default as OpenSSL's DH.
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include <cstring>

#include "dh_key.h"
#include "provider.h"

namespace gputls::host {
namespace {

struct KexCtx {
  ProvCtx* pc;
  DhKey* key = nullptr;
  DhKey* peer = nullptr;
  bool pad = false;
};

void* dx_newctx(void* provctx) { return new KexCtx{static_cast<ProvCtx*>(provctx)}; }
void dx_freectx(void* ctx) { delete static_cast<KexCtx*>(ctx); }
void* dx_dupctx(void* ctx) { return new KexCtx(*static_cast<KexCtx*>(ctx)); }

int dx_set_ctx_params(void* ctx, const OSSL_PARAM params[]) {
  auto* c = static_cast<KexCtx*>(ctx);
  const OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_PAD))) {
    unsigned int pad = 0;
    if (!OSSL_PARAM_get_uint(p, &pad)) return 0;
    c->pad = pad != 0;
  }
  // Plain DH only: no X9.42 KDF.
  if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE))) {
    const char* kdf = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &kdf) || (kdf && *kdf)) return 0;
  }
  return 1;
}

const OSSL_PARAM* dx_settable_ctx_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_uint(OSSL_EXCHANGE_PARAM_PAD, nullptr),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, nullptr, 0),
                                         OSSL_PARAM_END};
  return kSettable;
}

int dx_init(void* ctx, void* key, const OSSL_PARAM params[]) {
  auto* c = static_cast<KexCtx*>(ctx);
  c->key = static_cast<DhKey*>(key);
  c->pad = false;
  if (!c->key || !c->key->has_private || c->key->params.empty()) return 0;
  return dx_set_ctx_params(c, params);
}

int dx_set_peer(void* ctx, void* peer) {
  auto* c = static_cast<KexCtx*>(ctx);
  auto* p = static_cast<DhKey*>(peer);
  if (!c->key || !p || !p->has_public || !p->params.same_group(c->key->params)) return 0;
  c->peer = p;
  return 1;
}

int dx_derive(void* ctx, unsigned char* secret, size_t* secretlen, size_t outlen) {
  auto* c = static_cast<KexCtx*>(ctx);
  if (!c->key) return 0;
  const size_t len = c->key->params.bytes();
  if (!secret) {
    *secretlen = len;
    return 1;
  }
  if (!c->peer || outlen < len) return 0;
  const DhBytes& y = c->peer->pub;
  if (y.size() != len || !dh_public_in_range(c->key->params, y.data(), y.size())) {
    c->pc->stats[ProvOp::kDhDerive].failed.fetch_add(1);
    return 0;
  }
  if (!dh_modexp(c->key, ProvOp::kDhDerive, y.data(), secret)) return 0;
  size_t n = len;
  if (!c->pad) {
    size_t zeros = 0;
    while (zeros < len && secret[zeros] == 0) ++zeros;
    n = len - zeros;
    std::memmove(secret, secret + zeros, n);
    OPENSSL_cleanse(secret + n, zeros);
  }
  *secretlen = n;
  return 1;
}

}  // namespace

const OSSL_DISPATCH kDhKeyexch[] = {
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_NEWCTX, dx_newctx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_FREECTX, dx_freectx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_DUPCTX, dx_dupctx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_INIT, dx_init),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SET_PEER, dx_set_peer),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_DERIVE, dx_derive),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, dx_set_ctx_params),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, dx_settable_ctx_params),
    {0, nullptr}};

}  // namespace gputls::host
