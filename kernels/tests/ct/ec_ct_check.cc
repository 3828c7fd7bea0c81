// Constant-time check of the host build of the P-256 / P-384 kernels (scalar
// multiplication, fixed-base keygen, ECDH, ECDSA sign) and of the fixed-base
// X25519 keygen, ctgrind style; see rsa_ct_check.cc for the method.
//
// Run under valgrind memcheck:
//   valgrind -q --error-exitcode=1 --track-origins=yes ec_ct_check
// Secrets marked undefined: private keys d and nonces k. The batch body runs
// (ec_batch_host: the kernel's own item body); memcheck reports any branch or
// memory address that depends on them. The ECDH shared secret, public keys and
// signatures come out tainted (checked: proof they were computed from the
// secrets) and are marked defined only after the checked region. Statuses are
// derived from the secrets (range checks) and masked too.
//
// The check proves it ran the real path: keygen equals OpenSSL's public key,
// ECDH equals EVP_PKEY_derive, signatures verify with OpenSSL, an invalid peer
// and a zero key are refused (by masks, inside the same straight-line code).
//
//   --leaky        negative control: a textbook double-and-add scalar
//                  multiplication built from the same point functions,
//                  branching on the secret scalar's bits; valgrind must report
//                  it (the ctest expects the run to fail). Exits 0 itself.
//   --leaky=table  negative control for the fixed-base tables: k G read from
//                  the same table by indexing it with the secret digits (what
//                  the masked scan avoids); valgrind must report it.
#include <openssl/evp.h>
#include <valgrind/memcheck.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "ec_test_util.h"
#include "gputls/kernels/x25519.h"
#include "memcheck_marks.h"

namespace {

using namespace gputls::kernels;
using namespace gputls::kernels::testing;

bool g_on_valgrind = false;
gputls::kernels::ct::Failures fail("ec_ct_check");

using namespace gputls::kernels::ct;

// One curve's batch: items 0 keygen, 1 derive, 2 derive with an invalid peer, 3
// sign, 4 keygen with a zero key (refused).
struct CurveRun {
  uint32_t curve;
  size_t B;
  EcKey key, peer;
  std::vector<uint32_t> ops{ec::kEcKeygen, ec::kEcDerive, ec::kEcDerive, ec::kEcSign, ec::kEcKeygen};
  std::vector<uint32_t> index{0, 0, 0, 0, 1}, status;
  Bytes scalars, nonces, points, digests, out, want_shared;
  EcBatch b;

  explicit CurveRun(uint32_t c) : curve(c), B(coord_bytes(c)), key(openssl_keygen(c)), peer(openssl_keygen(c)) {
    const uint32_t n = static_cast<uint32_t>(ops.size());
    scalars = key.priv;
    scalars.resize(2 * B, 0);  // slot 1: zero
    nonces = random_bytes(n * B);
    Bytes bad = peer.pub;
    bad[2 * B - 1] ^= 1;
    for (uint32_t i = 0; i < n; ++i) {
      const Bytes& q = i == 2 ? bad : peer.pub;
      points.insert(points.end(), q.begin(), q.end());
    }
    digests = random_bytes(n * B);
    out.assign(n * 2 * B, 0xcc);
    status.assign(n, 0xffffffffu);
    want_shared = openssl_derive(key.pkey.get(), peer.pkey.get());
    b.ops = ops.data();
    b.scalars = scalars.data();
    b.scalar_index = index.data();
    b.nonces = nonces.data();
    b.points = points.data();
    b.digests = digests.data();
    b.digest_bytes = static_cast<uint32_t>(B);
    b.out = out.data();
    b.status = status.data();
    b.count = n;
    b.curve = c;
  }
  Bytes item(uint32_t i, size_t len) const {
    return Bytes(out.begin() + static_cast<long>(i * 2 * B), out.begin() + static_cast<long>(i * 2 * B + len));
  }
  void mark_secrets() {
    mark_secret(scalars.data(), scalars.size());
    mark_secret(nonces.data(), nonces.size());
  }
  void check_tainted() {
    if (!g_on_valgrind) return;
    if (undefined_bytes(out.data(), 2 * B) <= 0) fail(std::string(group_name(curve)) + " keygen output not tainted");
    if (undefined_bytes(out.data() + 2 * B, B) <= 0) fail(std::string(group_name(curve)) + " ECDH output not tainted");
    if (undefined_bytes(out.data() + 6 * B, 2 * B) <= 0)
      fail(std::string(group_name(curve)) + " signature not tainted");
  }
  void mark_all_public() {
    mark_public(scalars.data(), scalars.size());
    mark_public(nonces.data(), nonces.size());
    mark_public(out.data(), out.size());
    mark_public(status.data(), status.size());
  }
  void verify_results() {
    const std::string g = group_name(curve);
    if (status[0] != ec::kEcOk || item(0, 2 * B) != key.pub) fail(g + " keygen differs from OpenSSL");
    if (status[1] != ec::kEcOk || item(1, B) != want_shared) fail(g + " ECDH differs from OpenSSL");
    if (status[2] != ec::kEcBadPoint || item(2, B) != Bytes(B, 0)) fail(g + " invalid peer not refused");
    const Bytes digest(digests.begin() + static_cast<long>(3 * B), digests.begin() + static_cast<long>(4 * B));
    if (status[3] != ec::kEcOk || !openssl_verify_digest(key.pkey.get(), digest, rs_to_der(item(3, 2 * B))))
      fail(g + " signature does not verify with OpenSSL");
    if (status[4] != ec::kEcBadScalar || item(4, 2 * B) != Bytes(2 * B, 0)) fail(g + " zero key not refused");
  }
};

// OpenSSL's X25519 public key for a raw private key (empty on failure).
Bytes openssl_x25519_public(const uint8_t* priv) {
  Pkey k(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv, 32));
  Bytes pub(32);
  size_t len = pub.size();
  if (!k || EVP_PKEY_get_raw_public_key(k.get(), pub.data(), &len) != 1 || len != 32) return {};
  return pub;
}

