"""Config-only manifests of the published InternVL2 sizes (scripts/internvl2_export/presets.py,
scripts/fixtures/make_size_manifests.sh, export_internvl2.py --config-only).

The per-size figures are checked against /work/shared/reference/internvl2-architecture.md: the
§3.1 shapes, the §2.3 ViT variants and the §3.3 size table (parameter counts, one decoder layer and
embedding in bf16, KV cache per token). Config-only byte counts are checked against real exports
of tiny checkpoints (the bytes of the unit files they write).

Run: /usr/bin/python3 -m unittest discover -s tests/python
"""
import hashlib
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
from internvl2_export import presets as P
from internvl2_export import units as U

torch.set_num_threads(1)
MiB, KiB = 1 << 20, 1 << 10

# §3.1: hidden, layers, heads, kv, head_dim, inter, vocab (ckpt), rope_theta, rms_eps, max_pos
LLM_TABLE = {
    "InternVL2-1B": (896, 24, 14, 2, 64, 4864, 151655, 1e6, 1e-6, 32768),
    "InternVL2-2B": (2048, 24, 16, 8, 128, 8192, 92553, 1e6, 1e-5, 32768),
    "InternVL2-4B": (3072, 32, 32, 32, 96, 8192, 32020, 1e4, 1e-5, 131072),
    "InternVL2-8B": (4096, 32, 32, 8, 128, 14336, 92553, 1e6, 1e-5, 32768),
    "InternVL2-26B": (6144, 48, 48, 8, 128, 16384, 92553, 1e6, 1e-5, 32768),
    "InternVL2-40B": (7168, 60, 56, 8, 128, 20480, 64007, 5e6, 1e-5, 4096),
    "InternVL2-Llama3-76B": (8192, 80, 64, 8, 128, 28672, 128265, 5e5, 1e-5, 8192),
}
ARCH = {"InternVL2-1B": "Qwen2ForCausalLM", "InternVL2-2B": "InternLM2ForCausalLM",
        "InternVL2-4B": "Phi3ForCausalLM", "InternVL2-8B": "InternLM2ForCausalLM",
        "InternVL2-26B": "InternLM2ForCausalLM", "InternVL2-40B": "LlamaForCausalLM",
        "InternVL2-Llama3-76B": "LlamaForCausalLM"}
# §4: template per size
TEMPLATE = {"InternVL2-1B": "Hermes-2", "InternVL2-2B": "internlm2-chat",
            "InternVL2-4B": "phi3-chat", "InternVL2-8B": "internlm2-chat",
            "InternVL2-26B": "internlm2-chat", "InternVL2-40B": "Hermes-2",
            "InternVL2-Llama3-76B": "internlm2-chat"}
# §2.3: hidden, layers, heads, inter, norm_type, qk_norm, qkv_bias
VIT_300M = (1024, 24, 16, 4096, "layer_norm", False, True)
VIT_6B = (3200, 45, 25, 12800, "rms_norm", True, False)
# §3.3: ViT (B), mlp1 (M), LLM (B), total (B), KV/token (KiB), one decoder layer (MiB), embed (MiB)
SIZE_TABLE = {
    "InternVL2-1B": (0.304, 4.5, 0.630, 0.94, 12, 28, 259),
    "InternVL2-2B": (0.304, 12.6, 1.889, 2.21, 96, 120, 362),
    "InternVL2-4B": (0.304, 22.0, 3.821, 4.15, 384, 216, 188),
    "InternVL2-8B": (0.304, 33.6, 7.738, 8.08, 128, 416, 723),
    "InternVL2-26B": (5.536, 116, 19.86, 25.5, 192, 744, 1085),
    "InternVL2-40B": (5.536, 143, 34.39, 40.1, 240, 1064, 875),
    "InternVL2-Llama3-76B": (5.536, 172, 70.55, 76.3, 320, 1632, 2004),
}
LLM_KINDS = ("embedding", "decoder_layer", "norm", "head")


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def quiet(_):
    pass


