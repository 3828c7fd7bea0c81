// Application data through libssl (memory BIOs, one process, one thread):
// AES-GCM records of 16 KiB (TLS 1.3 AES-128 also 64 B and 1 KiB), both ends in one library context, with the
// default provider (`openssl`) or gputls preferred (`engine_cpu` without a
// GPU: every record is one engine request, run inline on the CPU backend;
// `engine_gpu` with GPUTLS_POLICY=gpu, an error unless the GPU served them). bytes_per_second counts
// application bytes, items_per_second records; each iteration sends 1 MiB
// each way. gputls's counters are checked after the run: a run whose records
// did not go through gputls is reported as an error, not as a figure.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "handshake/identity.h"
#include "handshake/lib_ctx.h"

namespace {

using gputls::bench::Identity;
using gputls::bench::LibCtx;

constexpr size_t kMaxRecord = 16384, kPerIteration = 1 << 20;

// Sends data from one end to the other in SSL_writes of `record` bytes (one
// TLS record each) and reads it all back.
bool pump(SSL* from, SSL* to, const std::vector<uint8_t>& data, size_t record, std::vector<uint8_t>& buf) {
  size_t sent = 0, got = 0;
  while (got < data.size()) {
    if (sent < data.size()) {
      const int n = SSL_write(from, data.data() + sent, static_cast<int>(std::min(record, data.size() - sent)));
      if (n > 0) sent += static_cast<size_t>(n);
      else if (SSL_get_error(from, n) != SSL_ERROR_WANT_WRITE) return false;
    }
    for (;;) {
      const int r = SSL_read(to, buf.data(), static_cast<int>(buf.size()));
      if (r > 0) {
        got += static_cast<size_t>(r);
        continue;
      }
      if (SSL_get_error(to, r) != SSL_ERROR_WANT_READ) return false;
      break;
    }
  }
  return true;
}

// AES-GCM records gputls sent to its engine, and of those the engine's GPU served.
struct RecordCounts {
  uint64_t engine = 0, gpu = 0;
};

RecordCounts gputls_records(OSSL_LIB_CTX* lib) {
  RecordCounts n;
  OSSL_PROVIDER* p = OSSL_PROVIDER_load(lib, "gputls");  // one more reference to the loaded one
  if (!p) return n;
  std::vector<char> buf(1 << 20);
  OSSL_PARAM q[] = {OSSL_PARAM_utf8_string("gputls-stats", buf.data(), buf.size()), OSSL_PARAM_END};
  if (OSSL_PROVIDER_get_params(p, q) == 1) {
    auto j = nlohmann::json::parse(buf.data());
    n.engine = j["provider"]["aes_gcm_seal"]["engine"].get<uint64_t>() + j["provider"]["aes_gcm_open"]["engine"].get<uint64_t>();
    if (j["engine"].is_object())
      for (const auto& op : j["engine"]["ops"]) {
        const std::string name = op.value("op", "");
        if (name.rfind("aes_gcm", 0) == 0) n.gpu += op["served_by"].value("gpu", uint64_t{0});
      }
  }
  OSSL_PROVIDER_unload(p);
  return n;
}

// which: 0 = TLS 1.3 TLS_AES_128_GCM_SHA256, 1 = TLS 1.3 TLS_AES_256_GCM_SHA384,
// 2 = TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256.
void tls_records(benchmark::State& state, int which, size_t record, bool gputls, bool want_gpu) {
  LibCtx lib;
  if (gputls) {
    const char* dir = std::getenv("GPUTLS_MODULE_DIR");
    OSSL_PROVIDER_set_default_search_path(lib.get(), dir ? dir : GPUTLS_MODULE_DIR);
    if (!lib.load("gputls")) return state.SkipWithError("gputls.so did not load (GPUTLS_MODULE_DIR)");
  }
  if (!lib.load("default")) return state.SkipWithError("default provider did not load");
  Identity id;
  std::string err;
  if (!gputls::bench::make_identity("ecdsa-p256", false, &id, &err)) return state.SkipWithError(err.c_str());
  const char* props = gputls ? "?provider=gputls" : nullptr;
  SSL_CTX* sctx = SSL_CTX_new_ex(lib.get(), props, TLS_server_method());
  SSL_CTX* cctx = SSL_CTX_new_ex(lib.get(), props, TLS_client_method());
  SSL_CTX_use_certificate(sctx, id.cert);
  SSL_CTX_use_PrivateKey(sctx, id.key);
  const int version = which == 2 ? TLS1_2_VERSION : TLS1_3_VERSION;
  for (SSL_CTX* c : {sctx, cctx}) {
    SSL_CTX_set_min_proto_version(c, version);
    SSL_CTX_set_max_proto_version(c, version);
    if (which == 2) SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES128-GCM-SHA256");
    else SSL_CTX_set_ciphersuites(c, which == 0 ? "TLS_AES_128_GCM_SHA256" : "TLS_AES_256_GCM_SHA384");
  }
  SSL* s = SSL_new(sctx);
  SSL* c = SSL_new(cctx);
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 64 * 1024, &sb, 64 * 1024);
  SSL_set_bio(c, cb, cb);
  SSL_set_bio(s, sb, sb);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  bool ok = false;
  for (int i = 0; i < 1000 && !ok; ++i) {
    SSL_do_handshake(c);
    ok = SSL_do_handshake(s) == 1 && SSL_is_init_finished(c);
  }
  std::vector<uint8_t> data(kPerIteration), buf(kMaxRecord + 1024);
  RAND_bytes(data.data(), static_cast<int>(data.size()));
  const RecordCounts before = gputls ? gputls_records(lib.get()) : RecordCounts{};
  if (!ok) {
    state.SkipWithError("handshake failed");
  } else {
    for (auto _ : state) {
      if (!pump(s, c, data, record, buf) || !pump(c, s, data, record, buf)) {
        state.SkipWithError("transfer failed");
        break;
      }
    }
    const uint64_t records = 2 * state.iterations() * (kPerIteration / record);
    state.SetBytesProcessed(static_cast<int64_t>(2 * state.iterations() * kPerIteration));
    state.SetItemsProcessed(static_cast<int64_t>(records));
    const RecordCounts after = gputls ? gputls_records(lib.get()) : RecordCounts{};
    if (gputls && after.engine - before.engine < 2 * records)  // each record sealed and opened
      state.SkipWithError("records did not go through gputls (counters)");
    else if (want_gpu && after.gpu - before.gpu < 2 * records)  // an engine_gpu row is a GPU figure or none
      state.SkipWithError("records did not run on the GPU (engine counters: served_by gpu)");
  }
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

}  // namespace

