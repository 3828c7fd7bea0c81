// AES-128-GCM and AES-256-GCM ciphers whose records run on the engine.
//
// What libssl 3.0 drives (DESIGN.md, "OpenSSL 3.0 facts"):
// - TLS 1.2: init with the key, `tlsivfixed` (4 bytes; on encrypt the 8-byte
//   invocation field starts random and counts up per record), `tls-version`
//   and `tls-mac-size` (accepted, unused: GCM has no MAC), then per record
//   `tlsaad` (13 bytes, answered by `tlsaadpad` = 16) and ONE in-place update
//   over explicit IV || data || tag. Encrypt writes the explicit IV and the
//   tag; decrypt takes the explicit IV from the record and checks the tag.
//   `cipher` and `final` are never called in that mode.
// - TLS 1.3: init with the nonce per record, update(out = NULL) with the
//   5-byte header as AAD, one update with the data, final, get `tag` (the
//   tag is set before the data when decrypting).
// Each record is one engine request (Op::kAesGcmSeal / kAesGcmOpen): the
// engine batches records of many connections; small records or a lone
// request run on the CPU by its own policy (GPUTLS_AES_GPU_MIN_BYTES).
//
// Ordinary EVP use (EVP_EncryptInit / Update(AAD)... / Update(data) / Final /
// GET_TAG) works the same way: AAD is collected, and the message's data is
// sealed or opened by the engine at its (single) data update, output written
// there. Decryption whose tag arrives only after the data (set before Final,
// as OpenSSL's wiki example does), and a message whose data comes in more
// than one update after the first went to the engine, cannot be one engine
// record: the first runs on a software GCM context of the provider's own
// library context from the start (counted as `sw`); the second is refused
// with an error (streaming GCM in several data updates: use the default
// provider, `provider=default`). Only 96-bit IVs are served (the engine's
// only size): setting another IV length is refused with an error.
//
// A failed tag check releases no plaintext: the engine zeroes the output, and
// the update (TLS 1.2) or final (TLS 1.3, EVP) fails, so libssl sends
// bad_record_mac.
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/proverr.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>
#include <vector>

#include "engine_call.h"
#include "provider.h"

namespace gputls::host {
namespace {

constexpr size_t kIvLen = 12, kTagLen = 16, kTlsAadLen = 13, kTlsFixedIvLen = 4, kTlsExplicitIvLen = 8;

struct GcmCtx {
  ProvCtx* pc = nullptr;
  size_t keylen = 0;  // 16 or 32, fixed by the algorithm
  engine::SecureBytes key;
  bool key_set = false;
  std::unique_ptr<EngineKeyRef> ref;  // the key's engine registration, made on first use
  bool enc = true;

  uint8_t iv[kIvLen] = {};
  bool iv_set = false;      // an IV for the next message (or TLS 1.2 fixed part) is there
  bool iv_gen = false;      // TLS 1.2: fixed IV set, explicit part generated / taken from records
  uint64_t tls_enc_records = 0;

  uint8_t tls_aad[kTlsAadLen] = {};  // TLS 1.2: this record's AAD, length field corrected
  bool tls_aad_set = false;

  // The message in progress (TLS 1.3 and EVP use).
  std::vector<uint8_t> aad;
  uint8_t tag[kTagLen] = {};
  size_t taglen = 0;          // set by the caller (decrypt) or by a finished seal (encrypt)
  bool data_done = false;     // the message's data went through the engine
  bool auth_failed = false;   // ... and its tag did not match
  bool finished = false;      // final called: a new IV is needed
  EVP_CIPHER_CTX* sw = nullptr;  // software GCM for a decryption whose tag comes late

  ~GcmCtx() {
    EVP_CIPHER_CTX_free(sw);
    OPENSSL_cleanse(iv, sizeof iv);
    OPENSSL_cleanse(tag, sizeof tag);
  }