class Sizes:
    """The manifests made once by make_size_manifests.sh into a temporary folder."""
    tmp = out = None
    first = second = None

    @classmethod
    def get(cls):
        if cls.tmp is None:
            cls.tmp = tempfile.mkdtemp(prefix="vlm_presets_test_")
            cls.out = os.path.join(cls.tmp, "size_manifests")
            cmd = ["sh", os.path.join(SCRIPTS, "fixtures", "make_size_manifests.sh"), sys.executable,
                   cls.out]
            cls.first = subprocess.run(cmd, capture_output=True, text=True)
            cls.second = subprocess.run(cmd, capture_output=True, text=True)
        return cls

    @classmethod
    def manifest(cls, name):
        return load_json(os.path.join(cls.get().out, name, "manifest.json"))


def tearDownModule():
    if Sizes.tmp:
        shutil.rmtree(Sizes.tmp, ignore_errors=True)


def figures(man):
    """Parameter counts (bf16 bytes / 2) and byte sizes of one config-only manifest."""
    assert man["dtype"] == "bfloat16"
    by_kind = {}
    for u in man["units"]:
        by_kind.setdefault(u["kind"], []).append(u["param_bytes"])
    llm = man["llm"]
    return {
        "vit": by_kind["vision"][0] / 2, "mlp1": by_kind["projector"][0] / 2,
        "llm": sum(sum(by_kind[k]) for k in LLM_KINDS) / 2,
        "total": sum(u["param_bytes"] for u in man["units"]) / 2,
        "layer_bytes": by_kind["decoder_layer"], "embed_bytes": by_kind["embedding"][0],
        "head_bytes": by_kind["head"][0],
        "kv_bytes": 2 * llm["num_layers"] * llm["num_kv_heads"] * llm["head_dim"] * 2,
    }


