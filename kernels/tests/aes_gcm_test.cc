// AES-GCM kernels through their host twin (the GPU's own code): the bitsliced
// block cipher against OpenSSL's AES-ECB, the carry-less GHASH multiply
// against the bit-serial multiply of SP 800-38D (algorithm 1), and mixed
// batches of many keys, lengths and ops against OpenSSL's EVP AES-GCM,
// including corrupted records (failure, output zeroed) beside good ones.
#include <gtest/gtest.h>

#include <cstring>

#include "aes_gcm_test_util.h"

namespace gputls::kernels {
namespace {

using namespace testing;

Bytes openssl_ecb(const Bytes& key, const Bytes& in) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  Bytes out(in.size());
  int n = 0;
  const bool ok = EVP_EncryptInit_ex(c, key.size() == 16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb(), nullptr,
                                     key.data(), nullptr) == 1 &&
                  EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
                  EVP_EncryptUpdate(c, out.data(), &n, in.data(), static_cast<int>(in.size())) == 1;
  EVP_CIPHER_CTX_free(c);
  if (!ok) throw std::runtime_error("OpenSSL AES-ECB failed");
  return out;
}

TEST(AesBitsliced, MatchesOpenSslEcb) {
  for (size_t key_len : {16u, 32u}) {
    for (int trial = 0; trial < 50; ++trial) {
      const Bytes key = random_bytes(key_len), in = random_bytes(32);
      aes::RoundKeys rk;
      ASSERT_TRUE(aes::expand_key(rk, key.data(), key.size()));
      Bytes out(32);
      aes::encrypt2(rk, in.data(), in.data() + 16, out.data(), out.data() + 16);
      EXPECT_EQ(out, openssl_ecb(key, in)) << "key length " << key_len;
    }
  }
}

// FIPS 197 section 5.1.1 from the definition: the inverse in GF(2^8) (found
// by search with a shift-and-add multiply), then the affine map and 0x63.
uint8_t reference_sbox(uint8_t a) {
  auto mul = [](uint8_t x, uint8_t y) {
    uint8_t r = 0;
    for (int i = 0; i < 8; ++i) {
      if (y & 1) r ^= x;
      y >>= 1;
      x = static_cast<uint8_t>((x << 1) ^ ((x & 0x80) ? 0x1b : 0));
    }
    return r;
  };
  uint8_t inv = 0;
  for (int b = 1; b < 256 && a; ++b)
    if (mul(a, static_cast<uint8_t>(b)) == 1) inv = static_cast<uint8_t>(b);
  uint8_t s = 0;
  for (int i = 0; i < 8; ++i) {
    const int bit = ((inv >> i) ^ (inv >> ((i + 4) % 8)) ^ (inv >> ((i + 5) % 8)) ^ (inv >> ((i + 6) % 8)) ^
                     (inv >> ((i + 7) % 8)) ^ (0x63 >> i)) &
                    1;
    s = static_cast<uint8_t>(s | bit << i);
  }
  return s;
}

TEST(AesBitsliced, SboxCircuitMatchesTheDefinition) {
  for (int base = 0; base < 256; base += 32) {
    uint8_t a[16], b[16];
    for (int j = 0; j < 16; ++j) {
      a[j] = static_cast<uint8_t>(base + j);
      b[j] = static_cast<uint8_t>(base + 16 + j);
    }
    uint32_t s[8];
    aes::pack(s, a, b);
    aes::detail::sub_bytes(s);
    aes::unpack(a, b, s);
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(a[j], reference_sbox(static_cast<uint8_t>(base + j))) << base + j;
      EXPECT_EQ(b[j], reference_sbox(static_cast<uint8_t>(base + 16 + j))) << base + 16 + j;
    }
  }
}

