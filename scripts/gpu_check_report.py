#!/usr/bin/env python3
"""What scripts/gpu-check.sh derives from its runs, and the check of its JSON.

  records_crossover(report)   from micro_tls_records rows (every record to the
                              GPU, GPUTLS_AES_GPU_MIN_BYTES=0): the smallest
                              record size at which the GPU path moves at least
                              OpenSSL's bytes/s, the value that setting should
                              take (None when no size gets there).
  gpu_check_report.py check FILE [--dry-run]
                              exit 0 when FILE has the shape gpu-check.sh
                              promises: every step's rc and report, each report
                              readable, the handshake runs valid against
                              bench/handshake/schema.json with both providers
                              and the gputls runs on the GPU policy, the model
                              comparison present. --dry-run (no GPU): GPU rows
                              may be skipped, their figures absent.
"""

import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench", "handshake"))
import validate_json  # noqa: E402  (the handshake JSON's own schema check)

HANDSHAKE_RUNS = ("tls12_rsa_kx", "tls13_x25519_rsa2048", "tls13_x25519_ecdsa_p256")
STEPS = ("calibration", "model_vs_measured", "gpu_tests", "unit_tests", "compute_sanitizer", "benchmarks",
         "benchmarks_rsa", "benchmarks_ec", "benchmarks_aes_gcm", "benchmarks_mlkem", "handshakes", "records")


def records_crossover(report):
    rows = {}
    for b in (report or {}).get("benchmarks", []):
        m = re.match(r"tls13_aes128gcm_records_(\d+)/(openssl|engine_gpu)/", b.get("name", ""))
        if m and b.get("bytes_per_second") and not b.get("error_occurred"):
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = b["bytes_per_second"]
    sizes = sorted(s for s, r in rows.items() if "openssl" in r and "engine_gpu" in r)
    out = {"sizes": {str(s): {"gpu_over_openssl": round(rows[s]["engine_gpu"] / rows[s]["openssl"], 3)}
                     for s in sizes}}
    out["aes_gpu_min_bytes"] = next((s for s in sizes if rows[s]["engine_gpu"] >= rows[s]["openssl"]), None)
    if not sizes:
        out["why_none"] = "no size with both an OpenSSL and a GPU row (no GPU, or the rows failed)"
    return out


def problems(doc, dry):
    out = []
    for step in STEPS:
        if step not in doc:
            out.append("missing step %r" % step)
    if out:
        return out
    for step in STEPS:
        if step != "model_vs_measured" and not isinstance(doc[step].get("rc"), int):
            out.append("%s: no integer rc" % step)
    for step in ("benchmarks", "benchmarks_rsa", "benchmarks_ec", "benchmarks_aes_gcm", "benchmarks_mlkem", "records"):
        rep = doc[step].get("report", {})
        if "missing" in rep:
            out.append("%s: report unreadable: %s" % (step, rep["missing"]))
        elif not rep.get("benchmarks"):
            out.append("%s: no benchmark rows" % step)
    if "aes_gpu_min_bytes_crossover" not in doc["records"]:
        out.append("records: no crossover field")
    schema = json.load(open(os.path.join(ROOT, "bench", "handshake", "schema.json")))
    for name in HANDSHAKE_RUNS:
        runs = doc["handshakes"].get("runs", {}).get(name)
        if not isinstance(runs, list) or not runs:
            out.append("handshakes %s: no runs (%s)" % (name, (runs or {}).get("missing") if isinstance(runs, dict)
                                                       else runs))
            continue
        try:
            validate_json.check(runs, schema, name)
        except ValueError as e:
            out.append("handshakes %s: %s" % (name, e))
        providers = {r.get("provider") for r in runs}
        if providers != {"default", "gputls:gpu"}:
            out.append("handshakes %s: providers %s, want default and gputls:gpu" % (name, sorted(providers)))
        if not all(r.get("async") for r in runs):
            out.append("handshakes %s: not every run in SSL_MODE_ASYNC" % name)
    mvm = doc["model_vs_measured"]
    if "kernels" not in mvm and "why_no_model" not in mvm and "error" not in mvm:
        out.append("model_vs_measured: neither kernels nor a reason")
    if not dry:
        for name in HANDSHAKE_RUNS:
            for r in doc["handshakes"].get("runs", {}).get(name) or []:
                if isinstance(r, dict) and r.get("provider") == "gputls:gpu" and str(r.get("device", "none")).startswith("none"):
                    out.append("handshakes %s: gputls:gpu ran without a GPU (%s)" % (name, r.get("device")))
                # With the engine queueing to a GPU, TLS 1.3 X25519 key shares come from the
                # key-share pool, generated ahead in GPU batches (GPUTLS_KEY_SHARE_POOL).
                elif (isinstance(r, dict) and r.get("provider") == "gputls:gpu" and r.get("tls_version") == "1.3"
                      and r.get("group", "").lower() == "x25519"):
                    pool = ((r.get("gputls") or {}).get("key_share_pool") or {}).get("x25519") or {}
                    if not pool.get("taken"):
                        out.append("handshakes %s: no X25519 key share taken from the pool on a GPU (%s)"
                                   % (name, pool or "no key_share_pool stats"))
        if doc["calibration"]["rc"] != 0:
            out.append("calibration failed on a GPU run (rc %d)" % doc["calibration"]["rc"])
        if not any(k.get("measured_ops_per_sec") for k in mvm.get("kernels", [])):
            out.append("model_vs_measured: no kernel measured on a GPU run")
    return out


def main():
    if len(sys.argv) < 3 or sys.argv[1] != "check":
        print(__doc__, file=sys.stderr)
        return 2
    try:
        doc = json.load(open(sys.argv[2]))
    except (OSError, ValueError) as e:
        print("gpu-check shape: %s unreadable: %s" % (sys.argv[2], e), file=sys.stderr)
        return 1
    bad = problems(doc, "--dry-run" in sys.argv[3:])
    for p in bad:
        print("gpu-check shape: " + p, file=sys.stderr)
    if not bad:
        print("gpu-check shape: %s has every step and report" % sys.argv[2])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
