// Seeded packet impairment for tests (the kernel's netem is not available):
// drop, duplicate and reorder (hold a packet back for a while so later ones
// overtake it). Generic over the packet handle so the DPDK port layer applies
// it to mbufs in both directions and unit tests to plain frames. Same seed,
// same packet sequence: same decisions.
#pragma once

#include <cstdint>
#include <deque>

namespace gputls::net {

struct ImpairConfig {
  double drop = 0, duplicate = 0, reorder = 0;  // probabilities per packet
  uint64_t reorder_delay_us = 2000;             // how long a reordered packet is held
  uint64_t seed = 1;
  bool active() const { return drop > 0 || duplicate > 0 || reorder > 0; }
};

class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed) : s_(seed) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  bool chance(double p) { return p > 0 && double(next() >> 11) * 0x1.0p-53 < p; }

 private:
  uint64_t s_;
};

template <class Packet>
class Impairer {
 public:
  static constexpr size_t kMaxHeld = 256;
  explicit Impairer(const ImpairConfig& cfg) : cfg_(cfg), rng_(cfg.seed) {}

  // Decides the fate of one packet: emit(p) passes it on, drop(p) discards it,
  // dup(p) returns a copy to emit as well. Returns what happened for counting.
  enum class Fate { kPassed, kDropped, kDuplicated, kHeld };
  template <class Emit, class DropFn, class DupFn>
  Fate push(Packet p, uint64_t now_us, Emit&& emit, DropFn&& drop, DupFn&& dup) {
    if (rng_.chance(cfg_.drop)) {
      drop(p);
      return Fate::kDropped;
    }
    Fate fate = Fate::kPassed;
    if (rng_.chance(cfg_.duplicate)) {
      emit(dup(p));
      fate = Fate::kDuplicated;
    }
    if (held_.size() < kMaxHeld && rng_.chance(cfg_.reorder)) {
      held_.push_back({now_us + cfg_.reorder_delay_us, p});
      return Fate::kHeld;
    }
    emit(p);
    return fate;
  }
  // Emits held packets whose delay is over (all of them with flush_all).
  template <class Emit>
  void release(uint64_t now_us, Emit&& emit, bool flush_all = false) {
    while (!held_.empty() && (flush_all || held_.front().at <= now_us)) {
      emit(held_.front().p);
      held_.pop_front();
    }
  }
  size_t held() const { return held_.size(); }

 private:
  struct Held { uint64_t at; Packet p; };
  ImpairConfig cfg_;
  SeededRandom rng_;
  std::deque<Held> held_;
};

}  // namespace gputls::net
