// gputls's post-quantum TLS groups (issue 23): ML-KEM-768 alone (MLKEM768,
// 0x0201) and hybrid with X25519 (X25519MLKEM768, 0x11EC, the ML-KEM part
// first) or P-256 (SecP256r1MLKEM768, 0x11EB, the ECDH part first), as KEM groups
// OpenSSL 3.0's libssl runs through a provider: keymgmt gen on the client
// (its share), paramgen plus the client's share as the encoded public key on
// the server, then the KEM's encapsulate (server) and decapsulate (client).
// Wire formats per draft-ietf-tls-ecdhe-mlkem and
// draft-connolly-tls-mlkem-key-agreement: the same part first in the client
// share, the server share and the shared secret. ML-KEM runs on the engine
// (mlkem768_* ops; its CPU path is the kernels' own code, OpenSSL 3.0 having
// no ML-KEM), the classic half through gputls's X25519 or EC key (engine first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "gputls/engine/secure_bytes.h"
#include "provider.h"
#include "ec_key.h"
#include "x25519_key.h"

namespace gputls::host {

enum class Classic { kNone, kX25519, kP256 };

struct MlkemGroup {
  const char* name;      // as TLS, the keymgmt and the KEM name it
  Classic classic;       // the hybrid's classic half
  bool mlkem_first;      // X25519MLKEM768: ML-KEM part first; SecP256r1MLKEM768: ECDH part first
  size_t classic_pub;    // 0, 32 (X25519) or 65 (uncompressed P-256 point)
  size_t classic_secret; // 0 or 32
  size_t client_share, server_share, secret;
  int security_bits;
};
extern const MlkemGroup kMlkem768Group, kX25519Mlkem768Group, kSecP256r1Mlkem768Group;

constexpr size_t kMlkemEk = 1184, kMlkemDk = 2400, kMlkemCt = 1088, kMlkemSecret = 32;

struct MlkemKey {
  MlkemKey(ProvCtx* p, const MlkemGroup* g) : pc(p), group(g) {}
  MlkemKey(const MlkemKey&) = delete;
  MlkemKey& operator=(const MlkemKey&) = delete;

  ProvCtx* pc;
  const MlkemGroup* group;
  std::vector<uint8_t> ek;  // kMlkemEk bytes when has_public
  engine::SecureBytes dk;   // kMlkemDk bytes when has_private
  std::unique_ptr<X25519Key> x;  // the X25519 half: ours, or the peer's public key
  std::unique_ptr<EcKey> ec;     // the P-256 half, likewise
  // Server: our ephemeral classic key for this peer, kept here rather than on
  // the stack: an ASYNC_JOB paused in its generation or derivation and never
  // resumed is not unwound, while libssl frees this key (and so wipes it and
  // frees its engine slot) in SSL_free.
  std::unique_ptr<X25519Key> own_x;
  std::unique_ptr<EcKey> own_ec;
  // Staging of the ML-KEM operations (seeds, m, dk copies, results): secrets,
  // owned by the key for the same reason, wiped when it is freed.
  engine::SecureBytes scratch_in, scratch_out;
  bool has_public = false, has_private = false;
};

// Client: a fresh key pair (ML-KEM from random d, z; the classic half too).
bool mlkem_generate(MlkemKey* k);
// The client share: ek and the classic public key, in the group's order.
std::vector<uint8_t> mlkem_encoded_public(const MlkemKey& k);
// Server: the client's share as k's public key; false (with the reason on the
// error queue) for a wrong length, an ek failing FIPS 203's modulus check or
// a P-256 point not on the curve (or not uncompressed).
bool mlkem_set_encoded_public(MlkemKey* k, const uint8_t* share, size_t len);
// Server: ct = c and our classic public key, secret = K and the classic shared
// secret, each in the group's order.
bool mlkem_encapsulate(MlkemKey* peer, uint8_t* ct, uint8_t* secret);
// Client: secret from the server's share.
bool mlkem_decapsulate(MlkemKey* k, const uint8_t* ct, size_t ct_len, uint8_t* secret);

}  // namespace gputls::host
