#include "pk_cost.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <functional>
#include <memory>

#include "cpu_clock.h"
#include "gputls/kernels/mlkem_batch.h"

namespace gputls::bench {
namespace {

// The key exchange's operations, named after the group: a classic group's
// key generation and derivation; a post-quantum hybrid's classic pair plus the
// ML-KEM-768 encapsulation (the server's only ML-KEM operation; the client
// generates the key and decapsulates).
void add_kex(const std::string& g, std::vector<PkOp>* ops, double full, double resumed) {
  if (g == "X25519MLKEM768" || g == "SecP256r1MLKEM768" || g == "MLKEM768") {
    if (g != "MLKEM768") add_kex(g == "X25519MLKEM768" ? "x25519" : "P-256", ops, full, resumed);
    ops->push_back({"mlkem768_encaps", "mlkem768_encaps", full, resumed});
    return;
  }
  if (g == "x25519" || g == "X25519") {
    ops->push_back({"x25519_keygen", "x25519_keygen", full, resumed});
    ops->push_back({"x25519_derive", "x25519_derive", full, resumed});
    return;
  }
  const std::string curve = g == "P-256" || g == "prime256v1" || g == "secp256r1" ? "p256"
                            : g == "P-384" || g == "secp384r1"                    ? "p384"
                                                                                  : "";
  if (!curve.empty()) {
    ops->push_back({curve + "_keygen", "ec_keygen", full, resumed});
    ops->push_back({curve + "_ecdh_derive", "ecdh_derive", full, resumed});
    return;
  }
  ops->push_back({g + "_keygen", "dh_keygen", full, resumed});  // ffdhe2048, ffdhe3072
  ops->push_back({g + "_derive", "dh_derive", full, resumed});
}

std::string cert_alg(const std::string& cert) {  // rsa2048 / p256 / ...
  return cert.rfind("ecdsa-", 0) == 0 ? cert.substr(6) : cert;
}

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

Pkey gen_key(const std::string& alg) {  // rsa2048, p256, x25519, ffdhe2048, ...
  EVP_PKEY* k = nullptr;
  if (alg.rfind("rsa", 0) == 0) k = EVP_RSA_gen(static_cast<unsigned>(std::stoi(alg.substr(3))));
  else if (alg == "p256") k = EVP_EC_gen("P-256");
  else if (alg == "p384") k = EVP_EC_gen("P-384");
  else if (alg == "x25519") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  else if (alg.rfind("ffdhe", 0) == 0) {
    PkeyCtx c(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr), EVP_PKEY_CTX_free);
    OSSL_PARAM p[] = {OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(alg.c_str()), 0),
                      OSSL_PARAM_END};
    if (c && EVP_PKEY_keygen_init(c.get()) == 1 && EVP_PKEY_CTX_set_params(c.get(), p) == 1)
      EVP_PKEY_keygen(c.get(), &k);
  }
  return Pkey(k, EVP_PKEY_free);
}

// Each operation below runs either whole or only up to the call that
// does the math (`setup`: the EVP context made, initialised, its parameters
// set, a signature's size asked for, as libssl does before every such call).
// The set-up is EVP and provider plumbing that every provider pays on the
// caller's thread, an offload included: libssl's floor keeps it, and only the
// difference (the operation itself) counts as public-key work.
enum class Part { whole, setup };

// Keygen of the same kind as `proto` (the group's parameters copied).
bool keygen_like(EVP_PKEY* proto, Part part) {
  PkeyCtx c(EVP_PKEY_CTX_new_from_pkey(nullptr, proto, nullptr), EVP_PKEY_CTX_free);
  if (!c || EVP_PKEY_keygen_init(c.get()) != 1) return false;
  if (part == Part::setup) return true;
  EVP_PKEY* k = nullptr;
  const bool ok = EVP_PKEY_keygen(c.get(), &k) == 1;
  EVP_PKEY_free(k);
  return ok;
}

bool derive(EVP_PKEY* ours, EVP_PKEY* peer, Part part) {
  PkeyCtx c(EVP_PKEY_CTX_new(ours, nullptr), EVP_PKEY_CTX_free);
  unsigned char out[512];
  size_t len = sizeof out;
  if (!c || EVP_PKEY_derive_init(c.get()) != 1) return false;
  // libssl has the peer's key validated as it is set: for an EC key that is a
  // scalar multiplication (n Q = O), public-key work, so it stays in the
  // operation; the set-up sets the peer without it.
  // libssl's ssl_derive asks for the secret's size first, then derives.
  size_t need = 0;
  if (part == Part::setup)
    return EVP_PKEY_derive_set_peer_ex(c.get(), peer, 0) == 1 && EVP_PKEY_derive(c.get(), nullptr, &need) == 1;
  return EVP_PKEY_derive_set_peer(c.get(), peer) == 1 && EVP_PKEY_derive(c.get(), nullptr, &need) == 1 &&
         need <= len && EVP_PKEY_derive(c.get(), out, &len) == 1;
}

