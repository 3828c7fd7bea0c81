// Constant-time check of the host build of RSA-CRT and modexp, ctgrind style.
//
// Run under valgrind memcheck:
//   valgrind -q --error-exitcode=1 --track-origins=yes rsa_ct_check
// Every secret (the RSA private key words, the modexp exponent, the inputs,
// the scratch that in the engine still holds an earlier request's secrets) is
// marked undefined with VALGRIND_MAKE_MEM_UNDEFINED; the batch body runs; its
// outputs are marked defined again before anyone reads them. memcheck then
// reports any branch ("Conditional jump or move depends on uninitialised
// value(s)") or memory address ("Use of uninitialised value of size 8") that
// depends on a secret inside the checked region. Only kernel code runs in that
// region: keys, inputs and OpenSSL's reference results are all made before it.
//
// The check proves it ran the real path: the results must equal OpenSSL's, the
// outputs must come back tainted by the secrets (so they were computed from
// them), and the secrets must read as undefined once marked.
//
//   --leaky[=branch|index]  negative control: runs only a deliberately secret-
//                           dependent branch and/or secret-indexed load on
//                           marked data; valgrind must report it (the ctest
//                           expects the run to fail). The program itself exits 0.
//
// Outside valgrind the client requests are no-ops: the program still checks
// the results and says that nothing was checked for constant time.
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <valgrind/memcheck.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "bn_util.h"
#include "gputls/kernels/key_blob.h"
#include "gputls/kernels/rsa_batch.h"
#include "gputls/kernels/rsa_key_layout.h"
#include "gputls/kernels/x25519.h"
#include "rsa_test_keys.h"
#include "memcheck_marks.h"

namespace {

using namespace gputls::kernels;
using namespace gputls::kernels::testing;

bool g_on_valgrind = false;
gputls::kernels::ct::Failures fail("rsa_ct_check");

using namespace gputls::kernels::ct;

// The secret words of an RSA-CRT key blob: header p0inv, q0inv, then
// p q dp dq qinv r2p r3p r2q r3q. Public and left defined: h, e, kind, n.
void mark_rsa_key_secret(const uint32_t* k) {
  const int h = static_cast<int>(k[0]);
  mark_secret(k + 1, 2);                                         // p0inv, q0inv
  mark_secret(k + kKeyHeaderWords, 9 * static_cast<size_t>(h));  // p .. r3q
}

// The secret words of a modexp key blob: d. Public: L, m0inv, kind, m, r2m.
void mark_modexp_key_secret(const uint32_t* k) {
  const int l = static_cast<int>(k[0]);
  mark_secret(k + kKeyHeaderWords + 2 * l, static_cast<size_t>(l));
}

// One batch through the host twin (the kernel's own item body), with its buffers.
struct Batch {
  std::vector<const uint32_t*> keys;
  std::vector<uint8_t> in, out;
  std::vector<uint32_t> status, scratch;
  RsaBatch b;

