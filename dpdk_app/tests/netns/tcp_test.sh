#!/usr/bin/env bash
# Kernel TCP clients against the appliance: 100 concurrent echo connections
# and a 10 MiB download checked by SHA-256.
source "$(dirname "$0")/lib.sh"
netns_setup
start_appliance --echo-port 7 --download-port 9000
in_ns timeout 90 $PY "$HERE/netns_client.py" echo "$SERVER_IP" 7 --conns 100 --bytes 20000 --timeout 60
in_ns timeout 90 $PY "$HERE/netns_client.py" download "$SERVER_IP" 9000 --size $((10 * 1024 * 1024)) --timeout 60
stop_appliance
$PY "$HERE/netns_client.py" stats "$STATS" 'total.tcp_conns_opened>=101' 'total.tcp_conns_active==0' \
  'total.drops.tcp_bad_checksum==0' 'total.mem_bytes_peak<=total.mem_bytes_limit'
echo PASS