bool sign(EVP_PKEY* key, std::vector<unsigned char>* sig, Part part) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pc = nullptr;
  static const unsigned char kMsg[64] = {1};
  size_t len = 0;
  if (!md || EVP_DigestSignInit(md.get(), &pc, EVP_sha256(), nullptr, key) != 1) return false;
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
  if (EVP_DigestSign(md.get(), nullptr, &len, kMsg, sizeof kMsg) != 1) return false;
  if (part == Part::setup) return true;
  sig->resize(len);
  if (EVP_DigestSign(md.get(), sig->data(), &len, kMsg, sizeof kMsg) != 1) return false;
  sig->resize(len);
  return true;
}

bool verify(EVP_PKEY* key, const std::vector<unsigned char>& sig, Part part) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pc = nullptr;
  static const unsigned char kMsg[64] = {1};
  if (!md || EVP_DigestVerifyInit(md.get(), &pc, EVP_sha256(), nullptr, key) != 1) return false;
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
  return part == Part::setup || EVP_DigestVerify(md.get(), sig.data(), sig.size(), kMsg, sizeof kMsg) == 1;
}

bool rsa_decrypt(EVP_PKEY* key, const std::vector<unsigned char>& ct, Part part) {
  PkeyCtx c(EVP_PKEY_CTX_new(key, nullptr), EVP_PKEY_CTX_free);
  unsigned char out[1024];
  size_t len = sizeof out;
  if (!c || EVP_PKEY_decrypt_init(c.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(c.get(), RSA_PKCS1_PADDING) != 1)
    return false;
  return part == Part::setup || EVP_PKEY_decrypt(c.get(), out, &len, ct.data(), ct.size()) == 1;
}

// What gputls's server does for the ML-KEM half of a key share: FIPS 203's
// modulus check of the client's encapsulation key (when libssl sets the
// share), a fresh m from the DRBG and the encapsulation, with the kernels' host
// code, which is what gputls runs on the CPU (OpenSSL 3.0 has no ML-KEM).
// ek_m: ek, then room for m.
bool mlkem768_encaps(std::vector<uint8_t>& ek_m) {
  namespace mlkem = kernels::mlkem;
  uint8_t out[mlkem::kSharedBytes + mlkem::kCtBytes];
  return mlkem::ek_passes_modulus_check(ek_m.data()) && RAND_priv_bytes(ek_m.data() + mlkem::kEkBytes, 32) == 1 &&
         kernels::mlkem_run_one(kernels::kMlkemEncaps, ek_m.data(), out) == kernels::kMlkemOk;
}

// CPU microseconds per call of `op` on this thread: at least 50 ms and 3 calls.
double time_op(const std::function<bool()>& op, bool* ok) {
  const double t0 = thread_cpu_s();
  int n = 0;
  double el = 0;
  while ((el = thread_cpu_s() - t0) < 0.05 || n < 3) {
    if (!op()) {
      *ok = false;
      return 0;
    }
    ++n;
  }
  return el / n * 1e6;
}

}  // namespace

const char* pk_op_timed_with(const std::string& op) {
  return op.rfind("mlkem", 0) == 0 ? "gputls host code (OpenSSL 3.0 has no ML-KEM)" : "OpenSSL default provider";
}

