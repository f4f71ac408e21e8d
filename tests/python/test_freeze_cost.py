"""bench/freeze_cost.py on the CPU: every mode runs in a process of its own on the tiny export, the
modes that freeze say how long it took, the one that does not says nothing of a freeze, and each
times the vision unit's calls.

Run: /usr/bin/python3 -m unittest discover -s tests/python -p test_freeze_cost.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from scripts_dir import ROOT
from fixtures import make_tiny_checkpoint
from internvl2_export import exporter


class FreezeCost(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vlm_freeze_cost_")
        ckpt = os.path.join(cls.tmp, "ckpt")
        make_tiny_checkpoint.main(["--out", ckpt])
        cls.model = os.path.join(cls.tmp, "model")
        exporter.export(ckpt, cls.model, golden=False, log=lambda _: None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_mode_in_its_own_process(self):
        out = os.path.join(self.tmp, "fc.json")
        r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "freeze_cost.py"),
                            "--model-dir", self.model, "--device", "cpu", "--tiles", "2",
                            "--reps", "3", "--out", out], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, encoding="utf-8") as f:
            res = json.load(f)
        self.assertEqual((res["device"], res["tiles"], res["reps"]), ("cpu", 2, 3))
        modes = {m["mode"]: m for m in res["modes"]}
        self.assertEqual(sorted(modes), sorted(["plain", "conv_first", "noopt", "nofreeze"]))
        for name, m in modes.items():
            self.assertEqual(m["unit"], "vision_model")
            self.assertEqual("freeze_s" in m, name != "nofreeze", name)
            self.assertGreater(m["median_call_s"], 0.0)
        self.assertIn("conv_first_s", modes["conv_first"])
        # each mode hashed its output; on the CPU freezing changes no bit of the vision unit's
        for name, m in modes.items():
            self.assertEqual(len(m["output_sha256"]), 64, name)
            self.assertTrue(m["output_as_plain"], name)
        self.assertEqual(len(r.stdout.strip().splitlines()), 4)

    def test_a_folder_without_a_manifest_is_refused(self):
        r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "freeze_cost.py"),
                            "--model-dir", self.tmp, "--device", "cpu"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("has no manifest.json", r.stderr)


if __name__ == "__main__":
    unittest.main()
