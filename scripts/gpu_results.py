#!/usr/bin/env python3
"""Turns a gpu-check JSON (scripts/gpu-check.sh run) into README's GPU results:
markdown tables of what the GPU measured beside what the static model
predicted and what the default provider did on the same machine, and (with
matplotlib) a handshake plot next to the JSON.

  gpu_results.py FILE [--readme README.md] [--plot PNG]

With --readme, the block between the markers
  <!-- gpu-results: begin -->  and  <!-- gpu-results: end -->
is replaced (so a lent machine's numbers reach the README in one commit);
without it the markdown is printed. A dry-run JSON (no GPU) is refused for the
README: its rows are not GPU figures.
"""

import argparse
import json
import os
import re
import sys

BEGIN, END = "<!-- gpu-results: begin -->", "<!-- gpu-results: end -->"
HANDSHAKES = (("tls12_rsa_kx", "TLS 1.2 RSA-2048 key exchange"),
              ("tls13_x25519_rsa2048", "TLS 1.3 X25519 + RSA-2048"),
              ("tls13_x25519_ecdsa_p256", "TLS 1.3 X25519 + ECDSA P-256"))


def fmt(x, unit=""):
    if x is None:
        return "-"
    if isinstance(x, float) and x >= 1e6:
        return "%.3g M%s" % (x / 1e6, unit)
    if isinstance(x, float) and x >= 100:
        return "{:,.0f}{}".format(x, unit)
    if isinstance(x, float):
        return "%.3g%s" % (x, unit)
    return "%s%s" % (x, unit)


def handshake_rows(doc):
    out = ["| configuration | concurrency | handshakes/s default, gputls:gpu (ratio) | p50 / p99 ms gputls:gpu | "
           "server us/hs default, gputls:gpu | libssl floor (default's rest) us | gputls:gpu / floor | GPU share "
           "of engine requests |", "|---|---|---|---|---|---|---|---|"]
    for key, label in HANDSHAKES:
        runs = doc.get("handshakes", {}).get("runs", {}).get(key)
        if not isinstance(runs, list):
            out.append("| %s | - | no runs | | | | | |" % label)
            continue
        by = {}
        for r in runs:
            by.setdefault(r["concurrency"], {})[r["provider"]] = r
        for conc in sorted(by):
            d, g = by[conc].get("default"), by[conc].get("gputls:gpu")
            if not d or not g:
                continue
            floor = d["cpu"].get("rest_us_per_handshake")
            served = g.get("engine_summary", {}).get("served_by", {}) if isinstance(g.get("engine_summary"), dict) else {}
            total = sum(served.values()) or 0
            out.append("| %s | %d | %s, %s (%.2fx) | %.2f / %.2f | %.0f, %.0f | %s | %s | %s |" % (
                label, conc, fmt(d["handshakes_per_sec"]), fmt(g["handshakes_per_sec"]),
                g["handshakes_per_sec"] / d["handshakes_per_sec"], g["p50_ms"], g["p99_ms"],
                d["server_cpu_us_per_handshake"] or 0, g["server_cpu_us_per_handshake"] or 0,
                "%.0f" % floor if floor else "-",
                "%.2fx" % ((g["server_cpu_us_per_handshake"] or 0) / floor) if floor else "-",
                "%.0f%%" % (100.0 * served.get("gpu", 0) / total) if total else "-"))
    return out


def kernel_rows(doc):
    mvm = doc.get("model_vs_measured", {})
    out = ["| kernel | measured on the GPU | best row | predicted (static model) | measured / predicted |",
           "|---|---|---|---|---|"]
    for k in mvm.get("kernels", []):
        out.append("| %s | %s | %s | %s | %s |" % (k["name"], fmt(k.get("measured_ops_per_sec"), "/s"),
                                                  k.get("measured_row", "-"), fmt(k.get("predicted_ops_per_sec"), "/s"),
                                                  k.get("measured_over_predicted", "-")))
    if "why_no_model" in mvm:
        out.append("| (no model: %s) | | | | |" % mvm["why_no_model"])
    return out


def calibration_rows(doc):
    out = ["| quantity | measured | the model assumes | measured / assumed |", "|---|---|---|---|"]
    for c in doc.get("model_vs_measured", {}).get("calibration", []):
        if "measured" in c:
            out.append("| %s | %s | %s (%s) | %s |" % (c["name"], fmt(c["measured"]), fmt(c["assumed"]),
                                                      c["assumption"], c["measured_over_assumed"]))
        else:
            out.append("| %s | %s TB/s | %s TB/s | %s |" % (c["name"], c["measured_tb_per_s"], c["assumed_tb_per_s"],
                                                          c["measured_over_assumed"]))
    return out


def records_rows(doc):
    cx = doc.get("records", {}).get("aes_gpu_min_bytes_crossover", {}) or {}
    out = ["| TLS 1.3 AES-128-GCM record | GPU path / OpenSSL (bytes/s, one connection) |", "|---|---|"]
    for size, v in sorted(cx.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        out.append("| %s B | %s |" % (size, v["gpu_over_openssl"]))
    out.append("")
    out.append("`GPUTLS_AES_GPU_MIN_BYTES` from this run: %s." % (
        cx.get("aes_gpu_min_bytes") if cx.get("aes_gpu_min_bytes") is not None else
        "none (the GPU path did not reach OpenSSL at any size measured)"))
    return out


def markdown(doc, source):
    lines = ["GPU: **%s** (`%s`, `scripts/gpu-check.sh run`; measured, same machine for every ratio)." % (
        doc.get("device"), source), "",
             "Handshakes, in-process, server on the default provider vs gputls with the GPU (`SSL_MODE_ASYNC`):", ""]
    lines += handshake_rows(doc) + ["", "Kernels alone (batch on the device, `kernel_gpu` rows) vs the static model:", ""]
    lines += kernel_rows(doc) + ["", "Calibration of the model's assumptions:", ""]
    lines += calibration_rows(doc) + ["", "Records through libssl on the GPU path:", ""]
    lines += records_rows(doc)
    return "\n".join(lines) + "\n"


def plot(doc, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed: no plot"
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in HANDSHAKES:
        runs = doc.get("handshakes", {}).get("runs", {}).get(key)
        if not isinstance(runs, list):
            continue
        for prov, style in (("default", "--"), ("gputls:gpu", "-")):
            pts = sorted((r["concurrency"], r["handshakes_per_sec"]) for r in runs if r["provider"] == prov)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", label="%s, %s" % (label, prov))
    ax.set_xscale("log")
    ax.set_xlabel("connections in flight")
    ax.set_ylabel("handshakes/s")
    ax.set_title("gputls on %s (measured)" % doc.get("device"))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return "wrote " + path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--readme")
    ap.add_argument("--plot")
    a = ap.parse_args()
    doc = json.load(open(a.file))
    md = markdown(doc, os.path.relpath(a.file))
    if a.plot:
        print(plot(doc, a.plot), file=sys.stderr)
    if not a.readme:
        sys.stdout.write(md)
        return 0
    if doc.get("dry_run"):
        print("gpu_results: %s is a dry run (no GPU): not README figures" % a.file, file=sys.stderr)
        return 1
    text = open(a.readme).read()
    if BEGIN not in text or END not in text:
        print("gpu_results: %s has no %s ... %s block" % (a.readme, BEGIN, END), file=sys.stderr)
        return 1
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda m: BEGIN + "\n" + md + END, text, flags=re.S)
    open(a.readme, "w").write(text)
    print("gpu_results: README GPU results rewritten from %s" % a.file, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