// X25519 fixed-base keygen: a random scalar and one whose signed digits all
// carry (0x88 bytes).
struct X25519Run {
  std::vector<uint8_t> scalars, out;
  std::vector<uint32_t> status;
  X25519Batch b;

  X25519Run() : scalars(64), out(64, 0xcc), status(2, 0xffffffffu) {
    const Bytes r = random_bytes(32);
    std::copy(r.begin(), r.end(), scalars.begin());
    std::fill(scalars.begin() + 32, scalars.end(), 0x88);
    b.scalars = scalars.data();
    b.out = out.data();
    b.status = status.data();
    b.count = 2;
    b.op = kX25519Keygen;
  }
  void check_tainted() {
    if (g_on_valgrind && undefined_bytes(out.data(), out.size()) <= 0) fail("X25519 keygen output not tainted");
  }
  void mark_all_public() {
    mark_public(scalars.data(), scalars.size());
    mark_public(out.data(), out.size());
    mark_public(status.data(), status.size());
  }
  void verify_results() {
    for (size_t i = 0; i < 2; ++i) {
      const Bytes want = openssl_x25519_public(scalars.data() + 32 * i);
      const Bytes got(out.begin() + static_cast<long>(32 * i), out.begin() + static_cast<long>(32 * i + 32));
      if (status[i] != kX25519Ok || want.empty() || got != want) fail("X25519 keygen differs from OpenSSL");
    }
  }
};

int run_check() {
  CurveRun p256(ec::kEcP256), p384(ec::kEcP384);
  X25519Run x25519;
  // The public fixed-base tables, built before the checked region (their
  // construction involves no secret).
  ec::base_table_host(ec::kEcP256);
  ec::base_table_host(ec::kEcP384);
  ed25519::base_table_host();

  const unsigned long errors_before = errors_so_far();
  p256.mark_secrets();
  p384.mark_secrets();
  mark_secret(x25519.scalars.data(), x25519.scalars.size());
  if (g_on_valgrind &&
      (undefined_bytes(p256.scalars.data(), p256.scalars.size()) != static_cast<long>(p256.scalars.size()) ||
       undefined_bytes(p384.nonces.data(), p384.nonces.size()) != static_cast<long>(p384.nonces.size())))
    fail("secrets are not marked undefined");

  // ---- Checked region: only the kernels' own code.
  ec_batch_host(p256.b);
  ec_batch_host(p384.b);
  x25519_batch_host(x25519.b);
  // ---- End of checked region.

  p256.check_tainted();
  p384.check_tainted();
  x25519.check_tainted();
  p256.mark_all_public();
  p384.mark_all_public();
  x25519.mark_all_public();
  const unsigned long errors_in_region = errors_so_far() - errors_before;

  p256.verify_results();
  p384.verify_results();
  x25519.verify_results();
  std::printf(
      "ec_ct_check: P-256 and P-384: fixed-base keygen, ECDH (valid and invalid "
      "peer), ECDSA sign, zero key; X25519 fixed-base keygen x2\n");
  if (g_on_valgrind)
    std::printf("ec_ct_check: memcheck errors in the checked region: %lu\n", errors_in_region);
  else
    std::printf(
        "ec_ct_check: NOTE not running under valgrind: results "
        "verified, constant time NOT checked\n");
  if (fail.count()) return 1;
  std::printf("ec_ct_check: results match OpenSSL%s\n",
              g_on_valgrind ? (errors_in_region ? "; secret-dependent branches/indices FOUND (see above)"
                                                : "; no secret-dependent branch or index")
                            : "");
  return errors_in_region ? 1 : 0;
}

