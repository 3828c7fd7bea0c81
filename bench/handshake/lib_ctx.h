// An OpenSSL library context with the providers this benchmark loaded into
// it, unloaded (our references dropped) before the context is freed.
#pragma once

#include <openssl/crypto.h>
#include <openssl/provider.h>

#include <vector>

namespace gputls::bench {

class LibCtx {
 public:
  LibCtx() : ctx_(OSSL_LIB_CTX_new()) {}
  ~LibCtx() {
    for (auto it = providers_.rbegin(); it != providers_.rend(); ++it) OSSL_PROVIDER_unload(*it);
    OSSL_LIB_CTX_free(ctx_);
  }
  LibCtx(const LibCtx&) = delete;
  LibCtx& operator=(const LibCtx&) = delete;
  OSSL_LIB_CTX* get() const { return ctx_; }
  bool load(const char* name) {
    OSSL_PROVIDER* p = ctx_ ? OSSL_PROVIDER_load(ctx_, name) : nullptr;
    if (p) providers_.push_back(p);
    return p != nullptr;
  }

 private:
  OSSL_LIB_CTX* ctx_;
  std::vector<OSSL_PROVIDER*> providers_;
};

}  // namespace gputls::bench
