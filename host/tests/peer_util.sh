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

# Writes an HAProxy configuration to FILE: one worker thread, gputls preferred
# over the default provider, SSL_MODE_ASYNC, a TLS frontend on 127.0.0.1:PORT
# (certificate and key in PEM, TLS 1.2+, the given curves list) in front of
# one HTTP backend; each EXTRA argument is a line of the backend section.
write_haproxy_gputls_cfg() {  # FILE PIDFILE MODULES PORT PEM CURVES [EXTRA...]
  local file=$1 pidfile=$2 modules=$3 port=$4 pem=$5 curves=$6 line
  shift 6
  {
    cat <<EOF
global
  master-worker
  pidfile $pidfile
  nbthread 1
  ssl-provider-path $modules
  ssl-provider gputls
  ssl-provider default
  ssl-propquery ?provider=gputls
  ssl-mode-async
defaults
  mode http
  timeout connect 5s
  timeout client 20s
  timeout server 20s
frontend tls_in
  bind 127.0.0.1:$port ssl crt $pem alpn h2,http/1.1 ssl-min-ver TLSv1.2 curves $curves
  default_backend local_http
backend local_http
EOF
    for line in "$@"; do echo "  $line"; done
  } >"$file"
}
