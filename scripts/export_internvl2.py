#!/usr/bin/env python3
"""Export an InternVL2 checkpoint (OpenGVLab layout) into the model directory of
docs/model-format.md: manifest.json, units/<unit>.pt (TorchScript, one per placement unit), the
tokenizer files and golden.json (from scripts/internvl2_reference.py). With --config-only, only
manifest.json, from config.json alone (unit sizes of models too large to download).

Units are built, scripted and saved one at a time, reading only their own tensors, so peak memory
is about one unit. Every tensor's presence and shape is checked against config.json before any
weight is read; errors name the tensor or config field.

Families: LLM internlm2 | llama | qwen2 | phi3 (llm_config.architectures[0]); ViT InternViT-300M
(LayerNorm, qkv bias) and InternViT-6B (RMSNorm, qk-norm, no qkv bias), from vision_config.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import internvl2_reference  # noqa: E402  (templates, golden)
import internvl2_units as U  # noqa: E402
import safetensors_io  # noqa: E402

FORMAT_VERSION = 1
FAMILIES = {"InternLM2ForCausalLM": "internlm2", "LlamaForCausalLM": "llama",
            "Qwen2ForCausalLM": "qwen2", "Phi3ForCausalLM": "phi3"}
VISION_ARCHS = ("InternVisionModel",)
TOKENIZER_FILES = ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
                   "added_tokens.json", "tokenizer.json", "vocab.json", "merges.txt")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class ExportError(Exception):
    """A checkpoint the exporter cannot take; the message names the file, field or tensor."""


# ---- config ---------------------------------------------------------------------------------
class Config:
    """config.json with field access that names the missing/bad field."""

    def __init__(self, folder):
        self.path = os.path.join(folder, "config.json")
        if not os.path.exists(self.path):
            raise ExportError("%s: not found" % self.path)
        with open(self.path, encoding="utf-8") as f:
            self.raw = json.load(f)

    def get(self, dotted, default=KeyError):
        node = self.raw
        for part in dotted.split("."):
            if isinstance(node, dict) and part in node and node[part] is not None:
                node = node[part]
            elif default is KeyError:
                raise ExportError("%s: field %s is missing" % (self.path, dotted))
            else:
                return default
        return node

    def first(self, dotted):
        v = self.get(dotted)
        if not isinstance(v, list) or not v:
            raise ExportError("%s: field %s must be a non-empty list" % (self.path, dotted))
        return v[0]


def llm_spec(cfg):
    arch = cfg.first("llm_config.architectures")
    if arch not in FAMILIES:
        raise ExportError("%s: llm_config.architectures[0] = %r is not a known architecture "
                          "(known: %s)" % (cfg.path, arch, ", ".join(sorted(FAMILIES))))
    family = FAMILIES[arch]
    hidden = cfg.get("llm_config.hidden_size")
    heads = cfg.get("llm_config.num_attention_heads")
    kv = cfg.get("llm_config.num_key_value_heads", heads)
    head_dim = cfg.get("llm_config.head_dim", hidden // heads)
    if heads % kv:
        raise ExportError("%s: llm_config.num_attention_heads (%d) is not a multiple of "
                          "num_key_value_heads (%d)" % (cfg.path, heads, kv))
    qkv_bias = {"internlm2": bool(cfg.get("llm_config.bias", False)), "qwen2": True,
                "llama": bool(cfg.get("llm_config.attention_bias", False)), "phi3": False}[family]
    return {
        "family": family, "architecture": arch, "hidden_size": hidden,
        "num_layers": cfg.get("llm_config.num_hidden_layers"), "num_heads": heads,
        "num_kv_heads": kv, "head_dim": head_dim,
        "intermediate_size": cfg.get("llm_config.intermediate_size"),
        "vocab_size": cfg.get("llm_config.vocab_size"),
        "rope_theta": float(cfg.get("llm_config.rope_theta", 10000.0)),
        "rope_scaling": cfg.get("llm_config.rope_scaling", None),
        "rms_norm_eps": float(cfg.get("llm_config.rms_norm_eps")),
        "max_position_embeddings": cfg.get("llm_config.max_position_embeddings"),
        "qkv_bias": qkv_bias,
    }


def vision_spec(cfg):
    arch = cfg.first("vision_config.architectures")
    if arch not in VISION_ARCHS:
        raise ExportError("%s: vision_config.architectures[0] = %r is not a known architecture "
                          "(known: %s)" % (cfg.path, arch, ", ".join(VISION_ARCHS)))
    norm_type = cfg.get("vision_config.norm_type", "rms_norm")
    if norm_type not in ("layer_norm", "rms_norm"):
        raise ExportError("%s: vision_config.norm_type = %r (expected layer_norm or rms_norm)"
                          % (cfg.path, norm_type))
    act = cfg.get("vision_config.hidden_act", "gelu")
    if act != "gelu":
        raise ExportError("%s: vision_config.hidden_act = %r (only gelu)" % (cfg.path, act))
    image_size = cfg.get("force_image_size", None) or cfg.get("vision_config.image_size")
    patch = cfg.get("vision_config.patch_size")
    ratio = float(cfg.get("downsample_ratio"))
    ps_version = cfg.get("ps_version", "v1")
    if ps_version not in ("v1", "v2"):
        raise ExportError("%s: ps_version = %r (expected v1 or v2)" % (cfg.path, ps_version))
    layers = cfg.get("vision_config.num_hidden_layers")
    select_layer = int(cfg.get("select_layer", -1))
    if not -(layers + 1) <= select_layer <= layers:
        raise ExportError("%s: select_layer = %d is outside the %d hidden states"
                          % (cfg.path, select_layer, layers + 1))
    hidden = cfg.get("vision_config.hidden_size")
    return {
        "architecture": arch, "image_size": image_size, "patch_size": patch,
        "hidden_size": hidden, "num_layers": layers,
        "num_heads": cfg.get("vision_config.num_attention_heads"),
        "intermediate_size": cfg.get("vision_config.intermediate_size"),
        "norm_type": norm_type,
        "qk_normalization": bool(cfg.get("vision_config.qk_normalization", False)),
        "qkv_bias": bool(cfg.get("vision_config.qkv_bias", True)),
        "layer_norm_eps": float(cfg.get("vision_config.layer_norm_eps", 1e-6)),
        "downsample_ratio": ratio, "ps_version": ps_version, "select_layer": select_layer,
        "num_image_token": int((image_size // patch) ** 2 * (ratio ** 2)),
        # hidden_states[select_layer] is the output of this many encoder layers
        "used_layers": select_layer % (layers + 1),
        "grid": image_size // patch,
        "out_dim": int(hidden / ratio ** 2),
    }


# ---- checkpoint tensors ---------------------------------------------------------------------
LLM_NAMES = {
    # family: (embedding unit, norm unit, head unit)
    "internlm2": ("language_model.model.tok_embeddings", "language_model.model.norm",
                  "language_model.output"),
    "llama": ("language_model.model.embed_tokens", "language_model.model.norm",
              "language_model.lm_head"),
}
LLM_NAMES["qwen2"] = LLM_NAMES["phi3"] = LLM_NAMES["llama"]


def layer_tensor_shapes(ls, i):
    """{checkpoint name: shape} of decoder layer i."""
    f, H, I = ls["family"], ls["hidden_size"], ls["intermediate_size"]
    nh, nkv, hd = ls["num_heads"], ls["num_kv_heads"], ls["head_dim"]
    p = "language_model.model.layers.%d." % i
    if f == "internlm2":
        s = {p + "attention_norm.weight": (H,), p + "ffn_norm.weight": (H,),
             p + "attention.wqkv.weight": ((nh + 2 * nkv) * hd, H),
             p + "attention.wo.weight": (H, nh * hd),
             p + "feed_forward.w1.weight": (I, H), p + "feed_forward.w3.weight": (I, H),
             p + "feed_forward.w2.weight": (H, I)}
        if ls["qkv_bias"]:
            raise ExportError("llm_config.bias = true (InternLM2 with biases) is not supported")
        return s
    s = {p + "input_layernorm.weight": (H,), p + "post_attention_layernorm.weight": (H,),
         p + "self_attn.o_proj.weight": (H, nh * hd), p + "mlp.down_proj.weight": (H, I)}
    if f == "phi3":
        s[p + "self_attn.qkv_proj.weight"] = ((nh + 2 * nkv) * hd, H)
        s[p + "mlp.gate_up_proj.weight"] = (2 * I, H)
        return s
    s[p + "self_attn.q_proj.weight"] = (nh * hd, H)
    s[p + "self_attn.k_proj.weight"] = (nkv * hd, H)
    s[p + "self_attn.v_proj.weight"] = (nkv * hd, H)
    if ls["qkv_bias"]:
        s[p + "self_attn.q_proj.bias"] = (nh * hd,)
        s[p + "self_attn.k_proj.bias"] = (nkv * hd,)
        s[p + "self_attn.v_proj.bias"] = (nkv * hd,)
    s[p + "mlp.gate_proj.weight"] = (I, H)
    s[p + "mlp.up_proj.weight"] = (I, H)
    return s


def vision_tensor_shapes(vs):
    C, I, ps = vs["hidden_size"], vs["intermediate_size"], vs["patch_size"]
    p = "vision_model.embeddings."
    s = {p + "class_embedding": (1, 1, C), p + "patch_embedding.weight": (C, 3, ps, ps),
         p + "patch_embedding.bias": (C,), p + "position_embedding": (1, vs["grid"] ** 2 + 1, C)}
    for i in range(vs["used_layers"]):
        p = "vision_model.encoder.layers.%d." % i
        for n in ("norm1", "norm2"):
            s[p + n + ".weight"] = (C,)
            if vs["norm_type"] == "layer_norm":
                s[p + n + ".bias"] = (C,)
        s[p + "attn.qkv.weight"] = (3 * C, C)
        if vs["qkv_bias"]:
            s[p + "attn.qkv.bias"] = (3 * C,)
        if vs["qk_normalization"]:
            s[p + "attn.q_norm.weight"] = (C,)
            s[p + "attn.k_norm.weight"] = (C,)
        s.update({p + "attn.proj.weight": (C, C), p + "attn.proj.bias": (C,),
                  p + "mlp.fc1.weight": (I, C), p + "mlp.fc1.bias": (I,),
                  p + "mlp.fc2.weight": (C, I), p + "mlp.fc2.bias": (C,),
                  p + "ls1": (C,), p + "ls2": (C,)})
    return s


def all_tensor_shapes(vs, ls):
    s = vision_tensor_shapes(vs)
    C4, H, V = vs["out_dim"], ls["hidden_size"], ls["vocab_size"]
    s.update({"mlp1.0.weight": (C4,), "mlp1.0.bias": (C4,), "mlp1.1.weight": (H, C4),
              "mlp1.1.bias": (H,), "mlp1.3.weight": (H, H), "mlp1.3.bias": (H,)})
    emb, norm, head = LLM_NAMES[ls["family"]]
    s[emb + ".weight"] = (V, H)
    s[norm + ".weight"] = (H,)
    s[head + ".weight"] = (V, H)
    for i in range(ls["num_layers"]):
        s.update(layer_tensor_shapes(ls, i))
    return s


class Weights:
    """Checkpoint tensors, checked against the shapes config.json implies."""

    def __init__(self, folder, expected):
        try:
            self.ckpt = safetensors_io.Checkpoint(folder)
        except safetensors_io.SafetensorsError as e:
            raise ExportError(str(e))
        for name in sorted(expected):
            if name not in self.ckpt:
                raise ExportError("%s: checkpoint lacks tensor %s (expected shape %s)"
                                  % (folder, name, list(expected[name])))
            got = tuple(self.ckpt.shape(name))
            if got != tuple(expected[name]):
                raise ExportError("%s: tensor %s has shape %s, but config.json implies %s"
                                  % (folder, name, list(got), list(expected[name])))

    def __getitem__(self, name):
        return self.ckpt.get(name).to(torch.float32)


# ---- units ----------------------------------------------------------------------------------
def make_vision(vs, sdpa, device=None):
    return U.VisionUnit(vs["hidden_size"], vs["intermediate_size"], vs["num_heads"],
                        vs["used_layers"], vs["patch_size"], vs["grid"],
                        vs["norm_type"] == "layer_norm", vs["qkv_bias"], vs["qk_normalization"],
                        vs["layer_norm_eps"], vs["downsample_ratio"], vs["ps_version"] == "v2",
                        sdpa, device)


def vision_weights(w, vs):
    """{VisionUnit state_dict name: tensor}."""
    p = "vision_model.embeddings."
    # At 448 px the grid equals the stored one; _get_pos_embed's bicubic resize is the identity.
    sd = {"patch_embedding.weight": w[p + "patch_embedding.weight"],
          "patch_embedding.bias": w[p + "patch_embedding.bias"],
          "class_embedding": w[p + "class_embedding"],
          "position_embedding": w[p + "position_embedding"]}
    for i in range(vs["used_layers"]):
        src, dst = "vision_model.encoder.layers.%d." % i, "layers.%d." % i
        names = {"norm1.weight": "norm1.weight", "norm2.weight": "norm2.weight",
                 "attn.qkv.weight": "attn.qkv.weight", "attn.proj.weight": "attn.proj.weight",
                 "attn.proj.bias": "attn.proj.bias", "mlp.fc1.weight": "fc1.weight",
                 "mlp.fc1.bias": "fc1.bias", "mlp.fc2.weight": "fc2.weight",
                 "mlp.fc2.bias": "fc2.bias", "ls1": "ls1", "ls2": "ls2"}
        if vs["norm_type"] == "layer_norm":
            names.update({"norm1.bias": "norm1.bias", "norm2.bias": "norm2.bias"})
        if vs["qkv_bias"]:
            names["attn.qkv.bias"] = "attn.qkv.bias"
        if vs["qk_normalization"]:
            names.update({"attn.q_norm.weight": "attn.q_norm.weight",
                          "attn.k_norm.weight": "attn.k_norm.weight"})
        for s, d in names.items():
            sd[dst + d] = w[src + s]
    return sd


def projector_weights(w):
    return {"norm.weight": w["mlp1.0.weight"], "norm.bias": w["mlp1.0.bias"],
            "fc1.weight": w["mlp1.1.weight"], "fc1.bias": w["mlp1.1.bias"],
            "fc2.weight": w["mlp1.3.weight"], "fc2.bias": w["mlp1.3.bias"]}


def decoder_weights(w, ls, i):
    """{DecoderLayerUnit state_dict name: tensor} of layer i, per family."""
    f, nh, nkv, hd, I = (ls["family"], ls["num_heads"], ls["num_kv_heads"], ls["head_dim"],
                         ls["intermediate_size"])
    p = "language_model.model.layers.%d." % i
    if f == "internlm2":
        G = nh // nkv
        # rows grouped per kv head g: [q_{gG} .. q_{gG+G-1} | k_g | v_g], hd rows each
        W = w[p + "attention.wqkv.weight"]
        W = W.view(nkv, G + 2, hd, W.shape[-1])
        return {"input_norm.weight": w[p + "attention_norm.weight"],
                "q_proj.weight": W[:, :G].reshape(nh * hd, -1),
                "k_proj.weight": W[:, G].reshape(nkv * hd, -1),
                "v_proj.weight": W[:, G + 1].reshape(nkv * hd, -1),
                "o_proj.weight": w[p + "attention.wo.weight"],
                "post_norm.weight": w[p + "ffn_norm.weight"],
                "gate_proj.weight": w[p + "feed_forward.w1.weight"],
                "up_proj.weight": w[p + "feed_forward.w3.weight"],
                "down_proj.weight": w[p + "feed_forward.w2.weight"]}
    sd = {"input_norm.weight": w[p + "input_layernorm.weight"],
          "o_proj.weight": w[p + "self_attn.o_proj.weight"],
          "post_norm.weight": w[p + "post_attention_layernorm.weight"],
          "down_proj.weight": w[p + "mlp.down_proj.weight"]}
    if f == "phi3":
        qkv = w[p + "self_attn.qkv_proj.weight"]  # rows [q | k | v]
        sd["q_proj.weight"] = qkv[:nh * hd]
        sd["k_proj.weight"] = qkv[nh * hd:(nh + nkv) * hd]
        sd["v_proj.weight"] = qkv[(nh + nkv) * hd:]
        gate_up = w[p + "mlp.gate_up_proj.weight"]  # rows [gate | up]
        sd["gate_proj.weight"] = gate_up[:I]
        sd["up_proj.weight"] = gate_up[I:]
        return sd
    for n in ("q", "k", "v"):
        sd[n + "_proj.weight"] = w[p + "self_attn.%s_proj.weight" % n]
        if ls["qkv_bias"]:
            sd[n + "_proj.bias"] = w[p + "self_attn.%s_proj.bias" % n]
    sd["gate_proj.weight"] = w[p + "mlp.gate_proj.weight"]
    sd["up_proj.weight"] = w[p + "mlp.up_proj.weight"]
    return sd


def make_decoder_layer(ls, sdpa, device=None):
    cls = U.DecoderLayerUnitSdpa if sdpa else U.DecoderLayerUnit
    return cls(ls["hidden_size"], ls["num_heads"], ls["num_kv_heads"], ls["head_dim"],
               ls["intermediate_size"], ls["rms_norm_eps"], ls["qkv_bias"], device)


def unit_plan(vs, ls):
    """[(unit name, kind, layer or None, make(sdpa, device) -> module, weights(w) -> state dict)]
    in execution order. A real export loads weights(w) into make(sdpa, None); --config-only sizes
    make(sdpa, "meta"), so both read the same shapes."""
    emb, norm, head = LLM_NAMES[ls["family"]]
    H, V = ls["hidden_size"], ls["vocab_size"]
    plan = [
        ("vision_model", "vision", None, lambda s, dev: make_vision(vs, s, dev),
         lambda w: vision_weights(w, vs)),
        ("mlp1", "projector", None, lambda s, dev: U.ProjectorUnit(vs["out_dim"], H, dev),
         projector_weights),
        (emb, "embedding", None, lambda s, dev: U.EmbeddingUnit(V, H, dev),
         lambda w: {"weight": w[emb + ".weight"]}),
    ]
    for i in range(ls["num_layers"]):
        plan.append(("language_model.model.layers.%d" % i, "decoder_layer", i,
                     lambda s, dev: make_decoder_layer(ls, s, dev),
                     lambda w, i=i: decoder_weights(w, ls, i)))
    plan.append((norm, "norm", None, lambda s, dev: U.NormUnit(H, ls["rms_norm_eps"], dev),
                 lambda w: {"norm.weight": w[norm + ".weight"]}))
    plan.append((head, "head", None, lambda s, dev: U.HeadUnit(V, H, dev),
                 lambda w: {"weight": w[head + ".weight"]}))
    return plan


# ---- tokenizer ------------------------------------------------------------------------------
def _load_json(folder, name, required):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        if required:
            raise ExportError("%s: not found" % path)
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _token_str(v):
    return v["content"] if isinstance(v, dict) else v


def tokenizer_section(folder, template_sep):
    """(manifest "tokenizer", "special_tokens", "stop_ids") from the checkpoint's tokenizer files."""
    if not os.path.exists(os.path.join(folder, "tokenizer.model")):
        raise ExportError("%s: no tokenizer.model; only sentencepiece tokenizers are supported "
                          "so far" % folder)
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, "tokenizer.model"))
    tcfg = _load_json(folder, "tokenizer_config.json", True)
    smap = _load_json(folder, "special_tokens_map.json", False)
    added_json = _load_json(folder, "added_tokens.json", False)

    added = {}  # id -> {"id", "content", "special"}
    for sid, e in tcfg.get("added_tokens_decoder", {}).items():
        added[int(sid)] = {"id": int(sid), "content": e["content"],
                           "special": bool(e.get("special", False))}
    additional = [_token_str(t) for t in (tcfg.get("additional_special_tokens")
                                          or smap.get("additional_special_tokens") or [])]
    for tok, i in added_json.items():
        if int(i) not in added:
            added[int(i)] = {"id": int(i), "content": tok, "special": tok in additional}
    by_content = {e["content"]: i for i, e in added.items()}

    def token_id(tok, field):
        if tok in by_content:
            return by_content[tok]
        i = sp.piece_to_id(tok)
        if sp.id_to_piece(i) != tok:
            raise ExportError("%s: %s %r is neither an added token nor a sentencepiece piece"
                              % (folder, field, tok))
        return i

    def special(field):
        v = tcfg.get(field, smap.get(field))
        return None if v is None else token_id(_token_str(v), field)

    ids = {f: special(f + "_token") for f in ("bos", "eos", "unk", "pad")}
    skip = {i for i in ids.values() if i is not None}
    skip.update(token_id(t, "additional_special_tokens") for t in additional)
    tokenizer = {
        "kind": "sentencepiece", "file": "tokenizer.model",
        "add_bos": bool(tcfg.get("add_bos_token", True)),
        "bos_id": ids["bos"], "eos_id": ids["eos"], "unk_id": ids["unk"], "pad_id": ids["pad"],
        "added_tokens": [added[i] for i in sorted(added)],
        "skip_ids": sorted(skip),
        # InternLM2Tokenizer.convert_tokens_to_string always applies transformers'
        # clean_up_tokenization (" ." -> ".", " 's" -> "'s", ...), whatever the config says.
        "clean_up_tokenization": tcfg.get("tokenizer_class") == "InternLM2Tokenizer",
    }
    special_tokens = {
        "img_start": token_id(internvl2_reference.IMG_START, "image start token"),
        "img_end": token_id(internvl2_reference.IMG_END, "image end token"),
        "img_context": token_id(internvl2_reference.IMG_CONTEXT, "image context token"),
    }
    stop_ids = [token_id(template_sep.strip(), "template separator")]
    return tokenizer, special_tokens, stop_ids


