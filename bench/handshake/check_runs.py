#!/usr/bin/env python3
"""Checks what gputls-bench runs claim against what must hold for them
(used by the ctest scripts after schema validation):
  - at least MIN handshakes, each with --bytes sent and received (echo);
  - resumption: exactly none without --resume-ratio, else about that share
    (the first connections of a thread have no session yet);
  - gputls runs: the provider's counters show every public-key operation the
    benchmark's model (cpu.pk_ops_per_handshake, also used for the CPU split)
    says the server does, private-key ones on the engine, not in software;
  - the CPU split adds up and the harness's own share is reported.
Usage: check_runs.py MIN FILE..."""
import json
import sys



def counter_of(op):
    alg, what = op.split("_", 1)
    if what == "sign":
        return "rsa_sign" if alg.startswith("rsa") else "ecdsa_sign"
    if what == "decrypt":
        return "rsa_decrypt"
    if what == "verify":
        return "rsa_verify" if alg.startswith("rsa") else "ecdsa_verify"
    if alg == "mlkem768":
        return "mlkem768_" + what  # the server's encapsulation (post-quantum groups)
    if alg == "x25519":
        return "x25519_" + what
    if alg.startswith("ffdhe"):
        return "dh_" + what
    return {"keygen": "ec_keygen", "ecdh_derive": "ecdh_derive"}[what]


def check(r, minimum):
    name = f"{r['provider']} {r['mode']} TLS {r['tls_version']} conc {r['concurrency']}"
    n = r["handshakes"]
    assert n >= minimum, f"{name}: {n} handshakes < {minimum}"
    if r["app"] == "echo":
        assert r["bytes_sent"] == r["bytes_received"] == n * r["bytes"], f"{name}: bytes {r['bytes_sent']}, " \
            f"{r['bytes_received']} for {n} x {r['bytes']}"
    ratio, resumed = r["resume_ratio"], r["handshakes_resumed"]
    if ratio == 0:
        assert resumed == 0, f"{name}: {resumed} resumed without --resume-ratio"
    else:
        assert ratio * n - r["concurrency"] - 1 <= resumed <= ratio * n + 1, f"{name}: {resumed} of {n} resumed at {ratio}"
    cpu = r["cpu"]
    assert 0 <= cpu["harness_share"] < 1, f"{name}: harness share {cpu['harness_share']}"
    # Every public-key op has its operation and its EVP set-up timed apart; the set-up, which
    # libssl runs whatever the provider, is the smaller part (ML-KEM's host code has none).
    assert set(cpu["pk_op_setup_us"]) == set(cpu["pk_op_cpu_us"]) == set(cpu["pk_ops_per_handshake"]), \
        f"{name}: pk op names differ"
    for op, setup in cpu["pk_op_setup_us"].items():
        assert 0 <= setup < cpu["pk_op_cpu_us"][op], f"{name}: {op} set-up {setup} us vs op {cpu['pk_op_cpu_us'][op]} us"
        assert (setup == 0) == op.startswith("mlkem"), f"{name}: {op} set-up {setup} us"
    if r["server_cpu_us_per_handshake"] is not None:
        assert abs(cpu["rest_us_per_handshake"] + cpu["pk_us_per_handshake"] * cpu["pk_on_host_share"]
                   - cpu["server_us_per_handshake"]) < 1e-6 * max(1, cpu["server_us_per_handshake"]), f"{name}: split"
    if r["provider"].startswith("gputls") and r["mode"] == "inproc":
        prov = r["gputls"]["provider"]
        want = {}
        for op, k in cpu["pk_ops_per_handshake"].items():
            if op.endswith("_verify"):
                continue  # mTLS: checked below
            c = counter_of(op)
            want[c] = want.get(c, 0) + k * n
        if r["mtls"]:
            # The client's CertificateVerify, once per full handshake, in gputls (verified in software
            # there). The CA's RSA signature on the client's certificate is fetched from gputls only
            # sometimes (an ECDSA client key), so it is not counted here.
            c = "rsa_verify" if r["cert"].startswith("rsa") else "ecdsa_verify"
            got = prov[c]["engine"] + prov[c]["sw"]
            assert got >= n - resumed, f"{name}: gputls {c} = {got} < {n - resumed} full mTLS handshakes"
        for c, w in want.items():
            got = prov[c]["engine"] + prov[c]["sw"]
            # The warm-up's handshakes (at most one such op each) count in gputls too, and so do
            # the ops of connections still in flight when the run stopped.
            slack = r["warmup_handshakes"] + r["concurrency"] * 2
            assert w - 0.5 <= got <= w + slack, f"{name}: gputls {c} = {got}, the model says {w:.1f}"
            if not c.endswith("verify"):
                assert prov[c]["engine"] >= w - 0.5, f"{name}: {c} not on the engine: {prov[c]}"
        print(f"ok: {name}: {n} handshakes, {resumed} resumed; gputls counters {want} match the model")
    else:
        print(f"ok: {name}: {n} handshakes, {resumed} resumed")


def main():
    minimum = int(sys.argv[1])
    for path in sys.argv[2:]:
        for r in json.load(open(path)):
            check(r, minimum)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        sys.exit(f"FAIL: {e}")