TEST(AesBitsliced, Fips197AppendixC) {
  // FIPS 197 appendix C.1 and C.3: plaintext 00112233..ff, keys 000102...
  const Bytes pt = unhex("00112233445566778899aabbccddeeff");
  const Bytes k128 = unhex("000102030405060708090a0b0c0d0e0f");
  const Bytes k256 = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  aes::RoundKeys rk;
  uint8_t out[16], other[16];
  ASSERT_TRUE(aes::expand_key(rk, k128.data(), 16));
  aes::encrypt2(rk, pt.data(), pt.data(), out, other);
  EXPECT_EQ(Bytes(out, out + 16), unhex("69c4e0d86a7b0430d8cdb78070b4c55a"));
  ASSERT_TRUE(aes::expand_key(rk, k256.data(), 32));
  aes::encrypt2(rk, pt.data(), pt.data(), out, other);
  EXPECT_EQ(Bytes(out, out + 16), unhex("8ea2b7ca516745bfeafc49904b496089"));
}

TEST(AesBitsliced, RefusesOtherKeyLengths) {
  const Bytes key = random_bytes(32);
  aes::RoundKeys rk;
  for (size_t len : {0u, 8u, 15u, 24u, 31u, 33u}) EXPECT_FALSE(aes::expand_key(rk, key.data(), len)) << len;
}

// SP 800-38D algorithm 1, bit by bit: independent of the carry-less multiply.
gf128::Elem serial_mul(gf128::Elem x, gf128::Elem y) {
  gf128::Elem z, v = y;
  for (int i = 0; i < 128; ++i) {
    const uint64_t bit = i < 64 ? (x.hi >> (63 - i)) & 1 : (x.lo >> (127 - i)) & 1;
    if (bit) z = gf128::add(z, v);
    const uint64_t lsb = v.lo & 1;
    v.lo = (v.lo >> 1) | (v.hi << 63);
    v.hi >>= 1;
    if (lsb) v.hi ^= 0xe100000000000000ull;  // R = 11100001 || 0^120
  }
  return z;
}

TEST(Ghash, MultiplyMatchesBitSerialReference) {
  for (int trial = 0; trial < 2000; ++trial) {
    const Bytes a = random_bytes(16), b = random_bytes(16);
    gf128::Elem x = gf128::load(a.data()), y = gf128::load(b.data());
    if (trial % 100 == 1) x.lo = 0;  // sparse operands too
    if (trial % 100 == 2) y = gf128::Elem{0x8000000000000000ull, 0};  // the field's one
    const gf128::Elem got = gf128::mul(x, y), want = serial_mul(x, y);
    ASSERT_EQ(got.hi, want.hi) << trial;
    ASSERT_EQ(got.lo, want.lo) << trial;
  }
}

TEST(Ghash, LoadStoreRoundTrip) {
  const Bytes a = random_bytes(16);
  uint8_t back[16];
  gf128::store(back, gf128::load(a.data()));
  EXPECT_EQ(Bytes(back, back + 16), a);
}

struct Keys {
  std::vector<Bytes> raw;
  std::vector<AesGcmKey> state;
};

Keys make_keys(size_t n) {
  Keys k;
  for (size_t i = 0; i < n; ++i) {
    k.raw.push_back(random_bytes(i % 2 ? 32 : 16));
    AesGcmKey s;
    if (!aes_gcm_key_init(s, k.raw.back().data(), k.raw.back().size())) throw std::runtime_error("key init");
    k.state.push_back(s);
  }
  return k;
}

