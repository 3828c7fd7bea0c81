#!/usr/bin/env bash
# The one command for a GPU machine, in two halves:
#
#   scripts/gpu-check.sh pack [--from DIR]
#                                on a build machine: CUDA build (build/gpu, rpath
#                                $ORIGIN; or an existing CUDA build DIR), packed
#                                with the shared libraries it needs into
#                                build/gpu-pack, archived as
#                                build/gpu-pack.tar.gz (<= 64 MiB)
#   scripts/gpu-check.sh run [--dry-run]
#                                on the GPU machine, from the repository root,
#                                with build/gpu-pack.tar.gz carried there
#                                (unpacked on first use): calibration
#                                of the static model (instruction rates, L2/HBM
#                                bandwidth), gpu tests (device vs host
#                                bit-exact), compute-sanitizer, unit tests, GPU
#                                micro-benchmarks with model vs measured per
#                                kernel, in-process TLS handshakes (default vs
#                                gputls:gpu, SSL_MODE_ASYNC) and TLS records
#                                through libssl on the GPU path; writes one
#                                JSON, $OUT/gpu-check-<device>.json, then checks
#                                its shape. --dry-run: the same steps, short,
#                                on a machine without a GPU (GPU rows skipped);
#                                exit 0 when every step ran and the JSON has
#                                its shape (CI runs it: scripts/test.sh).
#
# With the device tool: run `pack` here, then run `scripts/gpu-check.sh run`
# with carry ["build/gpu-pack.tar.gz"], and commit the JSON it returns under
# bench/results/<device>/.
set -euo pipefail
cd "$(dirname "$0")/.."
pack=${GPU_PACK:-build/gpu-pack}  # GPU_PACK: another pack directory (the CI dry run keeps yours)

