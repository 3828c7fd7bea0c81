#!/usr/bin/env bash
# The main job: builds gputls (with CUDA when nvcc exists), then
#   1. the handshake benchmark: full TLS handshakes/s and latency, server
#      through OpenSSL's default provider vs gputls (GPU if usable, else CPU),
#      for RSA-2048 TLS 1.2 (RSA key exchange), TLS 1.3 (X25519 + RSA-2048
#      signature), sync and SSL_MODE_ASYNC, and TLS 1.3 X25519 + ECDSA P-256;
#   2. the engine and RSA micro-benchmarks;
#   3. as root: the appliance vs kernel TCP (scripts/bench_appliance.sh);
# prints tables and writes JSON under bench/results/<device>/ (see
# scripts/device-name.sh).
#   scripts/bench.sh [--quick]     --quick: shorter runs, noisier figures
set -euo pipefail
cd "$(dirname "$0")/.."
min_time=1 duration=4
if [ "${1:-}" = "--quick" ]; then min_time=0.2 duration=1; fi

if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  dir=build/cuda cuda=ON
else
  dir=build/host cuda=OFF
fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPUTLS_CUDA=$cuda >/dev/null
cmake --build "$dir" -j "$(nproc)" --target gputls gputls-bench micro_engine micro_rsa micro_ec

device=$(scripts/device-name.sh)
out=bench/results/$device
mkdir -p "$out"

# gputls on the GPU when one is usable, else on the CPU (the engine says which).
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then gp=gputls:gpu; else gp=gputls:cpu; fi
hs() {  # name args...
  local name=$1; shift
  echo "== handshake: $name"
  "$dir/bench/gputls-bench" handshake --provider "default,$gp" --modules "$dir/modules" --duration "$duration" \
    --json "$out/handshake_$name.json" "$@"
}
hs tls12_rsa2048 --tls 1.2 --cipher AES128-GCM-SHA256 --concurrency 1,32
hs tls12_rsa2048_async --tls 1.2 --cipher AES128-GCM-SHA256 --concurrency 32,256 --async
hs tls13_x25519_rsa2048 --tls 1.3 --concurrency 1,32
hs tls13_x25519_rsa2048_async --tls 1.3 --concurrency 32,256 --async
hs tls13_x25519_ecdsa_p256 --tls 1.3 --cert ecdsa-p256 --concurrency 1,32

# One core for the micro-benchmarks (the engine runs in poll mode there):
# ratios against OpenSSL are per core.
taskset -c 0 "$dir/bench/micro_engine" --benchmark_min_time="$min_time" \
  --benchmark_out="$out/micro_engine.json" --benchmark_out_format=json >/dev/null
python3 scripts/bench_table.py "$out/micro_engine.json"
# RSA: CPU rows are single-threaded by construction; not pinned, so the GPU
# rows' flusher and CUDA worker threads do not share one core with the submitter.
"$dir/bench/micro_rsa" --benchmark_min_time="$min_time" \
  --benchmark_out="$out/micro_rsa.json" --benchmark_out_format=json >/dev/null
python3 scripts/bench_table.py "$out/micro_rsa.json"
# EC (X25519, P-256, P-384): as RSA, not pinned.
"$dir/bench/micro_ec" --benchmark_min_time="$min_time" \
  --benchmark_out="$out/micro_ec.json" --benchmark_out_format=json >/dev/null
python3 scripts/bench_table.py "$out/micro_ec.json"
# The appliance's network path vs kernel TCP on the same cores (root: network
# namespaces; only when DPDK was found and the appliance is configured).
if [ "$(id -u)" -eq 0 ] && [ -d "$dir/dpdk_app" ]; then
  cmake --build "$dir" -j "$(nproc)" --target gputls-appliance appliance_tcp_load appliance_kernel_server
  SECONDS_PER_RUN=$((duration * 2)) scripts/bench_appliance.sh "$dir" || echo "appliance benchmark failed (see above)"
fi
echo "results: $out/"
