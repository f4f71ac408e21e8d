#!/usr/bin/env python3
"""Train a real (small) sentencepiece tokenizer laid out as InternVL2's InternLM2 tokenizer.

Writes, into OUT:
  tokenizer.model            sentencepiece BPE model, byte fallback, <unk>=0 <s>=1 </s>=2, and the
                             InternLM2 chat tokens (<|im_start|>, <|im_end|>, ...) as single pieces
  tokenizer_config.json      as the OpenGVLab checkpoints have it: InternLM2Tokenizer, add_bos_token,
                             added_tokens_decoder with every special id
  special_tokens_map.json    bos/eos/unk/pad and additional_special_tokens
  added_tokens.json          the InternVL tokens (<img>, </img>, <IMG_CONTEXT>, <quad>, ...), which lie
                             past the sentencepiece vocabulary as in the real checkpoints

Deterministic: the same corpus and trainer settings give the same model on every run.

--total-vocab V (the real-size presets of make_tiny_checkpoint.py): the sentencepiece model is
padded with filler pieces to V - 9 pieces, so that with the InternVL tokens after it every id of a
real-size head (e.g. 92553 for InternLM2, 151655 for Qwen2) is a token, as in the real checkpoints
(InternLM2: sentencepiece 92544, added 92544..92552). See pad_model for why the fillers never
change how text is encoded.
"""
import argparse
import json
import os
import random
import struct
import tempfile

import sentencepiece as spm

# In the sentencepiece model itself (user-defined symbols, never split).
CHAT_TOKENS = ["<|plugin|>", "<|interpreter|>", "<|action_end|>", "<|action_start|>",
               "<|im_end|>", "<|im_start|>"]
# Added by InternVL's fine-tuning (tokenizer.add_tokens(..., special_tokens=True)), past the vocab.
INTERNVL_TOKENS = ["<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>",
                   "<box>", "</box>"]

SYSTEM_MESSAGE = ("你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, "
                  "是一个有用无害的人工智能助手。")

_EN = ("the a an of to in is on which what where how many color colour shape left right up down "
       "front back car wheel road sign red green blue yellow black white circle square triangle "
       "image picture question answer option letter choices directly select correct above below "
       "there are this that with from for and or not yes no straight facing direction count "
       "number large small near far top bottom middle center person people dog cat tree house "
       "Describe the scene. Answer with the option's letter from the given choices directly.").split()
_ZH = list("你好世界图片中的汽车在哪里颜色红绿蓝黄黑白圆形方形三角请直接回答选项字母问题是什么多少个左右上下前后")
_CODE = ["def f(x):", "return x + 1", "for i in range(10):", "if a == b:", "print('hi')",
         "int main() { return 0; }", "std::vector<int> v;", "x = [1, 2, 3]", "{\"k\": 1}",
         "    indent", "\tTab", "a_b_c", "CamelCase", "snake_case_name", "0x1F", "3.14159"]
_EMOJI = ["😀", "🚗", "🌳", "👍", "🎉", "🔴", "🟢", "🔵"]


def corpus_lines(n=6000, seed=1234):
    rng = random.Random(seed)
    lines = [SYSTEM_MESSAGE] * 20
    for _ in range(n):
        kind = rng.random()
        if kind < 0.55:
            words = [rng.choice(_EN) for _ in range(rng.randint(3, 14))]
            line = " ".join(words)
            if rng.random() < 0.3:
                line = line.capitalize() + "?"
        elif kind < 0.75:
            line = "".join(rng.choice(_ZH) for _ in range(rng.randint(4, 20)))
        elif kind < 0.9:
            line = " ".join(rng.choice(_CODE) for _ in range(rng.randint(1, 3)))
        else:
            line = " ".join(rng.choice(_EN + _EMOJI) for _ in range(rng.randint(2, 8)))
        if rng.random() < 0.3:
            line = "%s. %s" % (rng.choice("ABCD"), line)
        if rng.random() < 0.2:
            line += " %d" % rng.randint(0, 100000)
        lines.append(line)
    return lines


def train(out_dir, vocab_size=1000):
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write("\n".join(corpus_lines()) + "\n")
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=os.path.join(out_dir, "tokenizer"), model_type="bpe",
            vocab_size=vocab_size, character_coverage=0.9995, byte_fallback=True,
            split_digits=True, allow_whitespace_only_pieces=True, remove_extra_whitespaces=False,
            normalization_rule_name="identity", add_dummy_prefix=True,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
            user_defined_symbols=CHAT_TOKENS, num_threads=1, minloglevel=2)
    os.remove(os.path.join(out_dir, "tokenizer.vocab"))
    return spm.SentencePieceProcessor(model_file=os.path.join(out_dir, "tokenizer.model"))


