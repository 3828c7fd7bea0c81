// Errors the key-agreement and key-management code leaves on the caller's
// error queue: what was refused and why, under ERR_LIB_PROV, so an
// application (or libssl's own message) can tell a gputls refusal from
// anything else.
#pragma once

#include <openssl/err.h>

// GT_RAISE(ERR_R_..., "gputls ECDH: %s", why)
#define GT_RAISE(reason, ...) ERR_raise_data(ERR_LIB_PROV, (reason), __VA_ARGS__)
