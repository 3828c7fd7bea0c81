#!/usr/bin/env bash
# Builds gputls three ways and runs the tests of each; prints the time of every
# phase so each change can see what it adds to CI.
#   1. CUDA build (when nvcc exists): unit tests, then gpu tests (skip without a GPU),
#      then scripts/gpu-check.sh's dry run (every step of the GPU machine's one
#      command, GPU rows skipped, its JSON's shape checked), then the static GPU
#      performance model (scripts/gpu-model.sh, predictions)
#   2. host build (-DGPUTLS_CUDA=OFF): unit tests, integration tests (real
#      openssl peers on loopback), netns tests (the appliance in namespaces)
#   3. sanitizer build (ASan+UBSan, -DGPUTLS_CUDA=OFF): unit tests
# Exits non-zero if any build or test failed; every phase runs regardless.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
failed=()
timings=()

phase() {  # phase NAME COMMAND...
  local name=$1; shift
  local t0=$SECONDS
  echo "=== $name"
  if "$@"; then :; else failed+=("$name"); fi
  local dt=$((SECONDS - t0))
  timings+=("$(printf '%-34s %5ds' "$name" "$dt")")
  echo "=== $name: ${dt}s"
}

configure_build() {  # DIR CMAKE-ARGS...
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs"
}

run_label() {  # DIR LABEL
  (cd "$1" && ctest -L "^$2\$" -j "$jobs" --timeout 600 --output-on-failure)
}

# scripts/gpu-check.sh packed from the CUDA build and run with --dry-run, so
# the one command a lent GPU machine gets cannot rot between loans (issue 25).
gpu_check_dry_run() {
  # The run starts from the archive alone, as on the GPU machine.
  GPU_PACK=build/gpu-pack-dry scripts/gpu-check.sh pack --from build/cuda >build/gpu-check-dry.log 2>&1 &&
    rm -rf build/gpu-pack-dry &&
    GPU_PACK=build/gpu-pack-dry OUT=build/gpu-check-dry scripts/gpu-check.sh run --dry-run >>build/gpu-check-dry.log 2>&1 ||
    { tail -60 build/gpu-check-dry.log; return 1; }
  grep -E "rc=|gpu-check shape" build/gpu-check-dry.log
  # and the README generator reads what it wrote
  python3 scripts/gpu_results.py build/gpu-check-dry/gpu-check-*.json >build/gpu-check-dry/results.md
}

mkdir -p build
have_nvcc=no
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then have_nvcc=yes; fi

if [ "$have_nvcc" = yes ]; then
  if phase "CUDA build" configure_build build/cuda -DGPUTLS_CUDA=ON && [ ${#failed[@]} -eq 0 ]; then
    # The RSA and EC differentials run in full in the host build (same
    # g++-compiled host twin); here and under ASan a fraction keeps CI short.
    GPUTLS_RSA_DIFF_SCALE=0.1 GPUTLS_EC_DIFF_SCALE=0.1 phase "CUDA build: unit tests" run_label build/cuda unit
    phase "CUDA build: gpu tests" run_label build/cuda gpu
    phase "gpu-check.sh dry run" gpu_check_dry_run
  fi
  # The static performance model (predictions, issue 19): fails only when it
  # cannot be computed (a kernel does not compile, or its model no longer
  # matches its code), never on a missed target. Output under build/.
  phase "static GPU model (predictions)" scripts/gpu-model.sh --out-dir build/gpu-model-results
else
  echo "=== CUDA build: skipped (no nvcc on PATH or in /usr/local/cuda/bin)"
fi

if phase "host build" configure_build build/host -DGPUTLS_CUDA=OFF; then
  phase "host build: unit tests" run_label build/host unit
  phase "host build: integration tests" run_label build/host integration
  # Network-namespace tests (the appliance on a veth pair): they need root and
  # skip visibly without it; each creates and removes its own namespace.
  phase "host build: netns tests" run_label build/host netns
fi

if phase "sanitizer build (ASan+UBSan)" configure_build build/asan -DGPUTLS_CUDA=OFF -DGPUTLS_SANITIZE=ON \
    -DGPUTLS_BUILD_BENCH=OFF; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 GPUTLS_RSA_DIFF_SCALE=0.25 \
    GPUTLS_EC_DIFF_SCALE=0.25 GPUTLS_HANDSHAKE_SCALE=0.2 \
    phase "sanitizer build: unit tests" run_label build/asan unit
fi

echo
echo "=== phase times"
printf '%s\n' "${timings[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all phases passed"
