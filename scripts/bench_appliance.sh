#!/usr/bin/env bash
# Appliance vs kernel TCP, same client, same cores, same run (root; network
# namespace + veth pairs, removed afterwards):
#   - the appliance (DPDK, net_af_packet on a veth) and a kernel TCP server
#     (bench/appliance/kernel_server.cc, same download protocol and bytes)
#     each get CPU 1; the client (bench/appliance/tcp_load.cc) runs on CPU 0
#     in the namespace and talks to one, then the other;
#   - connections/s (64-byte downloads, 32 in flight) and bytes/s (4 x 64 MiB);
#   - per-packet cycles of the appliance's fast path from its stats.
# Writes bench/results/<device>/appliance_tcp.json.
# Usage: scripts/bench_appliance.sh [BUILD_DIR] (default build/host)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build/host}
export APPLIANCE="$root/$build/dpdk_app/port/gputls-appliance"
# APPLIANCE_BEFORE=path/to/an/older/gputls-appliance: each round also runs it
# (same loads, alternating), and the JSON compares its per-packet cycles with
# this build's: a change's before and after in one run (APPLIANCE_BEFORE_LABEL,
# e.g. the commit it was built from, is recorded with it).
APPLIANCE_AFTER=$APPLIANCE
export APPLIANCE_BEFORE=${APPLIANCE_BEFORE:-}
[ -z "$APPLIANCE_BEFORE" ] || [ -x "$APPLIANCE_BEFORE" ] || { echo "APPLIANCE_BEFORE=$APPLIANCE_BEFORE is not executable"; exit 1; }
LOAD="$root/$build/dpdk_app/bench_appliance/appliance_tcp_load"
KSERVER="$root/$build/dpdk_app/bench_appliance/appliance_kernel_server"
for b in "$APPLIANCE" "$LOAD" "$KSERVER"; do
  [ -x "$b" ] || { echo "missing $b: build $build first (cmake --build $build)"; exit 1; }
done
device=$(scripts/device-name.sh)
out="$root/bench/results/$device/appliance_tcp.json"
mkdir -p "$(dirname "$out")"
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}

source dpdk_app/tests/netns/lib.sh
netns_setup
# A second veth pair for the kernel server: host side addressed, other end in
# the namespace.
KVETH_HOST="gtk$ID"; KVETH_NS="gtm$ID"
ip link add "$KVETH_HOST" type veth peer name "$KVETH_NS"
ip link set "$KVETH_NS" netns "$NS"
ip addr add 10.214.0.1/24 dev "$KVETH_HOST"
ip link set "$KVETH_HOST" up
in_ns ip addr add 10.214.0.2/24 dev "$KVETH_NS"
in_ns ip link set "$KVETH_NS" up
ethtool -K "$KVETH_HOST" tx off >/dev/null 2>&1 || true
in_ns ethtool -K "$KVETH_NS" tx off >/dev/null 2>&1 || true
# The veths as stand-ins for NICs (lib.sh): the client's receive processing on its core (CPU 0),
# the kernel server's on its (CPU 1); the appliance's frames copied by af_packet on the sender's
# core (as a NIC's DMA would cost the server nothing) and kept from the kernel's IP stack.
steer_receive "$KVETH_HOST" 1
steer_receive "$VETH_NS" 0 "$NS"
steer_receive "$KVETH_NS" 0 "$NS"
kernel_blind "$VETH_DPDK" on

