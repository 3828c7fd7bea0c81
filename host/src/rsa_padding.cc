#include "rsa_padding.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstring>
#include <string_view>
#include <vector>

namespace gputls::host {
namespace {

// DER DigestInfo prefixes (RFC 8017 section 9.2, note 1), followed by the digest.
struct DigestInfoPrefix {
  const char* name;
  std::basic_string_view<uint8_t> prefix;
};

template <size_t N>
constexpr std::basic_string_view<uint8_t> bytes(const uint8_t (&a)[N]) {
  return {a, N};
}

constexpr uint8_t kSha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
#define SHA2_PREFIX(len, last, hlen) \
  {0x30, len, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, last, 0x05, 0x00, 0x04, hlen}
constexpr uint8_t kSha224[] = SHA2_PREFIX(0x2d, 0x04, 0x1c);
constexpr uint8_t kSha256[] = SHA2_PREFIX(0x31, 0x01, 0x20);
constexpr uint8_t kSha384[] = SHA2_PREFIX(0x41, 0x02, 0x30);
constexpr uint8_t kSha512[] = SHA2_PREFIX(0x51, 0x03, 0x40);
constexpr uint8_t kSha512_224[] = SHA2_PREFIX(0x2d, 0x05, 0x1c);
constexpr uint8_t kSha512_256[] = SHA2_PREFIX(0x31, 0x06, 0x20);

const DigestInfoPrefix kPrefixes[] = {
    {"SHA1", bytes(kSha1)},          {"SHA2-224", bytes(kSha224)},         {"SHA2-256", bytes(kSha256)},
    {"SHA2-384", bytes(kSha384)},    {"SHA2-512", bytes(kSha512)},         {"SHA2-512/224", bytes(kSha512_224)},
    {"SHA2-512/256", bytes(kSha512_256)},
};

uint8_t ct_eq8(unsigned a, unsigned b) {
  unsigned d = (a ^ b) & 0xff;
  return static_cast<uint8_t>(((d | (0u - d)) >> 31) - 1u);
}

}  // namespace

bool mgf1_xor(const EVP_MD* md, const uint8_t* seed, size_t seed_len, uint8_t* out, size_t len) {
  const int hlen = EVP_MD_get_size(md);
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  uint8_t block[EVP_MAX_MD_SIZE];
  bool ok = c && hlen > 0;
  for (uint32_t counter = 0, done = 0; ok && done < len; ++counter) {
    const uint8_t ctr[4] = {static_cast<uint8_t>(counter >> 24), static_cast<uint8_t>(counter >> 16),
                            static_cast<uint8_t>(counter >> 8), static_cast<uint8_t>(counter)};
    ok = EVP_DigestInit_ex(c, md, nullptr) == 1 && EVP_DigestUpdate(c, seed, seed_len) == 1 &&
         EVP_DigestUpdate(c, ctr, 4) == 1 && EVP_DigestFinal_ex(c, block, nullptr) == 1;
    for (int i = 0; ok && i < hlen && done < len; ++i) out[done++] ^= block[i];
  }
  EVP_MD_CTX_free(c);
  OPENSSL_cleanse(block, sizeof block);
  return ok;
}

bool emsa_pkcs1_v15_encode(const EVP_MD* md, const uint8_t* digest, size_t dlen, uint8_t* em, size_t em_len) {
  for (const auto& p : kPrefixes) {
    if (!EVP_MD_is_a(md, p.name)) continue;
    const size_t t_len = p.prefix.size() + dlen;
    if (dlen != static_cast<size_t>(EVP_MD_get_size(md)) || em_len < t_len + 11) return false;
    em[0] = 0x00;
    em[1] = 0x01;
    std::memset(em + 2, 0xff, em_len - t_len - 3);
    em[em_len - t_len - 1] = 0x00;
    std::memcpy(em + em_len - t_len, p.prefix.data(), p.prefix.size());
    std::memcpy(em + em_len - dlen, digest, dlen);
    return true;
  }
  return false;
}

int pss_max_salt(const EVP_MD* md, int mod_bits) {
  const int em_len = (mod_bits - 1 + 7) / 8;
  return em_len - EVP_MD_get_size(md) - 2;
}

bool emsa_pss_encode(OSSL_LIB_CTX* libctx, const EVP_MD* md, const EVP_MD* mgf1, const uint8_t* mhash, int salt_len,
                     int mod_bits, uint8_t* em_out, size_t k) {
  const int hlen = EVP_MD_get_size(md);
  const int em_bits = mod_bits - 1;
  const size_t em_len = static_cast<size_t>((em_bits + 7) / 8);
  if (hlen <= 0 || salt_len < 0 || salt_len > pss_max_salt(md, mod_bits) || k < em_len) return false;
  std::memset(em_out, 0, k - em_len);
  uint8_t* em = em_out + (k - em_len);
  const size_t db_len = em_len - hlen - 1;
  std::vector<uint8_t> salt(static_cast<size_t>(salt_len));
  if (salt_len && RAND_bytes_ex(libctx, salt.data(), salt.size(), 0) != 1) return false;
  // H = Hash(00 x 8 || mHash || salt)
  static const uint8_t kZeros[8] = {0};
  uint8_t* h = em + db_len;
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  bool ok = c && EVP_DigestInit_ex(c, md, nullptr) == 1 && EVP_DigestUpdate(c, kZeros, 8) == 1 &&
            EVP_DigestUpdate(c, mhash, static_cast<size_t>(hlen)) == 1 &&
            EVP_DigestUpdate(c, salt.data(), salt.size()) == 1 && EVP_DigestFinal_ex(c, h, nullptr) == 1;
  EVP_MD_CTX_free(c);
  if (!ok) return false;
  // DB = PS || 01 || salt, masked with MGF1(H).
  std::memset(em, 0, db_len);
  em[db_len - salt.size() - 1] = 0x01;
  std::memcpy(em + db_len - salt.size(), salt.data(), salt.size());
  if (!mgf1_xor(mgf1, h, static_cast<size_t>(hlen), em, db_len)) return false;
  em[0] &= static_cast<uint8_t>(0xff >> (8 * em_len - em_bits));
  em[em_len - 1] = 0xbc;
  return true;
}

void tls_premaster(const uint8_t* em, size_t k, unsigned client_version, unsigned alt_version,
                   const uint8_t random_premaster[48], uint8_t out[48]) {
  // 00 02 PS (k - 51 non-zero bytes) 00 version(2) random(46)
  uint8_t good = static_cast<uint8_t>(ct_eq8(em[0], 0x00) & ct_eq8(em[1], 0x02));
  for (size_t i = 2; i < k - 49; ++i) good &= static_cast<uint8_t>(~ct_eq8(em[i], 0x00));
  good &= ct_eq8(em[k - 49], 0x00);
  const uint8_t* pm = em + (k - 48);
  uint8_t version_ok = static_cast<uint8_t>(ct_eq8(pm[0], client_version >> 8) & ct_eq8(pm[1], client_version));
  // Some old clients put the negotiated version instead (OpenSSL's workaround).
  const uint8_t alt_set = static_cast<uint8_t>(~ct_eq8(alt_version >> 8, 0) | ~ct_eq8(alt_version, 0));
  version_ok |= static_cast<uint8_t>(alt_set & ct_eq8(pm[0], alt_version >> 8) & ct_eq8(pm[1], alt_version));
  good &= version_ok;
  for (size_t i = 0; i < 48; ++i) out[i] = static_cast<uint8_t>((pm[i] & good) | (random_premaster[i] & ~good));
}

}  // namespace gputls::host
