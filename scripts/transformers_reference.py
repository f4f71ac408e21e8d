#!/usr/bin/env python3
"""Reference logits from transformers' own InternVL implementation, for checking this project's
runtime against code nobody on the team wrote.

Loads an InternVL2 checkpoint in the original OpenGVLab layout (config.json + safetensors, as
scripts/make_tiny_checkpoint.py and the published checkpoints have it) into
transformers.InternVLForConditionalGeneration, mapping the weights the way transformers' own
models/internvl/convert_internvl_weights_to_hf.py does (vision qkv split into q/k/v, ls1/ls2 ->
lambda_1/lambda_2, mlp1.{0,1,3} -> multi_modal_projector, InternLM2's packed wqkv split per kv
group), then runs the cases of an export's golden.json (the same input ids and the same golden
pixel pattern) greedily and writes the result in golden.json's format, so that

    generate --model-dir EXPORT --golden OUT.json --device cuda

compares the runtime with transformers step by step.

Needs transformers >= 4.52 (InternVLForConditionalGeneration); the GPU machine has it, Debian's
python3 here does not.
"""
import argparse
import json
import os
import re
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import Checkpoint  # noqa: E402


def golden_pixels(n, size):
    i = torch.arange(n * 3 * size * size, dtype=torch.int64)
    return (((i * 7919) % 2003).to(torch.float32) / 1001.5 - 1.0).reshape(n, 3, size, size)


def _rope_kw(llm):
    return llm.get("rope_theta", 10000.0)


def text_config(llm):
    """A transformers text config (Qwen2Config or LlamaConfig) from the checkpoint's llm_config."""
    import transformers

    arch = (llm.get("architectures") or ["?"])[0]
    common = dict(
        vocab_size=llm["vocab_size"], hidden_size=llm["hidden_size"],
        intermediate_size=llm["intermediate_size"], num_hidden_layers=llm["num_hidden_layers"],
        num_attention_heads=llm["num_attention_heads"],
        num_key_value_heads=llm.get("num_key_value_heads", llm["num_attention_heads"]),
        max_position_embeddings=llm.get("max_position_embeddings", 32768),
        rms_norm_eps=llm.get("rms_norm_eps", 1e-6),
        tie_word_embeddings=bool(llm.get("tie_word_embeddings", False)),
    )
    if arch == "Qwen2ForCausalLM":
        cls, kind = transformers.Qwen2Config, "qwen2"
    elif arch in ("LlamaForCausalLM", "InternLM2ForCausalLM"):
        cls, kind = transformers.LlamaConfig, "llama"
        common["attention_bias"] = bool(llm.get("bias", False)) if arch == "InternLM2ForCausalLM" \
            else bool(llm.get("attention_bias", False))
    else:
        raise SystemExit("transformers_reference: language model %s is not one transformers' "
                         "InternVL maps (Qwen2, Llama, InternLM2 as Llama)" % arch)
    theta = _rope_kw(llm)
    rope = {"rope_type": "default", "rope_theta": theta}
    scaling = llm.get("rope_scaling")
    if scaling:
        # InternLM2's dynamic NTK (InternVL2-2B/8B/26B) is transformers' "dynamic" rope: both
        # rescale the base only for sequences longer than max_position_embeddings.
        if scaling.get("type", scaling.get("rope_type")) != "dynamic":
            raise SystemExit("transformers_reference: rope_scaling %r not mapped" % scaling)
        rope = {"rope_type": "dynamic", "factor": float(scaling["factor"]), "rope_theta": theta}
    try:  # transformers 5: rope parameters in one dict
        cfg = cls(**common, rope_parameters=rope)
    except TypeError:
        legacy = {"rope_theta": theta}
        if scaling:
            legacy["rope_scaling"] = {"type": "dynamic", "factor": rope["factor"]}
        cfg = cls(**common, **legacy)
    return cfg, kind, arch


