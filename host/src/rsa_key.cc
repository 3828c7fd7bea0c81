#include "rsa_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/proverr.h>
#include <openssl/rsa.h>

namespace gputls::host {

OSSL_PARAM* rsa_key_params(const RsaKey* k, bool priv) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  std::vector<BIGNUM*> bns;  // the builder keeps pointers until to_param
  bool ok = bld != nullptr;
  auto push = [&](const char* name, const engine::SecureBytes& v, bool secret) {
    if (!ok || v.empty()) return;
    BIGNUM* b = BN_bin2bn(v.data(), static_cast<int>(v.size()), secret ? BN_secure_new() : BN_new());
    if (b) bns.push_back(b);
    ok = b && OSSL_PARAM_BLD_push_BN(bld, name, b);
  };
  push(OSSL_PKEY_PARAM_RSA_N, k->mat.n, false);
  push(OSSL_PKEY_PARAM_RSA_E, k->mat.e, false);
  if (priv && k->has_private) {
    push(OSSL_PKEY_PARAM_RSA_D, k->mat.d, true);
    for (const auto& [name, v] : k->crt) push(name.c_str(), v, true);
  }
  if (ok && k->is_pss && k->pss.restricted)
    ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_RSA_DIGEST, k->pss.md.c_str(), 0) &&
         OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_RSA_MASKGENFUNC, "MGF1", 0) &&
         OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_RSA_MGF1_DIGEST, k->pss.mgf1_md.c_str(), 0) &&
         OSSL_PARAM_BLD_push_int(bld, OSSL_PKEY_PARAM_RSA_PSS_SALTLEN, k->pss.min_saltlen);
  OSSL_PARAM* params = ok ? OSSL_PARAM_BLD_to_param(bld) : nullptr;
  for (BIGNUM* b : bns) BN_clear_free(b);
  OSSL_PARAM_BLD_free(bld);
  return params;
}

namespace {

// The key in pc->sw as an OpenSSL key of type `type`; nullptr on failure.
EVP_PKEY* build_sw_pkey(RsaKey* k, const char* type) {
  OSSL_PARAM* params = rsa_key_params(k, true);
  EVP_PKEY_CTX* ctx = params ? EVP_PKEY_CTX_new_from_name(k->pc->sw, type, nullptr) : nullptr;
  EVP_PKEY* pkey = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
    EVP_PKEY_fromdata(ctx, &pkey, k->has_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!pkey)
    ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_KEY, "gputls: the %d-bit %s key cannot be rebuilt in OpenSSL",
                   k->bits, type);
  return pkey;
}

}  // namespace

RsaKey::~RsaKey() {
  for (EVP_PKEY_CTX* c : sig_proto) EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(sw_pkey);
  EVP_PKEY_free(sw_raw_pkey);
}

EVP_PKEY* rsa_sw_pkey(RsaKey* k) {
  // The same key type (RSA or RSA-PSS with its restrictions) and every
  // component, multi-prime keys' included: the software twin behaves as the
  // default provider's own key would.
  std::lock_guard<std::mutex> lock(k->mu);
  if (!k->sw_pkey) k->sw_pkey = build_sw_pkey(k, rsa_type_name(k));
  return k->sw_pkey;
}

EVP_PKEY* rsa_sw_raw_pkey(RsaKey* k) {
  if (!k->is_pss) return rsa_sw_pkey(k);
  std::lock_guard<std::mutex> lock(k->mu);
  if (!k->sw_raw_pkey) k->sw_raw_pkey = build_sw_pkey(k, "RSA");
  return k->sw_raw_pkey;
}

EVP_PKEY_CTX* rsa_sw_sig_ctx(RsaKey* k, int operation) {
  const int slot = operation == EVP_PKEY_OP_SIGN ? 0 : operation == EVP_PKEY_OP_VERIFY ? 1 : 2;
  EVP_PKEY* pkey = rsa_sw_pkey(k);
  if (!pkey) return nullptr;
  std::lock_guard<std::mutex> lock(k->mu);
  if (!k->sig_proto[slot]) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(k->pc->sw, pkey, nullptr);
    const int r = !c                  ? 0
                  : slot == 0         ? EVP_PKEY_sign_init(c)
                  : slot == 1         ? EVP_PKEY_verify_init(c)
                                      : EVP_PKEY_verify_recover_init(c);
    if (r != 1) {  // the default provider raised why; not kept, so it says so every time
      EVP_PKEY_CTX_free(c);
      return nullptr;
    }
    k->sig_proto[slot] = c;
  }
  EVP_PKEY_CTX* copy = EVP_PKEY_CTX_dup(k->sig_proto[slot]);
  if (!copy) ERR_raise_data(ERR_LIB_PROV, ERR_R_INTERNAL_ERROR, "gputls: cannot copy an RSA signature context");
  return copy;
}

bool rsa_private_raw(RsaKey* k, ProvOp which, const uint8_t* in, uint8_t* out, size_t len) {
  if (!k->has_private || len != rsa_bytes(k)) {
    k->pc->stats[which].failed.fetch_add(1);
    ERR_raise_data(ERR_LIB_PROV, k->has_private ? PROV_R_BAD_LENGTH : PROV_R_NOT_A_PRIVATE_KEY,
                   k->has_private ? "gputls: RSA input of %zu bytes, the modulus has %zu" : "gputls: the RSA key has no private part",
                   len, rsa_bytes(k));
    return false;
  }
  // Input >= n is no RSA value for this key (public knowledge: n and the
  // input are both public), refused before any private work.
  const auto& n = k->mat.n;
  const size_t off = len - n.size();  // n.size() <= len: len is the modulus's byte length
  bool below = false, decided = false;
  for (size_t i = 0; i < len && !decided; ++i) {
    const unsigned a = in[i], b = i < off ? 0u : n[i - off];
    if (a != b) {
      below = a < b;
      decided = true;
    }
  }
  if (!below) {
    k->pc->stats[which].failed.fetch_add(1);
    ERR_raise_data(ERR_LIB_RSA, RSA_R_DATA_TOO_LARGE_FOR_MODULUS, "gputls: RSA input is not below the modulus");
    return false;
  }
  auto reg = [k](engine::Engine* eng, engine::KeyHandle* h) { return eng->register_rsa_key(k->mat, h); };
  // Software: the same raw operation by the default provider (multi-prime
  // keys, a full queue, no engine).
  auto software = [&] {
    EVP_PKEY* pkey = rsa_sw_raw_pkey(k);
    EVP_PKEY_CTX* c = pkey ? EVP_PKEY_CTX_new_from_pkey(k->pc->sw, pkey, nullptr) : nullptr;
    size_t outlen = len;
    bool ok = c && EVP_PKEY_decrypt_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) == 1 &&
              EVP_PKEY_decrypt(c, out, &outlen, in, len) == 1 && outlen == len;
    EVP_PKEY_CTX_free(c);
    return ok;
  };
  return run_private_op(k->pc, which, k->engine_ref, reg, engine::Op::kRsaPriv, in, len, out, len, software);
}

}  // namespace gputls::host
