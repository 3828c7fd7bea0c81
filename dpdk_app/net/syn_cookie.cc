#include "net/syn_cookie.h"

#include <algorithm>
#include <array>

namespace gputls::net {

namespace {
constexpr std::array<uint16_t, 8> kMssTable{536, 1024, 1220, 1300, 1360, 1400, 1440, 1460};
constexpr uint32_t kMacMask = (1u << SynCookies::kMacBits) - 1;
}  // namespace

uint32_t SynCookies::mac(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport, uint32_t peer_isn,
                         uint64_t period, uint32_t mss_idx, uint32_t ws) const {
  uint8_t buf[26];
  store32(buf, rip);
  store32(buf + 4, lip);
  store16(buf + 8, rport);
  store16(buf + 10, lport);
  store32(buf + 12, peer_isn);
  store32(buf + 16, uint32_t(period >> 32));
  store32(buf + 20, uint32_t(period));
  buf[24] = uint8_t(mss_idx);
  buf[25] = uint8_t(ws);
  return uint32_t(siphash24(key_, buf, sizeof buf)) & kMacMask;
}

uint32_t SynCookies::make(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport, uint32_t peer_isn,
                          const CookieParams& p, uint64_t now_us) {
  sent_ = true;
  last_sent_us_ = now_us;
  uint32_t mss_idx = 0;
  for (uint32_t i = 0; i < kMssTable.size(); ++i)
    if (kMssTable[i] <= p.mss) mss_idx = i;
  const uint32_t ws = p.has_wscale ? uint32_t(std::min<uint8_t>(p.wscale, 14)) + 1 : 0;
  return mss_idx << 29 | ws << 25 | mac(rip, rport, lip, lport, peer_isn, now_us / kPeriodUs, mss_idx, ws);
}

std::optional<CookieParams> SynCookies::check(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport,
                                              uint32_t peer_isn, uint32_t cookie, uint64_t now_us) const {
  if (!recently_sent(now_us)) return std::nullopt;
  const uint32_t mss_idx = cookie >> 29, ws = (cookie >> 25) & 15;
  const uint64_t period = now_us / kPeriodUs;
  bool ok = false;
  for (uint64_t age = 0; age < 2 && age <= period && !ok; ++age)  // this period or the one before
    ok = mac(rip, rport, lip, lport, peer_isn, period - age, mss_idx, ws) == (cookie & kMacMask);
  if (!ok) return std::nullopt;
  CookieParams p;
  p.mss = kMssTable[mss_idx];
  p.has_wscale = ws != 0;
  p.wscale = ws ? uint8_t(ws - 1) : 0;
  return p;
}

}  // namespace gputls::net
