// Internet checksum (RFC 1071) for IPv4, ICMP and TCP. Computed in software so
// the stack is correct on any port (veth/af_packet offer no offload we can
// trust, see DESIGN.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/wire.h"

namespace gputls::net {

// One's-complement sum of bytes (big-endian 16-bit words), not yet folded.
uint32_t checksum_partial(const uint8_t* data, size_t len, uint32_t sum = 0);
// Folds a partial sum and complements it: the value to put in a header.
uint16_t checksum_finish(uint32_t sum);
// Sum of the TCP/UDP pseudo header.
uint32_t pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, size_t l4_len);

}  // namespace gputls::net
