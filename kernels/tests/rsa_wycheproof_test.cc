// Wycheproof RSASSA-PKCS1-v1_5 signature generation vectors through the host
// twin of the RSA-CRT batch kernel. The kernel does only the raw private
// operation; the EMSA-PKCS1-v1_5 encoding (RFC 8017 section 9.2) is built here,
// as the provider builds it before it submits a request. PKCS#1 v1.5 signing
// is deterministic, so every signature must match the vector bit for bit.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bn_util.h"
#include "gputls/kernels/key_blob.h"
#include "gputls/kernels/rsa_batch.h"
#include "rsa_test_keys.h"

namespace gputls::kernels {
namespace {

using namespace testing;
using nlohmann::json;

// Items per host batch: small enough that each file gives several batches,
// each mixing tests (and keys) of different groups.
constexpr size_t kBatchItems = 16;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct MdFree {
  void operator()(EVP_MD* m) const { EVP_MD_free(m); }
};
using Md = std::unique_ptr<EVP_MD, MdFree>;

std::optional<std::vector<uint8_t>> from_hex(std::string_view s) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s.size() % 2) return std::nullopt;
  std::vector<uint8_t> v(s.size() / 2);
  for (size_t i = 0; i < v.size(); ++i) {
    const int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    v[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return v;
}

std::string to_hex(const std::vector<uint8_t>& v) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : v) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

// A Wycheproof hash name, OpenSSL's name for it and its DER DigestInfo prefix
// (AlgorithmIdentifier with NULL parameters, then the OCTET STRING header),
// copied from RFC 8017 section 9.2, note 1.
struct DigestSpec {
  const char* wycheproof;
  const char* openssl;
  std::vector<uint8_t> prefix;
};

const DigestSpec* find_digest(std::string_view name) {
  static const std::vector<DigestSpec> specs = {
      {"SHA-1", "SHA1", {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14}},
      {"SHA-224",
       "SHA2-224",
       {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04,
        0x1c}},
      {"SHA-256",
       "SHA2-256",
       {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20}},
      {"SHA-384",
       "SHA2-384",
       {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04,
        0x30}},
      {"SHA-512",
       "SHA2-512",
       {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
        0x40}},
      {"SHA-512/224",
       "SHA2-512/224",
       {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x05, 0x05, 0x00, 0x04,
        0x1c}},
      {"SHA-512/256",
       "SHA2-512/256",
       {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x06, 0x05, 0x00, 0x04,
        0x20}},
  };
  for (const auto& s : specs)
    if (name == s.wycheproof) return &s;
  return nullptr;
}

// EM = 0x00 0x01 FF..FF 0x00 || DigestInfo, k bytes (RFC 8017 section 9.2).
// Empty when k is too short for the 8 bytes of padding the RFC requires.
std::vector<uint8_t> emsa_pkcs1_v15(const std::vector<uint8_t>& prefix, const std::vector<uint8_t>& hash, size_t k) {
  const size_t t_len = prefix.size() + hash.size();
  if (k < t_len + 11) return {};
  std::vector<uint8_t> em(k, 0xff);
  em[0] = 0x00;
  em[1] = 0x01;
  em[k - t_len - 1] = 0x00;
  std::copy(prefix.begin(), prefix.end(), em.end() - static_cast<std::ptrdiff_t>(t_len));
  std::copy(hash.begin(), hash.end(), em.end() - static_cast<std::ptrdiff_t>(hash.size()));
  return em;
}

// One group's key, kept whole: the blob for the kernel, the EVP_PKEY for a
// second opinion when a signature does not match.
struct GroupKey {
  Pkey pkey;
  KeyBlob blob;
  uint32_t bytes = 0;  // modulus bytes: the signature length
};

// The key of a group from its PKCS#8 DER, or why the kernels cannot use it.
std::optional<GroupKey> load_group_key(const std::vector<uint8_t>& der, std::string* why) {
  const unsigned char* p = der.data();
  Pkey pkey(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  if (!pkey || !EVP_PKEY_is_a(pkey.get(), "RSA")) {
    *why = "privateKeyPkcs8 is not an RSA private key OpenSSL can decode";
    return std::nullopt;
  }
  RsaFields f;
  try {
    f = rsa_fields(pkey.get());  // throws when a CRT field is missing
  } catch (const std::exception& e) {
    *why = std::string("key without RSA field ") + e.what();
    return std::nullopt;
  }
  GroupKey k;
  k.blob = make_rsa_key_blob(f.n, f.e, f.p, f.q, f.dp, f.dq, f.qinv, why);
  if (k.blob.empty()) {
    auto bits = [](const std::vector<uint8_t>& v) { return BN_num_bits(from_bytes(v).get()); };
    *why += " [n " + std::to_string(bits(f.n)) + " bits, p " + std::to_string(bits(f.p)) + ", q " +
            std::to_string(bits(f.q)) + ", e " + std::to_string(bits(f.e)) + " bits]";
    return std::nullopt;
  }
  k.bytes = static_cast<uint32_t>(f.n.size());
  k.pkey = std::move(pkey);
  return k;
}

struct Vector {
  int tc_id = 0;
  size_t key = 0;  // index into FileRun::keys
  std::vector<uint8_t> em, sig;
};

struct FileRun {
  std::vector<GroupKey> keys;
  std::vector<Vector> vectors;  // valid and acceptable tests of usable groups
  int skipped = 0;              // valid/acceptable tests that cannot be checked, each printed with why
  int not_applicable = 0;       // "invalid" tests: a generation test has no wrong signature to reject
};

// Adds the tests of one group. When the kernels cannot serve the group's key,
// or this test does not know its hash, its valid and acceptable tests are
// counted as skipped and the reason is printed. Returns false with *error on a
// malformed vector file.
bool add_group(const json& g, FileRun& run, std::string* error) {
  const std::string sha = g.at("sha").get<std::string>();
  auto der = from_hex(g.at("privateKeyPkcs8").get<std::string>());
  if (!der) {
    *error = "bad privateKeyPkcs8 hex";
    return false;
  }
  std::string skip_why;
  std::optional<GroupKey> key = load_group_key(*der, &skip_why);
  const DigestSpec* spec = find_digest(sha);
  Md md(spec ? EVP_MD_fetch(nullptr, spec->openssl, nullptr) : nullptr);
  if (key && !md) skip_why = "digest " + sha + " unknown to this test or to OpenSSL";
  const bool usable = key && md;
  if (usable) run.keys.push_back(std::move(*key));

  int skipped = 0;
  for (const json& t : g.at("tests")) {
    const int tc_id = t.at("tcId").get<int>();
    const std::string result = t.at("result").get<std::string>();
    if (result == "invalid") {
      ++run.not_applicable;
      continue;
    }
    if (result != "valid" && result != "acceptable") {
      *error = "tcId " + std::to_string(tc_id) + ": unknown result " + result;
      return false;
    }
    if (!usable) {
      ++skipped;
      continue;
    }
    auto msg = from_hex(t.at("msg").get<std::string>());
    auto sig = from_hex(t.at("sig").get<std::string>());
    if (!msg || !sig) {
      *error = "tcId " + std::to_string(tc_id) + ": bad hex";
      return false;
    }
    std::vector<uint8_t> hash(static_cast<size_t>(EVP_MD_get_size(md.get())));
    unsigned hash_len = 0;
    if (EVP_Digest(msg->data(), msg->size(), hash.data(), &hash_len, md.get(), nullptr) != 1 ||
        hash_len != hash.size()) {
      *error = "tcId " + std::to_string(tc_id) + ": EVP_Digest failed";
      return false;
    }
    std::vector<uint8_t> em = emsa_pkcs1_v15(spec->prefix, hash, run.keys.back().bytes);
    if (em.empty()) {
      std::printf("  skipped tcId %d: modulus too short for a %s DigestInfo\n", tc_id, sha.c_str());
      ++run.skipped;
      continue;
    }
    run.vectors.push_back({tc_id, run.keys.size() - 1, std::move(em), std::move(*sig)});
  }
  if (skipped) {
    std::printf("  skipped group (%s, keySize %d): %d tests: %s\n", sha.c_str(), g.value("keySize", 0), skipped,
                skip_why.c_str());
    run.skipped += skipped;
  }
  return true;
}

// Parses a vector file into keys and encoded messages; nlohmann throws on
// missing fields or wrong types, which is caught here and reported as text.
bool load_file(const std::string& path, FileRun& run, std::string* error) {
  std::ifstream f(path);
  if (!f) {
    *error = "cannot open " + path;
    return false;
  }
  json doc = json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    *error = path + " is not valid JSON";
    return false;
  }
  try {
    if (doc.at("algorithm").get<std::string>() != "RSASSA-PKCS1-v1_5") {
      *error = path + ": not an RSASSA-PKCS1-v1_5 file";
      return false;
    }
    for (const json& g : doc.at("testGroups"))
      if (!add_group(g, run, error)) return false;
  } catch (const json::exception& e) {
    *error = path + ": " + e.what();
    return false;
  }
  return true;
}

// Vector order for the batches: round robin over the keys, so that every batch
// mixes groups, hash sizes and keys the way a server's queue would.
std::vector<size_t> interleaved(const FileRun& run, uint32_t bytes) {
  std::map<size_t, std::vector<size_t>> by_key;
  for (size_t i = 0; i < run.vectors.size(); ++i)
    if (run.keys[run.vectors[i].key].bytes == bytes) by_key[run.vectors[i].key].push_back(i);
  std::vector<size_t> order;
  for (size_t round = 0;; ++round) {
    const size_t before = order.size();
    for (auto& [key, list] : by_key)
      if (round < list.size()) order.push_back(list[round]);
    if (order.size() == before) return order;
  }
}

// Runs the vectors at `order` (all of `bytes`-byte keys) in batches; returns how many matched.
int check_batches(const FileRun& run, const std::vector<size_t>& order, uint32_t bytes) {
  int matched = 0;
  for (size_t start = 0; start < order.size(); start += kBatchItems) {
    const size_t count = std::min(kBatchItems, order.size() - start);
    std::vector<const uint32_t*> keys;
    std::vector<uint8_t> in;
    for (size_t j = 0; j < count; ++j) {
      const Vector& v = run.vectors[order[start + j]];
      keys.push_back(run.keys[v.key].blob.data());
      in.insert(in.end(), v.em.begin(), v.em.end());
    }
    const RsaHostResult r = rsa_crt_host(keys, in, bytes);
    for (size_t j = 0; j < count; ++j) {
      const Vector& v = run.vectors[order[start + j]];
      const std::vector<uint8_t> got = r.item(j, bytes);
      const bool ok = r.status[j] == kRsaOk && got == v.sig;
      EXPECT_EQ(r.status[j], kRsaOk) << "tcId " << v.tc_id;
      EXPECT_EQ(to_hex(got), to_hex(v.sig)) << "tcId " << v.tc_id;
      if (ok) {
        ++matched;
        continue;
      }
      // Tell a kernel fault from an encoding fault in this test: OpenSSL's raw
      // private operation on the same EM must give the vector's signature.
      std::vector<uint8_t> ref;
      try {
        ref = openssl_raw_rsa(run.keys[v.key].pkey.get(), v.em);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "tcId " << v.tc_id << ": OpenSSL reference failed: " << e.what();
      }
      ADD_FAILURE() << "tcId " << v.tc_id << ": kernel output differs; OpenSSL raw RSA on the same EM "
                    << (ref == v.sig ? "matches the vector (kernel bug)" : "differs too (encoding bug in test)")
                    << "; batch item " << j << " of " << count;
    }
  }
  return matched;
}

class RsaWycheproof : public ::testing::TestWithParam<const char*> {};

TEST_P(RsaWycheproof, SignaturesMatchBitExactly) {
  const std::string name = GetParam();
  const std::string path = std::string(GPUTLS_VECTORS_DIR) + "/wycheproof/" + name;
  std::printf("%s\n", name.c_str());
  FileRun run;
  std::string error;
  ASSERT_TRUE(load_file(path, run, &error)) << error;

  std::set<uint32_t> sizes;  // a batch has one modulus size
  for (const Vector& v : run.vectors) sizes.insert(run.keys[v.key].bytes);
  int checked = 0;
  for (uint32_t bytes : sizes) checked += check_batches(run, interleaved(run, bytes), bytes);

  std::printf("  %d groups usable, %d signatures checked bit-exact, %d skipped, %d invalid (not applicable)\n",
              static_cast<int>(run.keys.size()), checked, run.skipped, run.not_applicable);
  EXPECT_EQ(checked, static_cast<int>(run.vectors.size())) << "every loaded vector must match";
  EXPECT_GT(checked, 0) << "no signature of " << name << " was checked";
}

INSTANTIATE_TEST_SUITE_P(Kernels, RsaWycheproof,
                         ::testing::Values("rsa_pkcs1_2048_sig_gen_test.json", "rsa_pkcs1_3072_sig_gen_test.json",
                                           "rsa_pkcs1_4096_sig_gen_test.json"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string s = info.param;
                           return s.substr(0, s.find('.'));  // rsa_pkcs1_2048_sig_gen_test
                         });

}  // namespace
}  // namespace gputls::kernels