  void reset_message() {
    aad.clear();
    taglen = 0;
    data_done = auth_failed = finished = false;
    EVP_CIPHER_CTX_free(sw);
    sw = nullptr;
  }
};

void raise(int reason, const char* what) { ERR_raise_data(ERR_LIB_PROV, reason, "gputls AES-GCM: %s", what); }

EVP_CIPHER* fetch_sw(const GcmCtx* c) {
  return EVP_CIPHER_fetch(c->pc->sw, c->keylen == 16 ? "AES-128-GCM" : "AES-256-GCM", nullptr);
}

// One record in the provider's own software context (the engine refused the
// request, or is not there). False for a failed tag check (out zeroed).
bool sw_record(const GcmCtx* c, bool seal, const uint8_t* nonce, const uint8_t* aad, size_t aad_len,
               const uint8_t* in, uint8_t* out, size_t len, uint8_t* tag) {
  EVP_CIPHER* cipher = fetch_sw(c);
  EVP_CIPHER_CTX* x = EVP_CIPHER_CTX_new();
  int n = 0, f = 0;
  bool ok = cipher && x && EVP_CipherInit_ex2(x, cipher, c->key.data(), nonce, seal ? 1 : 0, nullptr) == 1 &&
            (seal || EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, kTagLen, tag) == 1) &&
            (aad_len == 0 || EVP_CipherUpdate(x, nullptr, &n, aad, static_cast<int>(aad_len)) == 1) &&
            (len == 0 || EVP_CipherUpdate(x, out, &n, in, static_cast<int>(len)) == 1) &&
            EVP_CipherFinal_ex(x, out + n, &f) == 1 &&
            (!seal || EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, kTagLen, tag) == 1);
  if (!ok && !seal && len) OPENSSL_cleanse(out, len);
  EVP_CIPHER_CTX_free(x);
  EVP_CIPHER_free(cipher);
  return ok;
}

// One whole record (nonce, AAD, data, 16-byte tag) on the engine, in
// software when the engine cannot take it; counted either way.
bool run_record(GcmCtx* c, bool seal, const uint8_t* nonce, const uint8_t* aad, size_t aad_len, const uint8_t* in,
                uint8_t* out, size_t len, uint8_t* tag) {
  engine::AeadParams a;
  a.nonce = nonce;
  a.nonce_len = kIvLen;
  a.aad = aad;
  a.aad_len = aad_len;
  a.tag = tag;
  a.tag_len = kTagLen;
  auto reg = [c](engine::Engine* eng, engine::KeyHandle* h) {
    engine::AesKeyMaterial m;
    m.key = c->key;
    return eng->register_aes_key(m, h);
  };
  return run_private_op(
      c->pc, seal ? ProvOp::kAesGcmSeal : ProvOp::kAesGcmOpen, *c->ref, reg,
      seal ? engine::Op::kAesGcmSeal : engine::Op::kAesGcmOpen, in, len, out, len,
      [&] { return sw_record(c, seal, nonce, aad, aad_len, in, out, len, tag); }, &a);
}

// ------------------------------------------------------------ contexts

template <size_t kKeyLen>
void* gcm_newctx(void* provctx) {
  auto* c = new GcmCtx;
  c->pc = static_cast<ProvCtx*>(provctx);
  c->keylen = kKeyLen;
  return c;
}

void gcm_freectx(void* vctx) { delete static_cast<GcmCtx*>(vctx); }

void* gcm_dupctx(void* vctx) {
  const auto* src = static_cast<GcmCtx*>(vctx);
  auto* c = new GcmCtx;
  c->pc = src->pc;
  c->keylen = src->keylen;
  c->key = src->key;
  c->key_set = src->key_set;
  if (c->key_set) c->ref = std::make_unique<EngineKeyRef>();  // its own registration, on first use
  c->enc = src->enc;
  std::memcpy(c->iv, src->iv, sizeof c->iv);
  c->iv_set = src->iv_set;
  c->iv_gen = src->iv_gen;
  c->tls_enc_records = src->tls_enc_records;
  std::memcpy(c->tls_aad, src->tls_aad, sizeof c->tls_aad);
  c->tls_aad_set = src->tls_aad_set;
  c->aad = src->aad;
  std::memcpy(c->tag, src->tag, sizeof c->tag);
  c->taglen = src->taglen;
  c->data_done = src->data_done;
  c->auth_failed = src->auth_failed;
  c->finished = src->finished;
  if (src->sw && (!(c->sw = EVP_CIPHER_CTX_new()) || EVP_CIPHER_CTX_copy(c->sw, src->sw) != 1)) {
    delete c;
    return nullptr;
  }
  return c;
}

