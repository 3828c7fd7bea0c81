#include "net/syn_cookie.h"

#include <array>

namespace gputls::net {

namespace {
constexpr std::array<uint16_t, 8> kMssTable{536, 1024, 1220, 1300, 1360, 1400, 1440, 1460};
}

uint32_t SynCookies::hash20(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport, uint32_t peer_isn,
                            uint32_t t) const {
  uint8_t buf[20];
  store32(buf, rip);
  store32(buf + 4, lip);
  store16(buf + 8, rport);
  store16(buf + 10, lport);
  store32(buf + 12, peer_isn);
  store32(buf + 16, t);
  return uint32_t(siphash24(key_, buf, sizeof buf)) & 0xfffff;
}

uint32_t SynCookies::make(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport, uint32_t peer_isn,
                          const CookieParams& p, uint64_t now_us) const {
  uint32_t t = uint32_t(now_us / kPeriodUs) & 31;
  uint32_t mss_idx = 0;
  for (uint32_t i = 0; i < kMssTable.size(); ++i)
    if (kMssTable[i] <= p.mss) mss_idx = i;
  uint32_t ws = p.has_wscale ? uint32_t(std::min<uint8_t>(p.wscale, 14)) + 1 : 0;
  return t << 27 | mss_idx << 24 | ws << 20 | hash20(rip, rport, lip, lport, peer_isn, t);
}

std::optional<CookieParams> SynCookies::check(Ipv4Addr rip, uint16_t rport, Ipv4Addr lip, uint16_t lport,
                                              uint32_t peer_isn, uint32_t cookie, uint64_t now_us) const {
  uint32_t now_t = uint32_t(now_us / kPeriodUs) & 31;
  uint32_t t = cookie >> 27;
  if (((now_t - t) & 31) > 1) return std::nullopt;  // older than two periods
  if (hash20(rip, rport, lip, lport, peer_isn, t) != (cookie & 0xfffff)) return std::nullopt;
  CookieParams p;
  p.mss = kMssTable[(cookie >> 24) & 7];
  uint32_t ws = (cookie >> 20) & 15;
  p.has_wscale = ws != 0;
  p.wscale = ws ? uint8_t(ws - 1) : 0;
  return p;
}

}  // namespace gputls::net
