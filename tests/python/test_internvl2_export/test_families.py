"""Every InternVL2 family through the exporter, against the eager reference
(scripts/internvl2_export/reference.py), plus the export-at-scale behaviour: LongRoPE on both sides
of its threshold, a tied head, half-precision sharded sources read one unit at a time, the progress
output, and the source hash over every shard.

Run: /usr/bin/python3 -m unittest discover -s tests/python -p test_families.py
"""
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

from scripts_dir import SCRIPTS  # first: puts scripts/ on sys.path
from fixtures import make_tiny_checkpoint
from internvl2_export import exporter, presets, safetensors_io
from internvl2_export import reference as R

from .test_exporter import run_units

torch.set_num_threads(1)


def quiet(_):
    pass


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class Tmp:
    tmp = None

    @classmethod
    def dir(cls):
        if cls.tmp is None:
            cls.tmp = tempfile.mkdtemp(prefix="vlm_families_test_")
        return cls.tmp


def tearDownModule():
    if Tmp.tmp:
        shutil.rmtree(Tmp.tmp, ignore_errors=True)


def tiny(tag, *args):
    ckpt = os.path.join(Tmp.dir(), tag)
    if not os.path.exists(ckpt):
        make_tiny_checkpoint.main(["--out", ckpt, "--seed", "4", "--llm-layers", "2",
                                   "--vision-layers", "1"] + list(args))
    return ckpt


def prompt_ids(ckpt, question, tiles):
    ref = R.InternVL2Reference(ckpt)
    return ref.tokenizer.encode(R.build_query(ref.template, question, [tiles] if tiles else [],
                                              ref.num_image_token))


class LongRope(unittest.TestCase):
    """Phi-3 LongRoPE: the reference against a float64 transcription of the formula, then the
    exported units (driven as the runtime drives them) against the reference, on both sides of
    original_max_position_embeddings."""

    def test_reference_tables_on_both_sides_of_the_threshold(self):
        ckpt = tiny("phi3_tables", "--family", "phi3", "--original-max", "40")
        ref = R.InternVL2Reference(ckpt)
        lc = ref.lc
        rs, orig, hd = lc["rope_scaling"], 40, ref.head_dim()
        s = math.sqrt(1 + math.log(lc["max_position_embeddings"] / orig) / math.log(orig))

        def expected(seq_len, factor):
            f = np.array(factor, dtype=np.float64)
            inv = 1.0 / (f * lc["rope_theta"] ** (np.arange(0, hd, 2) / hd))
            ang = np.outer(np.arange(seq_len), inv)
            ang = np.concatenate([ang, ang], axis=1)
            return np.cos(ang) * s, np.sin(ang) * s

        for seq_len, factor in ((orig, rs["short_factor"]), (orig + 1, rs["long_factor"])):
            cos, sin = ref.longrope(seq_len)
            ec, es = expected(seq_len, factor)
            self.assertEqual(tuple(cos.shape), (seq_len, hd))
            self.assertLess(np.abs(cos.double().numpy() - ec).max(), 1e-4, seq_len)
            self.assertLess(np.abs(sin.double().numpy() - es).max(), 1e-4, seq_len)
        # cached-generation rows: prompt 30 (short prefill), then decode steps; position p uses
        # long factors iff p + 1 > orig
        cos, _ = ref.rope_tables(50, prompt_len=30)
        short, _ = expected(50, rs["short_factor"])
        long_, _ = expected(50, rs["long_factor"])
        for p in range(50):
            want = long_ if p + 1 > orig else short
            self.assertLess(np.abs(cos[p].double().numpy() - want[p]).max(), 1e-4, p)
        # a prompt past the threshold is prefilled (and continued) with long factors
        cos, _ = ref.rope_tables(50, prompt_len=45)
        self.assertLess(np.abs(cos.double().numpy() - long_).max(), 1e-4)

    def _units_vs_reference(self, ckpt, cases, steps):
        out = os.path.join(Tmp.dir(), os.path.basename(ckpt) + "_model")
        exporter.export(ckpt, out, golden=False, log=quiet)
        golden = R.make_golden(ckpt, steps=steps, cases=cases)
        for case in golden["cases"]:
            ids, logits = run_units(out, case["input_ids"], case["num_tiles"], steps)
            ref = torch.tensor(case["step_logits"])
            self.assertLess((logits - ref).abs().max().item(), 1e-4, case["name"])
            self.assertEqual(ids, case["greedy_ids"], case["name"])
        return load_json(os.path.join(out, "manifest.json")), golden

    def test_units_match_reference_across_the_threshold(self):
        question = "Which car is on the left? Answer directly."
        ckpt = tiny("phi3_units_probe", "--family", "phi3")
        n = len(prompt_ids(ckpt, question, 0))
        steps = 8
        # threshold inside the generation: prompt short, steps n+3.. long
        ckpt = tiny("phi3_cross", "--family", "phi3", "--original-max", str(n + 3))
        man, golden = self._units_vs_reference(
            ckpt, [{"name": "text", "question": question, "num_tiles": 0},
                   {"name": "image", "question": "<image>\nWhat color?", "num_tiles": 1}], steps)
        rs = man["llm"]["rope_scaling"]
        self.assertEqual(rs["type"], "longrope")
        self.assertEqual(rs["original_max_position_embeddings"], n + 3)
        self.assertAlmostEqual(rs["attention_factor"],
                               math.sqrt(1 + math.log(8192 / (n + 3)) / math.log(n + 3)), 12)
        self.assertEqual(len(golden["cases"][0]["input_ids"]), n)
        # the switch matters: the same model with the threshold far away decodes differently
        far = R.make_golden(tiny("phi3_far", "--family", "phi3", "--original-max", "4096"),
                            steps=steps, cases=[{"name": "text", "question": question,
                                                 "num_tiles": 0}])
        diff = (torch.tensor(far["cases"][0]["step_logits"][-1]) -
                torch.tensor(golden["cases"][0]["step_logits"][-1])).abs().max().item()
        self.assertGreater(diff, 1e-3)

    def test_preset_4b_attention_factor(self):
        d = os.path.join(Tmp.dir(), "InternVL2-4B")
        presets.write_config("InternVL2-4B", d)
        man = exporter.export_config_only(d, d, log=quiet)
        rs = man["llm"]["rope_scaling"]
        self.assertAlmostEqual(rs["attention_factor"], math.sqrt(17 / 12), 12)  # 1.1902381
        self.assertEqual(rs["original_max_position_embeddings"], 4096)
        self.assertEqual(len(rs["short_factor"]), 48)


