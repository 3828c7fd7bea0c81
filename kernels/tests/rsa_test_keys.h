// RSA keys from OpenSSL's default provider with their kernel blobs, and
// OpenSSL's raw private operation as the reference.
#pragma once

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "gputls/kernels/key_blob.h"
#include "gputls/kernels/rsa_batch.h"

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

// OpenSSL's raw RSA private operation (no padding): the reference result.
inline std::vector<uint8_t> openssl_raw_rsa(EVP_PKEY* pkey, const std::vector<uint8_t>& in) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
  std::vector<uint8_t> out(in.size());
  size_t len = out.size();
  bool ok = c && EVP_PKEY_decrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) == 1 &&
            EVP_PKEY_decrypt(c, out.data(), &len, in.data(), in.size()) == 1 && len == out.size();
  EVP_PKEY_CTX_free(c);
  if (!ok) throw std::runtime_error("OpenSSL raw RSA");
  return out;
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
  std::vector<uint8_t> openssl_raw(const std::vector<uint8_t>& in) const { return openssl_raw_rsa(pkey, in); }

  EVP_PKEY* pkey;
  KeyBlob blob;
};

// Outputs and statuses of one RSA-CRT batch run by the host twin of the kernel.
struct RsaHostResult {
  std::vector<uint8_t> out;      // count * bytes
  std::vector<uint32_t> status;  // count
  std::vector<uint8_t> item(size_t i, uint32_t bytes) const {
    return {out.begin() + static_cast<std::ptrdiff_t>(i * bytes),
            out.begin() + static_cast<std::ptrdiff_t>((i + 1) * bytes)};
  }
};

// Runs item i = key keys[i] on in[i*bytes ..] (big-endian) through rsa_batch_host,
// op kBatchRsaCrt. Outputs and statuses start as garbage (0xcc, ~0) so an item
// the batch never writes cannot pass as zeros or kRsaOk.
inline RsaHostResult rsa_crt_host(const std::vector<const uint32_t*>& keys, const std::vector<uint8_t>& in,
                                  uint32_t bytes) {
  const uint32_t count = static_cast<uint32_t>(keys.size());
  RsaHostResult r;
  r.out.assign(in.size(), 0xcc);
  r.status.assign(count, 0xffffffffu);
  std::vector<uint32_t> scratch;
  RsaBatch b;
  b.keys = keys.data();
  b.in = in.data();
  b.out = r.out.data();
  b.status = r.status.data();
  b.scratch_words = static_cast<uint32_t>(rsa_scratch_words(static_cast<int>(bytes / 4)));
  scratch.assign(static_cast<size_t>(count) * b.scratch_words, 0);
  b.scratch = scratch.data();
  b.count = count;
  b.bytes = bytes;
  b.op = kBatchRsaCrt;
  rsa_batch_host(b);
  return r;
}

}  // namespace gputls::kernels::testing