std::vector<PkOp> server_pk_ops(const RunConfig& cfg) {
  std::vector<PkOp> ops;
  const bool ecdsa = cfg.cert.rfind("ecdsa-", 0) == 0;
  const std::string alg = cert_alg(cfg.cert);
  if (cfg.tls == 13) {
    add_kex(cfg.group, &ops, 1, 1);  // a resumed TLS 1.3 handshake (psk_dhe_ke) still runs the group
    ops.push_back({alg + "_sign", ecdsa ? "ecdsa_sign" : "rsa_sign", 1, 0});
  } else {
    const std::string c = cfg.tls12_ciphers();
    const std::string first = c.substr(0, c.find(':'));
    if (first.find("ECDHE") != std::string::npos) {
      add_kex(cfg.group, &ops, 1, 0);
      ops.push_back({alg + "_sign", ecdsa ? "ecdsa_sign" : "rsa_sign", 1, 0});
    } else if (first.find("DHE") != std::string::npos) {
      add_kex("ffdhe" + std::to_string(ecdsa ? 2048 : std::stoi(alg.substr(3)) <= 2048 ? 2048 : 3072), &ops, 1, 0);
      ops.push_back({alg + "_sign", ecdsa ? "ecdsa_sign" : "rsa_sign", 1, 0});
    } else {
      ops.push_back({alg + "_decrypt", "rsa_decrypt", 1, 0});  // RSA key exchange
    }
  }
  if (cfg.mtls) {
    // The client's CertificateVerify (its key is the server's type), then
    // the CA's (RSA-2048) signature on the client's certificate.
    ops.push_back({alg + "_verify", ecdsa ? "ecdsa_verify" : "rsa_verify", 1, 0});
    ops.push_back({"rsa2048_verify", "", 1, 0});
  }
  return ops;
}

bool calibrate_pk_ops(const std::vector<PkOp>& ops, std::map<std::string, double>* us_per_op,
                      std::map<std::string, double>* setup_us, std::string* error) {
  for (const PkOp& op : ops) {
    if (us_per_op->count(op.name)) continue;
    if (op.name == "mlkem768_encaps") {
      // A key pair from a random seed, then the server's side timed on it
      // (no EVP set-up to leave out: the kernels' host code is called directly).
      uint8_t seed[64];
      std::vector<uint8_t> keys(kernels::mlkem_out_bytes(kernels::kMlkemKeygen));
      bool ok = RAND_bytes(seed, sizeof seed) == 1 &&
                kernels::mlkem_run_one(kernels::kMlkemKeygen, seed, keys.data()) == kernels::kMlkemOk;
      std::vector<uint8_t> ek_m(keys.begin(), keys.begin() + kernels::mlkem::kEkBytes);
      ek_m.resize(ek_m.size() + 32);
      const double us = ok ? time_op([&] { return mlkem768_encaps(ek_m); }, &ok) : 0;
      if (!ok) {
        *error = "cannot time the ML-KEM-768 encapsulation with gputls's host code";
        return false;
      }
      (*us_per_op)[op.name] = us;
      (*setup_us)[op.name] = 0;
      continue;
    }
    const size_t cut = op.name.find('_');
    const std::string alg = op.name.substr(0, cut), what = op.name.substr(cut + 1);
    Pkey key = gen_key(alg), peer = gen_key(alg);
    bool ok = key && peer;
    std::vector<unsigned char> blob;
    std::function<bool(Part)> run;
    if (!ok) {
    } else if (what == "keygen") {
      run = [&](Part p) { return keygen_like(key.get(), p); };
    } else if (what == "derive" || what == "ecdh_derive") {
      run = [&](Part p) { return derive(key.get(), peer.get(), p); };
    } else if (what == "sign") {
      run = [&](Part p) { return sign(key.get(), &blob, p); };
    } else if (what == "verify") {
      ok = sign(key.get(), &blob, Part::whole);
      run = [&](Part p) { return verify(key.get(), blob, p); };
    } else if (what == "decrypt") {
      PkeyCtx c(EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
      unsigned char pms[48] = {3, 3};
      size_t len = 0;
      ok = c && EVP_PKEY_encrypt_init(c.get()) == 1 && EVP_PKEY_CTX_set_rsa_padding(c.get(), RSA_PKCS1_PADDING) == 1 &&
           EVP_PKEY_encrypt(c.get(), nullptr, &len, pms, sizeof pms) == 1;
      blob.resize(len);
      ok = ok && EVP_PKEY_encrypt(c.get(), blob.data(), &len, pms, sizeof pms) == 1;
      run = [&](Part p) { return rsa_decrypt(key.get(), blob, p); };
    }
    ok = ok && run;
    const double whole = ok ? time_op([&] { return run(Part::whole); }, &ok) : 0;
    const double setup = ok ? time_op([&] { return run(Part::setup); }, &ok) : 0;
    if (!ok) {
      *error = "cannot time the public-key operation " + op.name + " with OpenSSL's default provider";
      return false;
    }
    if (whole <= setup) {
      *error = "cannot separate the public-key operation " + op.name + " from its EVP set-up (" +
               std::to_string(whole) + " us whole, " + std::to_string(setup) + " us set-up alone)";
      return false;
    }
    (*us_per_op)[op.name] = whole - setup;
    (*setup_us)[op.name] = setup;
  }
  return true;
}

}  // namespace gputls::bench
