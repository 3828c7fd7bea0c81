// Finding one algorithm in a provider's OSSL_ALGORITHM table (what
// OSSL_PROVIDER_query_operation returns), for the CPU backend's direct calls
// into OpenSSL's default provider.
#pragma once

#include <openssl/core.h>

#include <cstring>

namespace gputls::engine {

// The entry whose first name (names are "NAME:alias:...") is `name`, or
// nullptr.
inline const OSSL_ALGORITHM* find_algorithm(const OSSL_ALGORITHM* algs, const char* name) {
  const size_t n = std::strlen(name);
  for (const OSSL_ALGORITHM* a = algs; a && a->algorithm_names; ++a) {
    const char* names = a->algorithm_names;
    if (std::strncmp(names, name, n) == 0 && (names[n] == '\0' || names[n] == ':')) return a;
  }
  return nullptr;
}

}  // namespace gputls::engine
