// Keys as the engine sees them: raw material registered once, referenced by a
// handle that carries a generation count (so a reused slot never serves a
// stale handle).
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "gputls/engine/op.h"
#include "gputls/engine/secure_bytes.h"

namespace gputls::engine {

struct KeyHandle {
  uint32_t slot = 0;
  uint32_t generation = 0;  // 0 never names a live key
  bool valid() const { return generation != 0; }
  friend bool operator==(const KeyHandle&, const KeyHandle&) = default;
};

// RSA private key with CRT parameters, all big-endian. Two-prime keys with
// CRT parameters only: anything else is refused at registration (kUnsupported)
// and the caller keeps it on its own CPU path.
struct RsaKeyMaterial {
  SecureBytes n, e, d, p, q, dp, dq, qinv;
  uint32_t prime_count = 2;  // as the key says (OpenSSL: number of factors)
};

// P-256 / P-384 private key. The queue key's bits are the curve's (256 / 384).
struct EcKeyMaterial {
  uint32_t curve_bits = 256;  // 256 (P-256, prime256v1) or 384 (P-384, secp384r1)
  SecureBytes priv;           // big-endian scalar d, 1 <= d < n
};

// Finite-field DH private key: prime p (public) and private exponent.
struct DhKeyMaterial {
  SecureBytes p, priv;
};

// AES key for AES-GCM records: 16 or 32 bytes (AES-192 is refused with kBadKey).
// Backends derive their per-key state from it (an EVP context; round keys and
// powers of H in the device's slot table), wiped when the key is freed.
struct AesKeyMaterial {
  SecureBytes key;
};

struct X25519KeyMaterial {
  SecureBytes priv;  // 32 bytes, RFC 7748 little-endian scalar (clamped on use)
};

// Per-backend state derived from the key (an EVP_PKEY, a device copy with
// Montgomery constants, ...). Destroyed, and expected to wipe itself, when the
// last reference to the key goes.
class BackendKeyState {
 public:
  virtual ~BackendKeyState() = default;
  // False once the device knows it cannot serve the key (e.g. its upload
  // failed after registration): the key's requests then go to another device
  // or the CPU, and nothing is held against the device's health.
  virtual bool usable() const { return true; }
};

// The most GPUs one engine drives (GPUTLS_CUDA_DEVICE). A fixed bound keeps
// a key's per-device state in the key itself, with no allocation per key.
inline constexpr uint32_t kMaxDevices = 16;

struct KeyEntry {
  KeyType type = KeyType::kNone;
  uint32_t bits = 0;  // modulus / curve size; the queue key together with the op
  RsaKeyMaterial rsa;
  X25519KeyMaterial x25519;
  DhKeyMaterial dh;
  EcKeyMaterial ec;
  AesKeyMaterial aes;
  // Host backends (the CPU) keep their state by kind.
  std::array<std::unique_ptr<BackendKeyState>, static_cast<size_t>(BackendKind::kCount)> state;
  // Each GPU keeps its own, under the engine's index of that device
  // (Backend::device_index()): a key lives in every device's memory, and a
  // device that could not take it leaves its slot empty.
  std::array<std::unique_ptr<BackendKeyState>, kMaxDevices> device_state;

  BackendKeyState* state_for(BackendKind k) const { return state[static_cast<size_t>(k)].get(); }
  BackendKeyState* device_state_for(uint32_t device_index) const { return device_state[device_index].get(); }
};

}  // namespace gputls::engine
