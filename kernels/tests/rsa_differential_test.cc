// Differential test of the RSA-CRT host twin (the kernel's own code, run on
// the CPU) against OpenSSL's raw private operation, on fresh keys: at least
// 10,000 random inputs over RSA-2048, 3072 and 4096, in batches that mix keys
// and edge inputs, spread over all cores.
//
// GPUTLS_RSA_DIFF_SCALE (a positive float, default 1) scales the random input
// counts, e.g. 0.25 for sanitizer builds or 10 for a soak run. Only the
// default meets the 10,000-input requirement.
#include <gtest/gtest.h>
#include <openssl/bn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bn_util.h"
#include "gputls/kernels/rsa_batch.h"
#include "rsa_test_keys.h"

namespace gputls::kernels {
namespace {

using namespace testing;

// Random inputs per size. The host twin is the GPU code run serially (CPU
// time per op, RelWithDebInfo: ~3 ms at 2048 bits, ~12 ms at 3072, ~25 ms at
// 4096, plus OpenSSL's reference), so most inputs go to RSA-2048: the code is
// the same for every size, only the limb counts differ. About 90 CPU-seconds
// in all, under a minute on 2 cores; ASan+UBSan builds take about 4x that.
struct SizePlan {
  int bits;
  int keys;
  int inputs;
};
constexpr SizePlan kPlans[] = {{2048, 4, 7000}, {3072, 3, 1800}, {4096, 3, 1200}};
constexpr int kBatchItems = 32;
constexpr int kMaxReported = 8;  // mismatches described in full; the rest are only counted

constexpr int planned_inputs() {
  int total = 0;
  for (const SizePlan& p : kPlans) total += p.inputs;
  return total;
}
static_assert(planned_inputs() >= 10000, "at least 10,000 random inputs over the three sizes");

// The scale from GPUTLS_RSA_DIFF_SCALE; nullopt when it is set but not a positive number.
std::optional<double> diff_scale() {
  const char* s = std::getenv("GPUTLS_RSA_DIFF_SCALE");
  if (!s || !*s) return 1.0;
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || *end || !std::isfinite(v) || v <= 0) return std::nullopt;
  return v;
}

unsigned workers() { return std::max(1u, std::thread::hardware_concurrency()); }

// Runs f(i) for every i in [0, n) on all cores; indices come from a shared
// counter so that slow items (4096-bit key generation varies by seconds) do
// not leave the other threads idle. Exceptions must not cross the thread
// boundary: the first one's message is returned, "" when none.
template <class F>
std::string parallel_for(size_t n, F&& f) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string error;
  auto body = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      try {
        f(i);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        if (error.empty()) error = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned w = 1; w < std::min<size_t>(workers(), n); ++w) pool.emplace_back(body);
  body();
  for (auto& t : pool) t.join();
  return error;
}

enum class Expect { kSameAsOpenSSL, kInputRange };

struct Item {
  size_t key;
  Expect expect;
  std::vector<uint8_t> in;
};

// Inputs 0, 1, n-1 (in range: OpenSSL's answer) and n, n+1, all-0xff (out of
// range: refused, nothing released) for one key.
void add_edges(std::vector<Item>& items, const TestRsaKey& k, size_t key) {
  const size_t bytes = k.bytes();
  Bn n = from_bytes(k.n_bytes());
  Bn nm1(BN_dup(n.get())), np1(BN_dup(n.get()));
  BN_sub_word(nm1.get(), 1);
  BN_add_word(np1.get(), 1);
  items.push_back({key, Expect::kSameAsOpenSSL, std::vector<uint8_t>(bytes, 0)});
  items.push_back({key, Expect::kSameAsOpenSSL, to_bytes(BN_value_one(), bytes)});
  items.push_back({key, Expect::kSameAsOpenSSL, to_bytes(nm1.get(), bytes)});
  items.push_back({key, Expect::kInputRange, to_bytes(n.get(), bytes)});
  items.push_back({key, Expect::kInputRange, to_bytes(np1.get(), bytes)});
  items.push_back({key, Expect::kInputRange, std::vector<uint8_t>(bytes, 0xff)});
}

// Every key's edge inputs plus `random` inputs uniform in [0, n) of uniformly
// chosen keys, shuffled so that each batch mixes keys and edge cases.
std::vector<Item> make_items(const std::vector<std::unique_ptr<TestRsaKey>>& keys, int random) {
  std::vector<Item> items;
  std::vector<Bn> moduli;
  for (size_t k = 0; k < keys.size(); ++k) {
    add_edges(items, *keys[k], k);
    moduli.push_back(from_bytes(keys[k]->n_bytes()));
  }
  std::random_device rd;
  std::mt19937_64 rng(rd());
  std::uniform_int_distribution<size_t> pick(0, keys.size() - 1);
  for (int i = 0; i < random; ++i) {
    const size_t k = pick(rng);
    Bn x = random_below(moduli[k].get());
    items.push_back({k, Expect::kSameAsOpenSSL, to_bytes(x.get(), keys[k]->bytes())});
  }
  std::shuffle(items.begin(), items.end(), rng);
  return items;
}

