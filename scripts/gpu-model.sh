#!/bin/sh
# Static performance model of the CUDA kernels (issue 19): PREDICTIONS for
# H100 SXM, H100 PCIe and H200, computed without a GPU in well under a minute
# (plus a one-time ~85 MB download of nvdisasm from Debian's nvidia-cuda-toolkit
# .deb into build/gpu-model-tools/, with a private apt configuration: nothing is
# installed, the system's apt sources are not touched).
#
# Writes bench/results/model-{h100-sxm,h100-pcie,h200}/gpu_model.json and
# prints a summary. Exit 0 when the model was computed (whatever it predicts;
# a missed target is never a failure), non-zero when it could not be (no nvcc,
# a kernel failed to compile, no python3). Without nvdisasm (download failed)
# it still writes the ptxas-based fields and marks the SASS-based ones null
# with the reason.
#
# Usage: scripts/gpu-model.sh [--no-sass] [--out-dir DIR] [--build-dir DIR] [--tools-dir DIR] [--nvcc PATH]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v python3 >/dev/null 2>&1; then
  echo "gpu-model: ERROR: python3 not found" >&2
  exit 2
fi
if [ -z "${NVCC:-}" ]; then
  NVCC=$(command -v nvcc 2>/dev/null || true)
  [ -n "$NVCC" ] || NVCC=/usr/local/cuda/bin/nvcc
fi
exec python3 "$here/gpu_model.py" --nvcc "$NVCC" "$@"
