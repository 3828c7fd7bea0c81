// RSA signatures: PKCS#1 v1.5 (any digest OpenSSL's default provider signs
// with, or none), PSS and raw (no padding), signing on the engine (the
// provider hashes and pads, the engine does the private-key operation);
// verification and verify-recover in the provider's own OpenSSL context
// (public-key work stays on the CPU).
//
// Parameters are checked by OpenSSL's default provider itself: each context
// keeps a twin ("shadow") signature context of the default provider in the
// provider's own library context, on the same key (RSA or RSA-PSS with its
// restrictions), and every parameter goes to it first. So pad mode, digest,
// MGF1 digest and salt length are accepted or refused exactly as the default
// provider does (RSA-PSS keys: PSS only, restricted digests, minimum salt
// length; no MGF1 digest with PKCS#1 v1.5; no OAEP), with its errors on the
// error queue, and the state the signature is made from is read back from
// it. The private-key operation itself never runs in the twin except for the
// X9.31 padding (no TLS use), counted as software.
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/proverr.h>
#include <openssl/rsa.h>

#include <cstring>
#include <string>
#include <vector>

#include "provider.h"
#include "rsa_key.h"
#include "rsa_padding.h"

namespace gputls::host {
namespace {

struct SigCtx {
  explicit SigCtx(ProvCtx* p) : pc(p) {}
  SigCtx(const SigCtx&) = delete;
  SigCtx& operator=(const SigCtx&) = delete;
  ~SigCtx() {
    EVP_PKEY_CTX_free(shadow);
    EVP_MD_free(md);
    EVP_MD_CTX_free(mdctx);
  }

  ProvCtx* pc;
  RsaKey* key = nullptr;
  int operation = 0;         // EVP_PKEY_OP_SIGN, _VERIFY or _VERIFYRECOVER
  bool digest_fixed = false;  // digest_sign/verify_init: the digest may not change
  EVP_PKEY_CTX* shadow = nullptr;  // the default provider's context (see above)
  EVP_MD* md = nullptr;            // the shadow's digest, fetched here for hashing
  EVP_MD_CTX* mdctx = nullptr;     // digest_sign/verify
};

constexpr size_t kNameMax = 64;

// The shadow's state the signature is made from.
struct ShadowState {
  int pad = RSA_PKCS1_PADDING;
  int saltlen = RSA_PSS_SALTLEN_AUTO;
  char md[kNameMax] = "", mgf1[kNameMax] = "";
};

bool read_state(SigCtx* c, ShadowState* st) {
  char* mdp = st->md;
  char* mgf1p = st->mgf1;
  OSSL_PARAM q[] = {OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &st->pad),
                    OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &st->saltlen),
                    OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, mdp, sizeof st->md),
                    OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, mgf1p, sizeof st->mgf1),
                    OSSL_PARAM_construct_end()};
  if (EVP_PKEY_CTX_get_params(c->shadow, q) != 1) {
    ERR_raise_data(ERR_LIB_PROV, ERR_R_INTERNAL_ERROR, "gputls: cannot read the RSA signature parameters back");
    return false;
  }
  return true;
}

// c->md follows the shadow's digest (nullptr while none is set).
bool sync_md(SigCtx* c) {
  ShadowState st;
  if (!read_state(c, &st)) return false;
  if (!st.md[0]) {
    EVP_MD_free(c->md);
    c->md = nullptr;
    return true;
  }
  if (c->md && EVP_MD_is_a(c->md, st.md)) return true;
  EVP_MD* md = fetch_md(c->pc, st.md);
  if (!md) {
    ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_DIGEST, "gputls: digest %s could not be fetched", st.md);
    return false;
  }
  EVP_MD_free(c->md);
  c->md = md;
  return true;
}

void* sig_newctx(void* provctx, const char*) { return new SigCtx(static_cast<ProvCtx*>(provctx)); }
void sig_freectx(void* ctx) { delete static_cast<SigCtx*>(ctx); }

