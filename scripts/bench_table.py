#!/usr/bin/env python3
"""Prints a Google Benchmark JSON (names op/impl/batch) as a table, with each
engine row's throughput as a ratio of OpenSSL's on the same op in the same run."""
import json
import sys


def main(path):
    with open(path) as f:
        doc = json.load(f)
    ctx = doc.get("context", {})
    rows = [b for b in doc["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    openssl = {}
    for b in rows:
        op, impl = b["name"].split("/")[:2]
        if impl == "openssl" and "items_per_second" in b:
            openssl[op] = b["items_per_second"]
    print(f"host: {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs; GPU: {ctx.get('gputls_gpu', '?')}")
    print(f"{'benchmark':<34} {'ns/item':>12} {'items/s':>14} {'vs OpenSSL':>11}")
    for b in rows:
        name = b["name"]
        if b.get("error_occurred"):
            print(f"{name:<34} {'skipped: ' + b.get('error_message', ''):>39}")
            continue
        ips = b.get("items_per_second", 0.0)
        op, impl = name.split("/")[:2]
        # engine_null computes nothing: a ratio against real work would mislead.
        compare = impl != "engine_null" and op in openssl and ips
        ratio = f"{ips / openssl[op]:.3f}" if compare else ""
        ns = 1e9 / ips if ips else 0.0
        print(f"{name:<34} {ns:>12.1f} {ips:>14.0f} {ratio:>11}")


if __name__ == "__main__":
    main(sys.argv[1])
