// Factories of the built-in backends (internal to the engine).
#pragma once

#include <memory>
#include <string>

#include "gputls/engine/backend.h"

namespace gputls::engine {

// OpenSSL's default provider in a private OSSL_LIB_CTX that holds nothing
// else, so a process whose default context prefers gputls never recurses into
// it. Synchronous: launch() finishes the batch before returning. nullptr and
// *error when OpenSSL cannot load its default provider.
std::unique_ptr<Backend> make_cpu_backend(std::string* error);

// Completes every request at once without computing (echo copies). Measures
// the engine's own cost.
std::unique_ptr<Backend> make_null_backend();

}  // namespace gputls::engine
