#include "ec_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <cstring>
#include <deque>
#include <initializer_list>
#include <vector>

namespace gputls::host {
namespace {

// Every named curve of OpenSSL's built-in table, made once per process
// (curve constants do not depend on a library context). Addresses are
// stable: keys compare curves by pointer.
struct CurveTable {
  std::deque<EcCurve> curves;
  std::deque<std::vector<uint8_t>> orders;
};

// As OpenSSL 3.0's ECDSA_size: the DER length of a signature with r = s = n.
int ecdsa_size(const std::vector<uint8_t>& order) {
  auto tlv = [](size_t len) { return 1 + (len < 128 ? 1 : len < 256 ? 2 : 3) + len; };
  const size_t int_len = order.size() + ((order[0] & 0x80) ? 1 : 0);  // a sign byte when the top bit is set
  return static_cast<int>(tlv(2 * tlv(int_len)));
}

const CurveTable& curve_table() {
  static const CurveTable* table = [] {
    auto* t = new CurveTable;
    const size_t n = EC_get_builtin_curves(nullptr, 0);
    std::vector<EC_builtin_curve> list(n);
    EC_get_builtin_curves(list.data(), n);
    for (const EC_builtin_curve& bc : list) {
      EC_GROUP* g = EC_GROUP_new_by_curve_name_ex(nullptr, nullptr, bc.nid);
      const BIGNUM* order = g ? EC_GROUP_get0_order(g) : nullptr;
      const BIGNUM* cofactor = g ? EC_GROUP_get0_cofactor(g) : nullptr;
      if (order && cofactor && EC_GROUP_get_degree(g) > 0) {
        std::vector<uint8_t>& o = t->orders.emplace_back(static_cast<size_t>(BN_num_bytes(order)));
        BN_bn2bin(order, o.data());
        const int obits = BN_num_bits(order);
        // As the default's EC keymgmt reports security-bits.
        const int sec = obits >= 512 ? 256 : obits >= 384 ? 192 : obits >= 256 ? 128 : obits >= 224 ? 112
                        : obits >= 160 ? 80 : obits / 2;
        const bool engine_curve = bc.nid == NID_X9_62_prime256v1 || bc.nid == NID_secp384r1;
        t->curves.push_back(EcCurve{bc.nid, OBJ_nid2sn(bc.nid), static_cast<uint32_t>(obits),
                                    static_cast<size_t>((EC_GROUP_get_degree(g) + 7) / 8), o.size(), sec,
                                    ecdsa_size(o), o.data(), BN_is_one(cofactor) != 0, engine_curve});
      }
      EC_GROUP_free(g);
    }
    return t;
  }();
  return *table;
}

// 1 <= d < n for a big-endian d of n's length, in constant time.
bool scalar_in_range(const EcCurve& c, const uint8_t* d) {
  unsigned borrow = 0, nonzero = 0;
  for (size_t i = c.order_bytes; i-- > 0;) {
    // d - n, byte by byte from the least significant end: d < n iff it borrows out.
    unsigned diff = static_cast<unsigned>(d[i]) - c.order[i] - borrow;
    borrow = (diff >> 8) & 1;
    nonzero |= d[i];
  }
  return borrow == 1 && nonzero != 0;
}

// The curve's EC_GROUP in pc->sw, made once per provider (building one per
// call cost more than the ECDH it served).
const EC_GROUP* shared_group(ProvCtx* pc, const EcCurve& c) {
  std::lock_guard<std::mutex> lock(pc->ec_groups_mu);
  EC_GROUP*& g = pc->ec_groups[c.nid];
  if (!g) g = EC_GROUP_new_by_curve_name_ex(pc->sw, nullptr, c.nid);
  return g;
}

// The curve's group (OpenSSL's own tables and arithmetic) and a BN_CTX for one call.
struct SwGroup {
  SwGroup(ProvCtx* pc, const EcCurve& c) : group(shared_group(pc, c)), bn(BN_CTX_secure_new_ex(pc->sw)) {}
  ~SwGroup() { BN_CTX_free(bn); }
  bool ok() const { return group && bn; }
  const EC_GROUP* group;
  BN_CTX* bn;
};

bool point_to_bytes(const SwGroup& g, const EC_POINT* pt, size_t len, uint8_t* out) {
  return EC_POINT_point2oct(g.group, pt, POINT_CONVERSION_UNCOMPRESSED, out, len, g.bn) == len;
}

bool sw_make_public(EcKey* k) {
  SwGroup g(k->pc, *k->curve);
  BIGNUM* d = g.ok() ? BN_secure_new() : nullptr;
  EC_POINT* q = d ? EC_POINT_new(g.group) : nullptr;
  bool ok = q && BN_bin2bn(k->priv.data(), static_cast<int>(k->priv.size()), d) &&
            EC_POINT_mul(g.group, q, d, nullptr, nullptr, g.bn) == 1 &&
            point_to_bytes(g, q, k->curve->point_bytes(), k->pub.data());
  EC_POINT_free(q);
  BN_clear_free(d);
  return ok;
}

// As OpenSSL's ossl_ecdh_simple_compute_key: cofactor mode multiplies the
// scalar by h first.
bool sw_derive(EcKey* k, const uint8_t* peer, size_t peer_len, uint8_t* out, bool cofactor) {
  SwGroup g(k->pc, *k->curve);
  BIGNUM* d = g.ok() ? BN_secure_new() : nullptr;
  BIGNUM* x = d ? BN_secure_new() : nullptr;
  EC_POINT* q = x ? EC_POINT_new(g.group) : nullptr;
  EC_POINT* s = q ? EC_POINT_new(g.group) : nullptr;
  bool ok = s && BN_bin2bn(k->priv.data(), static_cast<int>(k->priv.size()), d) &&
            (!cofactor || BN_mul(d, d, EC_GROUP_get0_cofactor(g.group), g.bn) == 1) &&
            EC_POINT_oct2point(g.group, q, peer, peer_len, g.bn) == 1 && EC_POINT_is_at_infinity(g.group, q) == 0 &&
            EC_POINT_mul(g.group, s, nullptr, q, d, g.bn) == 1 && EC_POINT_is_at_infinity(g.group, s) == 0 &&
            EC_POINT_get_affine_coordinates(g.group, s, x, nullptr, g.bn) == 1 &&
            BN_bn2binpad(x, out, static_cast<int>(k->curve->bytes)) == static_cast<int>(k->curve->bytes);
  EC_POINT_free(s);
  EC_POINT_free(q);
  BN_clear_free(x);
  BN_clear_free(d);
  return ok;
}

bool sw_sign(EcKey* k, const uint8_t* digest, size_t digest_len, uint8_t* rs) {
  EVP_PKEY* pkey = ec_sw_pkey(k, true);
  EVP_PKEY_CTX* c = pkey ? EVP_PKEY_CTX_new_from_pkey(k->pc->sw, pkey, nullptr) : nullptr;
  std::vector<uint8_t> der(static_cast<size_t>(k->curve->max_sig_size));
  size_t der_len = der.size();
  bool ok = c && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_sign(c, der.data(), &der_len, digest, digest_len) == 1;
  ECDSA_SIG* sig = nullptr;
  if (ok) {
    const unsigned char* p = der.data();
    sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
    const int n = static_cast<int>(k->curve->order_bytes);
    ok = sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, n) == n && BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + n, n) == n;
  }
  ECDSA_SIG_free(sig);
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(pkey);
  return ok;
}

