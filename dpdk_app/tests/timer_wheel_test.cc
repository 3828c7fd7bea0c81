// TimerWheel: every entry fires exactly once, never before its time and at
// most one tick after it, whatever the clock's steps (fine, coarse, a gap
// longer than the wheel), for deadlines within and far beyond its span, and
// with entries pushed from inside fire.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "net/timer_wheel.h"

using gputls::net::TimerWheel;

namespace {

constexpr uint64_t kTick = uint64_t(1) << TimerWheel::kTickShift;

struct Fired {
  uint64_t at, when;
};

void run(std::mt19937_64& rng, uint64_t max_ahead_us, uint64_t max_step_us) {
  const uint64_t start = 5'000'000'000ULL + rng() % 1000;  // a TSC-derived clock is far from 0
  TimerWheel w(start);
  uint64_t now = start;
  std::vector<uint64_t> pending;
  std::vector<Fired> fired;
  for (uint32_t i = 0; i < 5000; ++i) {
    const uint64_t at = now + rng() % max_ahead_us;
    w.push({at, i, 0});
    pending.push_back(at);
  }
  size_t rearmed = 0;
  while (fired.size() < pending.size() + rearmed) {
    now += 1 + rng() % max_step_us;
    w.expire(now, [&](const TimerWheel::Entry& e) {
      fired.push_back({e.at, now});
      // Every tenth re-arms once, from inside fire (as the TCP stack does).
      if (e.slot % 10 == 0 && e.gen == 0) {
        w.push({now + 1 + rng() % max_ahead_us, e.slot, 1});
        ++rearmed;
      }
    });
    ASSERT_LT(now - start, 20 * max_ahead_us + 100'000'000) << "entries never fired";
  }
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(fired.size(), pending.size() + rearmed);
  for (const Fired& f : fired) {
    ASSERT_LE(f.at, f.when) << "fired early";
    // Late by at most a tick, or by the clock's own step when it jumped.
    ASSERT_LT(f.when - f.at, kTick + max_step_us) << "fired late";
  }
}

}  // namespace

TEST(TimerWheel, FineStepsWithinTheSpan) {
  std::mt19937_64 rng(1);
  run(rng, 900'000, 20);
}

TEST(TimerWheel, CoarseStepsAndDeadlinesFarBeyondTheSpan) {
  std::mt19937_64 rng(2);
  run(rng, 120'000'000, 5'000);  // idle timeouts of minutes
}

TEST(TimerWheel, ClockGapLongerThanTheWheel) {
  TimerWheel w(1'000'000);
  std::vector<uint64_t> fired;
  for (uint64_t at : {1'000'100ULL, 1'500'000ULL, 3'000'000ULL, 9'000'000ULL}) w.push({at, 0, 0});
  w.expire(5'000'000, [&](const TimerWheel::Entry& e) { fired.push_back(e.at); });
  std::sort(fired.begin(), fired.end());  // after a gap, due entries come in bucket order
  EXPECT_EQ(fired, (std::vector<uint64_t>{1'000'100, 1'500'000, 3'000'000}));
  EXPECT_EQ(w.size(), 1u);
  w.expire(8'999'999, [&](const TimerWheel::Entry& e) { fired.push_back(e.at); });
  EXPECT_EQ(fired.size(), 3u);  // not early
  w.expire(9'000'000 + kTick, [&](const TimerWheel::Entry& e) { fired.push_back(e.at); });
  EXPECT_EQ(fired.size(), 4u);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, PastDeadlineFiresAtTheNextExpire) {
  TimerWheel w(2'000'000);
  w.expire(2'000'000, [](const TimerWheel::Entry&) {});
  w.push({1'000, 7, 0});  // long past
  int n = 0;
  w.expire(2'000'000 + kTick, [&](const TimerWheel::Entry& e) { n += e.slot == 7; });
  EXPECT_EQ(n, 1);
}