  Batch(BatchOp op, uint32_t bytes, std::vector<const uint32_t*> k, std::vector<uint8_t> inputs)
      : keys(std::move(k)), in(std::move(inputs)) {
    const uint32_t count = static_cast<uint32_t>(keys.size());
    const int limbs = static_cast<int>(bytes / 4);
    out.assign(in.size(), 0xcc);
    status.assign(count, 0xffffffffu);
    b.scratch_words =
        static_cast<uint32_t>(op == kBatchModExp ? modexp_scratch_words(limbs) : rsa_scratch_words(limbs));
    scratch.assign(static_cast<size_t>(count) * b.scratch_words, 0);
    b.keys = keys.data();
    b.in = in.data();
    b.out = out.data();
    b.status = status.data();
    b.scratch = scratch.data();
    b.fault_bit = nullptr;
    b.count = count;
    b.bytes = bytes;
    b.op = op;
  }
  std::vector<uint8_t> item(const std::vector<uint8_t>& v, size_t i) const {
    return {v.begin() + static_cast<long>(i * b.bytes), v.begin() + static_cast<long>((i + 1) * b.bytes)};
  }
  // In the engine, scratch holds whatever the previous request left: secrets.
  void mark_inputs_secret() {
    mark_secret(in.data(), in.size());
    mark_secret(scratch.data(), scratch.size());
  }
  void mark_results_public() {
    mark_public(out.data(), out.size());
    mark_public(status.data(), status.size());
  }
  void restore_defined() {
    mark_public(in.data(), in.size());
    mark_public(scratch.data(), scratch.size());
  }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_check() {
  using clock = std::chrono::steady_clock;
  const auto t_setup = clock::now();

  // ---- Set-up, outside the checked region: keys, inputs, OpenSSL's answers.
  constexpr int kBits = 2048;
  constexpr uint32_t kBytes = kBits / 8;
  BIO* key_file = BIO_new_file(GPUTLS_CT_KEY, "r");
  EVP_PKEY* fixed_key = key_file ? PEM_read_bio_PrivateKey(key_file, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(key_file);
  if (!fixed_key || EVP_PKEY_get_bits(fixed_key) != kBits) {
    fail("cannot read the test key " GPUTLS_CT_KEY);
    return 1;
  }
  TestRsaKey rsa(fixed_key);
  if (rsa.blob.empty()) {
    fail("RSA key blob is empty");
    return 1;
  }
  const std::vector<uint8_t> rsa_in = rsa.random_input();
  const std::vector<uint8_t> rsa_want = rsa.openssl_raw(rsa_in);
  // Second item: input >= n, refused by the masked range check (status and a
  // zero output must come out of the same straight-line code).
  std::vector<uint8_t> rsa_inputs(rsa_in);
  const std::vector<uint8_t> n_be = rsa.n_bytes();
  rsa_inputs.insert(rsa_inputs.end(), n_be.begin(), n_be.end());
  Batch rsa_batch(kBatchRsaCrt, kBytes, {rsa.blob.data(), rsa.blob.data()}, std::move(rsa_inputs));

  Ctx ctx(BN_CTX_new());
  Bn m(BN_new()), d(BN_new()), want(BN_new());
  if (!ctx || !m || !d || !want || !BN_rand(m.get(), kBits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) ||
      !BN_rand(d.get(), kBits - 1, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)) {
    fail("BN set-up");
    return 1;
  }
  Bn x = random_below(m.get());
  if (!x || !BN_mod_exp(want.get(), x.get(), d.get(), m.get(), ctx.get())) {
    fail("BN_mod_exp");
    return 1;
  }
  std::string err;
  KeyBlob mx_blob = make_modexp_key_blob(to_bytes(m.get(), kBytes), to_bytes(d.get(), kBytes), &err);
  if (mx_blob.empty()) {
    fail(("modexp key blob: " + err).c_str());
    return 1;
  }
  const std::vector<uint8_t> mx_want = to_bytes(want.get(), kBytes);
  Batch mx_batch(kBatchModExp, kBytes, {mx_blob.data()}, to_bytes(x.get(), kBytes));
  // X25519: two derive items (a real peer, and a low-order point whose zero
  // secret is refused by mask) and one keygen item; scalars are the secrets.
  std::vector<uint8_t> x_scalars(3 * 32), x_peer(2 * 32, 0), x_out(3 * 32), x_out_keygen(32);
  std::vector<uint32_t> x_status(3), x_index = {0, 1}, x_status_keygen(1);
  RAND_bytes(x_scalars.data(), static_cast<int>(x_scalars.size()));
  EVP_PKEY* x_peer_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  size_t x_len = 32;
  EVP_PKEY_get_raw_public_key(x_peer_key, x_peer.data(), &x_len);  // item 1's peer stays 0: low order
  EVP_PKEY* x_mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, x_scalars.data(), 32);
  std::vector<uint8_t> x_want(32), x_want_pub(32);
  EVP_PKEY_CTX* x_ctx = EVP_PKEY_CTX_new(x_mine, nullptr);
  if (!x_ctx || EVP_PKEY_derive_init(x_ctx) != 1 || EVP_PKEY_derive_set_peer(x_ctx, x_peer_key) != 1 ||
      EVP_PKEY_derive(x_ctx, x_want.data(), &x_len) != 1) {
    fail("OpenSSL X25519 reference");
    return 1;
  }
  EVP_PKEY* x_keygen_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, x_scalars.data() + 64, 32);
  x_len = 32;
  EVP_PKEY_get_raw_public_key(x_keygen_key, x_want_pub.data(), &x_len);
  EVP_PKEY_CTX_free(x_ctx);
  EVP_PKEY_free(x_mine);
  EVP_PKEY_free(x_peer_key);
  EVP_PKEY_free(x_keygen_key);
  X25519Batch x_derive;
  x_derive.scalars = x_scalars.data();
  x_derive.scalar_index = x_index.data();
  x_derive.peer = x_peer.data();
  x_derive.out = x_out.data();
  x_derive.status = x_status.data();
  x_derive.count = 2;
  X25519Batch x_keygen;
  x_keygen.scalars = x_scalars.data() + 64;
  x_keygen.out = x_out_keygen.data();
  x_keygen.status = x_status_keygen.data();
  x_keygen.count = 1;
  x_keygen.op = kX25519Keygen;
  std::printf("rsa_ct_check: set-up (keygen, blobs, OpenSSL reference) %.2fs\n", seconds_since(t_setup));

