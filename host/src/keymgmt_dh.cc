// Finite-field DH key management. Parameters come from a named RFC 7919
// group (TLS 1.3 ffdhe2048/ffdhe3072: gen with a group name, p and g from
// OpenSSL's tables) or are imported (TLS 1.2 DHE: libssl imports an RFC 3526
// prime and g = 2, then generates from that key as a template). Key
// generation is one engine operation (public = g^x mod p). A TLS 1.3 peer key
// is a parameters-only key plus encoded-pub-key; a TLS 1.2 peer key is a dup
// of our parameters (copy-parameters) plus encoded-pub-key.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>
#include <string>

#include "bn_params.h"
#include "dh_key.h"
#include "prov_err.h"
#include "provider.h"

namespace gputls::host {
namespace {

constexpr int kPub = OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
constexpr int kPriv = OSSL_KEYMGMT_SELECT_PRIVATE_KEY;
constexpr int kParams = OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;

void* dk_new(void* provctx) { return new DhKey(static_cast<ProvCtx*>(provctx)); }
void dk_free(void* key) { delete static_cast<DhKey*>(key); }

int dk_has(const void* keydata, int selection) {
  auto* k = static_cast<const DhKey*>(keydata);
  if (!k) return 0;
  if ((selection & kParams) && k->params.empty()) return 0;
  if ((selection & kPub) && !k->has_public) return 0;
  if ((selection & kPriv) && !k->has_private) return 0;
  return 1;
}

// As OpenSSL's DH match: a key pair compares public values (private ones when
// there is no public selection), parameters compare p and g.
int dk_match(const void* a, const void* b, int selection) {
  auto* x = static_cast<const DhKey*>(a);
  auto* y = static_cast<const DhKey*>(b);
  if (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) {
    if (selection & kPub) {
      if (!x->has_public || !y->has_public || x->pub != y->pub) return 0;
    } else if (!x->has_private || !y->has_private || x->priv.size() != y->priv.size() ||
               CRYPTO_memcmp(x->priv.data(), y->priv.data(), x->priv.size()) != 0) {
      return 0;
    }
  }
  if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) && !x->params.same_group(y->params)) return 0;
  return 1;
}

// A BIGNUM param (integers of any size, libssl pushes g as a uint) as
// big-endian bytes without leading zeros.
bool get_bn(const OSSL_PARAM* p, DhBytes* out) {
  BIGNUM* b = nullptr;
  if (!OSSL_PARAM_get_BN(p, &b)) return false;
  out->assign(static_cast<size_t>(BN_num_bytes(b)), 0);
  if (!out->empty()) BN_bn2bin(b, out->data());
  BN_free(b);
  return true;
}

// Public value from raw big-endian bytes: at most the prime's length, padded to it.
bool set_pub_bytes(DhKey* k, const uint8_t* data, size_t len) {
  const size_t plen = k->params.bytes();
  // Leading zero bytes beyond the prime's length change no value: the
  // default provider takes the number whatever its length (RFC 8446 pads to
  // the prime's; nothing enforces it), so gputls does too.
  while (len > plen && *data == 0) {
    ++data;
    --len;
  }
  if (plen == 0 || len == 0 || len > plen) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: public value of %zu bytes for a %zu-byte prime", len, plen);
    return false;
  }
  k->pub.assign(plen, 0);
  std::memcpy(k->pub.data() + (plen - len), data, len);
  k->has_public = true;
  return true;
}

bool read_params(DhKey* k, const OSSL_PARAM params[]) {
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_FFC_P);
  const OSSL_PARAM* name = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
  DhParams d;
  if (p) {
    const OSSL_PARAM* g = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_FFC_G);
    const OSSL_PARAM* q = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_FFC_Q);
    if (!g || !get_bn(p, &d.p) || !get_bn(g, &d.g) || (q && !get_bn(q, &d.q))) return false;
    const char* gname = nullptr;
    DhParams named;
    // Keep the group name only when the numbers are that group's.
    if (name && OSSL_PARAM_get_utf8_string_ptr(name, &gname) && dh_named_group(k->pc, gname, &named) &&
        named.same_group(d))
      d.group = named.group;
  } else if (name) {
    const char* gname = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(name, &gname) || !dh_named_group(k->pc, gname, &d)) {
      GT_RAISE(ERR_R_UNSUPPORTED, "gputls DH: group \"%s\" is not a DH group OpenSSL names (give p and g)",
               gname ? gname : "?");
      return false;
    }
  } else {
    return true;  // nothing here
  }
  if (!dh_params_ok(d)) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: parameters refused (p must be odd and at least 512 bits, 1 < g < p-1)");
    return false;
  }
  k->params = std::move(d);
  return true;
}

