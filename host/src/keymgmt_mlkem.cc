// Key management of the ML-KEM TLS groups (mlkem_key.h): what libssl asks of
// a KEM group's keys in OpenSSL 3.0. Client: keygen with the group name, then
// the encoded public key (its share). Server: paramgen (a shell), then the
// client's share set as the encoded public key, checked here so a malformed
// share gets illegal_parameter. No import or export: these keys live for one
// handshake and never leave gputls.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "engine_call.h"
#include "mlkem_key.h"
#include "prov_err.h"

namespace gputls::host {
namespace {

template <const MlkemGroup* G>
void* mk_new(void* provctx) { return new MlkemKey(static_cast<ProvCtx*>(provctx), G); }
void mk_free(void* key) { delete static_cast<MlkemKey*>(key); }

int mk_has(const void* keydata, int selection) {
  auto* k = static_cast<const MlkemKey*>(keydata);
  if (!k) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && !k->has_public) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !k->has_private) return 0;
  return 1;
}

int mk_get_params(void* keydata, OSSL_PARAM params[]) {
  auto* k = static_cast<MlkemKey*>(keydata);
  const MlkemGroup& g = *k->group;
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) && !OSSL_PARAM_set_int(p, 8 * static_cast<int>(g.client_share)))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) && !OSSL_PARAM_set_int(p, g.security_bits))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) &&
      !OSSL_PARAM_set_int(p, static_cast<int>(g.server_share)))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY))) {
    if (!k->has_public) return 0;
    const std::vector<uint8_t> share = mlkem_encoded_public(*k);
    if (!OSSL_PARAM_set_octet_string(p, share.data(), share.size())) return 0;
  }
  return 1;
}

const OSSL_PARAM* mk_gettable_params(void*) {
  static const OSSL_PARAM kGettable[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr), OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0), OSSL_PARAM_END};
  return kGettable;
}

int mk_set_params(void* keydata, const OSSL_PARAM params[]) {
  auto* k = static_cast<MlkemKey*>(keydata);
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
  if (!p) return 1;
  const void* data = nullptr;
  size_t len = 0;
  if (!OSSL_PARAM_get_octet_string_ptr(p, &data, &len)) return 0;
  return mlkem_set_encoded_public(k, static_cast<const uint8_t*>(data), len) ? 1 : 0;
}

const OSSL_PARAM* mk_settable_params(void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
                                         OSSL_PARAM_END};
  return kSettable;
}

template <const MlkemGroup* G>
const char* mk_query_operation_name(int) { return G->name; }

struct MkGen {
  ProvCtx* pc;
  int selection;
  const MlkemGroup* group;
};

int mk_gen_set_params(void* genctx, const OSSL_PARAM params[]) {
  return gen_group_is(params, static_cast<MkGen*>(genctx)->group->name) ? 1 : 0;
}

template <const MlkemGroup* G>
void* mk_gen_init(void* provctx, int selection, const OSSL_PARAM params[]) {
  auto* g = new MkGen{static_cast<ProvCtx*>(provctx), selection, G};
  if (!mk_gen_set_params(g, params)) {
    delete g;
    return nullptr;
  }
  return g;
}

const OSSL_PARAM* mk_gen_settable_params(void*, void*) {
  static const OSSL_PARAM kSettable[] = {OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
                                         OSSL_PARAM_END};
  return kSettable;
}

// A key pair for keygen; an empty shell for paramgen (the server's peer key).
void* mk_gen(void* genctx, OSSL_CALLBACK*, void*) {
  auto* g = static_cast<MkGen*>(genctx);
  auto* k = new MlkemKey(g->pc, g->group);
  if (!(g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) return k;
  // A job paused inside the engine call and never resumed frees k from its
  // wait ctx's cleanup (the secrets wiped with it).
  AbandonGuard guard([](void* p) { delete static_cast<MlkemKey*>(p); }, k);
  if (!mlkem_generate(k)) {
    GT_RAISE(ERR_R_OPERATION_FAIL, "gputls %s: key generation failed", g->group->name);
    delete k;
    return nullptr;
  }
  return k;
}

void mk_gen_cleanup(void* genctx) { delete static_cast<MkGen*>(genctx); }

}  // namespace

#define GT_MLKEM_KEYMGMT(G)                                                        \
  {GT_DISPATCH(OSSL_FUNC_KEYMGMT_NEW, mk_new<G>),                                  \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_FREE, mk_free),                                   \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_HAS, mk_has),                                     \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GET_PARAMS, mk_get_params),                       \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, mk_gettable_params),             \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_SET_PARAMS, mk_set_params),                       \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, mk_settable_params),             \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, mk_query_operation_name<G>), \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_INIT, mk_gen_init<G>),                        \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, mk_gen_set_params),               \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, mk_gen_settable_params),     \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN, mk_gen),                                     \
   GT_DISPATCH(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, mk_gen_cleanup),                     \
   {0, nullptr}}

const OSSL_DISPATCH kMlkem768Keymgmt[] = GT_MLKEM_KEYMGMT(&kMlkem768Group);
const OSSL_DISPATCH kX25519Mlkem768Keymgmt[] = GT_MLKEM_KEYMGMT(&kX25519Mlkem768Group);
const OSSL_DISPATCH kSecP256r1Mlkem768Keymgmt[] = GT_MLKEM_KEYMGMT(&kSecP256r1Mlkem768Group);

}  // namespace gputls::host
