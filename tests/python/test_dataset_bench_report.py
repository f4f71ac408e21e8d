"""bench/dataset_bench_report.py's load figures (issue 19): each run's load of the export's unit
bytes against the disk's cold read rate (the cold_read line of runs.jsonl), the stamped re-run
against --no-verify, and nothing without a cold read; and the compare lines that decide whether a
set's result files were identical across batch sizes and flags.

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


class IdenticalChecks(unittest.TestCase):
    """A set's compare lines: each N > 1 against N = 1, and runs of other flags (mcq_nographs)
    against it; any that differs, or could not compare, fails all_identical."""

    OUT = {"mcq": {"label": "mcq", "items": 2, "failed_items": 0, "split": {"infer_ms": 1000.0},
                   "items_per_s_infer": 2.0, "items_detail": []}}

    @staticmethod
    def line(rc, **key):
        return dict({"label": "identical", "set": "mcq", "rc": rc, "argv": ["compare"],
                     "identical": {0: True, 1: False}.get(rc)}, **key)

    def summary(self, runs):
        return report.set_summary("mcq", "BenchMCQ", runs, self.OUT, None)

    def test_a_variant_is_listed_apart_from_the_batch_sizes(self):
        s = self.summary([self.line(0, n=3), self.line(0, variant="mcq_nographs")])
        self.assertEqual(list(s["identical_across_n"]), ["3"])
        self.assertEqual(list(s["identical_variants"]), ["mcq_nographs"])
        self.assertIs(s["all_identical"], True)

    def test_a_variant_that_differs_or_was_not_compared_fails_the_set(self):
        for rc in (1, 2):
            s = self.summary([self.line(0, n=3), self.line(rc, variant="mcq_nographs")])
            self.assertIs(s["all_identical"], False, rc)

    def test_no_compare_no_verdict(self):
        s = self.summary([])
        self.assertNotIn("identical_variants", s)
        self.assertIsNone(s["all_identical"])
