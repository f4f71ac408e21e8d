"""Export an InternVL2 checkpoint (OpenGVLab layout) into the model directory of
docs/model-format.md: manifest.json, units/<unit>.pt (TorchScript, one per placement unit), the
tokenizer files and golden.json (from reference.py). With --config-only, only
manifest.json, from config.json alone (unit sizes of models too large to download).

Units are built, scripted and saved one at a time, reading only their own tensors, so peak memory
is about one unit. Every tensor's presence and shape is checked against config.json before any
weight is read; errors name the tensor or config field.

Families: LLM internlm2 | llama | qwen2 | phi3 (llm_config.architectures[0]); ViT InternViT-300M
(LayerNorm, qkv bias) and InternViT-6B (RMSNorm, qk-norm, no qkv bias), from vision_config.
"""
import argparse
import gc
import hashlib
import json
import math
import os
import time
import shutil
import sys

import torch
import torch.nn.functional as F

from . import reference  # templates, golden
from . import safetensors_io
from . import tokenizer as tok
from . import units as U

FORMAT_VERSION = 3
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
    max_pos = cfg.get("llm_config.max_position_embeddings")
    return {
        "family": family, "architecture": arch, "hidden_size": hidden,
        "num_layers": cfg.get("llm_config.num_hidden_layers"), "num_heads": heads,
        "num_kv_heads": kv, "head_dim": head_dim,
        "intermediate_size": cfg.get("llm_config.intermediate_size"),
        "vocab_size": cfg.get("llm_config.vocab_size"),
        "rope_theta": float(cfg.get("llm_config.rope_theta", 10000.0)),
        "rope_scaling": rope_scaling_spec(cfg, family, head_dim, max_pos),
        "rms_norm_eps": float(cfg.get("llm_config.rms_norm_eps")),
        "max_position_embeddings": max_pos,
        "qkv_bias": qkv_bias,
        "tie_word_embeddings": bool(cfg.get("llm_config.tie_word_embeddings", False)),
    }


