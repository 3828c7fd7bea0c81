# Sourced by the integration scripts that start real TLS peers on loopback.

# A free loopback port: bind 0 and read it back.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Waits (up to 10 s) for `openssl s_server` to log ACCEPT in LOG; a probe
# connection would use up one of -naccept. Fails the script when it never does.
wait_for_accept() {  # LOG
  for _ in $(seq 100); do
    grep -q ACCEPT "$1" && return 0
    sleep 0.1
  done
  echo "FAIL: the server did not start"; cat "$1"; exit 1
}
