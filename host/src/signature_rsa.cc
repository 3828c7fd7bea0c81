// RSA signatures: PKCS#1 v1.5 and PSS, signing on the engine (the provider
// hashes and pads, the engine does the private-key operation), verifying in
// the provider's own OpenSSL context (public-key work stays on the CPU).
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <cstring>
#include <string>
#include <vector>

#include "digest_signature.h"
#include "provider.h"
#include "rsa_key.h"
#include "rsa_padding.h"

namespace gputls::host {
namespace {

struct SigCtx {
  ProvCtx* pc;
  RsaKey* key = nullptr;
  bool signing = true;
  int pad = RSA_PKCS1_PADDING;
  EVP_MD* md = nullptr;
  EVP_MD* mgf1 = nullptr;  // nullptr: same as md
  int saltlen = RSA_PSS_SALTLEN_AUTO;
  EVP_MD_CTX* mdctx = nullptr;  // digest_sign/verify

  ~SigCtx() {
    EVP_MD_free(md);
    EVP_MD_free(mgf1);
    EVP_MD_CTX_free(mdctx);
  }
};

bool set_md(SigCtx* c, EVP_MD** slot, const char* name) {
  EVP_MD* md = EVP_MD_fetch(c->pc->sw, name, nullptr);
  if (!md) return false;
  EVP_MD_free(*slot);
  *slot = md;
  return true;
}

void* sig_newctx(void* provctx, const char*) { return new SigCtx{static_cast<ProvCtx*>(provctx)}; }
void sig_freectx(void* ctx) { delete static_cast<SigCtx*>(ctx); }

void* sig_dupctx(void* ctx) {
  auto* c = static_cast<SigCtx*>(ctx);
  auto* d = new SigCtx{c->pc, c->key, c->signing, c->pad, nullptr, nullptr, c->saltlen};
  if ((c->md && !EVP_MD_up_ref(c->md)) || (c->mgf1 && !EVP_MD_up_ref(c->mgf1))) {
    delete d;
    return nullptr;
  }
  d->md = c->md;
  d->mgf1 = c->mgf1;
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
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !set_md(c, &c->md, name)) return 0;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE))) {
    int mode = 0;
    const char* s = nullptr;
    if (p->data_type == OSSL_PARAM_UTF8_STRING && OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
      mode = std::strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
             : std::strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0   ? RSA_PKCS1_PSS_PADDING
                                                                 : 0;
    } else if (!OSSL_PARAM_get_int(p, &mode)) {
      return 0;
    }
    if (mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_PSS_PADDING) return 0;  // only what TLS signs with
    c->pad = mode;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN))) {
    const char* s = nullptr;
    if (p->data_type == OSSL_PARAM_UTF8_STRING && OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
      if (std::strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0)
        c->saltlen = RSA_PSS_SALTLEN_DIGEST;
      else if (std::strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0)
        c->saltlen = RSA_PSS_SALTLEN_MAX;
      else if (std::strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0)
        c->saltlen = RSA_PSS_SALTLEN_AUTO;
      else
        c->saltlen = std::atoi(s);
    } else if (!OSSL_PARAM_get_int(p, &c->saltlen)) {
      return 0;
    }
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST))) {
    const char* name = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !set_md(c, &c->mgf1, name)) return 0;
  }
  return 1;
}

const OSSL_PARAM* sig_settable_ctx_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, nullptr, 0),
      OSSL_PARAM_END};
  return kSettable;
}

int sig_get_ctx_params(void* ctx, OSSL_PARAM params[]) {
  auto* c = static_cast<SigCtx*>(ctx);
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) &&
      !OSSL_PARAM_set_utf8_string(p, c->md ? EVP_MD_get0_name(c->md) : ""))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) && !OSSL_PARAM_set_int(p, c->pad)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) && !OSSL_PARAM_set_int(p, c->saltlen))
    return 0;
  return 1;
}

