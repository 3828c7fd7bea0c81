#!/usr/bin/env python3
"""The TLS handshakes a Chromium NetLog (--log-net-log) records, one line each.

For every SSL_CONNECT event that ended, prints
    <version> <key exchange group> <cipher suite> resumed=<0|1> error=<net_error or 0>
where the group is Chromium's own report of what the server picked (the
SSL_CONNECT end event's key_exchange_group, an IANA TLS group id) by name, or
by number when unnamed. Exit 1 when the file is not a NetLog.

Usage: chromium_netlog.py NETLOG.json
"""
import json
import sys

GROUPS = {
    23: "secp256r1", 24: "secp384r1", 25: "secp521r1", 29: "x25519", 30: "x448",
    0x11EB: "SecP256r1MLKEM768", 0x11EC: "X25519MLKEM768", 0x11ED: "SecP384r1MLKEM1024",
    0x0201: "MLKEM768", 0x6399: "X25519Kyber768Draft00",
}


def main():
    try:
        with open(sys.argv[1]) as f:
            log = json.load(f)
        types = log["constants"]["logEventTypes"]
        end = log["constants"]["logEventPhase"]["PHASE_END"]
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"{sys.argv[1]}: not a complete Chromium NetLog ({e})")
    ssl_connect = types["SSL_CONNECT"]
    for e in log["events"]:
        if e.get("type") != ssl_connect or e.get("phase") != end:
            continue
        p = e.get("params", {})
        group = p.get("key_exchange_group", 0)
        print(p.get("version", "?").replace(" ", ""), GROUPS.get(group, f"group_{group}"),
              f"0x{p.get('cipher_suite', 0):04x}", f"resumed={int(bool(p.get('is_resumed')))}",
              f"error={p.get('net_error', 0)}")


if __name__ == "__main__":
    main()