// Imported private keys without a public value get one computed (by the engine).
int dk_import(void* keydata, int selection, const OSSL_PARAM params[]) {
  auto* k = static_cast<DhKey*>(keydata);
  if (!k || !(selection & (kParams | OSSL_KEYMGMT_SELECT_KEYPAIR))) return 0;
  if (!read_params(k, params)) return 0;
  if (k->params.empty()) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: import without p and g or a group name");
    return 0;
  }
  const OSSL_PARAM* p;
  if ((selection & kPriv) && (p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY))) {
    BIGNUM* b = nullptr;
    if (!OSSL_PARAM_get_BN(p, &b)) return 0;
    k->priv.assign(static_cast<size_t>(BN_num_bytes(b)), 0);
    if (!k->priv.empty()) BN_bn2bin(b, k->priv.data());
    BN_clear_free(b);
    if (k->priv.empty()) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: private value 0");
      return 0;
    }
    k->has_private = true;
  }
  if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) && (p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY))) {
    DhBytes y;
    if (!get_bn(p, &y) || !set_pub_bytes(k, y.data(), y.size())) return 0;
  }
  if (k->has_private && !k->has_public) {
    DhBytes g(k->params.bytes(), 0);
    std::memcpy(g.data() + g.size() - k->params.g.size(), k->params.g.data(), k->params.g.size());
    k->pub.assign(k->params.bytes(), 0);
    if (!dh_modexp(k, ProvOp::kDhKeygen, g.data(), k->pub.data())) return 0;
    k->has_public = true;
  }
  return 1;
}

const OSSL_PARAM* dk_key_types(int) {
  static const OSSL_PARAM kTypes[] = {OSSL_PARAM_BN(OSSL_PKEY_PARAM_FFC_P, nullptr, 0),
                                      OSSL_PARAM_BN(OSSL_PKEY_PARAM_FFC_G, nullptr, 0),
                                      OSSL_PARAM_BN(OSSL_PKEY_PARAM_FFC_Q, nullptr, 0),
                                      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
                                      OSSL_PARAM_BN(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
                                      OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, nullptr, 0),
                                      OSSL_PARAM_END};
  return kTypes;
}

int dk_export(void* keydata, int selection, OSSL_CALLBACK* cb, void* cbarg) {
  auto* k = static_cast<DhKey*>(keydata);
  if (!k || k->params.empty()) return 0;
  auto secure = [](const DhBytes& v) { return engine::SecureBytes(v.begin(), v.end()); };
  BnParams bld;
  // Parameters always go along: a DH key means nothing without them.
  bld.push(OSSL_PKEY_PARAM_FFC_P, secure(k->params.p)).push(OSSL_PKEY_PARAM_FFC_G, secure(k->params.g));
  bld.push(OSSL_PKEY_PARAM_FFC_Q, secure(k->params.q));  // skipped when empty
  if ((selection & kPub) && k->has_public) bld.push(OSSL_PKEY_PARAM_PUB_KEY, secure(k->pub));
  if ((selection & kPriv) && k->has_private) bld.push(OSSL_PKEY_PARAM_PRIV_KEY, k->priv);
  OSSL_PARAM* built = bld.build();
  if (!built) return 0;
  // The group name as a separate array element: OSSL_PARAM_BLD has no
  // borrowed-string push that outlives k, so merge by hand.
  size_t n = 0;
  while (built[n].key) ++n;
  std::vector<OSSL_PARAM> all(built, built + n);
  if (!k->params.group.empty())
    all.push_back(OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(k->params.group.c_str()), 0));
  all.push_back(OSSL_PARAM_construct_end());
  int r = cb(all.data(), cbarg);
  OSSL_PARAM_free(built);
  return r;
}

