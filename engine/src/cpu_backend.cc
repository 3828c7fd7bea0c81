// CPU backend: every op through OpenSSL's default provider, in a private
// library context, calling the provider's functions directly (ProviderGcm,
// ProviderPk) rather than through EVP.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <cstring>
#include <vector>

#include "backends.h"
#include "gputls/kernels/mlkem_batch.h"

// The engine's ML-KEM ops and sizes are the kernels' (op.h cannot include them).
static_assert(gputls::engine::mlkem_kernel_op(gputls::engine::Op::kMlkemKeygen) == gputls::kernels::kMlkemKeygen &&
              gputls::engine::mlkem_kernel_op(gputls::engine::Op::kMlkemEncaps) == gputls::kernels::kMlkemEncaps &&
              gputls::engine::mlkem_kernel_op(gputls::engine::Op::kMlkemDecaps) == gputls::kernels::kMlkemDecaps);
static_assert(gputls::engine::mlkem_in_len(gputls::engine::Op::kMlkemEncaps) ==
                  gputls::kernels::mlkem_in_bytes(gputls::kernels::kMlkemEncaps) &&
              gputls::engine::mlkem_in_len(gputls::engine::Op::kMlkemDecaps) ==
                  gputls::kernels::mlkem_in_bytes(gputls::kernels::kMlkemDecaps) &&
              gputls::engine::mlkem_out_len(gputls::engine::Op::kMlkemKeygen) ==
                  gputls::kernels::mlkem_out_bytes(gputls::kernels::kMlkemKeygen));
#include "provider_gcm.h"
#include "provider_pk.h"

