// Stateless SYN cookies: when the half-open backlog is full the SYN-ACK's
// sequence number carries the connection's parameters and a keyed hash, and
// the connection is created only when the final ACK proves the peer got it.
//   bits 31..29  index into a table of MSS values
//   bits 28..25  window scale + 1 (0: the peer offered none)
//   bits 24..0   SipHash of (secret, addresses, ports, peer ISN, the 64 s
//                period, MSS index, window scale): every field the cookie
//                carries is under the MAC, and a forgery is accepted with
//                probability 2^-25 per guess (two periods are tried)
// Cookies are checked only within their lifetime (two periods) after the
// last one was sent: with no recent backlog overflow a stray ACK is never
// taken for one (issue 22.4).
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
  static constexpr uint32_t kMacBits = 25;
  explicit SynCookies(const SipKey& key) : key_(key) {}
  // The cookie for a SYN from (rip, rport) with ISN peer_isn; notes that
  // cookies are in use until two periods from now.
  uint32_t make(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport, uint32_t peer_isn,
                const CookieParams& p, uint64_t now_us);
  // Checks the cookie echoed in an ACK (ack - 1) for a segment whose sequence
  // is peer_isn + 1; the parameters it carried, or nothing if forged, stale,
  // or no cookie was sent within its lifetime.
  std::optional<CookieParams> check(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport, uint32_t peer_isn,
                                    uint32_t cookie, uint64_t now_us) const;
  // A cookie sent within the last two periods could still come back.
  bool recently_sent(uint64_t now_us) const { return sent_ && now_us - last_sent_us_ < 2 * kPeriodUs; }

 private:
  uint32_t mac(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport, uint32_t peer_isn, uint64_t period,
               uint32_t mss_idx, uint32_t ws) const;
  SipKey key_;
  bool sent_ = false;
  uint64_t last_sent_us_ = 0;
};

}  // namespace gputls::net
