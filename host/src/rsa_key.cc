#include "rsa_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "bn_params.h"

namespace gputls::host {

RsaKey::~RsaKey() { EVP_PKEY_free(sw_pkey); }

EVP_PKEY* rsa_sw_pkey(RsaKey* k) {
  std::lock_guard<std::mutex> lock(k->mu);
  if (k->sw_pkey) return k->sw_pkey;
  const auto& m = k->mat;
  BnParams b;
  b.push(OSSL_PKEY_PARAM_RSA_N, m.n).push(OSSL_PKEY_PARAM_RSA_E, m.e);
  if (k->has_private) b.push(OSSL_PKEY_PARAM_RSA_D, m.d);
  // Multi-prime keys go to OpenSSL without CRT values (it then uses d alone):
  // two of their factors would be a wrong CRT key.
  if (k->has_private && m.prime_count == 2)
    b.push(OSSL_PKEY_PARAM_RSA_FACTOR1, m.p)
        .push(OSSL_PKEY_PARAM_RSA_FACTOR2, m.q)
        .push(OSSL_PKEY_PARAM_RSA_EXPONENT1, m.dp)
        .push(OSSL_PKEY_PARAM_RSA_EXPONENT2, m.dq)
        .push(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, m.qinv);
  OSSL_PARAM* params = b.build();
  EVP_PKEY_CTX* ctx = params ? EVP_PKEY_CTX_new_from_name(k->pc->sw, "RSA", nullptr) : nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
    EVP_PKEY_fromdata(ctx, &k->sw_pkey, k->has_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return k->sw_pkey;
}

bool rsa_private_raw(RsaKey* k, ProvOp which, const uint8_t* in, uint8_t* out, size_t len) {
  if (!k->has_private || len != rsa_bytes(k)) {
    k->pc->stats[which].failed.fetch_add(1);
    return false;
  }
  auto reg = [k](engine::Engine* eng, engine::KeyHandle* h) { return eng->register_rsa_key(k->mat, h); };
  // Software: the same raw operation by the default provider (multi-prime
  // keys, a full queue, no engine).
  auto software = [&] {
    EVP_PKEY* pkey = rsa_sw_pkey(k);
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
