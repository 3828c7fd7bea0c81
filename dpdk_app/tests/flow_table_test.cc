// FlowTable against std::unordered_map under random inserts, lookups and
// erases, with a well-mixed multiplier and with one that piles keys into a few
// runs of slots (wrapping past the end), where backward-shift deletion has the
// most to get wrong.
#include <gtest/gtest.h>

#include <random>
#include <unordered_map>
#include <vector>

#include "net/flow_table.h"

using gputls::net::FlowTable;

namespace {

void check_against_reference(uint64_t multiplier, std::vector<uint64_t> keys, size_t capacity, uint32_t seed) {
  FlowTable t(capacity, multiplier);
  std::unordered_map<uint64_t, uint32_t> ref;
  std::mt19937 rng(seed);
  for (int op = 0; op < 200000; ++op) {
    const uint64_t k = keys[rng() % keys.size()];
    const uint32_t v = uint32_t(rng());
    switch (rng() % 3) {
      case 0: {
        const bool absent = !ref.count(k);
        if (absent && ref.size() < capacity) {
          ASSERT_TRUE(t.insert(k, v));
          ref[k] = v;
        } else if (absent) {
          ASSERT_FALSE(t.insert(k, v)) << "insert past capacity";
        }
        break;
      }
      case 1:
        ASSERT_EQ(t.erase(k), ref.erase(k) == 1) << "erase " << k;
        break;
      default: {
        const uint32_t* got = t.find(k);
        auto it = ref.find(k);
        ASSERT_EQ(got != nullptr, it != ref.end()) << "find " << k;
        if (got) ASSERT_EQ(*got, it->second);
      }
    }
    ASSERT_EQ(t.size(), ref.size());
  }
  for (const auto& [k, v] : ref) {
    const uint32_t* got = t.find(k);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(*got, v);
  }
}

}  // namespace

TEST(FlowTable, MatchesUnorderedMapWithAKeyedHash) {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> keys(3000);
  for (auto& k : keys) k = rng();
  check_against_reference(0x9e3779b97f4a7c15ULL, keys, 1000, 1);
}

TEST(FlowTable, MatchesUnorderedMapWhenKeysCollide) {
  // Multiplier 1: a key's home is its top bits. Keys sharing a few top-bit
  // patterns (the last one the table's final slot) form long runs that wrap.
  std::vector<uint64_t> keys;
  for (uint64_t top : {0ULL, 5ULL, 0xffffffffffffffffULL})
    for (uint64_t low = 0; low < 200; ++low) keys.push_back((top << 52) ^ low);
  check_against_reference(1, keys, 256, 2);
}

TEST(FlowTable, ModifiedValueIsKept) {
  FlowTable t(4, 12345);
  ASSERT_TRUE(t.insert(10, 1));
  ++*t.find(10);
  EXPECT_EQ(*t.find(10), 2u);
  EXPECT_EQ(t.find(11), nullptr);
  EXPECT_TRUE(t.erase(10));
  EXPECT_FALSE(t.erase(10));
  EXPECT_EQ(t.size(), 0u);
}