engine::Status register_key(EcKey* k, engine::Engine* eng, engine::KeyHandle* h) {
  engine::EcKeyMaterial m;
  m.curve_bits = k->curve->bits;
  m.priv = k->priv;
  return eng->register_ec_key(m, h);
}

bool has_private(EcKey* k, ProvOp which) {
  if (k->curve && k->has_private && k->priv.size() == k->curve->order_bytes) return true;
  k->pc->stats[which].failed.fetch_add(1);
  return false;
}

}  // namespace

const EcCurve* ec_curve_by_nid(int nid) {
  for (const EcCurve& c : curve_table().curves)
    if (c.nid == nid) return &c;
  return nullptr;
}

const EcCurve* ec_curve_by_name(const char* name) {
  if (!name) return nullptr;
  // The engine's curves first, without walking the table (every TLS key share asks).
  static const EcCurve* const p256 = ec_curve_by_nid(NID_X9_62_prime256v1);
  static const EcCurve* const p384 = ec_curve_by_nid(NID_secp384r1);
  for (const char* n : {"prime256v1", "P-256", "secp256r1"})
    if (OPENSSL_strcasecmp(name, n) == 0) return p256;
  for (const char* n : {"secp384r1", "P-384"})
    if (OPENSSL_strcasecmp(name, n) == 0) return p384;
  if (OPENSSL_strcasecmp(name, "secp192r1") == 0) return ec_curve_by_nid(NID_X9_62_prime192v1);
  for (const EcCurve& c : curve_table().curves) {
    const char* nist = EC_curve_nid2nist(c.nid);
    if (OPENSSL_strcasecmp(name, c.group) == 0 || (nist && OPENSSL_strcasecmp(name, nist) == 0)) return &c;
  }
  return nullptr;
}

