// Exact primitive counts per operation for the static performance model
// (scripts/gpu-model.sh): the kernels' own host twins, compiled with
// -DGPUTLS_MODEL_COUNT so that GT_COUNT (gputls/kernels/gt_hd.h) counts each
// call of the marked primitives, run for one operation of each benchmarked kernel.
// Prints one JSON object: {"<bench name>": {"<primitive>/<n>": calls, ...}, ...}.
// Counts only: the arithmetic is the unchanged header code.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ec_test_util.h"
#include "gputls/kernels/aes_gcm.h"
#include "gputls/kernels/ec_batch.h"
#include "gputls/kernels/mlkem_batch.h"
#include "gputls/kernels/rsa_batch.h"
#include "gputls/kernels/x25519.h"
#include "rsa_test_keys.h"

namespace {
std::map<std::string, long> g_counts;
}

namespace gputls::kernels::model {
void count(const char* name, int n) { ++g_counts[std::string(name) + "/" + std::to_string(n)]; }
// "trip:<file>:<line>/<unroll>", with "@<arg>" for a template's instantiation.
void count_trip(const char* file, int line, int unroll, long arg) {
  const char* slash = std::strrchr(file, '/');
  ++g_counts["trip:" + std::string(slash ? slash + 1 : file) + ":" + std::to_string(line) + "/" +
             std::to_string(unroll) + (arg >= 0 ? "@" + std::to_string(arg) : "")];
}
}  // namespace gputls::kernels::model

using namespace gputls::kernels;

static std::string take(const char* bench) {
  std::string s = "\"" + std::string(bench) + "\": {";
  bool first = true;
  for (const auto& [k, v] : g_counts) {
    s += (first ? "" : ", ") + ("\"" + k + "\": " + std::to_string(v));
    first = false;
  }
  g_counts.clear();
  return s + "}";
}

static std::string rsa(const char* bench, int bits) {
  EVP_PKEY* pk = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  if (!pk) throw std::runtime_error("RSA keygen");
  const testing::RsaFields f = testing::rsa_fields(pk);
  KeyBlob blob = testing::blob_of(f);
  const uint32_t bytes = static_cast<uint32_t>(bits / 8);
  std::vector<uint8_t> in(bytes, 0), out(bytes);
  RAND_bytes(in.data() + 1, static_cast<int>(bytes - 1));  // below n
  std::vector<uint32_t> scratch(rsa_scratch_words(bits / 32));
  const uint32_t* key = blob.data();
  uint32_t status = 0;
  RsaBatch b;
  b.keys = &key;
  b.in = in.data();
  b.out = out.data();
  b.status = &status;
  b.scratch = scratch.data();
  b.count = 1;
  b.bytes = bytes;
  b.scratch_words = static_cast<uint32_t>(scratch.size());
  g_counts.clear();
  rsa_batch_host(b);
  EVP_PKEY_free(pk);
  if (status != kRsaOk) throw std::runtime_error("RSA status");
  return take(bench);
}

static std::string ec_op1(const char* bench, uint32_t curve, uint32_t op) {
  const testing::EcKey k = testing::openssl_keygen(curve);
  const testing::EcKey peer = testing::openssl_keygen(curve);
  const size_t B = testing::coord_bytes(curve);
  const testing::Bytes nonce = testing::random_bytes(B), digest = testing::random_bytes(B);
  // Once untimed: the host twin builds the curve's fixed-base table on first use
  // (once per process; the device gets it uploaded), which is not part of an operation.
  for (int pass = 0; pass < 2; ++pass) {
    g_counts.clear();
    const testing::OneResult w = op == ec::kEcSign ? testing::run_one(curve, op, k.priv, nonce, {}, digest, {})
                                                   : testing::run_one(curve, op, k.priv, {}, peer.pub, {}, {});
    (void)w;
  }
  g_counts.clear();
  const testing::OneResult r = op == ec::kEcSign
                                   ? testing::run_one(curve, op, k.priv, nonce, {}, digest, {})
                                   : testing::run_one(curve, op, k.priv, {}, peer.pub, {}, {});
  if (r.status != ec::kEcOk) throw std::runtime_error("EC status");
  return take(bench);
}

static std::string x25519(const char* bench, uint32_t op) {
  uint8_t scalar[32], peer[32], out[32];
  RAND_bytes(scalar, 32);
  RAND_bytes(peer, 32);
  uint32_t status = 0;
  X25519Batch b;
  b.scalars = scalar;
  b.peer = peer;
  b.out = out;
  b.status = &status;
  b.count = 1;
  b.op = op;
  if (op == kX25519Keygen) b.base_table = &ed25519::base_table_host();  // built here, before counting
  g_counts.clear();
  x25519_batch_host(b);
  return take(bench);
}

