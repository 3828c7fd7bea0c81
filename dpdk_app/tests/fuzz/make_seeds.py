#!/usr/bin/env python3
"""Writes the fuzzer's seed inputs (seeds/): records of
[control][len16][frame] as packet_input_fuzzer.cc reads them. Control bit 0
asks the harness to fix checksums, bit 1 to fill the ack with the server's
next sequence number, so seeds stay valid whatever the ISN is."""
import os
import struct

SRV_MAC = bytes.fromhex("020000000001")
CLI_MAC = bytes.fromhex("020000000002")
SRV_IP = bytes([10, 0, 0, 1])
CLI_IP = bytes([10, 0, 0, 2])


def eth(t, payload, dst=SRV_MAC):
    return dst + CLI_MAC + struct.pack("!H", t) + payload


def ipv4(proto, payload, flags=0x4000):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, flags, 64, proto, 0, CLI_IP, SRV_IP) + payload


def tcp(sport, dport, seq, ack, flags, data=b"", opts=b""):
    hl = 20 + len(opts)
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (hl // 4) << 4, flags, 65535, 0, 0) + opts + data


def rec(frame, ctl=1):
    return bytes([ctl]) + struct.pack("!H", len(frame)) + frame


SYN, ACK, FIN, RST, PSH = 2, 16, 1, 4, 8
OPTS = bytes([2, 4, 5, 0xb4, 1, 3, 3, 7])
seeds = {
    "arp_request": rec(eth(0x0806, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, CLI_MAC, CLI_IP, b"\0" * 6,
                                               SRV_IP) + b"\0" * 18, dst=b"\xff" * 6), 0),
    "icmp_echo": rec(eth(0x0800, ipv4(1, struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"ping"))),
    "echo_session": b"".join([
        rec(eth(0x0800, ipv4(6, tcp(40000, 7, 1000, 0, SYN, opts=OPTS)))),
        rec(eth(0x0800, ipv4(6, tcp(40000, 7, 1001, 0, ACK))), 3),
        rec(eth(0x0800, ipv4(6, tcp(40000, 7, 1001, 0, ACK | PSH, b"hello"))), 3),
        rec(eth(0x0800, ipv4(6, tcp(40000, 7, 1006, 0, ACK | FIN))), 3),
        rec(eth(0x0800, ipv4(6, tcp(40000, 7, 1007, 0, ACK))), 3),
    ]),
    "download_session": b"".join([
        rec(eth(0x0800, ipv4(6, tcp(40001, 9000, 5000, 0, SYN, opts=OPTS)))),
        rec(eth(0x0800, ipv4(6, tcp(40001, 9000, 5001, 0, ACK, b"20000\n"))), 3),
        rec(eth(0x0800, ipv4(6, tcp(40001, 9000, 5007, 0, ACK))), 3 | (4 << 2)),
        rec(eth(0x0800, ipv4(6, tcp(40001, 9000, 5007, 0, ACK))), 3 | (20 << 2)),
    ]),
    "ooo_and_rst": b"".join([
        rec(eth(0x0800, ipv4(6, tcp(40002, 7, 7000, 0, SYN, opts=OPTS)))),
        rec(eth(0x0800, ipv4(6, tcp(40002, 7, 7001, 0, ACK))), 3),
        rec(eth(0x0800, ipv4(6, tcp(40002, 7, 7011, 0, ACK, b"later"))), 3),
        rec(eth(0x0800, ipv4(6, tcp(40002, 7, 7001, 0, ACK, b"0123456789"))), 3),
        rec(eth(0x0800, ipv4(6, tcp(40002, 7, 7016, 0, RST))), 1),
    ]),
}
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
os.makedirs(here, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {here}")