bool set_bn_param(OSSL_PARAM* p, const uint8_t* v, size_t len) {
  BIGNUM* b = BN_bin2bn(v, static_cast<int>(len), nullptr);
  bool ok = b && OSSL_PARAM_set_BN(p, b);
  BN_clear_free(b);
  return ok;
}

int dk_get_params(void* keydata, OSSL_PARAM params[]) {
  auto* k = static_cast<DhKey*>(keydata);
  OSSL_PARAM* p;
  const DhParams& d = k->params;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) && !OSSL_PARAM_set_int(p, d.bits())) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) && !OSSL_PARAM_set_int(p, dh_security_bits(d)))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) && !OSSL_PARAM_set_int(p, static_cast<int>(d.bytes())))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY)) &&
      (!k->has_public || !OSSL_PARAM_set_octet_string(p, k->pub.data(), k->pub.size())))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PUB_KEY)) &&
      (!k->has_public || !set_bn_param(p, k->pub.data(), k->pub.size())))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY)) &&
      (!k->has_private || !set_bn_param(p, k->priv.data(), k->priv.size())))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_FFC_P)) && (d.empty() || !set_bn_param(p, d.p.data(), d.p.size())))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_FFC_G)) && (d.empty() || !set_bn_param(p, d.g.data(), d.g.size())))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_FFC_Q)) && (d.q.empty() || !set_bn_param(p, d.q.data(), d.q.size())))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_GROUP_NAME)) &&
      (d.group.empty() || !OSSL_PARAM_set_utf8_string(p, d.group.c_str())))
    return 0;
  return 1;
}

const OSSL_PARAM* dk_gettable_params(void*) {
  static const OSSL_PARAM kGettable[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_FFC_P, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_FFC_G, nullptr, 0),
      OSSL_PARAM_BN(OSSL_PKEY_PARAM_FFC_Q, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
      OSSL_PARAM_END};
  return kGettable;
}

// encoded-pub-key: big-endian, at most the prime's length (TLS 1.3 pads it,
// TLS 1.2 does not), stored padded. A peer value outside 1 < y < p-1 is
// refused here, as the default provider refuses it, so libssl answers
// illegal_parameter (not internal_error from a later failed derive).
int dk_set_params(void* keydata, const OSSL_PARAM params[]) {
  auto* k = static_cast<DhKey*>(keydata);
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
  if (!p) return 1;
  const void* data = nullptr;
  size_t len = 0;
  if (!OSSL_PARAM_get_octet_string_ptr(p, &data, &len)) return 0;
  const auto* y = static_cast<const uint8_t*>(data);
  if (!k->params.empty() && !dh_public_in_range(k->params, y, len)) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: peer value outside 1 < y < p-1");
    return 0;
  }
  return set_pub_bytes(k, y, len) ? 1 : 0;
}

const OSSL_PARAM* dk_settable_params(void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
                                         OSSL_PARAM_END};
  return kSettable;
}

// As OpenSSL's DH dup: parameters always, key halves as selected.
void* dk_dup(const void* keydata, int selection) {
  auto* k = static_cast<const DhKey*>(keydata);
  auto* d = new DhKey(k->pc);
  d->params = k->params;
  if ((selection & kPub) && k->has_public) {
    d->pub = k->pub;
    d->has_public = true;
  }
  if ((selection & kPriv) && k->has_private) {
    d->priv = k->priv;
    d->has_private = true;
  }
  return d;
}

// EVP_PKEY_public_check and friends (EVP_PKEY_derive_set_peer runs the full
// public check on the peer): parameters sane, 1 < y < p-1, and (not for the
// quick check) y^q mod p == 1 when there is a q, as the default's
// DH_check_pub_key: a value outside the subgroup is refused here as it is there.
int dk_validate(const void* keydata, int selection, int checktype) {
  auto* k = static_cast<const DhKey*>(keydata);
  if (!k || k->params.empty() || !dh_params_ok(k->params)) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: key check failed: parameters missing or malformed");
    return 0;
  }
  if ((selection & kPub) && (!k->has_public || !dh_public_in_range(k->params, k->pub.data(), k->pub.size()))) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: key check failed: public value missing or outside 1 < y < p-1");
    return 0;
  }
  if ((selection & kPub) && checktype != OSSL_KEYMGMT_VALIDATE_QUICK_CHECK &&
      !dh_public_in_subgroup(k->params, k->pub.data(), k->pub.size())) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: key check failed: public value not in the subgroup of order q");
    return 0;
  }
  if ((selection & kPriv) && !k->has_private) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: key check failed: no private value");
    return 0;
  }
  return 1;
}

