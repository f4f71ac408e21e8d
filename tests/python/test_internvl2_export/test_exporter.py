"""The exporter (scripts/internvl2_export/exporter.py) against the eager reference (reference.py).

The exported units are loaded back with torch.jit.load and chained by a small driver that follows
docs/model-format.md (runtime-made RoPE tables and masks, a per-layer KV cache written in place,
prefill then one token per step); its logits and greedy ids must match golden.json, which the
reference makes by full recomputation from the checkpoint tensors.

Run: /usr/bin/python3 -m unittest discover -s tests/python
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import torch

from scripts_dir import SCRIPTS  # first: puts scripts/ on sys.path
from fixtures import make_tiny_checkpoint
from internvl2_export import exporter, safetensors_io
from internvl2_export import reference as R

torch.set_num_threads(1)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def quiet(_):
    pass


def run_units(model_dir, input_ids, num_tiles, steps, whole_cache=False, spare=0):
    """Greedy generation through the exported units: (greedy ids, step logits [steps, V]).
    whole_cache: decode steps attend over the whole cache (as a captured CUDA-graph step does),
    the keys past each position masked inside the unit; spare: extra cache rows beyond need."""
    with open(os.path.join(model_dir, "manifest.json"), encoding="utf-8") as f:
        man = json.load(f)
    D = DTYPES[man["dtype"]]
    units = {}
    layers = []
    for u in man["units"]:
        m = torch.jit.load(os.path.join(model_dir, u["file"]), map_location="cpu")
        if u["kind"] == "decoder_layer":
            layers.append((u["layer"], m))
        else:
            units[u["kind"]] = m
    layers = [m for _, m in sorted(layers, key=lambda p: p[0])]
    llm = man["llm"]
    H, nkv, hd = llm["hidden_size"], llm["num_kv_heads"], llm["head_dim"]
    T = len(input_ids)
    cap = T + steps + spare

    def table(factor=None, scale=1.0):
        base = llm["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd)
        inv_freq = 1.0 / (base if factor is None else torch.tensor(factor) * base)
        freqs = torch.outer(torch.arange(cap, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * scale).to(D), (emb.sin() * scale).to(D)

    rs = llm.get("rope_scaling") or {}
    if rs.get("type") == "longrope":  # docs/model-format.md: per call, long iff pos + T > orig
        short = table(rs["short_factor"], rs["attention_factor"])
        long_ = table(rs["long_factor"], rs["attention_factor"])
        tables = lambda pos, t: long_ if pos + t > rs["original_max_position_embeddings"] \
            else short  # noqa: E731
    else:
        plain = table()
        tables = lambda pos, t: plain  # noqa: E731
    fill = torch.randn if whole_cache else torch.zeros  # whole_cache: stale rows must not matter
    torch.manual_seed(0)
    caches = [(fill(1, cap, nkv, hd).to(D), fill(1, cap, nkv, hd).to(D)) for _ in layers]

    with torch.no_grad():
        ids = torch.tensor([input_ids], dtype=torch.int64)
        x = units["embedding"](ids)
        if num_tiles:
            feats = units["projector"](units["vision"](R.pixel_pattern(num_tiles, D)))
            sel = ids[0] == man["special_tokens"]["img_context"]
            x[0, sel] = feats.reshape(-1, H)
        pos, out, logits_list = 0, [], []
        for step in range(steps + 1):
            t = x.shape[1]
            positions = torch.arange(pos, pos + t, dtype=torch.int64).unsqueeze(0)
            attend = cap if (whole_cache and t == 1) else pos + t
            cos, sin = tables(pos, t)
            for layer, (kc, vc) in zip(layers, caches):
                x = layer(x, cos[pos:pos + t].unsqueeze(0), sin[pos:pos + t].unsqueeze(0),
                          positions, kc, vc, attend)
            pos += t
            if step == steps:
                break
            logits = units["head"](units["norm"](x))[0, -1]
            nxt = int(torch.argmax(logits))
            out.append(nxt)
            logits_list.append(logits)
            x = units["embedding"](torch.tensor([[nxt]], dtype=torch.int64))
    return out, torch.stack(logits_list)


class TinyModel:
    """Checkpoints and exports shared by the tests (made once per test run)."""
    tmp = None
    ckpt = model = None

    @classmethod
    def get(cls):
        if cls.tmp is None:
            cls.tmp = tempfile.mkdtemp(prefix="vlm_export_test_")
            cls.ckpt = os.path.join(cls.tmp, "InternVL2-tiny")
            make_tiny_checkpoint.main(["--out", cls.ckpt])
            fixture = os.path.join(os.environ.get("VLM_TESTDATA_DIR", "/nonexistent"),
                                   "models", "InternVL2-tiny")
            if os.path.exists(os.path.join(fixture, "manifest.json")):
                cls.model = fixture  # check the fixture's export itself
            else:
                cls.model = os.path.join(cls.tmp, "model")
                exporter.export(cls.ckpt, cls.model, log=quiet)
        return cls

    @classmethod
    def cleanup(cls):
        if cls.tmp:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            cls.tmp = None


def tearDownModule():
    TinyModel.cleanup()


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class ExportMatchesReference(unittest.TestCase):
    def test_units_reproduce_golden(self):
        tm = TinyModel.get()
        golden = load_json(os.path.join(tm.model, "golden.json"))
        self.assertEqual([c["name"] for c in golden["cases"]], ["image", "text"])
        for case in golden["cases"]:
            with self.subTest(case=case["name"]):
                ids, logits = run_units(tm.model, case["input_ids"], case["num_tiles"],
                                        len(case["greedy_ids"]))
                ref = torch.tensor(case["step_logits"])
                self.assertEqual(len(case["greedy_ids"]), 20)
                self.assertEqual(ref.shape, (20, 1009))
                diff = (logits - ref).abs().max().item()
                self.assertLess(diff, 1e-4, "max |logit diff| %g" % diff)
                self.assertEqual(ids, case["greedy_ids"])
                # well-separated greedy choices, so the C++ runtime can be held to the ids
                top2 = ref.topk(2, dim=-1).values
                self.assertGreater((top2[:, 0] - top2[:, 1]).min().item(), 1e-3)
                self.assertEqual(int(ref.argmax(-1)[0]), case["greedy_ids"][0])

    def test_decode_over_the_whole_cache(self):
        """Format version 2: a decode step that attends over the whole preallocated cache (what a
        captured step does) masks every key past its position inside the unit, so it gives the
        tight call's ids and logits; stale rows past the position (filled here with a first,
        different prompt) change nothing."""
        tm = TinyModel.get()
        golden = load_json(os.path.join(tm.model, "golden.json"))
        case = golden["cases"][0]
        n = len(case["greedy_ids"])
        ids, logits = run_units(tm.model, case["input_ids"], case["num_tiles"], n)
        ids_w, logits_w = run_units(tm.model, case["input_ids"], case["num_tiles"], n,
                                    whole_cache=True, spare=37)
        self.assertEqual(ids_w, ids)
        self.assertLess((logits_w - logits).abs().max().item(), 1e-5)

    def test_padding_rows(self):
        """Format version 3: rows of x beyond the cache's rows are padding. They write nothing into
        the cache and their attention output is zero; the cached rows' outputs match a call
        without padding; and at a fixed row count a row's output does not depend on what the
        other rows hold (the batch invariance a padded decode step relies on)."""
        tm = TinyModel.get()
        man = load_json(os.path.join(tm.model, "manifest.json"))
        unit = [u for u in man["units"] if u["kind"] == "decoder_layer"][0]
        layer = torch.jit.load(os.path.join(tm.model, unit["file"]), map_location="cpu")
        llm = man["llm"]
        H, nkv, hd = llm["hidden_size"], llm["num_kv_heads"], llm["head_dim"]
        torch.manual_seed(3)
        B, R, cap = 3, 8, 24
        pos = torch.tensor([[5], [11], [0]] + [[0]] * (R - B), dtype=torch.int64)
        cos, sin = torch.randn(R, 1, hd), torch.randn(R, 1, hd)

        def call(x, rows, k0, v0):
            k, v = k0.clone(), v0.clone()
            out = layer(x[:rows], cos[:rows], sin[:rows], pos[:rows], k, v, cap)
            return out, k, v

        k0, v0 = torch.randn(B, cap, nkv, hd), torch.randn(B, cap, nkv, hd)
        x = torch.randn(R, 1, H)
        padded, kp, vp = call(x, R, k0, v0)
        tight, kt, vt = call(x, B, k0, v0)
        self.assertEqual(tuple(padded.shape), (R, 1, H))
        self.assertTrue(torch.equal(kp, kt) or (kp - kt).abs().max().item() < 1e-6)
        self.assertLess((vp - vt).abs().max().item(), 1e-6)
        self.assertLess((padded[:B] - tight).abs().max().item(), 1e-5)
        # a padding row writes nothing: only each cached row's own position changed
        changed = (kp != k0).any(-1).any(-1)  # [B, cap]
        self.assertEqual(changed.nonzero().tolist(), [[0, 5], [1, 11], [2, 0]])
        # row 0's output at R rows does not change when the other rows hold something else
        x2 = x.clone()
        x2[1:] = torch.randn(R - 1, 1, H)
        other, _, _ = call(x2, R, k0, v0)
        self.assertTrue(torch.equal(other[0], padded[0]))
        self.assertFalse(torch.equal(other[1], padded[1]))

    def test_golden_prompts(self):
        tm = TinyModel.get()
        golden = load_json(os.path.join(tm.model, "golden.json"))
        man = load_json(os.path.join(tm.model, "manifest.json"))
        img, text = golden["cases"]
        sys_part = "<|im_start|>system\n" + R.SYSTEM_MESSAGE + "<|im_end|>"
        self.assertEqual(img["prompt"], sys_part + "<|im_start|>user\n<img>" +
                         "<IMG_CONTEXT>" * 768 + "</img>\nWhat is in the picture?<|im_end|>"
                         "<|im_start|>assistant\n")
        self.assertEqual(text["prompt"], sys_part + "<|im_start|>user\n" + text["question"] +
                         "<|im_end|><|im_start|>assistant\n")
        st = man["special_tokens"]
        ids = img["input_ids"]
        self.assertEqual(ids[0], 1)
        self.assertEqual(ids.count(st["img_context"]), 768)
        first = ids.index(st["img_context"])
        self.assertEqual(ids[first - 1], st["img_start"])
        self.assertEqual(ids[first + 768], st["img_end"])
        # each non-special chunk is sentencepiece's own encoding (the HF slow path)
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=os.path.join(tm.model, "tokenizer.model"))
        tail = "\nWhat is in the picture?"
        end = ids.index(7, first)
        self.assertEqual(ids[first + 769:end], sp.encode(tail))
        self.assertEqual(text["input_ids"][:2], [1, 8])  # <s> <|im_start|>

    def test_head_rows_padded_and_cut(self):
        """The head's weight has the vocabulary's rows padded with zero rows to a multiple of 64;
        its logits are the vocabulary's alone, bitwise those of the unpadded weight."""
        tm = TinyModel.get()
        head = torch.jit.load(os.path.join(tm.model, "units/language_model.output.pt"))
        w = head.state_dict()["weight"]
        self.assertEqual(tuple(w.shape), (1024, 64))
        self.assertTrue(torch.equal(w[1009:], torch.zeros(15, 64)))
        x = torch.randn(2, 3, 64, generator=torch.Generator().manual_seed(0))
        logits = head(x)
        self.assertEqual((logits.dtype, tuple(logits.shape)), (torch.float32, (2, 3, 1009)))
        self.assertTrue(torch.equal(logits, torch.nn.functional.linear(x, w[:1009]).float()))

    def test_manifest(self):
        tm = TinyModel.get()
        man = load_json(os.path.join(tm.model, "manifest.json"))
        self.assertEqual(man["format_version"], 3)
        self.assertEqual(man["name"], "InternVL2-tiny")
        self.assertEqual(man["family"], "internlm2")
        self.assertEqual(man["dtype"], "float32")
        names = [u["name"] for u in man["units"]]
        self.assertEqual(names, ["vision_model", "mlp1", "language_model.model.tok_embeddings"] +
                         ["language_model.model.layers.%d" % i for i in range(3)] +
                         ["language_model.model.norm", "language_model.output"])
        self.assertEqual([u["kind"] for u in man["units"]],
                         ["vision", "projector", "embedding"] + ["decoder_layer"] * 3 +
                         ["norm", "head"])
        for u in man["units"]:
            self.assertTrue(os.path.exists(os.path.join(tm.model, u["file"])), u["file"])
        # param bytes from the shapes: decoder layer = norms + q,k,v,o + MLP (fp32)
        layer = man["units"][3]["param_bytes"]
        self.assertEqual(layer, 4 * (2 * 64 + 64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128))
        # the head's 1009 rows padded to 1024 (a multiple of 64: docs/model-format.md)
        self.assertEqual(man["units"][-1]["param_bytes"], 4 * 1024 * 64)
        self.assertEqual(man["llm"]["vocab_size"], 1009)
        self.assertEqual(man["llm"]["num_kv_heads"], 2)
        self.assertEqual(man["llm"]["head_dim"], 16)
        self.assertEqual(man["vision"]["num_image_token"], 256)
        tok = man["tokenizer"]
        self.assertEqual((tok["bos_id"], tok["eos_id"], tok["unk_id"], tok["pad_id"]),
                         (1, 2, 0, 2))
        self.assertEqual(man["special_tokens"],
                         {"img_start": 1000, "img_end": 1001, "img_context": 1002})
        self.assertEqual(man["stop_ids"], [7])  # <|im_end|>
        self.assertEqual(tok["skip_ids"], list(range(0, 9)) + list(range(1000, 1009)))
        self.assertEqual(len(tok["added_tokens"]), 18)
        self.assertEqual(man["template"]["name"], "internlm2-chat")
        self.assertEqual(man["template"]["sep"], "<|im_end|>")
        self.assertEqual(man["preprocess"]["max_dynamic_patch"], 12)
        for f in ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
                  "added_tokens.json"):
            self.assertTrue(os.path.exists(os.path.join(tm.model, f)), f)


