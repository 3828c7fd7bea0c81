// No copy of an RSA key's secrets goes back to the heap unwiped while its
// kernel key blob is built and freed. Its own binary: it replaces the global
// operator delete to look into every block freed while armed for windows of
// the key's secret values (the big-endian bytes OpenSSL gives and the
// little-endian words the kernels use).
#include <gtest/gtest.h>
#include <malloc.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gputls/kernels/key_blob.h"

namespace {

constexpr size_t kWindow = 16;
std::vector<std::array<uint8_t, kWindow>> g_needles;  // filled before arming, read only while armed
bool g_armed = false;
int g_hits = 0;

void inspect(void* p) {
  if (!g_armed || !p) return;
  const size_t n = malloc_usable_size(p);
  for (const auto& needle : g_needles)
    if (memmem(p, n, needle.data(), needle.size())) ++g_hits;
}

}  // namespace

void operator delete(void* p) noexcept {
  inspect(p);
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  inspect(p);
  std::free(p);
}

namespace gputls::kernels {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes bn_param(EVP_PKEY* k, const char* name) {
  BIGNUM* b = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(k, name, &b), 1) << name;
  Bytes out(static_cast<size_t>(BN_num_bytes(b)));
  BN_bn2bin(b, out.data());
  BN_clear_free(b);
  return out;
}

// A window from the middle of the value, big-endian as given and as the
// little-endian 32-bit words the kernels hold.
void add_needles(const Bytes& be) {
  std::array<uint8_t, kWindow> w{};
  const size_t mid = (be.size() / 2) & ~size_t{3};
  std::memcpy(w.data(), be.data() + mid, kWindow);
  g_needles.push_back(w);
  Bytes le(be.rbegin(), be.rend());  // little-endian bytes = little-endian words on x86
  std::memcpy(w.data(), le.data() + mid, kWindow);
  g_needles.push_back(w);
}

TEST(KeyBlobWipe, FreedHeapHoldsNoSecretWords) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  ASSERT_NE(k, nullptr);
  const Bytes n = bn_param(k, OSSL_PKEY_PARAM_RSA_N), e = bn_param(k, OSSL_PKEY_PARAM_RSA_E),
              p = bn_param(k, OSSL_PKEY_PARAM_RSA_FACTOR1), q = bn_param(k, OSSL_PKEY_PARAM_RSA_FACTOR2),
              dp = bn_param(k, OSSL_PKEY_PARAM_RSA_EXPONENT1), dq = bn_param(k, OSSL_PKEY_PARAM_RSA_EXPONENT2),
              qinv = bn_param(k, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
  for (const Bytes* s : {&p, &q, &dp, &dq, &qinv}) add_needles(*s);
  g_hits = 0;
  g_armed = true;
  {
    std::string error;
    KeyBlob blob = make_rsa_key_blob(n, e, p, q, dp, dq, qinv, &error);
    g_armed = false;
    ASSERT_FALSE(blob.empty()) << error;
    g_armed = true;
  }  // the blob itself is freed here
  g_armed = false;
  EXPECT_EQ(g_hits, 0) << "freed heap blocks held words of the key's secrets";
  EVP_PKEY_free(k);
}

}  // namespace
}  // namespace gputls::kernels
