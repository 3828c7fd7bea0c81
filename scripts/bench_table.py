#!/usr/bin/env python3
"""Benchmark tables.
  bench_table.py FILE.json         a Google Benchmark JSON (names op/impl/batch) as a table, each
                                   engine row's throughput as a ratio of OpenSSL's on the same op
  bench_table.py --handshake DIR   gputls-bench sweeps (DIR/handshake_*.json) as a table of ratios,
                                   gputls vs the default provider at each concurrency, plus the
                                   loopback references (DIR/s_time.json) and the post-quantum
                                   sweeps (DIR/pq_*.json: X25519MLKEM768 vs X25519 on gputls);
                                   writes DIR/handshakes.png
"""
import glob
import json
import os
import sys


def micro_table(path):
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
        cycles = f"  {b['cycles_per_op']:.0f} cycles/op" if "cycles_per_op" in b else ""
        print(f"{name:<34} {ns:>12.1f} {ips:>14.0f} {ratio:>11}{cycles}")


def config_name(r):
    kex = r["group"] if r["tls_version"] == "1.3" or "ECDHE" in r["cipher"] else "RSA kex"
    return f"TLS {r['tls_version']} {kex} {r['cert']}"


def load_sweeps(d):
    sweeps = {}
    for path in sorted(glob.glob(os.path.join(d, "handshake_*.json"))):
        runs = json.load(open(path))
        if runs and runs[0].get("mode") == "inproc" and "cpu" in runs[0]:
            sweeps[os.path.basename(path)[len("handshake_"):-len(".json")]] = runs
    return sweeps


def handshake_table(d):
    sweeps = load_sweeps(d)
    if not sweeps:
        sys.exit(f"no gputls-bench sweeps (handshake_*.json) in {d}")
    first = next(iter(sweeps.values()))[0]
    print(f"machine: {first['machine']['cpu']}, {first['machine']['cores']} cores; GPU: "
          f"{next((r['device'] for s in sweeps.values() for r in s if r['provider'] != 'default'), 'none')}; "
          f"{first['openssl']}")
    print("hs/s: handshakes per second; server us: server CPU per handshake (process minus clients and harness); "
          "pk: the public-key ops' CPU with OpenSSL; rest: server minus the pk ops run on the host "
          "(default's rest = libssl's floor); per core: handshakes per server CPU second")
    hdr = (f"{'configuration':<28} {'conc':>5} {'default hs/s':>12} {'gputls hs/s':>12} {'ratio':>6} "
           f"{'server us d/g':>15} {'pk us':>7} {'rest us d/g':>13} {'per core ratio':>14} {'harness':>8}")
    print(hdr)
    for name, runs in sweeps.items():
        by = {}
        for r in runs:
            by.setdefault(r["concurrency"], {})["default" if r["provider"] == "default" else "gputls"] = r
        for conc in sorted(by):
            d_, g = by[conc].get("default"), by[conc].get("gputls")
            if not d_ or not g:
                continue
            dc, gc = d_["cpu"], g["cpu"]
            harness = max(dc["harness_share"], gc["harness_share"])
            print(f"{config_name(g):<28} {conc:>5} {d_['handshakes_per_sec']:>12.0f} {g['handshakes_per_sec']:>12.0f} "
                  f"{g['handshakes_per_sec'] / d_['handshakes_per_sec']:>6.3f} "
                  f"{dc['server_us_per_handshake']:>7.0f}/{gc['server_us_per_handshake']:<7.0f} "
                  f"{dc['pk_us_per_handshake']:>7.0f} "
                  f"{dc['rest_us_per_handshake']:>6.0f}/{gc['rest_us_per_handshake']:<6.0f} "
                  f"{gc['handshakes_per_server_core_sec'] / dc['handshakes_per_server_core_sec']:>14.3f} "
                  f"{100 * harness:>7.1f}%")
    ref = os.path.join(d, "s_time.json")
    if os.path.exists(ref):
        doc = json.load(open(ref))
        print("loopback reference: openssl s_time -new against openssl s_server (one connection at a time), "
              "server CPU from /proc")
        for r in doc.get("s_time", []):
            us = r.get("server_cpu_us_per_connection")
            print(f"  {r['config']:<26} {r['server']:<28} {r['connections_per_sec']:>8.0f} conn/s   "
                  f"server {us if us is None else round(us):>5} us/conn")
        for r in doc.get("gputls_bench_network", []):
            us = r["server_cpu_us_per_handshake"]
            print(f"  gputls-bench --connect {config_name(r):<40} {r['provider']:<17} "
                  f"{r['handshakes_per_sec']:>8.0f} hs/s     server {us if us is None else round(us):>5} us/hs  "
                  f"p99 {r['p99_ms']:.2f} ms")
    host_cost_table(d, sweeps)
    pq_table(d)
    plot(sweeps, os.path.join(d, "handshakes.png"))