const EcCurve* ec_curve_by_bits(uint32_t bits) {
  return bits == 256 ? ec_curve_by_nid(NID_X9_62_prime256v1) : bits == 384 ? ec_curve_by_nid(NID_secp384r1) : nullptr;
}

bool ec_decode_point(ProvCtx* pc, const EcCurve& curve, const uint8_t* data, size_t len, std::vector<uint8_t>* out) {
  if (!data || len == 0) return false;
  SwGroup g(pc, curve);
  EC_POINT* q = g.ok() ? EC_POINT_new(g.group) : nullptr;
  std::vector<uint8_t> enc(curve.point_bytes());
  // oct2point checks the point is on the curve (and coordinates < p).
  bool ok = q && EC_POINT_oct2point(g.group, q, data, len, g.bn) == 1 && EC_POINT_is_at_infinity(g.group, q) == 0 &&
            point_to_bytes(g, q, enc.size(), enc.data());
  EC_POINT_free(q);
  if (ok) *out = std::move(enc);
  return ok;
}

// Constant time in the scalar: the bytes beyond the order's length are
// OR-ed together (they must all be zero), never skipped one by one.
bool ec_set_private(const EcCurve& curve, const uint8_t* data, size_t len, engine::SecureBytes* out) {
  const size_t excess = len > curve.order_bytes ? len - curve.order_bytes : 0;
  unsigned high = 0;
  for (size_t i = 0; i < excess; ++i) high |= data[i];
  engine::SecureBytes d(curve.order_bytes, 0);
  std::memcpy(d.data() + (curve.order_bytes - (len - excess)), data + excess, len - excess);
  const bool ok = (high == 0) & scalar_in_range(curve, d.data());
  if (!ok) return false;
  *out = std::move(d);
  return true;
}

bool ec_random_private(ProvCtx* pc, const EcCurve& curve, engine::SecureBytes* out) {
  engine::SecureBytes d(curve.order_bytes, 0);
  // Random bytes masked to the order's bit length: a try fails with
  // probability below 1/2 on every curve (below 2^-32 on P-256 / P-384).
  int top_bits = 0;
  for (uint8_t b = curve.order[0]; b; b >>= 1) ++top_bits;
  const uint8_t top_mask = static_cast<uint8_t>((1u << top_bits) - 1);
  for (int attempt = 0; attempt < 128; ++attempt) {
    if (RAND_priv_bytes_ex(pc->sw, d.data(), d.size(), 0) != 1) return false;
    d[0] &= top_mask;
    if (scalar_in_range(curve, d.data())) {
      *out = std::move(d);
      return true;
    }
  }
  return false;
}

bool ec_make_public(EcKey* k) {
  if (!has_private(k, ProvOp::kEcKeygen)) return false;
  k->pub.assign(k->curve->point_bytes(), 0);
  auto reg = [k](engine::Engine* eng, engine::KeyHandle* h) { return register_key(k, eng, h); };
  auto software = [&] { return sw_make_public(k); };
  bool ok = !k->curve->accelerated
                ? run_software(k->pc->stats[ProvOp::kEcKeygen], software)
                : run_private_op(k->pc, ProvOp::kEcKeygen, k->engine_ref, reg, engine::Op::kEcKeygen, nullptr, 0,
                                 k->pub.data(), k->pub.size(), software);
  k->has_public = ok && k->pub[0] == 0x04;
  return k->has_public;
}

namespace {

KeySharePool* pool_for(ProvCtx* pc, const EcCurve* curve) {
  static const EcCurve* const p256 = ec_curve_by_bits(256);
  static const EcCurve* const p384 = ec_curve_by_bits(384);
  if (!curve) return nullptr;
  return curve == p256 ? pc->p256_shares.get() : curve == p384 ? pc->p384_shares.get() : nullptr;
}

}  // namespace

EcKey* ec_take_ready(ProvCtx* pc, const EcCurve* curve) {
  return static_cast<EcKey*>(take_key_share(pc, pool_for(pc, curve), engine::Op::kEcKeygen, ProvOp::kEcKeygen));
}

void ec_refill_after_miss(ProvCtx* pc, const EcCurve* curve) {
  refill_key_shares(pc, pool_for(pc, curve), engine::Op::kEcKeygen);
}

namespace {

template <uint32_t kBits>
void* share_make(ProvCtx* pc, engine::Engine* eng, engine::KeyHandle* h, uint8_t** out, size_t* out_len) {
  auto k = std::make_unique<EcKey>(pc);
  k->curve = ec_curve_by_bits(kBits);
  if (!k->curve || !ec_random_private(pc, *k->curve, &k->priv)) return nullptr;
  k->has_private = true;
  *h = k->engine_ref.handle_for(eng, [&k](engine::Engine* e, engine::KeyHandle* kh) { return register_key(k.get(), e, kh); });
  if (!h->valid()) return nullptr;
  k->pub.assign(k->curve->point_bytes(), 0);
  *out = k->pub.data();
  *out_len = k->pub.size();
  return k.release();
}
bool share_finish(void* p) {
  auto* k = static_cast<EcKey*>(p);
  return k->has_public = k->pub[0] == 0x04;  // as ec_make_public accepts it
}
void share_free(void* k) { delete static_cast<EcKey*>(k); }

}  // namespace