# ---- export ---------------------------------------------------------------------------------
def checkpoint_sha256(folder, weight_files):
    """sha256 over config.json, then each weight file (sorted), each prefixed by its name."""
    h = hashlib.sha256()
    for name in ["config.json"] + list(weight_files):
        h.update(name.encode("utf-8") + b"\0")
        with open(os.path.join(folder, name), "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest()


def resolve_attention(choice):
    has_sdpa = hasattr(F, "scaled_dot_product_attention")
    if choice == "auto":
        return "sdpa" if has_sdpa else "eager"
    if choice == "sdpa" and not has_sdpa:
        raise ExportError("--attention sdpa: torch %s has no scaled_dot_product_attention"
                          % torch.__version__)
    return choice


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _prepare(checkpoint, dtype, attention):
    """(torch dtype, attention, Config, llm spec, vision spec, template name, template)."""
    torch_dtype = DTYPES.get(dtype)
    if torch_dtype is None:
        raise ExportError("--dtype %r: expected float32, bfloat16 or float16" % dtype)
    attention = resolve_attention(attention)
    cfg = Config(checkpoint)
    ls, vs = llm_spec(cfg), vision_spec(cfg)
    template_name = cfg.get("template")
    if template_name not in internvl2_reference.TEMPLATES:
        raise ExportError("%s: template = %r is not a known chat template (known: %s)"
                          % (cfg.path, template_name,
                             ", ".join(sorted(internvl2_reference.TEMPLATES))))
    tmpl = internvl2_reference.TEMPLATES[template_name]
    return torch_dtype, attention, cfg, ls, vs, template_name, tmpl


def _unit_entry(unit_name, kind, layer, module):
    entry = {"name": unit_name, "kind": kind, "file": "units/%s.pt" % unit_name,
             "param_bytes": U.unit_param_bytes(module)}
    if layer is not None:
        entry["layer"] = layer
    return entry


def _manifest(checkpoint, name, dtype, attention, cfg, ls, vs, template_name, tmpl, sha256,
              units):
    """The manifest fields shared by a real and a --config-only export."""
    llm = {k: ls[k] for k in ("architecture", "hidden_size", "num_layers", "num_heads",
                              "num_kv_heads", "head_dim", "intermediate_size", "vocab_size",
                              "rope_theta", "rope_scaling", "rms_norm_eps",
                              "max_position_embeddings")}
    vision = {k: vs[k] for k in ("architecture", "image_size", "patch_size", "hidden_size",
                                 "num_layers", "num_heads", "intermediate_size", "norm_type",
                                 "qk_normalization", "qkv_bias", "layer_norm_eps",
                                 "downsample_ratio", "ps_version", "select_layer",
                                 "num_image_token")}
    return {
        "format_version": FORMAT_VERSION,
        "name": name or os.path.basename(checkpoint.rstrip("/")),
        "family": ls["family"],
        "dtype": dtype,
        "torch_version": torch.__version__,
        "attention": attention,
        "source": {"checkpoint": checkpoint, "sha256": sha256},
        "units": units,
        "tied_groups": [],  # InternVLChatConfig forces tie_word_embeddings = False
        "llm": llm,
        "vision": vision,
        "template": {"name": template_name, "system_template": tmpl["system_template"],
                     "system_message": internvl2_reference.SYSTEM_MESSAGE,
                     "roles": list(tmpl["roles"]), "sep": tmpl["sep"]},
        "preprocess": {"image_size": vs["image_size"], "mean": IMAGENET_MEAN,
                       "std": IMAGENET_STD,
                       "min_dynamic_patch": cfg.get("min_dynamic_patch", 1),
                       "max_dynamic_patch": cfg.get("max_dynamic_patch", 12),
                       "use_thumbnail": bool(cfg.get("use_thumbnail", True))},
    }


def _write_manifest(out, manifest):
    os.makedirs(out, exist_ok=True)
    tmp = os.path.join(out, "manifest.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(out, "manifest.json"))  # last: its presence means complete


def export(checkpoint, out, dtype="float32", name=None, attention="auto", golden=True,
           log=print):
    """Write the model directory `out` from checkpoint folder `checkpoint`. Returns the manifest."""
    checkpoint = os.path.abspath(checkpoint)
    torch_dtype, attention, cfg, ls, vs, template_name, tmpl = _prepare(checkpoint, dtype,
                                                                        attention)
    tokenizer, special_tokens, stop_ids = tokenizer_section(checkpoint, tmpl["sep"])
    w = Weights(checkpoint, all_tensor_shapes(vs, ls))

    units_dir = os.path.join(out, "units")
    os.makedirs(units_dir, exist_ok=True)
    for stale in ("manifest.json", "golden.json"):
        if os.path.exists(os.path.join(out, stale)):
            os.remove(os.path.join(out, stale))
    for f in os.listdir(units_dir):
        if f.endswith(".pt"):
            os.remove(os.path.join(units_dir, f))

    units = []
    for unit_name, kind, layer, make, weights in unit_plan(vs, ls):
        module = U.set_weights(make(attention == "sdpa", None), weights(w), torch_dtype)
        entry = _unit_entry(unit_name, kind, layer, module)
        torch.jit.save(torch.jit.script(module), os.path.join(out, entry["file"]))
        units.append(entry)
        log("exported %-40s %-13s %10d bytes" % (unit_name, kind, entry["param_bytes"]))
        del module

    for f in TOKENIZER_FILES:
        if os.path.exists(os.path.join(checkpoint, f)):
            shutil.copyfile(os.path.join(checkpoint, f), os.path.join(out, f))

    if golden:
        g = internvl2_reference.make_golden(checkpoint, torch_dtype)
        with open(os.path.join(out, "golden.json"), "w", encoding="utf-8") as f:
            json.dump(g, f, ensure_ascii=False)
        log("wrote golden.json (%d cases)" % len(g["cases"]))

    manifest = _manifest(checkpoint, name, dtype, attention, cfg, ls, vs, template_name, tmpl,
                         checkpoint_sha256(checkpoint, w.ckpt.files()), units)
    manifest["tokenizer"] = tokenizer
    manifest["special_tokens"] = special_tokens
    manifest["stop_ids"] = stop_ids
    _write_manifest(out, manifest)
    return manifest


def export_config_only(checkpoint, out, dtype="bfloat16", name=None, attention="auto",
                       log=print):
    """Write `out`/manifest.json from `checkpoint`/config.json alone: the units of a real export
    (names, kinds, layers, order) with exact param_bytes for `dtype`, "config_only": true, and no
    unit files, tokenizer, special_tokens or stop_ids. Units are built on the "meta" device, so
    nothing is allocated; source.sha256 is the sha256 of config.json's bytes."""
    checkpoint = os.path.abspath(checkpoint)
    torch_dtype, attention, cfg, ls, vs, template_name, tmpl = _prepare(checkpoint, dtype,
                                                                        attention)
    all_tensor_shapes(vs, ls)  # the same config checks as a real export
    units = []
    for unit_name, kind, layer, make, _ in unit_plan(vs, ls):
        module = make(attention == "sdpa", "meta").to(torch_dtype)  # as set_weights casts
        units.append(_unit_entry(unit_name, kind, layer, module))
    with open(cfg.path, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    manifest = _manifest(checkpoint, name, dtype, attention, cfg, ls, vs, template_name, tmpl,
                         sha256, units)
    manifest["config_only"] = True
    _write_manifest(out, manifest)
    log("wrote %s (config only, %d units, %d bytes in %s)"
        % (os.path.join(out, "manifest.json"), len(units),
           sum(u["param_bytes"] for u in units), dtype))
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True, help="InternVL2 checkpoint folder")
    ap.add_argument("--out", required=True, help="model directory to write")
    ap.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=None,
                    help="dtype of every unit's weights (default float32; bfloat16 with "
                         "--config-only)")
    ap.add_argument("--name", help="model name (default: the checkpoint folder's name)")
    ap.add_argument("--attention", choices=["auto", "eager", "sdpa"], default="auto",
                    help="auto: sdpa where this torch has scaled_dot_product_attention")
    ap.add_argument("--no-golden", action="store_true",
                    help="skip golden.json (the eager reference is slow on large models)")
    ap.add_argument("--config-only", action="store_true",
                    help="write only manifest.json, from config.json alone (no weights or "
                         "tokenizer read; unit sizes for placement planning)")
    args = ap.parse_args(argv)
    log = lambda s: print(s, file=sys.stderr)  # noqa: E731
    try:
        if args.config_only:
            export_config_only(args.checkpoint, args.out, args.dtype or "bfloat16", args.name,
                               args.attention, log=log)
        else:
            export(args.checkpoint, args.out, args.dtype or "float32", args.name,
                   args.attention, golden=not args.no_golden, log=log)
    except ExportError as e:
        print("export_internvl2: error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