class TiedHead(unittest.TestCase):
    def test_qwen2_tied_head_reads_the_embedding(self):
        ckpt = tiny("qwen2_tied", "--family", "qwen2", "--vit", "6b", "--tie-embeddings")
        self.assertNotIn("language_model.lm_head.weight", safetensors_io.Checkpoint(ckpt))
        out = os.path.join(Tmp.dir(), "qwen2_tied_model")
        man = exporter.export(ckpt, out, golden=False, log=quiet)
        self.assertEqual(man["tied_groups"], [["language_model.model.embed_tokens",
                                               "language_model.lm_head"]])
        emb = torch.jit.load(os.path.join(out, man["units"][2]["file"])).state_dict()["weight"]
        head = torch.jit.load(os.path.join(out, man["units"][-1]["file"])).state_dict()["weight"]
        # the head is the embedding tensor, its rows padded with zeros to a multiple of 64
        self.assertTrue(torch.equal(head[:emb.size(0)], emb))
        self.assertTrue(torch.equal(head[emb.size(0):], torch.zeros_like(head[emb.size(0):])))
        self.assertEqual(head.size(0) % 64, 0)
        golden = R.make_golden(ckpt, steps=4, cases=[
            {"name": "img", "question": "<image>\nWhat color?", "num_tiles": 1}])
        case = golden["cases"][0]
        ids, logits = run_units(out, case["input_ids"], 1, 4)
        self.assertLess((logits - torch.tensor(case["step_logits"])).abs().max().item(), 1e-4)
        self.assertEqual(ids, case["greedy_ids"])
        # an untied checkpoint (the published layout) keeps its own head
        untied = exporter.export_config_only(tiny("qwen2_untied", "--family", "qwen2"),
                                                     os.path.join(Tmp.dir(), "qu"), log=quiet)
        self.assertEqual(untied["tied_groups"], [])