void* sig_dupctx(void* ctx) {
  auto* c = static_cast<SigCtx*>(ctx);
  auto* d = new SigCtx(c->pc);
  d->key = c->key;
  d->operation = c->operation;
  d->digest_fixed = c->digest_fixed;
  bool ok = (!c->shadow || (d->shadow = EVP_PKEY_CTX_dup(c->shadow))) && (!c->md || EVP_MD_up_ref(c->md));
  if (ok) d->md = c->md;
  ok = ok && (!c->mdctx || ((d->mdctx = EVP_MD_CTX_new()) && EVP_MD_CTX_copy_ex(d->mdctx, c->mdctx)));
  if (!ok) {
    ERR_raise_data(ERR_LIB_PROV, ERR_R_INTERNAL_ERROR, "gputls: cannot duplicate the RSA signature context");
    delete d;
    return nullptr;
  }
  return d;
}

int sig_set_ctx_params(void* ctx, const OSSL_PARAM params[]) {
  auto* c = static_cast<SigCtx*>(ctx);
  if (!params || !params[0].key) return 1;
  if (!c->shadow) {
    ERR_raise_data(ERR_LIB_PROV, PROV_R_NO_KEY_SET, "gputls: RSA signature parameters before init");
    return 0;
  }
  // After digest_sign/verify_init the digest is fixed (the default
  // provider's flag_allow_md): the same one again is accepted, another not.
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
  if (p && c->digest_fixed) {
    const char* name = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !name) return 0;
    if (!c->md || !EVP_MD_is_a(c->md, name)) {
      ERR_raise_data(ERR_LIB_PROV, PROV_R_DIGEST_NOT_ALLOWED, "digest %s != %s", name,
                     c->md ? EVP_MD_get0_name(c->md) : "(none)");
      return 0;
    }
  }
  if (EVP_PKEY_CTX_set_params(c->shadow, params) != 1) return 0;  // the default provider raised why
  // Only a digest or a pad mode (PSS without a digest takes SHA-1) changes
  // the shadow's digest: other parameters need no read-back.
  if (!p && !OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) return 1;
  return sync_md(c) ? 1 : 0;
}

const OSSL_PARAM* sig_settable_ctx_params(void* ctx, void*) {
  static const OSSL_PARAM kSettable[] = {
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES, nullptr, 0),
      OSSL_PARAM_END};
  static const OSSL_PARAM kSettableNoDigest[] = {
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES, nullptr, 0),
      OSSL_PARAM_END};
  auto* c = static_cast<SigCtx*>(ctx);
  return c && c->digest_fixed ? kSettableNoDigest : kSettable;
}

int sig_get_ctx_params(void* ctx, OSSL_PARAM params[]) {
  auto* c = static_cast<SigCtx*>(ctx);
  if (!c->shadow) {
    ERR_raise_data(ERR_LIB_PROV, PROV_R_NO_KEY_SET, "gputls: RSA signature parameters before init");
    return 0;
  }
  return EVP_PKEY_CTX_get_params(c->shadow, params) == 1 ? 1 : 0;
}

const OSSL_PARAM* sig_gettable_ctx_params(void*, void*) {
  static const OSSL_PARAM kGettable[] = {OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr, 0),
                                         OSSL_PARAM_END};
  return kGettable;
}

// sign_init / verify_init / verify_recover_init: a fresh shadow on the key
// (the default provider applies an RSA-PSS key's type and restrictions),
// then the caller's parameters.
int init(void* ctx, void* key, const OSSL_PARAM params[], int operation) {
  auto* c = static_cast<SigCtx*>(ctx);
  if (key) c->key = static_cast<RsaKey*>(key);
  if (!c->key) {
    ERR_raise_data(ERR_LIB_PROV, PROV_R_NO_KEY_SET, "gputls: RSA signature init without a key");
    return 0;
  }
  c->operation = operation;
  c->digest_fixed = false;
  EVP_PKEY_CTX_free(c->shadow);
  c->shadow = rsa_sw_sig_ctx(c->key, operation);
  if (!c->shadow || !sync_md(c)) return 0;  // the default provider (or rsa_sw_sig_ctx) raised why
  return sig_set_ctx_params(ctx, params);
}
int sig_sign_init(void* ctx, void* key, const OSSL_PARAM params[]) { return init(ctx, key, params, EVP_PKEY_OP_SIGN); }
int sig_verify_init(void* ctx, void* key, const OSSL_PARAM params[]) {
  return init(ctx, key, params, EVP_PKEY_OP_VERIFY);
}
int sig_verify_recover_init(void* ctx, void* key, const OSSL_PARAM params[]) {
  return init(ctx, key, params, EVP_PKEY_OP_VERIFYRECOVER);
}

