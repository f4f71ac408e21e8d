"""bench/dataset_bench_report.py's load figures (issue 19): each run's load of the export's unit
bytes against the disk's cold read rate (the cold_read line of runs.jsonl), the stamped re-run
against --no-verify, and nothing without a cold read.

Run: /usr/bin/python3 -m unittest discover -s tests/python -p test_dataset_bench_report.py
"""
import importlib.util
import json
import os
import shutil
import tempfile
import unittest

from scripts_dir import ROOT

_spec = importlib.util.spec_from_file_location(
    "dataset_bench_report", os.path.join(ROOT, "bench", "dataset_bench_report.py"))
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)


def run(label, load_ms, hashed, stamped, dropped=True):
    return {"label": label, "caches_dropped": dropped,
            "split": {"load_ms": load_ms, "verified": hashed + stamped > 0, "verify_s": 0.5,
                      "hashed_bytes": hashed * 100, "hashed_files": hashed,
                      "stamped_files": stamped}}


class LoadSummary(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vlm_report_")
        self.cold = os.path.join(self.tmp, "cold.json")
        with open(self.cold, "w") as f:  # 4 GB at 2 GB/s
            json.dump({"bytes": 4e9, "seconds": 2.0, "gb_per_s": 2.0}, f)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_each_load_against_the_cold_read_rate(self):
        runs = [{"shape": "S", "label": "cold_read", "file": self.cold, "caches_dropped": True}]
        out = {"mcq": run("mcq", 2500.0, 12, 0), "mcq_rerun": run("mcq_rerun", 2100.0, 0, 12),
               "mcq_noverify": run("mcq_noverify", 2000.0, 0, 0)}
        load = report.load_summary(runs, out)
        self.assertEqual(load["cold_read"]["gb_per_s"], 2.0)
        self.assertTrue(load["cold_read"]["caches_dropped"])
        v = load["verify_load"]
        self.assertEqual(v["label"], "mcq")
        self.assertAlmostEqual(v["gb_per_s"], 1.6)  # 4 GB in 2.5 s
        self.assertAlmostEqual(v["fraction_of_cold_read"], 0.8)
        self.assertEqual((v["hashed_files"], v["stamped_files"]), (12, 0))
        self.assertEqual(load["rerun_stamped"]["stamped_files"], 12)
        self.assertAlmostEqual(load["no_verify"]["fraction_of_cold_read"], 1.0)
        self.assertAlmostEqual(load["rerun_stamped_over_no_verify"], 1.05)
        self.assertEqual(load["targets"]["rerun_stamped_over_no_verify"], "<= 1.1")

    def test_runs_that_did_not_load_are_left_out(self):
        runs = [{"shape": "S", "label": "cold_read", "file": self.cold, "caches_dropped": False}]
        load = report.load_summary(runs, {"mcq": run("mcq", 2500.0, 12, 0),
                                          "mcq_rerun": {"label": "mcq_rerun", "error": "no"}})
        self.assertFalse(load["cold_read"]["caches_dropped"])
        self.assertIn("verify_load", load)
        self.assertNotIn("rerun_stamped", load)
        self.assertNotIn("rerun_stamped_over_no_verify", load)

    def test_no_cold_read_no_load_figures(self):
        self.assertEqual(report.load_summary([], {"mcq": run("mcq", 2500.0, 12, 0)}), {})


if __name__ == "__main__":
    unittest.main()