static std::string aes_gcm(const char* bench, uint32_t len, uint32_t aad_len) {
  static AesGcmKey key;
  uint8_t k[16];
  RAND_bytes(k, 16);
  if (!aes_gcm_key_init(key, k, 16)) throw std::runtime_error("AES key");
  std::vector<uint8_t> in(len), out(len), aad(aad_len);
  uint8_t tag[16];
  AesGcmRecord rec;
  rec.in = in.data();
  rec.out = out.data();
  rec.aad = aad.data();
  rec.tag = tag;
  rec.len = len;
  rec.aad_len = aad_len;
  std::vector<uint32_t> chunk_start(2);
  uint32_t acc[4] = {}, status = 0;
  AesGcmBatch b;
  b.records = &rec;
  b.chunk_start = chunk_start.data();
  b.keys = &key;
  b.acc = acc;
  b.status = &status;
  b.count = 1;
  b.items = aes_gcm_plan(&rec, 1, chunk_start.data());
  g_counts.clear();
  aes_gcm_batch_host(b);
  std::string s = take(bench);
  return s.substr(0, s.size() - 1) + ", \"work_items/0\": " + std::to_string(b.items) + "}";
}

// One ML-KEM-768 operation through the batch body: keygen from random seeds,
// encapsulation to that key, decapsulation of that ciphertext (the counts of
// the rejection-sampling loop depend on the key's rho: averaged over `keys`).
static std::string mlkem_op(const char* bench, uint32_t op, int keys) {
  std::map<std::string, long> sum;
  for (int k = 0; k < keys; ++k) {
    std::vector<uint8_t> seed(64), m(32), ek_dk(mlkem::kEkBytes + mlkem::kDkBytes), enc_in(mlkem_in_bytes(kMlkemEncaps)),
        enc_out(mlkem_out_bytes(kMlkemEncaps)), dec_in(mlkem_in_bytes(kMlkemDecaps)), out(mlkem_out_bytes(op));
    RAND_bytes(seed.data(), 64);
    RAND_bytes(m.data(), 32);
    g_counts.clear();
    if (mlkem_run_one(kMlkemKeygen, seed.data(), ek_dk.data()) != kMlkemOk) throw std::runtime_error("ML-KEM keygen");
    if (op == kMlkemKeygen) {
      for (const auto& [name, v] : g_counts) sum[name] += v;
      continue;
    }
    std::copy(ek_dk.begin(), ek_dk.begin() + mlkem::kEkBytes, enc_in.begin());
    std::copy(m.begin(), m.end(), enc_in.begin() + mlkem::kEkBytes);
    g_counts.clear();
    if (mlkem_run_one(kMlkemEncaps, enc_in.data(), enc_out.data()) != kMlkemOk) throw std::runtime_error("ML-KEM encaps");
    if (op == kMlkemEncaps) {
      for (const auto& [name, v] : g_counts) sum[name] += v;
      continue;
    }
    std::copy(ek_dk.begin() + mlkem::kEkBytes, ek_dk.end(), dec_in.begin());
    std::copy(enc_out.begin() + mlkem::kSharedBytes, enc_out.end(), dec_in.begin() + mlkem::kDkBytes);
    g_counts.clear();
    if (mlkem_run_one(kMlkemDecaps, dec_in.data(), out.data()) != kMlkemOk) throw std::runtime_error("ML-KEM decaps");
    if (!std::equal(out.begin(), out.end(), enc_out.begin())) throw std::runtime_error("ML-KEM shared secrets differ");
    for (const auto& [name, v] : g_counts) sum[name] += v;
  }
  std::string s = "\"" + std::string(bench) + "\": {\"keys_averaged/0\": " + std::to_string(keys);
  for (const auto& [name, v] : sum) s += ", \"" + name + "\": " + std::to_string(static_cast<double>(v) / keys);
  g_counts.clear();
  return s + "}";
}

int main() {
  try {
    std::printf("{%s,\n %s,\n %s,\n %s,\n %s,\n %s,\n %s,\n %s,\n %s,\n %s,\n %s,\n %s}\n", rsa("rsa2048_priv", 2048).c_str(),
                rsa("rsa4096_priv", 4096).c_str(), x25519("x25519_derive", kX25519Derive).c_str(),
                x25519("x25519_keygen", kX25519Keygen).c_str(),
                ec_op1("p256_ecdsa_sign", ec::kEcP256, ec::kEcSign).c_str(),
                ec_op1("p256_ecdh_derive", ec::kEcP256, ec::kEcDerive).c_str(),
                ec_op1("p384_ecdsa_sign", ec::kEcP384, ec::kEcSign).c_str(),
                ec_op1("p384_ecdh_derive", ec::kEcP384, ec::kEcDerive).c_str(),
                aes_gcm("aes128gcm_seal_16384", 16384, 5).c_str(), mlkem_op("mlkem768_keygen", kMlkemKeygen, 64).c_str(),
                mlkem_op("mlkem768_encaps", kMlkemEncaps, 64).c_str(), mlkem_op("mlkem768_decaps", kMlkemDecaps, 64).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_model_count: %s\n", e.what());
    return 1;
  }
  return 0;
}