def rope_scaling_spec(cfg, family, head_dim, max_pos):
    """The manifest's llm.rope_scaling: None, InternLM2's {"type": "dynamic", "factor"} as in
    config.json (dynamic NTK only acts past max_position_embeddings, which the runtime's KV-cache
    capacity never exceeds), or Phi-3 LongRoPE normalised to {"type": "longrope", "short_factor",
    "long_factor", "original_max_position_embeddings", "attention_factor"} (config "su" or
    "longrope"; attention_factor = sqrt(1 + ln(s) / ln(orig)), s = max_pos / orig, or 1 when
    s <= 1, unless the config gives it). Anything else is an error naming the field."""
    rs = cfg.get("llm_config.rope_scaling", None)
    if rs is None:
        return None
    field = "llm_config.rope_scaling"
    if not isinstance(rs, dict):
        raise ExportError("%s: field %s must be an object or null" % (cfg.path, field))
    kind = rs.get("type", rs.get("rope_type"))
    if kind == "dynamic" and family == "internlm2":
        if not isinstance(rs.get("factor"), (int, float)):
            raise ExportError("%s: field %s.factor must be a number" % (cfg.path, field))
        return {"type": "dynamic", "factor": float(rs["factor"])}
    if kind in ("su", "longrope") and family == "phi3":
        out = {"type": "longrope"}
        for k in ("short_factor", "long_factor"):
            v = rs.get(k)
            if (not isinstance(v, list) or len(v) != head_dim // 2
                    or not all(isinstance(x, (int, float)) for x in v)):
                raise ExportError("%s: field %s.%s must be a list of head_dim / 2 = %d numbers"
                                  % (cfg.path, field, k, head_dim // 2))
            out[k] = [float(x) for x in v]
        orig = rs.get("original_max_position_embeddings",
                      cfg.get("llm_config.original_max_position_embeddings", None))
        if not isinstance(orig, int) or orig <= 1:
            raise ExportError("%s: field llm_config.original_max_position_embeddings (LongRoPE) "
                              "is missing or not an integer > 1" % cfg.path)
        out["original_max_position_embeddings"] = orig
        if rs.get("attention_factor") is not None:
            out["attention_factor"] = float(rs["attention_factor"])
        else:
            scale = max_pos / orig
            out["attention_factor"] = (1.0 if scale <= 1.0 else
                                       math.sqrt(1 + math.log(scale) / math.log(orig)))
        return out
    raise ExportError("%s: field %s = %s is not supported for %s (supported: none; InternLM2 "
                      "dynamic; Phi-3 su/longrope)" % (cfg.path, field, json.dumps(rs), family))


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
    if not ls.get("tied"):
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
            dt = self.ckpt.dtype(name)
            if dt not in (torch.float32, torch.bfloat16, torch.float16):
                raise ExportError("%s: tensor %s has dtype %s (expected float32, bfloat16 or "
                                  "float16)" % (folder, name, str(dt).replace("torch.", "")))

    def __getitem__(self, name):
        """The tensor in its stored dtype, read from its shard now (nothing is cached)."""
        return self.ckpt.get(name)


def tied_head(folder, ls):
    """True when the head unit shares the embedding tensor: llm_config.tie_word_embeddings is
    true and the checkpoint has no head tensor (a folder without weights: the flag alone).
    Upstream's InternVLChatConfig forces tie_word_embeddings = False, so every published
    InternVL2 checkpoint (the Qwen2-based 1B included) has its own head tensor and is untied."""
    if not ls["tie_word_embeddings"]:
        return False
    head = LLM_NAMES[ls["family"]][2] + ".weight"
    try:
        return head not in safetensors_io.Checkpoint(folder)
    except safetensors_io.SafetensorsError:
        return True


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
    if sdpa:
        cls = U.DecoderLayerUnitFlash if U.flash_decode_available() else U.DecoderLayerUnitSdpa
    else:
        cls = U.DecoderLayerUnit
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
    head_src = emb if ls.get("tied") else head  # tied: the head reads the embedding tensor
    plan.append((head, "head", None, lambda s, dev: U.HeadUnit(V, H, dev),
                 lambda w: {"weight": U.pad_head_weight(w[head_src + ".weight"])}))
    return plan


# ---- tokenizer ------------------------------------------------------------------------------
def tokenizer_section(folder, template_sep):
    """(manifest "tokenizer", "special_tokens", "stop_ids") from the checkpoint's tokenizer files:
    tokenizer.model -> kind "sentencepiece", else tokenizer.json -> kind "bpe" (tokenizer.py
    reads them without `tokenizers`/`transformers`)."""
    return tok.tokenizer_section(folder, template_sep, ExportError)


# ---- export ---------------------------------------------------------------------------------
class Progress:
    """Per-unit progress on a text stream: a bar redrawn in place on a terminal, one plain line
    per unit otherwise (logs, CI)."""

    def __init__(self, total, stream):
        self.total, self.stream, self.n, self.bytes = total, stream, 0, 0
        self.start = time.monotonic()
        self.tty = bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())

    def step(self, unit_name, nbytes):
        self.n += 1
        self.bytes += nbytes
        if self.stream is None:
            return
        secs = time.monotonic() - self.start
        gb = self.bytes / 1e9
        if self.tty:
            width = 30
            fill = width * self.n // max(self.total, 1)
            self.stream.write("\r[%s%s] %d/%d units %.2f GB %.0fs %-44.44s"
                              % ("#" * fill, "." * (width - fill), self.n, self.total, gb, secs,
                                 unit_name))
        else:
            self.stream.write("export: unit %d/%d %s (%d bytes; %.2f GB in %.1f s)\n"
                              % (self.n, self.total, unit_name, nbytes, gb, secs))
        self.stream.flush()

    def done(self):
        if self.stream is not None and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def release_freed_memory():
    """Hand the previous unit's freed memory back to the OS: glibc keeps freed blocks below its
    (adaptive, up to 32 MB) mmap threshold in the heap, so without a trim the process would keep
    one unit's worth of fragments while reading the next."""
    gc.collect()
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


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
    ls["tied"] = tied_head(checkpoint, ls)
    template_name = cfg.get("template")
    if template_name not in reference.TEMPLATES:
        raise ExportError("%s: template = %r is not a known chat template (known: %s)"
                          % (cfg.path, template_name,
                             ", ".join(sorted(reference.TEMPLATES))))
    tmpl = reference.TEMPLATES[template_name]
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
        # InternVLChatConfig forces tie_word_embeddings = False, so published checkpoints carry
        # their own head; see tied_head()
        "tied_groups": [list(LLM_NAMES[ls["family"]][0::2])] if ls.get("tied") else [],
        "llm": llm,
        "vision": vision,
        "template": {"name": template_name, "system_template": tmpl["system_template"],
                     "system_message": reference.SYSTEM_MESSAGE,
                     "roles": list(tmpl["roles"]), "sep": tmpl["sep"]},
        "preprocess": {"image_size": vs["image_size"], "mean": IMAGENET_MEAN,
                       "std": IMAGENET_STD,
                       "min_dynamic_patch": cfg.get("min_dynamic_patch", 1),
                       "max_dynamic_patch": cfg.get("max_dynamic_patch", 12),
                       "use_thumbnail": bool(cfg.get("use_thumbnail", True))},
    }


