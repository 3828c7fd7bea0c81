#!/usr/bin/env bash
# TLS termination: the appliance (DPDK, net_af_packet on a veth) vs HAProxy 2.6
# and nginx 1.22 (kernel TCP on the same veth and address), same certificate,
# same provider, same backend, same client, same cores, same run (root; a
# network namespace made and removed here, dpdk_app/tests/netns/tls_lib.sh):
#   - the server gets CPU 1 (the appliance's worker lcore; HAProxy with one
#     thread, nginx with one worker, under taskset), the clients and the
#     backend (tls_backend.py on 127.0.0.1) CPU 0;
#   - full handshakes/s: gputls-bench --connect, TLS 1.3 X25519 + the CERT
#     certificate (default rsa4096, the only one loaded), a new connection per
#     handshake, one HTTP request each, CONCURRENCY in flight. RSA-4096 makes
#     the server the bottleneck: its private-key operation costs it about 20
#     times the client's verification (with RSA-2048 the client saturated
#     first: about 490 us of client CPU a handshake, so every server measured
#     the client). Both sides' CPU is recorded: gputls-bench's own, and the
#     server's from /proc (--server-pid) or, for the busy-polling appliance, its
#     busy cycles; the JSON says which side saturated (its core >= 90% busy);
#   - 10 MiB download throughput: h2load --h1, 4 connections, 48 downloads of
#     the backend's 10 MiB file (each byte through TLS and the proxy);
#   - pairings of crypto, each the same in every server (PROVIDERS): gputls
#     (engine policy from the environment, default auto: the GPU when there is
#     one), gputls-cpu (GPUTLS_POLICY=cpu), default (OpenSSL's default
#     provider); default PROVIDERS="gputls default", plus gputls-cpu when
#     nvidia-smi sees a GPU (GPU offload vs CPU; the appliance's stats keep the
#     engine's batch sizes);
#   - servers alternate within each round, so background load hits both alike.
# Writes bench/results/<device>/appliance_tls.json (OUT=file to write elsewhere):
# medians per server and pairing, ratios appliance / HAProxy, every run, and the
# appliance's final tls/proxy/gputls stats of each round.
# Usage: scripts/bench_tls_appliance.sh [BUILD_DIR] (default build/host)
#   SERVERS="appliance haproxy nginx" (any subset), CERT=rsa4096 (or rsa2048,
#   the earlier client-bound run), REPEAT=3 rounds, SECONDS_PER_RUN=6,
#   CONCURRENCY=32, PROFILE_DIR=dir (perf profiles of the server's core during each
#   handshake run). nginx loads gputls synchronously (no async in stock nginx).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build/host}
export APPLIANCE="$root/$build/dpdk_app/port/gputls-appliance"
export GPUTLS_PROVIDER="$root/$build/modules/gputls.so"
BENCH="$root/$build/bench/gputls-bench"
SERVERS=${SERVERS:-appliance haproxy nginx}
CERT=${CERT:-rsa4096}
case $CERT in
  rsa4096) TLS_CERTS=rsa4096 ;;
  rsa2048) TLS_CERTS=rsa ;;
  *) echo "CERT=$CERT: rsa4096 or rsa2048"; exit 1 ;;
esac
if [ -z "${PROVIDERS:-}" ]; then
  PROVIDERS="gputls default"
  nvidia-smi -L >/dev/null 2>&1 && PROVIDERS="gputls gputls-cpu default"
fi
REPEAT=${REPEAT:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-6}
CONCURRENCY=${CONCURRENCY:-32}
for b in "$GPUTLS_PROVIDER" "$BENCH" $([[ $SERVERS == *appliance* ]] && echo "$APPLIANCE"); do
  [ -e "$b" ] || { echo "missing $b: build $build first (targets gputls gputls-bench gputls-appliance)"; exit 1; }
done
for tool in h2load $(echo "$SERVERS" | tr ' ' '\n' | grep -v appliance) $([[ $SERVERS == *appliance* ]] && echo nft) \
  ${PROFILE_DIR:+perf}; do
  command -v "$tool" >/dev/null || { echo "$tool missing: run scripts/setup.sh"; exit 1; }
