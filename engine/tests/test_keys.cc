#include "test_keys.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <map>
#include <mutex>
#include <stdexcept>

namespace gputls::engine::testing {
namespace {

SecureBytes bn_param(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) throw std::runtime_error(std::string("no param ") + name);
  SecureBytes out(BN_num_bytes(bn));
  BN_bn2bin(bn, out.data());
  BN_clear_free(bn);
  return out;
}

}  // namespace

Bytes random_bytes(size_t n) {
  Bytes b(n);
  if (n && RAND_bytes(b.data(), static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes");
  return b;
}

EVP_PKEY* rsa_key(int bits, int index) {
  struct Cache {
    std::mutex mu;
    std::map<std::pair<int, int>, EVP_PKEY*> keys;
    ~Cache() {
      for (auto& [_, k] : keys) EVP_PKEY_free(k);
    }
  };
  static Cache cache;
  std::lock_guard<std::mutex> lock(cache.mu);
  auto& k = cache.keys[{bits, index}];
  if (!k) k = EVP_RSA_gen(static_cast<unsigned>(bits));
  if (!k) throw std::runtime_error("EVP_RSA_gen failed");
  return k;
}

RsaKeyMaterial rsa_material(EVP_PKEY* pkey) {
  RsaKeyMaterial m;
  m.n = bn_param(pkey, OSSL_PKEY_PARAM_RSA_N);
  m.e = bn_param(pkey, OSSL_PKEY_PARAM_RSA_E);
  m.d = bn_param(pkey, OSSL_PKEY_PARAM_RSA_D);
  m.p = bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1);
  m.q = bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2);
  m.dp = bn_param(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1);
  m.dq = bn_param(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2);
  m.qinv = bn_param(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
  return m;
}

Bytes random_below_modulus(EVP_PKEY* pkey) {
  Bytes b = random_bytes(static_cast<size_t>(EVP_PKEY_get_size(pkey)));
  b[0] &= 0x7f;  // < 2^(bits-1) <= n
  return b;
}

Bytes openssl_rsa_raw(EVP_PKEY* pkey, const Bytes& in) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
  Bytes out(in.size());
  size_t len = out.size();
  bool ok = c && EVP_PKEY_decrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) == 1 &&
            EVP_PKEY_decrypt(c, out.data(), &len, in.data(), in.size()) == 1;
  EVP_PKEY_CTX_free(c);
  if (!ok || len != out.size()) throw std::runtime_error("OpenSSL raw RSA failed");
  return out;
}

EVP_PKEY* x25519_key() { return EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"); }

X25519KeyMaterial x25519_material(EVP_PKEY* pkey) {
  X25519KeyMaterial m;
  m.priv.resize(32);
  size_t len = 32;
  if (EVP_PKEY_get_raw_private_key(pkey, m.priv.data(), &len) != 1 || len != 32)
    throw std::runtime_error("X25519 private key");
  return m;
}

Bytes x25519_public(EVP_PKEY* pkey) {
  Bytes pub(32);
  size_t len = 32;
  if (EVP_PKEY_get_raw_public_key(pkey, pub.data(), &len) != 1) throw std::runtime_error("X25519 public key");
  return pub;
}

Bytes openssl_x25519(EVP_PKEY* priv, const Bytes& peer_public) {
  EVP_PKEY* peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public.data(), peer_public.size());
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new(priv, nullptr);
  Bytes out(32);
  size_t len = 32;
  bool ok = peer && c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
            EVP_PKEY_derive(c, out.data(), &len) == 1;
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(peer);
  if (!ok) throw std::runtime_error("OpenSSL X25519 failed");
  return out;
}

DhTestKey::DhTestKey(int bits)
    : p_(bits == 2048 ? BN_get_rfc3526_prime_2048(nullptr) : BN_get_rfc3526_prime_3072(nullptr)),
      priv_(BN_new()) {
  if (!p_ || !priv_ || BN_rand(priv_, 256, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1)
    throw std::runtime_error("DH test key");
}

DhTestKey::~DhTestKey() {
  BN_free(p_);
  BN_clear_free(priv_);
}

DhKeyMaterial DhTestKey::material() const {
  DhKeyMaterial m;
  m.p.resize(BN_num_bytes(p_));
  BN_bn2bin(p_, m.p.data());
  m.priv.resize(BN_num_bytes(priv_));
  BN_bn2bin(priv_, m.priv.data());
  return m;
}

size_t DhTestKey::bytes() const { return static_cast<size_t>(BN_num_bytes(p_)); }

Bytes DhTestKey::p_bytes() const {
  Bytes b(bytes());
  BN_bn2binpad(p_, b.data(), static_cast<int>(b.size()));
  return b;
}

Bytes DhTestKey::random_below_p() const {
  BIGNUM* x = BN_new();
  Bytes b(bytes());
  if (!x || BN_rand_range(x, p_) != 1) throw std::runtime_error("BN_rand_range");
  BN_bn2binpad(x, b.data(), static_cast<int>(b.size()));
  BN_free(x);
  return b;
}

Bytes DhTestKey::openssl_modexp(const Bytes& in) const {
  BN_CTX* ctx = BN_CTX_new();
  BIGNUM* x = BN_bin2bn(in.data(), static_cast<int>(in.size()), nullptr);
  BIGNUM* y = BN_new();
  Bytes out(bytes());
  bool ok = ctx && x && y && BN_mod_exp(y, x, priv_, p_, ctx) == 1 &&
            BN_bn2binpad(y, out.data(), static_cast<int>(out.size())) > 0;
  BN_free(x);
  BN_free(y);
  BN_CTX_free(ctx);
  if (!ok) throw std::runtime_error("BN_mod_exp");
  return out;
}

}  // namespace gputls::engine::testing
