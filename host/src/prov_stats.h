// What the provider did, per operation: how many ran on the engine, how many
// fell back to the CPU in the provider (and why), how many paused an
// ASYNC_JOB. Tests read these to prove offload, never just that a handshake
// worked (OpenSSL silently uses the default provider when an import fails).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace gputls::host {

enum class ProvOp : uint8_t { kRsaSign, kRsaDecrypt, kRsaVerify, kRsaEncrypt,
                             kRsaVerifyRecover, kRsaKeygen,  // public-key recovery; generation (default provider)
                             kX25519Keygen, kX25519Derive,
                             kDhKeygen, kDhDerive, kEcKeygen, kEcdhDerive, kEcdsaSign, kEcdsaVerify,
                             kAesGcmSeal, kAesGcmOpen,  // one per TLS record (or EVP message)
                             kX448Keygen, kX448Derive,  // software only (no X448 kernel)
                             kMlkemKeygen, kMlkemEncaps, kMlkemDecaps,  // ML-KEM-768 (the hybrids' ML-KEM half)
                             kCount };

struct ProvOpStats {
  std::atomic<uint64_t> engine{0};        // completed through the engine
  std::atomic<uint64_t> sw{0};            // computed in the provider's own OpenSSL context
  std::atomic<uint64_t> failed{0};        // reported an error to OpenSSL
  std::atomic<uint64_t> async_paused{0};  // engine requests that paused an ASYNC_JOB
  std::atomic<uint64_t> busy{0};          // engine queue full: ran in software instead
  std::atomic<uint64_t> busy_waited{0};   // engine queue full and the software bound reached: waited for room
  std::atomic<uint64_t> busy_past_bound{0};  // ... in vain (kBusyWaitLimit): ran in software past the bound
  std::atomic<uint64_t> key_refused{0};   // engine refused the key (multi-prime, no CRT): software
  std::atomic<uint64_t> no_wait_fd{0};    // async caller, no descriptor left to pause on: software
};

struct ProvStats {
  std::array<ProvOpStats, static_cast<size_t>(ProvOp::kCount)> ops;
  ProvOpStats& operator[](ProvOp op) { return ops[static_cast<size_t>(op)]; }
  std::string json() const;  // {"rsa_sign": {"engine": .., ...}, ...}
};

const char* prov_op_name(ProvOp op);

}  // namespace gputls::host
