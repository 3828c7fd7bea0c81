// RSA encodings the provider applies around the raw private operation:
// EMSA-PKCS1-v1_5 and EMSA-PSS for signatures (RFC 8017 section 9), and the
// constant-time TLS premaster check for RSA key exchange.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>

namespace gputls::host {

// EM = 00 01 FF.. 00 T, em_len bytes (RSASSA-PKCS1-v1_5 / RSA_private_encrypt
// with PKCS#1 padding). False if em_len < t_len + 11.
bool emsa_pkcs1_v15_pad(const uint8_t* t, size_t t_len, uint8_t* em, size_t em_len);

// EM = 00 01 FF.. 00 DigestInfo(md, digest), em_len bytes, for every digest
// OpenSSL's default provider signs with: SHA-1, SHA-2 (incl. SHA-512/224 and
// /256), SHA-3, MD5, MD4, MD2, RIPEMD-160; MD5-SHA1 without DigestInfo (TLS
// 1.0/1.1) and MDC2 as an OCTET STRING, as OpenSSL encodes them.
enum class Pkcs1Encode { kOk, kUnknownDigest, kBadDigestLength, kKeyTooSmall };
Pkcs1Encode emsa_pkcs1_v15_encode(const EVP_MD* md, const uint8_t* digest, size_t dlen, uint8_t* em, size_t em_len);

// EMSA-PSS for a modulus of mod_bits, written into em_out of the modulus's
// byte length (a leading zero byte when mod_bits - 1 is a multiple of 8).
// salt_len >= 0; salt from the given library context's private DRBG.
bool emsa_pss_encode(OSSL_LIB_CTX* libctx, const EVP_MD* md, const EVP_MD* mgf1, const uint8_t* mhash, int salt_len,
                     int mod_bits, uint8_t* em_out, size_t k);

// out ^= MGF1(seed) over len bytes (RFC 8017 B.2.1), digest md.
bool mgf1_xor(const EVP_MD* md, const uint8_t* seed, size_t seed_len, uint8_t* out, size_t len);

// Largest salt for PSS with this digest and modulus.
int pss_max_salt(const EVP_MD* md, int mod_bits);

// TLS RSA key exchange (RFC 5246 section 7.4.7.1): em is the raw decryption
// (k bytes). Writes the 48-byte premaster: em's payload when the padding and
// version are right, else random_premaster, chosen by mask, without a branch
// or index that depends on em (no Bleichenbacher oracle).
void tls_premaster(const uint8_t* em, size_t k, unsigned client_version, unsigned alt_version,
                   const uint8_t random_premaster[48], uint8_t out[48]);

}  // namespace gputls::host