int gcm_set_ctx_params(void* vctx, const OSSL_PARAM params[]);

int gcm_init(void* vctx, const unsigned char* key, size_t keylen, const unsigned char* iv, size_t ivlen,
             const OSSL_PARAM params[], int enc) {
  auto* c = static_cast<GcmCtx*>(vctx);
  c->enc = enc != 0;
  if (iv) {
    if (ivlen != kIvLen) {
      raise(PROV_R_INVALID_IV_LENGTH, "only 96-bit (12-byte) IVs are served; use the default provider for others");
      return 0;
    }
    std::memcpy(c->iv, iv, kIvLen);
    c->iv_set = true;
    c->reset_message();
  }
  if (key) {
    if (keylen != c->keylen) {
      raise(PROV_R_INVALID_KEY_LENGTH, "key length does not match the cipher");
      return 0;
    }
    c->key.assign(key, key + keylen);
    c->key_set = true;
    c->ref = std::make_unique<EngineKeyRef>();  // the previous key's registration is freed
    c->tls_enc_records = 0;
    c->reset_message();
  }
  return gcm_set_ctx_params(c, params);
}

int gcm_einit(void* vctx, const unsigned char* key, size_t keylen, const unsigned char* iv, size_t ivlen,
              const OSSL_PARAM params[]) {
  return gcm_init(vctx, key, keylen, iv, ivlen, params, 1);
}
int gcm_dinit(void* vctx, const unsigned char* key, size_t keylen, const unsigned char* iv, size_t ivlen,
              const OSSL_PARAM params[]) {
  return gcm_init(vctx, key, keylen, iv, ivlen, params, 0);
}

// ------------------------------------------------------------ TLS 1.2

// `tlsaad`: keep the 13 bytes with the length field corrected to the
// payload's (without explicit IV, and without the tag when decrypting).
bool tls_set_aad(GcmCtx* c, const uint8_t* aad, size_t len) {
  if (len != kTlsAadLen) return false;
  std::memcpy(c->tls_aad, aad, kTlsAadLen);
  size_t rec = size_t{aad[11]} << 8 | aad[12];
  if (rec < kTlsExplicitIvLen) return false;
  rec -= kTlsExplicitIvLen;
  if (!c->enc) {
    if (rec < kTagLen) return false;
    rec -= kTagLen;
  }
  c->tls_aad[11] = static_cast<uint8_t>(rec >> 8);
  c->tls_aad[12] = static_cast<uint8_t>(rec);
  c->tls_aad_set = true;
  return true;
}

// `tlsivfixed`: the 4-byte implicit part; encryption starts its 8-byte
// counter at a random value, as OpenSSL does.
bool tls_set_fixed_iv(GcmCtx* c, const uint8_t* fixed, size_t len) {
  if (len != kTlsFixedIvLen) return false;
  std::memcpy(c->iv, fixed, len);
  if (c->enc && RAND_bytes_ex(c->pc->sw, c->iv + len, kIvLen - len, 0) != 1) return false;
  c->iv_gen = c->iv_set = true;
  return true;
}

void increment_invocation(uint8_t* iv) {
  for (int i = kIvLen - 1; i >= static_cast<int>(kTlsFixedIvLen); --i)
    if (++iv[i] != 0) break;
}

