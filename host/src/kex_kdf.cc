#include "kex_kdf.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstring>

#include "prov_err.h"

namespace gputls::host {

KexKdf::KexKdf(const KexKdf& o)
    : who_(o.who_), kdf_(o.kdf_), ukm_param_(o.ukm_param_), on_(o.on_), md_(o.md_), outlen_(o.outlen_), ukm_(o.ukm_) {
  if (md_ && !EVP_MD_up_ref(md_)) md_ = nullptr;
}

KexKdf::~KexKdf() { EVP_MD_free(md_); }

bool KexKdf::set_params(OSSL_LIB_CTX* sw, const OSSL_PARAM params[]) {
  const OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE))) {
    const char* kdf = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &kdf) || !kdf) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "%s: kdf-type is not a string", who_);
      return false;
    }
    if (*kdf == '\0') {
      on_ = false;
    } else if (std::strcmp(kdf, kdf_) == 0) {  // case-sensitive, as the default provider
      on_ = true;
    } else {
      GT_RAISE(ERR_R_UNSUPPORTED, "%s: kdf-type \"%s\" unknown (\"\" or \"%s\", as the default provider)", who_, kdf,
               kdf_);
      return false;
    }
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST))) {
    const char* name = nullptr;
    const char* props = nullptr;
    const OSSL_PARAM* pp = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS);
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || (pp && !OSSL_PARAM_get_utf8_string_ptr(pp, &props))) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "%s: kdf-digest is not a string", who_);
      return false;
    }
    EVP_MD* md = EVP_MD_fetch(sw, name, props);
    if (!md) {
      GT_RAISE(ERR_R_UNSUPPORTED, "%s: kdf-digest \"%s\" not found", who_, name);
      return false;
    }
    EVP_MD_free(md_);
    md_ = md;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN)) && !OSSL_PARAM_get_size_t(p, &outlen_)) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "%s: kdf-outlen is not a size", who_);
    return false;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_UKM))) {
    const void* data = nullptr;
    size_t len = 0;
    if (!OSSL_PARAM_get_octet_string_ptr(p, &data, &len)) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "%s: kdf-ukm is not an octet string", who_);
      return false;
    }
    const auto* b = static_cast<const uint8_t*>(data);
    ukm_.assign(b, b + len);
  }
  return true;
}

bool KexKdf::get_params(OSSL_PARAM params[]) const {
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_TYPE)) && !OSSL_PARAM_set_utf8_string(p, on_ ? kdf_ : ""))
    return false;
  if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST)) &&
      !OSSL_PARAM_set_utf8_string(p, md_ ? EVP_MD_get0_name(md_) : ""))
    return false;
  if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN)) && !OSSL_PARAM_set_size_t(p, outlen_))
    return false;
  if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_UKM)) &&
      !OSSL_PARAM_set_octet_ptr(p, ukm_.empty() ? nullptr : ukm_.data(), ukm_.size()))
    return false;
  return true;
}

bool KexKdf::can_derive(size_t outsize) const {
  if (outlen_ > outsize) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "%s: output buffer (%zu) shorter than kdf-outlen (%zu)", who_, outsize,
             outlen_);
    return false;
  }
  if (!md_) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "%s: %s without kdf-digest", who_, kdf_);
    return false;
  }
  return true;
}

bool KexKdf::derive(OSSL_LIB_CTX* sw, const uint8_t* z, size_t zlen, uint8_t* out, size_t outsize,
                    const std::vector<OSSL_PARAM>& extra) const {
  if (!can_derive(outsize)) return false;
  EVP_KDF* kdf = EVP_KDF_fetch(sw, kdf_, nullptr);
  EVP_KDF_CTX* kctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  std::vector<OSSL_PARAM> p;
  p.push_back(OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(EVP_MD_get0_name(md_)), 0));
  p.push_back(OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(z), zlen));
  if (!ukm_.empty())
    p.push_back(OSSL_PARAM_construct_octet_string(ukm_param_, const_cast<uint8_t*>(ukm_.data()), ukm_.size()));
  p.insert(p.end(), extra.begin(), extra.end());
  p.push_back(OSSL_PARAM_construct_end());
  const bool ok = kctx && EVP_KDF_derive(kctx, out, outlen_, p.data()) == 1;
  EVP_KDF_CTX_free(kctx);
  EVP_KDF_free(kdf);
  if (!ok) {
    OPENSSL_cleanse(out, outlen_);
    GT_RAISE(ERR_R_INTERNAL_ERROR, "%s: %s (%s, %zu bytes) failed", who_, kdf_, EVP_MD_get0_name(md_), outlen_);
  }
  return ok;
}

}  // namespace gputls::host