const char* dk_query_operation_name(int) { return "DH"; }

struct DGen {
  ProvCtx* pc;
  int selection;
  DhParams params;  // from a group name or a template
  // Parameter generation settings (pbits, type, ...), kept for the default
  // provider's DH paramgen when there is neither a group nor a template.
  OSSL_PARAM* paramgen = nullptr;
  const char* sw_type = "DH";  // the default's keymgmt that generates parameters: "DH" or "DHX"
  ~DGen() { OSSL_PARAM_free(paramgen); }
};

int dk_gen_set_params(void* genctx, const OSSL_PARAM params[]) {
  auto* g = static_cast<DGen*>(genctx);
  if (!params) return 1;
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
  const char* name = nullptr;
  if (p && (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !dh_named_group(g->pc, name, &g->params))) {
    GT_RAISE(ERR_R_UNSUPPORTED, "gputls DH: group \"%s\" is not a DH group OpenSSL names", name ? name : "?");
    return 0;
  }
  // Everything else is for parameter generation: kept (merged over what was set before).
  OSSL_PARAM* merged = OSSL_PARAM_merge(g->paramgen, params);  // the later value of a key wins
  OSSL_PARAM* copy = merged ? OSSL_PARAM_dup(merged) : nullptr;
  OSSL_PARAM_free(merged);
  if (!copy) return 0;
  OSSL_PARAM_free(g->paramgen);
  g->paramgen = copy;
  return 1;
}

void* dk_gen_init(void* provctx, int selection, const OSSL_PARAM params[]) {
  auto* g = new DGen{static_cast<ProvCtx*>(provctx), selection, {}};
  if (!dk_gen_set_params(g, params)) {
    delete g;
    return nullptr;
  }
  return g;
}

// DHX (X9.42) keys: the same key object; parameter generation as the
// default's DHX keymgmt does it (FIPS 186 p and q rather than a safe prime).
void* dhx_gen_init(void* provctx, int selection, const OSSL_PARAM params[]) {
  auto* g = static_cast<DGen*>(dk_gen_init(provctx, selection, params));
  if (g) g->sw_type = "DHX";
  return g;
}

int dk_gen_set_template(void* genctx, void* templ) {
  auto* g = static_cast<DGen*>(genctx);
  auto* t = static_cast<DhKey*>(templ);
  if (!g || !t || t->params.empty()) return 0;
  g->params = t->params;
  return 1;
}

// As the default's DH keymgmt takes them (dh_gen_settable_params).
const OSSL_PARAM* dk_gen_settable_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_FFC_TYPE, nullptr, 0),
                                         OSSL_PARAM_size_t(OSSL_PKEY_PARAM_FFC_PBITS, nullptr),
                                         OSSL_PARAM_size_t(OSSL_PKEY_PARAM_FFC_QBITS, nullptr),
                                         OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_FFC_DIGEST, nullptr, 0),
                                         OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_FFC_DIGEST_PROPS, nullptr, 0),
                                         OSSL_PARAM_int(OSSL_PKEY_PARAM_FFC_GINDEX, nullptr),
                                         OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_FFC_SEED, nullptr, 0),
                                         OSSL_PARAM_int(OSSL_PKEY_PARAM_FFC_PCOUNTER, nullptr),
                                         OSSL_PARAM_int(OSSL_PKEY_PARAM_FFC_H, nullptr),
                                         OSSL_PARAM_int(OSSL_PKEY_PARAM_DH_GENERATOR, nullptr),
                                         OSSL_PARAM_int(OSSL_PKEY_PARAM_DH_PRIV_LEN, nullptr),
                                         OSSL_PARAM_END};
  return kSettable;
}

