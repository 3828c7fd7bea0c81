#!/usr/bin/env python3
"""Model vs measured, for scripts/gpu-check.sh (issue 19 part 3).

Puts the static model's PREDICTIONS (bench/results/model-<gpu>/gpu_model.json,
chosen by the device's name) beside what a GPU measured:
  - calibration (bench/gpu_calibrate.cu): instruction rates and bandwidths
    against the model's assumptions (scripts/gpu_model.py RATES, L2 and HBM);
  - kernels: the best `<name>/kernel_gpu/<batch>` benchmark row against the
    kernel's predicted ops/s.
Ratios only; nothing here changes the model. Its assumptions are corrected by
hand, from these figures, with the measurement cited as the source.

Usage: gpu_model_compare.py CALIBRATION_JSON BENCH_JSON... (prints one JSON object)
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import gpu_model  # noqa: E402  (the assumptions themselves, not a copy)


def model_key(device_name):
    n = (device_name or "").upper()
    if "H200" in n:
        return "h200"
    if "H100" in n and ("PCIE" in n or "NVL" in n):
        return "h100-pcie"
    if "H100" in n:
        return "h100-sxm"
    return None


# What the model assumes, in the calibration's units (per SM per clock).
def assumed():
    r = gpu_model.RATES
    return {
        "imad": (r["imad"], "RATES['imad']"),
        "imad_hi": (r["imad"] / 2.0, "IMAD.HI = 2 IMAD slots (ASSUMPTION)"),
        # one IMAD.WIDE.U32 + 1.5 ALU instructions per step as ptxas compiles the chain:
        # IMAD-bound at RATES['imad'] / 2 if IMAD.WIDE takes two slots
        "imad_wide": (r["imad"] / 2.0, "IMAD.WIDE = 2 IMAD slots (ASSUMPTION); steps include 1.5 ALU instructions"),
        "lop3": (r["alu"], "RATES['alu']"),
        "l2_coalesced": (gpu_model.L2_BYTES_PER_CLK_PER_SM, "L2 peak B/clk/SM (ASSUMPTION)"),
        "l2_per_thread_sector": (gpu_model.L2_BYTES_PER_CLK_PER_SM * 0.4, "effective L2 B/clk/SM for scattered "
                                 "sectors (ASSUMPTION, the model's L2 bound)"),
    }


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {"missing": str(e)}


def compare(calibration, bench_reports):
    out = {"kind": "model vs measured", "note": "model figures are PREDICTIONS (scripts/gpu-model.sh); "
           "measured figures come from this run"}
    device = calibration.get("device")
    key = model_key(device)
    out["device"], out["model"] = device, key and "bench/results/model-%s/gpu_model.json" % key
    if not key:
        out["why_no_model"] = "no static model for this GPU (models: h100-sxm, h100-pcie, h200)"
        return out
    model = load(os.path.join(ROOT, out["model"]))
    if "kernels" not in model:
        out["why_no_model"] = "model JSON unreadable: %s" % model.get("missing")
        return out

    calib = []
    a = assumed()
    for row in calibration.get("instructions", []) + calibration.get("memory", []):
        name = row.get("name")
        got = row.get("per_sm_per_clock", row.get("bytes_per_clock_per_sm"))
        if name in a and isinstance(got, (int, float)) and got > 0:
            want, what = a[name]
            calib.append({"name": name, "measured": got, "assumed": want, "assumption": what,
                          "measured_over_assumed": round(got / want, 3)})
        elif name == "hbm_coalesced" and isinstance(row.get("tb_per_s"), (int, float)):
            gpu = gpu_model.GPUS[key]
            calib.append({"name": name, "measured_tb_per_s": row["tb_per_s"], "assumed_tb_per_s": gpu["hbm_tbps"],
                          "measured_over_assumed": round(row["tb_per_s"] / gpu["hbm_tbps"], 3)})
    out["calibration"] = calib
    if calibration.get("clock_ghz_measured_mean"):
        out["clock_ghz"] = {"measured": calibration["clock_ghz_measured_mean"],
                            "assumed": gpu_model.GPUS[key]["clock_ghz"]}

    rows = [b for rep in bench_reports for b in rep.get("benchmarks", [])
            if "/kernel_gpu/" in b.get("name", "") and b.get("items_per_second") and not b.get("error_occurred")]
    kernels = []
    for k in model["kernels"]:
        mine = [b for b in rows if b["name"].startswith(k["name"] + "/kernel_gpu/")]
        best = max(mine, key=lambda b: b["items_per_second"]) if mine else None
        entry = {"name": k["name"], "predicted_ops_per_sec": k.get("predicted_ops_per_sec"),
                 "predicted_issue_bound": k.get("issue_bound"), "predicted_memory_bound": k.get("memory_bound")}
        if best:
            entry.update({"measured_ops_per_sec": best["items_per_second"], "measured_row": best["name"]})
            if k.get("predicted_ops_per_sec"):
                entry["measured_over_predicted"] = round(best["items_per_second"] / k["predicted_ops_per_sec"], 3)
        else:
            entry["measured_ops_per_sec"] = None
        kernels.append(entry)
    out["kernels"] = kernels
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(compare(load(sys.argv[1]), [load(p) for p in sys.argv[2:]]), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
