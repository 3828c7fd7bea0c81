// Operations the engine batches, and the key types they use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gputls::engine {

enum class Op : uint8_t {
  kEcho = 0,      // output = input; no key. Tests the batching and GPU plumbing.
  kRsaPriv,       // m = c^d mod n (raw RSA private-key operation, CRT), in/out = modulus bytes
  kX25519Derive,  // shared = X25519(private key, peer public), in/out = 32 bytes
  kModExp,        // y = x^d mod p (finite-field DH, d secret), in/out = bytes of p
  kX25519Keygen,  // public = X25519(private key, 9), no input, out = 32 bytes
  kEcKeygen,      // P-256/P-384 public = d*G, no input, out = uncompressed point (04 || X || Y: 65 / 97 bytes)
  kEcdhDerive,    // shared = x(d*Q), in = peer's uncompressed point (65 / 97 bytes), out = 32 / 48 bytes;
                  // the peer point is validated (on the curve, coordinates < p) before use
  kEcdsaSign,     // in = message digest (1..64 bytes, truncated per FIPS 186-4), out = r || s (64 / 96 bytes)
  kEcdsaVerify,   // checks r || s against the key's PUBLIC point (d*G of the registered key), fixed layout
                  // in = L (1 byte, 1..64) || digest (L bytes, then zero padding to 64) || r || s
                  //      (B = 32 / 48 bytes each, big-endian): 1 + 64 + 2B = 129 / 161 bytes;
                  // out = 1 byte: 1 valid, 0 invalid (r or s out of [1, n-1] included), status kOk for both;
                  // kInvalidArgument for other sizes or L outside 1..64
  kAesGcmSeal,    // AES-128/256-GCM record: in = plaintext, out = ciphertext (out_len == in_len, may be in),
                  // nonce, AAD and tag (written, 16 bytes) in Request::aead; the queue key's bits are the key's
  kAesGcmOpen,    // in = ciphertext, out = plaintext, Request::aead's tag (16 bytes) is the expected tag;
                  // a mismatch is kCryptoFailure with out zeroed (no plaintext released). For both:
                  // IV not 12 bytes -> kBadIvLength; tag not 16 bytes, missing buffers -> kInvalidArgument
  // ML-KEM-768 (FIPS 203), no registered key: the secrets travel in the
  // request's buffers (the caller wipes them).
  kMlkemKeygen,   // in = d || z (64 bytes), out = ek || dk (1184 + 2400 bytes)
  kMlkemEncaps,   // in = ek || m (1184 + 32), out = K || c (32 + 1088); ek failing the modulus check
                  // (FIPS 203 section 7.2) -> kCryptoFailure with out zeroed
  kMlkemDecaps,   // in = dk || c (2400 + 1088), out = K (32), implicit rejection included; dk whose
                  // stored H(ek) does not match (section 7.3) -> kCryptoFailure with out zeroed
  kCount
};

enum class KeyType : uint8_t { kNone = 0, kRsa, kX25519, kDh, kEc, kAes };

std::string_view op_name(Op op);
KeyType op_key_type(Op op);
// AES-GCM record ops: requests that carry Request::aead and differ in size.
constexpr bool is_aead(Op op) { return op == Op::kAesGcmSeal || op == Op::kAesGcmOpen; }

// ML-KEM-768 ops: fixed request sizes, no key.
constexpr bool is_mlkem(Op op) { return op == Op::kMlkemKeygen || op == Op::kMlkemEncaps || op == Op::kMlkemDecaps; }
constexpr size_t mlkem_in_len(Op op) {
  return op == Op::kMlkemKeygen ? 64 : op == Op::kMlkemEncaps ? 1184 + 32 : 2400 + 1088;
}
constexpr size_t mlkem_out_len(Op op) {
  return op == Op::kMlkemKeygen ? 1184 + 2400 : op == Op::kMlkemEncaps ? 32 + 1088 : 32;
}
// 0 keygen, 1 encaps, 2 decaps: the ML-KEM kernels' op codes (kernels::MlkemOp,
// checked where both are visible).
constexpr uint32_t mlkem_kernel_op(Op op) {
  return static_cast<uint32_t>(op) - static_cast<uint32_t>(Op::kMlkemKeygen);
}

// Which backend served a request (also used to name backends in stats).
enum class BackendKind : uint8_t { kNone = 0, kCpu, kCuda, kNull, kCount };
std::string_view backend_name(BackendKind kind);

}  // namespace gputls::engine
