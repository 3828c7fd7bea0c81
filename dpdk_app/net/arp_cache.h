// Per-core ARP cache (RFC 826): learns from ARP traffic addressed to us,
// resolves addresses by broadcasting requests (at most one per address per
// retry interval). Small and fixed-size: the server mostly answers peers whose
// MAC arrived with their packets.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "net/frame_writer.h"
#include "net/wire.h"

namespace gputls::net {

class ArpCache {
 public:
  static constexpr size_t kEntries = 64;
  static constexpr uint64_t kTtlUs = 300'000'000;        // entries expire after 5 min
  static constexpr uint64_t kRetryUs = 1'000'000;        // one request per second per address

  void learn(Ipv4Addr ip, const MacAddr& mac, uint64_t now_us);
  std::optional<MacAddr> lookup(Ipv4Addr ip, uint64_t now_us) const;
  // The MAC of `ip` if known; otherwise broadcasts a request (rate limited)
  // and returns nothing: the caller retries later.
  std::optional<MacAddr> resolve(Ipv4Addr ip, uint64_t now_us, FrameWriter& out, CoreStats& stats);

 private:
  struct Entry {
    Ipv4Addr ip = 0;
    MacAddr mac{};
    bool valid = false;       // mac known
    uint64_t updated_us = 0;  // learned, or request sent when !valid
  };
  Entry* find(Ipv4Addr ip);
  const Entry* find(Ipv4Addr ip) const;
  Entry& slot_for(Ipv4Addr ip);
  std::array<Entry, kEntries> entries_{};
};

}  // namespace gputls::net
