#!/usr/bin/env python3
"""The placement units of an exported InternVL2 model: clean, TorchScript-able nn.Modules whose
forward signatures are those of docs/model-format.md ("Units: the forward of each kind").

The modules hold weights only (no rotary tables, masks or other device-bound buffers). They are
family-neutral: the exporter maps each family's checkpoint tensors onto them (InternLM2's packed
wqkv is split into q/k/v at export; Phi3's qkv_proj / gate_up_proj likewise). The scripts compile
with torch 1.13 (eager attention) and torch 2.x (eager or scaled_dot_product_attention).

Every constructor takes `device` (default: CPU); device "meta" builds the module with shapes and
dtypes but no storage, which is how `export_internvl2.py --config-only` sizes units it never loads.
"""
import math
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    """w * (x.float() * rsqrt(mean(x.float()^2) + eps)).to(x.dtype); x [..., n]. Without autograd
    (the runtime's inference mode) the product is made in float32 and rounded to x's dtype by one
    kernel, a mul into a tensor of x's dtype: the same bits as the product then .to(x.dtype), one
    kernel fewer (a decode step is mostly kernel launches). out= takes no autograd, hence the two
    forms."""

    def __init__(self, n: int, eps: float, device: Optional[torch.device] = None):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, device=device))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.to(torch.float32)
        inv = torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        if torch.is_grad_enabled():
            return self.weight * (h * inv).to(x.dtype)
        return self.weight * torch.mul(x, inv, out=torch.empty_like(x))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.size(-1) // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


# ---- vision ---------------------------------------------------------------------------------
class VitAttention(nn.Module):
    """InternViT attention over [N, L, C]; optional RMSNorm over all heads of q and k (6B)."""

    def __init__(self, c: int, heads: int, qkv_bias: bool, qk_norm: bool, eps: float,
                 device: Optional[torch.device] = None):
        super().__init__()
        self.heads = heads
        self.head_dim = c // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(c, 3 * c, bias=qkv_bias, device=device)
        self.proj = nn.Linear(c, c, device=device)
        self.qk_norm = qk_norm
        self.q_norm = RMSNorm(c, eps, device) if qk_norm else nn.Identity()
        self.k_norm = RMSNorm(c, eps, device) if qk_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, c = x.size(0), x.size(1), x.size(2)
        qkv = self.qkv(x).view(n, length, 3, c)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]  # [N, L, C] each
        if self.qk_norm:
            q = self.q_norm(q)
            k = self.k_norm(k)
        q = q.reshape(n, length, self.heads, self.head_dim).transpose(1, 2)
        k = k.reshape(n, length, self.heads, self.head_dim).transpose(1, 2)
        v = v.reshape(n, length, self.heads, self.head_dim).transpose(1, 2)
        out = self._attend(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, length, c))

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        # upstream's naive path: softmax in the model dtype, no mask
        attn = torch.matmul(q * self.scale, k.transpose(-2, -1)).softmax(dim=-1)
        return torch.matmul(attn, v)


class VitAttentionSdpa(VitAttention):
    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v)


class VitLayer(nn.Module):
    def __init__(self, c: int, inter: int, heads: int, layer_norm: bool, qkv_bias: bool,
                 qk_norm: bool, eps: float, use_sdpa: bool,
                 device: Optional[torch.device] = None):
        super().__init__()
        self.norm1 = (nn.LayerNorm(c, eps=eps, device=device) if layer_norm
                      else RMSNorm(c, eps, device))
        self.norm2 = (nn.LayerNorm(c, eps=eps, device=device) if layer_norm
                      else RMSNorm(c, eps, device))
        attn_cls = VitAttentionSdpa if use_sdpa else VitAttention
        self.attn = attn_cls(c, heads, qkv_bias, qk_norm, eps, device)
        self.fc1 = nn.Linear(c, inter, device=device)
        self.fc2 = nn.Linear(inter, c, device=device)
        self.ls1 = nn.Parameter(torch.ones(c, device=device))
        self.ls2 = nn.Parameter(torch.ones(c, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x).to(x.dtype)) * self.ls1
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x).to(x.dtype)))) * self.ls2