def pq_table(d):
    """Post-quantum key exchange (pq_*.json): the same gputls server with X25519 and with
    X25519MLKEM768 at each concurrency, same run. The default provider has no ML-KEM on OpenSSL
    3.0, so the comparison is between groups, not providers."""
    for path in sorted(glob.glob(os.path.join(d, "pq_*.json"))):
        runs = json.load(open(path))
        by = {}
        for r in runs:
            by.setdefault(r["concurrency"], {})[r["group"]] = r
        groups = sorted({r["group"] for r in runs}, key=lambda g: g != "x25519")
        if len(groups) != 2 or not runs:
            continue
        classic, pq = groups
        r0 = runs[0]
        print(f"post-quantum key exchange: {pq} vs {classic}, TLS 1.3, {r0['cert']}, {r0['provider']}"
              f"{' (async)' if r0['async'] else ''}, same run; server us per handshake, pk us (ML-KEM "
              f"timed with gputls's host code), rest us = server minus pk on the host")
        print(f"{'conc':>5} {'hs/s ' + classic:>16} {'hs/s pq':>9} {'server us':>17} {'pq - classic':>12} "
              f"{'pk us':>13} {'rest us':>13}")
        for conc in sorted(by):
            c, q = by[conc].get(classic), by[conc].get(pq)
            if not c or not q:
                continue
            cc, qc = c["cpu"], q["cpu"]
            print(f"{conc:>5} {c['handshakes_per_sec']:>16.0f} {q['handshakes_per_sec']:>9.0f} "
                  f"{cc['server_us_per_handshake']:>8.0f}/{qc['server_us_per_handshake']:<8.0f} "
                  f"{qc['server_us_per_handshake'] - cc['server_us_per_handshake']:>12.0f} "
                  f"{cc['pk_us_per_handshake']:>6.0f}/{qc['pk_us_per_handshake']:<6.0f} "
                  f"{cc['rest_us_per_handshake']:>6.0f}/{qc['rest_us_per_handshake']:<6.0f}")


def host_cost_table(d, sweeps):
    """The server thread's CPU per handshake with the public-key work off it (host_cost_*.json:
    gputls async with GPUTLS_INLINE=2, the CPU backend on the engine's thread, as a GPU would take
    it; with a GPU, the gputls:gpu rows), against libssl's floor (the default provider's rest us
    at the same concurrency; bench.sh measures it again beside the row when the row ran on fewer
    threads, leaving the engine's thread a core). Issue 24's figure: host us <= 1.15x the floor."""
    rows = []
    for name, runs in sweeps.items():
        path = os.path.join(d, f"host_cost_{name}.json")
        both = json.load(open(path)) if os.path.exists(path) else [r for r in runs if r["provider"] == "gputls:gpu"]
        off = [r for r in both if r["provider"] != "default"]
        floor_runs = [r for r in both if r["provider"] == "default"] or runs
        floor = {r["concurrency"]: r["cpu"]["rest_us_per_handshake"] for r in floor_runs if r["provider"] == "default"}
        for r in sorted(off, key=lambda r: (r["concurrency"], bool(r.get("busy_poll")))):
            if r["concurrency"] in floor:
                rows.append((r, floor[r["concurrency"]]))
    if not rows:
        return
    print("host cost with the public-key work off the server's thread: host us = the server's own SSL calls "
          "(cpu.server_calls_us_per_handshake); offload us = the engine's threads doing the public-key work; "
          "floor = libssl's (default's rest us); sleeps/hs = times the server's loop slept waiting on the engine "
          "per handshake (each costs the next step cold caches)")
    print(f"{'configuration':<28} {'loop':<10} {'conc':>5} {'threads':>7} {'floor us':>9} {'host us':>8} "
          f"{'host/floor':>10} {'offload us':>10} {'sleeps/hs':>9}")
    for r, floor in rows:
        c = r["cpu"]
        host = c["server_calls_us_per_handshake"]
        loop = "busy-poll" if r.get("busy_poll") else "sleeping"
        print(f"{config_name(r):<28} {loop:<10} {r['concurrency']:>5} {r['threads']:>7} {floor:>9.1f} {host:>8.1f} "
              f"{host / floor:>10.3f} {c['server_us_per_handshake'] - host:>10.1f} "
              f"{r.get('blocking_polls', float('nan')) / r['handshakes']:>9.2f}")


def plot(sweeps, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401
    n = len(sweeps)
    fig, axes = plt.subplots(2, n, figsize=(5 * n, 8), squeeze=False)
    for i, (name, runs) in enumerate(sweeps.items()):
        top, bottom = axes[0][i], axes[1][i]
        for prov in sorted({r["provider"] for r in runs}, key=lambda p: p != "default"):
            rs = sorted((r for r in runs if r["provider"] == prov), key=lambda r: r["concurrency"])
            label = prov + (" (async)" if rs[0]["async"] else "")
            x = [r["concurrency"] for r in rs]
            top.plot(x, [r["handshakes_per_sec"] for r in rs], marker="o", label=label)
            bottom.plot(x, [r["cpu"]["server_us_per_handshake"] for r in rs], marker="o", label=label)
            if prov == "default":
                bottom.plot(x, [r["cpu"]["rest_us_per_handshake"] for r in rs], linestyle="--", color="gray",
                            label="floor (default minus its pk ops)")
        top.set_title(config_name(runs[0]))
        for ax in (top, bottom):
            ax.set_xscale("log", base=2)
            ax.set_xticks(sorted({r["concurrency"] for r in runs}))
            ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
            ax.set_xlabel("concurrent connections")
            ax.grid(True, alpha=0.3)
            ax.set_ylim(bottom=0)
        top.set_ylabel("handshakes / s")
        bottom.set_ylabel("server CPU us / handshake")
        top.legend()
        bottom.legend()
    machine = next(iter(sweeps.values()))[0]["machine"]
    device = next((r["device"] for s in sweeps.values() for r in s if r["provider"] != "default"), "none")
    fig.suptitle(f"gputls-bench in-process: {machine['cpu']}, {machine['cores']} cores, GPU: {device}")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    print(f"plot: {path}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--handshake":
        handshake_table(sys.argv[2])
    elif len(sys.argv) == 2:
        micro_table(sys.argv[1])
    else:
        sys.exit(__doc__)