def _file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _record_file_hashes(out, manifest):
    """Model files are code (TorchScript runs when loaded): record the sha256 of every unit file
    (units[i]["sha256"]) and of every tokenizer file present ("files": {relative path: sha256}),
    which the runtime checks before loading (lib/src/model/verify_files.cpp)."""
    if manifest.get("config_only"):
        return
    for unit in manifest["units"]:
        unit["sha256"] = _file_sha256(os.path.join(out, unit["file"]))
    manifest["files"] = {f: _file_sha256(os.path.join(out, f))
                         for f in sorted(TOKENIZER_FILES) if os.path.exists(os.path.join(out, f))}


def _write_manifest(out, manifest):
    os.makedirs(out, exist_ok=True)
    _record_file_hashes(out, manifest)
    tmp = os.path.join(out, "manifest.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(out, "manifest.json"))  # last: its presence means complete


def export(checkpoint, out, dtype="float32", name=None, attention="auto", golden=True,
           log=print, progress=None):
    """Write the model directory `out` from checkpoint folder `checkpoint`. Returns the manifest.
    progress: a text stream for the progress bar (None: no bar; the CLI passes stderr)."""
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
    plan = unit_plan(vs, ls)
    bar = Progress(len(plan), progress)
    for unit_name, kind, layer, make, weights in plan:
        # Built without storage, then given the unit's own tensors, each read from its shard and
        # cast to the export dtype: host memory holds about this one unit.
        module = U.set_weights(make(attention == "sdpa", "meta"), weights(w), torch_dtype)
        entry = _unit_entry(unit_name, kind, layer, module)
        torch.jit.save(torch.jit.script(module), os.path.join(out, entry["file"]))
        units.append(entry)
        bar.step(unit_name, entry["param_bytes"])
        del module
        release_freed_memory()
    bar.done()

    for f in TOKENIZER_FILES:
        if os.path.exists(os.path.join(checkpoint, f)):
            shutil.copyfile(os.path.join(checkpoint, f), os.path.join(out, f))

    if golden:
        g = reference.make_golden(checkpoint, torch_dtype)
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
    ap.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
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
                   args.attention, golden=not args.no_golden, log=log,
                   progress=None if args.quiet else sys.stderr)
    except ExportError as e:
        print("export_internvl2: error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
