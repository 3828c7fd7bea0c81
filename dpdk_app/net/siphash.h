// SipHash-2-4 (Aumasson & Bernstein), the keyed hash for SYN cookies and
// initial sequence numbers: an attacker who sees cookies cannot forge others.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gputls::net {

struct SipKey { uint64_t k0 = 0, k1 = 0; };
uint64_t siphash24(const SipKey& key, const uint8_t* data, size_t len);

}  // namespace gputls::net