  // ---- Mark every secret undefined.
  const unsigned long errors_before = errors_so_far();
  mark_rsa_key_secret(rsa.blob.data());
  mark_modexp_key_secret(mx_blob.data());
  rsa_batch.mark_inputs_secret();
  mx_batch.mark_inputs_secret();
  mark_secret(x_scalars.data(), x_scalars.size());

  if (g_on_valgrind) {
    // The harness marks what it means to: secrets undefined, public words defined.
    const RsaKeyView kv = rsa_key_view(rsa.blob.data());
    const ModExpKeyView mv = modexp_key_view(mx_blob.data());
    const size_t hb = 4 * static_cast<size_t>(kv.h), lb = 4 * static_cast<size_t>(mv.l);
    if (undefined_bytes(kv.p, 9 * hb) != static_cast<long>(9 * hb) || undefined_bytes(rsa.blob.data() + 1, 8) != 8 ||
        undefined_bytes(mv.d, lb) != static_cast<long>(lb) ||
        undefined_bytes(rsa_batch.in.data(), rsa_batch.in.size()) != static_cast<long>(rsa_batch.in.size()))
      fail("secrets are not marked undefined");
    if (undefined_bytes(kv.n, 2 * hb) != 0 || undefined_bytes(rsa.blob.data(), 4) != 0 ||
        undefined_bytes(rsa.blob.data() + 3, 3 * 4) != 0 || undefined_bytes(mv.m, 2 * lb) != 0)
      fail("public key words are marked undefined");
  }

  // ---- Checked region: only the kernels' own code.
  const auto t_run = clock::now();
  rsa_batch_host(rsa_batch.b);
  const double rsa_s = seconds_since(t_run);
  const auto t_mx = clock::now();
  rsa_batch_host(mx_batch.b);
  const double mx_s = seconds_since(t_mx);
  x25519_batch_host(x_derive);
  x25519_batch_host(x_keygen);
  // ---- End of checked region.

  // Taint must have flowed from the secrets into the results: proof that the
  // outputs were computed from the marked data, by the code just checked.
  if (g_on_valgrind) {
    if (undefined_bytes(rsa_batch.out.data(), kBytes) <= 0) fail("RSA output is not derived from the secrets");
    if (undefined_bytes(mx_batch.out.data(), kBytes) <= 0) fail("modexp output is not derived from the secrets");
  }
  if (g_on_valgrind && undefined_bytes(x_out.data(), 32) <= 0) fail("X25519 output is not derived from the secrets");
  rsa_batch.mark_results_public();
  mx_batch.mark_results_public();
  for (auto* v : {&x_out, &x_out_keygen, &x_scalars}) mark_public(v->data(), v->size());
  mark_public(x_status.data(), x_status.size());
  mark_public(x_status_keygen.data(), x_status_keygen.size());
  const unsigned long errors_in_region = errors_so_far() - errors_before;

  // Back to defined, so nothing after this (OpenSSL, cleanse, free) reports.
  rsa_batch.restore_defined();
  mx_batch.restore_defined();
  mark_public(rsa.blob.data(), rsa.blob.size());
  mark_public(mx_blob.data(), mx_blob.size());