do_pack() {
  local dir=build/gpu
  if [ "${1:-}" = "--from" ]; then
    dir=${2:?--from needs a CUDA build directory}
    [ -x "$dir/engine/engine_gpu_test" ] || { echo "gpu-check: $dir is not a CUDA build (no engine_gpu_test)" >&2; exit 2; }
  else
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPUTLS_CUDA=ON \
      -DCMAKE_BUILD_RPATH='$ORIGIN' >/dev/null
    cmake --build "$dir" -j "$(nproc)"
  fi
  rm -rf "$pack"
  mkdir -p "$pack"
  local bins=("$dir/engine/engine_gpu_test" "$dir/kernels/kernels_gpu_test" "$dir/kernels/kernels_x25519_gpu_test"
              "$dir/kernels/kernels_ec_gpu_test" "$dir/kernels/kernels_aes_gcm_gpu_test" "$dir/bench/micro_aes_gcm"
              "$dir/kernels/kernels_mlkem_gpu_test" "$dir/bench/micro_mlkem"
              "$dir/engine/engine_test"
              "$dir/kernels/kernels_host_test"
              "$dir/bench/micro_engine" "$dir/bench/micro_rsa" "$dir/bench/micro_ec" "$dir/bench/gpu_calibrate"
              "$dir/bench/gputls-bench" "$dir/bench/micro_tls_records" "$dir/modules/gputls.so")
  cp "${bins[@]}" "$pack/"
  # Every shared library but glibc's own: the GPU machine may lack OpenSSL 3,
  # Google Benchmark or this libstdc++.
  for b in "${bins[@]}"; do ldd "$b"; done | awk '/=> \//{print $3}' | sort -u |
    grep -vE '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*)\.so' | while read -r lib; do
      cp -L "$lib" "$pack/"
    done
  strip --strip-debug "$pack"/* 2>/dev/null || true
  # What travels is one gzip archive: the binaries each carry the kernels'
  # device code, and the device tool carries at most 64 MiB.
  tar -czf "$pack.tar.gz" -C "$(dirname "$pack")" "$(basename "$pack")"
  local size
  size=$(du -sm "$pack.tar.gz" | cut -f1)
  echo "packed $pack.tar.gz: ${size} MiB compressed, $(du -sm "$pack" | cut -f1) MiB unpacked ($(ls "$pack" | tr '\n' ' '))"
  if [ "$size" -gt 64 ]; then echo "gpu-check: pack exceeds 64 MiB" >&2; exit 1; fi
}

do_run() {
  local dry=0
  [ "${1:-}" = "--dry-run" ] && dry=1
  if [ ! -x "$pack/engine_gpu_test" ] && [ -f "$pack.tar.gz" ]; then
    tar -xzf "$pack.tar.gz" -C "$(dirname "$pack")"
  fi
  [ -x "$pack/engine_gpu_test" ] || { echo "gpu-check: $pack missing: run 'scripts/gpu-check.sh pack' on the build machine and carry $pack.tar.gz" >&2; exit 2; }
  local out=${OUT:-build/gpu-check-out}
  local work
  work=$(mktemp -d)
  mkdir -p "$out"
  local device
  device=$(scripts/device-name.sh)
  export LD_LIBRARY_PATH="$PWD/$pack${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$work/nvidia-smi.txt" 2>&1 || true

  # The whole run stays under 8 minutes (the device allows 10 per command, and
  # nothing comes back from a command it kills): each step gets its own cap,
  # cut to what is left of the budget.
  local deadline=$((SECONDS + 450))
  cap() { local left=$((deadline - SECONDS)); [ "$left" -lt 1 ] && left=1; echo $(($1 < left ? $1 : left)); }

  set +e
  # First, while the GPU is cool and idle: the model's assumptions measured.
  timeout "$(cap 45)" "$pack/gpu_calibrate" >"$work/calibration.json" 2>"$work/calibration.log"
  local rc_cal=$?
  timeout "$(cap 180)" "$pack/engine_gpu_test" --gtest_output=json:"$work/gpu_tests.json" >"$work/gpu_tests.log" 2>&1
  local rc_gpu=$?
  timeout "$(cap 120)" "$pack/kernels_gpu_test" --gtest_output=json:"$work/kernel_gpu_tests.json" \
    >"$work/kernel_gpu_tests.log" 2>&1
  local rc_kgpu=$?
  [ "$rc_gpu" -eq 0 ] && rc_gpu=$rc_kgpu
  timeout "$(cap 60)" "$pack/kernels_x25519_gpu_test" --gtest_output=json:"$work/x25519_gpu_tests.json" \
    >"$work/x25519_gpu_tests.log" 2>&1
  rc_kgpu=$?
  [ "$rc_gpu" -eq 0 ] && rc_gpu=$rc_kgpu
  timeout "$(cap 90)" "$pack/kernels_ec_gpu_test" --gtest_output=json:"$work/ec_gpu_tests.json" \
    >"$work/ec_gpu_tests.log" 2>&1
  rc_kgpu=$?
  [ "$rc_gpu" -eq 0 ] && rc_gpu=$rc_kgpu
  timeout "$(cap 90)" "$pack/kernels_mlkem_gpu_test" --gtest_output=json:"$work/mlkem_gpu_tests.json" \
    >"$work/mlkem_gpu_tests.log" 2>&1
  rc_kgpu=$?
  [ "$rc_gpu" -eq 0 ] && rc_gpu=$rc_kgpu
  GPUTLS_VECTORS_DIR="$PWD/tests/vectors" timeout "$(cap 60)" "$pack/kernels_aes_gcm_gpu_test" \
    --gtest_output=json:"$work/aes_gpu_tests.json" >"$work/aes_gpu_tests.log" 2>&1
  rc_kgpu=$?
  [ "$rc_gpu" -eq 0 ] && rc_gpu=$rc_kgpu
  timeout "$(cap 120)" "$pack/engine_test" --gtest_output=json:"$work/unit_tests.json" >"$work/unit_tests.log" 2>&1
  local rc_unit=$?
  local rc_san=127
  if command -v compute-sanitizer >/dev/null 2>&1; then
    timeout "$(cap 180)" compute-sanitizer --tool memcheck --error-exitcode 1 --leak-check full \
      "$pack/engine_gpu_test" --gtest_filter='*InjectedDeviceFault*:*BitExact*:*RsaDeviceFault*' >"$work/sanitizer.log" 2>&1
    rc_san=$?
    # The RSA kernels' CRT pairs synchronise with __syncwarp (synccheck), and
    # key uploads must land before the batches that read them (racecheck).
    local tool
    for tool in synccheck racecheck; do
      timeout "$(cap 60)" compute-sanitizer --tool "$tool" --error-exitcode 1 "$pack/kernels_gpu_test" \
        --gtest_filter='*RsaDevice*/0' >>"$work/sanitizer.log" 2>&1
      local rc_tool=$?
      echo "compute-sanitizer --tool $tool: rc=$rc_tool" >>"$work/sanitizer.log"
      [ "$rc_san" -eq 0 ] && rc_san=$rc_tool
    done
  else
    echo "compute-sanitizer not found" >"$work/sanitizer.log"
  fi
  # A dry run proves each step runs and reports, not its figures: minimal times.
  local mt_engine=0.3 mt_rsa=0.2 mt_ec=0.2 mt_aes=0.1
  [ "$dry" = 1 ] && mt_engine=0.01 mt_rsa=0.01 mt_ec=0.01 mt_aes=0.01
  timeout "$(cap 150)" "$pack/micro_engine" --benchmark_filter='engine_gpu|engine_null|openssl' --benchmark_min_time=$mt_engine \
    --benchmark_out="$work/bench.json" --benchmark_out_format=json >"$work/bench.log" 2>&1
  local rc_bench=$?
  timeout "$(cap 150)" "$pack/micro_rsa" --benchmark_filter='gpu|openssl' --benchmark_min_time=$mt_rsa \
    --benchmark_out="$work/bench_rsa.json" --benchmark_out_format=json >"$work/bench_rsa.log" 2>&1
  local rc_bench_rsa=$?
  timeout "$(cap 150)" "$pack/micro_ec" --benchmark_filter='gpu|openssl' --benchmark_min_time=$mt_ec \
    --benchmark_out="$work/bench_ec.json" --benchmark_out_format=json >"$work/bench_ec.log" 2>&1
  local rc_bench_ec=$?
  timeout "$(cap 120)" "$pack/micro_aes_gcm" --benchmark_filter='seal_(64|16384)/(kernel_gpu|engine_gpu|openssl/64$)|pcie' \
    --benchmark_min_time=$mt_aes --benchmark_out="$work/bench_aes.json" --benchmark_out_format=json >"$work/bench_aes.log" 2>&1
  local rc_bench_aes=$?
  timeout "$(cap 90)" "$pack/micro_mlkem" --benchmark_filter='kernel_gpu|engine_gpu|kernel_host' \
    --benchmark_min_time=$mt_ec --benchmark_out="$work/bench_mlkem.json" --benchmark_out_format=json \
    >"$work/bench_mlkem.log" 2>&1
  local rc_bench_mlkem=$?

  # End to end (issue 25): in-process TLS handshakes, the default provider vs
  # gputls with the GPU doing the math, SSL_MODE_ASYNC so connections wait on
  # the engine's batches, on every core; then AES-GCM records through libssl
  # on the GPU path at each size (every record to the GPU: the crossover with
  # OpenSSL is what GPUTLS_AES_GPU_MIN_BYTES should be).
  local hs_dur=4 hs_conc=256,2048
  [ "$dry" = 1 ] && hs_dur=0.3 hs_conc=8
  local rc_hs=0 spec name
  for spec in "tls12_rsa_kx:--tls 1.2 --cipher AES128-GCM-SHA256 --cert rsa2048" \
              "tls13_x25519_rsa2048:--tls 1.3 --group x25519 --cert rsa2048" \
              "tls13_x25519_ecdsa_p256:--tls 1.3 --group x25519 --cert ecdsa-p256"; do
    name=${spec%%:*}
    # shellcheck disable=SC2086  # the spec's options are words
    timeout "$(cap 75)" "$pack/gputls-bench" handshake --modules "$pack" --provider default,gputls:gpu --async \
      ${spec#*:} --concurrency "$hs_conc" --threads "$(nproc)" --duration "$hs_dur" \
      --json "$work/hs_$name.json" >"$work/hs_$name.log" 2>&1 || rc_hs=$?
  done
  GPUTLS_POLICY=gpu GPUTLS_AES_GPU_MIN_BYTES=0 GPUTLS_MODULE_DIR="$PWD/$pack" timeout "$(cap 90)" \
    "$pack/micro_tls_records" --benchmark_filter='tls13_aes128gcm_records_' --benchmark_min_time=$mt_aes \
    --benchmark_out="$work/records.json" --benchmark_out_format=json >"$work/records.log" 2>&1
  local rc_records=$?
  set -e

  local result="$out/gpu-check-$device.json"
  python3 - "$work" "$device" "$rc_gpu" "$rc_unit" "$rc_san" "$rc_bench" "$rc_bench_rsa" "$rc_bench_ec" "$rc_bench_aes" \
    "$rc_cal" "$rc_hs" "$rc_records" "$dry" "$rc_bench_mlkem" >"$result" <<'PY'
import json, os, sys
sys.path.insert(0, "scripts")
from gpu_model_compare import compare
from gpu_check_report import records_crossover
(work, device, rc_gpu, rc_unit, rc_san, rc_bench, rc_bench_rsa, rc_bench_ec, rc_bench_aes, rc_cal, rc_hs, rc_records,
 dry, rc_bench_mlkem) = sys.argv[1:]
def load(name):
    try:
        with open(os.path.join(work, name)) as f:
            return json.load(f)
    except Exception as e:
        return {"missing": str(e)}
def tail(name, n=60):
    try:
        with open(os.path.join(work, name), errors="replace") as f:
            return f.read().splitlines()[-n:]
    except Exception as e:
        return [str(e)]
try:
    vs = compare(load("calibration.json"), [load(n) for n in ("bench_rsa.json", "bench_ec.json", "bench_aes.json")])
except Exception as e:  # keep every other result when the comparison breaks
    vs = {"error": repr(e)}
handshakes = {n: load("hs_%s.json" % n) for n in ("tls12_rsa_kx", "tls13_x25519_rsa2048", "tls13_x25519_ecdsa_p256")}
records = load("records.json")
print(json.dumps({
    "device": device,
    "dry_run": dry == "1",
    "handshakes": {"rc": int(rc_hs), "runs": handshakes,
                   "log_tail": {n: tail("hs_%s.log" % n, 10) for n in handshakes}},
    "records": {"rc": int(rc_records), "report": records, "log_tail": tail("records.log", 10),
                "aes_gpu_min_bytes_crossover": records_crossover(records)},
    "calibration": {"rc": int(rc_cal), "report": load("calibration.json"), "log_tail": tail("calibration.log", 10)},
    "model_vs_measured": vs,
    "nvidia_smi": tail("nvidia-smi.txt", 5),
    "gpu_tests": {"rc": int(rc_gpu), "report": load("gpu_tests.json"), "log_tail": tail("gpu_tests.log", 40),
                  "kernels_report": load("kernel_gpu_tests.json"), "kernels_log_tail": tail("kernel_gpu_tests.log", 20),
                  "x25519_report": load("x25519_gpu_tests.json"), "x25519_log_tail": tail("x25519_gpu_tests.log", 20),
                  "ec_report": load("ec_gpu_tests.json"), "ec_log_tail": tail("ec_gpu_tests.log", 20),
                  "aes_gcm_report": load("aes_gpu_tests.json"), "aes_gcm_log_tail": tail("aes_gpu_tests.log", 20),
                  "mlkem_report": load("mlkem_gpu_tests.json"), "mlkem_log_tail": tail("mlkem_gpu_tests.log", 20)},
    "unit_tests": {"rc": int(rc_unit), "log_tail": tail("unit_tests.log", 15)},
    "compute_sanitizer": {"rc": int(rc_san), "log_tail": tail("sanitizer.log", 40)},
    "benchmarks": {"rc": int(rc_bench), "report": load("bench.json")},
    "benchmarks_rsa": {"rc": int(rc_bench_rsa), "report": load("bench_rsa.json"), "log_tail": tail("bench_rsa.log", 20)},
    "benchmarks_ec": {"rc": int(rc_bench_ec), "report": load("bench_ec.json"), "log_tail": tail("bench_ec.log", 20)},
    "benchmarks_aes_gcm": {"rc": int(rc_bench_aes), "report": load("bench_aes.json"), "log_tail": tail("bench_aes.log", 20)},
    "benchmarks_mlkem": {"rc": int(rc_bench_mlkem), "report": load("bench_mlkem.json"),
                         "log_tail": tail("bench_mlkem.log", 20)},
}, indent=1))
PY
  echo "handshakes rc=$rc_hs, records rc=$rc_records"
  echo "calibration rc=$rc_cal, gpu tests rc=$rc_gpu, unit tests rc=$rc_unit, compute-sanitizer rc=$rc_san, benchmarks rc=$rc_bench, rsa benchmarks rc=$rc_bench_rsa, ec benchmarks rc=$rc_bench_ec, aes-gcm benchmarks rc=$rc_bench_aes, ml-kem benchmarks rc=$rc_bench_mlkem"
  echo "wrote $result"
  [ -f "$work/bench.json" ] && python3 scripts/bench_table.py "$work/bench.json" || true
  [ -f "$work/bench_rsa.json" ] && python3 scripts/bench_table.py "$work/bench_rsa.json" || true
  [ -f "$work/bench_ec.json" ] && python3 scripts/bench_table.py "$work/bench_ec.json" || true
  [ -f "$work/bench_aes.json" ] && python3 scripts/bench_table.py "$work/bench_aes.json" || true
  [ -f "$work/bench_mlkem.json" ] && python3 scripts/bench_table.py "$work/bench_mlkem.json" || true
  rm -rf "$work"
  local shape=0
  python3 scripts/gpu_check_report.py check "$result" $([ "$dry" = 1 ] && echo --dry-run) || shape=$?
  [ "$shape" -eq 0 ] && [ "$rc_gpu" -eq 0 ] && [ "$rc_unit" -eq 0 ] && { [ "$rc_san" -eq 0 ] || [ "$dry" = 1 ]; } &&
    [ "$rc_bench" -eq 0 ] && [ "$rc_bench_rsa" -eq 0 ] && [ "$rc_bench_ec" -eq 0 ] && [ "$rc_bench_aes" -eq 0 ] &&
    [ "$rc_bench_mlkem" -eq 0 ] && [ "$rc_hs" -eq 0 ] && [ "$rc_records" -eq 0 ]
}

case "${1:-}" in
  pack) shift; do_pack "$@" ;;
  run) shift; do_run "$@" ;;
  *) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
