// ML-KEM-768 through the engine: on the CPU backend (the kernels' host twin,
// OpenSSL 3.0 having none) and on a fake GPU that stages batches as the CUDA
// backend does. Results against Wycheproof's vectors (independent of this
// code); a key failing FIPS 203's checks is a kCryptoFailure with its output
// zeroed; wrong sizes are refused at submit; the counters say who served.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine_test_util.h"
#include "fake_gpu.h"

namespace gputls::engine {
namespace {

using namespace testing;
using Bytes = std::vector<uint8_t>;

Bytes unhex(const std::string& s) {
  Bytes v(s.size() / 2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(std::stoi(s.substr(2 * i, 2), nullptr, 16));
  return v;
}

nlohmann::json vectors(const std::string& name) {
  std::ifstream f(std::string(GPUTLS_VECTORS_DIR) + "/wycheproof/" + name);
  if (!f) throw std::runtime_error("cannot open " + name);
  return nlohmann::json::parse(f);
}

Bytes cat(const Bytes& a, const Bytes& b) {
  Bytes v = a;
  v.insert(v.end(), b.begin(), b.end());
  return v;
}

// Submits `ins` as requests of `op` and returns (status, output) of each.
std::vector<std::pair<Status, Bytes>> run(Engine& eng, Op op, const std::vector<Bytes>& ins) {
  std::vector<Request> reqs(ins.size());
  std::vector<Bytes> outs(ins.size(), Bytes(mlkem_out_len(op), 0xaa));
  for (size_t i = 0; i < ins.size(); ++i) {
    prepare(reqs[i], op, KeyHandle{}, ins[i].data(), ins[i].size(), outs[i].data(), outs[i].size());
    EXPECT_EQ(eng.submit(reqs[i]), Status::kOk);
  }
  std::vector<std::pair<Status, Bytes>> res;
  for (size_t i = 0; i < ins.size(); ++i) res.emplace_back(eng.wait(reqs[i]), outs[i]);
  return res;
}

// The three ops on `eng` against Wycheproof: keygen from seeds, encaps (a
// modulus-failing ek included), decaps of the FIPS 203 vectors.
void check_against_vectors(Engine& eng) {
  std::vector<Bytes> in, want;
  const nlohmann::json keygen_file = vectors("mlkem_768_keygen_seed_test.json");
  for (const auto& t : keygen_file["testGroups"][0]["tests"]) {
    if (in.size() == 8) break;
    in.push_back(unhex(t["seed"].get<std::string>()));
    want.push_back(cat(unhex(t["ek"].get<std::string>()), unhex(t["dk"].get<std::string>())));
  }
  auto res = run(eng, Op::kMlkemKeygen, in);
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(res[i].first, Status::kOk);
    EXPECT_EQ(res[i].second, want[i]) << "keygen " << i;
  }
  in.clear();
  want.clear();
  std::vector<bool> valid;  // 4 keys failing the modulus check, 8 good ones
  size_t n_valid = 0, n_invalid = 0;
  const nlohmann::json encaps_file = vectors("mlkem_768_encaps_test.json");
  for (const auto& g : encaps_file["testGroups"])
    for (const auto& t : g["tests"]) {
      const Bytes ek = unhex(t["ek"].get<std::string>());
      const bool ok = t["result"].get<std::string>() == "valid";
      if (ek.size() != 1184 || (ok ? n_valid : n_invalid) == (ok ? 8u : 4u)) continue;
      ++(ok ? n_valid : n_invalid);
      in.push_back(cat(ek, unhex(t["m"].get<std::string>())));
      valid.push_back(ok);
      want.push_back(ok ? cat(unhex(t["K"].get<std::string>()), unhex(t["c"].get<std::string>())) : Bytes(32 + 1088, 0));
    }
  ASSERT_EQ(n_valid, 8u);
  ASSERT_EQ(n_invalid, 4u);
  res = run(eng, Op::kMlkemEncaps, in);
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(res[i].first, valid[i] ? Status::kOk : Status::kCryptoFailure) << "encaps " << i;
    EXPECT_EQ(res[i].second, want[i]) << "encaps " << i;
  }
  // Decaps: keys from the seeds of mlkem_768_test.json (through the engine's keygen).
  std::vector<Bytes> seeds, cts, ks;
  const nlohmann::json decaps_file = vectors("mlkem_768_test.json");
  for (const auto& g : decaps_file["testGroups"])
    for (const auto& t : g["tests"])
      if (t["result"].get<std::string>() == "valid" && seeds.size() < 8) {
        seeds.push_back(unhex(t["seed"].get<std::string>()));
        cts.push_back(unhex(t["c"].get<std::string>()));
        ks.push_back(unhex(t["K"].get<std::string>()));
      }
  res = run(eng, Op::kMlkemKeygen, seeds);
  in.clear();
  for (size_t i = 0; i < seeds.size(); ++i) {
    ASSERT_EQ(res[i].first, Status::kOk);
    in.push_back(cat(Bytes(res[i].second.begin() + 1184, res[i].second.end()), cts[i]));
  }
  res = run(eng, Op::kMlkemDecaps, in);
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(res[i].first, Status::kOk);
    EXPECT_EQ(res[i].second, ks[i]) << "decaps " << i;
  }
}