// ---- Negative control: a variable-time scalar multiplication (must be
// reported).
[[gnu::noinline]] void leaky_scalar_mul(ec::Point& r, const ec::Point& p, const uint32_t* k, const ec::Curve& c) {
  ec::set_infinity(r, c);
  for (int bit = 32 * c.limbs - 1; bit >= 0; --bit) {
    ec::point_dbl(r, r, c);
    if ((k[bit / 32] >> (bit % 32)) & 1) ec::point_add(r, r, p, c);
  }
}

// The fixed-base multiplication with the table indexed by the secret digit
// (no scan): memcheck must report the secret-dependent addresses.
[[gnu::noinline]] void leaky_fixed_base(ec::Point& r, const uint32_t* k, const ec::Curve& c, const uint32_t* table) {
  const int L = c.limbs;
  ec::set_infinity(r, c);
  for (int w = 0; w < ec::base_table_windows(L); ++w) {
    const uint32_t v = (k[w / 8] >> (4 * (w % 8))) & 15u;
    const uint32_t* e = table + (static_cast<size_t>(w) * ec::kCombEntries + ((v + 14) % 15)) * 2 * L;
    ec::Point q;
    mp::copy(q.x, e, L);
    mp::copy(q.y, e + L, L);
    mp::copy(q.z, c.onep, L);
    ec::point_add(r, r, q, c);  // wrong for digit 0, which does not matter here
  }
}

int run_leaky_table() {
  const ec::Curve& c = ec::curve(ec::kEcP256);
  const uint32_t* table = ec::base_table_host(ec::kEcP256);
  Bytes d = random_bytes(32);
  uint32_t k[ec::kMaxLimbs] = {};
  mark_secret(d.data(), d.size());
  mp::from_be(k, d.data(), c.limbs);
  ec::Point r;
  const unsigned long e0 = errors_so_far();
  leaky_fixed_base(r, k, c, table);
  std::printf("ec_ct_check --leaky=table: table indexed by secret digits %s\n",
              !g_on_valgrind         ? "ran (not under valgrind: nothing can report it)"
              : errors_so_far() > e0 ? "reported"
                                     : "NOT reported");
  mark_public(d.data(), d.size());
  return 0;
}

int run_leaky() {
  const ec::Curve& c = ec::curve(ec::kEcP256);
  Bytes d = random_bytes(32);
  uint32_t k[ec::kMaxLimbs] = {};
  mark_secret(d.data(), d.size());
  mp::from_be(k, d.data(), c.limbs);
  ec::Point g, r;
  ec::generator(g, c);
  const unsigned long e0 = errors_so_far();
  leaky_scalar_mul(r, g, k, c);
  std::printf("ec_ct_check --leaky: double-and-add on a secret scalar %s\n",
              !g_on_valgrind         ? "ran (not under valgrind: nothing can report it)"
              : errors_so_far() > e0 ? "reported"
                                     : "NOT reported");
  mark_public(d.data(), d.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  g_on_valgrind = RUNNING_ON_VALGRIND != 0;
  bool leaky = false, leaky_table = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--leaky") {
      leaky = true;
    } else if (a == "--leaky=table") {
      leaky_table = true;
    } else {
      std::fprintf(stderr, "usage: %s [--leaky | --leaky=table]\n", argv[0]);
      return 2;
    }
  }
  try {
    return leaky_table ? run_leaky_table() : leaky ? run_leaky() : run_check();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ec_ct_check: set-up failed: %s\n", e.what());
    return 1;
  }
}
