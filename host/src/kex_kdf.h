// The KDF a key exchange runs over its shared secret when asked, as the
// default provider's exchanges do (dh_exch.c: "X942KDF-ASN1", ecdh_exch.c:
// "X963KDF"): the settings kdf-type, kdf-digest (+ kdf-digest-props),
// kdf-outlen and kdf-ukm, and the derive through the KDF fetched from the
// provider's own library context. One class for both exchanges; each says
// which KDF it runs and where its ukm goes.
#pragma once

#include <openssl/core.h>
#include <openssl/evp.h>

#include <cstdint>
#include <vector>

namespace gputls::host {

class KexKdf {
 public:
  // who: "gputls DH" for messages; kdf: the one kdf-type accepted;
  // ukm_param: the KDF parameter the ukm is passed as.
  KexKdf(const char* who, const char* kdf, const char* ukm_param) : who_(who), kdf_(kdf), ukm_param_(ukm_param) {}
  KexKdf(const KexKdf& o);
  KexKdf& operator=(const KexKdf&) = delete;
  ~KexKdf();

  bool on() const { return on_; }
  void off() { on_ = false; }
  size_t outlen() const { return outlen_; }
  const EVP_MD* md() const { return md_; }

  // The four settings from params (those present); false with an error
  // on the queue for a bad one.
  bool set_params(OSSL_LIB_CTX* sw, const OSSL_PARAM params[]);
  // The four settings into params (those asked for).
  bool get_params(OSSL_PARAM params[]) const;

  // Whether derive() can run into outsize bytes (a digest set, kdf-outlen
  // fits): checked before the secret is computed; false says why.
  bool can_derive(size_t outsize) const;

  // The KDF's output (outlen() bytes) over z into out (outsize bytes), with
  // `extra` KDF parameters (e.g. cekalg); a failure wipes out and says why.
  bool derive(OSSL_LIB_CTX* sw, const uint8_t* z, size_t zlen, uint8_t* out, size_t outsize,
              const std::vector<OSSL_PARAM>& extra = {}) const;

 private:
  const char* who_;
  const char* kdf_;
  const char* ukm_param_;
  bool on_ = false;
  EVP_MD* md_ = nullptr;
  size_t outlen_ = 0;
  std::vector<uint8_t> ukm_;
};

}  // namespace gputls::host
