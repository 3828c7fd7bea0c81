#!/usr/bin/env bash
# Two worker lcores, two queue pairs: flows spread over the cores (net_af_packet
# hashes them with PACKET_FANOUT; a NIC uses RSS), each core serves its own
# connections with its own state, and every transfer is right.
APP_LCORES="0@0,1@1,2@1"  # two workers; this machine may have only two CPUs
QPAIRS=2
source "$(dirname "$0")/lib.sh"
netns_setup
start_appliance
in_ns timeout 90 $PY "$HERE/netns_client.py" echo "$SERVER_IP" 7 --conns 60 --bytes 5000 --timeout 60
in_ns timeout 90 $PY "$HERE/netns_client.py" download "$SERVER_IP" 9000 --size 2000000 --conns 4 --timeout 60
stop_appliance
$PY "$HERE/netns_client.py" stats "$STATS" 'cores.0.tcp_conns_opened>=5' 'cores.1.tcp_conns_opened>=5' \
  'total.tcp_conns_opened>=64' 'total.tcp_conns_active==0'
echo PASS
