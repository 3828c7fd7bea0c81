// RSA decryption with the raw private operation on the engine: TLS
// premaster (pad mode 7, RSA_PKCS1_WITH_TLS_PADDING), PKCS#1 v1.5 type 2 and
// OAEP (unpadded here in constant time, rsa_unpad.h) and raw (no padding).
// PKCS#1 v1.5 outside TLS uses implicit rejection, as OpenSSL 3.2+ does (a
// ciphertext with bad padding decrypts to a synthetic message derived from
// the key and the ciphertext, no error: no Bleichenbacher oracle); the
// "implicit-rejection" parameter (0) turns it off. Encryption (public) runs
// in the provider's own context. RSA-PSS keys are refused (signatures only),
// as the default provider refuses them.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/proverr.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cstring>
#include <string>
#include <vector>

#include "provider.h"
#include "rsa_key.h"
#include "rsa_padding.h"
#include "rsa_unpad.h"

// OpenSSL 3.2's name (3.0's headers lack it), and the name 3.0's
// EVP_PKEY_CTX_ctrl_str passes through for "rsa_pkcs1_implicit_rejection".
#ifndef OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION
#define OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION "implicit-rejection"
#endif
#define GPUTLS_IMPLICIT_REJECTION_CTRL "rsa_pkcs1_implicit_rejection"

namespace gputls::host {
namespace {

struct CipherCtx {
  explicit CipherCtx(ProvCtx* p) : pc(p) {}
  CipherCtx(const CipherCtx& o)
      : pc(o.pc), key(o.key), pad(o.pad), client_version(o.client_version), alt_version(o.alt_version),
        implicit_rejection(o.implicit_rejection), oaep_md(o.oaep_md), mgf1_md(o.mgf1_md), label(o.label) {
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
  unsigned implicit_rejection = 1;  // PKCS#1 v1.5 (not TLS premaster) decryption
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
      ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_PADDING_MODE, "gputls: RSA pad mode is neither a name nor an int");
      return 0;
    }
    if (mode != RSA_NO_PADDING && mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_WITH_TLS_PADDING &&
        mode != RSA_PKCS1_OAEP_PADDING) {
      ERR_raise_data(ERR_LIB_PROV, PROV_R_ILLEGAL_OR_UNSUPPORTED_PADDING_MODE,
                     "gputls: RSA encryption pad mode %d: none, pkcs1, oaep or TLS premaster only", mode);
      return 0;
    }
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
  for (const char* name : {OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION, GPUTLS_IMPLICIT_REJECTION_CTRL}) {
    if ((p = OSSL_PARAM_locate_const(params, name)) && !OSSL_PARAM_get_uint(p, &c->implicit_rejection)) {
      ERR_raise_data(ERR_LIB_PROV, PROV_R_FAILED_TO_GET_PARAMETER, "gputls: %s must be an unsigned integer", name);
      return 0;
    }
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
      OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION, nullptr),
      OSSL_PARAM_uint(GPUTLS_IMPLICIT_REJECTION_CTRL, nullptr),
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
  if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION)) &&
      !OSSL_PARAM_set_uint(p, c->implicit_rejection))
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
                                         OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION, nullptr),
                                         OSSL_PARAM_END};
  return kGettable;
}

int rc_init(void* ctx, void* key, const OSSL_PARAM params[]) {
  auto* c = static_cast<CipherCtx*>(ctx);
  c->key = static_cast<RsaKey*>(key);
  if (!c->key) {
    ERR_raise_data(ERR_LIB_PROV, PROV_R_NO_KEY_SET, "gputls: RSA encryption init without a key");
    return 0;
  }
  if (c->key->is_pss) {
    // As the default provider (rsa_init): RSA-PSS keys sign, nothing else.
    ERR_raise_data(ERR_LIB_PROV, PROV_R_OPERATION_NOT_SUPPORTED_FOR_THIS_KEYTYPE,
                   "gputls: an RSA-PSS key is for PSS signatures only, not encryption or decryption");
    return 0;
  }
  c->pad = RSA_PKCS1_PADDING;
  c->implicit_rejection = 1;
  EVP_MD_free(c->mgf1_md);
  c->mgf1_md = nullptr;
  OPENSSL_cleanse(c->label.data(), c->label.size());
  c->label.clear();
  EVP_MD_free(c->oaep_md);
  c->oaep_md = nullptr;  // SHA-1 when OAEP is used without one (fetched then, not per TLS handshake)
  return rc_set_ctx_params(ctx, params);
}

