#!/usr/bin/env python3
"""Write a tiny random InternVL2 checkpoint in the original OpenGVLab layout.

OUT gets config.json (InternVLChatModel layout, llm_config + vision_config), the weights under their
original parameter names in model.safetensors (or N shards + model.safetensors.index.json), and the
tokenizer files of scripts/tiny_tokenizer.py. Weights are drawn from numpy's legacy RandomState, so
the same seed gives the same bytes on every machine and torch version.

Variants: --family (alias --llm-arch) internlm2 (default; InternVL2-2B/8B/26B layout) | llama
(40B, 76B) | qwen2 (1B; q/k/v biases) | phi3 (4B; packed qkv_proj and gate_up_proj, LongRoPE "su"
with short/long factors), and --vit (alias --vision-variant) 300m (LayerNorm, qkv bias; default) |
6b (RMSNorm, qk-norm over the full width, no qkv bias). --tie-embeddings writes no head tensor and
llm_config.tie_word_embeddings = true (the head then shares the embedding). Tiny models of every
family keep the sentencepiece tokenizer of tiny_tokenizer.py and so a template whose separator is
one of its tokens (<|im_end|>: internlm2-chat, or Hermes-2 for qwen2/llama), also for phi3.

--preset NAME [--layers N]: random weights of a real size (internvl2_presets), for benchmarks.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import tiny_tokenizer  # noqa: E402

SP_VOCAB = 1000
VOCAB = SP_VOCAB + len(tiny_tokenizer.INTERNVL_TOKENS)  # 1009: sentencepiece + 9 added tokens


def make_config(args):
    v_hidden, l_hidden = 64, 64
    template = "internlm2-chat"
    vision = {
        "architectures": ["InternVisionModel"], "model_type": "intern_vit_6b",
        "hidden_size": v_hidden, "num_hidden_layers": args.vision_layers,
        "num_attention_heads": 4, "intermediate_size": 128, "image_size": 448, "patch_size": 14,
        "num_channels": 3, "hidden_act": "gelu", "layer_norm_eps": 1e-6,
        "attention_dropout": 0.0, "dropout": 0.0, "drop_path_rate": 0.0,
        "initializer_factor": 1.0, "initializer_range": 0.02, "use_flash_attn": False,
        "torch_dtype": args.dtype,
    }
    if args.vision_variant == "300m":
        vision.update(norm_type="layer_norm", qk_normalization=False, qkv_bias=True)
    else:
        vision.update(norm_type="rms_norm", qk_normalization=True, qkv_bias=False)
    llm = {
        "hidden_size": l_hidden, "num_hidden_layers": args.llm_layers,
        "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
        "vocab_size": VOCAB, "max_position_embeddings": 32768, "hidden_act": "silu",
        "initializer_range": 0.02, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2,
        "tie_word_embeddings": False, "use_cache": True, "torch_dtype": args.dtype,
    }
    if args.llm_arch == "internlm2":
        llm.update({
            "architectures": ["InternLM2ForCausalLM"], "model_type": "internlm2",
            "attn_implementation": "eager", "bias": False, "rms_norm_eps": 1e-5,
            "rope_theta": 1000000, "rope_scaling": {"type": "dynamic", "factor": 2.0},
            "auto_map": {"AutoConfig": "configuration_internlm2.InternLM2Config",
                         "AutoModel": "modeling_internlm2.InternLM2ForCausalLM",
                         "AutoModelForCausalLM": "modeling_internlm2.InternLM2ForCausalLM"},
        })
    elif args.llm_arch == "llama":
        llm.update({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                    "attention_bias": False, "mlp_bias": False, "rms_norm_eps": 1e-5,
                    "rope_theta": 500000.0, "rope_scaling": None})
        template = "Hermes-2"
    elif args.llm_arch == "phi3":
        hd = l_hidden // llm["num_attention_heads"]
        rng = np.random.RandomState(args.seed + 101)
        # LongRoPE factors of the real shape (>= 1, rising with the frequency index)
        short = np.sort(1.0 + rng.uniform(0, 2, hd // 2)).round(4).tolist()
        long_ = np.sort(1.0 + rng.uniform(0, 60, hd // 2)).round(4).tolist()
        llm.update({"architectures": ["Phi3ForCausalLM"], "model_type": "phi3",
                    "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                    "rope_scaling": {"type": "su", "short_factor": short, "long_factor": long_},
                    "max_position_embeddings": 8192,
                    "original_max_position_embeddings": args.original_max,
                    "sliding_window": 8192, "embd_pdrop": 0.0, "resid_pdrop": 0.0,
                    "attention_dropout": 0.0, "pad_token_id": 2})
    else:
        llm.update({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
                    "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_scaling": None,
                    "use_sliding_window": False, "sliding_window": 32768})
        template = "Hermes-2"
    if args.tie_embeddings:
        llm["tie_word_embeddings"] = True
    return {
        "architectures": ["InternVLChatModel"], "model_type": "internvl_chat",
        "auto_map": {"AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
                     "AutoModel": "modeling_internvl_chat.InternVLChatModel",
                     "AutoModelForCausalLM": "modeling_internvl_chat.InternVLChatModel"},
        "template": template, "downsample_ratio": 0.5, "force_image_size": 448,
        "ps_version": "v2", "select_layer": -1, "dynamic_image_size": True,
        "use_thumbnail": True, "min_dynamic_patch": 1, "max_dynamic_patch": 12,
        "use_backbone_lora": 0, "use_llm_lora": 0, "torch_dtype": args.dtype,
        "llm_config": llm, "vision_config": vision,
    }


class _Init:
    """Deterministic draws: normal(std), ones-ish scales, uniform layer scales."""

    def __init__(self, seed):
        self.rng = np.random.RandomState(seed)

    def normal(self, *shape, std=0.2):
        return torch.from_numpy(self.rng.standard_normal(shape).astype(np.float32) * std)

    def scale(self, n):  # norm weights: around one, never all ones
        return torch.from_numpy((1.0 + 0.25 * self.rng.standard_normal(n)).astype(np.float32))

    def uniform(self, n, lo, hi):
        return torch.from_numpy(self.rng.uniform(lo, hi, n).astype(np.float32))


class _FastInit:
    """Draws for real-size presets: torch's RNG (fast, multi-threaded), std 0.02, stored in `dtype`.
    For benchmarks and placement runs of real shapes, not for reference tests (use _Init there)."""

    def __init__(self, seed, dtype):
        self.gen = torch.Generator().manual_seed(seed)
        self.dtype = dtype

    def normal(self, *shape, std=0.2):
        return (torch.randn(*shape, generator=self.gen) * 0.02).to(self.dtype)

    def scale(self, n):
        return (1.0 + 0.1 * torch.randn(n, generator=self.gen)).to(self.dtype)

    def uniform(self, n, lo, hi):
        return torch.empty(n).uniform_(lo, hi, generator=self.gen).to(self.dtype)


def make_weights(cfg, seed, rnd=None):
    rnd = rnd or _Init(seed)
    w = {}
    vc, lc = cfg["vision_config"], cfg["llm_config"]
    C, I = vc["hidden_size"], vc["intermediate_size"]
    grid = (vc["image_size"] // vc["patch_size"]) ** 2
    p = "vision_model.embeddings."
    w[p + "class_embedding"] = rnd.normal(1, 1, C)
    w[p + "patch_embedding.weight"] = rnd.normal(C, 3, vc["patch_size"], vc["patch_size"],
                                                 std=0.05)
    w[p + "patch_embedding.bias"] = rnd.normal(C)
    w[p + "position_embedding"] = rnd.normal(1, grid + 1, C)
    layer_norm = vc["norm_type"] == "layer_norm"
    for i in range(vc["num_hidden_layers"]):
        p = "vision_model.encoder.layers.%d." % i
        for n in ("norm1", "norm2"):
            w[p + n + ".weight"] = rnd.scale(C)
            if layer_norm:
                w[p + n + ".bias"] = rnd.normal(C)
        w[p + "attn.qkv.weight"] = rnd.normal(3 * C, C)
        if vc["qkv_bias"]:
            w[p + "attn.qkv.bias"] = rnd.normal(3 * C)
        if vc["qk_normalization"]:
            w[p + "attn.q_norm.weight"] = rnd.scale(C)
            w[p + "attn.k_norm.weight"] = rnd.scale(C)
        w[p + "attn.proj.weight"] = rnd.normal(C, C)
        w[p + "attn.proj.bias"] = rnd.normal(C)
        w[p + "mlp.fc1.weight"] = rnd.normal(I, C)
        w[p + "mlp.fc1.bias"] = rnd.normal(I)
        w[p + "mlp.fc2.weight"] = rnd.normal(C, I, std=0.1)
        w[p + "mlp.fc2.bias"] = rnd.normal(C)
        w[p + "ls1"] = rnd.uniform(C, 0.3, 1.2)
        w[p + "ls2"] = rnd.uniform(C, 0.3, 1.2)

    H, V, Il = lc["hidden_size"], lc["vocab_size"], lc["intermediate_size"]
    nh, nkv = lc["num_attention_heads"], lc["num_key_value_heads"]
    hd = H // nh
    C4 = int(C / cfg["downsample_ratio"] ** 2)
    w["mlp1.0.weight"] = rnd.scale(C4)
    w["mlp1.0.bias"] = rnd.normal(C4)
    w["mlp1.1.weight"] = rnd.normal(H, C4, std=0.1)
    w["mlp1.1.bias"] = rnd.normal(H)
    w["mlp1.3.weight"] = rnd.normal(H, H)
    w["mlp1.3.bias"] = rnd.normal(H)

    arch = lc["architectures"][0]
    if arch == "InternLM2ForCausalLM":
        w["language_model.model.tok_embeddings.weight"] = rnd.normal(V, H, std=1.0)
        for i in range(lc["num_hidden_layers"]):
            p = "language_model.model.layers.%d." % i
            w[p + "attention_norm.weight"] = rnd.scale(H)
            # packed per kv head g: [q_{gG}..q_{gG+G-1} | k_g | v_g], hd rows each
            w[p + "attention.wqkv.weight"] = rnd.normal((nh + 2 * nkv) * hd, H)
            w[p + "attention.wo.weight"] = rnd.normal(H, nh * hd)
            w[p + "ffn_norm.weight"] = rnd.scale(H)
            w[p + "feed_forward.w1.weight"] = rnd.normal(Il, H)
            w[p + "feed_forward.w3.weight"] = rnd.normal(Il, H)
            w[p + "feed_forward.w2.weight"] = rnd.normal(H, Il, std=0.1)
        w["language_model.model.norm.weight"] = rnd.scale(H)
        w["language_model.output.weight"] = rnd.normal(V, H)
    elif arch == "Phi3ForCausalLM":
        w["language_model.model.embed_tokens.weight"] = rnd.normal(V, H, std=1.0)
        for i in range(lc["num_hidden_layers"]):
            p = "language_model.model.layers.%d." % i
            w[p + "input_layernorm.weight"] = rnd.scale(H)
            w[p + "self_attn.qkv_proj.weight"] = rnd.normal((nh + 2 * nkv) * hd, H)  # [q | k | v]
            w[p + "self_attn.o_proj.weight"] = rnd.normal(H, nh * hd)
            w[p + "post_attention_layernorm.weight"] = rnd.scale(H)
            w[p + "mlp.gate_up_proj.weight"] = rnd.normal(2 * Il, H)  # [gate | up]
            w[p + "mlp.down_proj.weight"] = rnd.normal(H, Il, std=0.1)
        w["language_model.model.norm.weight"] = rnd.scale(H)
        w["language_model.lm_head.weight"] = rnd.normal(V, H)
    else:
        w["language_model.model.embed_tokens.weight"] = rnd.normal(V, H, std=1.0)
        for i in range(lc["num_hidden_layers"]):
            p = "language_model.model.layers.%d." % i
            w[p + "input_layernorm.weight"] = rnd.scale(H)
            w[p + "self_attn.q_proj.weight"] = rnd.normal(nh * hd, H)
            w[p + "self_attn.k_proj.weight"] = rnd.normal(nkv * hd, H)
            w[p + "self_attn.v_proj.weight"] = rnd.normal(nkv * hd, H)
            if arch == "Qwen2ForCausalLM":
                w[p + "self_attn.q_proj.bias"] = rnd.normal(nh * hd)
                w[p + "self_attn.k_proj.bias"] = rnd.normal(nkv * hd)
                w[p + "self_attn.v_proj.bias"] = rnd.normal(nkv * hd)
            w[p + "self_attn.o_proj.weight"] = rnd.normal(H, nh * hd)
            w[p + "post_attention_layernorm.weight"] = rnd.scale(H)
            w[p + "mlp.gate_proj.weight"] = rnd.normal(Il, H)
            w[p + "mlp.up_proj.weight"] = rnd.normal(Il, H)
            w[p + "mlp.down_proj.weight"] = rnd.normal(H, Il, std=0.1)
        w["language_model.model.norm.weight"] = rnd.scale(H)
        w["language_model.lm_head.weight"] = rnd.normal(V, H)
    if lc.get("tie_word_embeddings"):
        w.pop("language_model.lm_head.weight", None)
        w.pop("language_model.output.weight", None)
    return w


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="checkpoint folder to write")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    ap.add_argument("--shards", type=int, default=1, help="1: model.safetensors; N: N shards")
    ap.add_argument("--llm-layers", "--layers", type=int, default=None,
                    help="decoder layers (tiny: 3; --preset: the preset's own unless given)")
    ap.add_argument("--preset", default=None,
                    help="write random weights of a real size instead (internvl2_presets names, "
                         "e.g. InternVL2-8B); with --llm-layers N, only the first N layers")
    ap.add_argument("--vision-layers", type=int, default=2, help="InternViT layers")
    ap.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                    help="stored dtype of the weights")
    ap.add_argument("--family", "--llm-arch", dest="llm_arch",
                    choices=["internlm2", "llama", "qwen2", "phi3"], default="internlm2",
                    help="language-model family of a tiny checkpoint")
    ap.add_argument("--vit", "--vision-variant", dest="vision_variant", choices=["300m", "6b"],
                    default="300m", help="InternViT variant of a tiny checkpoint")
    ap.add_argument("--tie-embeddings", action="store_true",
                    help="tiny: no head tensor, llm_config.tie_word_embeddings = true")
    ap.add_argument("--original-max", type=int, default=4096,
                    help="tiny phi3: original_max_position_embeddings (the LongRoPE threshold)")
    args = ap.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    if args.preset:
        import internvl2_presets
        cfg = internvl2_presets.preset_config(args.preset, llm_layers=args.llm_layers)
        dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(args.dtype,
                                                                            torch.float32)
        weights = make_weights(cfg, args.seed, _FastInit(args.seed, dtype))
        # padded so that every id of the real-size head is a token (added tokens at the end)
        ids = tiny_tokenizer.write_tokenizer(args.out, SP_VOCAB,
                                             total_vocab=cfg["llm_config"]["vocab_size"])
        assert max(ids.values()) == cfg["llm_config"]["vocab_size"] - 1, ids
    else:
        if args.llm_layers is None:
            args.llm_layers = 3
        cfg = make_config(args)
        weights = make_weights(cfg, args.seed)
        if args.dtype != "float32":
            weights = {k: v.to(getattr(torch, args.dtype)) for k, v in weights.items()}
        ids = tiny_tokenizer.write_tokenizer(args.out, SP_VOCAB)
        assert max(ids.values()) == VOCAB - 1, ids
    safetensors_io.save_checkpoint(weights, args.out, shards=args.shards)
    with open(os.path.join(args.out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
