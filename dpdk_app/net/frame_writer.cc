#include "net/frame_writer.h"

#include <cstring>

#include "net/checksum.h"

namespace gputls::net {

namespace {
size_t padded(size_t len) { return len < kEthMinFrame ? kEthMinFrame : len; }
}  // namespace

uint8_t* FrameWriter::begin_ipv4(const MacAddr& dst_mac, Ipv4Addr dst_ip, uint8_t proto, size_t l4_len) {
  size_t len = kEthHeaderLen + kIpv4MinHeaderLen + l4_len;
  uint8_t* f = sink_.begin_frame(padded(len));
  if (!f) {
    stats_.drop(Drop::kTxNoBuffer);
    return nullptr;
  }
  store_mac(f, dst_mac);
  store_mac(f + 6, mac_);
  store16(f + 12, kEtherTypeIpv4);
  uint8_t* ip = f + kEthHeaderLen;
  ip[0] = 0x45;
  ip[1] = 0;
  store16(ip + 2, uint16_t(kIpv4MinHeaderLen + l4_len));
  store16(ip + 4, ip_id_++);
  store16(ip + 6, kIpFlagDontFragment);
  ip[8] = 64;
  ip[9] = proto;
  store16(ip + 10, 0);
  store32(ip + 12, ip_);
  store32(ip + 16, dst_ip);
  frame_ = f;
  frame_len_ = len;
  return ip + kIpv4MinHeaderLen;
}

void FrameWriter::commit_ipv4() {
  uint8_t* ip = frame_ + kEthHeaderLen;
  store16(ip + 10, checksum_finish(checksum_partial(ip, kIpv4MinHeaderLen)));
  if (frame_len_ < kEthMinFrame) std::memset(frame_ + frame_len_, 0, kEthMinFrame - frame_len_);
  size_t len = padded(frame_len_);
  sink_.commit_frame(len);
  stats_.tx_packets.add();
  stats_.tx_bytes.add(len);
  frame_ = nullptr;
}

bool FrameWriter::send_arp(uint16_t op, const MacAddr& eth_dst, const MacAddr& target_mac, Ipv4Addr target_ip) {
  uint8_t* f = sink_.begin_frame(kEthMinFrame);
  if (!f) {
    stats_.drop(Drop::kTxNoBuffer);
    return false;
  }
  std::memset(f, 0, kEthMinFrame);
  store_mac(f, eth_dst);
  store_mac(f + 6, mac_);
  store16(f + 12, kEtherTypeArp);
  uint8_t* a = f + kEthHeaderLen;
  store16(a, 1);                // hardware: Ethernet
  store16(a + 2, kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  store16(a + 6, op);
  store_mac(a + 8, mac_);
  store32(a + 14, ip_);
  store_mac(a + 18, target_mac);
  store32(a + 24, target_ip);
  sink_.commit_frame(kEthMinFrame);
  stats_.tx_packets.add();
  stats_.tx_bytes.add(kEthMinFrame);
  return true;
}

}  // namespace gputls::net
