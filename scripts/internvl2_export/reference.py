"""Eager reference forward of an InternVL2 checkpoint, written after upstream's modules.

This is the outside reference the exported units and the C++ runtime are tested against, so it
shares no code with the export modules: it works on the checkpoint's tensors by their original
names and follows upstream's code paths (modeling_intern_vit.py, modeling_internvl_chat.py,
modeling_internlm2.py, HF Llama/Qwen2 eager attention, conversation.py, the HF slow tokenizer):

- InternViT: conv patch embedding, CLS, position embedding through `_get_pos_embed` (bicubic
  interpolate, fp32), pre-norm layers (LayerNorm or RMSNorm, optional qk-norm) with layer scale,
  naive attention in the model dtype; no post-norm.
- extract_feature: drop CLS, upstream pixel_shuffle (verbatim), mlp1.
- LLM: InternLM2 packed wqkv rearranged on the activations as InternLM2Attention does, Phi-3's
  packed qkv_proj split on the activations and gate_up_proj chunked as Phi3Attention/Phi3MLP do,
  or separate q/k/v projections (with biases: Qwen2) for Llama/Qwen2; RoPE cache built in fp32 and
  cast, rotate_half, repeat_kv, causal mask in the model dtype, softmax in fp32, RMSNorm with fp32
  upcast, logits .float(). A head tied to the embedding (tie_word_embeddings and no head tensor)
  reads the embedding tensor.
- Phi-3 LongRoPE as Phi3SuScaledRotaryEmbedding: per forward call, seq_len = max(position_ids) + 1
  picks long_factor when seq_len > original_max_position_embeddings, else short_factor;
  inv_freq = 1 / (factor * theta^(arange(0, hd, 2) / hd)); cos and sin are scaled by
  sqrt(1 + ln(max_pos / orig) / ln(orig)) in fp32, then cast.
- Greedy decoding by full recomputation of the whole sequence each step (no KV cache). Under HF
  generate() with a KV cache, every position's q and k are rotated in the forward call that first
  computes it: the prefill (seq_len = prompt length) for prompt positions, its own decode step
  (seq_len = p + 1) for generated position p. For LongRoPE, where that choice depends on the call,
  the full recomputation therefore rotates position p with the factors of
  seq_len = max(prompt length, p + 1), which gives exactly HF's cached results (rope_tables).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

from . import safetensors_io

# conversation.py templates used by InternVL2 (SeparatorStyle.MPT).
SYSTEM_MESSAGE = ("你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, "
                  "是一个有用无害的人工智能助手。")
TEMPLATES = {
    "internlm2-chat": {"system_template": "<|im_start|>system\n{system_message}",
                       "roles": ["<|im_start|>user\n", "<|im_start|>assistant\n"],
                       "sep": "<|im_end|>"},
    "Hermes-2": {"system_template": "<|im_start|>system\n{system_message}",
                 "roles": ["<|im_start|>user\n", "<|im_start|>assistant\n"],
                 "sep": "<|im_end|>"},
    "phi3-chat": {"system_template": "<|system|>\n{system_message}",
                  "roles": ["<|user|>\n", "<|assistant|>\n"], "sep": "<|end|>"},
}

IMG_START, IMG_END, IMG_CONTEXT = "<img>", "</img>", "<IMG_CONTEXT>"

PIXEL_PATTERN = ("((arange(n*3*448*448) * 7919) % 2003) / 1001.5 - 1.0, int64 then float32, "
                 "reshaped [n,3,448,448], cast to D")

GOLDEN_CASES = [
    {"name": "image", "question": "<image>\nWhat is in the picture?", "num_tiles": 3},
    {"name": "text", "question": "Which car is on the left? Answer directly.", "num_tiles": 0},
]


def pixel_pattern(n, dtype, image_size=448):
    """The golden pixel_values [n,3,S,S] of docs/model-format.md."""
    a = torch.arange(n * 3 * image_size * image_size, dtype=torch.int64)
    x = ((a * 7919) % 2003).to(torch.float32) / 1001.5 - 1.0
    return x.reshape(n, 3, image_size, image_size).to(dtype)


def build_query(template_name, question, num_patches_list, num_image_token):
    """InternVLChatModel.chat(): template prompt, then each <image> expanded in order."""
    if template_name not in TEMPLATES:
        raise ValueError("unknown template %r" % template_name)
    t = TEMPLATES[template_name]
    if num_patches_list and "<image>" not in question:
        question = "<image>\n" + question
    messages = [(t["roles"][0], question), (t["roles"][1], None)]
    ret = t["system_template"].format(system_message=SYSTEM_MESSAGE) + t["sep"]
    for role, msg in messages:
        ret += role + msg + t["sep"] if msg else role
    for n in num_patches_list:
        ret = ret.replace("<image>", IMG_START + IMG_CONTEXT * num_image_token * n + IMG_END, 1)
    return ret


class HFSlowTokenizer:
    """PreTrainedTokenizer.__call__ of a sentencepiece InternLM2Tokenizer: BOS (add_bos_token),
    then the text split on every added token (longest match first), each remaining chunk
    sp_model.encode(chunk, out_type=str) and mapped piece -> id."""

    def __init__(self, folder):
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, "tokenizer.model"))
        with open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        self.added = {}
        for sid, e in cfg.get("added_tokens_decoder", {}).items():
            self.added[e["content"]] = int(sid)
        path = os.path.join(folder, "added_tokens.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for tok, i in json.load(f).items():
                    self.added.setdefault(tok, int(i))
        self.add_bos = cfg.get("add_bos_token", True)
        bos = cfg.get("bos_token", "<s>")
        bos = bos["content"] if isinstance(bos, dict) else bos
        self.bos_id = self.token_to_id(bos)

    def token_to_id(self, tok):
        if tok in self.added:
            return self.added[tok]
        return self.sp.piece_to_id(tok)

    def split(self, text):
        """[(chunk, is_added_token)] in order."""
        out, start, i = [], 0, 0
        toks = sorted(self.added, key=len, reverse=True)
        while i < len(text):
            match = next((t for t in toks if text.startswith(t, i)), None)
            if match is None:
                i += 1
                continue
            if i > start:
                out.append((text[start:i], False))
            out.append((match, True))
            i += len(match)
            start = i
        if start < len(text):
            out.append((text[start:], False))
        return out

    def encode(self, text):
        ids = [self.bos_id] if self.add_bos else []
        for chunk, is_added in self.split(text):
            if is_added:
                ids.append(self.added[chunk])
            else:
                ids.extend(self.token_to_id(p) for p in self.sp.encode(chunk, out_type=str))
        return ids


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(hidden_states, n_rep):
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep,
                                                           slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def rms_norm(x, weight, eps):
    input_dtype = x.dtype
    h = x.to(torch.float32)
    variance = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(variance + eps)
    return weight * h.to(input_dtype)


class InternVL2Reference:
    """The whole model, on CPU, in `dtype`, read straight from a checkpoint folder."""

    def __init__(self, checkpoint_dir, dtype=torch.float32):
        with open(os.path.join(checkpoint_dir, "config.json"), encoding="utf-8") as f:
            self.cfg = json.load(f)
        self.ckpt = safetensors_io.Checkpoint(checkpoint_dir)
        self.dtype = dtype
        self._cache = {}
        self.vc = self.cfg["vision_config"]
        self.lc = self.cfg["llm_config"]
        self.arch = self.lc["architectures"][0]
        if self.arch not in ("InternLM2ForCausalLM", "LlamaForCausalLM", "Qwen2ForCausalLM",
                             "Phi3ForCausalLM"):
            raise ValueError("reference: unsupported llm_config.architectures[0] %r" % self.arch)
        self.image_size = self.cfg.get("force_image_size") or self.vc["image_size"]
        self.patch_size = self.vc["patch_size"]
        self.downsample_ratio = self.cfg["downsample_ratio"]
        self.ps_version = self.cfg.get("ps_version", "v1")
        self.select_layer = self.cfg.get("select_layer", -1)
        self.num_image_token = int((self.image_size // self.patch_size) ** 2 *
                                   (self.downsample_ratio ** 2))
        self.template = self.cfg["template"]
        # The tokenizer VLMEvalKit loads: the slow sentencepiece one when tokenizer.model exists
        # (InternLM2, Phi-3, Yi), else the byte-level BPE of tokenizer.json (Qwen2, Llama 3),
        # as the exporter decides (tokenizer.tokenizer_block).
        if os.path.exists(os.path.join(checkpoint_dir, "tokenizer.model")):
            self.tokenizer = HFSlowTokenizer(checkpoint_dir)
        else:
            from .tokenizer import BpeTokenizer
            self.tokenizer = BpeTokenizer(checkpoint_dir)
        self.img_context_token_id = self.tokenizer.token_to_id(IMG_CONTEXT)

    def w(self, name):
        if name not in self._cache:
            self._cache[name] = self.ckpt.get(name).to(self.dtype)
        return self._cache[name]

    def has(self, name):
        return name in self.ckpt

    # ---- InternViT -------------------------------------------------------------------------
    def _get_pos_embed(self, pos_embed, H, W):
        target_dtype = pos_embed.dtype
        n = self.image_size // self.patch_size
        pos_embed = pos_embed.float().reshape(1, n, n, -1).permute(0, 3, 1, 2)
        pos_embed = F.interpolate(pos_embed, size=(H, W), mode="bicubic", align_corners=False)
        pos_embed = pos_embed.reshape(1, -1, H * W).permute(0, 2, 1).to(target_dtype)
        return pos_embed

    def vision_embeddings(self, pixel_values):
        p = "vision_model.embeddings."
        target_dtype = self.w(p + "patch_embedding.weight").dtype
        patch_embeds = F.conv2d(pixel_values, self.w(p + "patch_embedding.weight"),
                                self.w(p + "patch_embedding.bias"), stride=self.patch_size)
        batch_size, _, height, width = patch_embeds.shape
        patch_embeds = patch_embeds.flatten(2).transpose(1, 2)
        class_embeds = self.w(p + "class_embedding").expand(batch_size, 1, -1).to(target_dtype)
        embeddings = torch.cat([class_embeds, patch_embeds], dim=1)
        pe = self.w(p + "position_embedding")
        position_embedding = torch.cat([pe[:, :1, :],
                                        self._get_pos_embed(pe[:, 1:, :], height, width)], dim=1)
        return embeddings + position_embedding.to(target_dtype)

    def _vit_norm(self, x, prefix):
        eps = self.vc["layer_norm_eps"]
        if self.vc["norm_type"] == "layer_norm":
            return F.layer_norm(x, (x.shape[-1],), self.w(prefix + ".weight"),
                                self.w(prefix + ".bias"), eps)
        return rms_norm(x, self.w(prefix + ".weight"), eps)

    def vit_attention(self, x, p):
        B, N, C = x.shape
        num_heads = self.vc["num_attention_heads"]
        scale = (C // num_heads) ** -0.5
        bias = self.w(p + "qkv.bias") if self.vc.get("qkv_bias", True) else None
        qkv = F.linear(x, self.w(p + "qkv.weight"), bias)
        qkv = qkv.reshape(B, N, 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if self.vc.get("qk_normalization", False):
            B_, H_, N_, D_ = q.shape
            eps = self.vc["layer_norm_eps"]
            q = rms_norm(q.transpose(1, 2).flatten(-2, -1), self.w(p + "q_norm.weight"),
                         eps).view(B_, N_, H_, D_).transpose(1, 2)
            k = rms_norm(k.transpose(1, 2).flatten(-2, -1), self.w(p + "k_norm.weight"),
                         eps).view(B_, N_, H_, D_).transpose(1, 2)
        attn = (q * scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return F.linear(x, self.w(p + "proj.weight"), self.w(p + "proj.bias"))

    def vit_mlp(self, x, p):
        x = F.linear(x, self.w(p + "fc1.weight"), self.w(p + "fc1.bias"))
        x = F.gelu(x)
        return F.linear(x, self.w(p + "fc2.weight"), self.w(p + "fc2.bias"))

    def vision_model(self, pixel_values):
        """hidden_states tuple: (embeddings, after layer 0, ..., after layer L-1)."""
        h = self.vision_embeddings(pixel_values)
        hidden_states = [h]
        for i in range(self.vc["num_hidden_layers"]):
            p = "vision_model.encoder.layers.%d." % i
            h = h + self.vit_attention(self._vit_norm(h, p + "norm1").to(h.dtype),
                                       p + "attn.") * self.w(p + "ls1")
            h = h + self.vit_mlp(self._vit_norm(h, p + "norm2").to(h.dtype),
                                 p + "mlp.") * self.w(p + "ls2")
            hidden_states.append(h)
        return hidden_states

    def pixel_shuffle(self, x, scale_factor=0.5):
        n, w, h, c = x.size()
        # N, W, H, C --> N, W, H * scale, C // scale
        x = x.view(n, w, int(h * scale_factor), int(c / scale_factor))
        # N, W, H * scale, C // scale --> N, H * scale, W, C // scale
        x = x.permute(0, 2, 1, 3).contiguous()
        # N, H * scale, W, C // scale --> N, H * scale, W * scale, C // (scale ** 2)
        x = x.view(n, int(h * scale_factor), int(w * scale_factor),
                   int(c / (scale_factor * scale_factor)))
        if self.ps_version != "v1":
            x = x.permute(0, 2, 1, 3).contiguous()
        return x

    def mlp1(self, x):
        x = F.layer_norm(x, (x.shape[-1],), self.w("mlp1.0.weight"), self.w("mlp1.0.bias"), 1e-5)
        x = F.linear(x, self.w("mlp1.1.weight"), self.w("mlp1.1.bias"))
        x = F.gelu(x)
        return F.linear(x, self.w("mlp1.3.weight"), self.w("mlp1.3.bias"))

    def vit_features(self, pixel_values):
        """extract_feature() before mlp1: [N, 256, 4C]."""
        vit_embeds = self.vision_model(pixel_values)[self.select_layer]
        vit_embeds = vit_embeds[:, 1:, :]
        h = w = int(vit_embeds.shape[1] ** 0.5)
        vit_embeds = vit_embeds.reshape(vit_embeds.shape[0], h, w, -1)
        vit_embeds = self.pixel_shuffle(vit_embeds, scale_factor=self.downsample_ratio)
        return vit_embeds.reshape(vit_embeds.shape[0], -1, vit_embeds.shape[-1])

    def extract_feature(self, pixel_values):
        return self.mlp1(self.vit_features(pixel_values))

    # ---- language model --------------------------------------------------------------------
    def _names(self):
        if self.arch == "InternLM2ForCausalLM":
            return ("language_model.model.tok_embeddings.weight", "language_model.output.weight")
        return ("language_model.model.embed_tokens.weight", "language_model.lm_head.weight")

    def head_weight(self):
        emb, head = self._names()
        if not self.has(head) and self.lc.get("tie_word_embeddings", False):
            return self.w(emb)  # tied: HF ties lm_head.weight to the input embedding
        return self.w(head)

    def embed(self, input_ids):
        return F.embedding(input_ids, self.w(self._names()[0]))

    def head_dim(self):
        return self.lc.get("head_dim") or self.lc["hidden_size"] // self.lc["num_attention_heads"]

    def longrope(self, seq_len):
        """Phi3SuScaledRotaryEmbedding.forward for a call with max(position_ids) + 1 = seq_len:
        (cos, sin) [seq_len, hd] in the model dtype."""
        lc = self.lc
        scaling = lc["rope_scaling"]
        dim = self.head_dim()
        base = float(lc.get("rope_theta", 10000))
        orig = scaling.get("original_max_position_embeddings",
                           lc.get("original_max_position_embeddings"))
        if seq_len > orig:
            ext_factors = torch.tensor(scaling["long_factor"], dtype=torch.float32)
        else:
            ext_factors = torch.tensor(scaling["short_factor"], dtype=torch.float32)
        inv_freq_shape = torch.arange(0, dim, 2, dtype=torch.int64).float() / dim
        inv_freq = 1.0 / (ext_factors * base ** inv_freq_shape)
        position_ids = torch.arange(seq_len)[None]
        inv_freq_expanded = inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)[0]
        scale = lc["max_position_embeddings"] / orig
        if scaling.get("attention_factor") is not None:
            scaling_factor = scaling["attention_factor"]
        elif scale <= 1.0:
            scaling_factor = 1.0
        else:
            scaling_factor = math.sqrt(1 + math.log(scale) / math.log(orig))
        cos = emb.cos() * scaling_factor
        sin = emb.sin() * scaling_factor
        return cos.to(self.dtype), sin.to(self.dtype)

    def is_longrope(self):
        rs = self.lc.get("rope_scaling")
        return bool(rs) and rs.get("type", rs.get("rope_type")) in ("su", "longrope")

    def rope_tables(self, seq_len, prompt_len=None):
        """(cos, sin) [seq_len, hd] with row p as HF's cached generate() rotates position p: the
        rotary call that computes p has seq_len max(prompt_len, p + 1) (prefill, or p's own
        decode step). Only LongRoPE depends on that; the others are one table."""
        if not self.is_longrope():
            return self.rope(seq_len)
        prompt_len = seq_len if prompt_len is None else prompt_len
        orig = self.lc["rope_scaling"].get("original_max_position_embeddings",
                                           self.lc.get("original_max_position_embeddings"))
        short_cos, short_sin = self.longrope(min(seq_len, orig))
        if seq_len <= orig:
            return short_cos, short_sin
        long_cos, long_sin = self.longrope(seq_len)  # any seq_len > orig: the long factors
        rows = [max(prompt_len, p + 1) > orig for p in range(seq_len)]
        cos = torch.stack([long_cos[p] if r else short_cos[p] for p, r in enumerate(rows)])
        sin = torch.stack([long_sin[p] if r else short_sin[p] for p, r in enumerate(rows)])
        return cos, sin

    def rope(self, seq_len):
        """(cos, sin) [seq_len, hd] in the model dtype, as the upstream rotary caches."""
        lc = self.lc
        dim = self.head_dim()
        base = float(lc.get("rope_theta", 10000))
        scaling = lc.get("rope_scaling")
        if self.is_longrope():
            return self.longrope(seq_len)
        if scaling and self.arch == "InternLM2ForCausalLM" and scaling.get("type") == "dynamic":
            max_pos = lc["max_position_embeddings"]
            factor = scaling["factor"]
            if seq_len > max_pos:
                base = base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
        elif scaling:
            raise ValueError("reference: rope_scaling %r not implemented" % (scaling,))
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        t = torch.arange(seq_len, dtype=inv_freq.dtype)
        freqs = torch.einsum("i,j->ij", t, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(self.dtype), emb.sin().to(self.dtype)

    def _qkv(self, x, p):
        bsz, q_len, _ = x.shape
        lc = self.lc
        nh, nkv = lc["num_attention_heads"], lc["num_key_value_heads"]
        hd = self.head_dim()
        if self.arch == "Phi3ForCausalLM":
            qkv = F.linear(x, self.w(p + "self_attn.qkv_proj.weight"))
            query_pos = nh * hd
            q = qkv[..., :query_pos]
            k = qkv[..., query_pos: query_pos + nkv * hd]
            v = qkv[..., query_pos + nkv * hd:]
            return (q.view(bsz, q_len, nh, hd).transpose(1, 2),
                    k.view(bsz, q_len, nkv, hd).transpose(1, 2),
                    v.view(bsz, q_len, nkv, hd).transpose(1, 2))
        if self.arch == "InternLM2ForCausalLM":
            groups = nh // nkv
            qkv_states = F.linear(x, self.w(p + "attention.wqkv.weight"))
            # rearrange "b q (h gs d) -> b q h gs d", gs=2+G, d=hd
            qkv_states = qkv_states.reshape(bsz, q_len, -1, 2 + groups, hd)
            query_states = qkv_states[..., :groups, :]
            # rearrange "b q h gs d -> b q (h gs) d"
            query_states = query_states.reshape(bsz, q_len, -1, hd)
            key_states = qkv_states[..., -2, :]
            value_states = qkv_states[..., -1, :]
            return (query_states.transpose(1, 2), key_states.transpose(1, 2),
                    value_states.transpose(1, 2))

        def proj(n):
            b = p + "self_attn.%s_proj.bias" % n
            return F.linear(x, self.w(p + "self_attn.%s_proj.weight" % n),
                            self.w(b) if self.has(b) else None)
        q = proj("q").view(bsz, q_len, nh, hd).transpose(1, 2)
        k = proj("k").view(bsz, q_len, nkv, hd).transpose(1, 2)
        v = proj("v").view(bsz, q_len, nkv, hd).transpose(1, 2)
        return q, k, v

    def attention(self, x, p, cos, sin, mask):
        bsz, q_len, hidden = x.shape
        lc = self.lc
        nh, nkv = lc["num_attention_heads"], lc["num_key_value_heads"]
        hd = self.head_dim()
        q, k, v = self._qkv(x, p)
        position_ids = torch.arange(q_len).unsqueeze(0)
        c = cos[position_ids].unsqueeze(1)
        s = sin[position_ids].unsqueeze(1)
        q = (q * c) + (rotate_half(q) * s)
        k = (k * c) + (rotate_half(k) * s)
        k = repeat_kv(k, nh // nkv)
        v = repeat_kv(v, nh // nkv)
        attn_weights = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(hd)
        attn_weights = attn_weights + mask
        attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(attn_weights, v)
        out = out.transpose(1, 2).contiguous().reshape(bsz, q_len, nh * hd)
        if self.arch == "InternLM2ForCausalLM":
            return F.linear(out, self.w(p + "attention.wo.weight"))
        return F.linear(out, self.w(p + "self_attn.o_proj.weight"))

    def decoder_layer(self, x, i, cos, sin, mask):
        p = "language_model.model.layers.%d." % i
        eps = self.lc["rms_norm_eps"]
        if self.arch == "InternLM2ForCausalLM":
            names = ("attention_norm", "ffn_norm", "feed_forward.w1", "feed_forward.w3",
                     "feed_forward.w2")
        else:
            names = ("input_layernorm", "post_attention_layernorm", "mlp.gate_proj",
                     "mlp.up_proj", "mlp.down_proj")
        residual = x
        h = rms_norm(x, self.w(p + names[0] + ".weight"), eps)
        h = residual + self.attention(h, p, cos, sin, mask)
        residual = h
        n = rms_norm(h, self.w(p + names[1] + ".weight"), eps)
        if self.arch == "Phi3ForCausalLM":  # Phi3MLP: gate, up = gate_up.chunk(2); down(up*silu(gate))
            up_states = F.linear(n, self.w(p + "mlp.gate_up_proj.weight"))
            gate, up_states = up_states.chunk(2, dim=-1)
            return residual + F.linear(up_states * F.silu(gate),
                                       self.w(p + "mlp.down_proj.weight"))
        ff = F.linear(F.silu(F.linear(n, self.w(p + names[2] + ".weight"))) *
                      F.linear(n, self.w(p + names[3] + ".weight")),
                      self.w(p + names[4] + ".weight"))
        return residual + ff

    def language_model(self, inputs_embeds, prompt_len=None):
        """Logits [B, T, V] float32 of a full (uncached) forward; prompt_len: the prefill length
        of the cached generation this recomputes (rope_tables), default T."""
        T = inputs_embeds.shape[1]
        cos, sin = self.rope_tables(T, prompt_len)
        mask = torch.full((T, T), torch.finfo(self.dtype).min, dtype=self.dtype)
        mask = torch.triu(mask, diagonal=1)[None, None]
        h = inputs_embeds
        for i in range(self.lc["num_hidden_layers"]):
            h = self.decoder_layer(h, i, cos, sin, mask)
        h = rms_norm(h, self.w("language_model.model.norm.weight"), self.lc["rms_norm_eps"])
        return F.linear(h, self.head_weight()).float()

    def merge(self, input_ids, vit_embeds):
        """generate(): the k-th <IMG_CONTEXT> embedding row is replaced by vit row k."""
        input_embeds = self.embed(input_ids)
        if vit_embeds is None:
            return input_embeds
        B, N, C = input_embeds.shape
        input_embeds = input_embeds.reshape(B * N, C)
        selected = input_ids.reshape(B * N) == self.img_context_token_id
        assert selected.sum() != 0
        input_embeds[selected] = vit_embeds.reshape(-1, C).to(input_embeds.device)
        return input_embeds.reshape(B, N, C)

    @torch.no_grad()
    def greedy(self, input_ids, pixel_values=None, steps=20):
        """(greedy ids [steps], step logits [steps, V]) by full recomputation, no stop ids."""
        vit_embeds = None if pixel_values is None else self.extract_feature(pixel_values)
        ids = torch.tensor([input_ids], dtype=torch.int64)
        out, logits_list = [], []
        for _ in range(steps):
            logits = self.language_model(self.merge(ids, vit_embeds), len(input_ids))[0, -1]
            nxt = int(torch.argmax(logits))
            out.append(nxt)
            logits_list.append(logits)
            ids = torch.cat([ids, torch.tensor([[nxt]], dtype=torch.int64)], dim=1)
        return out, torch.stack(logits_list)


@torch.no_grad()
def make_golden(checkpoint_dir, dtype=torch.float32, steps=20, cases=GOLDEN_CASES):
    """The golden.json object of docs/model-format.md."""
    ref = InternVL2Reference(checkpoint_dir, dtype)
    dtype_name = str(dtype).replace("torch.", "")
    out = {"dtype": dtype_name, "pixel_pattern": PIXEL_PATTERN, "cases": []}
    for case in cases:
        n = case["num_tiles"]
        prompt = build_query(ref.template, case["question"], [n] if n else [],
                             ref.num_image_token)
        input_ids = ref.tokenizer.encode(prompt)
        pixels = pixel_pattern(n, dtype, ref.image_size) if n else None
        greedy_ids, logits = ref.greedy(input_ids, pixels, steps)
        out["cases"].append({
            "name": case["name"], "question": case["question"], "prompt": prompt,
            "num_tiles": n, "input_ids": input_ids, "greedy_ids": greedy_ids,
            "step_logits": [row.tolist() for row in logits.float()],
        })
    return out


def main():
    import argparse
    ap = argparse.ArgumentParser(description="Golden ids and logits of a checkpoint (JSON).")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    golden = make_golden(args.checkpoint, getattr(torch, args.dtype))
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
