#!/usr/bin/env bash
# Runs one netns test many times in a row, to show a flake is gone (or to
# catch one): stress.sh [TEST [RUNS]], TEST a tests/netns/*_test.sh name
# without _test.sh (default tls_bad_input), RUNS default 50. Every run goes to
# the end; a failed run's output, appliance log and stats are kept under
# $STRESS_KEEP (default a new /tmp/gputls-netns-stress.* directory, removed
# when every run passed). Prints one line per run and the count; exits 1 if
# any run failed, 77 if the test skips (no root, no namespaces).
# Not in CI (ctest label `stress` only): `ctest -L stress` in a build dir, or
# APPLIANCE=... GPUTLS_PROVIDER=... bash dpdk_app/tests/netns/stress.sh.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TEST=${1:-tls_bad_input}
RUNS=${2:-50}
SCRIPT="$HERE/${TEST}_test.sh"
[ -f "$SCRIPT" ] || { echo "stress.sh: no $SCRIPT"; exit 2; }
# What the tests need from the environment (ctest sets both): checked once
# here rather than failing every run in the same way.
[ -n "${APPLIANCE:-}" ] || { echo "stress.sh: set APPLIANCE to the gputls-appliance binary"; exit 2; }
case $TEST in
  tls_*) [ -n "${GPUTLS_PROVIDER:-}" ] || { echo "stress.sh: set GPUTLS_PROVIDER to gputls.so"; exit 2; } ;;
esac
KEEP=${STRESS_KEEP:-$(mktemp -d /tmp/gputls-netns-stress.XXXXXX)}
mkdir -p "$KEEP"
pass=0 failed=0 t_start=$SECONDS
for i in $(seq "$RUNS"); do
  t0=$SECONDS
  rc=0
  NETNS_KEEP_FAILED="$KEEP/run$i" bash "$SCRIPT" >"$KEEP/run$i.log" 2>&1 || rc=$?
  if [ $rc -eq 77 ]; then
    cat "$KEEP/run$i.log"; rm -rf "$KEEP"; exit 77
  elif [ $rc -eq 0 ]; then
    pass=$((pass + 1))
    rm -f "$KEEP/run$i.log"
    echo "run $i/$RUNS: pass ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    echo "run $i/$RUNS: FAIL rc $rc ($((SECONDS - t0)) s): $(grep -m1 -E '^FAIL|FAILED|stats checks failed' "$KEEP/run$i.log")"
    echo "  output: $KEEP/run$i.log; logs: $KEEP/run$i/"
  fi
done
echo "$TEST: $pass of $RUNS runs passed, $failed failed ($((SECONDS - t_start)) s)"
if [ $failed -ne 0 ]; then
  echo "failed runs kept in $KEEP"
  exit 1
fi
[ -n "${STRESS_KEEP:-}" ] || rm -rf "$KEEP"
exit 0