// Seal and open in one batch (random keys, nonces, AAD 0..64, payloads
// 0..16640 bytes with the sizes), every record against OpenSSL.
TEST(AesGcmBatch, MixedBatchMatchesOpenSsl) {
  const Keys keys = make_keys(7);
  std::vector<TestRecord> recs;
  for (uint32_t i = 0; i < 40; ++i) {
    TestRecord t;
    t.key = i % 7;
    t.op = i % 3 == 2 ? kAesGcmOpen : kAesGcmSeal;
    t.nonce = random_bytes(12);
    t.aad = random_bytes(random_u32() % 65);
    const Bytes pt = random_bytes(test_length(i));
    if (t.op == kAesGcmSeal) {
      t.in = pt;
    } else {
      ASSERT_TRUE(openssl_gcm(true, keys.raw[t.key], t.nonce, t.aad, pt, &t.in, t.tag));
    }
    recs.push_back(std::move(t));
  }
  const std::vector<uint32_t> status = run_host_batch(keys.state, recs);
  for (size_t i = 0; i < recs.size(); ++i) {
    const TestRecord& t = recs[i];
    ASSERT_EQ(status[i], kAesGcmOk) << "record " << i;
    if (t.op == kAesGcmSeal) {
      Bytes ct;
      uint8_t tag[16];
      ASSERT_TRUE(openssl_gcm(true, keys.raw[t.key], t.nonce, t.aad, t.in, &ct, tag));
      EXPECT_EQ(t.out, ct) << "record " << i << " length " << t.in.size();
      EXPECT_EQ(0, std::memcmp(t.tag, tag, 16)) << "record " << i;
    } else {
      Bytes pt;
      uint8_t tag[16];
      std::memcpy(tag, t.tag, 16);
      ASSERT_TRUE(openssl_gcm(false, keys.raw[t.key], t.nonce, t.aad, t.in, &pt, tag));
      EXPECT_EQ(t.out, pt) << "record " << i << " length " << t.in.size();
    }
  }
}

TEST(AesGcmBatch, InPlaceSealAndOpen) {
  const Keys keys = make_keys(1);
  for (uint32_t len : {1u, 16u, 17u, 300u, 4096u}) {
    const Bytes pt = random_bytes(len), iv = random_bytes(12), aad = random_bytes(13);
    Bytes buf = pt;
    uint8_t tag[16];
    ASSERT_EQ(aes_gcm_one(keys.state[0], kAesGcmSeal, iv.data(), 12, aad.data(), 13, buf.data(), len, buf.data(), tag),
              kAesGcmOk);
    Bytes ct;
    uint8_t want[16];
    ASSERT_TRUE(openssl_gcm(true, keys.raw[0], iv, aad, pt, &ct, want));
    EXPECT_EQ(buf, ct);
    EXPECT_EQ(0, std::memcmp(tag, want, 16));
    ASSERT_EQ(aes_gcm_one(keys.state[0], kAesGcmOpen, iv.data(), 12, aad.data(), 13, buf.data(), len, buf.data(), tag),
              kAesGcmOk);
    EXPECT_EQ(buf, pt);
  }
}

// Corrupted tag, ciphertext or AAD: that record fails with its output zeroed;
// the good records of the same batch are unaffected.
TEST(AesGcmBatch, CorruptedRecordsFailWithOutputZeroed) {
  const Keys keys = make_keys(3);
  std::vector<TestRecord> recs;
  std::vector<Bytes> plain;
  for (uint32_t i = 0; i < 24; ++i) {
    TestRecord t;
    t.key = i % 3;
    t.op = kAesGcmOpen;
    t.nonce = random_bytes(12);
    t.aad = random_bytes(i % 4 == 3 ? 1 + random_u32() % 64 : random_u32() % 65);
    const Bytes pt = random_bytes(i == 0 ? 0 : 1 + random_u32() % 5000);
    ASSERT_TRUE(openssl_gcm(true, keys.raw[t.key], t.nonce, t.aad, pt, &t.in, t.tag));
    const uint32_t bit = random_u32();
    switch (i % 4) {
      case 1: t.tag[bit % 16] ^= static_cast<uint8_t>(1u << (bit >> 8) % 8); break;
      case 2:
        if (!t.in.empty()) t.in[bit % t.in.size()] ^= static_cast<uint8_t>(1u << (bit >> 8) % 8);
        else t.tag[0] ^= 1;
        break;
      case 3: t.aad[bit % t.aad.size()] ^= static_cast<uint8_t>(1u << (bit >> 8) % 8); break;
      default: break;  // intact
    }
    plain.push_back(pt);
    recs.push_back(std::move(t));
  }
  const std::vector<uint32_t> status = run_host_batch(keys.state, recs);
  for (size_t i = 0; i < recs.size(); ++i) {
    if (i % 4 == 0) {
      EXPECT_EQ(status[i], kAesGcmOk) << i;
      EXPECT_EQ(recs[i].out, plain[i]) << i;
    } else {
      EXPECT_EQ(status[i], kAesGcmAuthFailed) << i;
      EXPECT_EQ(recs[i].out, Bytes(recs[i].in.size(), 0)) << "plaintext released by failed record " << i;
    }
  }
}