class VisionUnit(nn.Module):
    """kind "vision": pixel_values [N,3,S,S] D -> [N, (S/p*r)^2, C/r^2] D.
    InternViT (embeddings with a precomputed position table, the first `layers` encoder layers),
    CLS dropped, upstream pixel_shuffle (v1 or v2)."""

    def __init__(self, c: int, inter: int, heads: int, layers: int, patch: int, grid: int,
                 layer_norm: bool, qkv_bias: bool, qk_norm: bool, eps: float,
                 downsample_ratio: float, ps_v2: bool, use_sdpa: bool,
                 device: Optional[torch.device] = None):
        super().__init__()
        self.patch_embedding = nn.Conv2d(3, c, kernel_size=patch, stride=patch, device=device)
        self.class_embedding = nn.Parameter(torch.zeros(1, 1, c, device=device))
        self.position_embedding = nn.Parameter(torch.zeros(1, grid * grid + 1, c, device=device))
        self.layers = nn.ModuleList([VitLayer(c, inter, heads, layer_norm, qkv_bias, qk_norm,
                                              eps, use_sdpa, device) for _ in range(layers)])
        self.scale_factor = downsample_ratio
        self.ps_v2 = ps_v2

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        p = self.patch_embedding(pixel_values)  # [N, C, g, g]
        n = p.size(0)
        p = p.flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(n, 1, -1).to(p.dtype)
        x = torch.cat([cls, p], dim=1) + self.position_embedding.to(p.dtype)
        for layer in self.layers:
            x = layer(x)
        x = x[:, 1:, :]
        g = int(math.sqrt(float(x.size(1))))
        x = x.reshape(n, g, g, -1)
        return self.pixel_shuffle(x).reshape(n, -1, x.size(-1) * 4)

    def pixel_shuffle(self, x: torch.Tensor) -> torch.Tensor:
        n, w, h, c = x.size(0), x.size(1), x.size(2), x.size(3)
        s = self.scale_factor
        x = x.view(n, w, int(h * s), int(c / s))
        x = x.permute(0, 2, 1, 3).contiguous()
        x = x.view(n, int(h * s), int(w * s), int(c / (s * s)))
        if self.ps_v2:
            x = x.permute(0, 2, 1, 3).contiguous()
        return x


class ProjectorUnit(nn.Module):
    """kind "projector" (mlp1): [N, T, 4C] D -> [N, T, H] D. LayerNorm(eps 1e-5), Linear, exact GELU,
    Linear."""

    def __init__(self, c4: int, hidden: int, device: Optional[torch.device] = None):
        super().__init__()
        self.norm = nn.LayerNorm(c4, eps=1e-5, device=device)
        self.fc1 = nn.Linear(c4, hidden, device=device)
        self.fc2 = nn.Linear(hidden, hidden, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(self.norm(x))))


# ---- language model ---------------------------------------------------------------------------
class EmbeddingUnit(nn.Module):
    """kind "embedding": ids [B,T] int64 -> [B,T,H] D."""

    def __init__(self, vocab: int, hidden: int, device: Optional[torch.device] = None):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(vocab, hidden, device=device))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight)