done
device=$(scripts/device-name.sh)
out=${OUT:-$root/bench/results/$device/appliance_tls.json}
mkdir -p "$(dirname "$out")"

TLS_SERVER=${SERVERS%% *}
export GPUTLS_INLINE=${GPUTLS_INLINE:-1}  # the provider's default: batch when a GPU is there, else inline
HAPROXY_CPUS=1
SERVER_CPUS=1
source dpdk_app/tests/netns/tls_lib.sh
tls_setup
taskset -a -pc 0 "$BACKEND_PID" >/dev/null
# The veth as a stand-in for NICs (lib.sh): the clients' receive processing on their core; the
# kernel servers' on theirs; the appliance's frames copied by af_packet on the sender's core
# (as a NIC's DMA would cost the server nothing) and kept from the kernel's IP stack.
steer_receive "$VETH_NS" 0 "$NS"
# The help read whole first: grep -q stopping early could SIGPIPE the appliance, failing the pipe.
[[ $SERVERS != *appliance* ]] || grep -q -- --tls-port <<<"$(timeout 20 "$APPLIANCE" -- --help 2>/dev/null || true)" ||
  { echo "this gputls-appliance has no TLS termination (--tls-port); SERVERS=\"haproxy nginx\" runs the others"; exit 1; }

server_pids() {  # the processes whose CPU is the server's
  if [ "$TLS_SERVER" != appliance ]; then echo "$APP_PID$(pgrep -P "$APP_PID" | sed 's/^/,/' | tr -d '\n')"; else echo "$APP_PID"; fi
}

busy_core_seconds() {  # the appliance's busy cycles so far, in core-seconds (null for HAProxy)
  if [ "$TLS_SERVER" = appliance ]; then appliance_busy_core_seconds; else echo null; fi
}

handshakes() {  # label -> one JSON object (gputls-bench's run)
  local perf=()
  # PROFILE_DIR=dir: perf records the server's core (kernel and user, every process on it) for the
  # handshake run only, to dir/<label>-r<round>.data (perf report --sort comm,dso,sym -i ...).
  if [ -n "${PROFILE_DIR:-}" ]; then
    mkdir -p "$PROFILE_DIR"
    perf=(taskset -c 0 perf record -q -g -a -C "$SERVER_CPUS" -e cpu-clock -F 2000
          -o "$PROFILE_DIR/${1//[:\/]/-}-r$round.data" --)
  fi
  rm -f "$WORK/hs.json"  # a failed run must not leave the previous one's result to be read
  "${perf[@]}" ip netns exec "${CLIENT_NS:-$NS}" taskset -c 0 "$BENCH" handshake --connect "$SERVER_IP:$TLS_PORT" --ca "$PKI/ca.pem" --servername "$SNI" \
    --app http --http-path /handshake --tls 1.3 --group x25519 --cert "$CERT" --concurrency "$CONCURRENCY" \
    --duration "$SECONDS_PER_RUN" --server-pid "$(server_pids)" --label "$1" --json "$WORK/hs.json" | sed -n 2p >&2 || return 1
  $PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[0]))' "$WORK/hs.json"
}

download() {  # -> {"bytes_per_sec": ..., ...}
  local n=48 c=4 o="$WORK/h2load.txt"
  in_ns taskset -c 0 timeout 300 h2load --h1 -n $n -c $c "$URL/big.bin" >"$o" 2>&1 || { cat "$o" >&2; return 1; }
  grep -q "requests: $n total, $n started, $n done, $n succeeded" "$o" || { cat "$o" >&2; return 1; }
  $PY - "$n" "$c" "$o" <<'PY'
import re, sys
n, c = int(sys.argv[1]), int(sys.argv[2])
text = open(sys.argv[3]).read()
m = re.search(r"finished in ([0-9.]+)(us|ms|s),", text)  # h2load picks the unit
if not m:
    sys.exit("h2load printed no 'finished in' line:\n" + text)
secs = float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1}[m.group(2)]
print('{"downloads": %d, "connections": %d, "bytes": %d, "seconds": %.3f, "bytes_per_sec": %.1f}'
      % (n, c, n * (10 << 20), secs, n * (10 << 20) / secs))
