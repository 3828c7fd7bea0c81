// Errors the key-agreement and key-management code leaves on the caller's
// error queue: what was refused and why, under ERR_LIB_PROV, so an
// application (or libssl's own message) can tell a gputls refusal from
// anything else.
#pragma once

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>

// GT_RAISE(ERR_R_..., "gputls ECDH: %s", why)
#define GT_RAISE(reason, ...) ERR_raise_data(ERR_LIB_PROV, (reason), __VA_ARGS__)

namespace gputls::host {

// For key types that are one group (X25519, the ML-KEM groups): true when
// the gen params name no group or name `type`; otherwise false, with the
// refusal on the error queue.
inline bool gen_group_is(const OSSL_PARAM params[], const char* type) {
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
  const char* name = nullptr;
  if (!p || (OSSL_PARAM_get_utf8_string_ptr(p, &name) && OPENSSL_strcasecmp(name, type) == 0)) return true;
  GT_RAISE(ERR_R_PASSED_INVALID_ARGUMENT, "gputls %s: group \"%s\" is not %s", type, name ? name : "?", type);
  return false;
}

}  // namespace gputls::host
