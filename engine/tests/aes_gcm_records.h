// AES-GCM records for engine tests: buffers owned by the test, expected
// results from OpenSSL's EVP AES-GCM called directly.
#pragma once

#include <gtest/gtest.h>

#include <cstring>

#include "../../kernels/tests/aes_gcm_test_util.h"
#include "engine_test_util.h"
#include "gputls/engine/engine.h"
#include "test_keys.h"

namespace gputls::engine::testing {

// One record and its buffers, owned by the test.
struct Record {
  Bytes key, nonce, aad, in, out, want_out;
  uint8_t tag[16] = {}, want_tag[16] = {};
  AeadParams aead;
  Request req;
  bool seal = true;
};

// A seal (expected results from OpenSSL) or an open of OpenSSL's ciphertext.
inline void make_record(Record& r, const Bytes& key, KeyHandle h, bool seal, size_t len, size_t aad_len) {
  r.key = key;
  r.seal = seal;
  r.nonce = random_bytes(12);
  r.aad = random_bytes(aad_len);
  const Bytes pt = random_bytes(len);
  Bytes ct;
  ASSERT_TRUE(kernels::testing::openssl_gcm(true, key, r.nonce, r.aad, pt, &ct, r.want_tag));
  r.in = seal ? pt : ct;
  r.want_out = seal ? ct : pt;
  if (!seal) std::memcpy(r.tag, r.want_tag, 16);
  r.out.assign(len, 0xa5);
  r.aead.nonce = r.nonce.data();
  r.aead.aad = r.aad.data();
  r.aead.aad_len = r.aad.size();
  r.aead.tag = r.tag;
  prepare(r.req, seal ? Op::kAesGcmSeal : Op::kAesGcmOpen, h, r.in.data(), len, r.out.data(), len);
  r.req.aead = &r.aead;
}

inline void expect_result(const Record& r, size_t i) {
  EXPECT_EQ(r.out, r.want_out) << "record " << i << " length " << r.in.size();
  if (r.seal) {
    EXPECT_EQ(0, std::memcmp(r.tag, r.want_tag, 16)) << "record " << i;
  }
}

inline KeyHandle register_aes(Engine& eng, const Bytes& key) {
  AesKeyMaterial m;
  m.key.assign(key.begin(), key.end());
  KeyHandle h;
  EXPECT_EQ(eng.register_aes_key(m, &h), Status::kOk);
  return h;
}

}  // namespace gputls::engine::testing
