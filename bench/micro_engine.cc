// Engine micro-benchmarks (names: op/impl/batch, see DESIGN.md):
//   echo/engine_null/B, rsa2048_priv/engine_null/B  the engine's own cost per request
//   <op>/openssl/1                                  OpenSSL called directly, same calls
//   <op>/engine_cpu/B                               the same op through the engine's CPU backend
//   echo/engine_gpu/B                               the GPU path (skipped without a device)
// Engine benchmarks run in poll mode (no flusher thread), so everything
// happens on the benchmark's one core and compares with OpenSSL on that core.
#include <benchmark/benchmark.h>
#include <openssl/rsa.h>

#include <memory>
#include <vector>

#include "gputls/engine/cuda_backend.h"
#include "gputls/engine/engine.h"
#include "../engine/tests/test_keys.h"
#include "micro_common.h"

namespace gputls::engine {
namespace {

using testing::Bytes;
using bench::engine_for;

// One iteration = one batch of B requests, submitted then completed.
void run_batches(benchmark::State& state, Engine& eng, Op op, KeyHandle key, const std::vector<Bytes>& in,
                 size_t out_len, bool polled) {
  const size_t batch = static_cast<size_t>(state.range(0));
  std::vector<Request> reqs(batch);
  std::vector<Bytes> out(batch, Bytes(out_len));
  for (size_t i = 0; i < batch; ++i) {
    reqs[i].op = op;
    reqs[i].key = key;
    reqs[i].in = in[i % in.size()].data();
    reqs[i].in_len = in[i % in.size()].size();
    reqs[i].out = out[i].data();
    reqs[i].out_len = out_len;
  }
  for (auto _ : state) {
    for (auto& r : reqs)
      if (eng.submit(r) != Status::kOk) state.SkipWithError("submit refused");
    if (polled) eng.poll(true);
    for (auto& r : reqs)
      if (eng.wait(r) != Status::kOk) state.SkipWithError("request failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
}

void BM_echo_engine_null(benchmark::State& state) {
  auto eng = engine_for(Policy::kNull, static_cast<uint32_t>(state.range(0)), 0, false);
  std::vector<Bytes> in{Bytes(64, 1)};
  run_batches(state, *eng, Op::kEcho, {}, in, 64, true);
}

void BM_rsa2048_engine_null(benchmark::State& state) {
  auto eng = engine_for(Policy::kNull, static_cast<uint32_t>(state.range(0)), 0, false);
  EVP_PKEY* pkey = testing::rsa_key(2048);
  KeyHandle h;
  eng->register_rsa_key(testing::rsa_material(pkey), &h);
  std::vector<Bytes> in{testing::random_below_modulus(pkey)};
  run_batches(state, *eng, Op::kRsaPriv, h, in, 256, true);
}

void BM_rsa2048_openssl(benchmark::State& state) {
  EVP_PKEY* pkey = testing::rsa_key(2048);
  Bytes in = testing::random_below_modulus(pkey), out(256);
  for (auto _ : state) {
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
    size_t len = out.size();
    if (!c || EVP_PKEY_decrypt_init(c) != 1 || EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) != 1 ||
        EVP_PKEY_decrypt(c, out.data(), &len, in.data(), in.size()) != 1)
      state.SkipWithError("OpenSSL failed");
    EVP_PKEY_CTX_free(c);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_rsa2048_engine_cpu(benchmark::State& state) {
  auto eng = engine_for(Policy::kCpu, static_cast<uint32_t>(state.range(0)), 0, false);
  EVP_PKEY* pkey = testing::rsa_key(2048);
  KeyHandle h;
  eng->register_rsa_key(testing::rsa_material(pkey), &h);
  std::vector<Bytes> in{testing::random_below_modulus(pkey)};
  run_batches(state, *eng, Op::kRsaPriv, h, in, 256, true);
}

void BM_x25519_openssl(benchmark::State& state) {
  EVP_PKEY* mine = testing::x25519_key();
  EVP_PKEY* peer = testing::x25519_key();
  Bytes pub = testing::x25519_public(peer), out(32);
  for (auto _ : state) {
    EVP_PKEY* p = EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, pub.data(), 32);
    EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_from_pkey(nullptr, mine, nullptr);
    size_t len = 32;
    if (!p || !c || EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, p) != 1 ||
        EVP_PKEY_derive(c, out.data(), &len) != 1)
      state.SkipWithError("OpenSSL failed");
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(p);
  }
  state.SetItemsProcessed(state.iterations());
  EVP_PKEY_free(mine);
  EVP_PKEY_free(peer);
}

void BM_x25519_engine_cpu(benchmark::State& state) {
  auto eng = engine_for(Policy::kCpu, static_cast<uint32_t>(state.range(0)), 0, false);
  EVP_PKEY* mine = testing::x25519_key();
  EVP_PKEY* peer = testing::x25519_key();
  KeyHandle h;
  eng->register_x25519_key(testing::x25519_material(mine), &h);
  std::vector<Bytes> in{testing::x25519_public(peer)};
  run_batches(state, *eng, Op::kX25519Derive, h, in, 32, true);
  EVP_PKEY_free(mine);
  EVP_PKEY_free(peer);
}

void BM_echo_engine_gpu(benchmark::State& state) {
  auto eng = engine_for(Policy::kGpu, static_cast<uint32_t>(state.range(0)), 1, false);
  if (!eng || !eng->gpu_available()) {
    state.SkipWithError("no usable GPU");
    return;
  }
  std::vector<Bytes> in{Bytes(256, 7)};
  run_batches(state, *eng, Op::kEcho, {}, in, 256, false);
}

}  // namespace

BENCHMARK(BM_echo_engine_null)->Name("echo/engine_null")->Arg(1)->Arg(64)->Arg(1024);
BENCHMARK(BM_rsa2048_engine_null)->Name("rsa2048_priv/engine_null")->Arg(64);
BENCHMARK(BM_rsa2048_openssl)->Name("rsa2048_priv/openssl/1");
BENCHMARK(BM_rsa2048_engine_cpu)->Name("rsa2048_priv/engine_cpu")->Arg(1)->Arg(64);
BENCHMARK(BM_x25519_openssl)->Name("x25519_derive/openssl/1");
BENCHMARK(BM_x25519_engine_cpu)->Name("x25519_derive/engine_cpu")->Arg(1)->Arg(64);
BENCHMARK(BM_echo_engine_gpu)->Name("echo/engine_gpu")->Arg(64)->Arg(1024)->UseRealTime();

}  // namespace gputls::engine

int main(int argc, char** argv) { return gputls::engine::bench::run_micro_benchmarks(argc, argv, nullptr); }
