// X25519 and X448 key management (one implementation, the key's EcxType
// says which). X25519 key generation is one engine operation (public =
// X25519(priv, 9)); X448 runs in the provider's own OpenSSL context. A TLS
// 1.3 peer key arrives as a key with no private part plus encoded-pub-key,
// and nothing is generated for it.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>

#include "prov_err.h"
#include "provider.h"
#include "x25519_key.h"

namespace gputls::host {
namespace {

constexpr int kPub = OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
constexpr int kPriv = OSSL_KEYMGMT_SELECT_PRIVATE_KEY;

template <const EcxType* T>
void* xk_new(void* provctx) { return new X25519Key(static_cast<ProvCtx*>(provctx), T); }
void xk_free(void* key) { delete static_cast<X25519Key*>(key); }

int xk_has(const void* keydata, int selection) {
  auto* k = static_cast<const X25519Key*>(keydata);
  if (!k) return 0;
  if ((selection & kPub) && !k->has_public) return 0;
  if ((selection & kPriv) && !k->has_private) return 0;
  return 1;
}

int xk_match(const void* a, const void* b, int selection) {
  auto* x = static_cast<const X25519Key*>(a);
  auto* y = static_cast<const X25519Key*>(b);
  if (x->type != y->type) return 0;
  if (selection & kPub) return x->has_public && y->has_public && x->pub == y->pub;
  if (selection & kPriv)  // constant time: private keys
    return x->priv.size() == y->priv.size() && CRYPTO_memcmp(x->priv.data(), y->priv.data(), x->priv.size()) == 0;
  return 1;
}

bool set_pub(X25519Key* k, const OSSL_PARAM* p) {
  const void* data = nullptr;
  size_t len = 0;
  if (!OSSL_PARAM_get_octet_string_ptr(p, &data, &len) || len != k->type->len) {
    GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: public key of %zu bytes (%zu expected)", k->type->name, len,
             k->type->len);
    return false;
  }
  std::memcpy(k->pub.data(), data, len);
  k->has_public = true;
  return true;
}

// Imported private keys get their public half computed (by the engine).
int xk_import(void* keydata, int selection, const OSSL_PARAM params[]) {
  auto* k = static_cast<X25519Key*>(keydata);
  if (!k || !(selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) return 0;
  const OSSL_PARAM* p;
  if ((selection & kPriv) && (p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY))) {
    const void* data = nullptr;
    size_t len = 0;
    if (!OSSL_PARAM_get_octet_string_ptr(p, &data, &len) || len != k->type->len) {
      GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: private key of %zu bytes (%zu expected)", k->type->name, len,
               k->type->len);
      return 0;
    }
    k->priv.assign(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + len);
    k->has_private = true;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY)) && !set_pub(k, p)) return 0;
  if (k->has_private && !k->has_public && !x25519_make_public(k)) return 0;
  return k->has_public || k->has_private;
}

const OSSL_PARAM* xk_key_types(int) {
  static const OSSL_PARAM kTypes[] = {OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
                                      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, nullptr, 0), OSSL_PARAM_END};
  return kTypes;
}

int xk_export(void* keydata, int selection, OSSL_CALLBACK* cb, void* cbarg) {
  auto* k = static_cast<X25519Key*>(keydata);
  OSSL_PARAM params[3];
  int n = 0;
  if ((selection & kPub) && k->has_public)
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, k->pub.data(), k->type->len);
  if ((selection & kPriv) && k->has_private)
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, k->priv.data(), k->type->len);
  params[n] = OSSL_PARAM_construct_end();
  return n ? cb(params, cbarg) : 0;
}

int xk_get_params(void* keydata, OSSL_PARAM params[]) {
  auto* k = static_cast<X25519Key*>(keydata);
  OSSL_PARAM* p;
  const EcxType& t = *k->type;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) && !OSSL_PARAM_set_int(p, t.bits)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) && !OSSL_PARAM_set_int(p, t.security_bits))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) && !OSSL_PARAM_set_int(p, static_cast<int>(t.len)))
    return 0;
  for (const char* name : {OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, OSSL_PKEY_PARAM_PUB_KEY}) {
    if ((p = OSSL_PARAM_locate(params, name)) &&
        (!k->has_public || !OSSL_PARAM_set_octet_string(p, k->pub.data(), t.len)))
      return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY)) &&
      (!k->has_private || !OSSL_PARAM_set_octet_string(p, k->priv.data(), t.len)))
    return 0;
  return 1;
}

