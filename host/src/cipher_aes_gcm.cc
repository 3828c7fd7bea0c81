// AES-128-GCM and AES-256-GCM ciphers whose TLS records run on the engine.
//
// What libssl 3.0 drives (DESIGN.md, "OpenSSL 3.0 facts"):
// - TLS 1.2: init with the key, `tlsivfixed` (4 bytes; on encrypt the 8-byte
//   invocation field starts random and counts up per record), `tls-version`
//   and `tls-mac-size` (accepted, unused: GCM has no MAC), then per record
//   `tlsaad` (13 bytes, answered by `tlsaadpad` = 16) and ONE in-place update
//   over explicit IV || data || tag. Encrypt writes the explicit IV and the
//   tag; decrypt takes the explicit IV from the record and checks the tag.
// - TLS 1.3: init with the nonce per record, the tag set (decrypt), update
//   (out = NULL) with the 5-byte record header as AAD, one update with the
//   data, final, get `tag`.
// Each such record is one engine request (Op::kAesGcmSeal / kAesGcmOpen): the
// engine batches records of many connections; small records or a lone
// request run on the CPU by its own policy (GPUTLS_AES_GPU_MIN_BYTES).
//
// Every other use of the cipher (any IV length, AAD and data over several
// updates, the tag set only before final, GMAC over AAD alone, IVs generated
// by the cipher) is served too, on a software GCM context of the provider's
// own library context (OpenSSL's default implementation, counted `sw`). The
// choice is made at a message's first data update, where it is still free:
// a message goes to the engine when it has a 96-bit IV, a 16-byte expected
// tag when decrypting, and an AAD that is a TLS 1.3 record header whose
// length is this update's data plus the tag, i.e. when this update is the
// whole record. Any other message might continue in later updates, and a
// record the engine sealed or opened in one piece cannot be continued.
//
// The IV state machine is the default provider's (providers/implementations/
// ciphers/ciphercommon_gcm.c in OpenSSL 3.0), so the same calls succeed and
// fail: an IV is uninitialised, buffered (set, not yet used), copied (the
// message in progress uses it) or finished (final ran: it is never used
// again). Re-initialising with a key alone does not make a finished IV
// usable; encrypting with no IV set generates a random one; the expected tag
// and its length outlive re-initialisation, as there.
//
// A failed tag check on the engine releases no plaintext: the engine zeroes
// the output, and the update (TLS 1.2) or final (TLS 1.3) fails, so libssl
// sends bad_record_mac. A streamed message releases its data as it goes and
// fails at final, as the default provider does.
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
#include <utility>
#include <vector>

#include "engine_call.h"
#include "provider.h"

namespace gputls::host {
namespace {

constexpr size_t kEngineIvLen = 12, kMaxIvLen = 128, kTagLen = 16, kTlsAadLen = 13, kTlsFixedIvLen = 4,
                 kTlsExplicitIvLen = 8, kTls13HeaderLen = 5;
constexpr size_t kUnset = static_cast<size_t>(-1);

enum class IvState { kUninitialised, kBuffered, kCopied, kFinished };
enum class Route { kUndecided, kEngine, kSoftware };

struct GcmCtx {
  ProvCtx* pc = nullptr;
  size_t keylen = 0;  // 16 or 32, fixed by the algorithm
  engine::SecureBytes key;
  bool key_set = false;
  std::unique_ptr<EngineKeyRef> ref;  // the key's engine registration, made on first use
  AeadLaneCache lane;                 // its fast path for records run on this thread
  bool enc = true;

  // The IV as the caller set (or the cipher generated) it, and its state.
  size_t ivlen = kEngineIvLen;
  uint8_t iv[kMaxIvLen] = {};
  IvState iv_state = IvState::kUninitialised;
  bool iv_gen = false;  // a TLS 1.2 fixed part is set: explicit parts generated / taken per record
  uint64_t tls_enc_records = 0;

  uint8_t tls_aad[kTlsAadLen] = {};  // TLS 1.2: this record's AAD, length field corrected
  bool tls_aad_set = false;

  // The expected (decrypt) or computed (encrypt) tag; kept across messages.
  uint8_t tag[kTagLen] = {};
  size_t taglen = kUnset;

