#!/usr/bin/env bash
# Prints the name results are filed under (bench/results/<name>/): the GPU's
# name when nvidia-smi sees one, else cpu-<model>. Lower case, [a-z0-9-] only.
set -euo pipefail
name=""
if command -v nvidia-smi >/dev/null 2>&1; then
  name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || true)
fi
if [ -z "$name" ]; then
  name="cpu-$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
fi
echo "$name" | tr 'A-Z' 'a-z' | sed -E 's/\(r\)|\(tm\)|@.*$//g; s/[^a-z0-9]+/-/g; s/^-+|-+$//g'