// One TLS 1.2 record in place: explicit IV || payload || tag.
int tls_record(GcmCtx* c, unsigned char* out, size_t* outl, const unsigned char* in, size_t len) {
  c->tls_aad_set = false;  // one record per `tlsaad`
  *outl = 0;
  if (!c->key_set || !c->iv_gen || out != in || len < kTlsExplicitIvLen + kTagLen) {
    raise(PROV_R_CIPHER_OPERATION_FAILED, "TLS record: key, fixed IV and an in-place buffer are required");
    return 0;
  }
  if (c->enc) {
    if (++c->tls_enc_records == 0) {
      raise(PROV_R_TOO_MANY_RECORDS, "too many records under one key");
      return 0;
    }
    std::memcpy(out, c->iv + kTlsFixedIvLen, kTlsExplicitIvLen);
  } else {
    std::memcpy(c->iv + kTlsFixedIvLen, in, kTlsExplicitIvLen);
  }
  uint8_t nonce[kIvLen];
  std::memcpy(nonce, c->iv, kIvLen);
  if (c->enc) increment_invocation(c->iv);
  const size_t plen = len - kTlsExplicitIvLen - kTagLen;
  uint8_t* payload = out + kTlsExplicitIvLen;
  uint8_t* tag = payload + plen;
  if (!run_record(c, c->enc, nonce, c->tls_aad, kTlsAadLen, payload, payload, plen, tag)) {
    raise(PROV_R_CIPHER_OPERATION_FAILED, c->enc ? "record sealing failed" : "record authentication failed");
    return 0;
  }
  *outl = c->enc ? len : plen;
  return 1;
}

// ------------------------------------------------------------ messages

bool start_sw(GcmCtx* c) {
  EVP_CIPHER* cipher = fetch_sw(c);
  c->sw = EVP_CIPHER_CTX_new();
  int n = 0;
  bool ok = cipher && c->sw &&
            EVP_CipherInit_ex2(c->sw, cipher, c->key.data(), c->iv, c->enc ? 1 : 0, nullptr) == 1 &&
            (c->enc || c->taglen == 0 ||
             EVP_CIPHER_CTX_ctrl(c->sw, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(c->taglen), c->tag) == 1) &&
            (c->aad.empty() || EVP_CipherUpdate(c->sw, nullptr, &n, c->aad.data(), static_cast<int>(c->aad.size())) == 1);
  EVP_CIPHER_free(cipher);
  return ok;
}

// update / cipher with in != NULL: AAD when out is NULL, else the data.
int message_update(GcmCtx* c, unsigned char* out, size_t* outl, size_t outsize, const unsigned char* in, size_t inl) {
  *outl = 0;
  if (!c->key_set || !c->iv_set || c->finished) {
    raise(PROV_R_CIPHER_OPERATION_FAILED, "set a key and a fresh IV first");
    return 0;
  }
  if (c->sw) {  // software message in progress
    int n = 0;
    if (EVP_CipherUpdate(c->sw, out, &n, in, static_cast<int>(inl)) != 1) return 0;
    *outl = out ? static_cast<size_t>(n) : 0;
    return 1;
  }
  if (inl == 0) return 1;
  if (!out) {
    if (c->data_done) {
      raise(PROV_R_CIPHER_OPERATION_FAILED, "AAD after the data");
      return 0;
    }
    c->aad.insert(c->aad.end(), in, in + inl);
    return 1;
  }
  if (c->data_done) {
    raise(PROV_R_CIPHER_OPERATION_FAILED,
          "a message's data must come in one update (streaming GCM: use the default provider)");
    return 0;
  }
  if (outsize < inl) {
    raise(PROV_R_OUTPUT_BUFFER_TOO_SMALL, "output buffer too small");
    return 0;
  }
  if (!c->enc && c->taglen != kTagLen) {
    // The tag comes later (or is short): stream this message in software.
    if (!start_sw(c)) return 0;
    c->pc->stats[ProvOp::kAesGcmOpen].sw.fetch_add(1, std::memory_order_relaxed);
    return message_update(c, out, outl, outsize, in, inl);
  }
  c->data_done = true;
  c->auth_failed = !run_record(c, c->enc, c->iv, c->aad.data(), c->aad.size(), in, out, inl, c->tag);
  if (c->auth_failed && c->enc) {
    raise(PROV_R_CIPHER_OPERATION_FAILED, "sealing failed");
    return 0;
  }
  if (c->enc) c->taglen = kTagLen;
  *outl = inl;  // a failed open wrote zeros, and final reports it
  return 1;
}

