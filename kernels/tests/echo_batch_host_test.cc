// The echo kernel's body, run on the host over the kernel's own thread grid.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "gputls/kernels/echo_batch.h"

namespace gputls::kernels {
namespace {

TEST(EchoBatchHost, CopiesEveryItemAndNothingElse) {
  std::mt19937 rng(1234);
  std::vector<uint32_t> off, len;
  uint32_t total = 0;
  for (uint32_t n : {0u, 1u, 15u, 16u, 17u, 127u, 128u, 129u, 4095u, 16384u}) {
    off.push_back(total);
    len.push_back(n);
    total += n + 3;  // gaps between items must stay untouched
  }
  std::vector<uint8_t> in(total), out(total, 0xee);
  for (auto& b : in) b = static_cast<uint8_t>(rng());
  EchoBatch b{in.data(), out.data(), off.data(), len.data(), static_cast<uint32_t>(off.size())};
  for (uint32_t lanes : {1u, 32u, 128u}) {
    std::fill(out.begin(), out.end(), 0xee);
    echo_batch_host(b, lanes);
    for (size_t i = 0; i < off.size(); ++i) {
      for (uint32_t k = 0; k < len[i]; ++k) ASSERT_EQ(out[off[i] + k], in[off[i] + k]) << i << ":" << k;
      for (uint32_t k = 0; k < 3; ++k) ASSERT_EQ(out[off[i] + len[i] + k], 0xee);
    }
  }
}

}  // namespace
}  // namespace gputls::kernels