  // ---- The real path ran: results equal OpenSSL's.
  if (rsa_batch.status[0] != kRsaOk) fail("RSA status is not ok");
  if (rsa_batch.item(rsa_batch.out, 0) != rsa_want) fail("RSA-CRT result differs from OpenSSL");
  if (rsa_batch.status[1] != kRsaInputRange) fail("RSA input >= n not refused");
  if (rsa_batch.item(rsa_batch.out, 1) != std::vector<uint8_t>(kBytes, 0)) fail("RSA output released for input >= n");
  if (mx_batch.status[0] != kRsaOk) fail("modexp status is not ok");
  if (mx_batch.item(mx_batch.out, 0) != mx_want) fail("modexp result differs from BN_mod_exp");
  if (x_status[0] != kX25519Ok || std::vector<uint8_t>(x_out.begin(), x_out.begin() + 32) != x_want)
    fail("X25519 derive differs from OpenSSL");
  if (x_status[1] != kX25519ZeroSecret || std::vector<uint8_t>(x_out.begin() + 32, x_out.begin() + 64) !=
                                              std::vector<uint8_t>(32, 0))
    fail("X25519 low-order peer not refused");
  if (x_status_keygen[0] != kX25519Ok || x_out_keygen != x_want_pub) fail("X25519 keygen differs from OpenSSL");

  std::printf("rsa_ct_check: RSA-%d CRT x2 %.2fs, modexp-%d x1 %.2fs, X25519 derive x2 + keygen x1\n", kBits, rsa_s,
              kBits, mx_s);
  if (g_on_valgrind)
    std::printf("rsa_ct_check: memcheck errors in the checked region: %lu\n", errors_in_region);
  else
    std::printf("rsa_ct_check: NOTE not running under valgrind: results verified, constant time NOT checked\n");
  if (fail.count()) return 1;
  std::printf("rsa_ct_check: results match OpenSSL%s\n",
              g_on_valgrind ? (errors_in_region ? "; secret-dependent branches/indices FOUND (see above)"
                                                : "; no secret-dependent branch or index")
                            : "");
  return errors_in_region ? 1 : 0;
}

// ---- Negative control: code that must be reported.
volatile uint32_t g_sink;
uint8_t g_table[256];

[[gnu::noinline]] void leak_taken() { g_sink = g_sink + 1; }

// A branch on a secret bit (the call keeps it a real jump, not a select).
[[gnu::noinline]] void leak_branch(const uint8_t* secret) {
  if (secret[0] & 1) leak_taken();
}

// A load whose address depends on a secret byte.
[[gnu::noinline]] void leak_index(const uint8_t* secret) { g_sink = g_sink + g_table[secret[1]]; }

const char* verdict(unsigned long errors_before) {
  if (!g_on_valgrind) return "ran (not under valgrind: nothing can report it)";
  return errors_so_far() > errors_before ? "reported" : "NOT reported";
}

int run_leaky(bool branch, bool index) {
  for (int i = 0; i < 256; ++i) g_table[i] = static_cast<uint8_t>(i * 7 + 1);
  uint8_t secret[2] = {0x5b, 0xa7};
  mark_secret(secret, sizeof secret);
  if (branch) {
    const unsigned long e0 = errors_so_far();
    leak_branch(secret);
    std::printf("rsa_ct_check --leaky: secret-dependent branch %s\n", verdict(e0));
  }
  if (index) {
    const unsigned long e0 = errors_so_far();
    leak_index(secret);
    std::printf("rsa_ct_check --leaky: secret-indexed load %s\n", verdict(e0));
  }
  mark_public(secret, sizeof secret);
  return 0;  // valgrind's --error-exitcode turns the reports into a failing exit
}

}  // namespace

int main(int argc, char** argv) {
  g_on_valgrind = RUNNING_ON_VALGRIND != 0;
  bool leaky = false, branch = false, index = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--leaky") {
      leaky = branch = index = true;
    } else if (a == "--leaky=branch") {
      leaky = branch = true;
    } else if (a == "--leaky=index") {
      leaky = index = true;
    } else {
      std::fprintf(stderr, "usage: %s [--leaky[=branch|index]]\n", argv[0]);
      return 2;
    }
  }
  try {
    return leaky ? run_leaky(branch, index) : run_check();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rsa_ct_check: set-up failed: %s\n", e.what());
    return 1;
  }
}