// PKCS#1 v1.5 type 2 or OAEP: raw decryption on the engine, constant-time
// unpadding here. With implicit rejection (PKCS#1 v1.5, on unless turned
// off) there is no padding error at all; otherwise bad padding is an error
// (as in OpenSSL 3.0), decided by one branch on the unpadder's final result.
int decrypt_padded(CipherCtx* c, unsigned char* out, size_t* outlen, size_t outsize, const unsigned char* in) {
  const size_t k = rsa_bytes(c->key);
  if (c->pad == RSA_PKCS1_OAEP_PADDING && !ensure_oaep_md(c)) {
    ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_DIGEST, "gputls: OAEP digest SHA1 could not be fetched");
    return 0;
  }
  const bool implicit = c->pad == RSA_PKCS1_PADDING && c->implicit_rejection != 0;
  uint8_t kdk[32];
  if (implicit &&
      !rsa_implicit_rejection_kdk(c->pc->sw, c->key->mat.d.data(), c->key->mat.d.size(), in, k, kdk)) {
    ERR_raise_data(ERR_LIB_PROV, ERR_R_INTERNAL_ERROR, "gputls: implicit rejection key derivation failed");
    return 0;
  }
  std::vector<uint8_t> em(k);
  if (!rsa_private_raw(c->key, ProvOp::kRsaDecrypt, in, em.data(), k)) {
    OPENSSL_cleanse(kdk, sizeof kdk);
    return 0;  // raised there
  }
  const long mlen = implicit ? rsaes_pkcs1_v15_decode_implicit(c->pc->sw, kdk, em.data(), k, out, outsize)
                    : c->pad == RSA_PKCS1_OAEP_PADDING
                        ? rsaes_oaep_decode(c->oaep(), c->mgf1(), c->label.data(), c->label.size(), em.data(), k,
                                            out, outsize)
                        : rsaes_pkcs1_v15_decode(em.data(), k, out, outsize);
  OPENSSL_cleanse(em.data(), em.size());
  OPENSSL_cleanse(kdk, sizeof kdk);
  if (mlen < 0) {
    c->pc->stats[ProvOp::kRsaDecrypt].failed.fetch_add(1);
    ERR_raise_data(ERR_LIB_RSA, c->pad == RSA_PKCS1_OAEP_PADDING ? RSA_R_OAEP_DECODING_ERROR : RSA_R_PKCS_DECODING_ERROR,
                   implicit ? "gputls: implicit rejection failed" : "gputls: RSA decryption error");
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
  // As the default provider: the output buffer holds a modulus's worth (48
  // bytes for the TLS premaster) whatever the message's length.
  if (outsize < want) {
    ERR_raise_data(ERR_LIB_PROV, PROV_R_BAD_LENGTH, "gputls: RSA decryption needs %zu bytes of output, got %zu", want,
                   outsize);
    return 0;
  }
  // A ciphertext longer than the modulus is none; a shorter one is the same
  // number with its leading zero bytes dropped (RSA_private_decrypt takes it).
  if (inlen > k || inlen == 0) {
    ERR_raise_data(ERR_LIB_RSA, RSA_R_DATA_GREATER_THAN_MOD_LEN, "gputls: RSA ciphertext of %zu bytes for a %zu-byte modulus",
                   inlen, k);
    return 0;
  }
  std::vector<uint8_t> ct(k, 0);
  std::memcpy(ct.data() + (k - inlen), in, inlen);
  in = ct.data();
  if (c->pad == RSA_PKCS1_PADDING || c->pad == RSA_PKCS1_OAEP_PADDING) return decrypt_padded(c, out, outlen, outsize, in);
  if (c->pad == RSA_PKCS1_WITH_TLS_PADDING && (k < 59 || c->client_version == 0)) {
    ERR_raise_data(ERR_LIB_PROV, k < 59 ? PROV_R_KEY_SIZE_TOO_SMALL : PROV_R_BAD_TLS_CLIENT_VERSION,
                   "gputls: TLS premaster decryption needs a key of at least 59 bytes and the client version");
    return 0;
  }
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