// The encoded message (k bytes) for tbs under the shadow's parameters, as
// OpenSSL's rsa_sign would build it; false with the reason raised. *in_twin
// is set when the default provider must make the whole signature (X9.31).
bool encode(SigCtx* c, const ShadowState& st, const unsigned char* tbs, size_t tbslen, uint8_t* em, size_t k,
            bool* in_twin) {
  *in_twin = false;
  if (st.pad == RSA_X931_PADDING) {
    *in_twin = true;
    return true;
  }
  if (c->md) {
    const int mdsize = EVP_MD_get_size(c->md);
    if (tbslen != static_cast<size_t>(mdsize)) {
      ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_DIGEST_LENGTH, "gputls: %zu bytes to sign, %s digests have %d",
                     tbslen, EVP_MD_get0_name(c->md), mdsize);
      return false;
    }
    if (st.pad == RSA_PKCS1_PADDING) {
      switch (emsa_pkcs1_v15_encode(c->md, tbs, tbslen, em, k)) {
        case Pkcs1Encode::kOk: return true;
        case Pkcs1Encode::kKeyTooSmall:
          ERR_raise_data(ERR_LIB_RSA, RSA_R_DIGEST_TOO_BIG_FOR_RSA_KEY, "gputls: %s DigestInfo does not fit %d bits",
                         EVP_MD_get0_name(c->md), c->key->bits);
          return false;
        default:
          ERR_raise_data(ERR_LIB_RSA, RSA_R_UNKNOWN_ALGORITHM_TYPE, "gputls: no PKCS#1 v1.5 encoding for %s",
                         EVP_MD_get0_name(c->md));
          return false;
      }
    }
    if (st.pad == RSA_PKCS1_PSS_PADDING) {
      // The restricted-key checks rsa_sign makes at this point.
      const RsaPssRestrictions& r = c->key->pss;
      if (c->key->is_pss && r.restricted) {
        if (st.saltlen == RSA_PSS_SALTLEN_DIGEST && r.min_saltlen > mdsize) {
          ERR_raise_data(ERR_LIB_PROV, PROV_R_PSS_SALTLEN_TOO_SMALL,
                         "minimum salt length set to %d, but the digest only gives %d", r.min_saltlen, mdsize);
          return false;
        }
        if (st.saltlen >= 0 && st.saltlen < r.min_saltlen) {
          ERR_raise_data(ERR_LIB_PROV, PROV_R_PSS_SALTLEN_TOO_SMALL,
                         "minimum salt length set to %d, but the actual salt length is only set to %d",
                         r.min_saltlen, st.saltlen);
          return false;
        }
      }
      // RSA_padding_add_PKCS1_PSS_mgf1: digest length, or the largest salt
      // for "auto" and "max" when signing.
      const int max_salt = pss_max_salt(c->md, c->key->bits);
      int salt = st.saltlen;
      if (salt == RSA_PSS_SALTLEN_DIGEST) salt = mdsize;
      else if (salt == RSA_PSS_SALTLEN_AUTO || salt == RSA_PSS_SALTLEN_MAX) salt = max_salt;
      if (salt < 0 || max_salt < 0 || salt > max_salt) {
        ERR_raise_data(ERR_LIB_RSA, RSA_R_DATA_TOO_LARGE_FOR_KEY_SIZE,
                       "gputls: PSS salt of %d bytes with %s does not fit %d bits (at most %d)", st.saltlen,
                       EVP_MD_get0_name(c->md), c->key->bits, max_salt);
        return false;
      }
      EVP_MD* mgf1 = st.mgf1[0] ? fetch_md(c->pc, st.mgf1) : nullptr;
      const bool ok = emsa_pss_encode(c->pc->sw, c->md, mgf1 ? mgf1 : c->md, tbs, salt, c->key->bits, em, k);
      EVP_MD_free(mgf1);
      if (!ok) ERR_raise_data(ERR_LIB_RSA, ERR_R_INTERNAL_ERROR, "gputls: EMSA-PSS encoding failed");
      return ok;
    }
    ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_PADDING_MODE, "Only X.931, PKCS#1 v1.5 or PSS padding allowed");
    return false;
  }
  // No digest: RSA_private_encrypt(tbs) with the pad mode.
  if (st.pad == RSA_PKCS1_PADDING) {
    if (!emsa_pkcs1_v15_pad(tbs, tbslen, em, k)) {
      ERR_raise_data(ERR_LIB_RSA, RSA_R_DATA_TOO_LARGE_FOR_KEY_SIZE,
                     "gputls: %zu bytes to sign with PKCS#1 v1.5 padding, at most %zu fit", tbslen, k - 11);
      return false;
    }
    return true;
  }
  if (st.pad == RSA_NO_PADDING) {
    if (tbslen != k) {
      ERR_raise_data(ERR_LIB_RSA, tbslen > k ? RSA_R_DATA_TOO_LARGE_FOR_KEY_SIZE : RSA_R_DATA_TOO_SMALL_FOR_KEY_SIZE,
                     "gputls: raw RSA signing takes exactly the modulus size, %zu bytes, not %zu", k, tbslen);
      return false;
    }
    std::memcpy(em, tbs, k);  // below n is checked with the private operation
    return true;
  }
  ERR_raise_data(ERR_LIB_RSA, RSA_R_UNKNOWN_PADDING_TYPE,
                 "gputls: RSA pad mode %d without a digest: PKCS#1 v1.5, none or X9.31 only", st.pad);
  return false;
}

