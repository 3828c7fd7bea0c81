// Constant-time check of the host build of ML-KEM-768 (key generation,
// encapsulation, decapsulation with its re-encryption compare and implicit
// rejection), ctgrind style; see rsa_ct_check.cc for the method.
//
// Run under valgrind memcheck:
//   valgrind -q --error-exitcode=1 --track-origins=yes mlkem_ct_check
// Secrets marked undefined: the key-generation seeds d and z, the message m
// of encapsulation, and the decapsulation key's secret parts (dk_PKE and z).
// Public: ek (and its copy and hash inside dk), ciphertexts, and rho, which
// keygen declassifies itself (GT_DECLASSIFY). memcheck reports any branch or
// address that depends on a secret. The shared secrets come out tainted
// (checked) and are compared afterwards: both sides agree, and a changed
// ciphertext gives J(z || c) as OpenSSL's SHAKE256 computes it.
//
//   --leaky  negative control: an early-exit ciphertext compare and a table
//            indexed by a secret byte; valgrind must report both.
#include <openssl/evp.h>
#include <valgrind/memcheck.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "../aes_gcm_test_util.h"
#include "gputls/kernels/mlkem.h"
#include "memcheck_marks.h"

namespace {

using namespace gputls::kernels;
using namespace gputls::kernels::testing;
using namespace gputls::kernels::ct;

bool g_on_valgrind = false;
gputls::kernels::ct::Failures fail("mlkem_ct_check");

Bytes shake256(const Bytes& in, size_t n) {
  Bytes out(n);
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHAKE256", nullptr);
  if (!c || !md || EVP_DigestInit_ex(c, md, nullptr) != 1 || EVP_DigestUpdate(c, in.data(), in.size()) != 1 ||
      EVP_DigestFinalXOF(c, out.data(), n) != 1)
    fail("OpenSSL SHAKE256");
  EVP_MD_free(md);
  EVP_MD_CTX_free(c);
  return out;
}

void check() {
  const auto& tab = mlkem::tables();
  Bytes d = random_bytes(32), z = random_bytes(32), m = random_bytes(32);
  Bytes ek(mlkem::kEkBytes), dk(mlkem::kDkBytes), c(mlkem::kCtBytes);
  mark_secret(d.data(), d.size());
  mark_secret(z.data(), z.size());
  mlkem::keygen(ek.data(), dk.data(), d.data(), z.data(), tab);
  if (g_on_valgrind && undefined_bytes(ek.data(), ek.size()) <= 0) fail("keygen: ek not tainted by the seeds");
  mark_public(ek.data(), ek.size());                               // published
  mark_public(dk.data() + mlkem::kDkPkeBytes, mlkem::kEkBytes + 32);  // ek and H(ek) inside dk

  uint8_t k1[32], k2[32], k3[32];
  mark_secret(m.data(), m.size());
  if (!mlkem::encaps(k1, c.data(), ek.data(), m.data(), tab)) fail("encaps refused a fresh key");
  mark_public(c.data(), c.size());  // sent in the clear
  if (!mlkem::decaps(k2, dk.data(), c.data(), tab)) fail("decaps refused a fresh key");
  Bytes bad = c;
  bad[100] ^= 0x20;
  if (!mlkem::decaps(k3, dk.data(), bad.data(), tab)) fail("decaps refused a fresh key (changed ciphertext)");
  if (g_on_valgrind && (undefined_bytes(k1, 32) <= 0 || undefined_bytes(k2, 32) <= 0 || undefined_bytes(k3, 32) <= 0))
    fail("shared secrets not tainted");

  mark_public(k1, 32);
  mark_public(k2, 32);
  mark_public(k3, 32);
  mark_public(z.data(), z.size());
  if (std::memcmp(k1, k2, 32) != 0) fail("decaps differs from encaps");
  Bytes zc = z;
  zc.insert(zc.end(), bad.begin(), bad.end());
  if (Bytes(k3, k3 + 32) != shake256(zc, 32)) fail("implicit rejection is not J(z || c)");
}

// Negative control: what the check must catch (not inlined: the control
// looks for this function on valgrind's report).
[[gnu::noinline]] void leaky() {
  Bytes c = random_bytes(mlkem::kCtBytes), c2 = c, m = random_bytes(32);
  mark_secret(c2.data(), c2.size());
  mark_secret(m.data(), m.size());
  static uint8_t table[256];
  for (int i = 0; i < 256; ++i) table[i] = static_cast<uint8_t>(i * 7);
  bool same = true;
  for (size_t i = 0; i < c.size() && same; ++i) same = c[i] == c2[i];  // early-exit compare: secret branch
  uint8_t acc = 0;
  for (uint8_t b : m) acc ^= table[b];  // secret-indexed load
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
  check();
  if (!g_on_valgrind) std::printf("mlkem_ct_check: not under valgrind: results checked, timing not\n");
  if (fail.count()) return 1;
  std::printf("mlkem_ct_check: ok (%s)\n", g_on_valgrind ? "under valgrind" : "no valgrind");
  return 0;
}
