#include "gputls/engine/key_table.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace gputls::engine {
namespace {

std::unique_ptr<KeyEntry> entry(uint8_t tag) {
  auto e = std::make_unique<KeyEntry>();
  e->type = KeyType::kX25519;
  e->x25519.priv.assign(32, tag);
  return e;
}

TEST(KeyTable, InsertAcquireFree) {
  int destroyed = 0;
  KeyTable t(4, [&](KeyEntry& e) {
    ++destroyed;
    EXPECT_EQ(e.x25519.priv[0], 7);  // material still intact for backends to release
  });
  KeyHandle h;
  ASSERT_EQ(t.insert(entry(7), &h), Status::kOk);
  KeyEntry* e = nullptr;
  ASSERT_EQ(t.acquire(h, &e), Status::kOk);
  EXPECT_EQ(e->x25519.priv[0], 7);
  t.release(h);
  EXPECT_EQ(t.live_count(), 1u);
  ASSERT_EQ(t.free_key(h), Status::kOk);
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(t.live_count(), 0u);
  EXPECT_EQ(t.acquire(h, &e), Status::kStaleKey);
  EXPECT_EQ(t.free_key(h), Status::kStaleKey);  // double free is refused, not a crash
}

TEST(KeyTable, FreedKeyLivesUntilLastReference) {
  int destroyed = 0;
  KeyTable t(2, [&](KeyEntry&) { ++destroyed; });
  KeyHandle h;
  ASSERT_EQ(t.insert(entry(1), &h), Status::kOk);
  KeyEntry* e1 = nullptr;
  KeyEntry* e2 = nullptr;
  ASSERT_EQ(t.acquire(h, &e1), Status::kOk);
  ASSERT_EQ(t.acquire(h, &e2), Status::kOk);
  ASSERT_EQ(t.free_key(h), Status::kOk);
  EXPECT_EQ(destroyed, 0);
  EXPECT_EQ(e1->x25519.priv[5], 1);  // in-flight users still see the key
  EXPECT_EQ(t.acquire(h, &e1), Status::kStaleKey);  // but no new user gets it
  t.release(h);
  EXPECT_EQ(destroyed, 0);
  t.release(h);
  EXPECT_EQ(destroyed, 1);
}

TEST(KeyTable, ReusedSlotRejectsOldHandle) {
  KeyTable t(1, nullptr);
  KeyHandle a, b;
  ASSERT_EQ(t.insert(entry(1), &a), Status::kOk);
  ASSERT_EQ(t.free_key(a), Status::kOk);
  ASSERT_EQ(t.insert(entry(2), &b), Status::kOk);
  EXPECT_EQ(a.slot, b.slot);
  EXPECT_NE(a.generation, b.generation);
  KeyEntry* e = nullptr;
  EXPECT_EQ(t.acquire(a, &e), Status::kStaleKey);
  ASSERT_EQ(t.acquire(b, &e), Status::kOk);
  EXPECT_EQ(e->x25519.priv[0], 2);
  t.release(b);
}

TEST(KeyTable, FullAndInvalidHandles) {
  KeyTable t(2, nullptr);
  KeyHandle a, b, c;
  ASSERT_EQ(t.insert(entry(1), &a), Status::kOk);
  ASSERT_EQ(t.insert(entry(2), &b), Status::kOk);
  EXPECT_EQ(t.insert(entry(3), &c), Status::kKeyTableFull);
  KeyEntry* e = nullptr;
  EXPECT_EQ(t.acquire(KeyHandle{}, &e), Status::kStaleKey);
  EXPECT_EQ(t.acquire(KeyHandle{99, 1}, &e), Status::kStaleKey);
  EXPECT_EQ(t.acquire(KeyHandle{a.slot, a.generation + 1}, &e), Status::kStaleKey);
}

// Many threads acquire/release while another frees and re-registers: every
// successful acquire must see the key its handle named, never another.
TEST(KeyTable, ConcurrentAcquireAndFree) {
  KeyTable t(8, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<KeyHandle*> current{nullptr};
  std::vector<KeyHandle> handles(2000);
  std::vector<std::thread> readers;
  std::atomic<uint64_t> mismatches{0}, hits{0};
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        KeyHandle* hp = current.load();
        if (!hp) continue;
        KeyHandle h = *hp;
        KeyEntry* e = nullptr;
        if (t.acquire(h, &e) == Status::kOk) {
          if (e->x25519.priv[0] != static_cast<uint8_t>(h.generation)) ++mismatches;
          ++hits;
          t.release(h);
        }
      }
    });
  }
  for (size_t i = 0; i < handles.size(); ++i) {
    auto e = std::make_unique<KeyEntry>();
    // Tag the material with its generation, as known after insert.
    KeyHandle h;
    ASSERT_EQ(t.insert(std::move(e), &h), Status::kOk);
    KeyEntry* mine = nullptr;
    ASSERT_EQ(t.acquire(h, &mine), Status::kOk);
    mine->x25519.priv.assign(32, static_cast<uint8_t>(h.generation));
    t.release(h);
    handles[i] = h;
    current.store(&handles[i]);
    std::this_thread::yield();
    ASSERT_EQ(t.free_key(h), Status::kOk);
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(mismatches.load(), 0u);
  EXPECT_EQ(t.live_count(), 0u);
}

}  // namespace
}  // namespace gputls::engine
