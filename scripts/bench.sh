#!/usr/bin/env bash
# The main job: full TLS handshakes per second, latency and server CPU per
# handshake, OpenSSL's default provider against gputls (on the GPU when one
# is usable, else gputls's CPU path), in a few minutes:
#   1. gputls-bench in-process, concurrency sweep, for
#        TLS 1.2 RSA-2048 (RSA key exchange),
#        TLS 1.3 X25519 + RSA-2048,
#        TLS 1.3 X25519 + ECDSA P-256;
#      the default provider runs synchronously (as a server without an
#      offload would); gputls runs in SSL_MODE_ASYNC when it has a GPU to
#      batch for, synchronously (inline) otherwise;
#      then the post-quantum hybrid: TLS 1.3 X25519MLKEM768 + ECDSA P-256 beside
#      X25519 on the same gputls (OpenSSL 3.0's default provider has no ML-KEM);
#   2. for reference, on loopback: `openssl s_time` against `openssl s_server`
#      (default provider, and -provider gputls on the server), and
#      gputls-bench's network mode against the same s_server with its CPU
#      measured from /proc;
#   3. with --micro, the engine/RSA/EC/ML-KEM/AES-GCM micro-benchmarks as well;
#   4. with --appliance (as root), the DPDK appliance's network path vs kernel
#      TCP on the same cores (scripts/bench_appliance.sh), and its TLS
#      termination vs HAProxy (scripts/bench_tls_appliance.sh).
# Prints a table of ratios; writes JSON and handshakes.png under
# bench/results/<device>/ (scripts/device-name.sh).
#   scripts/bench.sh [--quick] [--micro] [--appliance]     --quick: 1 s runs, noisier figures
# GPUTLS_BUILD_DIR=dir uses an existing build instead of build/host (build/cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=4 stime=4 min_time=1 micro=0 appliance=0 sweep=1,8,32,128
for arg in "$@"; do
  case $arg in
    --quick) duration=1 stime=2 min_time=0.2 ;;
    --micro) micro=1 ;;
    --appliance) appliance=1 ;;
    *) echo "usage: scripts/bench.sh [--quick] [--micro] [--appliance]" >&2; exit 2 ;;
  esac
done
t0=$SECONDS

targets="gputls gputls-bench"
[ $micro = 1 ] && targets="$targets micro_engine micro_rsa micro_ec micro_mlkem micro_aes_gcm micro_tls_records"
if [ -n "${GPUTLS_BUILD_DIR:-}" ]; then
  dir=$GPUTLS_BUILD_DIR
else
  if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then dir=build/cuda cuda=ON; else dir=build/host cuda=OFF; fi
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPUTLS_CUDA=$cuda >/dev/null
fi
# shellcheck disable=SC2086
cmake --build "$dir" -j "$(nproc)" --target $targets >/dev/null
bench=$dir/bench/gputls-bench modules=$dir/modules

device=$(scripts/device-name.sh)
out=bench/results/$device
mkdir -p "$out"
export GPUTLS_QUIET=1
threads=$(nproc)
[ "$threads" -gt 4 ] && threads=4
# The host-cost row (public-key work on the engine's thread, as a GPU would take it) needs a core
# the server's threads leave free for that thread; with a server thread on every core they would
# share one. Its floor (the default provider) is then measured again at the same thread count.
host_threads=$threads
[ "$host_threads" -ge "$(nproc)" ] && [ "$host_threads" -gt 1 ] && host_threads=$((threads - 1))

# gputls on the GPU when one is usable (async, so operations of many
# connections batch), else on the CPU (inline: nothing to batch for).
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  gp=gputls:gpu gp_async=--async
else
  gp=gputls:cpu gp_async=""
fi