def internvl_config(ckpt_cfg, img_context_id):
    import transformers

    vc = ckpt_cfg["vision_config"]
    tcfg, kind, arch = text_config(ckpt_cfg["llm_config"])
    vis = transformers.InternVLVisionConfig(
        hidden_size=vc["hidden_size"], num_hidden_layers=vc["num_hidden_layers"],
        num_attention_heads=vc["num_attention_heads"], intermediate_size=vc["intermediate_size"],
        attention_bias=bool(vc.get("qkv_bias", True)),
        use_qk_norm=bool(vc.get("qk_normalization", False)),
        norm_type=vc.get("norm_type", "layer_norm"), layer_norm_eps=vc.get("layer_norm_eps", 1e-6),
        image_size=vc.get("image_size", 448), patch_size=vc.get("patch_size", 14),
        hidden_act=vc.get("hidden_act", "gelu"), use_absolute_position_embeddings=True,
        use_mean_pooling=True)
    cfg = transformers.InternVLConfig(
        vision_config=vis, text_config=tcfg, image_token_id=img_context_id,
        image_seq_length=int((vc.get("image_size", 448) // vc.get("patch_size", 14)) ** 2
                             * ckpt_cfg.get("downsample_ratio", 0.5) ** 2),
        downsample_ratio=ckpt_cfg.get("downsample_ratio", 0.5), projector_hidden_act="gelu",
        vision_feature_layer=ckpt_cfg.get("select_layer", -1),
        vision_feature_select_strategy="default",
        tie_word_embeddings=bool(ckpt_cfg["llm_config"].get("tie_word_embeddings", False)))
    return cfg, kind, arch


VISION_RULES = [
    (r"^vision_model\.", "vision_tower."),
    (r"\.layers\.", ".layer."),
    (r"class_embedding$", "cls_token"),
    (r"position_embedding$", "position_embeddings"),
    (r"patch_embedding\.", "patch_embeddings.projection."),
    (r"\.ls(\d)$", r".lambda_\1"),
    (r"\.attn\.proj\.", ".attention.projection_layer."),
    (r"\.attn\.", ".attention."),
    (r"\.norm1\.", ".layernorm_before."),
    (r"\.norm2\.", ".layernorm_after."),
]
INTERNLM2_RULES = [
    (r"\.tok_embeddings\.", ".embed_tokens."),
    (r"\.attention\.wo\.", ".self_attn.o_proj."),
    (r"\.feed_forward\.w1\.", ".mlp.gate_proj."),
    (r"\.feed_forward\.w2\.", ".mlp.down_proj."),
    (r"\.feed_forward\.w3\.", ".mlp.up_proj."),
    (r"\.attention_norm\.", ".input_layernorm."),
    (r"\.ffn_norm\.", ".post_attention_layernorm."),
]


def convert(tensors, cfg, arch):
    """OpenGVLab names -> transformers InternVL names (without the model-level prefix)."""
    out = {}
    vdim = cfg.vision_config.hidden_size
    t = cfg.text_config
    for name, w in tensors.items():
        if name.startswith("vision_model."):
            new = name
            for pat, rep in VISION_RULES:
                new = re.sub(pat, rep, new)
            if ".attention.qkv." in new:
                for part, sl in (("q", slice(0, vdim)), ("k", slice(vdim, 2 * vdim)),
                                 ("v", slice(2 * vdim, 3 * vdim))):
                    out[new.replace(".attention.qkv.", ".attention.%s_proj." % part)] = w[sl]
            else:
                out[new] = w
        elif name.startswith("mlp1."):
            new = name.replace("mlp1.0.", "multi_modal_projector.layer_norm.")
            new = new.replace("mlp1.1.", "multi_modal_projector.linear_1.")
            new = new.replace("mlp1.3.", "multi_modal_projector.linear_2.")
            out[new] = w
        elif name.startswith("language_model."):
            if name in ("language_model.lm_head.weight", "language_model.output.weight"):
                out["lm_head.weight"] = w
                continue
            new = name.replace("language_model.model.", "language_model.", 1)
            if arch == "InternLM2ForCausalLM":
                for pat, rep in INTERNLM2_RULES:
                    new = re.sub(pat, rep, new)
                if ".attention.wqkv." in new:
                    g = t.num_attention_heads // t.num_key_value_heads
                    hd = t.hidden_size // t.num_attention_heads
                    v = w.reshape(t.num_key_value_heads, g + 2, hd, -1)
                    base = new.replace(".attention.wqkv.", ".self_attn.%s_proj.")
                    out[base % "q"] = v[:, :g].reshape(-1, v.shape[-1]).contiguous()
                    out[base % "k"] = v[:, g].reshape(-1, v.shape[-1]).contiguous()
                    out[base % "v"] = v[:, g + 1].reshape(-1, v.shape[-1]).contiguous()
                    continue
            out[new] = w
        else:
            raise SystemExit("transformers_reference: unexpected checkpoint tensor " + name)
    return out


def load_hf_model(checkpoint, img_context_id, dtype, attn, device):
    import transformers

    with open(os.path.join(checkpoint, "config.json")) as f:
        ckpt_cfg = json.load(f)
    cfg, kind, arch = internvl_config(ckpt_cfg, img_context_id)
    cfg._attn_implementation = attn
    cfg.text_config._attn_implementation = attn
    cfg.vision_config._attn_implementation = attn
    # Built on the target device in the target dtype (random init, then overwritten below).
    with torch.device(device):
        try:
            model = transformers.InternVLForConditionalGeneration._from_config(cfg, dtype=dtype)
        except TypeError:
            model = transformers.InternVLForConditionalGeneration._from_config(cfg,
                                                                               torch_dtype=dtype)
    expected = set(model.state_dict().keys())
    prefix = "model." if any(k.startswith("model.vision_tower.") for k in expected) else ""
    converted = {}
    ckpt = Checkpoint(checkpoint)
    for k, w in convert({name: ckpt.get(name) for name in ckpt.keys()}, cfg, arch).items():
        converted[k if k == "lm_head.weight" else prefix + k] = w.to(dtype)
    if cfg.tie_word_embeddings:
        converted.pop("lm_head.weight", None)
    missing = sorted(expected - set(converted) - ({"lm_head.weight"} if cfg.tie_word_embeddings
                                                  else set()))
    unexpected = sorted(set(converted) - expected)
    if missing or unexpected:
        raise SystemExit("transformers_reference: weight mapping incomplete: missing %s, "
                         "unexpected %s" % (missing[:8], unexpected[:8]))
    model.load_state_dict(converted, strict=False)
    if cfg.tie_word_embeddings:
        model.tie_weights()
    model = model.eval()
    return model, cfg, kind


@torch.inference_mode()
def greedy_case(model, case, image_size, dtype, device, steps):
    ids = torch.tensor([case["input_ids"]], dtype=torch.int64, device=device)
    n = case.get("num_tiles", 0)
    pv = golden_pixels(n, image_size).to(device=device, dtype=dtype) if n else None
    greedy, logits = [], []
    for _ in range(steps):  # full recomputation, as the exporter's own golden reference
        out = model(input_ids=ids, pixel_values=pv, use_cache=False)
        last = out.logits[0, -1].float()
        logits.append(last.cpu().tolist())
        nxt = int(last.argmax())
        greedy.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]], device=device)], dim=1)
    return greedy, logits


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True, help="OpenGVLab-layout checkpoint folder")
    ap.add_argument("--export", required=True,
                    help="the export of that checkpoint: its manifest gives <IMG_CONTEXT>'s id and "
                         "its golden.json the cases")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--attn", default="eager", choices=["eager", "sdpa"])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args(argv)
    import transformers

    dtype = getattr(torch, args.dtype)
    with open(os.path.join(args.export, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(args.export, "golden.json")) as f:
        golden = json.load(f)
    t0 = time.time()
    model, cfg, kind = load_hf_model(args.checkpoint, manifest["special_tokens"]["img_context"],
                                     dtype, args.attn, args.device)
    image_size = manifest["vision"]["image_size"]
    cases = []
    for c in golden["cases"]:
        greedy, logits = greedy_case(model, c, image_size, dtype, args.device,
                                     len(c["greedy_ids"]))
        cases.append({"name": c["name"], "num_tiles": c.get("num_tiles", 0),
                      "input_ids": c["input_ids"], "greedy_ids": greedy, "step_logits": logits})
    out = {"reference": "transformers %s InternVLForConditionalGeneration (%s text model, %s)"
                        % (transformers.__version__, kind, args.attn),
           "dtype": args.dtype, "device": str(args.device), "torch": torch.__version__,
           "pixel_pattern": golden.get("pixel_pattern"), "cases": cases,
           "seconds": round(time.time() - t0, 2)}
    with open(args.out, "w") as f:
        json.dump(out, f)
    print("transformers_reference: %s, %d cases -> %s" % (out["reference"], len(cases), args.out))


if __name__ == "__main__":
    main()
