#include "provider_pk.h"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "provider_algs.h"

namespace gputls::engine {
namespace {

// Each operation's functions from one algorithm's dispatch table.
void take(const OSSL_DISPATCH* d, ProviderPk::KeyMgmt* f) {
  for (; d->function_id != 0; ++d) {
    switch (d->function_id) {
      case OSSL_FUNC_KEYMGMT_NEW: f->make = OSSL_FUNC_keymgmt_new(d); break;
      case OSSL_FUNC_KEYMGMT_FREE: f->free = OSSL_FUNC_keymgmt_free(d); break;
      case OSSL_FUNC_KEYMGMT_IMPORT: f->import = OSSL_FUNC_keymgmt_import(d); break;
      case OSSL_FUNC_KEYMGMT_GET_PARAMS: f->get_params = OSSL_FUNC_keymgmt_get_params(d); break;
      default: break;
    }
  }
}

void take(const OSSL_DISPATCH* d, ProviderPk::KeyExch* f) {
  for (; d->function_id != 0; ++d) {
    switch (d->function_id) {
      case OSSL_FUNC_KEYEXCH_NEWCTX: f->newctx = OSSL_FUNC_keyexch_newctx(d); break;
      case OSSL_FUNC_KEYEXCH_FREECTX: f->freectx = OSSL_FUNC_keyexch_freectx(d); break;
      case OSSL_FUNC_KEYEXCH_INIT: f->init = OSSL_FUNC_keyexch_init(d); break;
      case OSSL_FUNC_KEYEXCH_SET_PEER: f->set_peer = OSSL_FUNC_keyexch_set_peer(d); break;
      case OSSL_FUNC_KEYEXCH_DERIVE: f->derive = OSSL_FUNC_keyexch_derive(d); break;
      default: break;
    }
  }
}

void take(const OSSL_DISPATCH* d, ProviderPk::Signature* f) {
  for (; d->function_id != 0; ++d) {
    switch (d->function_id) {
      case OSSL_FUNC_SIGNATURE_NEWCTX: f->newctx = OSSL_FUNC_signature_newctx(d); break;
      case OSSL_FUNC_SIGNATURE_FREECTX: f->freectx = OSSL_FUNC_signature_freectx(d); break;
      case OSSL_FUNC_SIGNATURE_SIGN_INIT: f->sign_init = OSSL_FUNC_signature_sign_init(d); break;
      case OSSL_FUNC_SIGNATURE_SIGN: f->sign = OSSL_FUNC_signature_sign(d); break;
      case OSSL_FUNC_SIGNATURE_VERIFY_INIT: f->verify_init = OSSL_FUNC_signature_verify_init(d); break;
      case OSSL_FUNC_SIGNATURE_VERIFY: f->verify = OSSL_FUNC_signature_verify(d); break;
      default: break;
    }
  }
}

void take(const OSSL_DISPATCH* d, ProviderPk::AsymCipher* f) {
  for (; d->function_id != 0; ++d) {
    switch (d->function_id) {
      case OSSL_FUNC_ASYM_CIPHER_NEWCTX: f->newctx = OSSL_FUNC_asym_cipher_newctx(d); break;
      case OSSL_FUNC_ASYM_CIPHER_FREECTX: f->freectx = OSSL_FUNC_asym_cipher_freectx(d); break;
      case OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT: f->decrypt_init = OSSL_FUNC_asym_cipher_decrypt_init(d); break;
      case OSSL_FUNC_ASYM_CIPHER_DECRYPT: f->decrypt = OSSL_FUNC_asym_cipher_decrypt(d); break;
      default: break;
    }
  }
}

bool complete(const ProviderPk::KeyMgmt& f) { return f.make && f.free && f.import && f.get_params; }
bool complete(const ProviderPk::KeyExch& f) { return f.newctx && f.freectx && f.init && f.set_peer && f.derive; }
bool complete(const ProviderPk::Signature& f) {
  return f.newctx && f.freectx && f.sign_init && f.sign && f.verify_init && f.verify;
}
bool complete(const ProviderPk::AsymCipher& f) { return f.newctx && f.freectx && f.decrypt_init && f.decrypt; }

template <class Fns>
bool lookup(const OSSL_ALGORITHM* algs, const char* name, Fns* f) {
  const OSSL_ALGORITHM* a = find_algorithm(algs, name);
  if (a) take(a->implementation, f);
  return a && complete(*f);
}

// An operation context of the provider, freed on every path.
template <class Free>
struct OpCtx {
  OpCtx(void* c, Free* f) : ctx(c), free(f) {}
  ~OpCtx() {
    if (ctx) free(ctx);
  }
  OpCtx(const OpCtx&) = delete;
  OpCtx& operator=(const OpCtx&) = delete;
  void* ctx;
  Free* free;
};

}  // namespace

ProviderPk::Key& ProviderPk::Key::operator=(Key&& o) noexcept {
  if (this != &o) {
    reset();
    m_ = o.m_;
    alg_ = o.alg_;
    k_ = o.k_;
    o.k_ = nullptr;
  }
  return *this;
}

void ProviderPk::Key::reset() {
  if (k_) m_->free(k_);
  k_ = nullptr;
}

ProviderPk::ProviderPk(OSSL_PROVIDER* prov) : prov_(prov) {}

std::unique_ptr<ProviderPk> ProviderPk::find(OSSL_PROVIDER* prov, std::string* error) {
  std::unique_ptr<ProviderPk> p(new ProviderPk(prov));
  int no_cache = 0;
  p->keymgmt_algs_ = OSSL_PROVIDER_query_operation(prov, OSSL_OP_KEYMGMT, &no_cache);
  p->keyexch_algs_ = OSSL_PROVIDER_query_operation(prov, OSSL_OP_KEYEXCH, &no_cache);
  p->signature_algs_ = OSSL_PROVIDER_query_operation(prov, OSSL_OP_SIGNATURE, &no_cache);
  p->cipher_algs_ = OSSL_PROVIDER_query_operation(prov, OSSL_OP_ASYM_CIPHER, &no_cache);
  auto& m = p->mgmt_;
  const bool ok = lookup(p->keymgmt_algs_, "RSA", &m[static_cast<size_t>(Alg::kRsa)]) &&
                  lookup(p->keymgmt_algs_, "EC", &m[static_cast<size_t>(Alg::kEc)]) &&
                  lookup(p->keymgmt_algs_, "X25519", &m[static_cast<size_t>(Alg::kX25519)]) &&
                  lookup(p->keyexch_algs_, "X25519", &p->x25519_) && lookup(p->keyexch_algs_, "ECDH", &p->ecdh_) &&
                  lookup(p->signature_algs_, "ECDSA", &p->ecdsa_) && lookup(p->cipher_algs_, "RSA", &p->rsa_);
  if (!ok) {
    *error = "gputls: OpenSSL's default provider lacks a usable RSA, EC or X25519 key manager, X25519 or ECDH key "
             "exchange, ECDSA signature or RSA cipher";
    return nullptr;
  }
  return p;
}

ProviderPk::~ProviderPk() {
  if (keymgmt_algs_) OSSL_PROVIDER_unquery_operation(prov_, OSSL_OP_KEYMGMT, keymgmt_algs_);
  if (keyexch_algs_) OSSL_PROVIDER_unquery_operation(prov_, OSSL_OP_KEYEXCH, keyexch_algs_);
  if (signature_algs_) OSSL_PROVIDER_unquery_operation(prov_, OSSL_OP_SIGNATURE, signature_algs_);
  if (cipher_algs_) OSSL_PROVIDER_unquery_operation(prov_, OSSL_OP_ASYM_CIPHER, cipher_algs_);
}

ProviderPk::Key ProviderPk::import(Alg alg, int selection, const OSSL_PARAM* params) const {
  const KeyMgmt* m = &mgmt_[static_cast<size_t>(alg)];
  Key k(m, alg, m->make(provctx()));
  if (!k || m->import(k.k_, selection, params) != 1) return Key();
  return k;
}

bool ProviderPk::derive(const Key& ours, const Key& peer, uint8_t* out, size_t* len) const {
  if (!ours || !peer || ours.alg() != peer.alg() || ours.alg() == Alg::kRsa) return false;
  const KeyExch& f = ours.alg() == Alg::kX25519 ? x25519_ : ecdh_;
  OpCtx<OSSL_FUNC_keyexch_freectx_fn> c(f.newctx(provctx()), f.freectx);
  const size_t size = *len;
  return c.ctx && f.init(c.ctx, ours.data(), nullptr) == 1 && f.set_peer(c.ctx, peer.data()) == 1 &&
         f.derive(c.ctx, out, len, size) == 1;
}

bool ProviderPk::ecdsa_sign(const Key& key, const uint8_t* digest, size_t digest_len, uint8_t* der,
                            size_t* len) const {
  if (!key || key.alg() != Alg::kEc) return false;
  OpCtx<OSSL_FUNC_signature_freectx_fn> c(ecdsa_.newctx(provctx(), nullptr), ecdsa_.freectx);
  const size_t size = *len;
  return c.ctx && ecdsa_.sign_init(c.ctx, key.data(), nullptr) == 1 &&
         ecdsa_.sign(c.ctx, der, len, size, digest, digest_len) == 1;
}

int ProviderPk::ecdsa_verify(const Key& key, const uint8_t* der, size_t der_len, const uint8_t* digest,
                             size_t digest_len) const {
  if (!key || key.alg() != Alg::kEc) return -1;
  OpCtx<OSSL_FUNC_signature_freectx_fn> c(ecdsa_.newctx(provctx(), nullptr), ecdsa_.freectx);
  if (!c.ctx || ecdsa_.verify_init(c.ctx, key.data(), nullptr) != 1) return -1;
  return ecdsa_.verify(c.ctx, der, der_len, digest, digest_len) == 1 ? 1 : 0;
}

bool ProviderPk::rsa_raw_decrypt(const Key& key, const uint8_t* in, size_t in_len, uint8_t* out, size_t* len) const {
  if (!key || key.alg() != Alg::kRsa) return false;
  int pad = RSA_NO_PADDING;
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, &pad),
                               OSSL_PARAM_construct_end()};
  OpCtx<OSSL_FUNC_asym_cipher_freectx_fn> c(rsa_.newctx(provctx()), rsa_.freectx);
  const size_t size = *len;
  return c.ctx && rsa_.decrypt_init(c.ctx, key.data(), params) == 1 &&
         rsa_.decrypt(c.ctx, out, len, size, in, in_len) == 1;
}

}  // namespace gputls::engine
