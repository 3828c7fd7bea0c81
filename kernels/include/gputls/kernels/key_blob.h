// Builds the precomputed key arrays of rsa_key_layout.h on the host (with
// OpenSSL's BIGNUM, constant-time flags on secrets). Host only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace gputls::kernels {

// Key words, wiped when destroyed. Movable, not copyable (one owner of the secret).
class KeyBlob {
 public:
  KeyBlob() = default;
  explicit KeyBlob(size_t words) : words_(words, 0) {}
  KeyBlob(KeyBlob&&) noexcept = default;
  KeyBlob& operator=(KeyBlob&& o) noexcept;
  KeyBlob(const KeyBlob&) = delete;
  KeyBlob& operator=(const KeyBlob&) = delete;
  ~KeyBlob();

  bool empty() const { return words_.empty(); }
  size_t size() const { return words_.size(); }
  uint32_t* data() { return words_.data(); }
  const uint32_t* data() const { return words_.data(); }

 private:
  std::vector<uint32_t> words_;  // sized once: never reallocated, so no stale copies
};

using Bytes = std::span<const uint8_t>;  // big-endian, leading zeros allowed

// RSA-CRT key for the kernels: a modulus whose byte length is a multiple of 8
// (2048/3072/4096 bits), two odd primes of at most half its limbs each,
// reduced CRT values, e < 2^64. On refusal returns an empty blob and says why.
KeyBlob make_rsa_key_blob(Bytes n, Bytes e, Bytes p, Bytes q, Bytes dp, Bytes dq, Bytes qinv, std::string* error);

// Modular exponentiation key: odd modulus m of at most 4096 bits whose byte
// length is a multiple of 4 (2048/3072-bit DH primes), secret exponent d no
// longer than m.
KeyBlob make_modexp_key_blob(Bytes m, Bytes d, std::string* error);

// Limbs of the modulus the kernels use for `bits`-bit keys.
inline int limbs_for_bits(uint32_t bits) { return static_cast<int>((bits + 31) / 32); }

}  // namespace gputls::kernels
