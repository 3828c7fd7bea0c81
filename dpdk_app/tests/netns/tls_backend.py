#!/usr/bin/env python3
"""Plaintext HTTP/1.1 backend behind the TLS server in the TLS netns tests.

  tls_backend.py --port P --dir D

serves, on 127.0.0.1 (the appliance runs in the root namespace and connects to
the backend with a kernel socket), many requests at once (a thread per
connection, keep-alive):
  GET /big.bin       the file D/big.bin (the tests write 10 MiB of random bytes
                     there and keep its sha256)
  GET /reset/N       headers announcing 10 MiB, then N bytes, then a TCP reset
                     (SO_LINGER 0): a backend that dies mid-response
  GET /<anything>    a short text body naming the path, so a test can check
                     that a request went through
It prints "listening on PORT" once it accepts connections.
"""
import argparse
import http.server
import os
import socket
import struct
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    directory = "."

    def log_message(self, fmt, *args):  # quiet: h2load sends thousands of requests
        pass

    def send_body(self, body, ctype="text/plain"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/big.bin":
            path = os.path.join(self.directory, "big.bin")
            size = os.path.getsize(path)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    self.wfile.write(chunk)
        elif self.path.startswith("/reset/"):
            n = int(self.path.split("/")[2])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(10 << 20))
            self.end_headers()
            self.wfile.write(os.urandom(n))
            self.wfile.flush()
            # Close with a reset, not a FIN: what a crashed backend looks like.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        else:
            self.send_body(f"backend saw {self.path}\n".encode())


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024  # h2load opens hundreds of connections at once
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    Handler.directory = a.dir
    srv = Server(("127.0.0.1", a.port), Handler)
    print(f"listening on {a.port}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