int message_final(GcmCtx* c, size_t* outl) {
  *outl = 0;
  if (!c->key_set || !c->iv_set || c->finished) {
    raise(PROV_R_CIPHER_OPERATION_FAILED, "set a key and a fresh IV first");
    return 0;
  }
  c->finished = true;  // never the same IV twice
  if (c->sw) {
    int n = 0;
    uint8_t none[16];
    if (EVP_CipherFinal_ex(c->sw, none, &n) != 1) return 0;
    if (c->enc && EVP_CIPHER_CTX_ctrl(c->sw, EVP_CTRL_AEAD_GET_TAG, kTagLen, c->tag) == 1) c->taglen = kTagLen;
    return 1;
  }
  if (!c->data_done) {  // no data: the tag of the AAD alone
    if (!c->enc && c->taglen != kTagLen) {
      if (c->taglen == 0) {
        raise(PROV_R_TAG_NOT_SET, "set the expected tag before final");
        return 0;
      }
      if (!start_sw(c)) return 0;
      c->finished = false;
      return message_final(c, outl);
    }
    c->data_done = true;
    c->auth_failed = !run_record(c, c->enc, c->iv, c->aad.data(), c->aad.size(), nullptr, nullptr, 0, c->tag);
    if (c->enc && !c->auth_failed) c->taglen = kTagLen;
  }
  if (c->auth_failed) {
    raise(PROV_R_CIPHER_OPERATION_FAILED, c->enc ? "sealing failed" : "tag mismatch: message not authentic");
    return 0;
  }
  return 1;
}

int gcm_update(void* vctx, unsigned char* out, size_t* outl, size_t outsize, const unsigned char* in, size_t inl) {
  auto* c = static_cast<GcmCtx*>(vctx);
  if (c->tls_aad_set) return tls_record(c, out, outl, in, inl);
  return message_update(c, out, outl, outsize, in, inl);
}

int gcm_final(void* vctx, unsigned char*, size_t* outl, size_t) {
  return message_final(static_cast<GcmCtx*>(vctx), outl);
}

// EVP_Cipher(): the same as update (and final when in is NULL).
int gcm_cipher(void* vctx, unsigned char* out, size_t* outl, size_t outsize, const unsigned char* in, size_t inl) {
  auto* c = static_cast<GcmCtx*>(vctx);
  if (c->tls_aad_set) return tls_record(c, out, outl, in, inl);
  if (!in) return message_final(c, outl);
  return message_update(c, out, outl, outsize, in, inl);
}

// ------------------------------------------------------------ parameters

// Both handlers walk the caller's parameters once (libssl asks for one at a
// time: `ivlen` at every init, `tag` per record) instead of looking up every
// name they know in them: the lookups were a measurable part of a small
// record's cost. Unknown names are ignored, as the default provider does.
bool is(const OSSL_PARAM* p, const char* name) { return std::strcmp(p->key, name) == 0; }

int gcm_get_ctx_params(void* vctx, OSSL_PARAM params[]) {
  auto* c = static_cast<GcmCtx*>(vctx);
  for (OSSL_PARAM* p = params; p && p->key; ++p) {
    if (is(p, OSSL_CIPHER_PARAM_IVLEN)) {
      if (!OSSL_PARAM_set_size_t(p, kIvLen)) return 0;
    } else if (is(p, OSSL_CIPHER_PARAM_AEAD_TAG)) {
      const size_t sz = p->data_size;
      if (sz == 0 || sz > kTagLen || !c->enc || c->taglen != kTagLen || p->data_type != OSSL_PARAM_OCTET_STRING) {
        raise(PROV_R_INVALID_TAG, "the tag is read after final, when encrypting, 1 to 16 bytes");
        return 0;
      }
      std::memcpy(p->data, c->tag, sz);
      p->return_size = sz;
    } else if (is(p, OSSL_CIPHER_PARAM_KEYLEN)) {
      if (!OSSL_PARAM_set_size_t(p, c->keylen)) return 0;
    } else if (is(p, OSSL_CIPHER_PARAM_AEAD_TAGLEN)) {
      if (!OSSL_PARAM_set_size_t(p, c->taglen ? c->taglen : kTagLen)) return 0;
    } else if (is(p, OSSL_CIPHER_PARAM_IV) || is(p, OSSL_CIPHER_PARAM_UPDATED_IV)) {
      if (!c->iv_set || p->data_size < kIvLen) return 0;
      if (!OSSL_PARAM_set_octet_string(p, c->iv, kIvLen) && !OSSL_PARAM_set_octet_ptr(p, c->iv, kIvLen)) return 0;
    } else if (is(p, OSSL_CIPHER_PARAM_AEAD_TLS1_AAD_PAD)) {
      if (!OSSL_PARAM_set_size_t(p, kTagLen)) return 0;
    }
  }
  return 1;
}