# Filler pieces are "▁" + two characters of CJK Extension A, which the training corpus never has.
FILLER_CHARS = [chr(c) for c in range(0x3400, 0x4DC0)]
_SPACE = "\u2581"


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(data, pos):
    shift = n = 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return n, pos


def filler_piece(k):
    """The k-th filler piece (k < len(FILLER_CHARS) ** 2)."""
    n = len(FILLER_CHARS)
    return _SPACE + FILLER_CHARS[k // n] + FILLER_CHARS[k % n]


def pad_model(path, pieces):
    """Append NORMAL filler pieces to the sentencepiece model at `path` until it has `pieces`.

    The ModelProto is edited on the wire (repeated field 1 = SentencePiece {1: piece, 2: score,
    3: type}; the new entries go right after the last piece), so no protobuf package is needed.
    A filler is "▁xy" with x, y from CJK Extension A, which no trained piece contains: BPE only
    forms a piece by merging two current symbols, and neither "▁x" nor "xy" is a piece, so no
    text ever encodes to a filler (encoding is unchanged); decoding one gives " xy"."""
    with open(path, "rb") as f:
        data = f.read()
    pos, end_of_pieces, count, texts = 0, None, 0, []
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        assert wire == 2, "unexpected wire type %d in %s" % (wire, path)
        n, pos = _read_varint(data, pos)
        if field == 1:
            sub, spos = data[pos:pos + n], 0
            while spos < len(sub):  # the piece text (field 1) of this SentencePiece
                k, spos = _read_varint(sub, spos)
                if k & 7 == 2:
                    m, spos = _read_varint(sub, spos)
                    if k >> 3 == 1:
                        texts.append(sub[spos:spos + m].decode("utf-8"))
                    spos += m
                elif k & 7 == 5:
                    spos += 4
                else:
                    _, spos = _read_varint(sub, spos)
            count += 1
            end_of_pieces = pos + n
        pos += n
    assert end_of_pieces is not None and count <= pieces, (count, pieces)
    assert pieces - count <= len(FILLER_CHARS) ** 2, pieces
    fillers = set(FILLER_CHARS)
    assert not any(c in fillers for t in texts for c in t), "a trained piece has a filler char"
    extra = bytearray()
    for k in range(pieces - count):
        text = filler_piece(k).encode("utf-8")
        body = (b"\x0a" + _varint(len(text)) + text + b"\x15" + struct.pack("<f", -1e6 - k)
                + b"\x18\x01")
        extra += b"\x0a" + _varint(len(body)) + body
    with open(path + ".tmp", "wb") as f:
        f.write(data[:end_of_pieces] + bytes(extra) + data[end_of_pieces:])
    os.replace(path + ".tmp", path)


def write_tokenizer(out_dir, vocab_size=1000, total_vocab=None):
    """Train the model and write the HF tokenizer files. Returns {token: id} of every special token.
    total_vocab: pad the model (pad_model) so that it and the InternVL tokens make that many ids."""
    sp = train(out_dir, vocab_size)
    if total_vocab is not None:
        model = os.path.join(out_dir, "tokenizer.model")
        pad_model(model, total_vocab - len(INTERNVL_TOKENS))
        sp = spm.SentencePieceProcessor(model_file=model)
    n = sp.get_piece_size()
    ids = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for tok in CHAT_TOKENS:
        ids[tok] = sp.piece_to_id(tok)
        assert sp.id_to_piece(ids[tok]) == tok, tok
    added = {tok: n + k for k, tok in enumerate(INTERNVL_TOKENS)}
    ids.update(added)

    decoder = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                        "single_word": False, "special": True}
               for t, i in sorted(ids.items(), key=lambda kv: kv[1])}
    additional = CHAT_TOKENS + INTERNVL_TOKENS
    config = {
        "add_bos_token": True, "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": additional,
        "auto_map": {"AutoTokenizer": ["tokenization_internlm2.InternLM2Tokenizer", None]},
        "bos_token": "<s>", "clean_up_tokenization_spaces": False, "eos_token": "</s>",
        "model_max_length": 1000000000000000019884624838656, "pad_token": "</s>",
        "tokenizer_class": "InternLM2Tokenizer", "unk_token": "<unk>",
    }
    special_map = {"additional_special_tokens": additional, "bos_token": "<s>",
                   "eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"}
    for name, obj in (("tokenizer_config.json", config), ("special_tokens_map.json", special_map),
                      ("added_tokens.json", added)):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=2)
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder to write the tokenizer files into")
    ap.add_argument("--vocab-size", type=int, default=1000, help="sentencepiece vocabulary size")
    ap.add_argument("--total-vocab", type=int, default=None,
                    help="pad with filler pieces to this many ids, the InternVL tokens included")
    args = ap.parse_args()
    ids = write_tokenizer(args.out, args.vocab_size, args.total_vocab)
    print(json.dumps(ids, ensure_ascii=False))


if __name__ == "__main__":
    main()
