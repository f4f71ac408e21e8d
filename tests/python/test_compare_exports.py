"""scripts/compare_exports.py: two exports of one checkpoint by the same exporter compute the same
bits on every unit; a layer whose norm weights moved by one bfloat16 step is named, and the exit
status says so. And the one-kernel RMSNorm of scripts/internvl2_export/units.py rounds as the
product-then-cast form does, in float32 and bfloat16.

Run: /usr/bin/python3 -m unittest discover -s tests/python -p test_compare_exports.py
"""
import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest

import torch

from scripts_dir import SCRIPTS  # first: puts scripts/ on sys.path
from fixtures import make_tiny_checkpoint
from internvl2_export import exporter
from internvl2_export.units import RMSNorm

import importlib.util

_spec = importlib.util.spec_from_file_location(
    "compare_exports", os.path.join(SCRIPTS, "compare_exports.py"))
compare_exports = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_exports)

torch.set_num_threads(1)


def quiet(_):
    pass


class CompareExports(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vlm_compare_exports_")
        ckpt = os.path.join(cls.tmp, "ckpt")
        make_tiny_checkpoint.main(["--out", ckpt, "--family", "qwen2"])
        cls.a, cls.b = os.path.join(cls.tmp, "a"), os.path.join(cls.tmp, "b")
        for out in (cls.a, cls.b):
            exporter.export(ckpt, out, dtype="bfloat16", golden=False, log=quiet)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def compare(self, before, after):
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            rc = compare_exports.main([before, after])
        return rc, text.getvalue()

    def test_two_exports_compute_the_same_bits(self):
        rc, text = self.compare(self.a, self.b)
        self.assertEqual(rc, 0, text)
        self.assertRegex(text, r"^\d+ outputs compared, 0 differ")

    def test_runs_the_units_with_the_executor_the_runtime_uses_and_restores_it(self):
        # run's LoadOptions::jit_optimize is false by default: no fuser between calls, whose
        # groups can round differently on a GPU; --jit-optimize compares under the optimiser
        seen = []
        real_load = compare_exports.load

        def spy(model_dir, unit, device, optimize):
            module = real_load(model_dir, unit, device, optimize)
            seen.append(torch._C._get_graph_executor_optimize())
            return module

        before = torch._C._get_graph_executor_optimize()
        compare_exports.load = spy
        try:
            for flags, want in (([], False), (["--jit-optimize"], True)):
                del seen[:]
                text = io.StringIO()
                with contextlib.redirect_stdout(text):
                    rc = compare_exports.main([self.a, self.b] + flags)
                self.assertEqual(rc, 0, text.getvalue())
                self.assertTrue(seen)
                self.assertEqual(set(seen), {want}, flags)
                self.assertEqual(torch._C._get_graph_executor_optimize(), before)
        finally:
            compare_exports.load = real_load

    def test_a_layer_one_step_off_is_named(self):
        changed = os.path.join(self.tmp, "changed")
        shutil.copytree(self.b, changed)
        with open(os.path.join(changed, "manifest.json")) as f:
            unit = [u for u in json.load(f)["units"] if u["kind"] == "decoder_layer"][1]
        path = os.path.join(changed, unit["file"])
        module = torch.jit.load(path)
        with torch.no_grad():
            w = module.post_norm.weight  # each weight one bfloat16 step up
            w.copy_((w.view(torch.int16) + 1).view(torch.bfloat16))
        torch.jit.save(module, path)
        rc, text = self.compare(self.a, changed)
        self.assertEqual(rc, 1, text)
        self.assertIn(unit["name"] + " prefill output differs", text)
        self.assertIn(unit["name"] + " decode output differs", text)
        # the keys and values are written before the changed norm
        self.assertNotIn(unit["name"] + " prefill argument 4 differs", text)


class OneKernelRMSNorm(unittest.TestCase):
    def test_rounds_as_the_product_then_the_cast(self):
        gen = torch.Generator().manual_seed(3)
        for dtype in (torch.float32, torch.bfloat16):
            norm = RMSNorm(64, 1e-6)
            with torch.no_grad():
                norm.weight.copy_(torch.randn(64, generator=gen))
            norm = norm.to(dtype)
            scripted = torch.jit.script(norm)
            x = (torch.randn(4, 9, 64, generator=gen) * 7).to(dtype)
            h = x.to(torch.float32)
            inv = torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6)
            expected = (norm.weight * (h * inv).to(dtype)).detach()
            for _ in range(3):  # the profiling executor optimises at the second call
                with torch.no_grad():  # the one-kernel form
                    got = scripted(x)
                self.assertTrue(torch.equal(got, expected), dtype)
                self.assertEqual(got.dtype, dtype)
                self.assertTrue(torch.equal(scripted(x).detach(), expected), dtype)  # autograd on


if __name__ == "__main__":
    unittest.main()