int gcm_set_ctx_params(void* vctx, const OSSL_PARAM params[]) {
  auto* c = static_cast<GcmCtx*>(vctx);
  for (const OSSL_PARAM* p = params; p && p->key; ++p) {
    if (is(p, OSSL_CIPHER_PARAM_AEAD_TAG)) {
      if (p->data_type != OSSL_PARAM_OCTET_STRING || p->data_size == 0 || p->data_size > kTagLen || c->enc) {
        raise(PROV_R_INVALID_TAG, "the expected tag is set when decrypting, 1 to 16 bytes");
        return 0;
      }
      if (p->data) {  // a NULL tag only sets a length (CCM style): nothing to keep
        std::memcpy(c->tag, p->data, p->data_size);
        c->taglen = p->data_size;
        if (c->sw && EVP_CIPHER_CTX_ctrl(c->sw, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(p->data_size), c->tag) != 1)
          return 0;
      }
    } else if (is(p, OSSL_CIPHER_PARAM_AEAD_TLS1_AAD)) {
      if (p->data_type != OSSL_PARAM_OCTET_STRING || !tls_set_aad(c, static_cast<const uint8_t*>(p->data), p->data_size)) {
        raise(PROV_R_CIPHER_OPERATION_FAILED, "bad TLS AAD");
        return 0;
      }
    } else if (is(p, OSSL_CIPHER_PARAM_AEAD_IVLEN)) {
      size_t sz = 0;
      if (!OSSL_PARAM_get_size_t(p, &sz)) return 0;
      if (sz != kIvLen) {
        raise(PROV_R_INVALID_IV_LENGTH, "only 96-bit (12-byte) IVs are served; use the default provider for others");
        return 0;
      }
    } else if (is(p, OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED)) {
      if (p->data_type != OSSL_PARAM_OCTET_STRING ||
          !tls_set_fixed_iv(c, static_cast<const uint8_t*>(p->data), p->data_size)) {
        raise(PROV_R_FAILED_TO_SET_PARAMETER, "TLS fixed IV must be 4 bytes");
        return 0;
      }
    }
    // tls-version and tls-mac-size (libssl sets them for every provided
    // cipher) mean nothing to GCM; like the default provider, anything else
    // is ignored.
  }
  return 1;
}

const OSSL_PARAM* gcm_gettable_ctx_params(void*, void*) {
  static const OSSL_PARAM kList[] = {OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_KEYLEN, nullptr),
                                     OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_IVLEN, nullptr),
                                     OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_AEAD_TAGLEN, nullptr),
                                     OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_IV, nullptr, 0),
                                     OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_UPDATED_IV, nullptr, 0),
                                     OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, nullptr, 0),
                                     OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_AEAD_TLS1_AAD_PAD, nullptr),
                                     OSSL_PARAM_END};
  return kList;
}

const OSSL_PARAM* gcm_settable_ctx_params(void*, void*) {
  static const OSSL_PARAM kList[] = {OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, nullptr),
                                     OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, nullptr, 0),
                                     OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_AAD, nullptr, 0),
                                     OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED, nullptr, 0),
                                     OSSL_PARAM_END};
  return kList;
}

