// Builds an OSSL_PARAM array of big-endian BIGNUM values. OSSL_PARAM_BLD
// keeps pointers to the BIGNUMs until to_param, so this owns them until then
// (and clears them: they are key material).
#pragma once

#include <openssl/bn.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <vector>

#include "gputls/engine/secure_bytes.h"

namespace gputls::host {

class BnParams {
 public:
  BnParams() : bld_(OSSL_PARAM_BLD_new()), ok_(bld_ != nullptr) {}
  ~BnParams() {
    for (BIGNUM* b : bns_) BN_clear_free(b);
    OSSL_PARAM_BLD_free(bld_);
  }
  BnParams(const BnParams&) = delete;
  BnParams& operator=(const BnParams&) = delete;

  // Empty values are skipped (absent optional components).
  BnParams& push(const char* name, const engine::SecureBytes& v) {
    if (!ok_ || v.empty()) return *this;
    BIGNUM* b = BN_bin2bn(v.data(), static_cast<int>(v.size()), BN_secure_new());
    if (b) bns_.push_back(b);
    ok_ = b && OSSL_PARAM_BLD_push_BN(bld_, name, b);
    return *this;
  }
  // Caller frees with OSSL_PARAM_free (which clears the secret part). nullptr on failure.
  OSSL_PARAM* build() { return ok_ ? OSSL_PARAM_BLD_to_param(bld_) : nullptr; }

 private:
  OSSL_PARAM_BLD* bld_;
  std::vector<BIGNUM*> bns_;
  bool ok_;
};

}  // namespace gputls::host
