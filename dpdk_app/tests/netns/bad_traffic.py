#!/usr/bin/env python3
"""Bad traffic at the appliance from inside the namespace (scapy), each kind
sent a known number of times so the test can check the appliance counted it:

  bad IPv4 checksum, bad TCP checksum, invalid flag combinations,
  out-of-window data and in-window RST/SYN on an established
  connection, half-open connections that go silent (the idle timeout reaps
  them), and a SYN flood from spoofed sources.

Spoofed sources are addresses the namespace kernel does not own, so the
appliance's answers reach the wire (and our sniffer) but no kernel RST
cleans up after the attacker. Prints a JSON line with what was sent.
"""
import json
import random
import sys
import time

from scapy.all import IP, TCP, Ether, AsyncSniffer, conf, get_if_hwaddr, sendp  # noqa: E402

conf.verb = 0
iface, server_ip, server_mac = sys.argv[1], sys.argv[2], sys.argv[3]
my_mac = get_if_hwaddr(iface)
rng = random.Random(1234)
L2 = Ether(src=my_mac, dst=server_mac)
sent = {}


def send(pkts, kind):
    sendp([L2 / p for p in pkts], iface=iface)
    sent[kind] = sent.get(kind, 0) + len(pkts)


def spoofed(i):
    return f"10.213.0.{100 + i % 150}"


# 1-3: malformed packets, dropped at parse time.
send([IP(src="10.213.0.60", dst=server_ip, chksum=0x1234) / TCP(sport=1000 + i, dport=7, flags="S")
      for i in range(20)], "ip_bad_checksum")
send([IP(src="10.213.0.60", dst=server_ip) / TCP(sport=1000 + i, dport=7, flags="S", chksum=0x4321)
      for i in range(20)], "tcp_bad_checksum")
bad_flags = ["SF", "SR", "", "FPU", "F"]
send([IP(src="10.213.0.60", dst=server_ip) / TCP(sport=2000 + i, dport=7, flags=bad_flags[i % 5])
      for i in range(20)], "tcp_bad_flags")
# No IPv4 fragments here: DPDK's net_af_packet joins a PACKET_FANOUT group with
# the kernel's DEFRAG flag, so the kernel reassembles (or holds) fragments before
# the appliance sees them. The fragment drop is covered by the unit tests and
# the fuzzer, and is real on a NIC port.

# 5: established connections from spoofed sources (handshakes completed by
# hand), then abused and abandoned.
# lfilter, not a BPF filter: compiling BPF needs tcpdump, which is not installed.
sniffer = AsyncSniffer(iface=iface, store=True,
                       lfilter=lambda p: p.haslayer(TCP) and p.haslayer(IP) and p[IP].src == server_ip)
sniffer.start()
time.sleep(0.5)
conns = []
for i in range(20):
    conns.append({"src": f"10.213.0.{30 + i}", "sport": 40000 + i, "isn": rng.randrange(1 << 32)})
send([IP(src=c["src"], dst=server_ip) / TCP(sport=c["sport"], dport=7, flags="S", seq=c["isn"],
                                            options=[("MSS", 1460), ("WScale", 7)]) for c in conns], "syn_handshake")
time.sleep(1.0)
captured = sniffer.stop()
synacks = {(p[IP].dst, p[TCP].dport): p[TCP].seq for p in captured if p[TCP].flags == "SA"}
established = 0
for c in conns:
    key = (c["src"], c["sport"])
    if key in synacks:
        c["sseq"] = synacks[key] + 1
        established += 1
send([IP(src=c["src"], dst=server_ip) / TCP(sport=c["sport"], dport=7, flags="A", seq=c["isn"] + 1, ack=c["sseq"],
                                            window=512) for c in conns if "sseq" in c], "handshake_ack")
time.sleep(0.3)
c0 = conns[0]
# Data far outside the receive window: dropped, answered with an ACK.
send([IP(src=c0["src"], dst=server_ip) / TCP(sport=c0["sport"], dport=7, flags="A", seq=c0["isn"] + 1 + 50_000_000,
                                             ack=c0["sseq"]) / b"x" for _ in range(5)], "tcp_out_of_window")
# RST inside the window but not at rcv_nxt: challenge ACK, connection kept.
send([IP(src=c0["src"], dst=server_ip) / TCP(sport=c0["sport"], dport=7, flags="R", seq=c0["isn"] + 1 + 1000)
      for _ in range(3)], "tcp_rst_ignored")
# SYN on the established connection: challenge ACK.
send([IP(src=c0["src"], dst=server_ip) / TCP(sport=c0["sport"], dport=7, flags="S", seq=c0["isn"] + 500)
      for _ in range(2)], "tcp_syn_in_window")
time.sleep(0.5)

# 6: SYN flood from spoofed sources; never completed (half-open).
flood = [IP(src=spoofed(i), dst=server_ip) / TCP(sport=10000 + i, dport=7, flags="S", seq=rng.randrange(1 << 32))
         for i in range(3000)]
t0 = time.time()
send(flood, "syn_flood")
sent["syn_flood_seconds"] = round(time.time() - t0, 2)
sent["established_by_hand"] = established
print(json.dumps(sent))
