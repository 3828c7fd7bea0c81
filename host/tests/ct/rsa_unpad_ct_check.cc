// Constant-time check of the provider's RSA decryption unpadding (PKCS#1 v1.5
// type 2, with and without implicit rejection, OAEP, TLS premaster), ctgrind style: run under valgrind memcheck,
// the decrypted block is marked undefined (secret) and memcheck reports any
// branch or memory index that depends on it. Only the returned length (which
// OpenSSL 3.0's API reveals as success or failure) is marked public before
// it is read.
//
// The blocks are real: OpenSSL's default provider encrypts with the padding
// and decrypts without padding, so each decoder sees what the engine returns.
// Well-formed and malformed blocks both run; results must match OpenSSL.
//
//   --leaky   negative control: an early-exit scan for the zero separator on
//             marked data; valgrind must report it (the ctest expects failure).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "memcheck_marks.h"
#include "rsa_padding.h"
#include "rsa_unpad.h"

namespace {

using Bytes = std::vector<uint8_t>;
using namespace gputls::kernels::ct;
using namespace gputls::host;

int g_failures = 0;
void fail(const std::string& what) {
  std::fprintf(stderr, "rsa_unpad_ct_check: FAIL: %s\n", what.c_str());
  ++g_failures;
}

// The raw (unpadded) decryption of `pt` encrypted with `pad`: the block a decoder sees.
Bytes padded_block(EVP_PKEY* key, int pad, const Bytes& pt, const char* oaep_md) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new(key, nullptr);
  Bytes ct(static_cast<size_t>(EVP_PKEY_get_size(key))), em(ct.size());
  size_t len = ct.size(), elen = em.size();
  bool ok = EVP_PKEY_encrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, pad) == 1 &&
            (!oaep_md || EVP_PKEY_CTX_set_rsa_oaep_md_name(c, oaep_md, nullptr) == 1) &&
            EVP_PKEY_encrypt(c, ct.data(), &len, pt.data(), pt.size()) == 1 && EVP_PKEY_decrypt_init(c) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) == 1 &&
            EVP_PKEY_decrypt(c, em.data(), &elen, ct.data(), len) == 1;
  EVP_PKEY_CTX_free(c);
  if (!ok) fail("OpenSSL could not make a padded block");
  return em;
}

// Runs one decoder on a secret block and checks what it returns.
template <class Decode>
void check(const char* name, Bytes em, long want_len, const Bytes& want_msg, Decode decode) {
  Bytes out(em.size(), 0);
  const unsigned long errors_before = errors_so_far();
  mark_secret(em.data(), em.size());
  if (undefined_bytes(em.data(), em.size()) == 0) fail(std::string(name) + ": marking had no effect");
  long got = decode(em.data(), em.size(), out.data(), out.size());
  mark_public(&got, 1);
  mark_public(out.data(), out.size());
  if (errors_so_far() != errors_before) fail(std::string(name) + ": secret-dependent branch or index");
  if (got != want_len) fail(std::string(name) + ": length " + std::to_string(got) + ", want " + std::to_string(want_len));
  if (got >= 0 && std::memcmp(out.data(), want_msg.data(), want_msg.size()) != 0) fail(std::string(name) + ": wrong message");
  std::printf("%s: %s\n", name, got >= 0 ? "decoded" : "rejected");
}

// The negative control: what a naive decoder does (stops at the first zero).
long leaky_decode(const uint8_t* em, size_t k, uint8_t* out, size_t outsize) {
  size_t i = 2;
  while (i < k && em[i] != 0) ++i;
  const size_t mlen = k - i - 1;
  if (mlen > outsize) return -1;
  std::memcpy(out, em + i + 1, mlen);
  return static_cast<long>(mlen);
}

}  // namespace

