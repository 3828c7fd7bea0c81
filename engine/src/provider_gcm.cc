#include "provider_gcm.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstring>

#include "gputls/engine/request.h"
#include "provider_algs.h"

namespace gputls::engine {
namespace {

bool fns_of(const OSSL_ALGORITHM* algs, const char* name, ProviderGcm::Fns* f) {
  const OSSL_ALGORITHM* a = find_algorithm(algs, name);
  if (!a) return false;
  for (const OSSL_DISPATCH* d = a->implementation; d->function_id != 0; ++d) {
    switch (d->function_id) {
      case OSSL_FUNC_CIPHER_NEWCTX: f->newctx = OSSL_FUNC_cipher_newctx(d); break;
      case OSSL_FUNC_CIPHER_FREECTX: f->freectx = OSSL_FUNC_cipher_freectx(d); break;
      case OSSL_FUNC_CIPHER_ENCRYPT_INIT: f->einit = OSSL_FUNC_cipher_encrypt_init(d); break;
      case OSSL_FUNC_CIPHER_DECRYPT_INIT: f->dinit = OSSL_FUNC_cipher_decrypt_init(d); break;
      case OSSL_FUNC_CIPHER_UPDATE: f->update = OSSL_FUNC_cipher_update(d); break;
      case OSSL_FUNC_CIPHER_FINAL: f->final = OSSL_FUNC_cipher_final(d); break;
      case OSSL_FUNC_CIPHER_GET_CTX_PARAMS: f->get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(d); break;
      case OSSL_FUNC_CIPHER_SET_CTX_PARAMS: f->set_ctx_params = OSSL_FUNC_cipher_set_ctx_params(d); break;
      default: break;
    }
  }
  return f->complete();
}

}  // namespace

bool ProviderGcm::Fns::complete() const {
  return newctx && freectx && einit && dinit && update && final && get_ctx_params && set_ctx_params;
}

std::unique_ptr<ProviderGcm> ProviderGcm::find(OSSL_PROVIDER* prov, std::string* error) {
  int no_cache = 0;
  const OSSL_ALGORITHM* algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_cache);
  std::unique_ptr<ProviderGcm> g(new ProviderGcm(prov, algs));
  if (!algs || !fns_of(algs, "AES-128-GCM", &g->aes128_) || !fns_of(algs, "AES-256-GCM", &g->aes256_)) {
    *error = "gputls: OpenSSL's default provider offers no usable AES-128-GCM / AES-256-GCM cipher functions";
    return nullptr;
  }
  return g;
}

ProviderGcm::~ProviderGcm() {
  if (algs_) OSSL_PROVIDER_unquery_operation(prov_, OSSL_OP_CIPHER, algs_);
}

ProviderGcm::Ctx ProviderGcm::keyed(const uint8_t* key, size_t len) const {
  const Fns* f = len == 16 ? &aes128_ : len == 32 ? &aes256_ : nullptr;
  if (!f) return Ctx();
  Ctx c(f, f->newctx(OSSL_PROVIDER_get0_provider_ctx(prov_)));
  if (!c || f->einit(c.c_, key, len, nullptr, 0, nullptr) != 1) return Ctx();
  return c;
}

ProviderGcm::Ctx& ProviderGcm::Ctx::operator=(Ctx&& o) noexcept {
  if (this != &o) {
    reset();
    f_ = o.f_;
    c_ = o.c_;
    o.c_ = nullptr;
  }
  return *this;
}

void ProviderGcm::Ctx::reset() {
  if (c_) f_->freectx(c_);  // the provider cleanses the key schedule
  c_ = nullptr;
}


// The calls EVP_CipherInit_ex2 / Update / Final / ctrl(tag) make, in the same
// order, with the lengths EVP would pass. The tag parameter is one element,
// so the provider finds it with a single name comparison; it is written out
// (OSSL_PARAM_DEFN: what OSSL_PARAM_construct_octet_string returns) rather
// than built by two calls into libcrypto per record.
Status ProviderGcm::Ctx::record(bool seal, const AeadParams& a, const uint8_t* in, uint8_t* out, size_t len) {
  OSSL_PARAM tag[] = {OSSL_PARAM_DEFN(OSSL_CIPHER_PARAM_AEAD_TAG, OSSL_PARAM_OCTET_STRING, a.tag, a.tag_len),
                      OSSL_PARAM_END};
  size_t n = 0;
  unsigned char fin[16];
  const bool ok = (seal ? f_->einit : f_->dinit)(c_, nullptr, 0, a.nonce, a.nonce_len, nullptr) == 1 &&
                  (seal || f_->set_ctx_params(c_, tag) == 1) &&
                  (a.aad_len == 0 || f_->update(c_, nullptr, &n, a.aad_len, a.aad, a.aad_len) == 1) &&
                  (len == 0 || (f_->update(c_, out, &n, len, in, len) == 1 && n == len)) &&
                  f_->final(c_, fin, &n, sizeof fin) == 1 && (!seal || f_->get_ctx_params(c_, tag) == 1);
  return ok ? Status::kOk : Status::kCryptoFailure;
}

}  // namespace gputls::engine
