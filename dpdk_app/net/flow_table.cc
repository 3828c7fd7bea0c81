#include "net/flow_table.h"

#include <algorithm>
#include <bit>

namespace gputls::net {

FlowTable::FlowTable(size_t max_entries, uint64_t multiplier)
    : max_entries_(max_entries), multiplier_(multiplier | 1) {
  const size_t slots = std::bit_ceil(std::max<size_t>(2 * max_entries, 16));
  slots_.resize(slots);
  mask_ = slots - 1;
  shift_ = 64 - unsigned(std::countr_zero(slots));
}

bool FlowTable::insert(uint64_t key, uint32_t value) {
  if (size_ >= max_entries_) return false;
  size_t i = home(key);
  while (slots_[i].used) i = (i + 1) & mask_;
  slots_[i] = Slot{key, value, 1};
  ++size_;
  return true;
}

bool FlowTable::erase(uint64_t key) {
  size_t i = home(key);
  for (;; i = (i + 1) & mask_) {
    if (!slots_[i].used) return false;
    if (slots_[i].key == key) break;
  }
  // Backward shift: an entry after the hole moves into it unless its home
  // lies cyclically after the hole (then it is already where a probe from
  // its home would look first).
  for (size_t j = (i + 1) & mask_; slots_[j].used; j = (j + 1) & mask_) {
    const size_t h = home(slots_[j].key);
    const bool home_in_gap = ((j - h) & mask_) < ((j - i) & mask_);
    if (home_in_gap) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = Slot{};
  --size_;
  return true;
}

}  // namespace gputls::net
