#!/usr/bin/env python3
"""Checks the arithmetic of the scripts that turn a GPU run into figures, on
synthetic rows whose answers are worked out here independently:
gpu_check_report.records_crossover, gpu_model_compare.compare (against the
committed static-model JSON) and gpu_results.markdown. The dry run in
scripts/test.sh has no GPU rows, so this is where the GPU-row paths run."""

import json
import os
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import gpu_check_report  # noqa: E402
import gpu_model_compare  # noqa: E402
import gpu_results  # noqa: E402


def row(name, **kw):
    return dict(name=name, **kw)


class Crossover(unittest.TestCase):
    def test_smallest_size_where_the_gpu_path_reaches_openssl(self):
        rep = {"benchmarks": [
            row("tls13_aes128gcm_records_64/openssl/1/real_time", bytes_per_second=100.0),
            row("tls13_aes128gcm_records_64/engine_gpu/1/real_time", bytes_per_second=50.0),
            row("tls13_aes128gcm_records_1024/openssl/1/real_time", bytes_per_second=100.0),
            row("tls13_aes128gcm_records_1024/engine_gpu/1/real_time", bytes_per_second=90.0),
            row("tls13_aes128gcm_records_16384/openssl/1/real_time", bytes_per_second=100.0),
            row("tls13_aes128gcm_records_16384/engine_gpu/1/real_time", bytes_per_second=130.0)]}
        cx = gpu_check_report.records_crossover(rep)
        self.assertEqual(cx["aes_gpu_min_bytes"], 16384)
        self.assertEqual(cx["sizes"]["64"]["gpu_over_openssl"], 0.5)
        self.assertEqual(cx["sizes"]["1024"]["gpu_over_openssl"], 0.9)

    def test_failed_gpu_rows_give_no_crossover(self):
        rep = {"benchmarks": [
            row("tls13_aes128gcm_records_16384/openssl/1/real_time", bytes_per_second=100.0),
            row("tls13_aes128gcm_records_16384/engine_gpu/1/real_time", bytes_per_second=200.0,
                error_occurred=True)]}
        cx = gpu_check_report.records_crossover(rep)
        self.assertIsNone(cx["aes_gpu_min_bytes"])
        self.assertIn("why_none", cx)


class ModelVsMeasured(unittest.TestCase):
    def test_best_kernel_row_against_the_committed_prediction(self):
        model = json.load(open(os.path.join(ROOT, "bench", "results", "model-h100-sxm", "gpu_model.json")))
        predicted = next(k["predicted_ops_per_sec"] for k in model["kernels"] if k["name"] == "rsa2048_priv")
        bench = {"benchmarks": [row("rsa2048_priv/kernel_gpu/4096/manual_time", items_per_second=300000.0),
                                row("rsa2048_priv/kernel_gpu/65536/manual_time", items_per_second=800000.0),
                                row("rsa2048_priv/engine_gpu/64/real_time", items_per_second=9e9)]}
        cal = {"device": "NVIDIA H100 80GB HBM3", "clock_ghz_measured_mean": 1.7,
               "instructions": [{"name": "imad", "per_sm_per_clock": 48.0}],
               "memory": [{"name": "hbm_coalesced", "tb_per_s": 2.68}]}
        out = gpu_model_compare.compare(cal, [bench])
        self.assertEqual(out["model"], "bench/results/model-h100-sxm/gpu_model.json")
        k = next(k for k in out["kernels"] if k["name"] == "rsa2048_priv")
        self.assertEqual(k["measured_ops_per_sec"], 800000.0)  # the best kernel_gpu row, never engine_gpu
        self.assertEqual(k["measured_over_predicted"], round(800000.0 / predicted, 3))
        imad = next(c for c in out["calibration"] if c["name"] == "imad")
        self.assertEqual(imad["measured_over_assumed"], 0.75)  # 48 of the assumed 64 per SM per clock
        hbm = next(c for c in out["calibration"] if c["name"] == "hbm_coalesced")
        self.assertEqual(hbm["measured_over_assumed"], 0.8)  # 2.68 of 3.35 TB/s

    def test_unknown_gpu_has_no_model(self):
        out = gpu_model_compare.compare({"device": "NVIDIA L4"}, [])
        self.assertIn("why_no_model", out)


class Results(unittest.TestCase):
    def test_handshake_table_ratios(self):
        def run(provider, hs, server_us, rest):
            return {"provider": provider, "concurrency": 256, "handshakes_per_sec": hs, "p50_ms": 1.0, "p99_ms": 2.0,
                    "server_cpu_us_per_handshake": server_us, "cpu": {"rest_us_per_handshake": rest},
                    "engine_summary": {"served_by": {"gpu": 3, "cpu": 1}}}
        doc = {"device": "nvidia-h100", "handshakes": {"runs": {"tls12_rsa_kx": [
            run("default", 1000.0, 400.0, 80.0), run("gputls:gpu", 3000.0, 100.0, 95.0)]}}}
        md = gpu_results.markdown(doc, "x.json")
        line = next(l for l in md.splitlines() if l.startswith("| TLS 1.2 RSA-2048 key exchange | 256"))
        self.assertIn("(3.00x)", line)   # 3000 / 1000 handshakes/s
        self.assertIn("| 1.25x |", line)  # gputls:gpu server 100 us over the default's floor of 80 us
        self.assertIn("| 75% |", line)    # 3 of 4 engine requests on the GPU


class KeySharePoolOnAGpu(unittest.TestCase):
    """A GPU run's TLS 1.3 X25519 handshakes must have taken key shares from the pool."""

    def doc(self, taken):
        steps = {s: {"rc": 0, "report": {"benchmarks": []}} for s in gpu_check_report.STEPS}
        steps["model_vs_measured"] = {"kernels": []}
        steps["records"]["aes_gpu_min_bytes_crossover"] = None
        run = {"provider": "gputls:gpu", "async": True, "device": "NVIDIA H100", "tls_version": "1.3",
               "group": "x25519", "gputls": {"key_share_pool": {"x25519": {"taken": taken, "made": 256}}}}
        steps["handshakes"]["runs"] = {n: [dict(run, provider="default"), run] for n in gpu_check_report.HANDSHAKE_RUNS}
        return steps

    def pool_problems(self, doc):
        return [p for p in gpu_check_report.problems(doc, dry=False) if "key share" in p]

    def test_none_taken_is_a_problem(self):
        self.assertEqual(len(self.pool_problems(self.doc(0))), len(gpu_check_report.HANDSHAKE_RUNS))

    def test_shares_taken_pass(self):
        self.assertEqual(self.pool_problems(self.doc(1200)), [])


if __name__ == "__main__":
    unittest.main()