// Signs tbs (a digest of c->md, or the data itself without one).
int sig_sign(void* ctx, unsigned char* sig, size_t* siglen, size_t sigsize, const unsigned char* tbs,
             size_t tbslen) {
  auto* c = static_cast<SigCtx*>(ctx);
  const size_t k = rsa_bytes(c->key);
  if (!sig) {
    *siglen = k;
    return 1;
  }
  if (sigsize < k) {
    ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_SIGNATURE_SIZE, "is %zu, should be at least %zu", sigsize, k);
    return 0;
  }
  ShadowState st;
  if (!read_state(c, &st)) return 0;
  std::vector<uint8_t> em(k);
  bool in_twin = false;
  if (!encode(c, st, tbs, tbslen, em.data(), k, &in_twin)) {
    c->pc->stats[ProvOp::kRsaSign].failed.fetch_add(1);
    return 0;
  }
  if (in_twin) {
    size_t len = sigsize;
    const bool ok = EVP_PKEY_sign(c->shadow, sig, &len, tbs, tbslen) == 1;
    (ok ? c->pc->stats[ProvOp::kRsaSign].sw : c->pc->stats[ProvOp::kRsaSign].failed).fetch_add(1);
    if (ok) *siglen = len;
    return ok ? 1 : 0;
  }
  if (!rsa_private_raw(c->key, ProvOp::kRsaSign, em.data(), sig, k)) return 0;  // counted and raised there
  *siglen = k;
  return 1;
}

int sig_verify(void* ctx, const unsigned char* sig, size_t siglen, const unsigned char* tbs, size_t tbslen) {
  auto* c = static_cast<SigCtx*>(ctx);
  c->pc->stats[ProvOp::kRsaVerify].sw.fetch_add(1);  // checked in software, whatever the verdict
  return EVP_PKEY_verify(c->shadow, sig, siglen, tbs, tbslen) == 1 ? 1 : 0;
}

