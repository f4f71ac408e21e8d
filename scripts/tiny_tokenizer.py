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
"""
import argparse
import json
import os
import random
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


def write_tokenizer(out_dir, vocab_size=1000):
    """Train the model and write the HF tokenizer files. Returns {token: id} of every special token."""
    sp = train(out_dir, vocab_size)
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
    args = ap.parse_args()
    ids = write_tokenizer(args.out, args.vocab_size)
    print(json.dumps(ids, ensure_ascii=False))


if __name__ == "__main__":
    main()
