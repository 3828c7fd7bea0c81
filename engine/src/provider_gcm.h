// AES-GCM records through the default provider's own cipher functions, found
// with OSSL_PROVIDER_query_operation: the same GCM code EVP reaches (AES-NI /
// VAES / PCLMULQDQ, constant time), called without EVP's wrapper around each
// call (an IV-length query per init, parameter lookups, ctrl-to-params
// translation). On a 64-byte record that wrapper costs more than the engine
// itself: a record through the engine this way took 134 ns where OpenSSL's
// EVP calls alone took 189 ns (same run, one core; 1 KiB 250 vs 304 ns), and
// gputls's TLS path would otherwise pay EVP twice, libssl's calls into
// gputls and gputls's into OpenSSL.
#pragma once

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/provider.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "gputls/engine/status.h"

namespace gputls::engine {

struct AeadParams;

class ProviderGcm {
 public:
  // One algorithm's functions (AES-128-GCM or AES-256-GCM).
  struct Fns {
    OSSL_FUNC_cipher_newctx_fn* newctx = nullptr;
    OSSL_FUNC_cipher_freectx_fn* freectx = nullptr;
    OSSL_FUNC_cipher_encrypt_init_fn* einit = nullptr;
    OSSL_FUNC_cipher_decrypt_init_fn* dinit = nullptr;
    OSSL_FUNC_cipher_update_fn* update = nullptr;
    OSSL_FUNC_cipher_final_fn* final = nullptr;
    OSSL_FUNC_cipher_get_ctx_params_fn* get_ctx_params = nullptr;
    OSSL_FUNC_cipher_set_ctx_params_fn* set_ctx_params = nullptr;
    bool complete() const;
  };

  // A provider context holding one key's schedule. Not shareable between
  // threads. Freed by the provider, which cleanses it.
  class Ctx {
   public:
    Ctx() = default;
    Ctx(const Fns* f, void* c) : f_(f), c_(c) {}
    ~Ctx() { reset(); }
    Ctx(Ctx&& o) noexcept : f_(o.f_), c_(o.c_) { o.c_ = nullptr; }
    Ctx& operator=(Ctx&& o) noexcept;
    Ctx(const Ctx&) = delete;
    Ctx& operator=(const Ctx&) = delete;
    explicit operator bool() const { return c_ != nullptr; }
    // One record (a's nonce, AAD and tag; len bytes in -> out): seal writes
    // the tag, open checks it (kCryptoFailure on a mismatch; the caller wipes
    // out). Sizes are the engine's validated ones (below 2^30).
    Status record(bool seal, const AeadParams& a, const uint8_t* in, uint8_t* out, size_t len);

   private:
    friend class ProviderGcm;
    void reset();
    const Fns* f_ = nullptr;
    void* c_ = nullptr;
  };

  // The provider's AES-128-GCM and AES-256-GCM; nullptr and *error when it
  // lacks either (or a function of them). prov must outlive this object.
  static std::unique_ptr<ProviderGcm> find(OSSL_PROVIDER* prov, std::string* error);
  ~ProviderGcm();
  ProviderGcm(const ProviderGcm&) = delete;
  ProviderGcm& operator=(const ProviderGcm&) = delete;

  // A context keyed with key (16 or 32 bytes); empty on failure.
  Ctx keyed(const uint8_t* key, size_t len) const;

 private:
  ProviderGcm(OSSL_PROVIDER* prov, const OSSL_ALGORITHM* algs) : prov_(prov), algs_(algs) {}
  OSSL_PROVIDER* prov_;
  const OSSL_ALGORITHM* algs_;  // handed back with OSSL_PROVIDER_unquery_operation
  Fns aes128_, aes256_;
};

}  // namespace gputls::engine
