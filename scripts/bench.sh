#!/usr/bin/env bash
# The main job: builds gputls (with CUDA when nvcc exists) and runs the
# benchmarks on the GPU if one is usable, else on the CPU; prints a table and
# writes the JSON to bench/results/<device>/ (see scripts/device-name.sh).
#   scripts/bench.sh [--quick]     --quick: shorter runs, noisier figures
set -euo pipefail
cd "$(dirname "$0")/.."
min_time=1
[ "${1:-}" = "--quick" ] && min_time=0.2

if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  dir=build/cuda cuda=ON
else
  dir=build/host cuda=OFF
fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPUTLS_CUDA=$cuda >/dev/null
cmake --build "$dir" -j "$(nproc)" --target micro_engine micro_rsa

device=$(scripts/device-name.sh)
out=bench/results/$device
mkdir -p "$out"
# One core for everything (the engine runs in poll mode): ratios against
# OpenSSL are then per core, as the figures in the issues ask.
taskset -c 0 "$dir/bench/micro_engine" --benchmark_min_time="$min_time" \
  --benchmark_out="$out/micro_engine.json" --benchmark_out_format=json >/dev/null
python3 scripts/bench_table.py "$out/micro_engine.json"
echo "results: $out/micro_engine.json"
# RSA: CPU rows are single-threaded by construction (OpenSSL called directly,
# the engine in poll mode); not pinned, so the GPU rows' flusher and CUDA
# worker threads do not share one core with the submitting thread.
"$dir/bench/micro_rsa" --benchmark_min_time="$min_time" \
  --benchmark_out="$out/micro_rsa.json" --benchmark_out_format=json >/dev/null
python3 scripts/bench_table.py "$out/micro_rsa.json"
echo "results: $out/micro_rsa.json"