class Variants(unittest.TestCase):
    def test_sharded_equals_single(self):
        tm = TinyModel.get()
        sharded = os.path.join(tm.tmp, "sharded")
        make_tiny_checkpoint.main(["--out", sharded, "--shards", "3"])
        self.assertTrue(os.path.exists(os.path.join(sharded, "model.safetensors.index.json")))
        ck1, ck3 = safetensors_io.Checkpoint(tm.ckpt), safetensors_io.Checkpoint(sharded)
        self.assertEqual(len(ck3.files()), 3)
        self.assertEqual(ck1.keys(), ck3.keys())
        for k in ck1.keys():
            self.assertTrue(torch.equal(ck1.get(k), ck3.get(k)), k)
        out = os.path.join(tm.tmp, "sharded_model")
        exporter.export(sharded, out, name="InternVL2-tiny", golden=False, log=quiet)
        single = tm.model
        m1, m2 = (load_json(os.path.join(d, "manifest.json")) for d in (single, out))
        for k in m1:
            # "files": hashes of the tokenizer files, which each make_tiny_checkpoint run trains
            # anew (sentencepiece's trainer does not promise identical bytes run to run)
            if k not in ("source", "files", "units"):
                self.assertEqual(m1[k], m2[k], k)
        # Units: the same names, kinds, sizes and files. Their sha256 are not compared: the
        # archives are not byte-identical across export processes (e.g. TorchScript mangles class
        # names by what was scripted before in the process); the weights are compared below.
        strip = lambda us: [{f: v for f, v in u.items() if f != "sha256"} for u in us]  # noqa
        self.assertEqual(strip(m1["units"]), strip(m2["units"]))
        for u in m1["units"]:
            a = torch.jit.load(os.path.join(single, u["file"])).state_dict()
            b = torch.jit.load(os.path.join(out, u["file"])).state_dict()
            self.assertEqual(sorted(a), sorted(b))
            for name in a:
                self.assertTrue(torch.equal(a[name], b[name]), "%s %s" % (u["name"], name))

    def test_bfloat16_export(self):
        tm = TinyModel.get()
        out = os.path.join(tm.tmp, "bf16")
        # golden.json in bf16 is slow on CPU (image case); the reference runs the text case here
        exporter.export(tm.ckpt, out, dtype="bfloat16", golden=False, log=quiet)
        man = load_json(os.path.join(out, "manifest.json"))
        self.assertEqual(man["dtype"], "bfloat16")
        for u in man["units"]:
            sd = torch.jit.load(os.path.join(out, u["file"])).state_dict()
            self.assertTrue(all(t.dtype == torch.bfloat16 for t in sd.values()), u["name"])
            self.assertEqual(u["param_bytes"], sum(t.numel() * 2 for t in sd.values()))
        golden = R.make_golden(tm.ckpt, torch.bfloat16, steps=3, cases=R.GOLDEN_CASES[1:])
        self.assertEqual(golden["dtype"], "bfloat16")
        case = golden["cases"][0]
        ids, logits = run_units(out, case["input_ids"], 0, 3)
        ref = torch.tensor(case["step_logits"])
        self.assertEqual(logits.dtype, torch.float32)
        self.assertEqual(ids[0], case["greedy_ids"][0])
        # bf16 keeps ~3 significant digits; KV-cache vs full recomputation (and sdpa) round apart
        err = (logits - ref).abs().max().item()
        self.assertLess(err, 0.05 * ref.abs().max().item(), "max |logit diff| %g" % err)
        # the vision side runs in bf16 too
        vision = torch.jit.load(os.path.join(out, "units/vision_model.pt"))
        feats = vision(R.pixel_pattern(1, torch.bfloat16))
        self.assertEqual((feats.dtype, tuple(feats.shape)), (torch.bfloat16, (1, 256, 256)))

    def _reference_vs_units(self, extra_args, steps=4):
        """A variant checkpoint: export (no golden) and compare with the reference directly."""
        tm = TinyModel.get()
        name = "_".join(a.strip("-") for a in extra_args)
        ckpt = os.path.join(tm.tmp, "ck_" + name)
        out = os.path.join(tm.tmp, "model_" + name)
        make_tiny_checkpoint.main(["--out", ckpt, "--seed", "3", "--llm-layers", "2"] +
                                  extra_args)
        exporter.export(ckpt, out, golden=False, log=quiet)
        golden = R.make_golden(ckpt, steps=steps, cases=[
            {"name": "short", "question": "<image>\nWhat color?", "num_tiles": 1}])
        case = golden["cases"][0]
        ids, logits = run_units(out, case["input_ids"], 1, steps)
        ref = torch.tensor(case["step_logits"])
        self.assertLess((logits - ref).abs().max().item(), 1e-4)
        self.assertEqual(ids, case["greedy_ids"])
        return load_json(os.path.join(out, "manifest.json"))

    def test_internvit_6b_variant(self):
        man = self._reference_vs_units(["--vision-variant", "6b"])
        self.assertEqual(man["vision"]["norm_type"], "rms_norm")
        self.assertTrue(man["vision"]["qk_normalization"])
        self.assertFalse(man["vision"]["qkv_bias"])

    def test_llama_family(self):
        man = self._reference_vs_units(["--llm-arch", "llama"])
        self.assertEqual(man["family"], "llama")
        self.assertEqual([u["name"] for u in man["units"]][2], "language_model.model.embed_tokens")
        self.assertEqual(man["units"][-1]["name"], "language_model.lm_head")

    def test_qwen2_family(self):
        man = self._reference_vs_units(["--llm-arch", "qwen2"])
        self.assertEqual(man["family"], "qwen2")


