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
constexpr uint8_t kRipemd160[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x24,
                                  0x03, 0x02, 0x01, 0x05, 0x00, 0x04, 0x14};
// id-md2 / id-md4 / id-md5: 1.2.840.113549.2.{2,4,5}
#define RSADSI_MD_PREFIX(last) \
  {0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, last, 0x05, 0x00, 0x04, 0x10}
constexpr uint8_t kMd2[] = RSADSI_MD_PREFIX(0x02);
constexpr uint8_t kMd4[] = RSADSI_MD_PREFIX(0x04);
constexpr uint8_t kMd5[] = RSADSI_MD_PREFIX(0x05);
// NIST hash algorithms 2.16.840.1.101.3.4.2.<last>: SHA-2 and SHA-3.
#define SHA2_PREFIX(len, last, hlen) \
  {0x30, len, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, last, 0x05, 0x00, 0x04, hlen}
constexpr uint8_t kSha224[] = SHA2_PREFIX(0x2d, 0x04, 0x1c);
constexpr uint8_t kSha256[] = SHA2_PREFIX(0x31, 0x01, 0x20);
constexpr uint8_t kSha384[] = SHA2_PREFIX(0x41, 0x02, 0x30);
constexpr uint8_t kSha512[] = SHA2_PREFIX(0x51, 0x03, 0x40);
constexpr uint8_t kSha512_224[] = SHA2_PREFIX(0x2d, 0x05, 0x1c);
constexpr uint8_t kSha512_256[] = SHA2_PREFIX(0x31, 0x06, 0x20);
constexpr uint8_t kSha3_224[] = SHA2_PREFIX(0x2d, 0x07, 0x1c);
constexpr uint8_t kSha3_256[] = SHA2_PREFIX(0x31, 0x08, 0x20);
constexpr uint8_t kSha3_384[] = SHA2_PREFIX(0x41, 0x09, 0x30);
constexpr uint8_t kSha3_512[] = SHA2_PREFIX(0x51, 0x0a, 0x40);
// Not DigestInfo: MD5-SHA1 (TLS 1.0/1.1) signs the bare 36 bytes, MDC2 an
// OCTET STRING (RSA_sign_ASN1_OCTET_STRING), as OpenSSL does.
constexpr uint8_t kNone[] = {0};
constexpr uint8_t kOctet16[] = {0x04, 0x10};

// The digests OpenSSL's default provider signs with PKCS#1 v1.5
// (ossl_digest_rsa_sign_get_md_nid), and their encodings.
const DigestInfoPrefix kPrefixes[] = {
    {"SHA1", bytes(kSha1)},           {"SHA2-224", bytes(kSha224)},     {"SHA2-256", bytes(kSha256)},
    {"SHA2-384", bytes(kSha384)},     {"SHA2-512", bytes(kSha512)},     {"SHA2-512/224", bytes(kSha512_224)},
    {"SHA2-512/256", bytes(kSha512_256)}, {"SHA3-224", bytes(kSha3_224)}, {"SHA3-256", bytes(kSha3_256)},
    {"SHA3-384", bytes(kSha3_384)},   {"SHA3-512", bytes(kSha3_512)},   {"MD5", bytes(kMd5)},
    {"MD4", bytes(kMd4)},             {"MD2", bytes(kMd2)},             {"RIPEMD160", bytes(kRipemd160)},
    {"MD5-SHA1", {kNone, 0}},         {"MDC2", bytes(kOctet16)},
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

bool emsa_pkcs1_v15_pad(const uint8_t* t, size_t t_len, uint8_t* em, size_t em_len) {
  if (em_len < t_len + 11) return false;
  em[0] = 0x00;
  em[1] = 0x01;
  std::memset(em + 2, 0xff, em_len - t_len - 3);
  em[em_len - t_len - 1] = 0x00;
  std::memcpy(em + em_len - t_len, t, t_len);
  return true;
}

Pkcs1Encode emsa_pkcs1_v15_encode(const EVP_MD* md, const uint8_t* digest, size_t dlen, uint8_t* em, size_t em_len) {
  for (const auto& p : kPrefixes) {
    if (!EVP_MD_is_a(md, p.name)) continue;
    if (dlen != static_cast<size_t>(EVP_MD_get_size(md))) return Pkcs1Encode::kBadDigestLength;
    std::vector<uint8_t> t(p.prefix.begin(), p.prefix.end());
    t.insert(t.end(), digest, digest + dlen);
    return emsa_pkcs1_v15_pad(t.data(), t.size(), em, em_len) ? Pkcs1Encode::kOk : Pkcs1Encode::kKeyTooSmall;
  }
  return Pkcs1Encode::kUnknownDigest;
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