class SizeManifests(unittest.TestCase):
    def test_script_made_every_size_and_is_idempotent(self):
        s = Sizes.get()
        self.assertEqual(s.first.returncode, 0, s.first.stderr)
        self.assertIn("wrote", s.first.stdout)
        self.assertEqual(s.second.returncode, 0, s.second.stderr)
        self.assertIn("up to date", s.second.stdout)
        self.assertEqual(sorted(os.listdir(s.out)), sorted(P.PRESET_NAMES))
        self.assertEqual(P.PRESET_NAMES, ["InternVL2-1B", "InternVL2-2B", "InternVL2-4B",
                                          "InternVL2-8B", "InternVL2-26B", "InternVL2-40B",
                                          "InternVL2-Llama3-76B"])
        for name in P.PRESET_NAMES:
            # config only: nothing but the config and the manifest, no unit files
            self.assertEqual(sorted(os.listdir(os.path.join(s.out, name))),
                             ["config.json", "manifest.json"], name)
            cfg = load_json(os.path.join(s.out, name, "config.json"))
            self.assertEqual(cfg, P.preset_config(name))

    def test_parameter_counts_match_reference(self):
        rows = []
        for name in P.PRESET_NAMES:
            f = figures(Sizes.manifest(name))
            vit, mlp1, llm, total, kv_kib, layer_mib, emb_mib = SIZE_TABLE[name]
            with self.subTest(name=name):
                self.assertAlmostEqual(f["vit"] / 1e9, vit, delta=0.01 * vit)
                self.assertAlmostEqual(f["mlp1"] / 1e6, mlp1, delta=0.01 * mlp1)
                self.assertAlmostEqual(f["llm"] / 1e9, llm, delta=0.01 * llm)
                self.assertAlmostEqual(f["total"] / 1e9, total, delta=0.01 * total)
                self.assertAlmostEqual(f["vit"] + f["mlp1"] + f["llm"], f["total"])
            rows.append("%-21s %7.3fB %7.1fM %8.3fB %8.2fB %8.1f MiB %7.1f MiB %6.1f GiB"
                        % (name, f["vit"] / 1e9, f["mlp1"] / 1e6, f["llm"] / 1e9,
                           f["total"] / 1e9, f["layer_bytes"][0] / MiB, f["embed_bytes"] / MiB,
                           f["total"] * 2 / (1 << 30)))
        sys.stderr.write("\n%-21s %8s %8s %9s %9s %12s %11s %10s\n%s\n"
                         % ("size", "ViT", "mlp1", "LLM", "total", "layer bf16", "embed bf16",
                            "all bf16", "\n".join(rows)))

    def test_decoder_layer_bytes(self):
        for name in P.PRESET_NAMES:
            f = figures(Sizes.manifest(name))
            H, L, nh, nkv, hd, inter, _, _, _, _ = LLM_TABLE[name]
            with self.subTest(name=name):
                self.assertEqual(len(f["layer_bytes"]), L)
                self.assertEqual(set(f["layer_bytes"]), {f["layer_bytes"][0]})
                self.assertAlmostEqual(f["layer_bytes"][0] / MiB, SIZE_TABLE[name][5],
                                       delta=0.02 * SIZE_TABLE[name][5])
                # §3.2 shapes: 2 norms, q/k/v/o, gate/up/down; Qwen2 adds q/k/v biases
                params = 2 * H + (nh + 2 * nkv) * hd * H + nh * hd * H + 3 * inter * H
                if ARCH[name] == "Qwen2ForCausalLM":
                    params += (nh + 2 * nkv) * hd
                self.assertEqual(f["layer_bytes"][0], 2 * params)

    def test_embedding_and_head_bytes(self):
        for name in P.PRESET_NAMES:
            f = figures(Sizes.manifest(name))
            H, V = LLM_TABLE[name][0], LLM_TABLE[name][6]
            with self.subTest(name=name):
                self.assertEqual(f["embed_bytes"], V * H * 2)
                # untied: its own copy, its rows padded to a multiple of 64 (docs/model-format.md)
                self.assertEqual(f["head_bytes"], U.head_rows(V) * H * 2)
                self.assertEqual(U.head_rows(V) % 64, 0)
                self.assertLess(U.head_rows(V) - V, 64)
                self.assertAlmostEqual(f["embed_bytes"] / MiB, SIZE_TABLE[name][6], delta=1.0)
                self.assertAlmostEqual(f["kv_bytes"] / KiB, SIZE_TABLE[name][4], delta=0.5)

    def test_manifest_blocks(self):
        for name in P.PRESET_NAMES:
            man = Sizes.manifest(name)
            H, L, nh, nkv, hd, inter, V, theta, eps, max_pos = LLM_TABLE[name]
            with self.subTest(name=name):
                self.assertIs(man["config_only"], True)
                self.assertEqual(man["name"], name)
                self.assertEqual(man["dtype"], "bfloat16")
                self.assertEqual(man["tied_groups"], [])
                for k in ("tokenizer", "special_tokens", "stop_ids"):
                    self.assertNotIn(k, man)
                llm = man["llm"]
                self.assertEqual(llm["architecture"], ARCH[name])
                self.assertEqual((llm["hidden_size"], llm["num_layers"], llm["num_heads"],
                                  llm["num_kv_heads"], llm["head_dim"],
                                  llm["intermediate_size"], llm["vocab_size"],
                                  llm["max_position_embeddings"]),
                                 (H, L, nh, nkv, hd, inter, V, max_pos))
                self.assertEqual((llm["rope_theta"], llm["rms_norm_eps"]), (theta, eps))
                v = man["vision"]
                want = VIT_6B if name in ("InternVL2-26B", "InternVL2-40B",
                                          "InternVL2-Llama3-76B") else VIT_300M
                self.assertEqual((v["hidden_size"], v["num_layers"], v["num_heads"],
                                  v["intermediate_size"], v["norm_type"],
                                  v["qk_normalization"], v["qkv_bias"]), want)
                self.assertEqual((v["image_size"], v["patch_size"], v["num_image_token"],
                                  v["ps_version"], v["layer_norm_eps"]),
                                 (448, 14, 256, "v2", 1e-6))
                self.assertEqual(man["template"]["name"], TEMPLATE[name])
                self.assertEqual(man["preprocess"]["max_dynamic_patch"], 12)
                cfg_path = os.path.join(Sizes.get().out, name, "config.json")
                with open(cfg_path, "rb") as fh:
                    self.assertEqual(man["source"]["sha256"],
                                     hashlib.sha256(fh.read()).hexdigest())
        rs = Sizes.manifest("InternVL2-2B")["llm"]["rope_scaling"]
        self.assertEqual(rs, {"type": "dynamic", "factor": 2.0})
        self.assertEqual(Sizes.manifest("InternVL2-26B")["llm"]["rope_scaling"]["factor"], 3.0)
        self.assertIsNone(Sizes.manifest("InternVL2-Llama3-76B")["llm"]["rope_scaling"])
        phi = Sizes.manifest("InternVL2-4B")["llm"]["rope_scaling"]
        self.assertEqual(phi["type"], "longrope")  # config "su", normalised by the exporter
        self.assertEqual((len(phi["long_factor"]), len(phi["short_factor"])), (48, 48))
        self.assertEqual(phi["original_max_position_embeddings"], 4096)
        self.assertAlmostEqual(phi["attention_factor"], 1.1902381, 6)  # sqrt(17/12), ref §3.2

    def test_76b_units(self):
        man = Sizes.manifest("InternVL2-Llama3-76B")
        units = man["units"]
        self.assertEqual([u["name"] for u in units],
                         ["vision_model", "mlp1", "language_model.model.embed_tokens"] +
                         ["language_model.model.layers.%d" % i for i in range(80)] +
                         ["language_model.model.norm", "language_model.lm_head"])
        self.assertEqual([u["kind"] for u in units],
                         ["vision", "projector", "embedding"] + ["decoder_layer"] * 80 +
                         ["norm", "head"])
        self.assertEqual([u["layer"] for u in units if u["kind"] == "decoder_layer"],
                         list(range(80)))
        self.assertEqual(man["vision"]["num_layers"], 45)
        self.assertEqual(units[0]["file"], "units/vision_model.pt")
        self.assertEqual(units[-2]["param_bytes"], 8192 * 2)
        # InternViT-6B, 45 layers (§2.1-2.2 shapes), bf16
        C, I = 3200, 12800
        layer = 3 * C * C + C * C + C + I * C + I + C * I + C + 2 * C + 2 * C + 2 * C
        emb = C * 3 * 14 * 14 + C + C + 1025 * C
        self.assertEqual(units[0]["param_bytes"], 2 * (45 * layer + emb))

    def test_preset_config(self):
        cfg = P.preset_config("InternVL2-8B", llm_layers=2)
        self.assertEqual(cfg["llm_config"]["num_hidden_layers"], 2)
        self.assertEqual(P.preset_config("InternVL2-8B")["llm_config"]["num_hidden_layers"], 32)
        for name in P.PRESET_NAMES:
            c = P.preset_config(name)
            self.assertIs(c["llm_config"]["tie_word_embeddings"], False)
            self.assertEqual(c["architectures"], ["InternVLChatModel"])
            self.assertEqual(c["template"], TEMPLATE[name])
        with self.assertRaises(KeyError):
            P.preset_config("InternVL2-13B")
        # a shallow copy of a real size sizes its layers the same (no weights involved)
        d = tempfile.mkdtemp(prefix="vlm_presets_test_")
        try:
            P.write_config("InternVL2-4B", d, llm_layers=2)
            man = exporter.export_config_only(d, d, log=quiet)
            layers = [u for u in man["units"] if u["kind"] == "decoder_layer"]
            self.assertEqual([u["layer"] for u in layers], [0, 1])
            self.assertEqual(layers[0]["param_bytes"],
                             figures(Sizes.manifest("InternVL2-4B"))["layer_bytes"][0])
        finally:
            shutil.rmtree(d, ignore_errors=True)


