// Constant-time check of the host build of AES-GCM (bitsliced AES, key
// schedule, H powers, carry-less GHASH, tag comparison and masked zeroing),
// ctgrind style; see rsa_ct_check.cc for the method.
//
// Run under valgrind memcheck:
//   valgrind -q --error-exitcode=1 --track-origins=yes aes_gcm_ct_check
// Secrets marked undefined: the AES keys (128 and 256 bits), the plaintexts
// to seal and the expected tags of the records to open. Key set-up
// (aes_gcm_key_init) and a batch through the host twin of both kernels run on
// them: a seal, a good open, and opens with a corrupted tag and a corrupted
// ciphertext (refused and zeroed by mask in the same straight-line code).
// memcheck reports any branch or address that depends on a secret. Outputs
// come out tainted (checked) and are marked defined only afterwards, then
// compared with OpenSSL's EVP AES-GCM: the check ran the real path.
//
//   --leaky  negative control: the S-box as a 256-byte table indexed by the
//            secret key bytes and an early-exit tag comparison; valgrind must
//            report it (the ctest expects the run to fail). Exits 0 itself.
#include <valgrind/memcheck.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../aes_gcm_test_util.h"
#include "memcheck_marks.h"

namespace {

using namespace gputls::kernels;
using namespace gputls::kernels::testing;
using namespace gputls::kernels::ct;

bool g_on_valgrind = false;
gputls::kernels::ct::Failures fail("aes_gcm_ct_check");

int check_key(size_t key_len) {
  const std::string name = "AES-" + std::to_string(8 * key_len) + "-GCM";
  Bytes key = random_bytes(key_len);
  std::vector<AesGcmKey> keys(1);
  mark_secret(key.data(), key.size());
  if (!aes_gcm_key_init(keys[0], key.data(), key.size())) fail(name + " key set-up refused");

  // Records: 0 seal, 1 open (good), 2 open with a flipped tag bit, 3 open with a flipped ciphertext bit.
  std::vector<TestRecord> recs(4);
  std::vector<Bytes> plain(4);
  mark_public(key.data(), key.size());  // OpenSSL makes the reference inputs; not checked code
  for (uint32_t i = 0; i < 4; ++i) {
    TestRecord& t = recs[i];
    t.op = i == 0 ? kAesGcmSeal : kAesGcmOpen;
    t.nonce = random_bytes(12);
    t.aad = random_bytes(13);
    plain[i] = random_bytes(i == 0 ? 100 : 40 + 17 * i);
    if (t.op == kAesGcmSeal) {
      t.in = plain[i];
    } else if (!openssl_gcm(true, key, t.nonce, t.aad, plain[i], &t.in, t.tag)) {
      fail("OpenSSL seal");
    }
  }
  recs[2].tag[5] ^= 0x10;
  recs[3].in[7] ^= 0x01;
  mark_secret(key.data(), key.size());
  mark_secret(keys.data(), keys.size());  // round keys and H powers: derived from the key
  mark_public(&keys[0].rk.rounds, 1);     // ... but not the round count
  mark_secret(recs[0].in.data(), recs[0].in.size());
  for (uint32_t i = 1; i < 4; ++i) mark_secret(recs[i].tag, 16);

  const std::vector<uint32_t> status = run_host_batch(keys, recs);

  if (g_on_valgrind) {
    if (undefined_bytes(recs[0].out.data(), recs[0].out.size()) <= 0) fail(name + " ciphertext not tainted");
    if (undefined_bytes(recs[0].tag, 16) <= 0) fail(name + " tag not tainted");
    if (undefined_bytes(recs[1].out.data(), recs[1].out.size()) <= 0) fail(name + " plaintext not tainted");
  }
  mark_public(key.data(), key.size());
  mark_public(keys.data(), keys.size());
  mark_public(status.data(), status.size());
  for (TestRecord& t : recs) {
    mark_public(t.in.data(), t.in.size());
    mark_public(t.out.data(), t.out.size());
    mark_public(t.tag, 16);
  }
  recs[2].tag[5] ^= 0x10;  // back to the tag OpenSSL made

  Bytes ct;
  uint8_t tag[16];
  if (!openssl_gcm(true, key, recs[0].nonce, recs[0].aad, plain[0], &ct, tag) || status[0] != kAesGcmOk ||
      recs[0].out != ct || std::memcmp(recs[0].tag, tag, 16) != 0)
    fail(name + " seal differs from OpenSSL");
  if (status[1] != kAesGcmOk || recs[1].out != plain[1]) fail(name + " open differs from the plaintext");
  for (uint32_t i : {2u, 3u})
    if (status[i] != kAesGcmAuthFailed || recs[i].out != Bytes(recs[i].in.size(), 0))
      fail(name + " corrupted record " + std::to_string(i) + " not refused with its output zeroed");
  OPENSSL_cleanse(keys.data(), sizeof(AesGcmKey));
  return 0;
}

// Negative control: what the check must catch (not inlined: the control
// looks for this function on valgrind's report).
[[gnu::noinline]] void leaky() {
  uint8_t sbox[256];
  for (int x = 0; x < 256; x += 2) {  // the kernel's own S-box, tabulated
    uint8_t a[16] = {}, b[16] = {};
    a[0] = static_cast<uint8_t>(x);
    b[0] = static_cast<uint8_t>(x + 1);
    uint32_t s[8];
    aes::pack(s, a, b);
    aes::detail::sub_bytes(s);
    aes::unpack(a, b, s);
    sbox[x] = a[0];
    sbox[x + 1] = b[0];
  }
  Bytes key = random_bytes(16), tag = random_bytes(16), want = random_bytes(16);
  mark_secret(key.data(), key.size());
  mark_secret(tag.data(), tag.size());
  uint8_t acc = 0;
  for (uint8_t k : key) acc ^= sbox[k];  // secret-indexed load
  bool same = true;
  for (int i = 0; i < 16 && same; ++i) same = tag[i] == want[i];  // early-exit compare: secret branch
  mark_public(&acc, 1);
  std::printf("leaky control: %u %d\n", acc, same ? 1 : 0);
}

}  // namespace

int main(int argc, char** argv) {
  g_on_valgrind = RUNNING_ON_VALGRIND;
  if (argc > 1 && std::string(argv[1]) == "--leaky") {
    leaky();
    return 0;
  }
  check_key(16);
  check_key(32);
  if (!g_on_valgrind) std::printf("aes_gcm_ct_check: not under valgrind: results checked, timing not\n");
  if (fail.count()) return 1;
  std::printf("aes_gcm_ct_check: ok (%s)\n", g_on_valgrind ? "under valgrind" : "no valgrind");
  return 0;
}