  // The message in progress: the IV it was started with, its AAD so far,
  // where its data goes.
  uint8_t msg_iv[kMaxIvLen] = {};
  size_t msg_ivlen = 0;
  std::vector<uint8_t> aad;
  Route route = Route::kUndecided;
  bool auth_failed = false;   // engine route: the tag did not match (or sealing failed)
  uint8_t engine_tag[kTagLen] = {};  // engine route: the tag sealed (reported at final) or checked

  // Software GCM for messages that are not one engine record; its key is
  // set when it is first needed after a key change.
  EVP_CIPHER_CTX* sw = nullptr;
  bool sw_keyed = false;

  ~GcmCtx() {
    EVP_CIPHER_CTX_free(sw);
    OPENSSL_cleanse(iv, sizeof iv);
    OPENSSL_cleanse(msg_iv, sizeof msg_iv);
    OPENSSL_cleanse(tag, sizeof tag);
    OPENSSL_cleanse(engine_tag, sizeof engine_tag);
    OPENSSL_cleanse(tls_aad, sizeof tls_aad);
    if (!aad.empty()) OPENSSL_cleanse(aad.data(), aad.size());
  }
};

void raise(int reason, const char* what) { ERR_raise_data(ERR_LIB_PROV, reason, "gputls AES-GCM: %s", what); }

EVP_CIPHER* fetch_sw(const GcmCtx* c) {
  return EVP_CIPHER_fetch(c->pc->sw, c->keylen == 16 ? "AES-128-GCM" : "AES-256-GCM", nullptr);
}

ProvOpStats& stats_of(GcmCtx* c, bool seal) { return c->pc->stats[seal ? ProvOp::kAesGcmSeal : ProvOp::kAesGcmOpen]; }

// One whole record with a 16-byte tag in a fresh software context (the
// engine refused the request, or the IV is not 96 bits). False for a failed
// tag check (out zeroed).
bool sw_record(const GcmCtx* c, bool seal, const uint8_t* nonce, size_t nonce_len, const uint8_t* aad,
               size_t aad_len, const uint8_t* in, uint8_t* out, size_t len, uint8_t* tag) {
  EVP_CIPHER* cipher = fetch_sw(c);
  EVP_CIPHER_CTX* x = EVP_CIPHER_CTX_new();
  int n = 0, f = 0;
  bool ok = cipher && x && EVP_CipherInit_ex2(x, cipher, c->key.data(), nullptr, seal ? 1 : 0, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(nonce_len), nullptr) == 1 &&
            EVP_CipherInit_ex2(x, nullptr, nullptr, nonce, seal ? 1 : 0, nullptr) == 1 &&
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

// A 96-bit-nonce record the context's lane did not run (no lane yet, a
// record too long to run inline, or the engine refused it: `tried`):
// through run_record_op. Out of line, so a record the lane runs sets up none
// of these callbacks.
[[gnu::noinline]] bool run_record_off_lane(GcmCtx* c, bool seal, const engine::AeadParams& a, const uint8_t* in,
                                           uint8_t* out, size_t len, LaneResult tried) {
  auto software = [&] { return sw_record(c, seal, a.nonce, kEngineIvLen, a.aad, a.aad_len, in, out, len, a.tag); };
  auto reg = [c](engine::Engine* eng, engine::KeyHandle* h) {
    engine::AesKeyMaterial m;
    m.key = c->key;
    return eng->register_aes_key(m, h);
  };
  return run_record_op(c->pc, seal ? ProvOp::kAesGcmSeal : ProvOp::kAesGcmOpen, *c->ref, c->lane, reg,
                       seal ? engine::Op::kAesGcmSeal : engine::Op::kAesGcmOpen, in, out, len, a, software, tried);
}

// One whole record (nonce, AAD, data, 16-byte tag) on the engine, in
// software when the engine cannot take it or the nonce is not 96 bits;
// counted either way.
bool run_record(GcmCtx* c, bool seal, const uint8_t* nonce, size_t nonce_len, const uint8_t* aad, size_t aad_len,
                const uint8_t* in, uint8_t* out, size_t len, uint8_t* tag) {
  if (nonce_len != kEngineIvLen) {
    const bool ok = sw_record(c, seal, nonce, nonce_len, aad, aad_len, in, out, len, tag);
    stats_of(c, seal).sw.fetch_add(1, std::memory_order_relaxed);
    if (!ok) stats_of(c, seal).failed.fetch_add(1, std::memory_order_relaxed);
    return ok;
  }
  const engine::AeadParams a{nonce, kEngineIvLen, aad, aad_len, tag, kTagLen};
  // The context's lane first, inline: a record the engine runs on this
  // thread takes no other call than the engine's.
  const LaneResult r = run_on_lane(c->lane, stats_of(c, seal), seal, a, in, out, len);
  if (r == LaneResult::kOk) return true;
  if (r == LaneResult::kFailed) return false;
  return run_record_off_lane(c, seal, a, in, out, len, r);
}

// ------------------------------------------------------------ IV state

// A short copy whose usual length is Usual (every TLS record's 12-byte IV,
// libssl's 16-byte tag) as a fixed-size copy, which the compiler makes a move
// or two, rather than a call to memcpy for a length known only at run time.
template <size_t Usual>
void copy_usually(void* to, const void* from, size_t len) {
  if (len == Usual) std::memcpy(to, from, Usual);
  else std::memcpy(to, from, len);
}
void copy_iv(uint8_t* to, const uint8_t* from, size_t len) { copy_usually<kEngineIvLen>(to, from, len); }

// The message starts with the buffered IV (the default provider's `setiv`).
void start_message(GcmCtx* c) {
  copy_iv(c->msg_iv, c->iv, c->ivlen);
  c->msg_ivlen = c->ivlen;
  c->aad.clear();  // authenticated, not secret: no wipe per message
  c->route = Route::kUndecided;
  c->auth_failed = false;
  c->iv_state = IvState::kCopied;
}

// Encrypting with no IV set: a random one of the IV length (at least 96 bits).
bool generate_iv(GcmCtx* c) {
  if (c->ivlen < kEngineIvLen || RAND_bytes_ex(c->pc->sw, c->iv, c->ivlen, 0) != 1) return false;
  c->iv_state = IvState::kBuffered;
  return true;
}

// The IV of the next message, as the default provider's gcm_cipher_internal
// finds it: false (nothing on the error queue yet) when there is none.
bool ready_for_message(GcmCtx* c) {
  if (!c->key_set || c->iv_state == IvState::kFinished) return false;
  if (c->iv_state == IvState::kUninitialised && (!c->enc || !generate_iv(c))) return false;
  if (c->iv_state == IvState::kBuffered) start_message(c);
  return true;
}

void increment_invocation(uint8_t* last8) {
  for (int i = 7; i >= 0; --i)
    if (++last8[i] != 0) break;
}

// `tlsivgen` (and each TLS 1.2 record sealed): start a message with the
// current IV, hand out its last `olen` bytes, count the invocation field up.
bool get_iv_gen(GcmCtx* c, uint8_t* out, size_t olen) {
  if (!c->iv_gen || !c->key_set) return false;
  start_message(c);
  if (olen == 0 || olen > c->ivlen) olen = c->ivlen;
  std::memcpy(out, c->iv + c->ivlen - olen, olen);
  increment_invocation(c->iv + c->ivlen - 8);
  return true;
}

// `tlsivinv` (and each TLS 1.2 record opened): the record's invocation field.
bool set_iv_inv(GcmCtx* c, const uint8_t* in, size_t inl) {
  if (!c->iv_gen || !c->key_set || c->enc || inl > c->ivlen) return false;
  std::memcpy(c->iv + c->ivlen - inl, in, inl);
  start_message(c);
  return true;
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
  c->ivlen = src->ivlen;
  std::memcpy(c->iv, src->iv, sizeof c->iv);
  c->iv_state = src->iv_state;
  c->iv_gen = src->iv_gen;
  c->tls_enc_records = src->tls_enc_records;
  std::memcpy(c->tls_aad, src->tls_aad, sizeof c->tls_aad);
  c->tls_aad_set = src->tls_aad_set;
  std::memcpy(c->tag, src->tag, sizeof c->tag);
  c->taglen = src->taglen;
  std::memcpy(c->msg_iv, src->msg_iv, sizeof c->msg_iv);
  c->msg_ivlen = src->msg_ivlen;
  c->aad = src->aad;
  c->route = src->route;
  c->auth_failed = src->auth_failed;
  std::memcpy(c->engine_tag, src->engine_tag, sizeof c->engine_tag);
  c->sw_keyed = src->sw_keyed;
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
    if (ivlen == 0 || ivlen > kMaxIvLen) {
      raise(PROV_R_INVALID_IV_LENGTH, "the IV must be 1 to 128 bytes");
      return 0;
    }
    c->ivlen = ivlen;
    copy_iv(c->iv, iv, ivlen);
    c->iv_state = IvState::kBuffered;
  }
  if (key) {
    if (keylen != c->keylen) {
      raise(PROV_R_INVALID_KEY_LENGTH, "key length does not match the cipher");
      return 0;
    }
    c->key.assign(key, key + keylen);
    c->key_set = true;
    c->sw_keyed = false;
    c->lane = AeadLaneCache{};  // before the registration it points into is freed
    c->ref = std::make_unique<EngineKeyRef>();  // the previous key's registration is freed
    c->tls_enc_records = 0;
    // A message in progress restarts under the new key (its IV stays used).
    if (c->iv_state == IvState::kCopied) {
      std::memcpy(c->iv, c->msg_iv, c->msg_ivlen);
      start_message(c);
    }
  }
  return params ? gcm_set_ctx_params(c, params) : 1;  // EVP passes none per record
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
// As in the default provider, the context is in TLS record mode from here
// on even when the length field is too short (the next update then fails).
bool tls_set_aad(GcmCtx* c, const uint8_t* aad, size_t len) {
  if (len != kTlsAadLen) return false;
  std::memcpy(c->tls_aad, aad, kTlsAadLen);
  c->tls_aad_set = true;
  size_t rec = size_t{aad[11]} << 8 | aad[12];
  if (rec < kTlsExplicitIvLen) return false;
  rec -= kTlsExplicitIvLen;
  if (!c->enc) {
    if (rec < kTagLen) return false;
    rec -= kTagLen;
  }
  c->tls_aad[11] = static_cast<uint8_t>(rec >> 8);
  c->tls_aad[12] = static_cast<uint8_t>(rec);
  return true;
}

// `tlsivfixed`: the implicit part (at least 4 bytes, leaving at least 8 for
// the invocation field); encryption starts the invocation field at a random
// value, as OpenSSL does. A length of -1 restores a whole IV.
bool tls_set_fixed_iv(GcmCtx* c, const uint8_t* fixed, size_t len) {
  if (len == kUnset) {
    std::memcpy(c->iv, fixed, c->ivlen);
  } else {
    if (len < kTlsFixedIvLen || c->ivlen < len + kTlsExplicitIvLen) return false;
    std::memcpy(c->iv, fixed, len);
    if (c->enc && RAND_bytes_ex(c->pc->sw, c->iv + len, c->ivlen - len, 0) != 1) return false;
  }
  c->iv_gen = true;
  c->iv_state = IvState::kBuffered;
  return true;
}

// One TLS 1.2 record in place: explicit IV || payload || tag. The IV is
// finished afterwards, whatever happened, as in the default provider.
int tls_record(GcmCtx* c, unsigned char* out, size_t* outl, const unsigned char* in, size_t len) {
  *outl = 0;
  int ok = 0;
  if (!c->key_set || out != in || len < kTlsExplicitIvLen + kTagLen) {
    raise(PROV_R_CIPHER_OPERATION_FAILED, "TLS record: a key and an in-place buffer of at least 24 bytes are required");
  } else if (c->enc && ++c->tls_enc_records == 0) {
    raise(PROV_R_TOO_MANY_RECORDS, "too many records under one key");
  } else if (c->enc ? !get_iv_gen(c, out, kTlsExplicitIvLen) : !set_iv_inv(c, in, kTlsExplicitIvLen)) {
    raise(PROV_R_CIPHER_OPERATION_FAILED, "TLS record: set the fixed IV (tlsivfixed) first");
  } else {
    const size_t plen = len - kTlsExplicitIvLen - kTagLen;
    uint8_t* payload = out + kTlsExplicitIvLen;
    uint8_t* tag = payload + plen;
    if (!run_record(c, c->enc, c->msg_iv, c->msg_ivlen, c->tls_aad, kTlsAadLen, payload, payload, plen, tag)) {
      raise(PROV_R_CIPHER_OPERATION_FAILED, c->enc ? "record sealing failed" : "record authentication failed");
    } else {
      *outl = c->enc ? len : plen;
      ok = 1;
    }
  }
  c->iv_state = IvState::kFinished;
  c->tls_aad_set = false;  // one record per `tlsaad`
  return ok;
}

// ------------------------------------------------------------ messages

// The message continues in the software context: keyed (once per key), its
// IV length and IV, the expected tag if there is one, the AAD so far.
bool start_sw(GcmCtx* c) {
  if (!c->sw) {
    EVP_CIPHER* cipher = fetch_sw(c);
    c->sw = EVP_CIPHER_CTX_new();
    const bool ok = cipher && c->sw && EVP_CipherInit_ex2(c->sw, cipher, nullptr, nullptr, c->enc, nullptr) == 1;
    EVP_CIPHER_free(cipher);
    if (!ok) {
      EVP_CIPHER_CTX_free(c->sw);
      c->sw = nullptr;
      return false;
    }
    c->sw_keyed = false;
  }
  int n = 0;
  const bool ok =
      EVP_CipherInit_ex2(c->sw, nullptr, c->sw_keyed ? nullptr : c->key.data(), nullptr, c->enc, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(c->sw, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(c->msg_ivlen), nullptr) == 1 &&
      EVP_CipherInit_ex2(c->sw, nullptr, nullptr, c->msg_iv, c->enc, nullptr) == 1 &&
      (c->enc || c->taglen == kUnset ||
       EVP_CIPHER_CTX_ctrl(c->sw, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(c->taglen), c->tag) == 1) &&
      (c->aad.empty() || EVP_CipherUpdate(c->sw, nullptr, &n, c->aad.data(), static_cast<int>(c->aad.size())) == 1);
  c->sw_keyed = ok;
  if (!ok) return false;
  c->route = Route::kSoftware;
  stats_of(c, c->enc).sw.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// This data update is a whole TLS 1.3 record the engine can take.
bool is_one_engine_record(const GcmCtx* c, size_t inl) {
  if (c->msg_ivlen != kEngineIvLen || (!c->enc && c->taglen != kTagLen) || c->aad.size() != kTls13HeaderLen)
    return false;
  const uint8_t* h = c->aad.data();
  const size_t record_len = size_t{h[3]} << 8 | h[4];
  return h[0] == 0x17 && h[1] == 0x03 && h[2] == 0x03 && record_len == inl + kTagLen;
}

// The refusal when ready_for_message() found no IV for a message.
int refuse_without_iv(const GcmCtx* c) {
  raise(PROV_R_CIPHER_OPERATION_FAILED, c->iv_state == IvState::kFinished
                                            ? "this IV was used by a finished message: set a new IV"
                                            : "set a key and an IV first");
  return 0;
}

// update / cipher with in != NULL: AAD when out is NULL, else the data.
int message_update(GcmCtx* c, unsigned char* out, size_t* outl, const unsigned char* in, size_t inl) {
  *outl = 0;
  if (!ready_for_message(c)) return refuse_without_iv(c);
  if (c->route == Route::kSoftware) {
    int n = 0;
    if (EVP_CipherUpdate(c->sw, out, &n, in, static_cast<int>(inl)) != 1) return 0;
    *outl = out ? static_cast<size_t>(n) : 0;
    return 1;
  }
  if (c->route == Route::kEngine) {
    raise(PROV_R_CIPHER_OPERATION_FAILED,
          out ? "more data after a whole TLS 1.3 record (the AAD's length field said it was all)"
              : "AAD after the data");
    return 0;
  }
  if (!out) {
    c->aad.insert(c->aad.end(), in, in + inl);
    return 1;
  }
  if (!is_one_engine_record(c, inl)) {
    if (!start_sw(c)) {
      raise(PROV_R_CIPHER_OPERATION_FAILED, "software GCM context could not be set up");
      return 0;
    }
    return message_update(c, out, outl, in, inl);
  }
  c->route = Route::kEngine;
  if (!c->enc) std::memcpy(c->engine_tag, c->tag, kTagLen);
  c->auth_failed =
      !run_record(c, c->enc, c->msg_iv, c->msg_ivlen, c->aad.data(), c->aad.size(), in, out, inl, c->engine_tag);
  if (c->auth_failed && c->enc) {
    raise(PROV_R_CIPHER_OPERATION_FAILED, "sealing failed");
    return 0;
  }
  *outl = inl;  // a failed open wrote zeros, and final reports it
  return 1;
}

int message_final(GcmCtx* c, size_t* outl) {
  *outl = 0;
  if (!ready_for_message(c)) return refuse_without_iv(c);
  if (!c->enc && c->taglen == kUnset) {
    raise(PROV_R_TAG_NOT_SET, "set the expected tag before final");
    return 0;
  }
  if (c->route == Route::kUndecided && !start_sw(c)) {  // AAD alone (GMAC)
    raise(PROV_R_CIPHER_OPERATION_FAILED, "software GCM context could not be set up");
    return 0;
  }
  if (c->route == Route::kSoftware) {
    int n = 0;
    uint8_t none[16];
    if (EVP_CipherFinal_ex(c->sw, none, &n) != 1) {
      stats_of(c, c->enc).failed.fetch_add(1, std::memory_order_relaxed);
      raise(PROV_R_CIPHER_OPERATION_FAILED, c->enc ? "sealing failed" : "tag mismatch: message not authentic");
      return 0;
    }
    if (c->enc) {
      if (EVP_CIPHER_CTX_ctrl(c->sw, EVP_CTRL_AEAD_GET_TAG, kTagLen, c->tag) != 1) return 0;
      c->taglen = kTagLen;
    }
  } else if (c->auth_failed) {
    raise(PROV_R_CIPHER_OPERATION_FAILED, c->enc ? "sealing failed" : "tag mismatch: message not authentic");
    return 0;
  } else if (c->enc) {  // the tag is the caller's from final on, as in the default provider
    std::memcpy(c->tag, c->engine_tag, kTagLen);
    c->taglen = kTagLen;
  }
  c->iv_state = IvState::kFinished;  // never the same IV twice
  return 1;
}

int gcm_update(void* vctx, unsigned char* out, size_t* outl, size_t outsize, const unsigned char* in, size_t inl) {
  auto* c = static_cast<GcmCtx*>(vctx);
  if (inl == 0) {
    *outl = 0;
    return 1;
  }
  if (outsize < inl) {
    raise(PROV_R_OUTPUT_BUFFER_TOO_SMALL, "output buffer too small");
    return 0;
  }
  if (c->tls_aad_set) return tls_record(c, out, outl, in, inl);
  return message_update(c, out, outl, in, inl);
}

int gcm_final(void* vctx, unsigned char*, size_t* outl, size_t) {
  auto* c = static_cast<GcmCtx*>(vctx);
  if (c->tls_aad_set) return tls_record(c, nullptr, outl, nullptr, 0);
  return message_final(c, outl);
}

// EVP_Cipher(): the same as update (and final when in is NULL).
int gcm_cipher(void* vctx, unsigned char* out, size_t* outl, size_t outsize, const unsigned char* in, size_t inl) {
  auto* c = static_cast<GcmCtx*>(vctx);
  if (outsize < inl) {
    raise(PROV_R_OUTPUT_BUFFER_TOO_SMALL, "output buffer too small");
    return 0;
  }
  if (c->tls_aad_set) return tls_record(c, out, outl, in, inl);
  if (!in) return message_final(c, outl);
  if (!message_update(c, out, outl, in, inl)) return 0;
  *outl = inl;
  return 1;
}

// ------------------------------------------------------------ parameters

// Both handlers walk the caller's parameters once (libssl asks for one at a
// time: `ivlen` at every init, `tag` per record) instead of looking up every
// name they know in them: the lookups were a measurable part of a small
// record's cost. Unknown names are ignored, as the default provider does.
//
// A name is compared in line, byte by byte against the literal (unrolled: a
// load and a compare with a constant each), stopping at the first difference
// so never reading past the end of the caller's key: a strcmp call per name
// tried was about a seventh of what gputls added to a 64-byte record.
template <size_t N, size_t... I>
bool same_name(const char* key, const char (&name)[N], std::index_sequence<I...>) {
  return ((key[I] == name[I]) && ...);
}
template <size_t N>
bool is(const OSSL_PARAM* p, const char (&name)[N]) {
  return same_name(p->key, name, std::make_index_sequence<N>());
}

void copy_tag(void* to, const void* from, size_t len) { copy_usually<kTagLen>(to, from, len); }

// OSSL_PARAM_set_size_t, without the call for the shape EVP asks with (a
// size_t's worth of unsigned integer): the same value and return_size; any
// other shape (or no data) goes to OpenSSL's conversions.
bool set_size(OSSL_PARAM* p, size_t v) {
  if (p->data_type == OSSL_PARAM_UNSIGNED_INTEGER && p->data_size == sizeof v && p->data) {
    std::memcpy(p->data, &v, sizeof v);
    p->return_size = sizeof v;
    return true;
  }
  return OSSL_PARAM_set_size_t(p, v) == 1;
}

// gcm_get_ctx_params for the names libssl does not ask for per record: 1
// when answered (or unknown), 0 on an error. Out of line, so the per-record
// walk below keeps a small frame.
[[gnu::noinline]] int get_other_param(GcmCtx* c, OSSL_PARAM* p) {
  if (is(p, OSSL_CIPHER_PARAM_KEYLEN)) {
    if (!OSSL_PARAM_set_size_t(p, c->keylen)) return 0;
  } else if (is(p, OSSL_CIPHER_PARAM_AEAD_TAGLEN)) {
    if (!OSSL_PARAM_set_size_t(p, c->taglen != kUnset ? c->taglen : kTagLen)) return 0;
  } else if (is(p, OSSL_CIPHER_PARAM_IV) || is(p, OSSL_CIPHER_PARAM_UPDATED_IV)) {
    if (c->iv_state == IvState::kUninitialised) {
      raise(PROV_R_INVALID_IV_LENGTH, "no IV is set");
      return 0;
    }
    if (c->ivlen > p->data_size) {
      raise(PROV_R_INVALID_IV_LENGTH, "the IV does not fit the buffer");
      return 0;
    }
    if (!OSSL_PARAM_set_octet_string(p, c->iv, c->ivlen) && !OSSL_PARAM_set_octet_ptr(p, c->iv, c->ivlen)) return 0;
  } else if (is(p, OSSL_CIPHER_PARAM_AEAD_TLS1_AAD_PAD)) {
    if (!OSSL_PARAM_set_size_t(p, kTagLen)) return 0;
  } else if (is(p, OSSL_CIPHER_PARAM_AEAD_TLS1_GET_IV_GEN)) {
    if (!p->data || p->data_type != OSSL_PARAM_OCTET_STRING ||
        !get_iv_gen(c, static_cast<uint8_t*>(p->data), p->data_size)) {
      raise(PROV_R_FAILED_TO_GET_PARAMETER, "IV generation needs a key and a fixed IV (tlsivfixed)");
      return 0;
    }
  }
  return 1;
}

int gcm_get_ctx_params(void* vctx, OSSL_PARAM params[]) {
  auto* c = static_cast<GcmCtx*>(vctx);
  for (OSSL_PARAM* p = params; p && p->key; ++p) {
    if (is(p, OSSL_CIPHER_PARAM_AEAD_TAG)) {  // first: libssl asks for it after every sealed record
      const size_t sz = p->data_size;
      if (sz == 0 || sz > kTagLen || !c->enc || c->taglen == kUnset || p->data_type != OSSL_PARAM_OCTET_STRING) {
        raise(PROV_R_INVALID_TAG, "the tag is read after final, when encrypting, 1 to 16 bytes");
        return 0;
      }
      if (p->data) copy_tag(p->data, c->tag, sz);  // no buffer: the size alone, as OSSL_PARAM_set_octet_string
      p->return_size = sz;
    } else if (is(p, OSSL_CIPHER_PARAM_IVLEN)) {  // EVP asks at every init
      if (!set_size(p, c->ivlen)) return 0;
    } else if (!get_other_param(c, p)) {
      return 0;
    }
  }
  return 1;
}

int gcm_set_ctx_params(void* vctx, const OSSL_PARAM params[]) {
  auto* c = static_cast<GcmCtx*>(vctx);
  for (const OSSL_PARAM* p = params; p && p->key; ++p) {
    if (is(p, OSSL_CIPHER_PARAM_AEAD_TAG)) {
      if (p->data_type != OSSL_PARAM_OCTET_STRING || p->data_size > kTagLen) {
        raise(PROV_R_INVALID_TAG, "the expected tag is 1 to 16 bytes");
        return 0;
      }
      // Copied before the checks below, as the default provider does (its
      // tag buffer then reads back what was offered even when refused).
      if (p->data) copy_tag(c->tag, p->data, p->data_size);
      if (p->data_size == 0 || c->enc) {
        raise(PROV_R_INVALID_TAG, "the expected tag is set when decrypting, 1 to 16 bytes");
        return 0;
      }
      c->taglen = p->data_size;
      // A record the engine already opened was checked against the tag set
      // then: another tag now makes final fail (it could only have matched
      // by being the same).
      const bool in_message = c->iv_state == IvState::kCopied;
      if (in_message && c->route == Route::kEngine && !c->enc &&
          (c->taglen != kTagLen || CRYPTO_memcmp(c->tag, c->engine_tag, kTagLen) != 0))
        c->auth_failed = true;
      if (in_message && c->route == Route::kSoftware && p->data &&
          EVP_CIPHER_CTX_ctrl(c->sw, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(p->data_size), c->tag) != 1)
        return 0;
    } else if (is(p, OSSL_CIPHER_PARAM_AEAD_TLS1_AAD)) {
      if (p->data_type != OSSL_PARAM_OCTET_STRING || !tls_set_aad(c, static_cast<const uint8_t*>(p->data), p->data_size)) {
        raise(PROV_R_INVALID_AAD, "bad TLS AAD");
        return 0;
      }
    } else if (is(p, OSSL_CIPHER_PARAM_AEAD_IVLEN)) {
      size_t sz = 0;
      if (!OSSL_PARAM_get_size_t(p, &sz)) {
        raise(PROV_R_FAILED_TO_GET_PARAMETER, "IV length");
        return 0;
      }
      if (sz == 0 || sz > kMaxIvLen) {
        raise(PROV_R_INVALID_IV_LENGTH, "the IV must be 1 to 128 bytes");
        return 0;
      }
      if (c->ivlen != sz) {
        // An IV set (or generated) for the old length is no longer valid
        // (OpenSSL 3.0.12+, after CVE-2023-5363).
        if (c->iv_state != IvState::kUninitialised) c->iv_state = IvState::kFinished;
        c->ivlen = sz;
      }
    } else if (is(p, OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED)) {
      if (p->data_type != OSSL_PARAM_OCTET_STRING ||
          !tls_set_fixed_iv(c, static_cast<const uint8_t*>(p->data), p->data_size)) {
        raise(PROV_R_FAILED_TO_SET_PARAMETER, "TLS fixed IV: at least 4 bytes, leaving 8 for the invocation field");
        return 0;
      }
    } else if (is(p, OSSL_CIPHER_PARAM_AEAD_TLS1_SET_IV_INV)) {
      if (!p->data || p->data_type != OSSL_PARAM_OCTET_STRING ||
          !set_iv_inv(c, static_cast<const uint8_t*>(p->data), p->data_size)) {
        raise(PROV_R_FAILED_TO_SET_PARAMETER, "IV invocation field: decrypting, with a key and a fixed IV");
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
                                     OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_GET_IV_GEN, nullptr, 0),
                                     OSSL_PARAM_END};
  return kList;
}

const OSSL_PARAM* gcm_settable_ctx_params(void*, void*) {
  static const OSSL_PARAM kList[] = {OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, nullptr),
                                     OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, nullptr, 0),
                                     OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_AAD, nullptr, 0),
                                     OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED, nullptr, 0),
                                     OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_SET_IV_INV, nullptr, 0),
                                     OSSL_PARAM_END};
  return kList;
}

template <size_t kKeyLen>
int gcm_get_params(OSSL_PARAM params[]) {
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_MODE)) && !OSSL_PARAM_set_uint(p, EVP_CIPH_GCM_MODE)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_KEYLEN)) && !OSSL_PARAM_set_size_t(p, kKeyLen)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_IVLEN)) && !OSSL_PARAM_set_size_t(p, kEngineIvLen)) return 0;
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
