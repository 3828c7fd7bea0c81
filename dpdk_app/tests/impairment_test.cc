#include <gtest/gtest.h>

#include <vector>

#include "net/impairment.h"

using namespace gputls::net;

namespace {
std::vector<int> run(const ImpairConfig& cfg, int n, int* dropped) {
  Impairer<int> imp(cfg);
  std::vector<int> out;
  *dropped = 0;
  uint64_t now = 0;
  for (int i = 0; i < n; ++i, now += 100) {
    imp.release(now, [&](int p) { out.push_back(p); });
    imp.push(i, now, [&](int p) { out.push_back(p); }, [&](int) { ++*dropped; }, [](int p) { return p; });
  }
  imp.release(0, [&](int p) { out.push_back(p); }, true);
  return out;
}
}  // namespace

TEST(Impairment, SeededAndRoughlyAtTheRequestedRates) {
  ImpairConfig cfg;
  cfg.drop = 0.05;
  cfg.duplicate = 0.05;
  cfg.reorder = 0.05;
  cfg.seed = 42;
  int d1, d2;
  auto a = run(cfg, 20000, &d1);
  auto b = run(cfg, 20000, &d2);
  EXPECT_EQ(a, b);  // same seed, same fate
  EXPECT_EQ(d1, d2);
  EXPECT_NEAR(d1, 1000, 150);
  size_t dups = a.size() - (20000 - d1);
  EXPECT_NEAR(double(dups), 950, 150);
  int inversions = 0;
  for (size_t i = 1; i < a.size(); ++i) inversions += a[i] < a[i - 1];
  EXPECT_GT(inversions, 500);
  cfg.seed = 43;
  int d3;
  EXPECT_NE(run(cfg, 20000, &d3), a);
}

TEST(Impairment, InactiveConfigPassesEverythingInOrder) {
  int d;
  auto a = run(ImpairConfig{}, 1000, &d);
  ASSERT_EQ(a.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(a[i], i);
}