class Errors(unittest.TestCase):
    def _broken(self, edit_weights=None, edit_config=None):
        tm = TinyModel.get()
        d = tempfile.mkdtemp(dir=tm.tmp)
        for f in os.listdir(tm.ckpt):
            shutil.copyfile(os.path.join(tm.ckpt, f), os.path.join(d, f))
        if edit_weights:
            ck = safetensors_io.Checkpoint(d)
            w = {k: ck.get(k) for k in ck.keys()}
            edit_weights(w)
            safetensors_io.save_checkpoint(w, d)
        if edit_config:
            cfg = load_json(os.path.join(d, "config.json"))
            edit_config(cfg)
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(cfg, f)
        return d

    def _assert_fails(self, ckpt, *needles):
        with self.assertRaises(exporter.ExportError) as cm:
            exporter.export(ckpt, os.path.join(ckpt, "out"), golden=False, log=quiet)
        for n in needles:
            self.assertIn(n, str(cm.exception))
        self.assertFalse(os.path.exists(os.path.join(ckpt, "out", "manifest.json")))

    def test_missing_tensor(self):
        name = "language_model.model.layers.1.attention.wqkv.weight"
        d = self._broken(edit_weights=lambda w: w.pop(name))
        self._assert_fails(d, name, "lacks")
        # the command line says it too, with a non-zero exit status
        p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "export_internvl2.py"),
                            "--checkpoint", d, "--out", os.path.join(d, "out2")],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(name, p.stderr)

    def test_wrong_shape(self):
        name = "vision_model.encoder.layers.0.attn.qkv.weight"
        d = self._broken(edit_weights=lambda w: w.__setitem__(name, torch.zeros(191, 64)))
        self._assert_fails(d, name, "[191, 64]", "[192, 64]")

    def test_unknown_architecture(self):
        def edit(cfg):
            cfg["llm_config"]["architectures"] = ["MistralForCausalLM"]
        self._assert_fails(self._broken(edit_config=edit), "llm_config.architectures[0]",
                           "MistralForCausalLM")

    def test_missing_field(self):
        def edit(cfg):
            del cfg["llm_config"]["num_hidden_layers"]
        self._assert_fails(self._broken(edit_config=edit), "llm_config.num_hidden_layers")

    def test_unknown_template(self):
        def edit(cfg):
            cfg["template"] = "vicuna_v1.1"
        self._assert_fails(self._broken(edit_config=edit), "template", "vicuna_v1.1")


if __name__ == "__main__":
    unittest.main()