PY
}

: >"$WORK/runs.jsonl"
policy0=${GPUTLS_POLICY:-auto}
for round in $(seq "$REPEAT"); do
  for pairing in $PROVIDERS; do
    TLS_PROVIDER=${pairing%-cpu}
    export GPUTLS_POLICY=$policy0
    [ "$pairing" = gputls-cpu ] && GPUTLS_POLICY=cpu
    for TLS_SERVER in $SERVERS; do
      echo "=== round $round: $TLS_SERVER, provider $pairing (server on CPU 1, clients on CPU 0)"
      rm -f "$STATS"
      # Handshakes in flight and TIME_WAITs (recycled under pressure): a short TIME_WAIT and a large
      # SYN backlog (appliance only). The default table (8,192 per core) keeps the descriptors
      # the appliance needs (a backend socket and a wait fd per connection) under usual limits.
      if [ "$TLS_SERVER" = appliance ]; then
        steer_receive "$VETH_DPDK" off
        kernel_blind "$VETH_DPDK" on
        start_tls_server --max-half-open 4096 --time-wait-ms 1000
      else
        steer_receive "$VETH_DPDK" "$SERVER_CPUS"
        start_tls_server
      fi
      # The appliance busy-polls (its CPU always reads 100%): its own count of
      # busy cycles around the handshake run gives handshakes per busy core-second.
      busy0=$(busy_core_seconds)
      hs=$(handshakes "$TLS_SERVER:$pairing")
      sleep 0.5  # the stats file is rewritten every 200 ms
      busy1=$(busy_core_seconds)
      dl=$(download); echo "download: $dl"
      stop_tls_server
      kernel_blind "$VETH_DPDK" off
      echo "{\"server\": \"$TLS_SERVER\", \"provider\": \"$pairing\", \"round\": $round, \"handshake\": $hs," \
        "\"busy_core_seconds_handshake\": $($PY -c 'import sys; a, b = sys.argv[1:]; print("null" if "null" in (a, b) else float(b) - float(a))' "$busy0" "$busy1")," \
        "\"download\": $dl, \"server_stats\": $($PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$STATS")}" >>"$WORK/runs.jsonl"
    done
  done
done

$PY - "$out" "$device" "$WORK/runs.jsonl" "$CONCURRENCY" "$SECONDS_PER_RUN" "$CERT" <<'PYEOF'
import json, os, statistics, sys
out, device, runs_file, conc, secs, cert = (sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]),
                                            float(sys.argv[5]), sys.argv[6])
runs = [json.loads(l) for l in open(runs_file)]
def busy(r, side):
    """Share of its core the side kept busy during the handshake run."""
    h = r["handshake"]
    if side == "client":  # the whole gputls-bench process (its TLS clients and its event loop)
        return h["cpu"]["process_us_per_handshake"] * h["handshakes_per_sec"] / 1e6
    if r["server"] == "appliance":  # busy-polling: its own busy cycles, not its (always full) CPU time
        b = r.get("busy_core_seconds_handshake")
        return b / h["duration_s"] if b and h.get("duration_s") else None
    s = h.get("server_cpu_us_per_handshake")
    return s * h["handshakes_per_sec"] / 1e6 if s else None
for r in runs:
    r["client_core_busy"] = busy(r, "client")
    r["server_core_busy"] = busy(r, "server")
    c, v = r["client_core_busy"], r["server_core_busy"]
    r["saturated"] = ("server" if v is not None and v >= 0.9 and (c is None or c < 0.9) else
                      "client" if c is not None and c >= 0.9 and (v is None or v < 0.9) else
                      "both" if c is not None and v is not None and c >= 0.9 and v >= 0.9 else "neither")
