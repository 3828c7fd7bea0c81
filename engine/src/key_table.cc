#include "gputls/engine/key_table.h"

namespace gputls::engine {

KeyTable::KeyTable(uint32_t capacity, std::function<void(KeyEntry&)> on_destroy)
    : slots_(capacity), on_destroy_(std::move(on_destroy)) {
  free_slots_.reserve(capacity);
  for (uint32_t i = capacity; i > 0; --i) {
    slots_[i - 1].word.store(uint64_t{1} << 32, std::memory_order_relaxed);  // generation 1, not live
    free_slots_.push_back(i - 1);
  }
}

KeyTable::~KeyTable() {
  // Engine shutdown has completed every request, so only the registration
  // reference of still-registered keys remains.
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    uint64_t w = slots_[i].word.load(std::memory_order_acquire);
    if (w & kLiveBit) free_key(KeyHandle{i, gen_of(w)});
  }
}

Status KeyTable::insert(std::unique_ptr<KeyEntry> entry, KeyHandle* out) {
  uint32_t slot;
  {
    std::lock_guard<std::mutex> lock(free_mu_);
    if (free_slots_.empty()) return Status::kKeyTableFull;
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  Slot& s = slots_[slot];
  s.entry = std::move(entry);
  uint32_t gen = gen_of(s.word.load(std::memory_order_relaxed));
  // Publish: live with the registration's single reference.
  s.word.store((uint64_t{gen} << 32) | kLiveBit | 1, std::memory_order_release);
  live_.fetch_add(1, std::memory_order_relaxed);
  *out = KeyHandle{slot, gen};
  return Status::kOk;
}

Status KeyTable::acquire(KeyHandle h, KeyEntry** entry) {
  if (!h.valid() || h.slot >= slots_.size()) return Status::kStaleKey;
  Slot& s = slots_[h.slot];
  uint64_t w = s.word.load(std::memory_order_acquire);
  for (;;) {
    if (gen_of(w) != h.generation || !(w & kLiveBit)) return Status::kStaleKey;
    if ((w & kRefMask) == kRefMask) return Status::kBusy;  // 2^31 requests in flight on one key
    if (s.word.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel)) break;
  }
  *entry = s.entry.get();
  return Status::kOk;
}

void KeyTable::release(KeyHandle h) {
  Slot& s = slots_[h.slot];
  uint64_t prev = s.word.fetch_sub(1, std::memory_order_acq_rel);
  if ((prev & kRefMask) == 1) destroy(h.slot, gen_of(prev));
}

Status KeyTable::free_key(KeyHandle h) {
  if (!h.valid() || h.slot >= slots_.size()) return Status::kStaleKey;
  Slot& s = slots_[h.slot];
  uint64_t w = s.word.load(std::memory_order_acquire);
  for (;;) {
    if (gen_of(w) != h.generation || !(w & kLiveBit)) return Status::kStaleKey;
    if (s.word.compare_exchange_weak(w, w & ~kLiveBit, std::memory_order_acq_rel)) break;
  }
  live_.fetch_sub(1, std::memory_order_relaxed);
  release(h);  // the registration's reference
  return Status::kOk;
}

void KeyTable::destroy(uint32_t slot, uint32_t generation) {
  Slot& s = slots_[slot];
  std::unique_ptr<KeyEntry> entry = std::move(s.entry);
  if (entry) {
    if (on_destroy_) on_destroy_(*entry);
    for (auto& st : entry->state) st.reset();
    for (auto& st : entry->device_state) st.reset();
    entry.reset();  // SecureBytes wipe the material as they are freed
  }
  uint32_t next = generation + 1;
  if (next == 0) next = 1;  // generation 0 is reserved for "no key"
  s.word.store(uint64_t{next} << 32, std::memory_order_release);
  std::lock_guard<std::mutex> lock(free_mu_);
  free_slots_.push_back(slot);
}

}  // namespace gputls::engine