def unit_file_bytes(model_dir, unit):
    sd = torch.jit.load(os.path.join(model_dir, unit["file"]), map_location="cpu").state_dict()
    return sum(t.numel() * t.element_size() for t in sd.values())


def make_phi3_checkpoint(src, dst):
    """The tiny checkpoint `src` with its LLM rewritten in Phi-3's layout (§3.2): packed
    qkv_proj [(nh+2nkv)*hd, H] and gate_up_proj [2I, H], no biases."""
    os.makedirs(dst)
    for f in os.listdir(src):
        if not f.startswith("model.safetensors"):
            shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
    cfg = load_json(os.path.join(src, "config.json"))
    lc = cfg["llm_config"]
    for k in ("bias", "attn_implementation", "auto_map"):
        lc.pop(k, None)
    lc.update({"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "rope_theta": 10000.0,
               "rope_scaling": None, "original_max_position_embeddings": 4096})
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(cfg, f)
    ck = safetensors_io.Checkpoint(src)
    w = {k: ck.get(k) for k in ck.keys() if not k.startswith("language_model.")}
    H, I, V, L = (lc["hidden_size"], lc["intermediate_size"], lc["vocab_size"],
                  lc["num_hidden_layers"])
    nh, nkv = lc["num_attention_heads"], lc["num_key_value_heads"]
    hd = H // nh
    g = torch.Generator().manual_seed(5)
    rnd = lambda *s: torch.randn(*s, generator=g) * 0.2  # noqa: E731
    w["language_model.model.embed_tokens.weight"] = rnd(V, H)
    for i in range(L):
        p = "language_model.model.layers.%d." % i
        w[p + "input_layernorm.weight"] = 1 + rnd(H)
        w[p + "self_attn.qkv_proj.weight"] = rnd((nh + 2 * nkv) * hd, H)
        w[p + "self_attn.o_proj.weight"] = rnd(H, nh * hd)
        w[p + "post_attention_layernorm.weight"] = 1 + rnd(H)
        w[p + "mlp.gate_up_proj.weight"] = rnd(2 * I, H)
        w[p + "mlp.down_proj.weight"] = rnd(H, I)
    w["language_model.model.norm.weight"] = 1 + rnd(H)
    w["language_model.lm_head.weight"] = rnd(V, H)
    safetensors_io.save_checkpoint(w, dst)
    return w, (nh, nkv, hd, I)