const OSSL_PARAM* sig_gettable_ctx_params(void*, void*) {
  static const OSSL_PARAM kGettable[] = {OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
                                         OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr),
                                         OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr), OSSL_PARAM_END};
  return kGettable;
}

int init(void* ctx, void* key, const OSSL_PARAM params[], bool signing) {
  auto* c = static_cast<SigCtx*>(ctx);
  c->key = static_cast<RsaKey*>(key);
  c->signing = signing;
  if (!c->key || (signing && !c->key->has_private) || (!signing && !c->key->has_public)) return 0;
  return sig_set_ctx_params(ctx, params);
}
int sig_sign_init(void* ctx, void* key, const OSSL_PARAM params[]) { return init(ctx, key, params, true); }
int sig_verify_init(void* ctx, void* key, const OSSL_PARAM params[]) { return init(ctx, key, params, false); }

// Sign a digest already computed with c->md (or raw for PKCS#1 without md).
int sig_sign(void* ctx, unsigned char* sig, size_t* siglen, size_t sigsize, const unsigned char* tbs,
             size_t tbslen) {
  auto* c = static_cast<SigCtx*>(ctx);
  const size_t k = rsa_bytes(c->key);
  *siglen = k;
  if (!sig) return 1;
  if (sigsize < k) return 0;
  std::vector<uint8_t> em(k);
  bool ok;
  if (c->pad == RSA_PKCS1_PSS_PADDING) {
    const EVP_MD* md = c->md;
    if (!md || tbslen != static_cast<size_t>(EVP_MD_get_size(md))) return 0;
    int salt = c->saltlen;
    if (salt == RSA_PSS_SALTLEN_DIGEST) salt = EVP_MD_get_size(md);
    if (salt == RSA_PSS_SALTLEN_MAX || salt == RSA_PSS_SALTLEN_AUTO) salt = pss_max_salt(md, c->key->bits);
    ok = emsa_pss_encode(c->pc->sw, md, c->mgf1 ? c->mgf1 : md, tbs, salt, c->key->bits, em.data(), k);
  } else {
    ok = c->md && emsa_pkcs1_v15_encode(c->md, tbs, tbslen, em.data(), k);
  }
  ok = ok && rsa_private_raw(c->key, ProvOp::kRsaSign, em.data(), sig, k);
  return ok ? 1 : 0;
}

int sig_verify(void* ctx, const unsigned char* sig, size_t siglen, const unsigned char* tbs, size_t tbslen) {
  auto* c = static_cast<SigCtx*>(ctx);
  EVP_PKEY* pkey = rsa_sw_pkey(c->key);
  EVP_PKEY_CTX* v = pkey ? EVP_PKEY_CTX_new_from_pkey(c->pc->sw, pkey, nullptr) : nullptr;
  bool ok = v && EVP_PKEY_verify_init(v) == 1 && EVP_PKEY_CTX_set_rsa_padding(v, c->pad) == 1 &&
            (!c->md || EVP_PKEY_CTX_set_signature_md(v, c->md) == 1);
  if (ok && c->pad == RSA_PKCS1_PSS_PADDING) {
    ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(v, c->saltlen) == 1 &&
         (!c->mgf1 || EVP_PKEY_CTX_set_rsa_mgf1_md(v, c->mgf1) == 1);
  }
  ok = ok && EVP_PKEY_verify(v, sig, siglen, tbs, tbslen) == 1;
  EVP_PKEY_CTX_free(v);
  c->pc->stats[ProvOp::kRsaVerify].sw.fetch_add(1);
  return ok ? 1 : 0;
}

// The digest_sign/verify functions, shared with the other signature schemes.
bool set_digest(SigCtx* c, const char* name) { return set_md(c, &c->md, name); }
using Digest = DigestSignature<SigCtx, init, set_digest, sig_sign, sig_verify>;

}  // namespace

const OSSL_DISPATCH kRsaSignature[] = {
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