class DecoderLayerUnit(nn.Module):
    """kind "decoder_layer" (format version 3): pre-norm attention + SwiGLU MLP over an external,
    preallocated KV cache, written so that a decode step can be captured in a CUDA graph and so
    that a row's result does not depend on the rows decoded beside it.

    x [R,T,H] D; cos/sin [R,T,hd] D (the rows of each token's position); positions [R,T] int64 on
    the unit's device, consecutive per row: row r holds p_r .. p_r+T-1; k_cache/v_cache
    [B,Cap,nkv,hd] D with B <= R: row r < B writes its keys and values in place at positions[r]
    (index_copy_ at device-side positions: no host value) and attends over its own cache row; rows
    r >= B are padding (version 3): they go through every matmul with the others, so that a
    batched decode step has one shape whatever the number of items in it, but they write nothing
    and their attention output is zero (their position must be a valid one, 0 will do). attend
    (host int) is the cache prefix [0, attend) that the queries read, with p_r + T <= attend <= Cap;
    query t of row r sees key j iff j <= positions[r,t] (the causal mask is made here, on the
    device, from positions). The runtime keeps `attend` fixed over a captured decode step (the
    capacity), so nothing in the call depends on a host integer that changes per step. Returns
    [R,T,H] D. Query head n uses kv head n // (nh/nkv)."""

    def __init__(self, hidden: int, heads: int, kv_heads: int, head_dim: int, inter: int,
                 eps: float, qkv_bias: bool, device: Optional[torch.device] = None):
        super().__init__()
        self.heads = heads
        self.kv_heads = kv_heads
        self.head_dim = head_dim
        self.groups = heads // kv_heads
        self.sqrt_hd = math.sqrt(head_dim)
        self.input_norm = RMSNorm(hidden, eps, device)
        self.q_proj = nn.Linear(hidden, heads * head_dim, bias=qkv_bias, device=device)
        self.k_proj = nn.Linear(hidden, kv_heads * head_dim, bias=qkv_bias, device=device)
        self.v_proj = nn.Linear(hidden, kv_heads * head_dim, bias=qkv_bias, device=device)
        self.o_proj = nn.Linear(heads * head_dim, hidden, bias=False, device=device)
        self.post_norm = RMSNorm(hidden, eps, device)
        self.gate_proj = nn.Linear(hidden, inter, bias=False, device=device)
        self.up_proj = nn.Linear(hidden, inter, bias=False, device=device)
        self.down_proj = nn.Linear(inter, hidden, bias=False, device=device)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                positions: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                attend: int) -> torch.Tensor:
        r, t = x.size(0), x.size(1)
        b = k_cache.size(0)  # rows with a cache; rows b.. are padding
        h = self.input_norm(x)
        q = self.q_proj(h).view(r, t, self.heads, self.head_dim)
        k = self.k_proj(h).view(r, t, self.kv_heads, self.head_dim)
        v = self.v_proj(h).view(r, t, self.kv_heads, self.head_dim)
        # q and k rotated as one tensor: the same elementwise arithmetic in half the kernels
        qk = torch.cat([q, k], 2)
        qk = qk * cos.unsqueeze(2) + rotate_half(qk) * sin.unsqueeze(2)
        q = qk[:, :, :self.heads]
        k = qk[:, :, self.heads:]
        cap = k_cache.size(1)
        if b == 1:  # one cache row (a prefill, or a decode step of one item): its positions
            slots = positions[0]
        else:
            rows = (torch.arange(b, dtype=torch.int64, device=positions.device) * cap).unsqueeze(1)
            slots = (rows + positions[:b]).reshape(-1)
        k_cache.view(b * cap, self.kv_heads, self.head_dim).index_copy_(
            0, slots, k[:b].reshape(b * t, self.kv_heads, self.head_dim))
        v_cache.view(b * cap, self.kv_heads, self.head_dim).index_copy_(
            0, slots, v[:b].reshape(b * t, self.kv_heads, self.head_dim))
        out = self._attend(q, k_cache, v_cache, positions, attend)  # [R, T, nh, hd]
        x = x + self.o_proj(out.reshape(r, t, self.heads * self.head_dim))
        n = self.post_norm(x)
        return x + self.down_proj(F.silu(self.gate_proj(n)) * self.up_proj(n))

    def _repeat_kv(self, x: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            return x
        b, nkv, s, hd = x.size(0), x.size(1), x.size(2), x.size(3)
        return x[:, :, None, :, :].expand(b, nkv, self.groups, s, hd).reshape(
            b, nkv * self.groups, s, hd)

    def _rows(self, outs: List[torch.Tensor]) -> torch.Tensor:
        """The rows' attention outputs [1,T,nh,hd] each as one [B,T,nh,hd]: a single row as it is
        (every prefill, and a CPU decode step of one item; a copy fewer than torch.cat of one)."""
        if len(outs) == 1:
            return outs[0]
        return torch.cat(outs, 0)

    def _pad_rows(self, out: torch.Tensor, rows: int) -> torch.Tensor:
        """out [B,T,nh,hd] -> [rows,T,nh,hd]: the padding rows' attention output is zero."""
        if out.size(0) == rows:
            return out
        pad = torch.zeros([rows - out.size(0), out.size(1), out.size(2), out.size(3)],
                          dtype=out.dtype, device=out.device)
        return torch.cat([out, pad], 0)

    def _visible(self, positions: torch.Tensor, attend: int) -> torch.Tensor:
        """bool [B,1,T,attend]: key j visible to query t of row b iff j <= positions[b,t]."""
        keys = torch.arange(attend, dtype=torch.int64, device=positions.device)
        return (keys.view(1, 1, attend) <= positions.unsqueeze(2)).unsqueeze(1)

    def _attend(self, q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                positions: torch.Tensor, attend: int) -> torch.Tensor:
        """q [R,T,nh,hd] -> [R,T,nh,hd]: upstream's eager attention (scores in D, additive float32
        mask, softmax in float32) for the rows with a cache, one row at a time (so that a row's
        result cannot depend on how many rows the call has), zero for the padding rows."""
        b = k_cache.size(0)
        outs: List[torch.Tensor] = []
        for i in range(b):
            outs.append(self._eager_row(q[i:i + 1], k_cache[i:i + 1], v_cache[i:i + 1],
                                        positions[i:i + 1], attend))
        return self._pad_rows(self._rows(outs), q.size(0))

    def _eager_row(self, q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                   positions: torch.Tensor, attend: int) -> torch.Tensor:
        keys = self._repeat_kv(k_cache[:, :attend].transpose(1, 2))
        values = self._repeat_kv(v_cache[:, :attend].transpose(1, 2))
        scores = torch.matmul(q.transpose(1, 2), keys.transpose(2, 3)) / self.sqrt_hd
        visible = self._visible(positions, attend)
        lowest = -3.4028234663852886e38  # torch.finfo(torch.float32).min: a masked key's score
        mask = torch.zeros(visible.shape, dtype=torch.float32, device=q.device).masked_fill_(
            visible.logical_not(), lowest)
        probs = F.softmax(scores + mask, dim=-1, dtype=torch.float32).to(q.dtype)
        return torch.matmul(probs, values).transpose(1, 2)


class DecoderLayerUnitSdpa(DecoderLayerUnit):
    """The same layer; attention through scaled_dot_product_attention (torch >= 2.0): causal inside
    the kernel for a prefill from position 0 (T == attend), a boolean mask made from positions
    otherwise."""

    def _attend(self, q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                positions: torch.Tensor, attend: int) -> torch.Tensor:
        return self._sdpa(q, k_cache, v_cache, positions, attend)

    def _sdpa(self, q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
              positions: torch.Tensor, attend: int) -> torch.Tensor:
        b = k_cache.size(0)
        outs: List[torch.Tensor] = []
        for i in range(b):  # one row at a time, as _attend
            keys = self._repeat_kv(k_cache[i:i + 1, :attend].transpose(1, 2))
            values = self._repeat_kv(v_cache[i:i + 1, :attend].transpose(1, 2))
            qh = q[i:i + 1].transpose(1, 2)
            if q.size(1) == attend:
                out = F.scaled_dot_product_attention(qh, keys, values, is_causal=True)
            else:
                out = F.scaled_dot_product_attention(
                    qh, keys, values, attn_mask=self._visible(positions[i:i + 1], attend))
            outs.append(out.transpose(1, 2))
        return self._pad_rows(self._rows(outs), q.size(0))


class DecoderLayerUnitFlash(DecoderLayerUnitSdpa):
    """DecoderLayerUnitSdpa whose decode steps (T == 1) on a CUDA device in float16/bfloat16 call
    flash attention's varlen form over the whole cache with seqused_k = positions + 1: it reads only
    the live keys and takes every length from a device tensor, so a captured step stays correct
    for any position (docs/model-format.md). Every one of the R query rows is one sequence of the
    call, padding rows included (each reads keys of the last cache row and is zeroed after), so
    the kernel's split of the keys depends on R and the capacity only, never on how many rows
    carry an item. Needs a torch whose aten::_flash_attention_forward takes seqused_k (2.4 and
    later); the exporter picks this class only then."""

    def _attend(self, q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                positions: torch.Tensor, attend: int) -> torch.Tensor:
        r, t = q.size(0), q.size(1)
        if (t == 1 and q.is_cuda and q.dtype != torch.float32 and self.head_dim % 8 == 0
                and self.head_dim <= 256):
            b, cap = k_cache.size(0), k_cache.size(1)
            # Padding rows (r >= b) read the keys of cache row b - 1 from its start, as many as
            # their position + 1 (the runtime keeps them at position 0: one key); their output
            # is zeroed below. Five kernels where ten did the same.
            seqs_q = torch.arange(r + 1, dtype=torch.int32, device=q.device)
            starts = seqs_q.clamp(max=b - 1) * cap
            used = positions[:, 0].to(torch.int32) + 1
            out = torch.ops.aten._flash_attention_forward(
                q.reshape(r, self.heads, self.head_dim),
                k_cache.view(b * cap, self.kv_heads, self.head_dim),
                v_cache.view(b * cap, self.kv_heads, self.head_dim),
                seqs_q, starts, 1, attend, 0.0, False, False,
                scale=1.0 / self.sqrt_hd, seqused_k=used)[0]
            out = out.view(r, 1, self.heads, self.head_dim)
            if r > b:
                out[b:].zero_()
            return out
        return self._sdpa(q, k_cache, v_cache, positions, attend)


def flash_decode_available() -> bool:
    """Whether this torch can script DecoderLayerUnitFlash (aten::_flash_attention_forward with
    seqused_k)."""
    op = getattr(torch.ops.aten, "_flash_attention_forward", None)
    if op is None:
        return False
    try:
        return "seqused_k" in str(op.default._schema)
    except (AttributeError, RuntimeError):
        return False


class NormUnit(nn.Module):
    """kind "norm": RMSNorm with fp32 upcast, [B,T,H] D -> [B,T,H] D."""

    def __init__(self, hidden: int, eps: float, device: Optional[torch.device] = None):
        super().__init__()
        self.norm = RMSNorm(hidden, eps, device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


class HeadUnit(nn.Module):
    """kind "head": [B,T,H] D -> logits [B,T,V] float32 (matmul in D, then .float()). The weight's
    rows are the vocabulary's padded with zero rows to a multiple of 64 (head_rows), and the
    padding logits are cut off before the cast: every InternVL2 vocabulary size is odd, and a
    matmul whose output rows are not 16-byte aligned gets cuBLAS's one-element-aligned kernel,
    measured at 3.4 times the weight-read time of the 1B head in a decode step on an H100."""

    def __init__(self, vocab: int, hidden: int, device: Optional[torch.device] = None):
        super().__init__()
        self.vocab = vocab
        self.weight = nn.Parameter(torch.zeros(head_rows(vocab), hidden, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)[..., :self.vocab].float()


def head_rows(vocab: int) -> int:
    """The head weight's rows: the vocabulary size rounded up to a multiple of 64."""
    return (vocab + 63) // 64 * 64


def pad_head_weight(weight: torch.Tensor) -> torch.Tensor:
    """[V, H] -> [head_rows(V), H], the added rows zero."""
    rows = head_rows(weight.size(0))
    if rows == weight.size(0):
        return weight
    return torch.cat([weight, weight.new_zeros(rows - weight.size(0), weight.size(1))])


def unit_param_bytes(module: nn.Module) -> int:
    """Bytes of the module's parameters and buffers in their own dtypes (works on "meta")."""
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())


def _owns_storage(t: torch.Tensor) -> bool:
    """True when t is the whole of its storage (not a slice of a larger tensor)."""
    if hasattr(t, "untyped_storage"):
        return t.untyped_storage().nbytes() == t.numel() * t.element_size()
    return t.storage().size() == t.numel()


def set_weights(module: nn.Module, weights: dict, dtype: torch.dtype) -> nn.Module:
    """Give `module` (typically built on "meta") the tensors {state_dict name: tensor}, every entry
    required and shapes checked, each cast to `dtype` and made to own its storage (a slice of a
    packed tensor is copied, so the unit file holds only its own bytes). The parameters are
    replaced, not copied into: no second copy of the unit is ever allocated."""
    sd = module.state_dict(keep_vars=True)
    missing = sorted(set(sd) - set(weights))
    extra = sorted(set(weights) - set(sd))
    if missing or extra:
        raise KeyError("unit weights: missing %s, unexpected %s" % (missing, extra))
    for k, t in weights.items():
        if tuple(t.shape) != tuple(sd[k].shape):
            raise ValueError("unit weight %s: shape %s, expected %s"
                             % (k, list(t.shape), list(sd[k].shape)))
    for k in list(weights):
        t = weights.pop(k).to(dtype)
        if not t.is_contiguous() or not _owns_storage(t):
            t = t.contiguous().clone()
        owner = module
        *path, leaf = k.split(".")
        for part in path:
            owner = getattr(owner, part)
        if leaf in owner._parameters:
            owner._parameters[leaf] = nn.Parameter(t, requires_grad=False)
        else:
            owner._buffers[leaf] = t
    return module.eval()
