#!/usr/bin/env bash
# Bad traffic (scapy) while a normal client keeps being served: each kind is
# counted in the stats, and connection memory stays within its bound.
source "$(dirname "$0")/lib.sh"
netns_setup
$PY -c 'import scapy.all' 2>/dev/null || skip "python3-scapy is not installed"
# Small limits so the attack reaches them: 16 KiB + 16 KiB per connection,
# 64 connections' worth of buffer memory, a 64-entry SYN backlog.
start_appliance --rcv-buf 16384 --snd-buf 16384 --mem-limit $((64 * 32768)) --max-half-open 64 \
  --max-connections 1024 --idle-timeout-s 3
SERVER_MAC=$(cat /sys/class/net/$VETH_DPDK/address)

# The normal client: echo rounds and downloads all through the attack.
(
  for round in $(seq 8); do
    in_ns timeout 60 $PY "$HERE/netns_client.py" echo "$SERVER_IP" 7 --conns 10 --bytes 5000 --timeout 30 || exit 1
    in_ns timeout 60 $PY "$HERE/netns_client.py" download "$SERVER_IP" 9000 --size 1000000 --timeout 30 || exit 1
  done
) >"$WORK/client.log" 2>&1 &
CLIENT_PID=$!

in_ns timeout 120 $PY "$HERE/bad_traffic.py" "$VETH_NS" "$SERVER_IP" "$SERVER_MAC" | tee "$WORK/sent.json"
# Limits hold while the flood's half-open entries are alive.
$PY "$HERE/netns_client.py" stats "$STATS" 'total.tcp_half_open<=64' 'total.mem_bytes_in_use<=total.mem_bytes_limit'
wait "$CLIENT_PID" || { echo "normal client failed during the attack:"; cat "$WORK/client.log"; exit 1; }
grep -c ok "$WORK/client.log" | sed 's/^/normal client transfers ok: /'
sleep 4  # idle timeout reaps the abandoned connections
in_ns timeout 30 $PY "$HERE/netns_client.py" echo "$SERVER_IP" 7 --conns 5 --bytes 1000 --timeout 20
stop_appliance
$PY "$HERE/netns_client.py" stats "$STATS" \
  'total.drops.ip_bad_checksum>=20' 'total.drops.tcp_bad_checksum>=20' 'total.drops.tcp_bad_flags>=20' \
  'total.drops.tcp_out_of_window>=5' 'total.drops.tcp_rst_ignored>=3' \
  'total.drops.tcp_syn_in_window>=2' 'total.tcp_challenge_acks>=5' \
  'total.tcp_syn_received>=3000' 'total.tcp_syn_cookies_sent>=1' 'total.tcp_conns_idle_timeout>=20' \
  'total.mem_bytes_peak<=total.mem_bytes_limit' 'total.tcp_conns_active==0'
echo PASS
