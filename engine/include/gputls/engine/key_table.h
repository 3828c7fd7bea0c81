// Fixed-capacity table of registered keys.
//
// Each slot packs {generation, live bit, reference count} in one 64-bit word,
// so acquire/release on the submit path are lock-free CAS loops. Registration
// holds one reference; free_key() clears the live bit and drops it. The entry
// is destroyed (backend state first, then the wiped material) when the last
// in-flight request releases it, and only then does the slot become reusable
// with generation + 1: a freed key stays alive for the requests that use it,
// and an old handle can never reach a new key.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "gputls/engine/key.h"
#include "gputls/engine/status.h"

namespace gputls::engine {

class KeyTable {
 public:
  // on_destroy runs once per entry, before its material is wiped, so backends
  // can release (and wipe) their own copies, e.g. device memory.
  explicit KeyTable(uint32_t capacity, std::function<void(KeyEntry&)> on_destroy);
  ~KeyTable();
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  Status insert(std::unique_ptr<KeyEntry> entry, KeyHandle* out);
  Status free_key(KeyHandle h);

  // Takes a reference; on success *entry stays valid until release(h).
  Status acquire(KeyHandle h, KeyEntry** entry);
  void release(KeyHandle h);

  uint32_t capacity() const { return static_cast<uint32_t>(slots_.size()); }
  uint32_t live_count() const { return live_.load(std::memory_order_relaxed); }

 private:
  static constexpr uint64_t kLiveBit = 1ull << 31;
  static constexpr uint64_t kRefMask = kLiveBit - 1;
  static uint32_t gen_of(uint64_t w) { return static_cast<uint32_t>(w >> 32); }

  struct Slot {
    std::atomic<uint64_t> word{0};
    std::unique_ptr<KeyEntry> entry;
  };

  void destroy(uint32_t slot, uint32_t generation);

  std::vector<Slot> slots_;
  std::function<void(KeyEntry&)> on_destroy_;
  std::mutex free_mu_;
  std::vector<uint32_t> free_slots_;
  std::atomic<uint32_t> live_{0};
};

}  // namespace gputls::engine
