"""config.json of every published InternVL2 size, in the original OpenGVLab layout (top-level
InternVLChatConfig fields, llm_config, vision_config, template), so the exporter's --config-only
mode can size the real models without downloading them.

Values from /work/shared/reference/internvl2-architecture.md §2.3 (ViT variants) and §3.1 (LLMs);
the "vocab (ckpt)" column is the checkpoint's resized vocabulary, not the base LLM's. Provenance per
size as in §3.1: 8B and 26B verified against the full llm_config; 1B/4B/40B/76B from the base LLM's
config; 40B (64007) and 76B (128265) vocab sizes unverified (only the embedding/head bytes depend
on them). The 4B LongRoPE factor lists are those of Phi-3-mini-128k-instruct (type "su").

Usage (from scripts/): python3 -m internvl2_export.presets --out DIR [--export]
  writes DIR/<name>/config.json for every preset; with --export also runs
  export_internvl2.py --config-only --dtype bfloat16 into DIR/<name>/ (manifest.json).
"""
import argparse
import copy
import json
import os
import sys

PRESET_NAMES = ["InternVL2-1B", "InternVL2-2B", "InternVL2-4B", "InternVL2-8B", "InternVL2-26B",
                "InternVL2-40B", "InternVL2-Llama3-76B"]

_INTERNVL_AUTO_MAP = {
    "AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
    "AutoModel": "modeling_internvl_chat.InternVLChatModel",
    "AutoModelForCausalLM": "modeling_internvl_chat.InternVLChatModel",
}

# ---- InternViT (§2.3) --------------------------------------------------------------------------
_VIT_COMMON = {
    "architectures": ["InternVisionModel"], "model_type": "intern_vit_6b",
    "auto_map": {"AutoConfig": "configuration_intern_vit.InternVisionConfig",
                 "AutoModel": "modeling_intern_vit.InternVisionModel"},
    "image_size": 448, "patch_size": 14, "num_channels": 3, "hidden_act": "gelu",
    "layer_norm_eps": 1e-6, "attention_dropout": 0.0, "dropout": 0.0, "drop_path_rate": 0.0,
    "initializer_range": 0.02, "use_flash_attn": True, "torch_dtype": "bfloat16",
}
VIT_300M = dict(_VIT_COMMON, **{
    "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
    "intermediate_size": 4096, "norm_type": "layer_norm", "qk_normalization": False,
    "qkv_bias": True, "initializer_factor": 1.0,
})
VIT_6B = dict(_VIT_COMMON, **{
    # InternViT-6B-448px-V1-5 with the last 3 of its 48 layers dropped
    "hidden_size": 3200, "num_hidden_layers": 45, "num_attention_heads": 25,
    "intermediate_size": 12800, "norm_type": "rms_norm", "qk_normalization": True,
    "qkv_bias": False, "initializer_factor": 0.1,
})

# ---- language models (§3.1) --------------------------------------------------------------------
_INTERNLM2_AUTO_MAP = {
    "AutoConfig": "configuration_internlm2.InternLM2Config",
    "AutoModel": "modeling_internlm2.InternLM2ForCausalLM",
    "AutoModelForCausalLM": "modeling_internlm2.InternLM2ForCausalLM",
}


def _internlm2(name_or_path, hidden, layers, heads, kv, inter, factor):
    return {
        "_name_or_path": name_or_path, "architectures": ["InternLM2ForCausalLM"],
        "model_type": "internlm2", "auto_map": _INTERNLM2_AUTO_MAP,
        "attn_implementation": "flash_attention_2", "bias": False,
        "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
        "num_key_value_heads": kv, "intermediate_size": inter, "vocab_size": 92553,
        "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 1000000,
        "rope_scaling": {"type": "dynamic", "factor": factor},
        "max_position_embeddings": 32768, "initializer_range": 0.02,
        "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2,
    }