cpu_ticks() {  # CPU -> "busy total" jiffies from /proc/stat (busy: all but idle and iowait)
  # user nice system idle iowait irq softirq steal (guest time is already in user and nice)
  awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

# One load run, with the share of each core kept busy (from /proc/stat: its processes and the
# kernel's receive work steered there; for the busy-polling appliance its own busy cycles, its
# core reading 100% always): the result's JSON plus client_core_busy, server_core_busy.
load() {  # HOST MODE CONNS SIZE
  local c0 s0 c1 s1 b0="" b1="" r kind=kernel
  [ "$1" = "$SERVER_IP" ] && kind=appliance
  read -r -a c0 < <(cpu_ticks 0); read -r -a s0 < <(cpu_ticks 1)
  [ $kind = kernel ] || b0=$(appliance_busy_core_seconds || true)
  r=$(in_ns taskset -c 0 "$LOAD" --host "$1" --port 9000 --mode "$2" --conns "$3" --size "$4" \
    --seconds "$SECONDS_PER_RUN")
  read -r -a c1 < <(cpu_ticks 0); read -r -a s1 < <(cpu_ticks 1)
  if [ $kind = appliance ]; then sleep 0.3; b1=$(appliance_busy_core_seconds || true); fi  # stats rewritten every 200 ms
  $PY - "$r" "${c0[*]}" "${c1[*]}" "${s0[*]}" "${s1[*]}" "$kind" "$b0" "$b1" <<'PY'
import json, sys
r, c0, c1, s0, s1, kind, b0, b1 = sys.argv[1:]
res = json.loads(r)
def share(a, b):
    (ba, ta), (bb, tb) = map(int, a.split()), map(int, b.split())
    return (bb - ba) / (tb - ta) if tb > ta else None
res["client_core_busy"] = share(c0, c1)
# The appliance: busy cycles over the run (its core always reads 100%), none when its stats
# lack them (an older binary) or the run was too short (bulk: the stats file is rewritten every
# 200 ms); a kernel server: its core from /proc/stat.
if kind == "appliance":
    known = b0 not in ("", "null") and b1 not in ("", "null")
    res["server_core_busy"] = (float(b1) - float(b0)) / res["seconds"] if known and res["seconds"] > 1 else None
else:
    res["server_core_busy"] = share(s0, s1)
print(json.dumps(res))
PY
}

REPEAT=${REPEAT:-3}
: >"$WORK/runs.jsonl"
for round in $(seq "$REPEAT"); do
  # Alternate within the run so background load on the machine hits both alike.
  for server in appliance ${APPLIANCE_BEFORE:+appliance_before}; do
    echo "=== round $round: $server (DPDK worker on CPU 1)"
    [ "$server" = appliance ] && APPLIANCE=$APPLIANCE_AFTER || APPLIANCE=$APPLIANCE_BEFORE
    start_appliance --max-connections 65536 --max-half-open 4096 --time-wait-ms 1000
    for spec in "conn 32 64" "bulk 4 $((64 << 20))"; do
      r=$(load "$SERVER_IP" $spec); echo "$r"
      echo "{\"server\": \"$server\", \"round\": $round, \"result\": $r}" >>"$WORK/runs.jsonl"
    done
    stop_appliance
    cp "$STATS" "$WORK/${server}_stats_$round.json"
    rm -f "$STATS"
  done
  echo "=== round $round: kernel TCP server (CPU 1)"
  taskset -c 1 "$KSERVER" --ip 10.214.0.1 --port 9000 2>"$WORK/kserver.log" &
  KPID=$!
  sleep 0.5
  for spec in "conn 32 64" "bulk 4 $((64 << 20))"; do
    r=$(load 10.214.0.1 $spec); echo "$r"
    echo "{\"server\": \"kernel\", \"round\": $round, \"result\": $r}" >>"$WORK/runs.jsonl"
  done
  kill -TERM $KPID; wait $KPID || true
done

$PY - "$out" "$device" "$WORK" "$REPEAT" <<'PYEOF'
import json, os, statistics, sys
out, device, work, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
runs = [json.loads(l) for l in open(os.path.join(work, "runs.jsonl"))]
def med(server, mode, key):
    return statistics.median(r["result"][key] for r in runs if r["server"] == server and r["result"]["mode"] == mode)
def fast_path(server):
    stats = [json.load(open(os.path.join(work, f"{server}_stats_{i}.json"))) for i in range(1, repeat + 1)]
    return stats, [s["total"]["cycles_per_packet"] for s in stats], [s["total"]["stack_cycles_per_packet"] for s in stats]
stats, cyc, stack_cyc = fast_path("appliance")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
def med_opt(server, mode, key):
    v = [r["result"].get(key) for r in runs if r["server"] == server and r["result"]["mode"] == mode]
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None
def saturated(server, mode):
    c, s = med_opt(server, mode, "client_core_busy"), med_opt(server, mode, "server_core_busy")
    return [side for side, b in (("client", c), ("server", s)) if b is not None and b >= 0.9]
summary = {
  server: {"conns_per_sec": med(server, "conn", "conns_per_sec"),
           "bytes_per_sec": med(server, "bulk", "bytes_per_sec"),
           "conn_client_core_busy": med_opt(server, "conn", "client_core_busy"),
           "conn_server_core_busy": med_opt(server, "conn", "server_core_busy"),
           "conn_saturated": saturated(server, "conn")}
  for server in ("appliance", "kernel")
}
for v in summary.values():  # what one fully busy server core would serve, client-bound or not
    b = v["conn_server_core_busy"]
    v["conns_per_busy_core_sec"] = v["conns_per_sec"] / b if b else None
doc = {
  "benchmark": "appliance_tcp", "device": device, "cpu": cpu, "nproc": os.cpu_count(),
  "transport": "veth pair; appliance via DPDK net_af_packet, kernel server on a kernel socket; receive "
               "processing steered (RPS) to the client's core for the client's ends and to the server's core for the "
               "kernel server's; the appliance's end unsteered (af_packet's copy on the sender's core, as a NIC's DMA) "
               "and its frames dropped after af_packet's tap (nftables netdev ingress), away from the kernel's IP stack",
  "server_cpu": 1, "client_cpu": 0, "rounds": repeat,
  "saturated_note": "per server, connection runs: the side whose core was >= 90% busy (client: CPU 0 from "
                    "/proc/stat, its load generator and its receive work; server: the kernel server's CPU 1 from "
                    "/proc/stat, the busy-polling appliance's own busy cycles)",
  "workload": {"conn": "32 in flight, each a 64-byte download then server close", "bulk": "4 x 64 MiB downloads"},
  "median": summary,
  "ratios_appliance_over_kernel": {
    "conns_per_sec": summary["appliance"]["conns_per_sec"] / summary["kernel"]["conns_per_sec"],
    "bytes_per_sec": summary["appliance"]["bytes_per_sec"] / summary["kernel"]["bytes_per_sec"],
    "conns_per_busy_core_sec": (summary["appliance"]["conns_per_busy_core_sec"] /
                                summary["kernel"]["conns_per_busy_core_sec"]
                                if summary["appliance"]["conns_per_busy_core_sec"] and
                                summary["kernel"]["conns_per_busy_core_sec"] else None),
  },
  "appliance_fast_path": {
    "stack_cycles_per_packet_median": statistics.median(stack_cyc), "stack_cycles_per_packet_rounds": stack_cyc,
    "cycles_per_packet_median": statistics.median(cyc), "cycles_per_packet_rounds": cyc,
    "tsc_hz": stats[0]["tsc_hz"],
    "note": "per rx+tx packet, TSC cycles; stack_: protocol work only (input, timers, services, frame "
            "building); cycles_per_packet adds the driver's tx burst (af_packet sendto: the frame copied into "
            "the veth, whose receive side runs on the client's core) and the rx burst's copy out of af_packet's "
            "ring, so it overstates a NIC",
  },
  "runs": runs,
}
if any(r["server"] == "appliance_before" for r in runs):
    _, bcyc, bstack = fast_path("appliance_before")
    doc["before_after"] = {
      "before_binary": os.environ.get("APPLIANCE_BEFORE", ""),
      "before_label": os.environ.get("APPLIANCE_BEFORE_LABEL", ""),  # e.g. the commit it was built from
      "stack_cycles_per_packet": {"before_median": statistics.median(bstack), "after_median": statistics.median(stack_cyc),
                                  "before_rounds": bstack, "after_rounds": stack_cyc},
      "cycles_per_packet": {"before_median": statistics.median(bcyc), "after_median": statistics.median(cyc)},
      "conns_per_sec": {"before": med("appliance_before", "conn", "conns_per_sec"), "after": summary["appliance"]["conns_per_sec"]},
      "bytes_per_sec": {"before": med("appliance_before", "bulk", "bytes_per_sec"), "after": summary["appliance"]["bytes_per_sec"]},
      "note": "alternating rounds of the two binaries in one run, same loads and cores",
    }
    print("before/after:", json.dumps(doc["before_after"]["stack_cycles_per_packet"]))
json.dump(doc, open(out, "w"), indent=1)
print(json.dumps(doc["median"]), json.dumps(doc["ratios_appliance_over_kernel"]),
      "cycles/packet", round(statistics.median(cyc), 1), "stack cycles/packet", round(statistics.median(stack_cyc), 1))
print("wrote", out)
PYEOF
