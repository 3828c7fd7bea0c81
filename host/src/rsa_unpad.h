// RSA decryption encodings removed after the raw private operation, in
// constant time: RSAES-PKCS1-v1_5 (RFC 8017 section 7.2.2) and RSAES-OAEP
// (section 7.1.2). Neither branches nor indexes memory on the decrypted block;
// the one secret-derived value they return (message length or -1) is what the
// caller must reveal anyway. PKCS#1 v1.5 also comes with implicit rejection
// (OpenSSL 3.2+, draft-irtf-cfrg-rsa-guidance): bad padding yields a
// synthetic message derived from the key and the ciphertext instead of an
// error, so there is nothing left to reveal. Shared by the provider and its
// constant-time check.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>

namespace gputls::host {

// em: the k-byte raw decryption. Writes the message into out (outsize bytes;
// bytes past the message are zeroed) and returns its length, or -1 when the
// padding is wrong or the message is longer than outsize.
long rsaes_pkcs1_v15_decode(const uint8_t* em, size_t k, uint8_t* out, size_t outsize);

// Implicit rejection's key-derivation key: HMAC-SHA256 keyed with
// SHA256(d as k big-endian bytes) over the ciphertext as k bytes (OpenSSL's
// derive_kdk). d: the private exponent, big-endian, at most k bytes; ct:
// exactly k bytes. False when a digest fails or d is longer than k.
bool rsa_implicit_rejection_kdk(OSSL_LIB_CTX* libctx, const uint8_t* d, size_t d_len, const uint8_t* ct, size_t k,
                                uint8_t kdk[32]);

// RSAES-PKCS1-v1_5 decoding with implicit rejection (OpenSSL's
// ossl_rsa_padding_check_PKCS1_type_2 with a KDK): the message when the
// padding is right, else the synthetic message of the KDK's PRF ("message",
// "length"), chosen by mask. Returns the length written (at most outsize),
// or -1 only for public reasons (k < 11, outsize < k - 11, a digest failure).
long rsaes_pkcs1_v15_decode_implicit(OSSL_LIB_CTX* libctx, const uint8_t kdk[32], const uint8_t* em, size_t k,
                                     uint8_t* out, size_t outsize);

// The same for OAEP with digest md, MGF1 digest mgf1 and label. -1 also when
// k < 2 * hLen + 2 or a digest fails (both public).
long rsaes_oaep_decode(const EVP_MD* md, const EVP_MD* mgf1, const uint8_t* label, size_t label_len,
                       const uint8_t* em, size_t k, uint8_t* out, size_t outsize);

}  // namespace gputls::host
