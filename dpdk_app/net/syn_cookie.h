// Stateless SYN cookies: when the half-open backlog is full the SYN-ACK's
// sequence number carries the connection's parameters and a keyed hash, and
// the connection is created only when the final ACK proves the peer got it.
//   bits 31..27  time counter (64 s periods, mod 32): cookies age out
//   bits 26..24  index into a table of MSS values
//   bits 23..20  window scale + 1 (0: the peer offered none)
//   bits 19..0   SipHash of (secret, addresses, ports, peer ISN, counter)
#pragma once

#include <cstdint>
#include <optional>

#include "net/siphash.h"
#include "net/wire.h"

namespace gputls::net {

struct CookieParams {
  uint16_t mss = 536;
  bool has_wscale = false;
  uint8_t wscale = 0;
};

class SynCookies {
 public:
  static constexpr uint64_t kPeriodUs = 64'000'000;
  explicit SynCookies(const SipKey& key) : key_(key) {}
  uint32_t make(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport, uint32_t peer_isn,
                const CookieParams& p, uint64_t now_us) const;
  // Checks the cookie echoed in an ACK (ack - 1) for a segment whose sequence
  // is peer_isn + 1; the parameters it carried, or nothing if forged or stale.
  std::optional<CookieParams> check(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport, uint32_t peer_isn,
                                    uint32_t cookie, uint64_t now_us) const;

 private:
  uint32_t hash20(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport, uint32_t peer_isn, uint32_t t) const;
  SipKey key_;
};

}  // namespace gputls::net
