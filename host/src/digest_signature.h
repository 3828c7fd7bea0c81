// The digest_sign_* / digest_verify_* half that every signature scheme here
// shares: hash with an EVP_MD fetched from the provider's own context, then
// the scheme's one-shot sign or verify on the digest. (OpenSSL 3.0 requires
// digest_sign_*; libssl duplicates the context before final.)
//
// Ctx must have `EVP_MD* md` and `EVP_MD_CTX* mdctx`; the scheme supplies
// Init (sign_init/verify_init with a `signing` flag), SetMd (choose the
// digest by name), Sign and Verify (the one-shot functions on a digest).
#pragma once

#include <openssl/core.h>
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>

namespace gputls::host {

template <class Ctx, int (*Init)(void*, void*, const OSSL_PARAM[], bool), bool (*SetMd)(Ctx*, const char*),
          int (*Sign)(void*, unsigned char*, size_t*, size_t, const unsigned char*, size_t),
          int (*Verify)(void*, const unsigned char*, size_t, const unsigned char*, size_t)>
struct DigestSignature {
  static int sign_init(void* ctx, const char* mdname, void* key, const OSSL_PARAM params[]) {
    return init(ctx, mdname, key, params, true);
  }
  static int verify_init(void* ctx, const char* mdname, void* key, const OSSL_PARAM params[]) {
    return init(ctx, mdname, key, params, false);
  }
  static int update(void* ctx, const unsigned char* data, size_t len) {
    return EVP_DigestUpdate(static_cast<Ctx*>(ctx)->mdctx, data, len);
  }
  static int sign_final(void* ctx, unsigned char* sig, size_t* siglen, size_t sigsize) {
    if (!sig) return Sign(ctx, nullptr, siglen, sigsize, nullptr, 0);  // size query
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    if (EVP_DigestFinal_ex(static_cast<Ctx*>(ctx)->mdctx, digest, &dlen) != 1) return 0;
    return Sign(ctx, sig, siglen, sigsize, digest, dlen);
  }
  static int verify_final(void* ctx, const unsigned char* sig, size_t siglen) {
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    if (EVP_DigestFinal_ex(static_cast<Ctx*>(ctx)->mdctx, digest, &dlen) != 1) return 0;
    return Verify(ctx, sig, siglen, digest, dlen);
  }

 private:
  static int init(void* ctx, const char* mdname, void* key, const OSSL_PARAM params[], bool signing) {
    auto* c = static_cast<Ctx*>(ctx);
    if (!Init(ctx, key, params, signing)) return 0;
    if (mdname && *mdname && !SetMd(c, mdname)) return 0;
    if (!c->md && !SetMd(c, "SHA256")) return 0;
    if (!c->mdctx && !(c->mdctx = EVP_MD_CTX_new())) return 0;
    return EVP_DigestInit_ex(c->mdctx, c->md, nullptr);
  }
};

}  // namespace gputls::host