namespace gputls::engine {
namespace {

// An RSA key inside the default provider (which clears private components
// when it frees them).
struct CpuKey final : BackendKeyState {
  explicit CpuKey(ProviderPk::Key k) : key(std::move(k)) {}
  ProviderPk::Key key;
};

// Ephemeral keys (X25519, P-256 / P-384: one per handshake) are imported, and
// their public keys computed, when this backend first uses them, not at
// registration: registration runs on the caller's thread, and a key a GPU
// serves never needs the CPU's copy (computing it there cost the host a
// fixed-base scalar multiplication per handshake, issue 21 item 9). Once
// done, every thread reads the result.
struct LazyImport {
  std::once_flag once;
  bool ok = false;
  // Runs import() once, whichever thread comes first, and counts it; then
  // whether it succeeded.
  template <class F>
  bool done(F import, std::atomic<uint64_t>& count) {
    std::call_once(once, [&] {
      ok = import();
      count.fetch_add(1, std::memory_order_relaxed);
    });
    return ok;
  }
};

// An X25519 key: the provider's key and the public key it computed.
struct CpuX25519Key final : BackendKeyState {
  LazyImport lazy;
  ProviderPk::Key key;
  std::array<uint8_t, 32> pub{};
};

struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

Bn bn_from(const SecureBytes& b) {
  return Bn(BN_bin2bn(b.data(), static_cast<int>(b.size()), BN_secure_new()));
}

// Finite-field DH key: the prime with its Montgomery context, and the
// private exponent flagged for OpenSSL's constant-time paths.
struct CpuDhKey final : BackendKeyState {
  Bn p, priv;
  BN_MONT_CTX* mont = nullptr;
  ~CpuDhKey() override { BN_MONT_CTX_free(mont); }
};

// A P-256 / P-384 key: the provider's key (private and public) and the
// public point 04 || X || Y (keygen returns it), made on first use.
struct CpuEcKey final : BackendKeyState {
  LazyImport lazy;
  ProviderPk::Key key;
  std::vector<uint8_t> pub;
  const char* group = nullptr;  // OpenSSL's group name
  size_t coord = 0;             // bytes per coordinate / scalar
};

// An AES-GCM key: a provider context with the key schedule set (OpenSSL
// picks AES-NI / VAES) for the records. A connection's records come one at a
// time, so it is nearly always free; a thread that finds it busy keys a
// context of its own from the key's material (rare: one context per key
// instead of a template and a working copy saves a context copy per TLS
// traffic key, four per handshake). The provider cleanses it when freed.
struct CpuAesKey final : BackendKeyState {
  ProviderGcm::Ctx hot;
  // Taken with one atomic exchange and released with a plain store (a mutex
  // costs two locked instructions per record).
  std::atomic_flag hot_busy = ATOMIC_FLAG_INIT;
  // For a context of its own when hot is busy: the provider's functions and
  // the key (its KeyEntry's, which outlives this state).
  const ProviderGcm* gcm = nullptr;
  const AesKeyMaterial* material = nullptr;
};

// A record of k while another thread has its working context: on a context
// of this call's own. Out of line, so the common case below keeps a small
// frame.
[[gnu::noinline]] Status aes_record_elsewhere(const CpuAesKey& k, bool seal, const AeadParams& a, const uint8_t* in,
                                              uint8_t* out, size_t len) {
  ERR_set_mark();  // an allocation may fail and raise
  ProviderGcm::Ctx c = k.gcm->keyed(k.material->key.data(), k.material->key.size());
  const Status s = c ? c.record(seal, a, in, out, len) : Status::kCryptoFailure;
  ERR_pop_to_mark();
  return s;
}

// One record of a CpuAesKey (AeadRecordFn): on its working context, or on a
// context of this call's own when another thread has that one.
Status aes_record(void* state, bool seal, const AeadParams& a, const uint8_t* in, uint8_t* out, size_t len) {
  auto& k = *static_cast<CpuAesKey*>(state);
  if (k.hot_busy.test_and_set(std::memory_order_acquire)) return aes_record_elsewhere(k, seal, a, in, out, len);
  const Status s = k.hot.record(seal, a, in, out, len);
  k.hot_busy.clear(std::memory_order_release);
  return s;
}

class CpuBackend final : public SyncBackend {
 public:
  CpuBackend(OSSL_LIB_CTX* ctx, OSSL_PROVIDER* prov, std::unique_ptr<ProviderGcm> gcm, std::unique_ptr<ProviderPk> pk)
      : ctx_(ctx), prov_(prov), gcm_(std::move(gcm)), pk_(std::move(pk)),
        p256_(EC_GROUP_new_by_curve_name_ex(ctx, nullptr, NID_X9_62_prime256v1)),
        p384_(EC_GROUP_new_by_curve_name_ex(ctx, nullptr, NID_secp384r1)) {}
  ~CpuBackend() override {
    EC_GROUP_free(p256_);
    EC_GROUP_free(p384_);
    gcm_.reset();  // hand the provider's algorithm tables back while it is loaded
    pk_.reset();
    OSSL_PROVIDER_unload(prov_);
    OSSL_LIB_CTX_free(ctx_);
  }

  BackendKind kind() const override { return BackendKind::kCpu; }
  std::string description() const override { return std::string("OpenSSL ") + OpenSSL_version(OPENSSL_VERSION_STRING); }
  bool supports(Op, uint32_t) const override { return true; }
  bool idle() const override { return true; }
  uint64_t keys_imported() const override { return imported_.load(std::memory_order_relaxed); }

  Status prepare_key(KeyEntry& key) override {
    std::unique_ptr<CpuKey> k;
    ERR_set_mark();
    if (key.type == KeyType::kRsa) {
      k = rsa_from(key.rsa, &key.bits);
    } else if (key.type == KeyType::kX25519) {
      ERR_pop_to_mark();
      if (key.x25519.priv.size() != 32) return Status::kBadKey;  // any 32 bytes are a key (clamped on use)
      key.bits = 255;
      key.state[static_cast<size_t>(BackendKind::kCpu)] = std::make_unique<CpuX25519Key>();
      return Status::kOk;
    } else if (key.type == KeyType::kDh) {
      ERR_pop_to_mark();
      return prepare_dh(key);
    } else if (key.type == KeyType::kEc) {
      Status s = prepare_ec(key);
      ERR_pop_to_mark();
      return s;
    } else if (key.type == KeyType::kAes) {
      Status s = prepare_aes(key);
      ERR_pop_to_mark();
      return s;
    }
    ERR_pop_to_mark();
    if (!k) return Status::kBadKey;
    key.state[static_cast<size_t>(BackendKind::kCpu)] = std::move(k);
    return Status::kOk;
  }

