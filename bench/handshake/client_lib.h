// Key-exchange groups by name, and the clients' library context for them.
// The post-quantum groups (X25519MLKEM768, SecP256r1MLKEM768, MLKEM768) exist
// only in gputls on OpenSSL 3.0: the clients need gputls too, and the server
// must run through it.
#pragma once

#include <openssl/types.h>

#include <string>

#include "lib_ctx.h"
#include "runner.h"

namespace gputls::bench {

// The group's name as libssl 3.0 knows it (it matches provider group names
// case-sensitively): x25519mlkem768 -> X25519MLKEM768, secp256r1mlkem768 ->
// SecP256r1MLKEM768, mlkem768 -> MLKEM768; any other name unchanged.
std::string canonical_group(const std::string& group);

// True for the groups only gputls provides (TLS 1.3 KEM groups).
bool gputls_only_group(const std::string& group);

// The library context and property query the clients' SSL_CTX uses: `own`
// with OpenSSL's default provider loaded; for a gputls-only group, the
// process's one client context instead, with the default provider preferred
// and a private copy of gputls.so (from cfg.modules, else $OPENSSL_MODULES)
// that runs with policy cpu, inline, so the clients' ML-KEM and classic halves
// run on the clients' own threads and are timed as theirs. False and *error
// when gputls cannot be loaded for the clients.
bool client_libctx(const RunConfig& cfg, LibCtx* own, OSSL_LIB_CTX** lib, const char** propq, std::string* error);

}  // namespace gputls::bench