TEST(AesGcmBatch, RefusesNon96BitIvs) {
  const Keys keys = make_keys(1);
  const Bytes iv = random_bytes(16), pt = random_bytes(32);
  Bytes out(32, 0x77);
  uint8_t tag[16] = {};
  for (size_t iv_len : {0u, 1u, 8u, 11u, 13u, 16u}) {
    EXPECT_EQ(aes_gcm_one(keys.state[0], kAesGcmSeal, iv.data(), iv_len, nullptr, 0, pt.data(), 32, out.data(), tag),
              kAesGcmBadNonce);
    EXPECT_EQ(out, Bytes(32, 0x77)) << "nothing runs for a refused IV";
  }
}

TEST(AesGcmBatch, TooLongAndBadOpAreRefusedWithOutputZeroed) {
  const Keys keys = make_keys(1);
  std::vector<TestRecord> recs(3);
  for (auto& t : recs) t.nonce = random_bytes(12);
  recs[0].in = random_bytes(kGcmMaxBlocks * 16);  // plus the lengths block: one too many
  recs[1].in = random_bytes(100);
  recs[1].op = 7;
  recs[2].in = random_bytes((kGcmMaxBlocks - 1) * 16);  // exactly the limit
  const std::vector<uint32_t> status = run_host_batch(keys.state, recs);
  EXPECT_EQ(status[0], kAesGcmTooLong);
  EXPECT_EQ(recs[0].out, Bytes(recs[0].in.size(), 0));
  EXPECT_EQ(status[1], kAesGcmBadRequest);
  EXPECT_EQ(recs[1].out, Bytes(100, 0));
  EXPECT_EQ(status[2], kAesGcmOk);
  Bytes ct;
  uint8_t tag[16];
  ASSERT_TRUE(openssl_gcm(true, keys.raw[0], recs[2].nonce, {}, recs[2].in, &ct, tag));
  EXPECT_EQ(recs[2].out, ct);
  EXPECT_EQ(0, std::memcmp(recs[2].tag, tag, 16));
}

TEST(AesGcmBatch, LengthLimitsWithoutOverflow) {
  EXPECT_FALSE(gcm_servable(0xffffffffu, 0xffffffffu));
  EXPECT_FALSE(gcm_servable(0xfffffff8u, 0));
  EXPECT_EQ(gcm_chunks(0xffffffffu, 0xffffffffu), 1u);
  EXPECT_TRUE(gcm_servable((kGcmMaxBlocks - 2) * 16, 16));
  EXPECT_FALSE(gcm_servable((kGcmMaxBlocks - 2) * 16, 17));
  EXPECT_EQ(gcm_chunks(16384, 13), (1024u + 1 + 1 + kGcmChunkBlocks - 1) / kGcmChunkBlocks);
  EXPECT_EQ(gcm_chunks(0, 0), 1u);
}

TEST(AesGcmBatch, KeyInitRefusesOtherLengths) {
  AesGcmKey k;
  const Bytes key = random_bytes(32);
  EXPECT_FALSE(aes_gcm_key_init(k, key.data(), 24));  // AES-192: not served
  EXPECT_FALSE(aes_gcm_key_init(k, key.data(), 0));
  EXPECT_TRUE(aes_gcm_key_init(k, key.data(), 16));
}

}  // namespace
}  // namespace gputls::kernels
