// Test helpers for the P-256/P-384 kernels: OpenSSL keys as raw big-endian
// bytes, one-item calls into the host twin, OpenSSL references.
#pragma once

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "gputls/kernels/ec_batch.h"

namespace gputls::kernels::testing {

using Bytes = std::vector<uint8_t>;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

// n scaled by GPUTLS_EC_DIFF_SCALE (a positive float, default 1; CI uses
// 0.1 and 0.25 in its CUDA and sanitizer phases), at least 1. Throws on a
// malformed value, so a typo cannot silently shrink a differential run.
inline int ec_diff_scaled(int n) {
  const char* s = std::getenv("GPUTLS_EC_DIFF_SCALE");
  double v = 1.0;
  if (s && *s) {
    char* end = nullptr;
    v = std::strtod(s, &end);
    if (end == s || *end || !std::isfinite(v) || v <= 0)
      throw std::runtime_error("GPUTLS_EC_DIFF_SCALE must be a positive number");
  }
  return std::max(1, static_cast<int>(std::lround(n * v)));
}

inline const char* group_name(uint32_t curve) { return curve == ec::kEcP256 ? "P-256" : "P-384"; }
inline int nid_of(uint32_t curve) { return curve == ec::kEcP256 ? NID_X9_62_prime256v1 : NID_secp384r1; }
inline size_t coord_bytes(uint32_t curve) { return curve == ec::kEcP256 ? 32 : 48; }
inline const EVP_MD* digest_of(uint32_t curve) { return curve == ec::kEcP256 ? EVP_sha256() : EVP_sha384(); }

inline Bytes unhex(const std::string& h) {
  if (h.size() % 2) throw std::runtime_error("odd hex length");
  Bytes b(h.size() / 2);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(std::stoi(h.substr(2 * i, 2), nullptr, 16));
  return b;
}
inline std::string hex(const Bytes& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}

// A big-endian integer of any length to exactly `len` bytes (leading zeros
// stripped or added); throws when it does not fit.
inline Bytes fit(const Bytes& v, size_t len) {
  size_t skip = 0;
  while (v.size() - skip > len) {
    if (v[skip] != 0) throw std::runtime_error("integer too long");
    ++skip;
  }
  Bytes r(len - (v.size() - skip), 0);
  r.insert(r.end(), v.begin() + static_cast<long>(skip), v.end());
  return r;
}

struct EcKey {
  Pkey pkey;
  Bytes priv;  // coord_bytes
  Bytes pub;   // X || Y
};

inline EcKey openssl_keygen(uint32_t curve) {
  EcKey k;
  k.pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group_name(curve)));
  if (!k.pkey) throw std::runtime_error("EC keygen");
  BIGNUM* d = nullptr;
  if (EVP_PKEY_get_bn_param(k.pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) throw std::runtime_error("priv");
  k.priv.assign(coord_bytes(curve), 0);
  BN_bn2binpad(d, k.priv.data(), static_cast<int>(k.priv.size()));
  BN_clear_free(d);
  uint8_t buf[1 + 2 * ec::kMaxBytes];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(k.pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &len) != 1 ||
      len != 1 + 2 * coord_bytes(curve) || buf[0] != 4)
    throw std::runtime_error("pub");
  k.pub.assign(buf + 1, buf + len);
  return k;
}

// A public-key EVP_PKEY from X || Y; null when OpenSSL refuses the point.
inline Pkey openssl_public(uint32_t curve, const Bytes& xy) {
  Bytes enc{4};
  enc.insert(enc.end(), xy.begin(), xy.end());
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group_name(curve), 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, enc.data(), enc.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* p = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1) EVP_PKEY_fromdata(ctx.get(), &p, EVP_PKEY_PUBLIC_KEY, params);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return Pkey(p);
}

inline Bytes openssl_derive(EVP_PKEY* mine, EVP_PKEY* peer) {
  PkeyCtx ctx(EVP_PKEY_CTX_new(mine, nullptr));
  size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1)
    throw std::runtime_error("derive");
  Bytes out(len);
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1) throw std::runtime_error("derive");
  out.resize(len);
  return out;
}

// DER ECDSA signature <-> r || s.
inline Bytes der_to_rs(const Bytes& der, size_t B, bool* ok) {
  const uint8_t* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  *ok = sig != nullptr && p == der.data() + der.size();
  Bytes rs(2 * B, 0);
  if (sig) {
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_num_bytes(r) > static_cast<int>(B) || BN_num_bytes(s) > static_cast<int>(B) || BN_is_negative(r) ||
        BN_is_negative(s))
      *ok = false;
    else {
      BN_bn2binpad(r, rs.data(), static_cast<int>(B));
      BN_bn2binpad(s, rs.data() + B, static_cast<int>(B));
    }
  }
  ECDSA_SIG_free(sig);
  return rs;
}
inline Bytes rs_to_der(const Bytes& rs) {
  const size_t B = rs.size() / 2;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(rs.data(), static_cast<int>(B), nullptr),
                 BN_bin2bn(rs.data() + B, static_cast<int>(B), nullptr));
  uint8_t* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  Bytes out(der, der + (len > 0 ? len : 0));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

inline bool openssl_verify_digest(EVP_PKEY* pub, const Bytes& digest, const Bytes& der) {
  PkeyCtx ctx(EVP_PKEY_CTX_new(pub, nullptr));
  return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
         EVP_PKEY_verify(ctx.get(), der.data(), der.size(), digest.data(), digest.size()) == 1;
}
inline Bytes openssl_sign_digest(EVP_PKEY* key, const Bytes& digest) {
  PkeyCtx ctx(EVP_PKEY_CTX_new(key, nullptr));
  size_t len = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) != 1)
    throw std::runtime_error("sign");
  Bytes der(len);
  if (EVP_PKEY_sign(ctx.get(), der.data(), &len, digest.data(), digest.size()) != 1) throw std::runtime_error("sign");
  der.resize(len);
  return der;
}

inline Bytes random_bytes(size_t n) {
  Bytes b(n);
  if (RAND_bytes(b.data(), static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes");
  return b;
}

// One operation through the host twin of the batch kernel.
struct OneResult {
  uint32_t status;
  Bytes out;
};
inline OneResult run_one(uint32_t curve, uint32_t op, const Bytes& scalar, const Bytes& nonce, const Bytes& point,
                         const Bytes& digest, const Bytes& sig) {
  const size_t B = coord_bytes(curve);
  OneResult r{0xffffffffu, Bytes(2 * B, 0xcc)};
  EcBatch b;
  b.scalars = scalar.empty() ? nullptr : scalar.data();
  b.nonces = nonce.empty() ? nullptr : nonce.data();
  b.points = point.empty() ? nullptr : point.data();
  b.digests = digest.empty() ? nullptr : digest.data();
  b.sigs = sig.empty() ? nullptr : sig.data();
  b.digest_bytes = static_cast<uint32_t>(digest.size());
  b.out = r.out.data();
  b.status = &r.status;
  b.count = 1;
  b.curve = curve;
  b.op = op;
  ec_batch_host(b);
  if (op == ec::kEcDerive) r.out.resize(B);
  if (op == ec::kEcVerify) r.out.clear();
  return r;
}

}  // namespace gputls::kernels::testing
