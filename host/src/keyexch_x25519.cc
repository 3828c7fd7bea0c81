// X25519 and X448 key exchange: the X25519 shared secret is one engine
// operation with our private key and the peer's public value, X448 runs in
// the provider's own OpenSSL context; all-zero results are refused.
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "prov_err.h"
#include "provider.h"
#include "x25519_key.h"

namespace gputls::host {
namespace {

struct KexCtx {
  ProvCtx* pc;
  X25519Key* key = nullptr;
  X25519Key* peer = nullptr;
};

void* kx_newctx(void* provctx) { return new KexCtx{static_cast<ProvCtx*>(provctx)}; }
void kx_freectx(void* ctx) { delete static_cast<KexCtx*>(ctx); }
void* kx_dupctx(void* ctx) { return new KexCtx(*static_cast<KexCtx*>(ctx)); }

int kx_init(void* ctx, void* key, const OSSL_PARAM[]) {
  auto* c = static_cast<KexCtx*>(ctx);
  c->key = static_cast<X25519Key*>(key);
  return c->key && c->key->has_private ? 1 : 0;
}

int kx_set_peer(void* ctx, void* peer) {
  auto* c = static_cast<KexCtx*>(ctx);
  c->peer = static_cast<X25519Key*>(peer);
  if (c->peer && c->peer->has_public && c->key && c->peer->type == c->key->type) return 1;
  GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls X25519/X448: the peer key has no public value or is of another type");
  return 0;
}

int kx_derive(void* ctx, unsigned char* secret, size_t* secretlen, size_t outlen) {
  auto* c = static_cast<KexCtx*>(ctx);
  if (!c->key) return 0;
  const size_t len = c->key->type->len;
  *secretlen = len;
  if (!secret) return 1;
  if (outlen < len || !c->peer) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: derive without a peer or into %zu bytes (%zu needed)",
             c->key->type->name, outlen, len);
    return 0;
  }
  return x25519_derive(c->key, c->peer->pub.data(), secret) ? 1 : 0;
}

int kx_set_ctx_params(void*, const OSSL_PARAM[]) { return 1; }
const OSSL_PARAM* kx_settable_ctx_params(void*, void*) {
  static const OSSL_PARAM kNone[] = {OSSL_PARAM_END};
  return kNone;
}

}  // namespace

const OSSL_DISPATCH kX448Keyexch[] = {
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_NEWCTX, kx_newctx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_FREECTX, kx_freectx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_DUPCTX, kx_dupctx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_INIT, kx_init),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SET_PEER, kx_set_peer),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_DERIVE, kx_derive),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, kx_set_ctx_params),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, kx_settable_ctx_params),
    {0, nullptr}};

const OSSL_DISPATCH kX25519Keyexch[] = {
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_NEWCTX, kx_newctx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_FREECTX, kx_freectx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_DUPCTX, kx_dupctx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_INIT, kx_init),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SET_PEER, kx_set_peer),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_DERIVE, kx_derive),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, kx_set_ctx_params),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, kx_settable_ctx_params),
    {0, nullptr}};

}  // namespace gputls::host
