#!/usr/bin/env python3
"""Kernel-TCP clients for the appliance's netns tests (run inside the namespace).

  echo HOST PORT --conns N --bytes B     N concurrent connections each send B
                                         random bytes and must get them back
  download HOST PORT --size S [--conns N] each connection asks for S bytes and
                                         checks their SHA-256 against the
                                         pattern rebuilt here (hashlib)
  tls-bad HOST PORT --mode M [--conns N]  misbehaving TLS clients, N at once:
                                         garbage (random bytes, no ClientHello),
                                         truncated (half a ClientHello record,
                                         then our FIN), stall (a whole
                                         ClientHello, then silence); each must
                                         see the server close within --timeout
  tls-slow HOST PORT --conns N --hold S   N TLS clients that each ask for PATH and
                                         then read nothing for S seconds (their
                                         receive windows close); then each reads
                                         what it can: prints how many the server
                                         had closed (reset or EOF) before the
                                         whole body arrived, as JSON
  churn HOST PORT --seconds S --rate R    garbage-then-close connections at up to R
                                         a second (K in flight): each sends bytes
                                         that are no TLS record and waits for the
                                         server to close it (the server closes
                                         first, so its side goes to TIME_WAIT);
                                         --mode hello-rst: a ClientHello, then a
                                         reset at once; prints the counts as JSON
  stats FILE CHECK...                    asserts on the appliance's stats JSON,
                                         CHECK like total.drops.ip_fragment>=1;
                                         a side may add paths (a.b+c.d>=1) and
                                         a path ending in .* sums an object's
                                         values (total.tls.failures.*>=3)
  value FILE EXPR... [--fresh]           prints each EXPR's value (paths as in
                                         stats), one a line; --fresh first waits
                                         until the running appliance has
                                         rewritten FILE twice, so the values
                                         include everything done before the call
Exit status 0 only when every transfer was complete and correct.
"""
import argparse
import hashlib
import json
import os
import selectors
import socket
import struct
import sys
import time

PERIOD = 1048573  # services/download_pattern.h


def pattern_table():
    out = bytearray()
    k = 0
    while len(out) < PERIOD:
        out += hashlib.sha256(k.to_bytes(8, "big")).digest()
        k += 1
    return bytes(out[:PERIOD])


def expected_digest(size):
    table = pattern_table()
    h = hashlib.sha256()
    left = size
    while left:
        n = min(left, PERIOD)
        h.update(table[:n])
        left -= n
    return h.hexdigest()


def run_echo(host, port, conns, nbytes, timeout):
    sel = selectors.DefaultSelector()
    state = {}
    for i in range(conns):
        s = socket.create_connection((host, port), timeout=timeout)
        s.setblocking(False)
        data = os.urandom(nbytes)
        state[s] = {"out": memoryview(data), "want": data, "got": bytearray(), "shut": False, "id": i}
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    deadline = time.time() + timeout
    done = 0
    while done < conns:
        if time.time() > deadline:
            short = [st["id"] for st in state.values() if len(st["got"]) < nbytes]
            raise SystemExit(f"echo: timeout; {len(short)} connections incomplete (e.g. {short[:5]})")
        for key, ev in sel.select(timeout=1):
            s, st = key.fileobj, state[key.fileobj]
            if ev & selectors.EVENT_WRITE and len(st["out"]):
                n = s.send(st["out"][:65536])
                st["out"] = st["out"][n:]
            if not len(st["out"]) and not st["shut"]:
                s.shutdown(socket.SHUT_WR)  # our FIN: the server closes after echoing
                st["shut"] = True
                sel.modify(s, selectors.EVENT_READ)
            if ev & selectors.EVENT_READ:
                chunk = s.recv(65536)
                if chunk:
                    st["got"] += chunk
                else:  # server's FIN
                    if bytes(st["got"]) != st["want"]:
                        raise SystemExit(f"echo: connection {st['id']} got {len(st['got'])} bytes, wrong data")
                    sel.unregister(s)
                    s.close()
                    done += 1
    print(f"echo: {conns} connections x {nbytes} bytes echoed correctly")


def run_download(host, port, size, conns, timeout):
    want = expected_digest(size)
    sel = selectors.DefaultSelector()
    state = {}
    for i in range(conns):
        s = socket.create_connection((host, port), timeout=timeout)
        s.sendall(f"{size}\n".encode())
        s.setblocking(False)
        state[s] = {"h": hashlib.sha256(), "n": 0, "id": i}
        sel.register(s, selectors.EVENT_READ)
    deadline = time.time() + timeout
    t0 = time.time()
    done = 0
    while done < conns:
        if time.time() > deadline:
            got = [st["n"] for st in state.values()]
            raise SystemExit(f"download: timeout; bytes so far {got[:8]}")
        for key, _ in sel.select(timeout=1):
            s, st = key.fileobj, state[key.fileobj]
            chunk = s.recv(1 << 20)
            if chunk:
                st["h"].update(chunk)
                st["n"] += len(chunk)
                continue
            sel.unregister(s)
            s.close()
            done += 1
            if st["n"] != size or st["h"].hexdigest() != want:
                raise SystemExit(f"download {st['id']}: {st['n']} of {size} bytes, sha256 "
                                 f"{st['h'].hexdigest()} want {want}")
    dt = time.time() - t0
    print(f"download: {conns} x {size} bytes, sha256 {want} ok, {conns * size / dt / 1e6:.1f} MB/s")