// Names as op/impl/batch (one connection: batch 1).
int main(int argc, char** argv) {
  struct Row {
    const char* op;
    int which;
    size_t record;
  };
  const Row rows[] = {{"tls13_aes128gcm_records_64", 0, 64},
                      {"tls13_aes128gcm_records_1024", 0, 1024},
                      {"tls13_aes128gcm_records_16384", 0, 16384},
                      {"tls13_aes256gcm_records_16384", 1, 16384},
                      {"tls12_aes128gcm_records_16384", 2, 16384}};
  // gputls's rows are named for the engine path they take: engine_gpu when the
  // run asks for the GPU (GPUTLS_POLICY=gpu, as scripts/gpu-check.sh does), else
  // engine_cpu (no GPU, or the policy leaves records on the CPU).
  const char* policy = std::getenv("GPUTLS_POLICY");
  const bool want_gpu = policy && std::string(policy) == "gpu";
  const std::string gputls_impl = want_gpu ? "/engine_gpu/1" : "/engine_cpu/1";
  for (const Row& row : rows)
    for (bool gputls : {false, true})
      benchmark::RegisterBenchmark((std::string(row.op) + (gputls ? gputls_impl : "/openssl/1")).c_str(),
                                   [row, gputls, want_gpu](benchmark::State& st) {
                                     tls_records(st, row.which, row.record, gputls, gputls && want_gpu);
                                   })
          ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