  void launch(Batch* b) override {
    ERR_set_mark();  // keep OpenSSL's error queue of the calling thread as it was
    for (size_t i = 0; i < b->size(); ++i) b->results[i] = run(b->op, b->keys[i], *b->requests[i]);
    ERR_pop_to_mark();
    b->finish();
  }

  Status run_one(Op op, KeyEntry* key, Request& r) override {
    // A record on the key's working context puts nothing on OpenSSL's error
    // queue, not even a tag mismatch (3.0's GCM final fails without raising;
    // sizes and pointers were validated at admission), so it skips the mark:
    // setting and popping it took about 27 ns per record, more than all the
    // engine's other per-record work. aes_gcm()'s other path sets its own.
    if (is_aead(op)) return aes_gcm(key, op == Op::kAesGcmSeal, r);
    ERR_set_mark();
    const Status s = run(op, key, r);
    ERR_pop_to_mark();
    return s;
  }

  AeadRecordFn aead_record_fn(KeyEntry& key, void** state) override {
    BackendKeyState* k = key.type == KeyType::kAes ? key.state_for(BackendKind::kCpu) : nullptr;
    *state = k;
    return k ? aes_record : nullptr;
  }

 private:
  std::unique_ptr<CpuKey> rsa_from(const RsaKeyMaterial& m, uint32_t* bits) {
    Bn n = bn_from(m.n), e = bn_from(m.e), d = bn_from(m.d), p = bn_from(m.p), q = bn_from(m.q),
       dp = bn_from(m.dp), dq = bn_from(m.dq), qinv = bn_from(m.qinv);
    if (!n || !e || !d || !p || !q || !dp || !dq || !qinv) return nullptr;
    if (BN_is_zero(p.get()) || BN_is_zero(q.get()) || BN_is_zero(dp.get()) || BN_is_zero(dq.get()) ||
        BN_is_zero(qinv.get()))
      return nullptr;  // no CRT parameters: not a key the engine serves
    if (!rsa_consistent(n.get(), e.get(), d.get(), p.get(), q.get(), dp.get(), dq.get(), qinv.get())) return nullptr;
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM* params = nullptr;
    ProviderPk::Key key;
    if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n.get()) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e.get()) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d.get()) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p.get()) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q.get()) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp.get()) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq.get()) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv.get()) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != nullptr)
      key = pk_->import(ProviderPk::Alg::kRsa, EVP_PKEY_KEYPAIR, params);
    OSSL_PARAM_free(params);  // clears the secure block holding the private BIGNUMs
    OSSL_PARAM_BLD_free(bld);
    if (!key) return nullptr;
    *bits = static_cast<uint32_t>(BN_num_bits(n.get()));
    return std::make_unique<CpuKey>(std::move(key));
  }

  // The provider computes the public key from the private one at import.
  bool import_x25519(const X25519KeyMaterial& m, CpuX25519Key* k) {
    OSSL_PARAM in[] = {OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,
                                                         const_cast<uint8_t*>(m.priv.data()), m.priv.size()),
                       OSSL_PARAM_construct_end()};
    k->key = pk_->import(ProviderPk::Alg::kX25519, EVP_PKEY_KEYPAIR, in);
    OSSL_PARAM out[] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, k->pub.data(), k->pub.size()),
        OSSL_PARAM_construct_end()};
    return k->key && k->key.get(out) && out[0].return_size == k->pub.size();
  }

  // The key imported on first use (any thread), or nullptr if that failed.
  const CpuX25519Key* x25519_of(KeyEntry* key) {
    auto* k = static_cast<CpuX25519Key*>(key->state_for(BackendKind::kCpu));
    return k->lazy.done([&] { return import_x25519(key->x25519, k); }, imported_) ? k : nullptr;
  }

  // n = p*q, d*e = 1 mod p-1 and q-1, and the CRT parameters agree: a faulty
  // key is refused at registration instead of producing wrong results later.
  // Arithmetic only: OpenSSL's pairwise check also tests p and q for
  // primality, which took 50 s for a 16384-bit key on first use (the key
  // came from OpenSSL, which loaded it; primality is not a fault).
  bool rsa_consistent(const BIGNUM* n, const BIGNUM* e, const BIGNUM* d, const BIGNUM* p, const BIGNUM* q,
                      const BIGNUM* dp, const BIGNUM* dq, const BIGNUM* qinv) {
    BN_CTX* bctx = BN_CTX_secure_new_ex(ctx_);
    if (!bctx) return false;
    BN_CTX_start(bctx);
    BIGNUM* t = BN_CTX_get(bctx);
    BIGNUM* p1 = BN_CTX_get(bctx);
    BIGNUM* q1 = BN_CTX_get(bctx);
    bool ok = t && p1 && q1 && BN_mul(t, p, q, bctx) && BN_cmp(t, n) == 0 && BN_sub(p1, p, BN_value_one()) &&
              BN_sub(q1, q, BN_value_one());
    auto is_one = [&](const BIGNUM* a, const BIGNUM* b, const BIGNUM* m) {  // a*b mod m == 1
      return BN_mod_mul(t, a, b, m, bctx) && BN_is_one(t);
    };
    ok = ok && is_one(e, dp, p1) && is_one(e, dq, q1) && is_one(e, d, p1) && is_one(e, d, q1) && is_one(q, qinv, p);
    BN_CTX_end(bctx);
    BN_CTX_free(bctx);
    return ok;
  }

  Status prepare_dh(KeyEntry& key) {
    auto k = std::make_unique<CpuDhKey>();
    k->p = bn_from(key.dh.p);
    k->priv = bn_from(key.dh.priv);
    BN_CTX* bctx = BN_CTX_new_ex(ctx_);
    bool ok = bctx && k->p && k->priv && BN_is_odd(k->p.get()) && BN_num_bits(k->p.get()) >= 512 &&
              !BN_is_zero(k->priv.get()) && (k->mont = BN_MONT_CTX_new()) != nullptr &&
              BN_MONT_CTX_set(k->mont, k->p.get(), bctx) == 1;
    BN_CTX_free(bctx);
    if (!ok) return Status::kBadKey;
    BN_set_flags(k->priv.get(), BN_FLG_CONSTTIME);
    key.bits = static_cast<uint32_t>(BN_num_bits(k->p.get()));
    key.state[static_cast<size_t>(BackendKind::kCpu)] = std::move(k);
    return Status::kOk;
  }

  const EC_GROUP* group_of(uint32_t bits) const { return bits == 256 ? p256_ : p384_; }

  // P-256 / P-384 at registration: the curve and 1 <= d < n, checked (cheap);
  // the public point and the import wait for first use (import_ec).
  Status prepare_ec(KeyEntry& key) {
    const uint32_t bits = key.ec.curve_bits;
    if ((bits != 256 && bits != 384) || key.ec.priv.empty()) return Status::kBadKey;
    const EC_GROUP* group = group_of(bits);  // made once: a group costs as much as a key
    Bn d = bn_from(key.ec.priv);
    if (!group || !d || BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(group)) >= 0)
      return Status::kBadKey;
    auto k = std::make_unique<CpuEcKey>();
    k->group = bits == 256 ? "prime256v1" : "secp384r1";
    k->coord = bits / 8;
    key.bits = bits;
    key.state[static_cast<size_t>(BackendKind::kCpu)] = std::move(k);
    return Status::kOk;
  }

  // The public point d*G (EVP_PKEY_fromdata does not compute it), then the
  // key pair imported into the provider.
  bool import_ec(const EcKeyMaterial& m, CpuEcKey* k) {
    const EC_GROUP* group = group_of(m.curve_bits);
    BN_CTX* bctx = BN_CTX_secure_new_ex(ctx_);
    Bn d = bn_from(m.priv);
    EC_POINT* pub = EC_POINT_new(group);
    OSSL_PARAM_BLD* bld = nullptr;
    OSSL_PARAM* params = nullptr;
    bool ok = false;
    if (bctx && d && pub) {
      BN_set_flags(d.get(), BN_FLG_CONSTTIME);
      ok = EC_POINT_mul(group, pub, d.get(), nullptr, nullptr, bctx) == 1;
    }
    if (ok) {
      k->pub.resize(1 + 2 * k->coord);
      ok = EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED, k->pub.data(), k->pub.size(), bctx) ==
           k->pub.size();
    }
    if (ok) {
      ok = (bld = OSSL_PARAM_BLD_new()) != nullptr &&
           OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, k->group, 0) &&
           OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d.get()) &&
           OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, k->pub.data(), k->pub.size()) &&
           (params = OSSL_PARAM_BLD_to_param(bld)) != nullptr &&
           (k->key = pk_->import(ProviderPk::Alg::kEc, EVP_PKEY_KEYPAIR, params));
    }
    OSSL_PARAM_free(params);  // clears the secure block holding d
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(pub);
    BN_CTX_free(bctx);
    return ok;
  }

  // The key imported on first use (any thread), or nullptr if that failed.
  const CpuEcKey* ec_of(KeyEntry* key) {
    auto* k = static_cast<CpuEcKey*>(key->state_for(BackendKind::kCpu));
    return k->lazy.done([&] { return import_ec(key->ec, k); }, imported_) ? k : nullptr;
  }

  Status prepare_aes(KeyEntry& key) {
    const size_t len = key.aes.key.size();
    if (len != 16 && len != 32) return Status::kBadKey;
    auto k = std::make_unique<CpuAesKey>();
    k->hot = gcm_->keyed(key.aes.key.data(), len);
    if (!k->hot) return Status::kBadKey;
    k->gcm = gcm_.get();
    k->material = &key.aes;
    key.bits = static_cast<uint32_t>(len * 8);
    key.state[static_cast<size_t>(BackendKind::kCpu)] = std::move(k);
    return Status::kOk;
  }

  Status aes_gcm(KeyEntry* key, bool seal, Request& r) {
    return aes_record(key->state_for(BackendKind::kCpu), seal, *r.aead, r.in, r.out, r.in_len);
  }

  // x(d*Q) for the peer's 04 || X || Y. OpenSSL's import validates the point
  // (coordinates < p, on the curve); an invalid one is a crypto failure.
  Status ecdh(const CpuEcKey& k, Request& r) {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(k.group), 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(r.in), r.in_len),
        OSSL_PARAM_construct_end()};
    // The peer point is validated once, here, by the import: 04 || X || Y
    // (length and prefix checked at submit, so never the point at infinity),
    // both coordinates below p and the point on the curve (EC_POINT_oct2point
    // refuses anything else); cofactor 1, so no subgroup check is due. The
    // provider's set_peer makes no check of its own (EVP's public-key check
    // is not repeated); the GPU path validates in the kernel (decode_point).
    const ProviderPk::Key peer = pk_->import(ProviderPk::Alg::kEc, EVP_PKEY_PUBLIC_KEY, params);
    size_t outlen = r.out_len;
    const bool ok = peer && pk_->derive(k.key, peer, r.out, &outlen) && outlen == k.coord;
    return ok ? Status::kOk : Status::kCryptoFailure;
  }

  // ECDSA over the digest as given (OpenSSL truncates it to the order's
  // length), the DER signature decoded into fixed-width r || s.
  Status ecdsa(const CpuEcKey& k, Request& r) {
    uint8_t der[160];  // at most 2 * (2 + 1 + 48) + 3 for P-384
    size_t der_len = sizeof der;
    bool ok = pk_->ecdsa_sign(k.key, r.in, r.in_len, der, &der_len);
    ECDSA_SIG* sig = nullptr;
    if (ok) {
      const unsigned char* p = der;
      sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len));
      ok = sig != nullptr;
    }
    if (ok) {
      const int w = static_cast<int>(k.coord);
      ok = BN_bn2binpad(ECDSA_SIG_get0_r(sig), r.out, w) == w && BN_bn2binpad(ECDSA_SIG_get0_s(sig), r.out + w, w) == w;
    }
    ECDSA_SIG_free(sig);
    OPENSSL_cleanse(der, sizeof der);
    return ok ? Status::kOk : Status::kCryptoFailure;
  }

  // ECDSA verify against the key's public point: r || s re-encoded as DER,
  // the digest as given (L bytes, OpenSSL truncates it). A signature that does
  // not verify (r or s out of range included) is out = 0 with status kOk.
  Status ecdsa_verify(const CpuEcKey& k, Request& r) {
    const size_t w = k.coord;
    const size_t dlen = r.in[0];
    const uint8_t* rs = r.in + 1 + 64;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    BIGNUM* br = BN_bin2bn(rs, static_cast<int>(w), nullptr);
    BIGNUM* bs = BN_bin2bn(rs + w, static_cast<int>(w), nullptr);
    bool ok = sig && br && bs && ECDSA_SIG_set0(sig, br, bs) == 1;
    if (!ok) {
      BN_free(br);
      BN_free(bs);
    }
    uint8_t der[160];
    unsigned char* p = der;
    const int der_len = ok ? i2d_ECDSA_SIG(sig, nullptr) : -1;
    ok = ok && der_len > 0 && static_cast<size_t>(der_len) <= sizeof der && i2d_ECDSA_SIG(sig, &p) == der_len;
    ECDSA_SIG_free(sig);
    const int v = ok ? pk_->ecdsa_verify(k.key, der, static_cast<size_t>(der_len), r.in + 1, dlen) : -1;
    if (v >= 0) r.out[0] = static_cast<uint8_t>(v);
    return v >= 0 ? Status::kOk : Status::kCryptoFailure;
  }

  // ML-KEM-768: OpenSSL 3.0 has none, so the CPU path is the kernels' own
  // batch body (the host twin of the GPU's), one request at a time.
  static Status mlkem(Op op, Request& r) {
    return kernels::mlkem_run_one(mlkem_kernel_op(op), r.in, r.out) == kernels::kMlkemOk ? Status::kOk
                                                                                         : Status::kCryptoFailure;
  }

  // y = x^priv mod p for 0 <= x < p; x >= p is refused like the GPU refuses it.
  Status modexp(const CpuDhKey& k, Request& r) {
    Bn x(BN_bin2bn(r.in, static_cast<int>(r.in_len), nullptr));
    Bn y(BN_secure_new());
    BN_CTX* bctx = BN_CTX_secure_new_ex(ctx_);
    bool ok = x && y && bctx && BN_cmp(x.get(), k.p.get()) < 0 &&
              BN_mod_exp_mont_consttime(y.get(), x.get(), k.priv.get(), k.p.get(), bctx, k.mont) == 1 &&
              BN_bn2binpad(y.get(), r.out, static_cast<int>(r.out_len)) == static_cast<int>(r.out_len);
    BN_CTX_free(bctx);
    return ok ? Status::kOk : Status::kCryptoFailure;
  }

  Status run(Op op, KeyEntry* key, Request& r) {
    switch (op) {
      case Op::kEcho:
        if (r.in_len) std::memmove(r.out, r.in, r.in_len);
        return Status::kOk;
      case Op::kRsaPriv: return rsa_priv(cpu_key_of(key), r);
      case Op::kX25519Derive: {
        const CpuX25519Key* k = x25519_of(key);
        return k ? x25519(*k, r) : Status::kCryptoFailure;
      }
      case Op::kModExp: return modexp(*static_cast<CpuDhKey*>(key->state_for(BackendKind::kCpu)), r);
      case Op::kX25519Keygen: {
        // OpenSSL computes the public key when the key is imported.
        const CpuX25519Key* k = x25519_of(key);
        if (!k || r.out_len != k->pub.size()) return Status::kCryptoFailure;
        std::memcpy(r.out, k->pub.data(), k->pub.size());
        return Status::kOk;
      }
      case Op::kEcKeygen: {
        const CpuEcKey* k = ec_of(key);  // the point computed at import
        if (!k || r.out_len != k->pub.size()) return Status::kCryptoFailure;
        std::memcpy(r.out, k->pub.data(), k->pub.size());
        return Status::kOk;
      }
      case Op::kEcdhDerive:
      case Op::kEcdsaSign:
      case Op::kEcdsaVerify: {
        const CpuEcKey* k = ec_of(key);
        if (!k) return Status::kCryptoFailure;
        return op == Op::kEcdhDerive ? ecdh(*k, r) : op == Op::kEcdsaSign ? ecdsa(*k, r) : ecdsa_verify(*k, r);
      }
      case Op::kAesGcmSeal: return aes_gcm(key, true, r);
      case Op::kAesGcmOpen: return aes_gcm(key, false, r);
      case Op::kMlkemKeygen:
      case Op::kMlkemEncaps:
      case Op::kMlkemDecaps: return mlkem(op, r);
      case Op::kCount: break;
    }
    return Status::kUnsupported;
  }

  static const CpuKey& cpu_key_of(KeyEntry* key) {
    return *static_cast<const CpuKey*>(key->state_for(BackendKind::kCpu));
  }

  Status rsa_priv(const CpuKey& k, Request& r) {
    size_t outlen = r.out_len;
    const bool ok = pk_->rsa_raw_decrypt(k.key, r.in, r.in_len, r.out, &outlen) && outlen == r.out_len;
    return ok ? Status::kOk : Status::kCryptoFailure;
  }

  Status x25519(const CpuX25519Key& k, Request& r) {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(r.in), r.in_len),
        OSSL_PARAM_construct_end()};
    const ProviderPk::Key peer = pk_->import(ProviderPk::Alg::kX25519, EVP_PKEY_PUBLIC_KEY, params);
    size_t outlen = r.out_len;
    // OpenSSL refuses an all-zero shared secret (RFC 7748 section 6.1).
    const bool ok = peer && pk_->derive(k.key, peer, r.out, &outlen) && outlen == 32;
    return ok ? Status::kOk : Status::kCryptoFailure;
  }

  OSSL_LIB_CTX* ctx_;
  OSSL_PROVIDER* prov_;
  std::unique_ptr<ProviderGcm> gcm_;
  std::unique_ptr<ProviderPk> pk_;
  std::atomic<uint64_t> imported_{0};
  // Read-only after construction, shared by every thread preparing EC keys.
  EC_GROUP* const p256_;
  EC_GROUP* const p384_;
};

}  // namespace

std::unique_ptr<SyncBackend> make_cpu_backend(std::string* error) {
  OSSL_LIB_CTX* ctx = OSSL_LIB_CTX_new();
  OSSL_PROVIDER* prov = ctx ? OSSL_PROVIDER_load(ctx, "default") : nullptr;
  if (!prov) {
    OSSL_LIB_CTX_free(ctx);
    *error = "gputls: cannot load OpenSSL's default provider into a private library context";
    return nullptr;
  }
  std::unique_ptr<ProviderGcm> gcm = ProviderGcm::find(prov, error);
  std::unique_ptr<ProviderPk> pk = gcm ? ProviderPk::find(prov, error) : nullptr;
  if (!pk) {
    gcm.reset();
    OSSL_PROVIDER_unload(prov);
    OSSL_LIB_CTX_free(ctx);
    return nullptr;
  }
  return std::make_unique<CpuBackend>(ctx, prov, std::move(gcm), std::move(pk));
}

}  // namespace gputls::engine