def client_hello(server_name):
    """The bytes of a real ClientHello (Python's ssl on memory BIOs)."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=server_name)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def run_tls_bad(host, port, mode, conns, server_name, timeout):
    hello = client_hello(server_name)
    socks = []
    for _ in range(conns):
        s = socket.create_connection((host, port), timeout=timeout)
        if mode == "garbage":
            s.sendall(b"\x47" + os.urandom(1023))  # not a TLS record type
        elif mode == "truncated":
            s.sendall(hello[: len(hello) // 2])      # the record header promises more
            s.shutdown(socket.SHUT_WR)
        else:
            s.sendall(hello)                          # then never answer the server's flight
        socks.append(s)
    t0 = time.time()
    for i, s in enumerate(socks):
        got = bytearray()
        try:
            while True:
                left = timeout - (time.time() - t0)
                if left <= 0:
                    raise SystemExit(f"tls-bad {mode}: connection {i} still open after {timeout} s")
                s.settimeout(left)
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
        except socket.timeout:
            raise SystemExit(f"tls-bad {mode}: connection {i} still open after {timeout} s")
        s.close()
        alert = len(got) > 0 and got[0] == 21  # TLS record type 21: alert
        print(f"tls-bad {mode}: connection {i} closed by the server after {time.time() - t0:.2f} s, "
              f"{len(got)} bytes received{', an alert record first' if alert else ''}")


def run_tls_slow(host, port, conns, hold, path, server_name, body_min):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    socks = []
    for _ in range(conns):
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the window closes soon
        raw.settimeout(10)
        raw.connect((host, port))
        s = ctx.wrap_socket(raw, server_hostname=server_name)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\n\r\n".encode())
        socks.append(s)
    time.sleep(hold)
    cut = complete = 0
    for s in socks:
        got = 0
        try:
            s.settimeout(2)
            while got < body_min:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += len(chunk)
        except (ConnectionResetError, ssl.SSLError, socket.timeout, OSError):
            pass
        if got >= body_min:
            complete += 1
        else:
            cut += 1
        s.close()
    print(json.dumps({"connections": conns, "closed_by_server": cut, "complete": complete}))


def run_churn(host, port, seconds, rate, inflight, timeout, mode="garbage", server_name="localhost"):
    sel = selectors.DefaultSelector()
    # garbage: bytes that are no TLS record, then wait for the server to close;
    # hello-rst: a real ClientHello, then at once a reset (SO_LINGER 0), while
    # the server is working on it (its job may be paused on gputls).
    junk = b"\x47" + os.urandom(63) if mode == "garbage" else client_hello(server_name)
    t0 = time.time()
    next_start = t0
    counts = {"started": 0, "closed_by_server": 0, "reset_by_server": 0, "reset_by_client": 0, "failed": 0}

    def finish(s, outcome):
        sel.unregister(s)
        s.close()
        counts[outcome] += 1

    while True:
        now = time.time()
        starting = now - t0 < seconds
        if not starting and not sel.get_map():
            break
        while starting and len(sel.get_map()) < inflight and next_start <= now:
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect((host, port))
            except BlockingIOError:
                pass
            sel.register(s, selectors.EVENT_WRITE, {"t": now, "sent": False})
            counts["started"] += 1
            next_start += 1.0 / rate
        if next_start < now - 1:  # behind by more than a second: do not burst to catch up
            next_start = now
        for key, _ in sel.select(timeout=0.005):
            s, st = key.fileobj, key.data
            try:
                if not st["sent"]:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        finish(s, "failed")
                        continue
                    s.send(junk)
                    st["sent"] = True
                    if mode == "hello-rst":
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        finish(s, "reset_by_client")
                        continue
                    sel.modify(s, selectors.EVENT_READ, st)
                elif not s.recv(4096):
                    finish(s, "closed_by_server")
            except ConnectionResetError:
                finish(s, "reset_by_server")
            except OSError:
                finish(s, "failed")
        for key in list(sel.get_map().values()):
            if now - key.data["t"] > timeout:
                finish(key.fileobj, "failed")
    elapsed = time.time() - t0
    counts["seconds"] = round(elapsed, 2)
    done = counts["closed_by_server"] + counts["reset_by_server"] + counts["reset_by_client"]
    counts["per_second"] = round(done / elapsed)
    print(json.dumps(counts))
    if counts["failed"]:
        raise SystemExit(f"churn: {counts['failed']} connections failed or were not closed within {timeout} s")


def lookup(doc, path):
    node = doc
    for i, part in enumerate(path.split(".")):
        if part == "*" and isinstance(node, dict):
            return sum(v for v in node.values() if isinstance(v, (int, float)))
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            here = ".".join(path.split(".")[:i]) or "the top level"
            keys = list(node) if isinstance(node, dict) else type(node).__name__
            raise SystemExit(f"stats: no {part!r} in {here} of {path!r} (there: {keys})")
    return node


def value(doc, expr):
    return sum(lookup(doc, term) for term in expr.split("+"))


def run_stats(path, checks):
    with open(path) as f:
        doc = json.load(f)
    bad = []
    for c in checks:
        for op in (">=", "<=", "==", ">", "<"):
            if op in c:
                lhs, rhs = c.split(op, 1)
                break
        else:
            raise SystemExit(f"stats: cannot parse check {c!r}")
        val = value(doc, lhs)
        ref = value(doc, rhs) if not rhs.lstrip("-").replace(".", "").isdigit() else float(rhs)
        ok = {">=": val >= ref, "<=": val <= ref, "==": val == ref, ">": val > ref, "<": val < ref}[op]
        print(f"stats: {lhs} = {val} {op} {rhs} ({ref}): {'ok' if ok else 'FAILED'}")
        if not ok:
            bad.append(c)
    if bad:
        raise SystemExit(f"stats checks failed: {bad}")


def load_json(path):
    with open(path) as f:
        return json.load(f)


def run_value(path, exprs, fresh, timeout=10.0):
    doc = load_json(path)
    if fresh and doc.get("running", False):
        # The file is replaced every --stats-interval-ms with counters read
        # just before. When we look, the appliance may have read its counters
        # and not yet renamed the file: the rewrite after the one we see may
        # still hold counters from before this call; the second cannot.
        seen, changes = doc.get("uptime_s"), 0
        deadline = time.time() + timeout
        while changes < 2 and doc.get("running", False):
            if time.time() > deadline:
                raise SystemExit(f"value: {path} was not rewritten twice within {timeout} s")
            time.sleep(0.02)
            doc = load_json(path)
            if doc.get("uptime_s") != seen:
                seen, changes = doc.get("uptime_s"), changes + 1
    for e in exprs:
        v = value(doc, e)
        print(int(v) if isinstance(v, float) and v.is_integer() else v)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo")
    e.add_argument("host"); e.add_argument("port", type=int)
    e.add_argument("--conns", type=int, default=100); e.add_argument("--bytes", type=int, default=10000)
    e.add_argument("--timeout", type=float, default=60)
    d = sub.add_parser("download")
    d.add_argument("host"); d.add_argument("port", type=int)
    d.add_argument("--size", type=int, required=True); d.add_argument("--conns", type=int, default=1)
    d.add_argument("--timeout", type=float, default=120)
    b = sub.add_parser("tls-bad")
    b.add_argument("host"); b.add_argument("port", type=int)
    b.add_argument("--mode", choices=["garbage", "truncated", "stall"], required=True)
    b.add_argument("--conns", type=int, default=1); b.add_argument("--server-name", default="localhost")
    b.add_argument("--timeout", type=float, default=10)
    w = sub.add_parser("tls-slow")
    w.add_argument("host"); w.add_argument("port", type=int)
    w.add_argument("--conns", type=int, default=10); w.add_argument("--hold", type=float, default=5)
    w.add_argument("--path", default="/big.bin"); w.add_argument("--server-name", default="localhost")
    w.add_argument("--body-min", type=int, default=10 << 20)
    c = sub.add_parser("churn")
    c.add_argument("host"); c.add_argument("port", type=int)
    c.add_argument("--seconds", type=float, default=5); c.add_argument("--rate", type=float, default=1000)
    c.add_argument("--inflight", type=int, default=64); c.add_argument("--timeout", type=float, default=10)
    c.add_argument("--mode", choices=["garbage", "hello-rst"], default="garbage")
    c.add_argument("--server-name", default="localhost")
    s = sub.add_parser("stats")
    s.add_argument("file"); s.add_argument("checks", nargs="+")
    v = sub.add_parser("value")
    v.add_argument("file"); v.add_argument("exprs", nargs="+"); v.add_argument("--fresh", action="store_true")
    a = ap.parse_args()
    if a.cmd == "echo":
        run_echo(a.host, a.port, a.conns, a.bytes, a.timeout)
    elif a.cmd == "download":
        run_download(a.host, a.port, a.size, a.conns, a.timeout)
    elif a.cmd == "tls-bad":
        run_tls_bad(a.host, a.port, a.mode, a.conns, a.server_name, a.timeout)
    elif a.cmd == "tls-slow":
        run_tls_slow(a.host, a.port, a.conns, a.hold, a.path, a.server_name, a.body_min)
    elif a.cmd == "churn":
        run_churn(a.host, a.port, a.seconds, a.rate, a.inflight, a.timeout, a.mode, a.server_name)
    elif a.cmd == "value":
        run_value(a.file, a.exprs, a.fresh)
    else:
        run_stats(a.file, a.checks)


if __name__ == "__main__":
    sys.exit(main())