TEST(EngineMlkem, CpuBackendMatchesWycheproof) {
  auto eng = make_engine(cpu_config());
  check_against_vectors(*eng);
  const OpStats* st = eng->op_stats(Op::kMlkemEncaps, 0);
  ASSERT_NE(st, nullptr);
  EXPECT_GT(st->counts().served_by(BackendKind::kCpu), 0u);
  EXPECT_EQ(st->counts().served_by(BackendKind::kCuda), 0u);
  EXPECT_EQ(st->errors[static_cast<size_t>(Status::kCryptoFailure)].load(), 4u);  // the modulus-failing keys
}

TEST(EngineMlkem, FakeGpuServesWithoutAKeyAndMatchesWycheproof) {
  FakeGpu::Counters counters;
  Config cfg = cpu_config();
  cfg.policy = Policy::kGpu;
  cfg.gpu_backend_factory = [&counters] { return std::make_unique<FakeGpu>(FakeGpu::Options{}, &counters); };
  auto eng = make_engine(cfg);
  check_against_vectors(*eng);
  for (Op op : {Op::kMlkemKeygen, Op::kMlkemEncaps, Op::kMlkemDecaps}) {
    const OpStats* st = eng->op_stats(op, 0);
    ASSERT_NE(st, nullptr);
    EXPECT_GT(st->counts().served_by(BackendKind::kCuda), 0u) << op_name(op);
    EXPECT_EQ(st->counts().served_by(BackendKind::kCpu), 0u) << op_name(op);  // no fallback, no re-run
  }
  EXPECT_EQ(counters.failed_batches.load(), 0u);
}

TEST(EngineMlkem, WrongSizesAreRefusedAtSubmit) {
  auto eng = make_engine(cpu_config());
  for (Op op : {Op::kMlkemKeygen, Op::kMlkemEncaps, Op::kMlkemDecaps}) {
    Bytes in(mlkem_in_len(op) + 1), out(mlkem_out_len(op));
    Request r;
    prepare(r, op, KeyHandle{}, in.data(), in.size() - 2, out.data(), out.size());
    EXPECT_EQ(eng->submit(r), Status::kInvalidArgument) << op_name(op);
    prepare(r, op, KeyHandle{}, in.data(), mlkem_in_len(op), out.data(), out.size() - 1);
    EXPECT_EQ(eng->submit(r), Status::kInvalidArgument) << op_name(op);
    prepare(r, op, KeyHandle{}, nullptr, mlkem_in_len(op), out.data(), out.size());
    EXPECT_EQ(eng->submit(r), Status::kInvalidArgument) << op_name(op);
  }
}

}  // namespace
}  // namespace gputls::engine