// Verify-recover (RSA_public_decrypt with the pad mode; with a digest the
// DigestInfo is checked and the digest returned): the default provider's,
// in the twin.
int sig_verify_recover(void* ctx, unsigned char* rout, size_t* routlen, size_t routsize, const unsigned char* sig,
                       size_t siglen) {
  auto* c = static_cast<SigCtx*>(ctx);
  if (!rout) {
    *routlen = rsa_bytes(c->key);
    return 1;
  }
  size_t len = routsize;
  c->pc->stats[ProvOp::kRsaVerifyRecover].sw.fetch_add(1);  // in software, whatever the verdict
  const bool ok = EVP_PKEY_verify_recover(c->shadow, rout, &len, sig, siglen) == 1;
  if (ok) *routlen = len;
  return ok ? 1 : 0;
}

// digest_sign/verify: hash here with the shadow's digest, then sign/verify.
int digest_init(void* ctx, const char* mdname, void* key, const OSSL_PARAM params[], int operation) {
  auto* c = static_cast<SigCtx*>(ctx);
  if (!init(ctx, key, params, operation)) return 0;
  // As rsa_digest_signverify_init: a named digest replaces the key's (an
  // RSA-PSS restriction refuses another one), none keeps it.
  if (mdname && (!*mdname || !c->md || !EVP_MD_is_a(c->md, mdname))) {
    const OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, const_cast<char*>(mdname), 0),
                            OSSL_PARAM_construct_end()};
    if (!sig_set_ctx_params(ctx, p)) return 0;
  }
  if (!c->md) {
    ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_DIGEST, "gputls: RSA digest signature without a digest");
    return 0;
  }
  c->digest_fixed = true;
  if (!c->mdctx && !(c->mdctx = EVP_MD_CTX_new())) return 0;
  return EVP_DigestInit_ex(c->mdctx, c->md, nullptr);
}
int digest_sign_init(void* ctx, const char* mdname, void* key, const OSSL_PARAM params[]) {
  return digest_init(ctx, mdname, key, params, EVP_PKEY_OP_SIGN);
}
int digest_verify_init(void* ctx, const char* mdname, void* key, const OSSL_PARAM params[]) {
  return digest_init(ctx, mdname, key, params, EVP_PKEY_OP_VERIFY);
}
int digest_update(void* ctx, const unsigned char* data, size_t len) {
  auto* c = static_cast<SigCtx*>(ctx);
  return c->mdctx && EVP_DigestUpdate(c->mdctx, data, len) == 1 ? 1 : 0;
}
int digest_sign_final(void* ctx, unsigned char* sig, size_t* siglen, size_t sigsize) {
  auto* c = static_cast<SigCtx*>(ctx);
  if (!sig) return sig_sign(ctx, nullptr, siglen, sigsize, nullptr, 0);  // size query
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned dlen = 0;
  if (!c->mdctx || EVP_DigestFinal_ex(c->mdctx, digest, &dlen) != 1) return 0;
  return sig_sign(ctx, sig, siglen, sigsize, digest, dlen);
}
int digest_verify_final(void* ctx, const unsigned char* sig, size_t siglen) {
  auto* c = static_cast<SigCtx*>(ctx);
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned dlen = 0;
  if (!c->mdctx || EVP_DigestFinal_ex(c->mdctx, digest, &dlen) != 1) return 0;
  return sig_verify(ctx, sig, siglen, digest, dlen);
}

}  // namespace

const OSSL_DISPATCH kRsaSignature[] = {
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_NEWCTX, sig_newctx),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_FREECTX, sig_freectx),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DUPCTX, sig_dupctx),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_SIGN_INIT, sig_sign_init),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_SIGN, sig_sign),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_VERIFY_INIT, sig_verify_init),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_VERIFY, sig_verify),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_VERIFY_RECOVER_INIT, sig_verify_recover_init),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_VERIFY_RECOVER, sig_verify_recover),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, digest_sign_init),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, digest_update),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, digest_sign_final),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, digest_verify_init),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, digest_update),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, digest_verify_final),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, sig_get_ctx_params),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, sig_gettable_ctx_params),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, sig_set_ctx_params),
    GT_DISPATCH(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, sig_settable_ctx_params),
    {0, nullptr}};

}  // namespace gputls::host