const OSSL_PARAM* xk_gettable_params(void*) {
  static const OSSL_PARAM kGettable[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr), OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, nullptr, 0), OSSL_PARAM_END};
  return kGettable;
}

int xk_set_params(void* keydata, const OSSL_PARAM params[]) {
  auto* k = static_cast<X25519Key*>(keydata);
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
  if (p && !set_pub(k, p)) return 0;
  return 1;
}

const OSSL_PARAM* xk_settable_params(void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
                                         OSSL_PARAM_END};
  return kSettable;
}

void* xk_dup(const void* keydata, int selection) {
  auto* k = static_cast<const X25519Key*>(keydata);
  auto* d = new X25519Key(k->pc, k->type);
  if (selection & kPub) {
    d->pub = k->pub;
    d->has_public = k->has_public;
  }
  if (selection & kPriv) {
    d->priv = k->priv;
    d->has_private = k->has_private;
  }
  return d;
}

template <const EcxType* T>
const char* xk_query_operation_name(int) { return T->name; }

struct XGen {
  ProvCtx* pc;
  int selection;
  const EcxType* type;
};

int xk_gen_set_params(void* genctx, const OSSL_PARAM params[]) {
  return gen_group_is(params, static_cast<XGen*>(genctx)->type->name) ? 1 : 0;
}
template <const EcxType* T>
void* xk_gen_init(void* provctx, int selection, const OSSL_PARAM params[]) {
  auto* g = new XGen{static_cast<ProvCtx*>(provctx), selection, T};
  if (!xk_gen_set_params(g, params)) {
    delete g;
    return nullptr;
  }
  return g;
}
const OSSL_PARAM* xk_gen_settable_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
                                         OSSL_PARAM_END};
  return kSettable;
}
// Only what selection asks for: a peer-key shell (no key pair bits) costs nothing.
void* xk_gen(void* genctx, OSSL_CALLBACK*, void*) {
  auto* g = static_cast<XGen*>(genctx);
  if ((g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) && g->type->accelerated)
    if (X25519Key* k = x25519_take_ready(g->pc)) return k;
  auto* k = new X25519Key(g->pc, g->type);
  if (!(g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) return k;
  k->priv.resize(g->type->len);
  k->has_private = RAND_priv_bytes_ex(g->pc->sw, k->priv.data(), g->type->len, 0) == 1;
  // A job paused in x25519_make_public and never resumed frees k from its
  // wait ctx's cleanup (the private key wiped, the engine slot freed).
  AbandonGuard guard([](void* p) { delete static_cast<X25519Key*>(p); }, k);
  const bool ok = k->has_private && x25519_make_public(k);
  if (g->type->accelerated) x25519_refill_after_miss(g->pc);
  if (!ok) {
    delete k;
    return nullptr;
  }
  return k;
}
void xk_gen_cleanup(void* genctx) { delete static_cast<XGen*>(genctx); }

}  // namespace

#define GT_ECX_KEYMGMT(T)                                                           \
  {GT_DISPATCH(OSSL_FUNC_KEYMGMT_NEW, xk_new<T>),                                   \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_FREE, xk_free),                                    \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_HAS, xk_has),                                      \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_MATCH, xk_match),                                  \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT, xk_import),                                \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, xk_key_types),                       \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT, xk_export),                                \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, xk_key_types),                       \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GET_PARAMS, xk_get_params),                        \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, xk_gettable_params),              \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_SET_PARAMS, xk_set_params),                        \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, xk_settable_params),              \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_DUP, xk_dup),                                      \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, xk_query_operation_name<T>), \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_INIT, xk_gen_init<T>),                         \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, xk_gen_set_params),                \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, xk_gen_settable_params),      \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN, xk_gen),                                      \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, xk_gen_cleanup),                      \
   {0, nullptr}}

const OSSL_DISPATCH kX25519Keymgmt[] = GT_ECX_KEYMGMT(&kX25519Type);
const OSSL_DISPATCH kX448Keymgmt[] = GT_ECX_KEYMGMT(&kX448Type);

}  // namespace gputls::host
