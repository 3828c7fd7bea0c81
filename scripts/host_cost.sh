#!/usr/bin/env bash
# gputls's own host cost per handshake, in instructions (issue 24): callgrind
# on gputls-bench's in-process server side only (its server_side() calls),
# the marginal cost per handshake between runs of 600 and 1,200 handshakes so
# start-up work cancels out, for the default provider and gputls:cpu (inline,
# synchronous) in the three benchmark configurations. The floor is the
# default provider's server instructions minus its public-key calls; "rest"
# is a provider's server instructions minus the same public-key cost.
#   scripts/host_cost.sh [MODULES_DIR...]   each directory holds a gputls.so
#                                           (default: build/host/modules);
#                                           several compare builds side by side
# Needs valgrind; about 15 minutes for the default provider and each gputls.so on
# 2 cores. Not part of CI.
# HOST_COST_COUNTS="600 1200" sets the two run lengths (small ones for a
# quick check of the script itself; the figures need the defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "host_cost.sh: valgrind is not installed (scripts/setup.sh)"; exit 1; }
[ $# -gt 0 ] || set -- build/host/modules
bench=${GPUTLS_BUILD_DIR:-build/host}/bench/gputls-bench
[ -x "$bench" ] || { echo "host_cost.sh: no $bench (cmake --build build/host --target gputls-bench)"; exit 1; }
for m in "$@"; do [ -f "$m/gputls.so" ] || { echo "host_cost.sh: no $m/gputls.so"; exit 1; }; done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GPUTLS_QUIET=1
run() {  # out count provider modules args...
  local out=$1 count=$2 prov=$3 mods=$4; shift 4
  valgrind --tool=callgrind --toggle-collect='*server_side*' --callgrind-out-file="$work/$out" "$bench" handshake \
    --provider "$prov" --modules "$mods" --count "$count" --concurrency 8 --threads 1 "$@" >/dev/null 2>&1
}
configs=("tls12_rsa|--tls 1.2 --cipher AES128-GCM-SHA256 --cert rsa2048"
         "tls13_rsa|--tls 1.3 --group x25519 --cert rsa2048"
         "tls13_ecdsa|--tls 1.3 --group x25519 --cert ecdsa-p256")
read -r n1 n2 <<<"${HOST_COST_COUNTS:-600 1200}"
for c in "${configs[@]}"; do
  name=${c%%|*}
  read -r -a args <<<"${c#*|}"
  for count in "$n1" "$n2"; do
    run "$name.default.$count" "$count" default "$1" "${args[@]}"
    i=0
    for m in "$@"; do
      run "$name.gputls$i.$count" "$count" gputls:cpu "$m" "${args[@]}"
      i=$((i + 1))
    done
  done
done
python3 - "$work" "$n1" "$n2" "$@" <<'PY'
import re, subprocess, sys
work, n1, n2, mods = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
def total(p):
    return int(open(p).read().split("summary: ")[1].split()[0])
def inclusive(p, names):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=yes", p],
                         capture_output=True, text=True).stdout
    best = {}
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+) \([ \d.]+%\)\s+\?\?\?:(\S+) ", line)
        if m and "=>" not in line and m.group(2) in names:
            best[m.group(2)] = max(best.get(m.group(2), 0), int(m.group(1).replace(",", "")))
    return sum(best.values())
pk = {"tls12_rsa": ["EVP_PKEY_decrypt"],
      "tls13_rsa": ["EVP_DigestSign", "EVP_PKEY_generate", "EVP_PKEY_derive"],
      "tls13_ecdsa": ["EVP_DigestSign", "EVP_PKEY_generate", "EVP_PKEY_derive"]}
print(f"instructions per handshake, server side (marginal between {n1} and {n2} handshakes)")
print(f"{'configuration':<13} {'default':>9} {'pk':>9} {'floor':>9}  " + "  ".join(f"rest/floor {m}" for m in mods))
for name, fns in pk.items():
    marg = lambda who: (total(f"{work}/{name}.{who}.{n2}") - total(f"{work}/{name}.{who}.{n1}")) / (n2 - n1)
    d = marg("default")
    p = (inclusive(f"{work}/{name}.default.{n2}", fns) - inclusive(f"{work}/{name}.default.{n1}", fns)) / (n2 - n1)
    floor = d - p
    ratios = [(marg(f"gputls{i}") - p) / floor for i in range(len(mods))]
    print(f"{name:<13} {d / 1e3:8.0f}k {p / 1e3:8.0f}k {floor / 1e3:8.0f}k  " +
          "  ".join(f"{r:>{len('rest/floor ' + m)}.3f}" for r, m in zip(ratios, mods)))
PY