def med(server, provider, f):
    v = [f(r) for r in runs if r["server"] == server and r["provider"] == provider]
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None
pairings = {}
for provider in sorted({r["provider"] for r in runs}):
    p = {}
    for server in sorted({r["server"] for r in runs}):
        p[server] = {
            "handshakes_per_sec": med(server, provider, lambda r: r["handshake"]["handshakes_per_sec"]),
            "p50_ms": med(server, provider, lambda r: r["handshake"]["p50_ms"]),
            "p99_ms": med(server, provider, lambda r: r["handshake"]["p99_ms"]),
            "server_cpu_us_per_handshake": med(server, provider, lambda r: r["handshake"].get("server_cpu_us_per_handshake") or 0),
            # Busy-polling: the appliance's own busy cycles (null for HAProxy, whose CPU is the measure).
            "handshakes_per_busy_core_sec": med(server, provider, lambda r: r["handshake"]["handshakes"] / r["busy_core_seconds_handshake"]
                                                if r.get("busy_core_seconds_handshake") else None)
                                            if server == "appliance" else None,
            "download_bytes_per_sec": med(server, provider, lambda r: r["download"]["bytes_per_sec"]),
            "client_cpu_us_per_handshake": med(server, provider, lambda r: r["handshake"]["cpu"]["process_us_per_handshake"]),
            "server_core_busy": med(server, provider, lambda r: r["server_core_busy"]),
            "client_core_busy": med(server, provider, lambda r: r["client_core_busy"]),
            "saturated": sorted({r["saturated"] for r in runs if r["server"] == server and r["provider"] == provider}),
        }
    for other in ("haproxy", "nginx"):
        if "appliance" in p and other in p:
            a, h = p["appliance"], p[other]
            p["ratios_appliance_over_" + other] = {
                k: a[k] / h[k] if h[k] else None for k in ("handshakes_per_sec", "download_bytes_per_sec")}
    pairings[provider] = p
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
doc = {
    "benchmark": "appliance_tls", "device": device, "cpu": cpu, "nproc": os.cpu_count(),
    "transport": "one veth pair: the appliance via DPDK net_af_packet, HAProxy 2.6 and nginx 1.22 on the same "
                 "veth with the same address (kernel TCP); clients in a network namespace; backend python HTTP on "
                 "127.0.0.1; receive processing steered (RPS) to the clients' core for their end and to the server's "
                 "core for the kernel servers'; the appliance's end unsteered (af_packet's copy on the sender's core, "
                 "as a NIC's DMA) and its frames dropped after af_packet's tap (nftables netdev ingress)",
    "saturated_note": "per run: the side whose core was >= 90% busy during the handshake run (client: gputls-bench's "
                      "process CPU x handshakes/s; server: its processes' CPU from /proc, or the appliance's busy cycles, "
                      "since it busy-polls)",
    "server_cpu": 1, "client_cpu": 0, "backend_cpu": 0,
    "workload": {"handshake": f"gputls-bench --connect, TLS 1.3 X25519 + {cert} server certificate, new "
                              f"connection per handshake, one HTTP/1.1 request each, {conc} in flight, {secs} s",
                 "download": "h2load --h1 -n 48 -c 4 of a 10 MiB file"},
    "pairings": pairings, "rounds": max(r["round"] for r in runs), "runs": runs,
}
json.dump(doc, open(out, "w"), indent=1)
for provider, p in pairings.items():
    for server in ("appliance", "haproxy", "nginx"):
        if server in p:
            busy = p[server].get("handshakes_per_busy_core_sec")
            print(f"{provider:8s} {server:9s} {p[server]['handshakes_per_sec']:9.0f} handshakes/s  "
                  f"{p[server]['download_bytes_per_sec'] / 1e6:8.1f} MB/s download  saturated: "
                  f"{','.join(p[server]['saturated'])} (server core {p[server]['server_core_busy']}, client core "
                  f"{p[server]['client_core_busy']})"
                  + (f"  {busy:9.0f} handshakes per busy core-second" if busy else ""))
    for other in ("haproxy", "nginx"):
        if "ratios_appliance_over_" + other in p:
            print(f"{provider:8s} appliance / {other}: {json.dumps(p['ratios_appliance_over_' + other])}")
print("wrote", out)
PYEOF
