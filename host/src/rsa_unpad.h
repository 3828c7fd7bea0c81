// RSA decryption encodings removed after the raw private operation, in
// constant time: RSAES-PKCS1-v1_5 (RFC 8017 section 7.2.2) and RSAES-OAEP
// (section 7.1.2). Neither branches nor indexes memory on the decrypted block;
// the one secret-derived value they return (message length or -1) is what the
// caller must reveal anyway (OpenSSL 3.0 reports bad padding as an error: no
// implicit rejection). Shared by the provider and its constant-time check.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>

namespace gputls::host {

// em: the k-byte raw decryption. Writes the message into out (outsize bytes;
// bytes past the message are zeroed) and returns its length, or -1 when the
// padding is wrong or the message is longer than outsize.
long rsaes_pkcs1_v15_decode(const uint8_t* em, size_t k, uint8_t* out, size_t outsize);

// The same for OAEP with digest md, MGF1 digest mgf1 and label. -1 also when
// k < 2 * hLen + 2 or a digest fails (both public).
long rsaes_oaep_decode(const EVP_MD* md, const EVP_MD* mgf1, const uint8_t* label, size_t label_len,
                       const uint8_t* em, size_t k, uint8_t* out, size_t outsize);

}  // namespace gputls::host
