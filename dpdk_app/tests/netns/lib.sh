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
# More namespaces a test makes (add_netns), removed by the trap; kernel clients
# run (in_ns) in CLIENT_NS, which is $NS unless a test sets it (tls_scale_out's
# clients reach the appliances through a balancer namespace, $NS).
MORE_NETNS=()
CLIENT_NS=""

# Several appliances in one test (tls_scale_out): each has its own veth pair,
# EAL file prefix, address, stats file, log and pid, kept in the variables
# below for the current one. lib.sh's own is "main"; add_appliance makes
# another, use_appliance makes one current, and start_appliance,
# stop_appliance, check_stats... act on the current one. Plain globals
# switched by name rather than function-local overrides: the trap runs in the
# scope of whatever called exit, where a local would hide the others.
APP_VARS=(VETH_DPDK VETH_NS PREFIX SERVER_IP CLIENT_IP STATS APP_LOG APP_PID)
declare -gA APP_SAVED=()  # "NAME VAR" -> value, for the appliances not current
APP_NAMES=(main)
APP_CURRENT=main

# (WORK goes too: a test may skip before netns_setup sets the trap that removes it.)
skip() { echo "SKIP: $*"; rm -rf "$WORK"; exit 77; }

cleanup() {
  local rc=$?
  set +e
  use_appliance "$APP_CURRENT"  # the current one's variables join the others'
  local name pid pids=() alive
  for name in "${APP_NAMES[@]}"; do
    pid=${APP_SAVED["$name APP_PID"]}
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; pids+=("$pid"); fi
  done
  for _ in $(seq 50); do  # all stop together: 5 s at most, not 5 s each
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 1 ] || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && { echo "appliance did not stop on SIGTERM; killing it"; kill -KILL "$pid"; }
    wait "$pid" 2>/dev/null
  done
  for p in "${EXTRA_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  for name in "${APP_NAMES[@]}"; do
    kernel_blind "${APP_SAVED["$name VETH_DPDK"]}" off  # a benchmark's nftables table, if any
    ip link del "${APP_SAVED["$name VETH_DPDK"]}" 2>/dev/null
    rm -rf "/var/run/dpdk/${APP_SAVED["$name PREFIX"]}"
  done
  for name in "$NS" "${MORE_NETNS[@]}"; do
    ip netns del "$name" 2>/dev/null
    rm -rf "/etc/netns/$name"  # per-namespace /etc files (hosts), if a test made them
  done
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    for name in "${APP_NAMES[@]}"; do
      local label=appliance
      [ ${#APP_NAMES[@]} -eq 1 ] || label="appliance $name"
      echo "--- $label log (last 40 lines)"; tail -n 40 "${APP_SAVED["$name APP_LOG"]}" 2>/dev/null
      echo "--- $label stats"; head -c 4000 "${APP_SAVED["$name STATS"]}" 2>/dev/null; echo
    done
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

# use_appliance NAME: NAME's veth, prefix, address, stats, log and pid become
# the current ones (VETH_DPDK, PREFIX, SERVER_IP, STATS, APP_LOG, APP_PID...).
use_appliance() {
  local v
  if [ "$1" != "$APP_CURRENT" ] && [ -z "${APP_SAVED["$1 PREFIX"]+set}" ]; then
    echo "use_appliance: no appliance '$1'"
    return 1
  fi
  for v in "${APP_VARS[@]}"; do APP_SAVED["$APP_CURRENT $v"]=${!v}; done
  for v in "${APP_VARS[@]}"; do printf -v "$v" '%s' "${APP_SAVED["$1 $v"]}"; done
  APP_CURRENT=$1
}

# add_appliance NAME IP PEER_IP: another appliance (not started; use_appliance
# NAME, then start_appliance) at IP on a veth pair of its own whose other end
# is in $NS with PEER_IP/24.
add_appliance() {
  local name=$1 k=${#APP_NAMES[@]}
  # A letter in the names: no clash with another test's gtd<6 digits>.
  APP_SAVED["$name VETH_DPDK"]="gtd${ID}i$k"
  APP_SAVED["$name VETH_NS"]="gtn${ID}i$k"
  APP_SAVED["$name PREFIX"]="gtapp${ID}i$k"
  APP_SAVED["$name SERVER_IP"]=$2
  APP_SAVED["$name CLIENT_IP"]=$3
  APP_SAVED["$name STATS"]="$WORK/stats-$name.json"
  APP_SAVED["$name APP_LOG"]="$WORK/appliance-$name.log"
  APP_SAVED["$name APP_PID"]=""
  APP_NAMES+=("$name")  # from here on the trap removes its veth
  veth_to_ns "gtd${ID}i$k" "gtn${ID}i$k" "$3"
}

# add_netns NAME: another namespace (loopback up), removed by the trap.
add_netns() {
  ip netns add "$1"
  MORE_NETNS+=("$1")
  ip netns exec "$1" ip link set lo up
}

# veth_to_ns DPDK_END NS_END ADDR: a veth pair, DPDK_END here (for DPDK's
# net_af_packet), NS_END in $NS with ADDR/24.
veth_to_ns() {
  ip link add "$1" type veth peer name "$2"
  ip link set "$2" netns "$NS"
  ip netns exec "$NS" ip addr add "$3/24" dev "$2"
  ip netns exec "$NS" ip link set "$2" up
  ip link set "$1" up
  # No IPv6 chatter on the appliance's side; software checksums on both ends
  # (veth offload would leave them unfilled).
  sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1" || true
  ethtool -K "$1" tx off >/dev/null 2>&1 || true
  ip netns exec "$NS" ethtool -K "$2" tx off >/dev/null 2>&1 || true
}

# appliance_busy_core_seconds: the current appliance's busy-poll cycles so far, in core-seconds,
# from its stats file ("null" before it wrote one); its core always reads 100% busy otherwise.
appliance_busy_core_seconds() {
  if [ -f "$STATS" ]; then
    $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["busy_core_seconds"])' "$STATS"
  else
    echo null
  fi
}

# steer_receive DEV CPU|off [NS]: DEV's receive processing (in NS, else here) on CPU, by RPS, or
# where the frame was sent (off, the kernel's default). A veth receives a frame in its sender's
# context, so by default a kernel server's receive work runs on its client's core and the
# client's on the server's; a NIC queue's interrupt bound to the server's core puts the server's
# there, and a client on another machine takes its own. Benchmarks only.
steer_receive() {
  local mask=0
  [ "$2" = off ] || mask=$(printf '%x' $((1 << $2)))
  if [ -n "${3:-}" ]; then
    ip netns exec "$3" sh -c "echo $mask > /sys/class/net/$1/queues/rx-0/rps_cpus"
  else
    echo "$mask" >"/sys/class/net/$1/queues/rx-0/rps_cpus"
  fi
}

# kernel_blind DEV on|off: while the appliance owns DEV the kernel must not process its frames
# as well. With a NIC under DPDK it never sees them, but a veth hands every frame to af_packet
# (the appliance) and then to the kernel's IP stack, which, the address not being its own, looks
# up a route, fails and frees the entry by RCU (1.5-3% of the appliance's core in a profile, when
# that receive work was steered there). An nftables netdev ingress chain drops each frame after
# af_packet's tap took it (taps come first in the kernel's receive path). Off for a kernel server
# on DEV. The appliance's end stays unsteered (steer_receive off): af_packet's copy into its ring
# then runs on the sender's core, standing in for a NIC's DMA, which costs the server's core
# nothing.
kernel_blind() {
  local table="gputls_blind_$1"
  if [ "$2" = on ]; then
    nft -f - <<EOF
table netdev $table {
  chain in { type filter hook ingress device "$1" priority 0; policy drop; }
}
EOF
  else
    nft delete table netdev "$table" 2>/dev/null || true
  fi
}

netns_setup() {
  [ "$(id -u)" -eq 0 ] || skip "netns tests need root"
  command -v ip >/dev/null || skip "iproute2 (ip) is not installed"
  command -v ping >/dev/null || skip "ping (iputils-ping) is not installed; run scripts/setup.sh"
  [ -x "$PY" ] || skip "$PY not found"
  trap cleanup EXIT
  trap 'exit 1' INT TERM
  ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace here"
  ip netns exec "$NS" ip link set lo up
  veth_to_ns "$VETH_DPDK" "$VETH_NS" "$CLIENT_IP"
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

in_ns() { ip netns exec "${CLIENT_NS:-$NS}" "$@"; }
