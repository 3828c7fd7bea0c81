// RSA decryption with the raw private operation on the engine: TLS
// premaster (pad mode 7, RSA_PKCS1_WITH_TLS_PADDING), PKCS#1 v1.5 type 2 and
// OAEP (unpadded here in constant time, rsa_unpad.h) and raw (no padding).
// Encryption (public) runs in the provider's own context.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cstring>
#include <string>
#include <vector>

#include "provider.h"
#include "rsa_key.h"
#include "rsa_padding.h"
#include "rsa_unpad.h"

namespace gputls::host {
namespace {

struct CipherCtx {
  explicit CipherCtx(ProvCtx* p) : pc(p) {}
  CipherCtx(const CipherCtx& o)
      : pc(o.pc), key(o.key), pad(o.pad), client_version(o.client_version), alt_version(o.alt_version),
        oaep_md(o.oaep_md), mgf1_md(o.mgf1_md), label(o.label) {
    if (oaep_md) EVP_MD_up_ref(oaep_md);
    if (mgf1_md) EVP_MD_up_ref(mgf1_md);
  }
  CipherCtx& operator=(const CipherCtx&) = delete;
  ~CipherCtx() {
    EVP_MD_free(oaep_md);
    EVP_MD_free(mgf1_md);
    OPENSSL_cleanse(label.data(), label.size());
  }

  ProvCtx* pc;
  RsaKey* key = nullptr;
  int pad = RSA_PKCS1_PADDING;
  unsigned client_version = 0, alt_version = 0;
  // OAEP: digest (SHA-1 unless set), MGF1 digest (the OAEP digest unless set), label.
  EVP_MD* oaep_md = nullptr;
  EVP_MD* mgf1_md = nullptr;
  std::vector<uint8_t> label;
  const EVP_MD* oaep() const { return oaep_md; }
  const EVP_MD* mgf1() const { return mgf1_md ? mgf1_md : oaep_md; }
};

void* rc_newctx(void* provctx) { return new CipherCtx(static_cast<ProvCtx*>(provctx)); }
void rc_freectx(void* ctx) { delete static_cast<CipherCtx*>(ctx); }
void* rc_dupctx(void* ctx) { return new CipherCtx(*static_cast<CipherCtx*>(ctx)); }

// Replaces *slot with the digest `name` from the provider's own context.
bool set_md(CipherCtx* c, EVP_MD** slot, const OSSL_PARAM* p) {
  const char* name = nullptr;
  if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return false;
  EVP_MD* md = EVP_MD_fetch(c->pc->sw, name, nullptr);
  if (!md) return false;
  EVP_MD_free(*slot);
  *slot = md;
  return true;
}

const char* md_name(const EVP_MD* md) { return md ? EVP_MD_get0_name(md) : "SHA1"; }

// OAEP's digest: RFC 8017's default, SHA-1, unless one was set.
bool ensure_oaep_md(CipherCtx* c) {
  if (!c->oaep_md) c->oaep_md = EVP_MD_fetch(c->pc->sw, "SHA1", nullptr);
  return c->oaep_md != nullptr;
}

int rc_set_ctx_params(void* ctx, const OSSL_PARAM params[]) {
  auto* c = static_cast<CipherCtx*>(ctx);
  if (!params) return 1;
  const OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE))) {
    int mode = -1;
    const char* s = nullptr;
    if (p->data_type == OSSL_PARAM_UTF8_STRING && OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
      mode = std::strcmp(s, OSSL_PKEY_RSA_PAD_MODE_NONE) == 0     ? RSA_NO_PADDING
             : std::strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
             : std::strcmp(s, OSSL_PKEY_RSA_PAD_MODE_OAEP) == 0    ? RSA_PKCS1_OAEP_PADDING
                                                                   : -1;
    } else if (!OSSL_PARAM_get_int(p, &mode)) {
      return 0;
    }
    if (mode != RSA_NO_PADDING && mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_WITH_TLS_PADDING &&
        mode != RSA_PKCS1_OAEP_PADDING)
      return 0;
    c->pad = mode;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) && !set_md(c, &c->oaep_md, p))
    return 0;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) && !set_md(c, &c->mgf1_md, p))
    return 0;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL))) {
    const void* data = nullptr;
    size_t len = 0;
    if (!OSSL_PARAM_get_octet_string_ptr(p, &data, &len)) return 0;
    OPENSSL_cleanse(c->label.data(), c->label.size());
    c->label.assign(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + len);
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
      OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, nullptr),
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST_PROPS, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST_PROPS, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, nullptr, 0),
      OSSL_PARAM_END};
  return kSettable;
}

