#!/usr/bin/env python3
"""Train the demo model InternVL2-Demo on DemoShapes, a synthetic image-question set made here.

DemoShapes: 56x56 px PNG images of coloured shapes (circle, square, triangle, diamond in red,
green, blue, yellow, black) placed in the quadrants of the image, and multiple-choice questions
with four options A-D, shuffled per item, in three categories:
  colour        one shape: "What colour is the shape?"
  count         1-4 shapes: "How many shapes are in the image?"
  position      one shape: "Where is the shape?" (top left, top right, bottom left, bottom right)
Splits are VLMEvalKit MCQ TSVs (index, question, A, B, C, D, answer, image, category); `test` is
the held-out split the demo evaluates (DemoShapes.tsv), `train` (other seed) what the model
learns from.

DemoShapesVQA: the short-answer variant, on images drawn the same way, in two categories:
  colour        one shape: "What colour is the shape?" -> the colour word (red, ..., black)
  count         1-4 shapes: "How many shapes are in the image?" -> the count as a digit (1-4)
Splits are VLMEvalKit VQA TSVs in TextVQA_VAL's layout (index, image, question, answer), the
answer a Python-list literal of 10 answers (here ten copies of the one answer), so that the
TextVQA scorer (vqa_textvqa: VQA accuracy) scores it. Digits, not number words: TextVQA's
process_answer maps "two" to "2", so the model's "2" and a "two" both match. `test`
(DemoShapesVQA.tsv, 200 items) is held out, `train` (other seed) is learnt from.

The model is a tiny InternVL2 in the original OpenGVLab layout (InternViT-300M-style ViT, pixel
shuffle + mlp1, InternLM2 LLM with packed wqkv, the sentencepiece tokenizer of tiny_tokenizer.py),
written as float16 safetensors + config.json + tokenizer files, so export_internvl2.py exports it as
it exports a real checkpoint. The prompts are built exactly as the C++ runtime builds InternVL2's
MCQ prompts (internvl2_export.reference.build_query on "<image>\n" + question + "\nA. ...\nAnswer
with the option's letter from the given choices directly."), and each 56 px image is exactly one
tile of the model's 56 px input (no thumbnail). The forward is internvl2_export.reference's own math
on trainable tensors; training runs the prompt prefix shared by every item once per batch (as cached
keys/values) and the last layer only where a loss is taken, which gives the same numbers
(forward_train vs forward_batch).

Losses (Adam): the answer letter after the prompt, the <|im_end|> after the letter, and two
auxiliary ones at positions generation never reads: " yes"/" no" after each option's text (is it
the answer?) and, at the question's "?" and the newline after it, the first and last token of the
right option's text. Each step also takes a batch of DemoShapesVQA items (--vqa-batch), in the
same forward: their prompts are built as the C++ runtime builds InternVL2's prompt for a VQA
dataset of this name (lib/src/data/internvl_prompt.cpp, the default branch, as for TextVQA:
"<image>\n" + question + "\nAnswer the question using a single word or phrase."), and the loss is
on the answer's tokens (as the tokenizer splits prompt + answer) and the <|im_end|> after them.
The MCQ batches (their items and order) and MCQ loss terms are those of a run without the VQA
items (--vqa-batch 0 trains on DemoShapes alone, as the first shipped weights were).

Usage:
  python3 scripts/train_demo_model.py --device cuda --out models/InternVL2-Demo   # GPU, minutes
  /usr/bin/python3 scripts/train_demo_model.py --out DIR      # CPU: slow (hours on 2 busy cores)
  /usr/bin/python3 scripts/train_demo_model.py --data-only --out-data DIR
      # DemoShapes.tsv and DemoShapesVQA.tsv only
  /usr/bin/python3 scripts/train_demo_model.py --out DIR --steps 3 --train-size 64 \
      --vqa-train-size 32 --batch 8 --vqa-batch 4 --eval-size 20   # a smoke run: the whole path
The training log gives each logged step's time and the estimated time left (eta).
On CPU, torch's BLAS matters: Debian's torch 1.13 uses the reference BLAS, about 10x slower than
OpenBLAS (LD_LIBRARY_PATH=<dir of OpenBLAS's libblas.so.3> fixes that for one process).
Data and initialisation are seeded; the data (TSV bytes) is identical on every run.
"""
import argparse
import base64
import io
import json
import math
import os
import random
import re
import shutil
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from fixtures import tiny_tokenizer
from internvl2_export import reference as R
from internvl2_export import safetensors_io

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- data ---------------------------------------------------------------------------------------
IMAGE_SIZE = 56  # one tile of the model's input; quadrant cells of 28 px
COLOURS = {"red": (220, 30, 30), "green": (30, 160, 50), "blue": (30, 60, 210),
           "yellow": (230, 190, 20), "black": (20, 20, 20)}
BACKGROUNDS = [(245, 245, 245), (225, 225, 225), (245, 235, 215)]
KINDS = ["circle", "square", "triangle", "diamond"]
QUADRANTS = ["top left", "top right", "bottom left", "bottom right"]
# A fourth category, "What shape is in the image?", stayed at chance (20-30% after 8000 steps on
# the H100 with a 4-layer, 128-wide ViT and LLM): at 56 px each shape spans four 14 px patches and
# is not learnt at this size. The demo keeps what the model does learn, and learns fully.
CATEGORIES = ["colour", "count", "position"]
LETTERS = "ABCD"
SPLIT_SEEDS = {"train": 1001, "test": 2002}
SPLIT_SIZES = {"train": 20000, "test": 300}
TSV_COLUMNS = ["index", "question", "A", "B", "C", "D", "answer", "image", "category"]
MCQ_SUFFIX = "\nAnswer with the option's letter from the given choices directly."
VQA_CATEGORIES = ["colour", "count"]
VQA_SPLIT_SEEDS = {"train": 3003, "test": 4004}
VQA_SPLIT_SIZES = {"train": 10000, "test": 200}
VQA_TSV_COLUMNS = ["index", "image", "question", "answer"]  # TextVQA_VAL's
VQA_ANSWERS = 10  # TextVQA's answer cell: a list literal of 10 human answers
VQA_SUFFIX = "\nAnswer the question using a single word or phrase."