class ScaleExport(unittest.TestCase):
    def test_half_precision_shards_read_once_each_unit_by_unit(self):
        for dtype in ("bfloat16", "float16"):
            with self.subTest(dtype=dtype):
                ckpt = tiny("shard_" + dtype, "--dtype", dtype, "--shards", "3", "--family",
                            "llama", "--vit", "6b")
                ck = safetensors_io.Checkpoint(ckpt)
                self.assertEqual(len(ck.files()), 3)
                reads = []
                orig = safetensors_io.SafetensorsFile.get_tensor

                def spy(self_, name):
                    reads.append(name)
                    return orig(self_, name)
                saved = []
                orig_save = torch.jit.save

                def save_spy(m, path, *a, **k):
                    saved.append((os.path.basename(path), len(reads)))
                    return orig_save(m, path, *a, **k)
                safetensors_io.SafetensorsFile.get_tensor = spy
                torch.jit.save = save_spy
                try:
                    out = os.path.join(Tmp.dir(), "shard_model_" + dtype)
                    man = exporter.export(ckpt, out, dtype=dtype, golden=False,
                                                  log=quiet)
                finally:
                    safetensors_io.SafetensorsFile.get_tensor = orig
                    torch.jit.save = orig_save
                # every tensor read exactly once, each unit's own tensors between the previous
                # unit's save and its own: nothing is read ahead or kept for later
                self.assertEqual(sorted(reads), ck.keys())
                self.assertEqual(len(saved), len(man["units"]))
                prev = 0
                for (fname, n_read), u in zip(saved, man["units"]):
                    self.assertEqual(fname, os.path.basename(u["file"]))
                    chunk = reads[prev:n_read]
                    self.assertTrue(chunk, u["name"])
                    self.assertEqual([r for r in chunk if not r.startswith(u["name"] + ".")], [],
                                     u["name"])
                    prev = n_read
                # exact bits: the units hold the source tensors (same dtype: no rounding)
                sd = torch.jit.load(os.path.join(out, "units/language_model.model.layers.1.pt"))
                sd = sd.state_dict()
                src = ck.get("language_model.model.layers.1.self_attn.k_proj.weight")
                self.assertEqual(src.dtype, getattr(torch, dtype))
                self.assertTrue(torch.equal(sd["k_proj.weight"], src))
                # the source hash covers config.json and every shard, in sorted order
                h = hashlib.sha256()
                for name in ["config.json"] + ck.files():
                    h.update(name.encode() + b"\0")
                    with open(os.path.join(ckpt, name), "rb") as f:
                        h.update(f.read())
                self.assertEqual(man["source"]["sha256"], h.hexdigest())

    def test_progress_plain_lines_when_not_a_tty(self):
        ckpt = tiny("progress", "--family", "qwen2")
        out = os.path.join(Tmp.dir(), "progress_model")
        p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "export_internvl2.py"),
                            "--checkpoint", ckpt, "--out", out, "--no-golden"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [ln for ln in p.stderr.splitlines() if ln.startswith("export: unit ")]
        man = load_json(os.path.join(out, "manifest.json"))
        n = len(man["units"])
        self.assertEqual(len(lines), n)
        for k, (ln, u) in enumerate(zip(lines, man["units"])):
            self.assertTrue(ln.startswith("export: unit %d/%d %s (%d bytes"
                                          % (k + 1, n, u["name"], u["param_bytes"])), ln)
        self.assertNotIn("\r", p.stderr)


class FamilyErrors(unittest.TestCase):
    def _config_error(self, edit, *needles):
        src = tiny("err_src", "--family", "phi3")
        d = tempfile.mkdtemp(dir=Tmp.dir())
        for f in os.listdir(src):
            shutil.copyfile(os.path.join(src, f), os.path.join(d, f))
        cfg = load_json(os.path.join(d, "config.json"))
        edit(cfg)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
        with self.assertRaises(exporter.ExportError) as cm:
            exporter.export(d, os.path.join(d, "out"), golden=False, log=quiet)
        for n in needles:
            self.assertIn(n, str(cm.exception))

    def test_short_factor_of_the_wrong_length(self):
        def edit(cfg):
            cfg["llm_config"]["rope_scaling"]["short_factor"] = [1.0] * 3
        self._config_error(edit, "llm_config.rope_scaling.short_factor", "head_dim / 2 = 8")

    def test_missing_original_max(self):
        def edit(cfg):
            del cfg["llm_config"]["original_max_position_embeddings"]
        self._config_error(edit, "original_max_position_embeddings")

    def test_llama3_rope_scaling_is_not_supported(self):
        def edit(cfg):
            lc = cfg["llm_config"]
            lc["architectures"] = ["LlamaForCausalLM"]
            lc["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0}
        self._config_error(edit, "llm_config.rope_scaling", "llama3")

    def test_packed_qkv_of_the_wrong_shape(self):
        name = "language_model.model.layers.0.self_attn.qkv_proj.weight"
        src = tiny("err_src", "--family", "phi3")
        d = tempfile.mkdtemp(dir=Tmp.dir())
        for f in os.listdir(src):
            shutil.copyfile(os.path.join(src, f), os.path.join(d, f))
        ck = safetensors_io.Checkpoint(d)
        w = {k: ck.get(k) for k in ck.keys()}
        w[name] = torch.zeros(64, 64)
        safetensors_io.save_checkpoint(w, d)
        with self.assertRaises(exporter.ExportError) as cm:
            exporter.export(d, os.path.join(d, "out"), golden=False, log=quiet)
        self.assertIn(name, str(cm.exception))
        self.assertIn("[128, 64]", str(cm.exception))  # (nh + 2 nkv) hd


if __name__ == "__main__":
    unittest.main()
