#include "net/arp_cache.h"

namespace gputls::net {

ArpCache::Entry* ArpCache::find(Ipv4Addr ip) {
  for (auto& e : entries_)
    if (e.ip == ip && e.updated_us != 0) return &e;
  return nullptr;
}

const ArpCache::Entry* ArpCache::find(Ipv4Addr ip) const {
  return const_cast<ArpCache*>(this)->find(ip);
}

// The entry for ip, or the oldest one to reuse.
ArpCache::Entry& ArpCache::slot_for(Ipv4Addr ip) {
  if (Entry* e = find(ip)) return *e;
  Entry* oldest = &entries_[0];
  for (auto& e : entries_) {
    if (e.updated_us == 0) return e;
    if (e.updated_us < oldest->updated_us) oldest = &e;
  }
  return *oldest;
}

void ArpCache::learn(Ipv4Addr ip, const MacAddr& mac, uint64_t now_us) {
  Entry& e = slot_for(ip);
  e.ip = ip;
  e.mac = mac;
  e.valid = true;
  e.updated_us = now_us ? now_us : 1;
}

std::optional<MacAddr> ArpCache::lookup(Ipv4Addr ip, uint64_t now_us) const {
  const Entry* e = find(ip);
  if (!e || !e->valid || now_us - e->updated_us > kTtlUs) return std::nullopt;
  return e->mac;
}

std::optional<MacAddr> ArpCache::resolve(Ipv4Addr ip, uint64_t now_us, FrameWriter& out, CoreStats& stats) {
  if (auto mac = lookup(ip, now_us)) return mac;
  Entry* e = find(ip);
  if (e && !e->valid && now_us - e->updated_us < kRetryUs) return std::nullopt;  // request in flight
  if (!e || e->valid) {
    e = &slot_for(ip);
    e->ip = ip;
    e->valid = false;
  }
  e->updated_us = now_us ? now_us : 1;
  if (out.send_arp(kArpRequest, kBroadcastMac, MacAddr{}, ip)) stats.arp_requests_sent.add();
  return std::nullopt;
}

}  // namespace gputls::net
