// RSA decryption for TLS RSA key exchange (pad mode 7, RSA_PKCS1_WITH_TLS_PADDING)
// and raw (pad mode none) on the engine; encryption (public) in the
// provider's own context. Other paddings (PKCS#1 v1.5 type 2, OAEP) are
// refused with an error: a decryption oracle-free version of them is not
// written yet, and TLS does not use them.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cstring>
#include <vector>

#include "provider.h"
#include "rsa_key.h"
#include "rsa_padding.h"

namespace gputls::host {
namespace {

struct CipherCtx {
  ProvCtx* pc;
  RsaKey* key = nullptr;
  int pad = RSA_PKCS1_PADDING;
  unsigned client_version = 0, alt_version = 0;
};

void* rc_newctx(void* provctx) { return new CipherCtx{static_cast<ProvCtx*>(provctx)}; }
void rc_freectx(void* ctx) { delete static_cast<CipherCtx*>(ctx); }
void* rc_dupctx(void* ctx) { return new CipherCtx(*static_cast<CipherCtx*>(ctx)); }

int rc_set_ctx_params(void* ctx, const OSSL_PARAM params[]) {
  auto* c = static_cast<CipherCtx*>(ctx);
  if (!params) return 1;
  const OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE))) {
    int mode = -1;
    const char* s = nullptr;
    if (p->data_type == OSSL_PARAM_UTF8_STRING && OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
      mode = std::strcmp(s, OSSL_PKEY_RSA_PAD_MODE_NONE) == 0 ? RSA_NO_PADDING
             : std::strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
                                                                  : -1;
    } else if (!OSSL_PARAM_get_int(p, &mode)) {
      return 0;
    }
    if (mode != RSA_NO_PADDING && mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_WITH_TLS_PADDING) return 0;
    c->pad = mode;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION)) &&
      !OSSL_PARAM_get_uint(p, &c->client_version))
    return 0;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION)) &&
      !OSSL_PARAM_get_uint(p, &c->alt_version))
    return 0;
  return 1;
}

const OSSL_PARAM* rc_settable_ctx_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, nullptr, 0),
      OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, nullptr),
      OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, nullptr), OSSL_PARAM_END};
  return kSettable;
}

int rc_get_ctx_params(void* ctx, OSSL_PARAM params[]) {
  auto* c = static_cast<CipherCtx*>(ctx);
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) && !OSSL_PARAM_set_int(p, c->pad)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION)) &&
      !OSSL_PARAM_set_uint(p, c->client_version))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION)) &&
      !OSSL_PARAM_set_uint(p, c->alt_version))
    return 0;
  return 1;
}

const OSSL_PARAM* rc_gettable_ctx_params(void*, void*) {
  static const OSSL_PARAM kGettable[] = {OSSL_PARAM_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, nullptr),
                                         OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, nullptr),
                                         OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, nullptr),
                                         OSSL_PARAM_END};
  return kGettable;
}

int rc_init(void* ctx, void* key, const OSSL_PARAM params[]) {
  auto* c = static_cast<CipherCtx*>(ctx);
  c->key = static_cast<RsaKey*>(key);
  c->pad = RSA_PKCS1_PADDING;
  return c->key ? rc_set_ctx_params(ctx, params) : 0;
}

int rc_decrypt(void* ctx, unsigned char* out, size_t* outlen, size_t outsize, const unsigned char* in, size_t inlen) {
  auto* c = static_cast<CipherCtx*>(ctx);
  const size_t k = rsa_bytes(c->key);
  if (c->pad == RSA_PKCS1_PADDING) return 0;  // refused: see the file comment
  const size_t want = c->pad == RSA_PKCS1_WITH_TLS_PADDING ? 48 : k;
  if (!out) {
    *outlen = want;
    return 1;
  }
  if (outsize < want || inlen != k || (c->pad == RSA_PKCS1_WITH_TLS_PADDING && (k < 59 || c->client_version == 0)))
    return 0;
  if (c->pad == RSA_NO_PADDING) {
    if (!rsa_private_raw(c->key, ProvOp::kRsaDecrypt, in, out, k)) return 0;
    *outlen = k;
    return 1;
  }
  // TLS premaster: the random fallback exists before we look at anything,
  // and good and bad padding take the same path (RFC 5246 7.4.7.1).
  uint8_t random_pm[48];
  if (RAND_priv_bytes_ex(c->pc->sw, random_pm, sizeof random_pm, 0) != 1) return 0;
  std::vector<uint8_t> em(k);
  if (!rsa_private_raw(c->key, ProvOp::kRsaDecrypt, in, em.data(), k)) {
    OPENSSL_cleanse(random_pm, sizeof random_pm);
    return 0;  // input >= n: not a ciphertext for this key (public knowledge)
  }
  tls_premaster(em.data(), k, c->client_version, c->alt_version, random_pm, out);
  OPENSSL_cleanse(em.data(), em.size());
  OPENSSL_cleanse(random_pm, sizeof random_pm);
  *outlen = 48;
  return 1;
}

int rc_encrypt(void* ctx, unsigned char* out, size_t* outlen, size_t outsize, const unsigned char* in, size_t inlen) {
  auto* c = static_cast<CipherCtx*>(ctx);
  EVP_PKEY* pkey = rsa_sw_pkey(c->key);
  EVP_PKEY_CTX* e = pkey ? EVP_PKEY_CTX_new_from_pkey(c->pc->sw, pkey, nullptr) : nullptr;
  const int pad = c->pad == RSA_PKCS1_WITH_TLS_PADDING ? RSA_PKCS1_PADDING : c->pad;
  *outlen = outsize;
  bool ok = e && EVP_PKEY_encrypt_init(e) == 1 && EVP_PKEY_CTX_set_rsa_padding(e, pad) == 1 &&
            EVP_PKEY_encrypt(e, out, outlen, in, inlen) == 1;
  EVP_PKEY_CTX_free(e);
  if (ok && out) c->pc->stats[ProvOp::kRsaEncrypt].sw.fetch_add(1);
  return ok ? 1 : 0;
}

}  // namespace

const OSSL_DISPATCH kRsaAsymCipher[] = {
    GT_DISPATCH(OSSL_FUNC_ASYM_CIPHER_NEWCTX, rc_newctx),
    GT_DISPATCH(OSSL_FUNC_ASYM_CIPHER_FREECTX, rc_freectx),
    GT_DISPATCH(OSSL_FUNC_ASYM_CIPHER_DUPCTX, rc_dupctx),
    GT_DISPATCH(OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, rc_init),
    GT_DISPATCH(OSSL_FUNC_ASYM_CIPHER_ENCRYPT, rc_encrypt),
    GT_DISPATCH(OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, rc_init),
    GT_DISPATCH(OSSL_FUNC_ASYM_CIPHER_DECRYPT, rc_decrypt),
    GT_DISPATCH(OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, rc_get_ctx_params),
    GT_DISPATCH(OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, rc_gettable_ctx_params),
    GT_DISPATCH(OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, rc_set_ctx_params),
    GT_DISPATCH(OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, rc_settable_ctx_params),
    {0, nullptr}};

}  // namespace gputls::host
