// The ML-KEM-768 batch body through its host twin: a mixed batch of each op
// gives what the single-operation functions give, and a refused request has
// its status and a zeroed output.
#include <gtest/gtest.h>

#include "aes_gcm_test_util.h"
#include "gputls/kernels/mlkem_batch.h"

namespace gputls::kernels {
namespace {

using testing::Bytes;
using testing::random_bytes;

TEST(MlkemBatch, EncapsAndDecapsBatchesMatchSingleCallsAndReportBadKeys) {
  const auto& tab = mlkem::tables();
  constexpr uint32_t kCount = 6;
  Bytes enc_in, dec_in;
  std::vector<Bytes> dks, eks, ms;
  for (uint32_t i = 0; i < kCount; ++i) {
    const Bytes d = random_bytes(32), z = random_bytes(32), m = random_bytes(32);
    Bytes ek(mlkem::kEkBytes), dk(mlkem::kDkBytes);
    mlkem::keygen(ek.data(), dk.data(), d.data(), z.data(), tab);
    if (i == 2) ek[mlkem::kPolyBytes + 1] |= 0xf0, ek[mlkem::kPolyBytes + 2] = 0xff;  // a coefficient of 4095
    enc_in.insert(enc_in.end(), ek.begin(), ek.end());
    enc_in.insert(enc_in.end(), m.begin(), m.end());
    dks.push_back(dk);
    eks.push_back(ek);
    ms.push_back(m);
  }
  Bytes enc_out(kCount * mlkem_out_bytes(kMlkemEncaps), 0xaa);
  std::vector<uint32_t> st(kCount, 99);
  MlkemBatch b;
  b.in = enc_in.data();
  b.out = enc_out.data();
  b.status = st.data();
  b.count = kCount;
  b.op = kMlkemEncaps;
  mlkem_batch_host(b);
  for (uint32_t i = 0; i < kCount; ++i) {
    const uint8_t* o = enc_out.data() + i * mlkem_out_bytes(kMlkemEncaps);
    if (i == 2) {
      EXPECT_EQ(st[i], kMlkemBadKey);
      EXPECT_EQ(Bytes(o, o + mlkem_out_bytes(kMlkemEncaps)), Bytes(mlkem_out_bytes(kMlkemEncaps), 0));
      continue;
    }
    ASSERT_EQ(st[i], kMlkemOk);
    uint8_t k[32];
    Bytes c(mlkem::kCtBytes);
    ASSERT_TRUE(mlkem::encaps(k, c.data(), eks[i].data(), ms[i].data(), tab));
    EXPECT_EQ(Bytes(o, o + 32), Bytes(k, k + 32));
    EXPECT_EQ(Bytes(o + 32, o + 32 + mlkem::kCtBytes), c);
    dec_in.insert(dec_in.end(), dks[i].begin(), dks[i].end());
    dec_in.insert(dec_in.end(), c.begin(), c.end());
  }
  const uint32_t n = kCount - 1;
  Bytes dec_out(n * 32);
  b.in = dec_in.data();
  b.out = dec_out.data();
  b.count = n;
  b.op = kMlkemDecaps;
  mlkem_batch_host(b);
  for (uint32_t i = 0, j = 0; i < kCount; ++i) {
    if (i == 2) continue;
    EXPECT_EQ(st[j], kMlkemOk);
    EXPECT_EQ(Bytes(dec_out.begin() + 32 * j, dec_out.begin() + 32 * (j + 1)),
              Bytes(enc_out.begin() + i * mlkem_out_bytes(kMlkemEncaps),
                    enc_out.begin() + i * mlkem_out_bytes(kMlkemEncaps) + 32));
    ++j;
  }
  b.op = 7;  // unknown op
  mlkem_batch_host(b);
  for (uint32_t j = 0; j < n; ++j) EXPECT_EQ(st[j], kMlkemBadRequest);
}

}  // namespace
}  // namespace gputls::kernels