std::string hex(const std::vector<uint8_t>& v) {
  std::string s;
  char b[3];
  for (uint8_t c : v) {
    std::snprintf(b, sizeof b, "%02x", c);
    s += b;
  }
  return s;
}

// CPU time of the calling thread: the host twin's cost per op, unaffected by
// other processes competing for the cores (ctest runs tests in parallel).
int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Counts shared by the worker threads.
struct Tally {
  std::atomic<int> checked{0}, mismatches{0};
  std::atomic<int64_t> host_ns{0};  // CPU time inside the host twin, summed over threads
  std::mutex mu;
  std::vector<std::string> reports;  // first kMaxReported mismatches

  void mismatch(std::string what) {
    ++mismatches;
    std::lock_guard<std::mutex> lock(mu);
    if (reports.size() < kMaxReported) reports.push_back(std::move(what));
  }
};

// Runs items [begin, end) as one batch and compares each with its expectation.
void check_batch(const std::vector<std::unique_ptr<TestRsaKey>>& keys, const std::vector<Item>& items, size_t begin,
                 size_t end, uint32_t bytes, Tally& tally) {
  std::vector<const uint32_t*> blobs;
  std::vector<uint8_t> in;
  for (size_t i = begin; i < end; ++i) {
    blobs.push_back(keys[items[i].key]->blob.data());
    in.insert(in.end(), items[i].in.begin(), items[i].in.end());
  }
  const int64_t t0 = thread_cpu_ns();
  const RsaHostResult r = rsa_crt_host(blobs, in, bytes);
  tally.host_ns += thread_cpu_ns() - t0;

  for (size_t i = begin; i < end; ++i) {
    const Item& it = items[i];
    const size_t j = i - begin;
    const bool in_range = it.expect == Expect::kSameAsOpenSSL;
    const uint32_t want_status = in_range ? kRsaOk : kRsaInputRange;
    const std::vector<uint8_t> want = in_range ? keys[it.key]->openssl_raw(it.in) : std::vector<uint8_t>(bytes, 0);
    const std::vector<uint8_t> got = r.item(j, bytes);
    ++tally.checked;
    if (r.status[j] != want_status || got != want)
      tally.mismatch("key " + std::to_string(it.key) + ", batch item " + std::to_string(j) + " of " +
                     std::to_string(end - begin) + ": status " + std::to_string(r.status[j]) + " (want " +
                     std::to_string(want_status) + ")\n  in   " + hex(it.in) + "\n  got  " + hex(got) +
                     "\n  want " + hex(want));
  }
}

void PrintTo(const SizePlan& p, std::ostream* os) { *os << "RSA-" << p.bits << " x" << p.inputs; }

class RsaDifferential : public ::testing::TestWithParam<SizePlan> {};

TEST_P(RsaDifferential, HostTwinMatchesOpenSSLOnFreshKeys) {
  const SizePlan plan = GetParam();
  const std::optional<double> scale = diff_scale();
  ASSERT_TRUE(scale) << "GPUTLS_RSA_DIFF_SCALE must be a positive number";
  const int random = std::max(1, static_cast<int>(std::lround(plan.inputs * *scale)));
  const uint32_t bytes = static_cast<uint32_t>(plan.bits / 8);
  const auto t0 = std::chrono::steady_clock::now();

  std::vector<std::unique_ptr<TestRsaKey>> keys(static_cast<size_t>(plan.keys));
  std::string error = parallel_for(keys.size(), [&](size_t i) { keys[i] = std::make_unique<TestRsaKey>(plan.bits); });
  ASSERT_EQ(error, "") << "key generation";
  const auto t_keys = std::chrono::steady_clock::now();

  const std::vector<Item> items = make_items(keys, random);
  const size_t batches = (items.size() + kBatchItems - 1) / kBatchItems;
  Tally tally;
  error = parallel_for(batches, [&](size_t b) {
    check_batch(keys, items, b * kBatchItems, std::min(items.size(), (b + 1) * kBatchItems), bytes, tally);
  });
  ASSERT_EQ(error, "") << "OpenSSL reference";
  const auto t_end = std::chrono::steady_clock::now();

  for (const std::string& r : tally.reports) ADD_FAILURE() << "RSA-" << plan.bits << " mismatch, " << r;
  EXPECT_EQ(tally.mismatches.load(), 0);
  EXPECT_EQ(tally.checked.load(), static_cast<int>(items.size()));
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::printf("RSA-%d: %d keys, %d random + %d edge inputs in %zu batches on %u threads (scale %.3g); "
              "host twin %.2f ms CPU/op; keygen %.1f s, batches+OpenSSL %.1f s\n",
              plan.bits, plan.keys, random, static_cast<int>(items.size()) - random, batches, workers(), *scale,
              tally.host_ns.load() / 1e6 / static_cast<double>(items.size()), secs(t_keys - t0),
              secs(t_end - t_keys));
}

INSTANTIATE_TEST_SUITE_P(Kernels, RsaDifferential, ::testing::ValuesIn(kPlans),
                         [](const ::testing::TestParamInfo<SizePlan>& info) {
                           return "Rsa" + std::to_string(info.param.bits);
                         });

}  // namespace
}  // namespace gputls::kernels
