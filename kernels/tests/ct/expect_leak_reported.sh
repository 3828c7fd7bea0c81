#!/bin/sh
# The negative control of a constant-time check: passes only when valgrind
# reported each planted leak, of the expected kind, with the planted function
# on the report's stack, and the program ran to its end. A crash, a bad
# argument, a set-up failure or a report somewhere else fails it (a WILL_FAIL
# test would have passed on any of those).
#
# usage: expect_leak_reported.sh VALGRIND "KIND:FUNCTION ..." PROGRAM [ARGS...]
#   KIND: branch (a jump on a secret) or index (a load from a secret address)
set -u
valgrind=$1 expected=$2
shift 2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$valgrind" -q --error-exitcode=99 --track-origins=yes --log-file="$log" "$@"
rc=$?
if [ "$rc" -ne 99 ]; then
  cat "$log"
  echo "FAIL: valgrind exited $rc, not 99 (99: errors reported and the program ran to its end)"
  exit 1
fi
status=0
for want in $expected; do
  kind=${want%%:*} func=${want#*:}
  case $kind in
    branch) message='Conditional jump or move depends on uninitialised value' ;;
    index) message='Use of uninitialised value of size' ;;
    *) echo "FAIL: unknown kind '$kind'"; exit 2 ;;
  esac
  # Each valgrind report is a block of lines; look for one with the message
  # and the function among its frames.
  if awk -v msg="$message" -v fn="$func" '
      { sub(/^==[0-9]+== ?/, "") }
      /^$/ { inblock = 0; next }
      index($0, msg) { inblock = 1; next }
      inblock && /^ *(at|by) 0x/ && ($0 ~ ("[ :]" fn "[( ]")) { found = 1 }
      END { exit found ? 0 : 1 }' "$log"; then
    echo "ok: $kind reported in $func"
  else
    echo "FAIL: no '$message' report in $func"
    status=1
  fi
done
[ "$status" -eq 0 ] || cat "$log"
exit "$status"