int main(int argc, char** argv) {
  const bool leaky = argc > 1 && std::strcmp(argv[1], "--leaky") == 0;
  BIO* f = BIO_new_file(GPUTLS_CT_KEY, "r");
  EVP_PKEY* key = f ? PEM_read_bio_PrivateKey(f, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(f);
  if (!key) {
    std::fprintf(stderr, "rsa_unpad_ct_check: cannot read %s\n", GPUTLS_CT_KEY);
    return 1;
  }
  const Bytes msg{'g', 'p', 'u', 't', 'l', 's', ' ', 'u', 'n', 'p', 'a', 'd'};
  const Bytes pkcs1 = padded_block(key, RSA_PKCS1_PADDING, msg, nullptr);
  if (leaky) {
    check("leaky control", pkcs1, static_cast<long>(msg.size()), msg, leaky_decode);
    return 0;  // valgrind's report is the failure this run exists for
  }
  auto v15 = [](const uint8_t* em, size_t k, uint8_t* out, size_t n) { return rsaes_pkcs1_v15_decode(em, k, out, n); };
  check("pkcs1 valid", pkcs1, static_cast<long>(msg.size()), msg, v15);
  Bytes bad = pkcs1;
  bad[1] = 0x01;
  check("pkcs1 wrong block type", bad, -1, {}, v15);
  bad = pkcs1;
  std::memset(bad.data() + 2, 0x5a, bad.size() - 2);  // no separator
  check("pkcs1 no separator", bad, -1, {}, v15);
  bad = pkcs1;
  bad[5] = 0;  // PS shorter than 8 bytes
  check("pkcs1 short padding", bad, -1, {}, v15);

  // Implicit rejection: the block and the key-derivation key are secret;
  // good and bad blocks both return a length (the message's or the
  // synthetic one's), the one value the caller reveals.
  uint8_t kdk[32];
  RAND_bytes(kdk, sizeof kdk);
  auto implicit = [&kdk](const uint8_t* em, size_t k, uint8_t* out, size_t n) {
    uint8_t secret_kdk[32];
    std::memcpy(secret_kdk, kdk, sizeof secret_kdk);
    mark_secret(secret_kdk, sizeof secret_kdk);
    return rsaes_pkcs1_v15_decode_implicit(nullptr, secret_kdk, em, k, out, n);
  };
  check("pkcs1 implicit valid", pkcs1, static_cast<long>(msg.size()), msg, implicit);
  for (const char* what : {"pkcs1 implicit wrong block type", "pkcs1 implicit no separator"}) {
    bad = pkcs1;
    if (what[15] == 'w') bad[1] = 0x01;
    else std::memset(bad.data() + 2, 0x5a, bad.size() - 2);
    // The synthetic message, unmarked first: what the marked run must return.
    Bytes want(bad.size());
    const long want_len = rsaes_pkcs1_v15_decode_implicit(nullptr, kdk, bad.data(), bad.size(), want.data(), want.size());
    if (want_len < 0 || (want_len == static_cast<long>(msg.size()) && std::memcmp(want.data(), msg.data(), msg.size()) == 0))
      fail(std::string(what) + ": no synthetic message");
    want.resize(static_cast<size_t>(want_len < 0 ? 0 : want_len));
    check(what, bad, want_len, want, implicit);
  }

  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  auto oaep = [sha256](const uint8_t* em, size_t k, uint8_t* out, size_t n) {
    return rsaes_oaep_decode(sha256, sha256, nullptr, 0, em, k, out, n);
  };
  const Bytes oaep_em = padded_block(key, RSA_PKCS1_OAEP_PADDING, msg, "SHA2-256");
  check("oaep valid", oaep_em, static_cast<long>(msg.size()), msg, oaep);
  bad = oaep_em;
  bad[40] ^= 0x80;  // inside maskedSeed: lHash and the 01 separator break
  check("oaep corrupted", bad, -1, {}, oaep);
  check("oaep as pkcs1", oaep_em, -1, {}, v15);

  // TLS premaster: valid and wrong-version blocks take the same path.
  Bytes pm(48);
  RAND_bytes(pm.data(), 48);
  pm[0] = 0x03;
  pm[1] = 0x03;
  const Bytes tls_em = padded_block(key, RSA_PKCS1_PADDING, pm, nullptr);
  const uint8_t random_pm[48] = {7};
  for (unsigned version : {0x0303u, 0x0302u}) {
    Bytes em = tls_em;
    uint8_t out[48];
    const unsigned long errors_before = errors_so_far();
    mark_secret(em.data(), em.size());
    tls_premaster(em.data(), em.size(), version, 0, random_pm, out);
    mark_public(out, sizeof out);
    if (errors_so_far() != errors_before) fail("tls premaster: secret-dependent branch or index");
    const bool is_pm = std::memcmp(out, pm.data(), 48) == 0;
    if (is_pm != (version == 0x0303u)) fail("tls premaster: wrong choice");
    std::printf("tls premaster version %04x: %s\n", version, is_pm ? "decoded" : "random");
  }
  EVP_MD_free(sha256);
  EVP_PKEY_free(key);
  if (!RUNNING_ON_VALGRIND) std::printf("not under valgrind: results checked, constant time not\n");
  return g_failures == 0 ? 0 : 1;
}
