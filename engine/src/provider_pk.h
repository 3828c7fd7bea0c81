// Public-key operations through the default provider's own functions, found
// with OSSL_PROVIDER_query_operation, as ProviderGcm does for AES-GCM: the
// same code EVP reaches (constant-time ladders, blinded RSA, nistz256),
// called without EVP's wrapper. That wrapper is what made the CPU backend
// dear: every EVP_PKEY_CTX made from a provider key walks the library
// context's whole name map twice (EVP_KEYMGMT_names_do_all, to find a legacy
// type), every raw key made by name fetches its key manager, and every
// operation fetches its method again. Per TLS 1.3 handshake on the CPU path
// that came to about 170,000 instructions (callgrind, server side only:
// X25519 keygen and derive, ECDSA sign), more than the 5% of libssl's floor
// gputls may add (issue 24).
#pragma once

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/provider.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace gputls::engine {

class ProviderPk {
 public:
  enum class Alg { kRsa, kEc, kX25519, kCount };

  struct KeyMgmt {
    OSSL_FUNC_keymgmt_new_fn* make = nullptr;
    OSSL_FUNC_keymgmt_free_fn* free = nullptr;
    OSSL_FUNC_keymgmt_import_fn* import = nullptr;
    OSSL_FUNC_keymgmt_get_params_fn* get_params = nullptr;
  };

  // A key object inside the provider; read-only once imported, so one key
  // serves any number of threads. The provider frees (and cleanses) it.
  class Key {
   public:
    Key() = default;
    ~Key() { reset(); }
    Key(Key&& o) noexcept : m_(o.m_), alg_(o.alg_), k_(o.k_) { o.k_ = nullptr; }
    Key& operator=(Key&& o) noexcept;
    Key(const Key&) = delete;
    Key& operator=(const Key&) = delete;
    explicit operator bool() const { return k_ != nullptr; }
    Alg alg() const { return alg_; }
    void* data() const { return k_; }
    // The key manager's get_params (e.g. OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY).
    bool get(OSSL_PARAM* params) const { return k_ && m_->get_params(k_, params) == 1; }

   private:
    friend class ProviderPk;
    Key(const KeyMgmt* m, Alg a, void* k) : m_(m), alg_(a), k_(k) {}
    void reset();
    const KeyMgmt* m_ = nullptr;
    Alg alg_ = Alg::kCount;
    void* k_ = nullptr;
  };

  // The provider's RSA, EC and X25519 key managers, X25519 and ECDH key
  // exchange, ECDSA signatures and RSA decryption; nullptr and *error when
  // one is missing. prov must outlive this object.
  static std::unique_ptr<ProviderPk> find(OSSL_PROVIDER* prov, std::string* error);
  ~ProviderPk();
  ProviderPk(const ProviderPk&) = delete;
  ProviderPk& operator=(const ProviderPk&) = delete;

  // The key manager's import of `selection` (OSSL_KEYMGMT_SELECT_*) from
  // params, with the checks it makes (EC points on the curve, X25519's public
  // key computed from a private one); empty on failure.
  Key import(Alg alg, int selection, const OSSL_PARAM* params) const;

  // Key exchange of two keys of the same algorithm (X25519 or EC): *len in,
  // the buffer's size; out, the secret's. False on failure (an all-zero
  // X25519 result included).
  bool derive(const Key& ours, const Key& peer, uint8_t* out, size_t* len) const;

  // ECDSA over the digest as given: a DER signature into der (*len in: its
  // size, out: the signature's length).
  bool ecdsa_sign(const Key& key, const uint8_t* digest, size_t digest_len, uint8_t* der, size_t* len) const;
  // 1 if the DER signature verifies, 0 if not, -1 when the operation fails.
  int ecdsa_verify(const Key& key, const uint8_t* der, size_t der_len, const uint8_t* digest, size_t digest_len) const;

  // in^d mod n without padding (OpenSSL blinds it); *len as for derive().
  bool rsa_raw_decrypt(const Key& key, const uint8_t* in, size_t in_len, uint8_t* out, size_t* len) const;

  struct KeyExch {
    OSSL_FUNC_keyexch_newctx_fn* newctx = nullptr;
    OSSL_FUNC_keyexch_freectx_fn* freectx = nullptr;
    OSSL_FUNC_keyexch_init_fn* init = nullptr;
    OSSL_FUNC_keyexch_set_peer_fn* set_peer = nullptr;
    OSSL_FUNC_keyexch_derive_fn* derive = nullptr;
  };
  struct Signature {
    OSSL_FUNC_signature_newctx_fn* newctx = nullptr;
    OSSL_FUNC_signature_freectx_fn* freectx = nullptr;
    OSSL_FUNC_signature_sign_init_fn* sign_init = nullptr;
    OSSL_FUNC_signature_sign_fn* sign = nullptr;
    OSSL_FUNC_signature_verify_init_fn* verify_init = nullptr;
    OSSL_FUNC_signature_verify_fn* verify = nullptr;
  };
  struct AsymCipher {
    OSSL_FUNC_asym_cipher_newctx_fn* newctx = nullptr;
    OSSL_FUNC_asym_cipher_freectx_fn* freectx = nullptr;
    OSSL_FUNC_asym_cipher_decrypt_init_fn* decrypt_init = nullptr;
    OSSL_FUNC_asym_cipher_decrypt_fn* decrypt = nullptr;
  };

 private:
  explicit ProviderPk(OSSL_PROVIDER* prov);
  void* provctx() const { return OSSL_PROVIDER_get0_provider_ctx(prov_); }

  OSSL_PROVIDER* prov_;
  // Each operation's algorithm table, handed back with
  // OSSL_PROVIDER_unquery_operation.
  const OSSL_ALGORITHM* keymgmt_algs_ = nullptr;
  const OSSL_ALGORITHM* keyexch_algs_ = nullptr;
  const OSSL_ALGORITHM* signature_algs_ = nullptr;
  const OSSL_ALGORITHM* cipher_algs_ = nullptr;
  KeyMgmt mgmt_[static_cast<size_t>(Alg::kCount)];
  KeyExch x25519_, ecdh_;
  Signature ecdsa_;
  AsymCipher rsa_;
};

}  // namespace gputls::engine