def draw_shape(draw, kind, colour, cx, cy, r):
    if kind == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif kind == "square":
        s = r - 1
        draw.rectangle([cx - s, cy - s, cx + s, cy + s], fill=colour)
    elif kind == "triangle":
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    else:  # diamond
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=colour)


def render(rng, shapes):
    """shapes: [(kind, colour, quadrant)] -> PNG bytes of a IMAGE_SIZE square image."""
    img = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), rng.choice(BACKGROUNDS))
    draw = ImageDraw.Draw(img)
    cell = IMAGE_SIZE // 2
    for kind, colour, q in shapes:
        r = rng.randint(7, 10)
        cx = (q % 2) * cell + cell // 2 + rng.randint(-3, 3)
        cy = (q // 2) * cell + cell // 2 + rng.randint(-3, 3)
        draw_shape(draw, kind, COLOURS[colour], cx, cy, r)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def make_item(rng, category):
    """{question, options (4, shuffled), answer letter, png, category}."""
    colours = list(COLOURS)
    if category in ("colour", "position"):
        kind, colour, q = rng.choice(KINDS), rng.choice(colours), rng.randrange(4)
        shapes = [(kind, colour, q)]
        if category == "colour":
            question = "What colour is the shape?"
            right, pool = colour, [c for c in colours if c != colour]
        else:
            question = "Where is the shape?"
            right, pool = QUADRANTS[q], [p for i, p in enumerate(QUADRANTS) if i != q]
    else:  # count
        n = rng.randint(1, 4)
        quads = rng.sample(range(4), n)
        shapes = [(rng.choice(KINDS), rng.choice(colours), q) for q in quads]
        question = "How many shapes are in the image?"
        right, pool = str(n), [str(k) for k in range(1, 5) if k != n]
    png = render(rng, shapes)
    options = [right] + rng.sample(pool, 3)
    rng.shuffle(options)
    return {"question": question, "options": options, "answer": LETTERS[options.index(right)],
            "png": png, "category": category}


def make_split(split, n=None):
    """The items of a split: deterministic (Python's random with the split's seed)."""
    n = SPLIT_SIZES[split] if n is None else n
    rng = random.Random(SPLIT_SEEDS[split])
    return [make_item(rng, CATEGORIES[i % len(CATEGORIES)]) for i in range(n)]


def make_vqa_item(rng, category):
    """{question, answer (a colour word or a digit), png, category}."""
    colours = list(COLOURS)
    if category == "colour":
        colour = rng.choice(colours)
        shapes = [(rng.choice(KINDS), colour, rng.randrange(4))]
        question, answer = "What colour is the shape?", colour
    else:  # count
        n = rng.randint(1, 4)
        quads = rng.sample(range(4), n)
        shapes = [(rng.choice(KINDS), rng.choice(colours), q) for q in quads]
        question, answer = "How many shapes are in the image?", str(n)
    return {"question": question, "answer": answer, "png": render(rng, shapes),
            "category": category}


def make_vqa_split(split, n=None):
    """The items of a DemoShapesVQA split: deterministic (Python's random, the split's seed)."""
    n = VQA_SPLIT_SIZES[split] if n is None else n
    rng = random.Random(VQA_SPLIT_SEEDS[split])
    return [make_vqa_item(rng, VQA_CATEGORIES[i % len(VQA_CATEGORIES)]) for i in range(n)]


def vqa_tsv_text(items):
    """TextVQA_VAL's layout; the answer cell is Python's repr of the 10-answer list."""
    lines = ["\t".join(VQA_TSV_COLUMNS)]
    for i, it in enumerate(items):
        row = [str(i), base64.b64encode(it["png"]).decode("ascii"), it["question"],
               repr([it["answer"]] * VQA_ANSWERS)]
        lines.append("\t".join(row))
    return "\n".join(lines) + "\n"


def write_vqa_tsv(items, path):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(vqa_tsv_text(items))


def tsv_text(items):
    lines = ["\t".join(TSV_COLUMNS)]
    for i, it in enumerate(items):
        row = [str(i), it["question"]] + it["options"] + [
            it["answer"], base64.b64encode(it["png"]).decode("ascii"), it["category"]]
        lines.append("\t".join(row))
    return "\n".join(lines) + "\n"


def write_tsv(items, path):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(tsv_text(items))


def mcq_text(item):
    """build_multi_choice_prompt (no hint), as lib/src/data/mcq_prompt.cpp builds it."""
    text = item["question"]
    for letter, opt in zip(LETTERS, item["options"]):
        text += "\n%s. %s" % (letter, opt)
    return text + MCQ_SUFFIX


def prompt_of(item, template, num_image_token):
    """The full chat prompt of one item: reorganize_prompt + template + image expansion."""
    return R.build_query(template, "<image>\n" + mcq_text(item), [1], num_image_token)


def vqa_prompt_of(item, template, num_image_token):
    """The full chat prompt of one DemoShapesVQA item, as build_internvl_prompt makes it for a
    VQA dataset whose name no upstream list names (the default branch: TextVQA's text)."""
    return R.build_query(template, "<image>\n" + item["question"] + VQA_SUFFIX, [1],
                         num_image_token)


def encode_vqa_items(items, tok, template, num_image_token, stop_id):
    """([prompt ids], [answer ids + [<|im_end|>]]) per item: the answer's tokens as the tokenizer
    splits prompt + answer + <|im_end|> (a prompt's ids are a prefix of that, checked)."""
    enc, tails = [], []
    for it in items:
        prompt = vqa_prompt_of(it, template, num_image_token)
        ids = tok.encode(prompt)
        full = tok.encode(prompt + it["answer"] + "<|im_end|>")
        assert full[:len(ids)] == ids and full[-1] == stop_id, it["answer"]
        enc.append(ids)
        tails.append(full[len(ids):])
    return enc, tails


NUMBER_WORDS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
                "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}


def vqa_normalise(text):
    """TextVQA's process_answer as far as these answers need it (lower case, periods and
    articles dropped, number words as digits); the harness's vqa_textvqa is the exact one."""
    words = text.replace("\n", " ").replace("\t", " ").strip().lower().replace(".", "").split()
    return " ".join(NUMBER_WORDS.get(w, w) for w in words if w not in ("a", "an", "the"))


def pixel_values(png):
    """load_image of one 56 px square image: one tile, ToTensor + ImageNet Normalize, float32."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    assert img.size == (IMAGE_SIZE, IMAGE_SIZE), img.size
    x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    return (x - mean) / std


class FastTokenizer:
    """HFSlowTokenizer.encode with a regex split on the added tokens (same result, faster)."""

    def __init__(self, slow):
        self.slow = slow
        toks = sorted(slow.added, key=len, reverse=True)
        self.pattern = re.compile("(" + "|".join(re.escape(t) for t in toks) + ")")

    def encode(self, text):
        ids = [self.slow.bos_id] if self.slow.add_bos else []
        for k, chunk in enumerate(self.pattern.split(text)):
            if k % 2:
                ids.append(self.slow.added[chunk])
            elif chunk:
                ids.extend(self.slow.token_to_id(p) for p in self.slow.sp.encode(chunk,
                                                                                  out_type=str))
        return ids


# ---- model --------------------------------------------------------------------------------------
def make_config(vit_layers=2, vit_width=64, llm_layers=4, llm_width=128):
    vision = {
        "architectures": ["InternVisionModel"], "model_type": "intern_vit_6b",
        "hidden_size": vit_width, "num_hidden_layers": vit_layers, "num_attention_heads": 4,
        "intermediate_size": 4 * vit_width, "image_size": IMAGE_SIZE, "patch_size": 14,
        "num_channels": 3, "hidden_act": "gelu", "layer_norm_eps": 1e-6,
        "attention_dropout": 0.0, "dropout": 0.0, "drop_path_rate": 0.0,
        "initializer_factor": 1.0, "initializer_range": 0.02, "use_flash_attn": False,
        "norm_type": "layer_norm", "qk_normalization": False, "qkv_bias": True,
        "torch_dtype": "float16",
    }
    llm = {
        "architectures": ["InternLM2ForCausalLM"], "model_type": "internlm2",
        "hidden_size": llm_width, "num_hidden_layers": llm_layers, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 2 * llm_width,
        "vocab_size": tiny_tokenizer_vocab(), "max_position_embeddings": 32768,
        "hidden_act": "silu", "initializer_range": 0.02, "bos_token_id": 1, "eos_token_id": 2,
        "pad_token_id": 2, "tie_word_embeddings": False, "use_cache": True,
        "torch_dtype": "float16", "attn_implementation": "eager", "bias": False,
        "rms_norm_eps": 1e-5, "rope_theta": 1000000, "rope_scaling": {"type": "dynamic",
                                                                      "factor": 2.0},
        "auto_map": {"AutoConfig": "configuration_internlm2.InternLM2Config",
                     "AutoModel": "modeling_internlm2.InternLM2ForCausalLM",
                     "AutoModelForCausalLM": "modeling_internlm2.InternLM2ForCausalLM"},
    }
    return {
        "architectures": ["InternVLChatModel"], "model_type": "internvl_chat",
        "auto_map": {"AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
                     "AutoModel": "modeling_internvl_chat.InternVLChatModel",
                     "AutoModelForCausalLM": "modeling_internvl_chat.InternVLChatModel"},
        "template": "internlm2-chat", "downsample_ratio": 0.5, "force_image_size": IMAGE_SIZE,
        "ps_version": "v2", "select_layer": -1, "dynamic_image_size": True,
        "use_thumbnail": True, "min_dynamic_patch": 1, "max_dynamic_patch": 12,
        "use_backbone_lora": 0, "use_llm_lora": 0, "torch_dtype": "float16",
        "llm_config": llm, "vision_config": vision,
    }


def tiny_tokenizer_vocab(sp_vocab=1000):
    return sp_vocab + len(tiny_tokenizer.INTERNVL_TOKENS)


def init_weights(cfg, seed):
    """Standard initialisation (normal std 0.02, norms 1, layer scales 1), by upstream names."""
    g = torch.Generator().manual_seed(seed)

    def normal(*shape, std=0.02):
        return torch.randn(*shape, generator=g) * std

    vc, lc = cfg["vision_config"], cfg["llm_config"]
    C, I, P = vc["hidden_size"], vc["intermediate_size"], vc["patch_size"]
    grid = (vc["image_size"] // P) ** 2
    w = {}
    p = "vision_model.embeddings."
    w[p + "class_embedding"] = normal(1, 1, C)
    w[p + "patch_embedding.weight"] = normal(C, 3, P, P)
    w[p + "patch_embedding.bias"] = torch.zeros(C)
    w[p + "position_embedding"] = normal(1, grid + 1, C)
    for i in range(vc["num_hidden_layers"]):
        p = "vision_model.encoder.layers.%d." % i
        for n in ("norm1", "norm2"):
            w[p + n + ".weight"] = torch.ones(C)
            w[p + n + ".bias"] = torch.zeros(C)
        w[p + "attn.qkv.weight"] = normal(3 * C, C)
        w[p + "attn.qkv.bias"] = torch.zeros(3 * C)
        w[p + "attn.proj.weight"] = normal(C, C)
        w[p + "attn.proj.bias"] = torch.zeros(C)
        w[p + "mlp.fc1.weight"] = normal(I, C)
        w[p + "mlp.fc1.bias"] = torch.zeros(I)
        w[p + "mlp.fc2.weight"] = normal(C, I)
        w[p + "mlp.fc2.bias"] = torch.zeros(C)
        w[p + "ls1"] = torch.ones(C)
        w[p + "ls2"] = torch.ones(C)
    H, V, Il = lc["hidden_size"], lc["vocab_size"], lc["intermediate_size"]
    nh, nkv = lc["num_attention_heads"], lc["num_key_value_heads"]
    hd = H // nh
    C4 = int(C / cfg["downsample_ratio"] ** 2)
    w["mlp1.0.weight"] = torch.ones(C4)
    w["mlp1.0.bias"] = torch.zeros(C4)
    w["mlp1.1.weight"] = normal(H, C4)
    w["mlp1.1.bias"] = torch.zeros(H)
    w["mlp1.3.weight"] = normal(H, H)
    w["mlp1.3.bias"] = torch.zeros(H)
    w["language_model.model.tok_embeddings.weight"] = normal(V, H)
    for i in range(lc["num_hidden_layers"]):
        p = "language_model.model.layers.%d." % i
        w[p + "attention_norm.weight"] = torch.ones(H)
        w[p + "attention.wqkv.weight"] = normal((nh + 2 * nkv) * hd, H)
        w[p + "attention.wo.weight"] = normal(H, nh * hd)
        w[p + "ffn_norm.weight"] = torch.ones(H)
        w[p + "feed_forward.w1.weight"] = normal(Il, H)
        w[p + "feed_forward.w3.weight"] = normal(Il, H)
        w[p + "feed_forward.w2.weight"] = normal(H, Il)
    w["language_model.model.norm.weight"] = torch.ones(H)
    w["language_model.output.weight"] = normal(V, H)
    return w


class TrainableInternVL2(R.InternVL2Reference):
    """internvl2_export.reference's forward on trainable float32 tensors instead of checkpoint
    reads."""

    def __init__(self, checkpoint_dir, params):
        super().__init__(checkpoint_dir, torch.float32)
        self.params = params

    def w(self, name):
        return self.params[name]

    def has(self, name):
        return name in self.params

    def forward_batch(self, ids, pixels):
        """ids [B, T] (right-padded: causal attention never sees the padding of a row),
        pixels [B, 3, S, S] -> logits [B, T, V]: the reference's own forward."""
        vit = self.extract_feature(pixels)
        return self.language_model(self.merge(ids, vit))

    def _attend(self, q, k, v, mask, p):
        lc = self.lc
        nh, nkv = lc["num_attention_heads"], lc["num_key_value_heads"]
        hd = lc["hidden_size"] // nh
        k = R.repeat_kv(k, nh // nkv)
        v = R.repeat_kv(v, nh // nkv)
        a = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(hd) + mask
        a = F.softmax(a, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(a, v)
        B, _, T, _ = out.shape
        out = out.transpose(1, 2).reshape(B, T, nh * hd)
        return F.linear(out, self.w(p + "attention.wo.weight"))

    def forward_train(self, prefix_ids, ids, pixels, pos):
        """The same forward, cheaper: the prompt prefix shared by every item (prefix_ids [P],
        up to the first image token) runs once at batch 1 and serves as cached keys/values of
        the item tokens ids [B, S] (right-padded); logits only at the positions pos [B, K]
        (item coordinates) -> [B, K, V]."""
        lc = self.lc
        eps = lc["rms_norm_eps"]
        P, (B, S) = prefix_ids.shape[0], ids.shape
        hp = self.embed(prefix_ids[None])
        hs = self.merge(ids, self.extract_feature(pixels))
        dev = ids.device
        cos, sin = (t.to(dev) for t in self.rope(P + S))
        big = torch.finfo(torch.float32).min
        mask_p = torch.triu(torch.full((P, P), big, device=dev), diagonal=1)
        mask_s = torch.cat([torch.zeros(S, P, device=dev),
                            torch.triu(torch.full((S, S), big, device=dev), diagonal=1)], dim=1)
        b = torch.arange(B, device=dev)[:, None]
        pos = pos.to(dev)

        def rope(x, start, n):
            c, s = cos[start:start + n][None, None], sin[start:start + n][None, None]
            return x * c + R.rotate_half(x) * s

        def ffn(h, p):
            n = R.rms_norm(h, self.w(p + "ffn_norm.weight"), eps)
            return h + F.linear(F.silu(F.linear(n, self.w(p + "feed_forward.w1.weight"))) *
                                F.linear(n, self.w(p + "feed_forward.w3.weight")),
                                self.w(p + "feed_forward.w2.weight"))

        L = lc["num_hidden_layers"]
        for i in range(L):
            p = "language_model.model.layers.%d." % i
            qp, kp, vp = self._qkv(R.rms_norm(hp, self.w(p + "attention_norm.weight"), eps), p)
            qs, ks, vs = self._qkv(R.rms_norm(hs, self.w(p + "attention_norm.weight"), eps), p)
            kp, ks = rope(kp, 0, P), rope(ks, P, S)
            kall = torch.cat([kp.expand(B, -1, -1, -1), ks], dim=2)
            vall = torch.cat([vp.expand(B, -1, -1, -1), vs], dim=2)
            qs = rope(qs, P, S)
            if i + 1 < L:
                hp = ffn(hp + self._attend(rope(qp, 0, P), kp, vp, mask_p[None, None], p), p)
                hs = ffn(hs + self._attend(qs, kall, vall, mask_s[None, None], p), p)
            else:  # the last layer: only the rows whose logits are asked for
                q = qs.permute(0, 2, 1, 3)[b, pos].permute(0, 2, 1, 3)  # [B, nh, K, hd]
                hs = ffn(hs[b, pos] + self._attend(q, kall, vall, mask_s[pos][:, None], p), p)
        h = R.rms_norm(hs, self.w("language_model.model.norm.weight"), eps)
        return F.linear(h, self.w(self._names()[1])).float()


def encode_items(items, tok, template, num_image_token):
    """[(prompt ids, letter)] for every item."""
    return [tok.encode(prompt_of(it, template, num_image_token)) for it in items]


def common_prefix(enc, stop_before):
    """Length of the token prefix every prompt shares, ending before the first `stop_before`
    token (<IMG_CONTEXT>: image rows must stay in the item part)."""
    n = enc[0].index(stop_before)
    for seq in enc:
        n = next((k for k in range(n) if seq[k] != enc[0][k]), n)
    return n


def make_batch(enc, P, idx, tails, pad_id):
    """Item tokens after the shared prefix P, each followed by tails[i] (the tokens to score
    after the prompt), right-padded: ids [B, S]; positions whose logits predict tails: [B, K]."""
    rows = [enc[i][P:] + list(tails[k]) for k, i in enumerate(idx)]
    S = max(len(r) for r in rows)
    ids = torch.full((len(rows), S), pad_id, dtype=torch.int64)
    for b, r in enumerate(rows):
        ids[b, :len(r)] = torch.tensor(r)
    K = len(tails[0])
    pos = torch.tensor([[len(enc[i]) - P - 1 + k for k in range(K)] for i in idx])
    return ids, pos


@torch.no_grad()
def predict(model, enc, pix, pad_id, batch=100, full=False):
    """(first greedy token, second greedy token after it) per item, no cache; full=True: by the
    reference's full forward (forward_batch) instead of forward_train."""
    P = common_prefix(enc, model.img_context_token_id)
    dev = pix.device
    prefix = torch.tensor(enc[0][:P], device=dev)
    firsts, seconds = [], []
    for s in range(0, len(enc), batch):
        idx = list(range(s, min(len(enc), s + batch)))
        first = None
        for step in range(2):
            tails = [[pad_id] if step == 0 else [first[k], pad_id] for k in range(len(idx))]
            ids, pos = make_batch(enc, P, idx, tails, pad_id)
            ids, pos = ids.to(dev), pos[:, step:step + 1].to(dev)
            if full:
                full_ids = torch.cat([prefix[None].expand(len(idx), -1), ids], dim=1)
                logits = model.forward_batch(full_ids, pix[idx])
                logits = logits[torch.arange(len(idx), device=dev)[:, None], pos + P]
            else:
                logits = model.forward_train(prefix, ids, pix[idx], pos)
            tok = [int(t) for t in torch.argmax(logits[:, 0], dim=-1)]
            if step == 0:
                first = tok
            else:
                second = tok
        firsts += first
        seconds += second
    return firsts, seconds


def accuracy(model, enc, items, pix, letter_ids, stop_id, pad_id, full=False):
    """(overall, {category: acc}, fraction of items whose second token is the stop token)."""
    first, second = predict(model, enc, pix, pad_id, full=full)
    by_id = {v: k for k, v in letter_ids.items()}
    hits, per = [], {}
    for it, f in zip(items, first):
        h = by_id.get(f) == it["answer"]
        hits.append(h)
        per.setdefault(it["category"], []).append(h)
    stops = sum(s == stop_id for s in second) / len(second)
    return (sum(hits) / len(hits), {k: sum(v) / len(v) for k, v in sorted(per.items())}, stops)


def make_vqa_batch(enc, tails, P, idx, pad_id, K):
    """VQA items idx: tokens after the shared prefix P, each followed by its tail (answer ids +
    <|im_end|>), right-padded: ids [B, S]; the K positions whose logits predict the tail
    (a tail shorter than K repeats its last one) [B, K]; the targets there, split in answer
    tokens and the <|im_end|> ([B, K] each, -100 where none)."""
    rows = [enc[i][P:] + tails[i] for i in idx]
    S = max(len(r) for r in rows)
    ids = torch.full((len(rows), S), pad_id, dtype=torch.int64)
    for b, r in enumerate(rows):
        ids[b, :len(r)] = torch.tensor(r)
    pos, answer, stop = [], [], []
    for i in idx:
        n = len(tails[i])
        assert n <= K, (n, K)
        pos.append([len(enc[i]) - P - 1 + min(k, n - 1) for k in range(K)])
        answer.append([tails[i][k] if k < n - 1 else -100 for k in range(K)])
        stop.append([tails[i][k] if k == n - 1 else -100 for k in range(K)])
    pos = torch.tensor(pos)
    nxt = ids.gather(1, pos + 1)  # the logits at pos predict the token after it: the tail's
    assert all(int(nxt[b, k]) == tails[i][k] for b, i in enumerate(idx)
               for k in range(len(tails[i])))
    return ids, pos, torch.tensor(answer), torch.tensor(stop)


def cat_rows(a, b, pad_id):
    """Two right-padded id batches [Ba, Sa], [Bb, Sb] as one [Ba + Bb, max(Sa, Sb)]."""
    S = max(a.shape[1], b.shape[1])
    return torch.cat([F.pad(a, (0, S - a.shape[1]), value=pad_id),
                      F.pad(b, (0, S - b.shape[1]), value=pad_id)])


@torch.no_grad()
def predict_vqa(model, enc, pix, pad_id, stop_id, steps, batch=100, full=False):
    """Greedy answers, no cache: per item (ids before the first <|im_end|>, stopped?) after at
    most `steps` tokens; full=True: by the reference's full forward (forward_batch)."""
    P = common_prefix(enc, model.img_context_token_id)
    dev = pix.device
    prefix = torch.tensor(enc[0][:P], device=dev)
    out = []
    for s in range(0, len(enc), batch):
        idx = list(range(s, min(len(enc), s + batch)))
        gen = [[] for _ in idx]
        for step in range(steps):
            rows = [enc[i][P:] + gen[k] for k, i in enumerate(idx)]
            ids = torch.full((len(rows), max(map(len, rows))), pad_id, dtype=torch.int64)
            for b, r in enumerate(rows):
                ids[b, :len(r)] = torch.tensor(r)
            ids = ids.to(dev)
            pos = torch.tensor([[len(enc[i]) - P - 1 + step] for i in idx], device=dev)
            if full:
                full_ids = torch.cat([prefix[None].expand(len(idx), -1), ids], dim=1)
                logits = model.forward_batch(full_ids, pix[idx])
                logits = logits[torch.arange(len(idx), device=dev)[:, None], pos + P]
            else:
                logits = model.forward_train(prefix, ids, pix[idx], pos)
            for k, t in enumerate(torch.argmax(logits[:, 0], dim=-1).tolist()):
                gen[k].append(int(t))
            if all(stop_id in g for g in gen):
                break
        out += [(g[:g.index(stop_id)], True) if stop_id in g else (g, False) for g in gen]
    return out


def vqa_accuracy(model, enc, items, pix, tok, stop_id, pad_id, full=False, steps=8):
    """(VQA accuracy as vqa_textvqa gives it for ten equal answers: 1 when the normalised
    answers are equal, else 0; {category: acc}; fraction of answers ended by <|im_end|>)."""
    answers = predict_vqa(model, enc, pix, pad_id, stop_id, steps, full=full)
    n_sp = tok.sp.get_piece_size()
    hits, per = [], {}
    for it, (ids, _) in zip(items, answers):
        text = tok.sp.decode([i for i in ids if i < n_sp])
        h = vqa_normalise(text) == vqa_normalise(it["answer"])
        hits.append(h)
        per.setdefault(it["category"], []).append(h)
    stops = sum(s for _, s in answers) / len(answers)
    return (sum(hits) / len(hits), {k: sum(v) / len(v) for k, v in sorted(per.items())}, stops)


def option_spans(seq, tok, letter_ids):
    """{letter: (first, last) index of that option's text tokens} in one encoded prompt, from
    the line "<newline>X. text<newline>"."""
    nl, dot = tok.sp.piece_to_id("<0x0A>"), tok.sp.piece_to_id(".")
    by_id = {v: k for k, v in letter_ids.items()}
    ends = {}
    for j in range(len(seq) - 2):
        if seq[j] == nl and seq[j + 1] in by_id and seq[j + 2] == dot:
            k = seq.index(nl, j + 3)
            ends[by_id[seq[j + 1]]] = (j + 3, k - 1)
    assert sorted(ends) == list(LETTERS), ends
    return ends


def special_ids(tok):
    letters = {}
    for L in LETTERS:
        i = tok.sp.piece_to_id(L)
        assert tok.sp.id_to_piece(i) == L, L
        letters[L] = i
    return letters, tok.token_to_id("<|im_end|>"), 2


def evaluate_checkpoint(checkpoint_dir, items, vqa_items):
    """Held-out scores of a saved checkpoint by the eager reference (weights as stored,
    computed in float32): DemoShapes (accuracy, per category, stop fraction) and DemoShapesVQA
    (VQA accuracy, per category, stop fraction)."""
    ref = R.InternVL2Reference(checkpoint_dir, torch.float32)
    params = {n: ref.ckpt.get(n).to(torch.float32) for n in ref.ckpt.keys()}
    model = TrainableInternVL2(checkpoint_dir, params)
    tok = FastTokenizer(model.tokenizer)
    enc = encode_items(items, tok, model.template, model.num_image_token)
    pix = torch.stack([pixel_values(it["png"]) for it in items])
    letters, stop_id, pad_id = special_ids(model.tokenizer)
    mcq = accuracy(model, enc, items, pix, letters, stop_id, pad_id, full=True)
    venc, _ = encode_vqa_items(vqa_items, tok, model.template, model.num_image_token, stop_id)
    vpix = torch.stack([pixel_values(it["png"]) for it in vqa_items])
    vqa = vqa_accuracy(model, venc, vqa_items, vpix, model.tokenizer, stop_id, pad_id, full=True)
    return mcq, vqa


# ---- training -----------------------------------------------------------------------------------
def train(args):
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    work = tempfile.mkdtemp(prefix="internvl2-demo-")
    try:
        cfg = make_config(args.vit_layers, args.vit_width, args.llm_layers, args.llm_width)
        tiny_tokenizer.write_tokenizer(work, 1000)
        with open(os.path.join(work, "config.json"), "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        params = init_weights(cfg, args.seed)
        safetensors_io.save_checkpoint({k: v.half() for k, v in params.items()}, work)
        dev = torch.device(args.device)
        params = {k: v.to(dev).requires_grad_(True) for k, v in params.items()}
        model = TrainableInternVL2(work, params)
        tok = FastTokenizer(model.tokenizer)
        letters, stop_id, pad_id = special_ids(model.tokenizer)

        train_items = make_split("train", args.train_size)
        test_items = make_split("test")
        enc = encode_items(train_items, tok, model.template, model.num_image_token)
        test_enc = encode_items(test_items, tok, model.template, model.num_image_token)
        for k in range(5):  # the fast tokenizer equals the reference's
            assert enc[k] == model.tokenizer.encode(
                prompt_of(train_items[k], model.template, model.num_image_token))
        pix = torch.stack([pixel_values(it["png"]) for it in train_items]).to(dev)
        test_pix = torch.stack([pixel_values(it["png"]) for it in test_items]).to(dev)
        vqa_items = make_vqa_split("train", args.vqa_train_size)
        vqa_test = make_vqa_split("test")
        venc, vtails = encode_vqa_items(vqa_items, tok, model.template, model.num_image_token,
                                        stop_id)
        vtest_enc, _ = encode_vqa_items(vqa_test, tok, model.template, model.num_image_token,
                                        stop_id)
        for k in range(min(5, len(vqa_items))):
            assert venc[k] == model.tokenizer.encode(
                vqa_prompt_of(vqa_items[k], model.template, model.num_image_token))
        vpix = torch.stack([pixel_values(it["png"]) for it in vqa_items]).to(dev)
        vtest_pix = torch.stack([pixel_values(it["png"]) for it in vqa_test]).to(dev)
        n_eval, n_veval = (len(test_items), len(vqa_test)) if args.eval_size is None else (
            min(args.eval_size, len(test_items)), min(args.eval_size, len(vqa_test)))
        print("data: %d train, %d test items, prompt %d-%d tokens; VQA %d train, %d test items, "
              "prompt %d-%d tokens, answer %d-%d tokens + <|im_end|> (%.0f s)" % (
                  len(train_items), len(test_items), min(map(len, enc)), max(map(len, enc)),
                  len(vqa_items), len(vqa_test), min(map(len, venc)), max(map(len, venc)),
                  min(map(len, vtails)) - 1, max(map(len, vtails)) - 1, time.time() - t0),
              flush=True)

        P = common_prefix(enc + test_enc + venc + vtest_enc, model.img_context_token_id)
        assert enc[0][P - 1] == model.tokenizer.token_to_id(R.IMG_START), P
        prefix = torch.tensor(enc[0][:P], device=dev)
        spans = [option_spans(seq, model.tokenizer, letters) for seq in enc]
        qid = model.tokenizer.sp.piece_to_id("?")
        qmark = [seq.index(qid) for seq in enc]
        assert all(enc[i][q + 1] == model.tokenizer.sp.piece_to_id("<0x0A>")
                   for i, q in enumerate(qmark))
        yes_id, no_id = model.tokenizer.sp.piece_to_id("\u2581yes"), model.tokenizer.sp.piece_to_id(
            "\u2581no")
        K = 2 + len(LETTERS) + 2  # an MCQ row's positions: letter, stop, 4 options, "?", newline
        opt = torch.optim.Adam(list(params.values()), lr=args.lr, betas=(0.9, 0.98))
        rng = random.Random(args.seed)
        vrng = random.Random(args.seed + 1)  # its own order: the MCQ batches stay as they were
        order, vorder = [], []
        t_loop = time.time()

        def held_out():
            acc, per, stops = accuracy(model, test_enc[:n_eval], test_items[:n_eval],
                                       test_pix[:n_eval], letters, stop_id, pad_id)
            vacc, vper, vstops = vqa_accuracy(model, vtest_enc[:n_veval], vqa_test[:n_veval],
                                              vtest_pix[:n_veval], model.tokenizer, stop_id,
                                              pad_id)
            return " | held-out acc %.3f %s stop %.2f | VQA acc %.3f %s stop %.2f" % (
                acc, " ".join("%s=%.2f" % kv for kv in per.items()), stops, vacc,
                " ".join("%s=%.2f" % kv for kv in vper.items()), vstops)

        for step in range(args.steps):
            lr = args.lr * min(1.0, (step + 1) / args.warmup) * (
                0.5 * (1 + math.cos(math.pi * step / args.steps)) * 0.95 + 0.05)
            for grp in opt.param_groups:
                grp["lr"] = lr
            if len(order) < args.batch:
                perm = list(range(len(train_items)))
                rng.shuffle(perm)
                order += perm
            idx, order = order[:args.batch], order[args.batch:]
            tails = [(letters[train_items[i]["answer"]], stop_id) for i in idx]
            ids, pos = make_batch(enc, P, idx, tails, pad_id)
            # auxiliary targets: after each option's text, " yes" if it is the answer, else " no"
            # and at the question's "?" and the newline after it, the first and the last token
            # of the right option's text
            aux_pos = torch.tensor([[spans[i][L][1] - P for L in LETTERS] +
                                    [qmark[i] - P, qmark[i] + 1 - P] for i in idx])
            aux_tgt = torch.tensor([[yes_id if L == train_items[i]["answer"] else no_id
                                     for L in LETTERS] +
                                    [enc[i][spans[i][train_items[i]["answer"]][0]],
                                     enc[i][spans[i][train_items[i]["answer"]][1]]]
                                    for i in idx], device=dev)
            pos = torch.cat([pos, aux_pos], dim=1)
            pixels = pix[idx]
            if args.vqa_batch:
                # the VQA rows after the MCQ rows, in the same forward (right padding and the
                # causal mask keep every row's numbers its own)
                if len(vorder) < args.vqa_batch:
                    perm = list(range(len(vqa_items)))
                    vrng.shuffle(perm)
                    vorder += perm
                vidx, vorder = vorder[:args.vqa_batch], vorder[args.vqa_batch:]
                vids, vpos, v_answer, v_stop = make_vqa_batch(venc, vtails, P, vidx, pad_id, K)
                ids = cat_rows(ids, vids, pad_id)
                pos = torch.cat([pos, vpos])
                pixels = torch.cat([pixels, vpix[vidx]])
            logits = model.forward_train(prefix, ids.to(dev), pixels, pos)
            B = len(idx)
            tgt = torch.tensor(tails, device=dev)
            loss = (F.cross_entropy(logits[:B, 0], tgt[:, 0]) +
                    args.stop_weight * F.cross_entropy(logits[:B, 1], tgt[:, 1]) +
                    args.aux_weight * F.cross_entropy(logits[:B, 2:].reshape(-1, logits.shape[-1]),
                                                      aux_tgt.reshape(-1)))
            if args.vqa_batch:
                vlogits = logits[B:].reshape(-1, logits.shape[-1])
                vloss = (F.cross_entropy(vlogits, v_answer.to(dev).reshape(-1), ignore_index=-100) +
                         args.stop_weight * F.cross_entropy(vlogits, v_stop.to(dev).reshape(-1),
                                                            ignore_index=-100))
                loss = loss + args.vqa_weight * vloss
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
            opt.step()
            if (step + 1) % args.log_every == 0 or step == args.steps - 1:
                per_step = (time.time() - t_loop) / (step + 1)
                msg = "step %d/%d loss %.4f lr %.2e %.0f s, eta %.0f s" % (
                    step + 1, args.steps, loss.item(), lr, time.time() - t0,
                    per_step * (args.steps - step - 1))
                if (step + 1) % args.eval_every == 0 or step == args.steps - 1:
                    msg += held_out()
                print(msg, flush=True)

        # The checkpoint, OpenGVLab layout, float16 weights.
        out = args.out
        os.makedirs(out, exist_ok=True)
        weights = {k: v.detach().cpu().half() for k, v in params.items()}
        safetensors_io.save_checkpoint(weights, out)
        for name in ("config.json", "tokenizer.model", "tokenizer_config.json",
                     "special_tokens_map.json", "added_tokens.json"):
            shutil.copyfile(os.path.join(work, name), os.path.join(out, name))
        write_tsv(test_items, os.path.join(out, "DemoShapes.tsv"))
        write_vqa_tsv(vqa_test, os.path.join(out, "DemoShapesVQA.tsv"))
        elapsed = time.time() - t0
        (acc, per, stops), (vacc, vper, vstops) = evaluate_checkpoint(
            out, test_items[:n_eval], vqa_test[:n_veval])
        print("saved %s (float16), trained in %.0f s; held-out (%d + %d items, eager reference):"
              " DemoShapes acc %.4f %s stop %.2f; DemoShapesVQA VQA acc %.4f %s stop %.2f" % (
                  out, elapsed, n_eval, n_veval, acc,
                  " ".join("%s=%.3f" % kv for kv in per.items()), stops, vacc,
                  " ".join("%s=%.3f" % kv for kv in vper.items()), vstops), flush=True)
        return acc, vacc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models", "InternVL2-Demo"),
                    help="checkpoint folder to write (also gets the held-out DemoShapes.tsv and "
                         "DemoShapesVQA.tsv)")
    ap.add_argument("--data-only", action="store_true",
                    help="write the TSVs of --splits into --out-data and stop")
    ap.add_argument("--out-data", default=None, help="folder for --data-only")
    ap.add_argument("--splits", default="test", help="comma list of splits for --data-only")
    ap.add_argument("--name", default="DemoShapes", help="TSV name of the test split")
    ap.add_argument("--vqa-name", default="DemoShapesVQA",
                    help="TSV name of the DemoShapesVQA test split")
    ap.add_argument("--seed", type=int, default=0)
    # Defaults: the run that makes the shipped weights (--device cuda on the H100; DemoShapes
    # alone took 224 s there, the VQA rows add about half as many rows per step).
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--stop-weight", type=float, default=0.5)
    ap.add_argument("--aux-weight", type=float, default=0.5,
                    help="weight of the auxiliary yes/no loss after each option's text")
    ap.add_argument("--train-size", type=int, default=SPLIT_SIZES["train"])
    ap.add_argument("--vqa-batch", type=int, default=32,
                    help="DemoShapesVQA items per step, beside --batch MCQ items (0: none)")
    ap.add_argument("--vqa-weight", type=float, default=1.0,
                    help="weight of the DemoShapesVQA loss (answer tokens + stop-weighted "
                         "<|im_end|>)")
    ap.add_argument("--vqa-train-size", type=int, default=VQA_SPLIT_SIZES["train"])
    ap.add_argument("--eval-size", type=int, default=None,
                    help="held-out items scored in the log and at the end, per set (default: "
                         "all; the TSVs written are always whole)")
    ap.add_argument("--vit-layers", type=int, default=4)
    ap.add_argument("--vit-width", type=int, default=128)
    ap.add_argument("--llm-layers", type=int, default=4)
    ap.add_argument("--llm-width", type=int, default=128)
    ap.add_argument("--device", default="cpu", help="torch device to train on: cpu, cuda")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: best on a busy machine)")
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=500)
    args = ap.parse_args(argv)
    if args.data_only:
        out = args.out_data or "."
        os.makedirs(out, exist_ok=True)
        for split in args.splits.split(","):
            name = args.name if split == "test" else "%s_%s" % (args.name, split)
            write_tsv(make_split(split), os.path.join(out, name + ".tsv"))
            print(os.path.join(out, name + ".tsv"))
            name = args.vqa_name if split == "test" else "%s_%s" % (args.vqa_name, split)
            write_vqa_tsv(make_vqa_split(split), os.path.join(out, name + ".tsv"))
            print(os.path.join(out, name + ".tsv"))
        return
    train(args)


if __name__ == "__main__":
    main()
