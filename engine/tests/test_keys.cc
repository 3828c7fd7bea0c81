#include "test_keys.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
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

EVP_PKEY* ec_key(int bits) {
  return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", bits == 256 ? "P-256" : "P-384");
}

EcKeyMaterial ec_material(EVP_PKEY* pkey, int bits) {
  EcKeyMaterial m;
  m.curve_bits = static_cast<uint32_t>(bits);
  BIGNUM* d = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) throw std::runtime_error("EC private key");
  m.priv.resize(static_cast<size_t>(bits / 8));
  BN_bn2binpad(d, m.priv.data(), static_cast<int>(m.priv.size()));
  BN_clear_free(d);
  return m;
}

Bytes ec_public(EVP_PKEY* pkey) {
  Bytes pub(97);
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size(), &len) != 1)
    throw std::runtime_error("EC public key");
  pub.resize(len);
  if (pub.empty() || pub[0] != 0x04) throw std::runtime_error("EC public key not uncompressed");
  return pub;
}

Bytes ec_order(int bits) {
  EC_GROUP* g = EC_GROUP_new_by_curve_name(bits == 256 ? NID_X9_62_prime256v1 : NID_secp384r1);
  if (!g) throw std::runtime_error("EC group");
  Bytes n(static_cast<size_t>(bits / 8));
  BN_bn2binpad(EC_GROUP_get0_order(g), n.data(), static_cast<int>(n.size()));
  EC_GROUP_free(g);
  return n;
}

Bytes openssl_ecdh(EVP_PKEY* priv, const Bytes& peer_public) {
  char group[32] = {};
  size_t glen = 0;
  if (EVP_PKEY_get_utf8_string_param(priv, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen) != 1)
    throw std::runtime_error("EC group name");
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                         OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                           const_cast<uint8_t*>(peer_public.data()),
                                                           peer_public.size()),
                         OSSL_PARAM_construct_end()};
  EVP_PKEY* peer = nullptr;
  EVP_PKEY_CTX* pc = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  if (!pc || EVP_PKEY_fromdata_init(pc) != 1 || EVP_PKEY_fromdata(pc, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
    peer = nullptr;
  EVP_PKEY_CTX_free(pc);
  EVP_PKEY_CTX* c = peer ? EVP_PKEY_CTX_new(priv, nullptr) : nullptr;
  Bytes out(48);
  size_t len = out.size();
  bool ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, peer) == 1 &&
            EVP_PKEY_derive(c, out.data(), &len) == 1;
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(peer);
  if (!ok) throw std::runtime_error("OpenSSL ECDH failed");
  out.resize(len);
  return out;
}

bool openssl_ecdsa_verify(EVP_PKEY* pkey, const Bytes& digest, const Bytes& rs) {
  const int w = static_cast<int>(rs.size() / 2);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(rs.data(), w, nullptr);
  BIGNUM* s = BN_bin2bn(rs.data() + w, w, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) throw std::runtime_error("ECDSA_SIG");
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (der_len <= 0) throw std::runtime_error("i2d_ECDSA_SIG");
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new(pkey, nullptr);
  bool ok = c && EVP_PKEY_verify_init(c) == 1 &&
            EVP_PKEY_verify(c, der, static_cast<size_t>(der_len), digest.data(), digest.size()) == 1;
  EVP_PKEY_CTX_free(c);
  OPENSSL_free(der);
  return ok;
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
