# Shared set-up for the appliance's netns tests: a namespace with a kernel
# client, a veth pair whose other end DPDK (net_af_packet) owns, the appliance
# started on it, and a trap that removes everything even when a step fails.
# Sourced by the *_test.sh scripts. Exit 77 = skipped (ctest SKIP_RETURN_CODE).
set -euo pipefail

APPLIANCE=${APPLIANCE:?set APPLIANCE to the gputls-appliance binary}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3  # the system python has scapy (python3-scapy)
SERVER_IP=10.213.0.1
CLIENT_IP=10.213.0.2
ID="$$$RANDOM"
ID=${ID: -6}
NS="gtns$ID"
VETH_DPDK="gtd$ID"
VETH_NS="gtn$ID"
PREFIX="gtapp$ID"
WORK=$(mktemp -d /tmp/gputls-netns.XXXXXX)
STATS="$WORK/stats.json"
APP_LOG="$WORK/appliance.log"
APP_PID=""
# Other processes a test starts (servers, capture): stopped by the trap.
EXTRA_PIDS=()

# (WORK goes too: a test may skip before netns_setup sets the trap that removes it.)
skip() { echo "SKIP: $*"; rm -rf "$WORK"; exit 77; }

cleanup() {
  local rc=$?
  set +e
  if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
    kill -TERM "$APP_PID"
    for _ in $(seq 50); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$APP_PID" 2>/dev/null && { echo "appliance did not stop on SIGTERM; killing it"; kill -KILL "$APP_PID"; }
    wait "$APP_PID" 2>/dev/null
  fi
  for p in "${EXTRA_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  ip link del "$VETH_DPDK" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  rm -rf "/etc/netns/$NS"  # per-namespace /etc files (hosts), if a test made them
  rm -rf "/var/run/dpdk/$PREFIX"
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    echo "--- appliance log (last 40 lines)"; tail -n 40 "$APP_LOG" 2>/dev/null
    echo "--- stats"; cat "$STATS" 2>/dev/null | head -c 4000; echo
    # NETNS_KEEP_FAILED=DIR (the stress script sets it): the failed run's
    # logs and stats are kept under DIR (not the test's 10 MiB payloads).
    if [ -n "${NETNS_KEEP_FAILED:-}" ]; then
      local keep="$NETNS_KEEP_FAILED/$(basename "$0" .sh).$(date +%H%M%S).$$"
      mkdir -p "$keep" && find "$WORK" -maxdepth 1 -type f -size -2M -exec cp {} "$keep/" \; &&
        echo "--- kept: $keep"
    fi
  fi
  rm -rf "$WORK"
  exit $rc
}

netns_setup() {
  [ "$(id -u)" -eq 0 ] || skip "netns tests need root"
  command -v ip >/dev/null || skip "iproute2 (ip) is not installed"
  command -v ping >/dev/null || skip "ping (iputils-ping) is not installed; run scripts/setup.sh"
  [ -x "$PY" ] || skip "$PY not found"
  trap cleanup EXIT
  trap 'exit 1' INT TERM
  ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace here"
  ip link add "$VETH_DPDK" type veth peer name "$VETH_NS"
  ip link set "$VETH_NS" netns "$NS"
  ip netns exec "$NS" ip link set lo up
  ip netns exec "$NS" ip addr add "$CLIENT_IP/24" dev "$VETH_NS"
  ip netns exec "$NS" ip link set "$VETH_NS" up
  ip link set "$VETH_DPDK" up
  # No IPv6 chatter on the appliance's side; software checksums on both ends
  # (veth offload would leave them unfilled).
  sysctl -qw "net.ipv6.conf.$VETH_DPDK.disable_ipv6=1" || true
  ethtool -K "$VETH_DPDK" tx off >/dev/null 2>&1 || true
  ip netns exec "$NS" ethtool -K "$VETH_NS" tx off >/dev/null 2>&1 || true
}

# start_appliance [appliance options...]: starts it (lcores from APP_LCORES,
# default 0-1: main + one worker; QPAIRS queue pairs) and waits until it
# answers ARP/ping (at most 20 s).
APP_LCORES=${APP_LCORES:-0-1}
QPAIRS=${QPAIRS:-1}
start_appliance() {
  "$APPLIANCE" "--lcores=$APP_LCORES" --no-huge -m 512 --no-pci --file-prefix "$PREFIX" --log-level=user1,info \
    "--vdev=net_af_packet0,iface=$VETH_DPDK,qpairs=$QPAIRS" -- \
    --ip "$SERVER_IP" --stats-file "$STATS" --stats-interval-ms 200 "$@" >"$APP_LOG" 2>&1 &
  APP_PID=$!
  for _ in $(seq 100); do
    kill -0 "$APP_PID" 2>/dev/null || { echo "appliance exited at start"; cat "$APP_LOG"; return 1; }
    if [ -s "$STATS" ] && ip netns exec "$NS" ping -c 1 -W 1 "$SERVER_IP" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "appliance did not answer ping within 20 s"
  return 1
}

# stop_appliance: SIGTERM and wait; the final stats file is then complete.
stop_appliance() {
  kill -TERM "$APP_PID"
  for _ in $(seq 100); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$APP_PID" 2>/dev/null; then echo "appliance ignored SIGTERM for 10 s"; return 1; fi
  wait "$APP_PID" || { echo "appliance exit status $?"; return 1; }
  APP_PID=""
  grep -q '"running": false' "$STATS" || { echo "final stats not written"; return 1; }
}

in_ns() { ip netns exec "$NS" "$@"; }