template <size_t kKeyLen>
int gcm_get_params(OSSL_PARAM params[]) {
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_MODE)) && !OSSL_PARAM_set_uint(p, EVP_CIPH_GCM_MODE)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_KEYLEN)) && !OSSL_PARAM_set_size_t(p, kKeyLen)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_IVLEN)) && !OSSL_PARAM_set_size_t(p, kIvLen)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_BLOCK_SIZE)) && !OSSL_PARAM_set_size_t(p, 1)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_AEAD)) && !OSSL_PARAM_set_int(p, 1)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_CUSTOM_IV)) && !OSSL_PARAM_set_int(p, 1)) return 0;
  for (const char* zero : {OSSL_CIPHER_PARAM_CTS, OSSL_CIPHER_PARAM_TLS1_MULTIBLOCK, OSSL_CIPHER_PARAM_HAS_RAND_KEY})
    if ((p = OSSL_PARAM_locate(params, zero)) && !OSSL_PARAM_set_int(p, 0)) return 0;
  return 1;
}

const OSSL_PARAM* gcm_gettable_params(void*) {
  static const OSSL_PARAM kList[] = {OSSL_PARAM_uint(OSSL_CIPHER_PARAM_MODE, nullptr),
                                     OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_KEYLEN, nullptr),
                                     OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_IVLEN, nullptr),
                                     OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_BLOCK_SIZE, nullptr),
                                     OSSL_PARAM_int(OSSL_CIPHER_PARAM_AEAD, nullptr),
                                     OSSL_PARAM_int(OSSL_CIPHER_PARAM_CUSTOM_IV, nullptr),
                                     OSSL_PARAM_int(OSSL_CIPHER_PARAM_CTS, nullptr),
                                     OSSL_PARAM_int(OSSL_CIPHER_PARAM_TLS1_MULTIBLOCK, nullptr),
                                     OSSL_PARAM_int(OSSL_CIPHER_PARAM_HAS_RAND_KEY, nullptr),
                                     OSSL_PARAM_END};
  return kList;
}

#define GT_GCM_DISPATCH(name, keylen)                                                    \
  const OSSL_DISPATCH name[] = {                                                         \
      GT_DISPATCH(OSSL_FUNC_CIPHER_NEWCTX, gcm_newctx<keylen>),                          \
      GT_DISPATCH(OSSL_FUNC_CIPHER_FREECTX, gcm_freectx),                                \
      GT_DISPATCH(OSSL_FUNC_CIPHER_DUPCTX, gcm_dupctx),                                  \
      GT_DISPATCH(OSSL_FUNC_CIPHER_ENCRYPT_INIT, gcm_einit),                             \
      GT_DISPATCH(OSSL_FUNC_CIPHER_DECRYPT_INIT, gcm_dinit),                             \
      GT_DISPATCH(OSSL_FUNC_CIPHER_UPDATE, gcm_update),                                  \
      GT_DISPATCH(OSSL_FUNC_CIPHER_FINAL, gcm_final),                                    \
      GT_DISPATCH(OSSL_FUNC_CIPHER_CIPHER, gcm_cipher),                                  \
      GT_DISPATCH(OSSL_FUNC_CIPHER_GET_PARAMS, gcm_get_params<keylen>),                  \
      GT_DISPATCH(OSSL_FUNC_CIPHER_GETTABLE_PARAMS, gcm_gettable_params),                \
      GT_DISPATCH(OSSL_FUNC_CIPHER_GET_CTX_PARAMS, gcm_get_ctx_params),                  \
      GT_DISPATCH(OSSL_FUNC_CIPHER_SET_CTX_PARAMS, gcm_set_ctx_params),                  \
      GT_DISPATCH(OSSL_FUNC_CIPHER_GETTABLE_CTX_PARAMS, gcm_gettable_ctx_params),        \
      GT_DISPATCH(OSSL_FUNC_CIPHER_SETTABLE_CTX_PARAMS, gcm_settable_ctx_params),        \
      {0, nullptr}};

}  // namespace

GT_GCM_DISPATCH(kAes128GcmCipher, 16)
GT_GCM_DISPATCH(kAes256GcmCipher, 32)

}  // namespace gputls::host