const KeyShareKind kP256ShareKind{"p256", engine::Op::kEcKeygen, share_make<256>, share_finish, share_free};
const KeyShareKind kP384ShareKind{"p384", engine::Op::kEcKeygen, share_make<384>, share_finish, share_free};

bool ec_derive(EcKey* k, const uint8_t* peer, size_t peer_len, uint8_t* out, bool cofactor) {
  if (!has_private(k, ProvOp::kEcdhDerive)) return false;
  if (peer_len != k->curve->point_bytes() || peer[0] != 0x04) {
    k->pc->stats[ProvOp::kEcdhDerive].failed.fetch_add(1);
    return false;
  }
  auto reg = [k](engine::Engine* eng, engine::KeyHandle* h) { return register_key(k, eng, h); };
  cofactor = cofactor && !k->curve->cofactor_one;  // h = 1: the same value
  auto software = [&] { return sw_derive(k, peer, peer_len, out, cofactor); };
  if (!k->curve->accelerated || cofactor) return run_software(k->pc->stats[ProvOp::kEcdhDerive], software);
  return run_private_op(k->pc, ProvOp::kEcdhDerive, k->engine_ref, reg, engine::Op::kEcdhDerive, peer, peer_len, out,
                        k->curve->bytes, software);
}

bool ec_sign(EcKey* k, const uint8_t* digest, size_t digest_len, uint8_t* rs) {
  if (!has_private(k, ProvOp::kEcdsaSign)) return false;
  auto software = [&] { return sw_sign(k, digest, digest_len, rs); };
  if (!k->curve->accelerated && digest_len > 0) return run_software(k->pc->stats[ProvOp::kEcdsaSign], software);
  if (digest_len == 0 || digest_len > 64) {
    k->pc->stats[ProvOp::kEcdsaSign].failed.fetch_add(1);
    return false;
  }
  auto reg = [k](engine::Engine* eng, engine::KeyHandle* h) { return register_key(k, eng, h); };
  return run_private_op(k->pc, ProvOp::kEcdsaSign, k->engine_ref, reg, engine::Op::kEcdsaSign, digest, digest_len,
                        rs, 2 * k->curve->order_bytes, software);
}

bool ec_public_in_subgroup(const EcKey* k) {
  if (!k->curve || !k->has_public) return false;
  if (k->curve->cofactor_one) return true;
  SwGroup g(k->pc, *k->curve);
  EC_POINT* q = g.ok() ? EC_POINT_new(g.group) : nullptr;
  EC_POINT* r = q ? EC_POINT_new(g.group) : nullptr;
  const bool ok = r && EC_POINT_oct2point(g.group, q, k->pub.data(), k->pub.size(), g.bn) == 1 &&
                  EC_POINT_mul(g.group, r, nullptr, q, EC_GROUP_get0_order(g.group), g.bn) == 1 &&
                  EC_POINT_is_at_infinity(g.group, r) == 1;
  EC_POINT_free(r);
  EC_POINT_free(q);
  return ok;
}

EVP_PKEY* ec_sw_pkey(const EcKey* k, bool with_private) {
  if (!k->curve || !k->has_public || (with_private && !k->has_private)) return nullptr;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BIGNUM* d = nullptr;
  bool ok = bld &&
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, k->curve->group, 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, k->pub.data(), k->pub.size());
  if (ok && with_private) {
    d = BN_bin2bn(k->priv.data(), static_cast<int>(k->priv.size()), BN_secure_new());
    ok = d && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
  }
  OSSL_PARAM* params = ok ? OSSL_PARAM_BLD_to_param(bld) : nullptr;
  EVP_PKEY_CTX* c = params ? EVP_PKEY_CTX_new_from_name(k->pc->sw, "EC", nullptr) : nullptr;
  EVP_PKEY* pkey = nullptr;
  if (!c || EVP_PKEY_fromdata_init(c) != 1 ||
      EVP_PKEY_fromdata(c, &pkey, with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
    pkey = nullptr;
  EVP_PKEY_CTX_free(c);
  OSSL_PARAM_free(params);
  BN_clear_free(d);
  OSSL_PARAM_BLD_free(bld);
  return pkey;
}

}  // namespace gputls::host