echo "== 1. in-process handshakes: default vs $gp ${gp_async:+(async)}, concurrency $sweep, $threads threads, ${duration}s per point"
hs() {  # name args...
  local name=$1 parts=() host=() level loop; shift
  echo "-- $name"
  # Default and gputls alternate at each concurrency, so drift in a shared machine's load hits both.
  for level in ${sweep//,/ }; do
    "$bench" handshake --provider default --duration "$duration" --concurrency "$level" --threads "$threads" \
      --json "$out/.d$level.json" "$@" | sed -n "$([ "$level" = "${sweep%%,*}" ] && echo 1,)2p"
    # shellcheck disable=SC2086
    "$bench" handshake --provider "$gp" $gp_async --modules "$modules" --duration "$duration" --concurrency "$level" \
      --threads "$threads" --json "$out/.g$level.json" "$@" | sed -n 2p
    parts+=("$out/.d$level.json" "$out/.g$level.json")
    if [ "$gp" = gputls:cpu ]; then
      # The host's cost with the public-key work off the server's thread, as a GPU would take it:
      # records stay on the caller's thread, public-key operations queue to the engine's thread
      # (GPUTLS_INLINE=2), the async server pauses on them (bench_table.py's host-cost table); then
      # the same with the loop busy-polling instead of sleeping while every connection waits on the
      # engine: what a sleep (cold caches at the next step) adds at low load.
      for loop in sleep busy; do
        # shellcheck disable=SC2046
        GPUTLS_INLINE=2 "$bench" handshake --provider gputls:cpu --async $([ $loop = busy ] && echo --busy-poll) \
          --modules "$modules" --duration "$duration" --concurrency "$level" --threads "$host_threads" \
          --json "$out/.h$loop$level.json" "$@" >/dev/null
        host+=("$out/.h$loop$level.json")
      done
      if [ "$host_threads" != "$threads" ]; then
        "$bench" handshake --provider default --duration "$duration" --concurrency "$level" \
          --threads "$host_threads" --json "$out/.f$level.json" "$@" >/dev/null
        host+=("$out/.f$level.json")
      fi
    fi
  done
  merge() { python3 -c 'import json,sys; json.dump([r for p in sys.argv[2:] for r in json.load(open(p))], open(sys.argv[1], "w"), indent=2)' "$@"; }
  merge "$out/handshake_$name.json" "${parts[@]}"
  rm -f "${parts[@]}"
  if [ ${#host[@]} -gt 0 ]; then
    merge "$out/host_cost_$name.json" "${host[@]}"
    rm -f "${host[@]}"
  fi
}
hs tls12_rsa2048 --tls 1.2 --cipher AES128-GCM-SHA256 --cert rsa2048
hs tls13_x25519_rsa2048 --tls 1.3 --group x25519 --cert rsa2048
hs tls13_x25519_ecdsa_p256 --tls 1.3 --group x25519 --cert ecdsa-p256

# Post-quantum key exchange: only gputls has ML-KEM here (the in-process clients load their own copy
# of gputls.so), so X25519MLKEM768 is set beside X25519 on the same provider, alternating at each
# point: what the hybrid adds to the server's CPU per handshake (bench_table.py's post-quantum table).
pq() {  # name args...
  local name=$1 parts=() level group; shift
  echo "-- $name: X25519 vs X25519MLKEM768 on $gp"
  for level in ${sweep//,/ }; do
    for group in x25519 x25519mlkem768; do
      # shellcheck disable=SC2086
      "$bench" handshake --provider "$gp" $gp_async --modules "$modules" --tls 1.3 --group "$group" \
        --duration "$duration" --concurrency "$level" --threads "$threads" --json "$out/.q$group$level.json" "$@" |
        sed -n "$([ "$level" = "${sweep%%,*}" ] && [ "$group" = x25519 ] && echo 1,)2p"
      parts+=("$out/.q$group$level.json")
    done
  done
  python3 -c 'import json,sys; json.dump([r for p in sys.argv[2:] for r in json.load(open(p))], open(sys.argv[1], "w"), indent=2)' \
    "$out/pq_$name.json" "${parts[@]}"
  rm -f "${parts[@]}"
}
pq tls13_x25519mlkem768_ecdsa_p256 --cert ecdsa-p256

echo "== 2. reference on loopback: openssl s_time and gputls-bench --connect against openssl s_server, ${stime}s each"
work=$(mktemp -d)
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/rsa.key" -out "$work/rsa.pem" -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -days 1 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ec.key" -out "$work/ec.pem" \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost -days 1 2>/dev/null
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # clock ticks
records=$work/s_time.jsonl
: >"$records"
count=$((250 * stime))  # gputls-bench's connections to s_server
start_server() {  # provider cert tls-flag stats-file s_server-args...; sets port and server_pid
  local provider=$1 cert=$2 tls=$3 stats=$4 prov_args=(); shift 4
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  [ "$provider" = gputls ] && prov_args=(-provider-path "$modules" -provider gputls -provider default -propquery '?provider=gputls')
  GPUTLS_POLICY=${gp#gputls:} GPUTLS_STATS_FILE=$stats openssl s_server -www "${prov_args[@]}" \
    -cert "$work/$cert.pem" -key "$work/$cert.key" -groups X25519 "$tls" -accept "127.0.0.1:$port" "$@" \
    </dev/null >"$work/server-$port.log" 2>&1 &
  server_pid=$!
  # Ready when it says ACCEPT (a probe connection would use up one of -naccept).
  for _ in $(seq 100); do
    grep -q ACCEPT "$work/server-$port.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "s_server did not start:"; cat "$work/server-$port.log"; exit 1
}
reference() {  # config provider cert tls-version [tls1.2-cipher]
  local config=$1 provider=$2 cert=$3 version=$4 cipher=${5:-} bench_cert=rsa2048
  [ "$cert" = ec ] && bench_cert=ecdsa-p256
  local tls=-tls${version/./_} cipher_flags=() bench_cipher=() stats="$work/stats-$config-$provider.json"
  [ -n "$cipher" ] && cipher_flags=(-cipher "$cipher") bench_cipher=(--cipher "$cipher")
  # (a) s_time, one connection at a time, for the time given; s_server's CPU from /proc.
  start_server "$provider" "$cert" "$tls" ""
  local c0 c1 line
  c0=$(cpu_of "$server_pid")
  line=$(openssl s_time -connect "127.0.0.1:$port" -new -time "$stime" -www / -CAfile "$work/$cert.pem" "$tls" \
    "${cipher_flags[@]}" 2>&1 | grep 'connections in .* real seconds' || true)
  c1=$(cpu_of "$server_pid")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  # (b) gputls-bench --connect: $count verified handshakes + HTTP exchanges (and its 2 warm-up ones)
  # against an s_server that exits after one more connection, so gputls writes its counters.
  start_server "$provider" "$cert" "$tls" "$stats" -naccept $((count + 3))
  "$bench" handshake --connect "127.0.0.1:$port" --ca "$work/$cert.pem" --servername localhost --app http \
    --tls "$version" "${bench_cipher[@]}" --group x25519 --cert "$bench_cert" --concurrency 1 --count "$count" \
    --server-pid "$server_pid" --label "s_server:$provider" --json "$work/net-$config-$provider.json" | sed -n '2p'
  openssl s_client -connect "127.0.0.1:$port" "$tls" </dev/null >/dev/null 2>&1 || true  # the last accept
  wait "$server_pid" 2>/dev/null || true; server_pid=""
  python3 - "$config" "$provider" "$line" "$c0" "$c1" "$stats" "$stime" >>"$records" <<'PY'
import json, os, re, sys
config, provider, line, c0, c1, stats, secs = sys.argv[1:]
m = re.search(r"(\d+) connections in (\d+) real seconds", line)
n = int(m.group(1)) if m else 0
ticks = os.sysconf("SC_CLK_TCK")
rec = {"config": config, "server": f"openssl s_server -www ({provider})", "client": "openssl s_time -new -www /",
       "seconds": int(secs), "connections": n,
       "connections_per_sec": n / int(m.group(2)) if m and int(m.group(2)) else 0,
       "server_cpu_us_per_connection": (int(c1) - int(c0)) / ticks / n * 1e6 if n else None,
       "gputls_bench_server_stats": json.load(open(stats))["provider"] if os.path.exists(stats) else None}
if not m:
    rec["error"] = "s_time printed no result"
print(json.dumps(rec))
PY
  printf '   s_time %-24s %-8s %6s connections in %ss\n' "$config" "$provider" \
    "$(echo "$line" | grep -o '^[0-9]*' || echo 0)" "$stime"
}
for p in default gputls; do
  reference tls12_rsa2048 "$p" rsa 1.2 AES128-GCM-SHA256
  reference tls13_x25519_ecdsa_p256 "$p" ec 1.3
done
python3 - "$records" "$out/s_time.json" "$work"/net-*.json <<'PY'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
net = [r for p in sys.argv[3:] for r in json.load(open(p))]
json.dump({"s_time": records, "gputls_bench_network": net}, open(sys.argv[2], "w"), indent=2)
PY

# shellcheck disable=SC2046
python3 bench/handshake/validate_json.py bench/handshake/schema.json "$out"/handshake_*.json $(ls "$out"/host_cost_*.json 2>/dev/null) \
  "$out"/pq_*.json "$work"/net-*.json

echo "== summary (ratios measured in this run)"
# The plot needs matplotlib: Debian's python3-matplotlib, for /usr/bin/python3.
py=python3
python3 -c 'import matplotlib' 2>/dev/null || py=/usr/bin/python3
$py scripts/bench_table.py --handshake "$out"

if [ $micro = 1 ]; then
  echo "== 3. micro-benchmarks"
  # One core for the engine micro-benchmark (the engine runs in poll mode there): ratios are per core.
  taskset -c 0 "$dir/bench/micro_engine" --benchmark_min_time="$min_time" \
    --benchmark_out="$out/micro_engine.json" --benchmark_out_format=json >/dev/null
  python3 scripts/bench_table.py "$out/micro_engine.json"
  # RSA, EC, ML-KEM and AES-GCM (its openssl rows also on all cores): not pinned, so the GPU rows' flusher and CUDA worker threads do not share one core with the submitter.
  for m in micro_rsa micro_ec micro_mlkem micro_aes_gcm micro_tls_records; do
    "$dir/bench/$m" --benchmark_min_time="$min_time" --benchmark_out="$out/$m.json" --benchmark_out_format=json >/dev/null
    python3 scripts/bench_table.py "$out/$m.json"
  done
fi
# The appliance's network path vs kernel TCP on the same cores (root: network
# namespaces; only when DPDK was found and the appliance is configured).
if [ $appliance = 1 ]; then
  if [ "$(id -u)" -ne 0 ] || [ ! -d "$dir/dpdk_app" ]; then
    echo "--appliance needs root and a build with DPDK ($dir/dpdk_app missing?)" >&2; exit 1
  fi
  echo "== 4. appliance vs kernel TCP"
  cmake --build "$dir" -j "$(nproc)" --target gputls-appliance appliance_tcp_load appliance_kernel_server >/dev/null
  SECONDS_PER_RUN=$((duration * 2)) scripts/bench_appliance.sh "$dir"
  echo "== 5. appliance TLS termination vs HAProxy"
  cmake --build "$dir" -j "$(nproc)" --target gputls-appliance gputls gputls-bench >/dev/null
  SECONDS_PER_RUN=$((duration + 2)) scripts/bench_tls_appliance.sh "$dir"
fi
echo "results: $out/ ($((SECONDS - t0)) s)"
