// The KEM operation of the ML-KEM TLS groups (mlkem_key.h): encapsulate on
// the server (ciphertext = the server's share), decapsulate on the client.
// Called with a null output first for the sizes, as libssl does.
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "engine_call.h"
#include "mlkem_key.h"
#include "prov_err.h"

namespace gputls::host {
namespace {

struct KemCtx {
  ProvCtx* pc;
  MlkemKey* key = nullptr;  // owned by the EVP_PKEY
};

void* kem_newctx(void* provctx) { return new KemCtx{static_cast<ProvCtx*>(provctx)}; }
void kem_freectx(void* ctx) { delete static_cast<KemCtx*>(ctx); }
void* kem_dupctx(void* ctx) { return new KemCtx(*static_cast<KemCtx*>(ctx)); }

int kem_init(void* ctx, void* provkey, const OSSL_PARAM*) {
  auto* c = static_cast<KemCtx*>(ctx);
  c->key = static_cast<MlkemKey*>(provkey);
  return c->key != nullptr;
}

int kem_encapsulate(void* ctx, unsigned char* out, size_t* outlen, unsigned char* secret, size_t* secretlen) {
  auto* c = static_cast<KemCtx*>(ctx);
  const MlkemGroup& g = *c->key->group;
  if (out == nullptr) {
    if (outlen) *outlen = g.server_share;
    if (secretlen) *secretlen = g.secret;
    return 1;
  }
  if (!secret || (outlen && *outlen < g.server_share) || (secretlen && *secretlen < g.secret)) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: output buffers too small", g.name);
    return 0;
  }
  if (!mlkem_encapsulate(c->key, out, secret)) {
    GT_RAISE(ERR_R_OPERATION_FAIL, "gputls %s: encapsulation failed", g.name);
    return 0;
  }
  if (outlen) *outlen = g.server_share;
  if (secretlen) *secretlen = g.secret;
  return 1;
}

int kem_decapsulate(void* ctx, unsigned char* out, size_t* outlen, const unsigned char* in, size_t inlen) {
  auto* c = static_cast<KemCtx*>(ctx);
  const MlkemGroup& g = *c->key->group;
  if (out == nullptr) {
    if (outlen) *outlen = g.secret;
    return 1;
  }
  if (outlen && *outlen < g.secret) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: output buffer too small", g.name);
    return 0;
  }
  if (!mlkem_decapsulate(c->key, in, inlen, out)) {
    GT_RAISE(ERR_R_OPERATION_FAIL, "gputls %s: decapsulation failed", g.name);
    return 0;
  }
  if (outlen) *outlen = g.secret;
  return 1;
}

int kem_set_ctx_params(void*, const OSSL_PARAM*) { return 1; }
const OSSL_PARAM* kem_settable_ctx_params(void*, void*) {
  static const OSSL_PARAM kNone[] = {OSSL_PARAM_END};
  return kNone;
}

}  // namespace

const OSSL_DISPATCH kMlkemKem[] = {GT_DISPATCH(OSSL_FUNC_KEM_NEWCTX, kem_newctx),
                                   GT_DISPATCH(OSSL_FUNC_KEM_FREECTX, kem_freectx),
                                   GT_DISPATCH(OSSL_FUNC_KEM_DUPCTX, kem_dupctx),
                                   GT_DISPATCH(OSSL_FUNC_KEM_ENCAPSULATE_INIT, kem_init),
                                   GT_DISPATCH(OSSL_FUNC_KEM_ENCAPSULATE, kem_encapsulate),
                                   GT_DISPATCH(OSSL_FUNC_KEM_DECAPSULATE_INIT, kem_init),
                                   GT_DISPATCH(OSSL_FUNC_KEM_DECAPSULATE, kem_decapsulate),
                                   GT_DISPATCH(OSSL_FUNC_KEM_SET_CTX_PARAMS, kem_set_ctx_params),
                                   GT_DISPATCH(OSSL_FUNC_KEM_SETTABLE_CTX_PARAMS, kem_settable_ctx_params),
                                   {0, nullptr}};

}  // namespace gputls::host
