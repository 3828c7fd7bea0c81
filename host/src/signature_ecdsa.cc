// ECDSA on every named curve (P-256 / P-384 on the engine, the others in
// the provider's own OpenSSL context): the provider hashes, the engine signs the digest
// (r || s), the provider DER-encodes it; verification runs in the provider's
// own OpenSSL context (public-key work stays on the CPU).
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <vector>

#include "ec_key.h"
#include "digest_signature.h"
#include "provider.h"

namespace gputls::host {
namespace {

struct SigCtx {
  ProvCtx* pc;
  EcKey* key = nullptr;
  bool signing = true;
  EVP_MD* md = nullptr;
  EVP_MD_CTX* mdctx = nullptr;  // digest_sign/verify

  ~SigCtx() {
    EVP_MD_free(md);
    EVP_MD_CTX_free(mdctx);
  }
};

bool set_md(SigCtx* c, const char* name) {
  EVP_MD* md = fetch_md(c->pc, name);
  if (!md) return false;
  const int size = EVP_MD_get_size(md);
  if (size <= 0 || size > 64 || (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF)) {  // what the engine signs
    EVP_MD_free(md);
    return false;
  }
  EVP_MD_free(c->md);
  c->md = md;
  return true;
}

void* sig_newctx(void* provctx, const char*) { return new SigCtx{static_cast<ProvCtx*>(provctx)}; }
void sig_freectx(void* ctx) { delete static_cast<SigCtx*>(ctx); }

void* sig_dupctx(void* ctx) {
  auto* c = static_cast<SigCtx*>(ctx);
  auto* d = new SigCtx{c->pc, c->key, c->signing};
  if (c->md && !EVP_MD_up_ref(c->md)) {
    delete d;
    return nullptr;
  }
  d->md = c->md;
  if (c->mdctx && (!(d->mdctx = EVP_MD_CTX_new()) || !EVP_MD_CTX_copy_ex(d->mdctx, c->mdctx))) {
    delete d;
    return nullptr;
  }
  return d;
}

int sig_set_ctx_params(void* ctx, const OSSL_PARAM params[]) {
  auto* c = static_cast<SigCtx*>(ctx);
  if (!params) return 1;
  const OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST))) {
    const char* name = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !set_md(c, name)) return 0;
  }
  return 1;
}

const OSSL_PARAM* sig_settable_ctx_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, nullptr, 0),
                                         OSSL_PARAM_END};
  return kSettable;
}

int sig_get_ctx_params(void* ctx, OSSL_PARAM params[]) {
  auto* c = static_cast<SigCtx*>(ctx);
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) &&
      !OSSL_PARAM_set_utf8_string(p, c->md ? EVP_MD_get0_name(c->md) : ""))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST_SIZE)) &&
      !OSSL_PARAM_set_size_t(p, c->md ? static_cast<size_t>(EVP_MD_get_size(c->md)) : 0))
    return 0;
  return 1;
}

const OSSL_PARAM* sig_gettable_ctx_params(void*, void*) {
  static const OSSL_PARAM kGettable[] = {OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
                                         OSSL_PARAM_size_t(OSSL_SIGNATURE_PARAM_DIGEST_SIZE, nullptr),
                                         OSSL_PARAM_END};
  return kGettable;
}

int init(void* ctx, void* key, const OSSL_PARAM params[], bool signing) {
  auto* c = static_cast<SigCtx*>(ctx);
  c->key = static_cast<EcKey*>(key);
  c->signing = signing;
  if (!c->key || !c->key->curve || (signing && !c->key->has_private) || (!signing && !c->key->has_public)) return 0;
  return sig_set_ctx_params(ctx, params);
}
int sig_sign_init(void* ctx, void* key, const OSSL_PARAM params[]) { return init(ctx, key, params, true); }
int sig_verify_init(void* ctx, void* key, const OSSL_PARAM params[]) { return init(ctx, key, params, false); }

// Sign a digest (of c->md's size when a digest is set): DER ECDSA-Sig-Value,
// at most the key's max-size.
int sig_sign(void* ctx, unsigned char* sig, size_t* siglen, size_t sigsize, const unsigned char* tbs,
             size_t tbslen) {
  auto* c = static_cast<SigCtx*>(ctx);
  const EcCurve& curve = *c->key->curve;
  const size_t max = static_cast<size_t>(curve.max_sig_size);
  if (!sig) {
    *siglen = max;
    return 1;
  }
  if (sigsize < max) return 0;
  if (c->md && tbslen != static_cast<size_t>(EVP_MD_get_size(c->md))) return 0;
  uint8_t rs[2 * kEcMaxOrderBytes];
  if (!ec_sign(c->key, tbs, tbslen, rs)) return 0;
  const int n = static_cast<int>(curve.order_bytes);
  ECDSA_SIG* s = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(rs, n, nullptr);
  BIGNUM* sv = BN_bin2bn(rs + n, n, nullptr);
  int len = 0;
  if (s && r && sv && ECDSA_SIG_set0(s, r, sv) == 1) {
    r = sv = nullptr;  // owned by s now
    unsigned char* out = sig;
    len = i2d_ECDSA_SIG(s, &out);
  }
  BN_free(r);
  BN_free(sv);
  ECDSA_SIG_free(s);
  if (len <= 0 || static_cast<size_t>(len) > max) return 0;
  *siglen = static_cast<size_t>(len);
  return 1;
}

int sig_verify(void* ctx, const unsigned char* sig, size_t siglen, const unsigned char* tbs, size_t tbslen) {
  auto* c = static_cast<SigCtx*>(ctx);
  EVP_PKEY* pkey = ec_sw_pkey(c->key, false);
  EVP_PKEY_CTX* v = pkey ? EVP_PKEY_CTX_new_from_pkey(c->pc->sw, pkey, nullptr) : nullptr;
  bool ok = v && EVP_PKEY_verify_init(v) == 1 && (!c->md || EVP_PKEY_CTX_set_signature_md(v, c->md) == 1) &&
            EVP_PKEY_verify(v, sig, siglen, tbs, tbslen) == 1;
  EVP_PKEY_CTX_free(v);
  EVP_PKEY_free(pkey);
  c->pc->stats[ProvOp::kEcdsaVerify].sw.fetch_add(1);
  return ok ? 1 : 0;
}

// The digest_sign/verify functions, shared with the other signature schemes.
using Digest = DigestSignature<SigCtx, init, set_md, sig_sign, sig_verify>;

}  // namespace

const OSSL_DISPATCH kEcdsaSignature[] = {
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_NEWCTX, sig_newctx),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_FREECTX, sig_freectx),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DUPCTX, sig_dupctx),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_SIGN_INIT, sig_sign_init),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_SIGN, sig_sign),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_VERIFY_INIT, sig_verify_init),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_VERIFY, sig_verify),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, Digest::sign_init),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, Digest::update),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, Digest::sign_final),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, Digest::verify_init),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, Digest::update),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, Digest::verify_final),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, sig_get_ctx_params),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, sig_gettable_ctx_params),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, sig_set_ctx_params),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, sig_settable_ctx_params),
    {0, nullptr}};

}  // namespace gputls::host