// DH parameter generation (pbits, type, ...): the default provider's, in
// pc->sw, counted nowhere (no private key is involved).
bool generate_params(DGen* g) {
  EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_name(g->pc->sw, g->sw_type, nullptr);
  EVP_PKEY* pk = nullptr;
  BIGNUM *p = nullptr, *gen = nullptr, *q = nullptr;
  bool ok = c && EVP_PKEY_paramgen_init(c) == 1 && (!g->paramgen || EVP_PKEY_CTX_set_params(c, g->paramgen) == 1) &&
            EVP_PKEY_paramgen(c, &pk) == 1 && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_FFC_P, &p) == 1 &&
            EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_FFC_G, &gen) == 1;
  if (ok) {
    DhParams d;
    d.p.assign(static_cast<size_t>(BN_num_bytes(p)), 0);
    BN_bn2bin(p, d.p.data());
    d.g.assign(static_cast<size_t>(BN_num_bytes(gen)), 0);
    BN_bn2bin(gen, d.g.data());
    if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_FFC_Q, &q) == 1) {
      d.q.assign(static_cast<size_t>(BN_num_bytes(q)), 0);
      BN_bn2bin(q, d.q.data());
    }
    ok = dh_params_ok(d);
    if (ok) g->params = std::move(d);
  }
  BN_free(p);
  BN_free(gen);
  BN_free(q);
  EVP_PKEY_free(pk);
  EVP_PKEY_CTX_free(c);
  if (!ok) GT_RAISE(ERR_R_INTERNAL_ERROR, "gputls DH: parameter generation (in the default provider) failed");
  return ok;
}

// Parameters only (a TLS 1.3 peer-key shell) cost nothing; a key pair costs
// one engine operation.
void* dk_gen(void* genctx, OSSL_CALLBACK*, void*) {
  auto* g = static_cast<DGen*>(genctx);
  if (g->params.empty()) {  // no group name, no template: parameter generation
    if (!(g->selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS)) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls DH: key generation needs a group name, template or parameters");
      return nullptr;
    }
    if (!generate_params(g)) return nullptr;
  }
  auto* k = new DhKey(g->pc);
  k->params = g->params;
  if (!(g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) return k;
  // A job paused in dh_modexp and never resumed frees k from its wait ctx's
  // cleanup (the private key wiped, the engine slot freed).
  AbandonGuard guard([](void* p) { delete static_cast<DhKey*>(p); }, k);
  const int bits = dh_private_bits(k->params);
  const size_t nbytes = static_cast<size_t>((bits + 7) / 8);
  k->priv.assign(nbytes, 0);
  bool ok = bits >= 2 && RAND_priv_bytes_ex(g->pc->sw, k->priv.data(), nbytes, 0) == 1;
  if (ok) {
    // Exactly `bits` bits: top bit set, so 2^(bits-1) <= x < 2^bits < p-1.
    const int top = (bits - 1) % 8;
    k->priv[0] &= static_cast<uint8_t>((1u << (top + 1)) - 1);
    k->priv[0] |= static_cast<uint8_t>(1u << top);
    k->has_private = true;
    DhBytes base(k->params.bytes(), 0);
    std::memcpy(base.data() + base.size() - k->params.g.size(), k->params.g.data(), k->params.g.size());
    k->pub.assign(k->params.bytes(), 0);
    ok = dh_modexp(k, ProvOp::kDhKeygen, base.data(), k->pub.data());
  }
  if (!ok) {
    delete k;
    return nullptr;
  }
  k->has_public = true;
  return k;
}
void dk_gen_cleanup(void* genctx) { delete static_cast<DGen*>(genctx); }

}  // namespace

#define GT_DH_KEYMGMT(gen_init) {\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_NEW, dk_new),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_FREE, dk_free),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_HAS, dk_has),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_MATCH, dk_match),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_VALIDATE, dk_validate),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT, dk_import),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, dk_key_types),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT, dk_export),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, dk_key_types),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GET_PARAMS, dk_get_params),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, dk_gettable_params),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_SET_PARAMS, dk_set_params),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, dk_settable_params),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_DUP, dk_dup),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, dk_query_operation_name),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_INIT, gen_init),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE, dk_gen_set_template),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, dk_gen_set_params),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, dk_gen_settable_params),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN, dk_gen),\
    GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, dk_gen_cleanup), {0, nullptr}}

const OSSL_DISPATCH kDhKeymgmt[] = GT_DH_KEYMGMT(dk_gen_init);
const OSSL_DISPATCH kDhxKeymgmt[] = GT_DH_KEYMGMT(dhx_gen_init);

}  // namespace gputls::host