int rc_get_ctx_params(void* ctx, OSSL_PARAM params[]) {
  auto* c = static_cast<CipherCtx*>(ctx);
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) && !OSSL_PARAM_set_int(p, c->pad)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) &&
      !OSSL_PARAM_set_utf8_string(p, md_name(c->oaep())))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) &&
      !OSSL_PARAM_set_utf8_string(p, md_name(c->mgf1())))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) &&
      !OSSL_PARAM_set_octet_ptr(p, c->label.data(), c->label.size()))
    return 0;
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
                                         OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, nullptr, 0),
                                         OSSL_PARAM_octet_ptr(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, nullptr, 0),
                                         OSSL_PARAM_END};
  return kGettable;
}

int rc_init(void* ctx, void* key, const OSSL_PARAM params[]) {
  auto* c = static_cast<CipherCtx*>(ctx);
  c->key = static_cast<RsaKey*>(key);
  c->pad = RSA_PKCS1_PADDING;
  EVP_MD_free(c->mgf1_md);
  c->mgf1_md = nullptr;
  OPENSSL_cleanse(c->label.data(), c->label.size());
  c->label.clear();
  EVP_MD_free(c->oaep_md);
  c->oaep_md = nullptr;  // SHA-1 when OAEP is used without one (fetched then, not per TLS handshake)
  return c->key ? rc_set_ctx_params(ctx, params) : 0;
}

// PKCS#1 v1.5 type 2 or OAEP: raw decryption on the engine, constant-time
// unpadding here. Bad padding is an error (as in OpenSSL 3.0), decided by one
// branch on the unpadder's final result.
int decrypt_padded(CipherCtx* c, unsigned char* out, size_t* outlen, size_t outsize, const unsigned char* in) {
  const size_t k = rsa_bytes(c->key);
  if (c->pad == RSA_PKCS1_OAEP_PADDING && !ensure_oaep_md(c)) return 0;
  std::vector<uint8_t> em(k);
  if (!rsa_private_raw(c->key, ProvOp::kRsaDecrypt, in, em.data(), k)) return 0;
  const long mlen = c->pad == RSA_PKCS1_OAEP_PADDING
                        ? rsaes_oaep_decode(c->oaep(), c->mgf1(), c->label.data(), c->label.size(), em.data(), k,
                                            out, outsize)
                        : rsaes_pkcs1_v15_decode(em.data(), k, out, outsize);
  OPENSSL_cleanse(em.data(), em.size());
  if (mlen < 0) {
    c->pc->stats[ProvOp::kRsaDecrypt].failed.fetch_add(1);
    return 0;
  }
  *outlen = static_cast<size_t>(mlen);
  return 1;
}

int rc_decrypt(void* ctx, unsigned char* out, size_t* outlen, size_t outsize, const unsigned char* in, size_t inlen) {
  auto* c = static_cast<CipherCtx*>(ctx);
  const size_t k = rsa_bytes(c->key);
  const size_t want = c->pad == RSA_PKCS1_WITH_TLS_PADDING ? 48 : k;
  if (!out) {
    *outlen = want;
    return 1;
  }
  if (inlen != k) return 0;  // not a ciphertext for this key (public)
  if (c->pad == RSA_PKCS1_PADDING || c->pad == RSA_PKCS1_OAEP_PADDING) return decrypt_padded(c, out, outlen, outsize, in);
  if (outsize < want || (c->pad == RSA_PKCS1_WITH_TLS_PADDING && (k < 59 || c->client_version == 0))) return 0;
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
  bool ok = e && EVP_PKEY_encrypt_init(e) == 1 && EVP_PKEY_CTX_set_rsa_padding(e, pad) == 1;
  if (ok && pad == RSA_PKCS1_OAEP_PADDING) {
    // The label is handed over (set0): a copy OpenSSL frees.
    void* label = c->label.empty() ? nullptr : OPENSSL_memdup(c->label.data(), c->label.size());
    ok = EVP_PKEY_CTX_set_rsa_oaep_md_name(e, md_name(c->oaep()), nullptr) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(e, md_name(c->mgf1()), nullptr) == 1 &&
         (c->label.empty() || (label && EVP_PKEY_CTX_set0_rsa_oaep_label(e, label, static_cast<int>(c->label.size())) == 1));
    if (!ok) OPENSSL_free(label);
  }
  ok = ok && EVP_PKEY_encrypt(e, out, outlen, in, inlen) == 1;
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
