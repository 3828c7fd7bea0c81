// A fixed-capacity hash table from 64-bit keys to 32-bit values for the
// per-packet lookups of a core's TCP stack (connection by flow key,
// connections per source address). Open addressing with linear probing in one
// array sized at start: no allocation per connection (std::unordered_map
// allocated a node on every insert and freed it on erase) and one cache line
// per lookup in the common case. Deletion shifts the following entries back
// (no tombstones), so lookups stay short under churn.
//
// The keys come from the network, so the hash is keyed: multiply-shift with a
// random odd multiplier (a universal family: without the multiplier a sender
// cannot pick flows that land in one run of slots).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gputls::net {

class FlowTable {
 public:
  // Room for max_entries at a load of at most one half; multiplier: any
  // 64-bit secret (forced odd).
  FlowTable(size_t max_entries, uint64_t multiplier);

  // The value stored for key, or nullptr. The pointer is valid until the
  // next insert or erase.
  uint32_t* find(uint64_t key) {
    for (size_t i = home(key);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == key) return &s.value;
    }
  }
  const uint32_t* find(uint64_t key) const { return const_cast<FlowTable*>(this)->find(key); }

  // Adds key (which must be absent); false when the table is full.
  bool insert(uint64_t key, uint32_t value);
  // Removes key; false when it was absent.
  bool erase(uint64_t key);
  size_t size() const { return size_; }
  size_t capacity() const { return max_entries_; }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t value = 0;
    uint32_t used = 0;
  };
  size_t home(uint64_t key) const { return size_t((key * multiplier_) >> shift_); }

  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0, max_entries_ = 0;
  unsigned shift_ = 64;
  uint64_t multiplier_ = 1;
};

}  // namespace gputls::net
