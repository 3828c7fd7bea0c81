// Finite-field DH key exchange: the shared value y^x mod p is one engine
// operation. The peer's y must satisfy 1 < y < p-1 and share our p and g.
// Output: padded to the prime's length when the `pad` parameter is set
// (libssl sets it for TLS 1.3), else leading zero bytes stripped as PKCS#3
// and TLS 1.2 (RFC 5246 8.1.2) want; the same default as OpenSSL's DH, and
// the strip runs in constant time (ct_strip.h). With kdf-type
// "X942KDF-ASN1" (kdf-digest, kdf-outlen, kdf-ukm, cekalg) the padded
// secret goes through the X9.42 KDF fetched from the provider's own
// context, as the default provider's dh_exch.c does.
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstring>
#include <string>
#include <vector>

#include "ct_strip.h"
#include "dh_key.h"
#include "kex_kdf.h"
#include "prov_err.h"
#include "provider.h"

namespace gputls::host {
namespace {

constexpr const char* kX942Asn1 = "X942KDF-ASN1";  // OSSL_KDF_NAME_X942KDF_ASN1

struct KexCtx {
  explicit KexCtx(ProvCtx* p) : pc(p) {}
  ProvCtx* pc;
  DhKey* key = nullptr;
  DhKey* peer = nullptr;
  bool pad = false;
  KexKdf kdf{"gputls DH", kX942Asn1, OSSL_KDF_PARAM_UKM};  // X9.42 (off: plain DH)
  std::string kdf_cekalg;
};

void* dx_newctx(void* provctx) { return new KexCtx(static_cast<ProvCtx*>(provctx)); }
void dx_freectx(void* ctx) { delete static_cast<KexCtx*>(ctx); }
void* dx_dupctx(void* ctx) { return new KexCtx(*static_cast<KexCtx*>(ctx)); }

int dx_set_ctx_params(void* ctx, const OSSL_PARAM params[]) {
  auto* c = static_cast<KexCtx*>(ctx);
  if (!params) return 1;
  const OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_PAD))) {
    unsigned int pad = 0;
    if (!OSSL_PARAM_get_uint(p, &pad)) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: pad is not an unsigned integer");
      return 0;
    }
    c->pad = pad != 0;
  }
  if (!c->kdf.set_params(c->pc->sw, params)) return 0;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_KDF_PARAM_CEK_ALG))) {
    const char* alg = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &alg)) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: cekalg is not a string");
      return 0;
    }
    c->kdf_cekalg = alg ? alg : "";
  }
  return 1;
}

const OSSL_PARAM* dx_settable_ctx_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_uint(OSSL_EXCHANGE_PARAM_PAD, nullptr),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS, nullptr, 0),
                                         OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, nullptr),
                                         OSSL_PARAM_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_CEK_ALG, nullptr, 0),
                                         OSSL_PARAM_END};
  return kSettable;
}

int dx_get_ctx_params(void* ctx, OSSL_PARAM params[]) {
  auto* c = static_cast<KexCtx*>(ctx);
  OSSL_PARAM* p;
  if (!c->kdf.get_params(params)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_KDF_PARAM_CEK_ALG)) && !OSSL_PARAM_set_utf8_string(p, c->kdf_cekalg.c_str()))
    return 0;
  return 1;
}

const OSSL_PARAM* dx_gettable_ctx_params(void*, void*) {
  static const OSSL_PARAM kGettable[] = {OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, nullptr, 0),
                                         OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, nullptr),
                                         OSSL_PARAM_DEFN(OSSL_EXCHANGE_PARAM_KDF_UKM, OSSL_PARAM_OCTET_PTR, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_CEK_ALG, nullptr, 0),
                                         OSSL_PARAM_END};
  return kGettable;
}

int dx_init(void* ctx, void* key, const OSSL_PARAM params[]) {
  auto* c = static_cast<KexCtx*>(ctx);
  c->key = static_cast<DhKey*>(key);
  c->pad = false;
  c->kdf.off();
  if (!c->key || !c->key->has_private || c->key->params.empty()) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: derive needs a key with parameters and a private value");
    return 0;
  }
  return dx_set_ctx_params(c, params);
}

int dx_set_peer(void* ctx, void* peer) {
  auto* c = static_cast<KexCtx*>(ctx);
  auto* p = static_cast<DhKey*>(peer);
  if (!c->key || !p || !p->has_public || !p->params.same_group(c->key->params)) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: the peer key has no public value or other parameters");
    return 0;
  }
  c->peer = p;
  return 1;
}

// The padded shared value y^x mod p (params.bytes() long) into out.
bool derive_padded(KexCtx* c, uint8_t* out) {
  const size_t len = c->key->params.bytes();
  const DhBytes& y = c->peer->pub;
  if (y.size() != len || !dh_public_in_range(c->key->params, y.data(), y.size())) {
    c->pc->stats[ProvOp::kDhDerive].failed.fetch_add(1);
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: peer value outside 1 < y < p-1");
    return false;
  }
  if (!dh_modexp(c->key, ProvOp::kDhDerive, y.data(), out)) {
    GT_RAISE(ERR_R_INTERNAL_ERROR, "gputls DH: modular exponentiation failed");
    return false;
  }
  return true;
}

// As the default provider's dh_X9_42_kdf_derive: the KDF over the padded secret.
int derive_x942(KexCtx* c, unsigned char* secret, size_t* secretlen, size_t outlen) {
  if (!secret) {
    *secretlen = c->kdf.outlen();
    return 1;
  }
  if (!c->kdf.can_derive(outlen)) return 0;
  if (c->kdf_cekalg.empty()) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: X9.42 KDF without cekalg");
    return 0;
  }
  engine::SecureBytes z(c->key->params.bytes(), 0);
  if (!derive_padded(c, z.data()) ||
      !c->kdf.derive(c->pc->sw, z.data(), z.size(), secret, outlen,
                     {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_CEK_ALG, const_cast<char*>(c->kdf_cekalg.c_str()), 0)}))
    return 0;
  *secretlen = c->kdf.outlen();
  return 1;
}

int dx_derive(void* ctx, unsigned char* secret, size_t* secretlen, size_t outlen) {
  auto* c = static_cast<KexCtx*>(ctx);
  if (!c->key) return 0;
  if (secret && !c->peer) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: derive without a peer key");
    return 0;
  }
  if (c->kdf.on()) return derive_x942(c, secret, secretlen, outlen);
  const size_t len = c->key->params.bytes();
  if (!secret) {
    *secretlen = len;
    return 1;
  }
  if (outlen < len) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: output buffer (%zu) shorter than the prime (%zu)", outlen, len);
    return 0;
  }
  if (!derive_padded(c, secret)) return 0;
  *secretlen = c->pad ? len : ct_strip_leading_zeros(secret, len);
  return 1;
}

}  // namespace

const OSSL_DISPATCH kDhKeyexch[] = {
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_NEWCTX, dx_newctx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_FREECTX, dx_freectx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_DUPCTX, dx_dupctx),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_INIT, dx_init),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SET_PEER, dx_set_peer),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_DERIVE, dx_derive),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, dx_set_ctx_params),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, dx_settable_ctx_params),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_GET_CTX_PARAMS, dx_get_ctx_params),
    GT_DISPATCH(OSSL_FUNC_KEYEXCH_GETTABLE_CTX_PARAMS, dx_gettable_ctx_params),
    {0, nullptr}};

}  // namespace gputls::host
