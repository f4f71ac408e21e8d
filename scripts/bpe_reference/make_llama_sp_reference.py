#!/usr/bin/python3
"""Reference ids for the Llama-style sentencepiece rules (HF LlamaTokenizer, slow, as VLMEvalKit
loads InternVL2-4B's Phi-3 and InternVL2-40B's Yi tokenizers with use_fast=False).

  make_llama_sp_reference.py OUT_DIR STRINGS_JSON

Trains a small sentencepiece BPE model laid out as Phi-3's (byte fallback, <unk>=0 <s>=1 </s>=2,
no extra-whitespace removal, chat tokens added past the vocabulary, <|end|>, <|user|>, ... with
rstrip=True as in Phi-3's tokenizer_config.json), then writes two checkpoint-like folders,
OUT_DIR/llama_sp_legacy_false and OUT_DIR/llama_sp_legacy_true, each with tokenizer.model,
tokenizer_config.json, special_tokens_map.json and reference.json {"texts": [...], "ids": [...]}:
the ids of a port of transformers' LlamaTokenizer.tokenize / _tokenize (legacy False and True)
and PreTrainedTokenizer.tokenize (Trie split, lstrip/rstrip), run with python sentencepiece.
"""
import json
import os
import random
import sys

import sentencepiece as spm

SPIECE_UNDERLINE = "\u2581"
# Phi-3's added chat tokens (ids past the sentencepiece vocabulary); rstrip as Phi-3 has it.
CHAT = [("<|endoftext|>", False, False), ("<|assistant|>", True, False), ("<|end|>", True, False),
        ("<|system|>", True, False), ("<|user|>", True, False)]
INTERNVL = ["<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>", "<box>",
            "</box>"]
LSTRIP_TOKEN = "<|lstrip|>"  # a test token with lstrip=True


def corpus():
    rnd = random.Random(7)
    words = ("the quick brown fox jumps over a lazy dog describe image question answer option "
             "letter left right car road sign red green blue what where how many").split()
    zh = list("你好世界图片中的汽车在哪里颜色红绿蓝")
    lines = []
    for _ in range(3000):
        n = rnd.randint(3, 14)
        lines.append(" ".join(rnd.choice(words) if rnd.random() < 0.8 else
                              "".join(rnd.choice(zh) for _ in range(rnd.randint(1, 3)))
                              for _ in range(n)))
        lines.append("    def f(x):\n        return x + %d" % rnd.randint(0, 99))
    return lines