class ConfigOnlyEqualsRealExport(unittest.TestCase):
    """config-only unit list and bytes == a real export's, on tiny checkpoints of each family."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vlm_presets_test_")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def _compare(self, ckpt, dtype, tag):
        real_dir = os.path.join(self.tmp, tag + "_real")
        conf_dir = os.path.join(self.tmp, tag + "_conf")
        real = exporter.export(ckpt, real_dir, dtype=dtype, golden=False, log=quiet)
        conf = exporter.export_config_only(ckpt, conf_dir, dtype=dtype, log=quiet)
        key = lambda u: (u["name"], u["kind"], u.get("layer"), u["file"])  # noqa: E731
        self.assertEqual([key(u) for u in conf["units"]], [key(u) for u in real["units"]])
        self.assertEqual([u["param_bytes"] for u in conf["units"]],
                         [unit_file_bytes(real_dir, u) for u in real["units"]])
        self.assertEqual([u["param_bytes"] for u in conf["units"]],
                         [u["param_bytes"] for u in real["units"]])
        for k in ("format_version", "name", "family", "dtype", "attention", "tied_groups",
                  "llm", "vision", "template", "preprocess"):
            self.assertEqual(conf[k], real[k], k)
        self.assertIs(conf["config_only"], True)
        self.assertNotIn("config_only", real)
        self.assertEqual(os.listdir(conf_dir), ["manifest.json"])
        self.assertEqual(load_json(os.path.join(conf_dir, "manifest.json")), conf)
        return real_dir, real

    def test_tiny_internlm2(self):
        ckpt = os.path.join(self.tmp, "InternVL2-tiny")
        make_tiny_checkpoint.main(["--out", ckpt])
        self._compare(ckpt, "float32", "internlm2_f32")
        self._compare(ckpt, "bfloat16", "internlm2_bf16")
        # config.json alone is enough, and the CLI defaults --config-only to bfloat16
        alone = os.path.join(self.tmp, "config_alone")
        os.makedirs(alone)
        shutil.copyfile(os.path.join(ckpt, "config.json"), os.path.join(alone, "config.json"))
        self.assertEqual(exporter.main(["--checkpoint", alone, "--out", alone,
                                                "--config-only"]), 0)
        man = load_json(os.path.join(alone, "manifest.json"))
        real = load_json(os.path.join(self.tmp, "internlm2_bf16_real", "manifest.json"))
        self.assertEqual(man["dtype"], "bfloat16")
        strip = lambda units: [{k: v for k, v in u.items() if k != "sha256"}  # noqa: E731
                               for u in units]  # a real export also hashes its unit files
        self.assertEqual(man["units"], strip(real["units"]))

    def test_tiny_llama_and_qwen2_with_6b_vit(self):
        for arch, vit in (("llama", "6b"), ("qwen2", "6b"), ("qwen2", "300m")):
            with self.subTest(arch=arch, vit=vit):
                ckpt = os.path.join(self.tmp, "ck_%s_%s" % (arch, vit))
                make_tiny_checkpoint.main(["--out", ckpt, "--llm-arch", arch, "--vision-variant",
                                           vit, "--llm-layers", "2", "--seed", "1"])
                self._compare(ckpt, "bfloat16", "%s_%s" % (arch, vit))

    def test_tiny_phi3(self):
        src = os.path.join(self.tmp, "ck_phi3_src")
        make_tiny_checkpoint.main(["--out", src, "--llm-layers", "2", "--seed", "2"])
        ckpt = os.path.join(self.tmp, "ck_phi3")
        w, (nh, nkv, hd, I) = make_phi3_checkpoint(src, ckpt)
        real_dir, real = self._compare(ckpt, "float32", "phi3")
        self.assertEqual(real["family"], "phi3")
        self.assertEqual(real["units"][2]["name"], "language_model.model.embed_tokens")
        # §3.2: qkv_proj rows are [q | k | v], gate_up_proj rows [gate | up]
        sd = torch.jit.load(os.path.join(real_dir, real["units"][4]["file"])).state_dict()
        qkv = w["language_model.model.layers.1.self_attn.qkv_proj.weight"]
        gu = w["language_model.model.layers.1.mlp.gate_up_proj.weight"]
        self.assertTrue(torch.equal(sd["q_proj.weight"], qkv[:nh * hd]))
        self.assertTrue(torch.equal(sd["k_proj.weight"], qkv[nh * hd:(nh + nkv) * hd]))
        self.assertTrue(torch.equal(sd["v_proj.weight"], qkv[(nh + nkv) * hd:]))
        self.assertTrue(torch.equal(sd["gate_proj.weight"], gu[:I]))
        self.assertTrue(torch.equal(sd["up_proj.weight"], gu[I:]))
        self.assertNotIn("q_proj.bias", sd)


class PresetTokenizer(unittest.TestCase):
    """The presets' tokenizer (make_tiny_checkpoint.py --preset): tiny_tokenizer's model padded with
    filler pieces so that every id of the real-size head is a token, the InternVL tokens last."""

    def test_covers_the_head_and_encodes_as_before(self):
        import sentencepiece as spm
        from fixtures import tiny_tokenizer
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        plain_dir = os.path.join(tmp, "plain")
        tiny_tokenizer.write_tokenizer(plain_dir)
        plain = spm.SentencePieceProcessor(model_file=os.path.join(plain_dir, "tokenizer.model"))
        texts = tiny_tokenizer.corpus_lines(1500, seed=99) + [
            "Question: 㐀 in 䶵?\nA. car\nB. 㐀㐁", " ▁㐀x", "x㐀㐁y 㐀㐀", "\u2581\u3400\u3400"]
        # 1B (Qwen2), 4B (Phi-3), 8B (InternLM2), 76B (Llama 3)
        for name in ("InternVL2-1B", "InternVL2-4B", "InternVL2-8B", "InternVL2-Llama3-76B"):
            vocab = P.preset_config(name)["llm_config"]["vocab_size"]
            out = os.path.join(tmp, name)
            ids = tiny_tokenizer.write_tokenizer(out, total_vocab=vocab)
            sp = spm.SentencePieceProcessor(model_file=os.path.join(out, "tokenizer.model"))
            n = len(tiny_tokenizer.INTERNVL_TOKENS)
            self.assertEqual(sp.get_piece_size(), vocab - n, name)
            self.assertEqual(ids["<img>"], vocab - n, name)
            self.assertEqual(max(ids.values()), vocab - 1, name)
            with open(os.path.join(out, "added_tokens.json")) as f:
                self.assertEqual(sorted(json.load(f).values()), list(range(vocab - n, vocab)))
            for i in range(sp.get_piece_size()):
                sp.decode([i])  # every id decodes
            self.assertEqual(sp.decode([1000, 1001]), "\u3400\u3400 \u3400\u3401")
            for t in texts:
                self.assertEqual(sp.encode(t), plain.encode(t), (name, t))

    def test_tiny_tokenizer_unchanged(self):
        from fixtures import tiny_tokenizer
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        tiny_tokenizer.write_tokenizer(a)
        tiny_tokenizer.write_tokenizer(b, total_vocab=1009)  # nothing to pad
        for f in ("tokenizer_config.json", "added_tokens.json"):
            with open(os.path.join(a, f), "rb") as x, open(os.path.join(b, f), "rb") as y:
                self.assertEqual(x.read(), y.read(), f)


if __name__ == "__main__":
    unittest.main()
