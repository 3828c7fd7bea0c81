// Test helpers for X25519: hex, random bytes, and OpenSSL's X25519 as the
// reference (EVP_PKEY_derive and EVP_PKEY_get_raw_public_key on raw keys).
#pragma once

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gputls::kernels::testing {

using Bytes32 = std::array<uint8_t, 32>;

inline Bytes32 hex32(std::string_view s) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes32 v{};
  if (s.size() != 64) throw std::invalid_argument("hex32: need 64 hex digits");
  for (size_t i = 0; i < 32; ++i) {
    const int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) throw std::invalid_argument("hex32: not hex");
    v[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return v;
}

inline std::string hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}
inline std::string hex(const Bytes32& v) { return hex(v.data(), v.size()); }

inline Bytes32 random32() {
  Bytes32 v{};
  if (RAND_bytes(v.data(), 32) != 1) throw std::runtime_error("RAND_bytes failed");
  return v;
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

// OpenSSL's X25519(scalar, u); nullopt when OpenSSL refuses (e.g. an all-zero result).
inline std::optional<Bytes32> openssl_x25519(const Bytes32& scalar, const Bytes32& u) {
  Pkey priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar.data(), 32));
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, u.data(), 32));
  if (!priv || !peer) return std::nullopt;
  PkeyCtx ctx(EVP_PKEY_CTX_new(priv.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) <= 0)
    return std::nullopt;
  Bytes32 out{};
  size_t len = out.size();
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) <= 0 || len != 32) return std::nullopt;
  return out;
}

// OpenSSL's public key for a raw private key.
inline std::optional<Bytes32> openssl_x25519_public(const Bytes32& scalar) {
  Pkey priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar.data(), 32));
  if (!priv) return std::nullopt;
  Bytes32 out{};
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(priv.get(), out.data(), &len) != 1 || len != 32) return std::nullopt;
  return out;
}

// A fresh key pair from OpenSSL's own key generation.
struct OpensslX25519Pair {
  Bytes32 priv{}, pub{};
};
inline std::optional<OpensslX25519Pair> openssl_x25519_keygen() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 || EVP_PKEY_keygen(ctx.get(), &raw) <= 0) return std::nullopt;
  Pkey k(raw);
  OpensslX25519Pair p;
  size_t a = 32, b = 32;
  if (EVP_PKEY_get_raw_private_key(k.get(), p.priv.data(), &a) != 1 ||
      EVP_PKEY_get_raw_public_key(k.get(), p.pub.data(), &b) != 1)
    return std::nullopt;
  return p;
}

// u-coordinates of low-order points (orders 1, 2, 4, 8 on the curve and its
// twist), canonical and non-canonical (+p, and with the ignored top bit set):
// X25519 with any scalar maps them to 0.
inline std::vector<Bytes32> low_order_points() {
  std::vector<Bytes32> v = {
      hex32("0000000000000000000000000000000000000000000000000000000000000000"),  // 0
      hex32("0100000000000000000000000000000000000000000000000000000000000000"),  // 1
      hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),  // order 8
      hex32("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),  // order 8
      hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  // p - 1
      hex32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  // p (= 0)
      hex32("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  // p + 1 (= 1)
  };
  const size_t n = v.size();
  for (size_t i = 0; i < n; ++i) {
    Bytes32 t = v[i];
    t[31] |= 0x80;  // top bit is ignored
    v.push_back(t);
  }
  return v;
}

}  // namespace gputls::kernels::testing
