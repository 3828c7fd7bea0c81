// Factories of the built-in backends (internal to the engine).
#pragma once

#include <memory>
#include <string>

#include "gputls/engine/backend.h"

namespace gputls::engine {

// A backend that computes on the calling thread. run_one() serves a single
// request with no Batch around it (no allocation, no completion callback):
// Engine::run_now()'s path, where per-record overhead is what a small
// AES-GCM record pays on top of OpenSSL itself.
class SyncBackend : public Backend {
 public:
  virtual Status run_one(Op op, KeyEntry* key, Request& r) = 0;
  // The function serving an AES key's records on the calling thread, and
  // its argument in *state (Engine::AeadLane); nullptr when there is none.
  virtual AeadRecordFn aead_record_fn(KeyEntry& /*key*/, void** state) {
    *state = nullptr;
    return nullptr;
  }
  // Ephemeral keys (X25519, EC) imported so far: each on its first use by
  // this backend, never at registration.
  virtual uint64_t keys_imported() const { return 0; }
};

// OpenSSL's default provider in a private OSSL_LIB_CTX that holds nothing
// else, so a process whose default context prefers gputls never recurses into
// it. Synchronous: launch() finishes the batch before returning. nullptr and
// *error when OpenSSL cannot load its default provider.
std::unique_ptr<SyncBackend> make_cpu_backend(std::string* error);

// Completes every request at once without computing (echo copies). Measures
// the engine's own cost.
std::unique_ptr<Backend> make_null_backend();

}  // namespace gputls::engine