def _llama(name_or_path, hidden, layers, heads, kv, inter, vocab, theta, max_pos, bos, eos,
           pad):
    return {
        "_name_or_path": name_or_path, "architectures": ["LlamaForCausalLM"],
        "model_type": "llama", "attention_bias": False, "mlp_bias": False,
        "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
        "num_key_value_heads": kv, "intermediate_size": inter,
        "vocab_size": vocab, "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": theta,
        "rope_scaling": None, "max_position_embeddings": max_pos, "pretraining_tp": 1,
        "initializer_range": 0.02, "bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad,
    }  # pad None: not set in the base config


QWEN2_0_5B = {
    "_name_or_path": "Qwen/Qwen2-0.5B-Instruct", "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2", "hidden_size": 896, "num_hidden_layers": 24,
    "num_attention_heads": 14, "num_key_value_heads": 2, "intermediate_size": 4864,
    "vocab_size": 151655, "hidden_act": "silu", "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
    "rope_scaling": None, "max_position_embeddings": 32768, "max_window_layers": 24,
    "use_sliding_window": False, "sliding_window": 32768, "attention_dropout": 0.0,
    "initializer_range": 0.02, "bos_token_id": 151643, "eos_token_id": 151645,
}

# Phi-3-mini-128k-instruct LongRoPE: 48 = head_dim / 2 factors per regime.
_PHI3_LONG_FACTOR = [
    1.0299999713897705, 1.0499999523162842, 1.0499999523162842, 1.0799999237060547,
    1.2299998998641968, 1.2299998998641968, 1.2999999523162842, 1.4499999284744263,
    1.5999999046325684, 1.6499998569488525, 1.8999998569488525, 2.859999895095825,
    3.68999981880188, 5.419999599456787, 5.489999771118164, 5.489999771118164,
    9.09000015258789, 11.579999923706055, 15.65999984741211, 15.769999504089355,
    15.789999961853027, 18.360000610351562, 21.989999771118164, 23.079999923706055,
    30.009998321533203, 32.35000228881836, 32.590003967285156, 35.56000518798828,
    39.95000457763672, 53.840003967285156, 56.20000457763672, 57.95000457763672,
    59.29000473022461, 59.77000427246094, 59.920005798339844, 61.190006256103516,
    61.96000671386719, 62.50000762939453, 63.3700065612793, 63.48000717163086,
    63.48000717163086, 63.66000747680664, 63.850006103515625, 64.08000946044922,
    64.760009765625, 64.80001068115234, 64.81001281738281, 64.81001281738281,
]
_PHI3_SHORT_FACTOR = (
    [1.05, 1.05, 1.05, 1.1, 1.1, 1.1, 1.2500000000000002, 1.2500000000000002,
     1.4000000000000004, 1.4500000000000004, 1.5500000000000005, 1.8500000000000008,
     1.9000000000000008] + [2.000000000000001] * 19 +
    [2.1000000000000005, 2.1000000000000005, 2.2, 2.3499999999999996, 2.3499999999999996,
     2.3499999999999996, 2.3499999999999996, 2.3999999999999995, 2.3999999999999995,
     2.6499999999999986, 2.6999999999999984, 2.8999999999999977, 2.9499999999999975,
     3.049999999999997, 3.049999999999997, 3.049999999999997])

PHI3_MINI_128K = {
    "_name_or_path": "microsoft/Phi-3-mini-128k-instruct", "architectures": ["Phi3ForCausalLM"],
    "model_type": "phi3",
    "auto_map": {"AutoConfig": "configuration_phi3.Phi3Config",
                 "AutoModelForCausalLM": "modeling_phi3.Phi3ForCausalLM"},
    "hidden_size": 3072, "num_hidden_layers": 32, "num_attention_heads": 32,
    "num_key_value_heads": 32, "intermediate_size": 8192, "vocab_size": 32020,
    "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
    "rope_scaling": {"type": "su", "long_factor": _PHI3_LONG_FACTOR,
                     "short_factor": _PHI3_SHORT_FACTOR},
    "max_position_embeddings": 131072, "original_max_position_embeddings": 4096,
    "sliding_window": 262144, "attention_dropout": 0.0, "embd_pdrop": 0.0, "resid_pdrop": 0.0,
    "initializer_range": 0.02, "bos_token_id": 1, "eos_token_id": 32000, "pad_token_id": 32000,
}

