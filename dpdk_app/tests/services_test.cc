// Echo and download services over the TCP stack, with a peer that ACKs what
// it receives; the download bytes are checked against SHA-256 computed here.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "services/service_mux.h"
#include "sim_peer.h"

using namespace gputls::net;
using namespace gputls::test;
using gputls::services::DownloadPattern;
using gputls::services::ServiceMux;
using gputls::services::ServicePorts;

namespace {
std::string expected_download(size_t n) {
  std::string table;
  for (uint64_t k = 0; table.size() < DownloadPattern::kPeriod; ++k) {
    uint8_t c[8], d[32];
    for (int i = 0; i < 8; ++i) c[i] = uint8_t(k >> (56 - 8 * i));
    SHA256(c, 8, d);
    table.append(reinterpret_cast<char*>(d), 32);
  }
  table.resize(DownloadPattern::kPeriod);
  std::string out;
  while (out.size() < n) out += table.substr(0, std::min(table.size(), n - out.size()));
  return out;
}

struct ServiceRig {
  DownloadPattern pattern;
  ServiceMux mux{ServicePorts{7, 9000}, pattern, 64};
  SimPeer p;
  ServiceRig() : p(TcpConfig{}, &mux) {
    p.stack.tcp().listen(7);
    p.stack.tcp().listen(9000);
  }
  // Receives and ACKs until the server's FIN; returns the data.
  std::string drain(uint16_t sport, uint16_t dport, uint32_t cseq, uint32_t sseq, bool* fin) {
    std::string got;
    *fin = false;
    for (int rounds = 0; rounds < 100000 && !*fin; ++rounds) {
      auto segs = p.take_segments();
      if (segs.empty()) {
        p.advance_us(1000);
        continue;
      }
      for (auto& s : segs) {
        if (s.seq == sseq + got.size()) got += s.data;
        if (s.has(kTcpFin) && s.seq + s.data.size() == sseq + got.size()) *fin = true;
      }
      uint32_t ack = sseq + uint32_t(got.size()) + (*fin ? 1 : 0);
      p.send(sport, cseq, ack, kTcpAck | (*fin ? kTcpFin : 0), "", 65535, {}, dport);
    }
    return got;
  }
};
}  // namespace

TEST(Services, EchoReturnsEveryByteAndClosesAfterPeerFin) {
  ServiceRig r;
  auto sa = r.p.handshake(40000, 1000, {1460, 7}, 7);
  r.p.send(40000, 1001, sa.seq + 1, kTcpAck | kTcpFin, "ping pong", 65535, {}, 7);
  bool fin;
  std::string got = r.drain(40000, 7, 1011, sa.seq + 1, &fin);
  EXPECT_EQ(got, "ping pong");
  EXPECT_TRUE(fin);
}

TEST(Services, DownloadStreamsTheDeterministicPattern) {
  ServiceRig r;
  const size_t n = 3 * DownloadPattern::kPeriod / 2;  // crosses the period
  auto sa = r.p.handshake(40000, 1000, {1460, 7}, 9000);
  std::string req = std::to_string(n) + "\n";
  r.p.send(40000, 1001, sa.seq + 1, kTcpAck, req, 65535, {}, 9000);
  bool fin;
  std::string got = r.drain(40000, 9000, 1001 + uint32_t(req.size()), sa.seq + 1, &fin);
  EXPECT_TRUE(fin);
  ASSERT_EQ(got.size(), n);
  EXPECT_TRUE(got == expected_download(n));
  EXPECT_EQ(r.mux.downloads_completed(), 1u);
}

TEST(Services, MalformedDownloadRequestIsReset) {
  ServiceRig r;
  auto sa = r.p.handshake(40000, 1000, {1460, 7}, 9000);
  r.p.take_segments();
  r.p.send(40000, 1001, sa.seq + 1, kTcpAck, "12x\n", 65535, {}, 9000);
  auto s = r.p.take_segments();
  ASSERT_FALSE(s.empty());
  EXPECT_TRUE(s.back().has(kTcpRst));
  EXPECT_EQ(r.mux.bad_requests(), 1u);
}
