// Test helpers for AES-GCM: OpenSSL's EVP AES-GCM as the reference, random
// bytes, hex, and random record batches run through the host twin.
#pragma once

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gputls/kernels/aes_gcm.h"

namespace gputls::kernels::testing {

using Bytes = std::vector<uint8_t>;

inline Bytes unhex(std::string_view s) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("unhex: not hex");
  };
  if (s.size() % 2) throw std::invalid_argument("unhex: odd length");
  Bytes v(s.size() / 2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]));
  return v;
}

inline Bytes random_bytes(size_t n) {
  Bytes v(n);
  if (n && RAND_bytes(v.data(), static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
  return v;
}

inline uint32_t random_u32() {
  uint32_t x;
  if (RAND_bytes(reinterpret_cast<uint8_t*>(&x), 4) != 1) throw std::runtime_error("RAND_bytes failed");
  return x;
}

// OpenSSL's AES-GCM (EVP, default provider). seal: out = ciphertext, tag
// written. open: returns false on a tag mismatch.
inline bool openssl_gcm(bool seal, const Bytes& key, const Bytes& iv, const Bytes& aad, const Bytes& in, Bytes* out,
                        uint8_t tag[16]) {
  const EVP_CIPHER* cipher = key.size() == 16 ? EVP_aes_128_gcm() : key.size() == 24 ? EVP_aes_192_gcm() : EVP_aes_256_gcm();
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  out->assign(in.size(), 0);
  int n = 0;
  bool ok = c && EVP_CipherInit_ex(c, cipher, nullptr, nullptr, nullptr, seal ? 1 : 0) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) == 1 &&
            EVP_CipherInit_ex(c, nullptr, nullptr, key.data(), iv.data(), seal ? 1 : 0) == 1 &&
            (aad.empty() || EVP_CipherUpdate(c, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1) &&
            (in.empty() || EVP_CipherUpdate(c, out->data(), &n, in.data(), static_cast<int>(in.size())) == 1);
  if (ok && !seal) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
  uint8_t fin[16];
  ok = ok && EVP_CipherFinal_ex(c, fin, &n) == 1;
  if (ok && seal) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
  EVP_CIPHER_CTX_free(c);
  return ok;
}

// A record and its buffers, owned by the test.
struct TestRecord {
  uint32_t key = 0;  // index into the test's key list
  uint32_t op = kAesGcmSeal;
  Bytes nonce, aad, in, out;
  uint8_t tag[16] = {};
};

// Runs records through the host twin over the given key states; returns statuses.
inline std::vector<uint32_t> run_host_batch(const std::vector<AesGcmKey>& keys, std::vector<TestRecord>& recs) {
  const uint32_t n = static_cast<uint32_t>(recs.size());
  std::vector<AesGcmRecord> d(n);
  for (uint32_t i = 0; i < n; ++i) {
    TestRecord& t = recs[i];
    t.out.assign(t.in.size(), 0xa5);  // anything the batch fails to overwrite shows
    d[i].in = t.in.data();
    d[i].out = t.out.data();
    d[i].aad = t.aad.data();
    d[i].tag = t.tag;
    d[i].len = static_cast<uint32_t>(t.in.size());
    d[i].aad_len = static_cast<uint32_t>(t.aad.size());
    d[i].key_slot = t.key;
    d[i].op = t.op;
    for (int j = 0; j < 12; ++j) d[i].nonce[j] = t.nonce[j];
  }
  std::vector<uint32_t> start(n + 1), acc(4 * size_t{n}), status(n, 0xdeadbeef);
  AesGcmBatch b;
  b.records = d.data();
  b.chunk_start = start.data();
  b.keys = keys.data();
  b.acc = acc.data();
  b.status = status.data();
  b.count = n;
  b.items = aes_gcm_plan(d.data(), n, start.data());
  aes_gcm_batch_host(b);
  return status;
}

// Payload lengths the issue names, then random ones up to 16640 bytes.
inline uint32_t test_length(uint32_t i) {
  static const uint32_t kFixed[] = {0, 1, 15, 16, 17, 31, 32, 33, 255, 256, 257, 4095, 4096, 16383, 16384, 16640};
  constexpr uint32_t kN = sizeof kFixed / sizeof kFixed[0];
  return i < kN ? kFixed[i] : random_u32() % 16641;
}

// One Wycheproof AEAD vector (aes_gcm_test.json).
struct GcmVector {
  int id = 0;
  std::string result, comment;
  Bytes key, iv, aad, msg, ct, tag;
};

// Every vector of the file; throws when it cannot be read or its count is off.
inline std::vector<GcmVector> load_gcm_vectors(const std::string& path, size_t* declared = nullptr) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  const nlohmann::json j = nlohmann::json::parse(f);
  std::vector<GcmVector> v;
  for (const auto& g : j.at("testGroups")) {
    if (g.at("tagSize").get<int>() != 128) throw std::runtime_error("unexpected tag size in " + path);
    for (const auto& t : g.at("tests")) {
      GcmVector x;
      x.id = t.at("tcId");
      x.result = t.at("result");
      x.comment = t.at("comment");
      x.key = unhex(t.at("key").get<std::string>());
      x.iv = unhex(t.at("iv").get<std::string>());
      x.aad = unhex(t.at("aad").get<std::string>());
      x.msg = unhex(t.at("msg").get<std::string>());
      x.ct = unhex(t.at("ct").get<std::string>());
      x.tag = unhex(t.at("tag").get<std::string>());
      v.push_back(std::move(x));
    }
  }
  if (v.size() != j.at("numberOfTests").get<size_t>()) throw std::runtime_error("test count mismatch in " + path);
  if (declared) *declared = v.size();
  return v;
}

// What the kernels serve: a 96-bit IV and a 128- or 256-bit key.
inline bool gcm_vector_served(const GcmVector& v) {
  return v.iv.size() == 12 && (v.key.size() == 16 || v.key.size() == 32);
}

}  // namespace gputls::kernels::testing