# name: (llm_config, vision_config, template)
_PRESETS = {
    "InternVL2-1B": (QWEN2_0_5B, VIT_300M, "Hermes-2"),
    "InternVL2-2B": (_internlm2("internlm/internlm2-chat-1_8b", 2048, 24, 16, 8, 8192, 2.0),
                     VIT_300M, "internlm2-chat"),
    "InternVL2-4B": (PHI3_MINI_128K, VIT_300M, "phi3-chat"),
    "InternVL2-8B": (_internlm2("internlm/internlm2_5-7b-chat", 4096, 32, 32, 8, 14336, 2.0),
                     VIT_300M, "internlm2-chat"),
    "InternVL2-26B": (_internlm2("internlm/internlm2-chat-20b", 6144, 48, 48, 8, 16384, 3.0),
                      VIT_6B, "internlm2-chat"),
    "InternVL2-40B": (_llama("NousResearch/Nous-Hermes-2-Yi-34B", 7168, 60, 56, 8, 20480, 64007,
                             5000000.0, 4096, 1, 7, 0), VIT_6B, "Hermes-2"),
    "InternVL2-Llama3-76B": (_llama("NousResearch/Hermes-2-Theta-Llama-3-70B", 8192, 80, 64, 8,
                                    28672, 128265, 500000.0, 8192, 128000, 128003, None),
                             VIT_6B, "internlm2-chat"),
}
assert list(_PRESETS) == PRESET_NAMES


def preset_config(name, llm_layers=None):
    """config.json (dict, a fresh copy) of preset `name`; llm_layers overrides the LLM's
    num_hidden_layers (a shallower model of the same shapes)."""
    if name not in _PRESETS:
        raise KeyError("unknown InternVL2 preset %r (known: %s)" % (name, ", ".join(PRESET_NAMES)))
    llm, vision, template = _PRESETS[name]
    llm = copy.deepcopy(llm)
    llm.update({"tie_word_embeddings": False, "use_cache": True, "torch_dtype": "bfloat16"})
    if llm_layers is not None:
        llm["num_hidden_layers"] = int(llm_layers)
        if "max_window_layers" in llm:
            llm["max_window_layers"] = int(llm_layers)
    return {
        "_commit_hash": None, "architectures": ["InternVLChatModel"],
        "model_type": "internvl_chat", "auto_map": dict(_INTERNVL_AUTO_MAP),
        "template": template, "downsample_ratio": 0.5, "force_image_size": 448,
        "ps_version": "v2", "select_layer": -1, "dynamic_image_size": True,
        "use_thumbnail": True, "min_dynamic_patch": 1, "max_dynamic_patch": 12,
        "use_backbone_lora": 0, "use_llm_lora": 0, "torch_dtype": "bfloat16",
        "llm_config": llm, "vision_config": copy.deepcopy(vision),
    }


def write_config(name, folder, llm_layers=None):
    """Write folder/config.json of preset `name` (atomically); returns its path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "config.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(preset_config(name, llm_layers), f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for <name>/config.json")
    ap.add_argument("--export", action="store_true",
                    help="also write <name>/manifest.json (export_internvl2.py --config-only "
                         "--dtype bfloat16)")
    ap.add_argument("--names", nargs="*", default=PRESET_NAMES, help="presets (default: all)")
    args = ap.parse_args(argv)
    if args.export:
        from . import exporter as export_internvl2  # torch import only when exporting
    for name in args.names:
        folder = os.path.join(args.out, name)
        write_config(name, folder)
        if args.export:
            rc = export_internvl2.main(["--checkpoint", folder, "--out", folder, "--config-only",
                                        "--dtype", "bfloat16", "--name", name])
            if rc:
                return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
