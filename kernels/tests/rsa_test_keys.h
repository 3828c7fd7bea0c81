// RSA keys from OpenSSL's default provider with their kernel blobs, and
// OpenSSL's raw private operation as the reference.
#pragma once

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "gputls/kernels/key_blob.h"

namespace gputls::kernels::testing {

struct RsaFields {
  std::vector<uint8_t> n, e, d, p, q, dp, dq, qinv;
};

inline std::vector<uint8_t> bn_field(EVP_PKEY* k, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) throw std::runtime_error(name);
  std::vector<uint8_t> v(BN_num_bytes(bn));
  BN_bn2bin(bn, v.data());
  BN_clear_free(bn);
  return v;
}

inline RsaFields rsa_fields(EVP_PKEY* k) {
  return {bn_field(k, OSSL_PKEY_PARAM_RSA_N),         bn_field(k, OSSL_PKEY_PARAM_RSA_E),
          bn_field(k, OSSL_PKEY_PARAM_RSA_D),         bn_field(k, OSSL_PKEY_PARAM_RSA_FACTOR1),
          bn_field(k, OSSL_PKEY_PARAM_RSA_FACTOR2),   bn_field(k, OSSL_PKEY_PARAM_RSA_EXPONENT1),
          bn_field(k, OSSL_PKEY_PARAM_RSA_EXPONENT2), bn_field(k, OSSL_PKEY_PARAM_RSA_COEFFICIENT1)};
}

inline KeyBlob blob_of(const RsaFields& f) {
  std::string err;
  KeyBlob b = make_rsa_key_blob(f.n, f.e, f.p, f.q, f.dp, f.dq, f.qinv, &err);
  if (b.empty()) throw std::runtime_error("key blob: " + err);
  return b;
}

// A key owned by the test (EVP_PKEY) plus its blob; `bits` fresh from OpenSSL,
// or adopted from an existing EVP_PKEY.
struct TestRsaKey {
  explicit TestRsaKey(int bits) : pkey(EVP_RSA_gen(static_cast<unsigned>(bits))) {
    if (!pkey) throw std::runtime_error("EVP_RSA_gen");
    if (bits % 64 == 0) blob = blob_of(fields());
  }
  explicit TestRsaKey(EVP_PKEY* adopt) : pkey(adopt) { blob = blob_of(fields()); }
  ~TestRsaKey() { EVP_PKEY_free(pkey); }
  TestRsaKey(const TestRsaKey&) = delete;
  TestRsaKey& operator=(const TestRsaKey&) = delete;

  RsaFields fields() const { return rsa_fields(pkey); }
  size_t bytes() const { return static_cast<size_t>(EVP_PKEY_get_size(pkey)); }
  std::vector<uint8_t> n_bytes() const {
    auto n = bn_field(pkey, OSSL_PKEY_PARAM_RSA_N);
    n.insert(n.begin(), bytes() - n.size(), 0);
    return n;
  }
  // Uniform below 2^(bits-1) <= n.
  std::vector<uint8_t> random_input() const {
    std::vector<uint8_t> v(bytes());
    RAND_bytes(v.data(), static_cast<int>(v.size()));
    v[0] &= 0x7f;
    return v;
  }
  std::vector<uint8_t> openssl_raw(const std::vector<uint8_t>& in) const {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
    std::vector<uint8_t> out(in.size());
    size_t len = out.size();
    bool ok = c && EVP_PKEY_decrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) == 1 &&
              EVP_PKEY_decrypt(c, out.data(), &len, in.data(), in.size()) == 1 && len == out.size();
    EVP_PKEY_CTX_free(c);
    if (!ok) throw std::runtime_error("OpenSSL raw RSA");
    return out;
  }

  EVP_PKEY* pkey;
  KeyBlob blob;
};

}  // namespace gputls::kernels::testing