def without_dummy_prefix(model_bytes):
    """The serialized ModelProto with normalizer_spec.add_dummy_prefix = false (as
    LlamaTokenizer.get_spm_processor does for legacy=False), by appending field 3 = 0 to the
    normalizer_spec message (protobuf: the last value of a field wins)."""
    def varint(data, pos):
        v, shift = 0, 0
        while True:
            b = data[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v, pos
            shift += 7

    def enc_varint(v):
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            out.append(b | (0x80 if v else 0))
            if not v:
                return bytes(out)

    out, pos = bytearray(), 0
    while pos < len(model_bytes):
        key, p = varint(model_bytes, pos)
        field, wire = key >> 3, key & 7
        if wire == 2:
            n, p2 = varint(model_bytes, p)
            payload = model_bytes[p2:p2 + n]
            end = p2 + n
            if field == 3:
                payload = payload + b"\x18\x00"
            out += enc_varint(key) + enc_varint(len(payload)) + payload
        else:
            if wire == 0:
                _, end = varint(model_bytes, p)
            elif wire == 1:
                end = p + 8
            elif wire == 5:
                end = p + 4
            else:
                raise ValueError("wire type %d" % wire)
            out += model_bytes[pos:end]
        pos = end
    return bytes(out)


class SlowLlamaTokenizer:
    """transformers' LlamaTokenizer.__call__(text)["input_ids"] (slow), ported."""

    def __init__(self, model_file, cfg, additional):
        self.legacy = cfg.get("legacy", True) is not False
        data = open(model_file, "rb").read()
        self.sp = spm.SentencePieceProcessor(
            model_proto=data if self.legacy else without_dummy_prefix(data))
        self.added = {e["content"]: (int(i), e) for i, e in cfg["added_tokens_decoder"].items()}
        self.unk_token = cfg["unk_token"]
        self.bos_id = self.added[cfg["bos_token"]][0]
        self.add_bos = cfg.get("add_bos_token", True)
        self.all_special = {cfg["bos_token"], cfg["eos_token"], cfg["unk_token"]} | set(additional)

    def trie_split(self, text):
        out, start, i = [], 0, 0
        toks = sorted(self.added, key=len, reverse=True)
        while i < len(text):
            m = next((t for t in toks if text.startswith(t, i)), None)
            if m is None:
                i += 1
                continue
            if i > start:
                out.append(text[start:i])
            out.append(m)
            i += len(m)
            start = i
        if start < len(text):
            out.append(text[start:])
        return out

    def _tokenize(self, text):
        if self.legacy or not text.startswith((SPIECE_UNDERLINE, " ")):
            return self.sp.encode(text, out_type=str)
        tokens = self.sp.encode(self.unk_token + text, out_type=str)
        n = len(self.sp.encode(str(self.unk_token)))
        return tokens[n:] if len(tokens) >= n else tokens

    def base_tokenize(self, text):  # PreTrainedTokenizer.tokenize
        tokens = self.trie_split(text)
        for i, token in enumerate(tokens):
            if token in self.added:
                e = self.added[token][1]
                left = tokens[i - 1] if i > 0 else None
                right = tokens[i + 1] if i < len(tokens) - 1 else None
                if e.get("rstrip") and right:
                    tokens[i + 1] = right.lstrip()
                if e.get("lstrip") and left:
                    tokens[i - 1] = left.rstrip()
        out = []
        for token in tokens:
            if not token:
                continue
            if token in self.added:
                out.append(token)
            else:
                out.extend(self._tokenize(token))
        return out

    def tokenize(self, text):  # LlamaTokenizer.tokenize
        if self.legacy or len(text) == 0:
            return self.base_tokenize(text)
        text = SPIECE_UNDERLINE + text.replace(SPIECE_UNDERLINE, " ")
        tokens = self.base_tokenize(text)
        if len(tokens) > 1 and tokens[0] == SPIECE_UNDERLINE and tokens[1] in self.all_special:
            tokens = tokens[1:]
        return tokens

    def encode(self, text):
        ids = [self.added[t][0] if t in self.added else self.sp.piece_to_id(t)
               for t in self.tokenize(text)]
        return ([self.bos_id] if self.add_bos else []) + ids


def texts(strings_json):
    sys_msg = ("你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, "
               "是一个有用无害的人工智能助手。")
    out = ["", " ", "  ", "hello", " hello", "hello ", "\u2581hello", "a\u2581b", "\n", "x\n\n y",
           "<|system|>\n" + sys_msg + "<|end|><|user|>\n<img>" + "<IMG_CONTEXT>" * 5 +
           "</img>\nDescribe the image.<|end|><|assistant|>\n",
           "<|user|>\n  Q<|end|>\n<|assistant|>\n A", "<|endoftext|>x", " <|endoftext|> x",
           "<s>hi</s>", "a " + LSTRIP_TOKEN + " b", "a\t\n" + LSTRIP_TOKEN, LSTRIP_TOKEN + "  "]
    for tok, _, _ in CHAT:
        out += [tok, " " + tok + " ", "x" + tok + "\n y", tok + "\u3000z", tok + tok]
    with open(strings_json, encoding="utf-8") as f:
        pool = json.load(f)
    rnd = random.Random(11)
    out += pool[:400]
    specials = [t for t, _, _ in CHAT] + INTERNVL + [LSTRIP_TOKEN]
    for _ in range(300):
        s = ""
        for _ in range(rnd.randint(1, 6)):
            s += rnd.choice(pool) if rnd.random() < 0.6 else rnd.choice(specials)
            if rnd.random() < 0.3:
                s += rnd.choice([" ", "\n", "  ", "\t", ""])
        out.append(s)
    return out


def main(out_dir, strings_json):
    os.makedirs(out_dir, exist_ok=True)
    prefix = os.path.join(out_dir, "llama_sp_model")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_prefix=prefix, model_type="bpe", vocab_size=600,
        byte_fallback=True, normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=True, split_digits=True, allow_whitespace_only_pieces=True,
        character_coverage=0.9995, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        num_threads=1, minloglevel=2)
    vocab = spm.SentencePieceProcessor(model_file=prefix + ".model").get_piece_size()
    added = {"0": {"content": "<unk>", "lstrip": False, "rstrip": False, "special": True},
             "1": {"content": "<s>", "lstrip": False, "rstrip": False, "special": True},
             "2": {"content": "</s>", "lstrip": False, "rstrip": True, "special": True}}
    next_id = vocab
    for tok, rstrip, lstrip in CHAT:
        added[str(next_id)] = {"content": tok, "lstrip": lstrip, "rstrip": rstrip,
                               "special": True}
        next_id += 1
    for tok in INTERNVL:
        added[str(next_id)] = {"content": tok, "lstrip": False, "rstrip": False, "special": True}
        next_id += 1
    added[str(next_id)] = {"content": LSTRIP_TOKEN, "lstrip": True, "rstrip": False,
                           "special": False}
    for entry in added.values():
        entry.update({"normalized": False, "single_word": False})
    additional = ["<|endoftext|>"]
    all_texts = texts(strings_json)
    for legacy in (False, True):
        d = os.path.join(out_dir, "llama_sp_legacy_%s" % str(legacy).lower())
        os.makedirs(d, exist_ok=True)
        with open(prefix + ".model", "rb") as src, open(os.path.join(d, "tokenizer.model"),
                                                       "wb") as dst:
            dst.write(src.read())
        cfg = {"tokenizer_class": "LlamaTokenizer", "legacy": legacy, "add_bos_token": True,
               "add_eos_token": False, "bos_token": "<s>", "eos_token": "<|endoftext|>",
               "unk_token": "<unk>", "pad_token": "<|endoftext|>",
               "clean_up_tokenization_spaces": False, "added_tokens_decoder": added,
               "additional_special_tokens": additional}
        with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(cfg, f, ensure_ascii=False, indent=1)
        with open(os.path.join(d, "special_tokens_map.json"), "w", encoding="utf-8") as f:
            json.dump({"bos_token": "<s>", "eos_token": "<|endoftext|>", "unk_token": "<unk>",
                       "pad_token": "<|endoftext|>", "additional_special_tokens": additional}, f)
        tok = SlowLlamaTokenizer(os.path.join(d, "tokenizer.model"), cfg, additional)
        with open(os.path.join(d, "reference.json"), "w", encoding="utf-8") as f:
            json.dump({"texts": all_texts, "ids": [tok.encode(t) for t in all_texts]}, f,
                      ensure_ascii=False)
    for ext in (".model", ".vocab"):
        os.remove(prefix + ext)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
