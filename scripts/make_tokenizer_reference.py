#!/usr/bin/env python3
"""Write the reference data for the C++ tokenizer tests (CTest fixture tokenizer_reference).

Into OUT:
  tokenizer.model, tokenizer_config.json, special_tokens_map.json, added_tokens.json
                      the tiny InternLM2-style tokenizer (scripts/tiny_tokenizer.py)
  reference.json      {"vocab_size", "cases", "sp_decode", "postprocess"}, every expected value
                      computed with python sentencepiece, independently of the C++ code:

  cases[k] = {
    "text":            the input string
    "ids":             the HF slow tokenizer's ids: [bos] + for each piece of the added-token split
                       (HF's Trie.split, re-implemented below) the added token's id, or the ids of
                       sp.encode(chunk, out_type=str) looked up as HF's convert_tokens_to_ids does
    "decoded":         decode(ids, skip_special=True): drop the skip ids (bos/eos/unk/pad and the
                       additional_special_tokens), sp.decode each run of ordinary ids, other added
                       tokens' text inserted literally between runs
    "decoded_all":     decode(ids, skip_special=False): nothing dropped, every added token literal
    "decoded_hf":      transformers' PreTrainedTokenizer._decode(ids, skip_special_tokens=True) with
                       InternLM2Tokenizer.convert_tokens_to_string (which always applies
                       clean_up_tokenization), re-implemented below
    "has_special":     whether the split found an added token
    "roundtrip":       decode(ids without the leading bos, skip_special=False) == text
    "sp_ids":          plain sp.encode(text): no BOS, no added-token split (user-defined pieces
                       such as <|im_end|> are then kept whole by sentencepiece itself)
  }
  sp_decode[k] = {"ids", "text"}: sp.decode(ids) of random id lists over the whole vocabulary
                       (control, <unk>, byte pieces forming valid and invalid UTF-8, "▁" pieces)
  postprocess[k] = {"decoded", "sep", "expected"}: decoded.split(sep.strip())[0].strip()

Deterministic: fixed seeds; the same output on every run.
"""
import argparse
import json
import os
import random
import sys

import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_tokenizer  # noqa: E402

PADDED_VOCAB = 92553  # InternLM2 (InternVL2-2B/8B/26B): 92544 sentencepiece pieces + 9 added


# ---- HF's Trie (transformers.tokenization_utils.Trie), re-implemented -----------------------------
class Trie:
    def __init__(self, words):
        self.data = {}
        for w in words:
            node = self.data
            for ch in w:
                node = node.setdefault(ch, {})
            node[""] = 1

    def split(self, text):
        states = {}
        offsets = [0]
        skip = 0
        for current, current_char in enumerate(text):
            if skip and current < skip:
                continue
            to_remove = set()
            reset = False
            for start, pointer in states.items():
                if "" in pointer:
                    # A match ends here; look for the longest match among earlier partial starts.
                    for lookstart, lookpointer in states.items():
                        if lookstart > start:
                            break
                        elif lookstart < start:
                            lookahead_index = current + 1
                            end = current + 1
                        else:
                            lookahead_index = current
                            end = current
                        next_char = text[lookahead_index] if lookahead_index < len(text) else None
                        if "" in lookpointer:
                            start = lookstart
                            end = lookahead_index
                            skip = lookahead_index
                        while next_char in lookpointer:
                            lookpointer = lookpointer[next_char]
                            lookahead_index += 1
                            if "" in lookpointer:
                                start = lookstart
                                end = lookahead_index
                                skip = lookahead_index
                            if lookahead_index == len(text):
                                break
                            next_char = text[lookahead_index]
                    offsets.append(start)
                    offsets.append(end)
                    reset = True
                    break
                elif current_char in pointer:
                    states[start] = pointer[current_char]
                else:
                    to_remove.add(start)
            if reset:
                states = {}
            else:
                for start in to_remove:
                    del states[start]
            if current >= skip and current_char in self.data:
                states[current] = self.data[current_char]
        for start, pointer in states.items():
            if "" in pointer:
                offsets.append(start)
                offsets.append(len(text))
                break
        offsets.append(len(text))
        tokens = []
        prev = 0
        for end in offsets:
            if prev > end:
                raise RuntimeError("overlapping matches")
            if prev == end:
                continue
            tokens.append(text[prev:end])
            prev = end
        return tokens


class HfSlowReference:
    """The InternLM2Tokenizer (slow) encode/decode path, on python sentencepiece."""

    def __init__(self, tok_dir):
        with open(os.path.join(tok_dir, "tokenizer_config.json"), encoding="utf-8") as f:
            config = json.load(f)
        with open(os.path.join(tok_dir, "special_tokens_map.json"), encoding="utf-8") as f:
            special_map = json.load(f)
        self.sp = spm.SentencePieceProcessor(model_file=os.path.join(tok_dir, "tokenizer.model"))
        self.add_bos = bool(config.get("add_bos_token", True))
        self.added = {v["content"]: int(k) for k, v in config["added_tokens_decoder"].items()}
        self.added_by_id = {i: t for t, i in self.added.items()}
        names = [special_map[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token")]
        names += special_map["additional_special_tokens"]
        self.special_tokens = set(names)
        self.special_ids = {self.added[t] for t in names}
        self.trie = Trie(self.added.keys())

    # -- encode
    def split(self, text):
        return self.trie.split(text)

    def token_to_id(self, token):
        if token in self.added:
            return self.added[token]
        return self.sp.piece_to_id(token)

    def encode(self, text):
        ids = [self.sp.bos_id()] if self.add_bos else []
        for chunk in self.split(text):
            if chunk in self.added:
                ids.append(self.added[chunk])
            else:
                ids.extend(self.token_to_id(p) for p in self.sp.encode(chunk, out_type=str))
        return ids

    # -- decode as the C++ Tokenizer::decode documents it
    def decode_runs(self, ids, skip_special):
        out, run = [], []
        for i in ids:
            if skip_special and i in self.special_ids:
                continue
            if i in self.added_by_id:
                out.append(self.sp.decode(run))
                run = []
                out.append(self.added_by_id[i])
            else:
                run.append(i)
        out.append(self.sp.decode(run))
        return "".join(out)

    # -- transformers' _decode(skip_special_tokens=True) with InternLM2's convert_tokens_to_string
    @staticmethod
    def clean_up_tokenization(s):
        return (s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m")
                .replace(" 's", "'s").replace(" 've", "'ve").replace(" 're", "'re"))

    def convert_tokens_to_string(self, tokens):
        current, out, prev_is_special = [], "", False
        for token in tokens:
            if token in self.special_tokens:
                if not prev_is_special:
                    out += " "
                out += self.sp.decode(current) + token
                prev_is_special = True
                current = []
            else:
                current.append(token)
                prev_is_special = False
        out += self.sp.decode(current)
        out = self.clean_up_tokenization(out)
        # _maybe_add_prefix_space compares a token string with a set of ids: always adds " ".
        if tokens:
            out = " " + out
        return out[1:]

    def decode_hf(self, ids):
        tokens = [self.added_by_id[i] if i in self.added_by_id else self.sp.id_to_piece(i)
                  for i in ids if i not in self.special_ids]
        vocab = self.sp.get_piece_size()
        legacy = ({t for t in self.added if t not in self.special_tokens}
                  | {t for t in self.special_tokens if self.added[t] >= vocab})
        sub_texts, current = [], []
        for token in tokens:
            if token in legacy:
                if current:
                    s = self.convert_tokens_to_string(current)
                    if s:
                        sub_texts.append(s)
                    current = []
                sub_texts.append(token)
            else:
                current.append(token)
        if current:
            sub_texts.append(self.convert_tokens_to_string(current))
        return " ".join(sub_texts)  # spaces_between_special_tokens=True; no final clean-up


# ---- test strings ---------------------------------------------------------------------------------
SYS = tiny_tokenizer.SYSTEM_MESSAGE
SPECIALS = ["<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<s>", "</s>",
            "<unk>", "<quad>", "</quad>", "<ref>", "</ref>", "<box>", "</box>", "<|plugin|>",
            "<|action_start|>"]
NEAR_SPECIALS = ["<img", "img>", "< img>", "<IMG_CONTEXT", "IMG_CONTEXT>", "<|im_start|",
                 "<|im_end", "<<img>>", "<image>", "</ img>", "<IMG>", "<s", "s>", "<", ">", "|"]
EN = ("the a of to in is on which what where how many color left right car wheel road sign red "
      "green blue Describe image picture question answer option letter directly correct above "
      "below person dog cat tree house Hello World OpenGVLab InternVL LibTorch tokenizer").split()
ZH = list("你好世界图片中的汽车在哪里颜色红绿蓝黄黑白圆形方形三角请直接回答选项字母问题是什么多少个左右上下前后")
ZH += ["上海人工智能实验室", "书生", "，", "。", "？", "！", "：", "“", "”", "（", "）", "、"]
OTHER = ["日本語のテキスト", "한국어 문장", "Привет, мир", "مرحبا بالعالم", "Ελληνικά", "עברית",
         "हिन्दी", "ไทย", "Ünïcödé", "naïve café", "e\u0301", "ﬁ", "½", "Ⅻ", "①②③", "\u00a0",
         "\u3000", "\u200b", "\u2028", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠀀𠀁"]
EMOJI = ["😀", "🚗", "🌳", "👍", "🎉", "🔴", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈",
         "🇨🇳", "🇺🇸", "❤️", "🧑\u200d💻", "1️⃣", "🫠", "✅"]
CODE = ["def f(x):\n\treturn x + 1\n", "for (int i = 0; i < n; ++i) {\n    sum += a[i];\n}",
        "if a == b:\n\tprint('hi')", "std::vector<int> v{1, 2, 3};", "x = [1, 2, 3]  # list",
        "{\"k\": 1, \"v\": [true, null]}", "\t\tdouble tab", "    four spaces", "a_b_c",
        "CamelCase", "snake_case_name", "0x1F", "3.14159", "#include <vector>", "SELECT * FROM t;",
        "<div class=\"x\">text</div>", "a\r\nb", "line1\nline2\n\nline4", "\\n \\t \\\\"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", " \n ", "\t \t", "      ", "\r\n"]
DIGITS = ["0", "7", "42", "2024", "1234567890", "3.5", "-17", "1e10", "100,000", "99%"]


def image_prompt(question, tiles, template="internlm2-chat", num_image_token=256):
    if template == "phi3-chat":
        sys_t, roles, sep = "<|system|>\n{system_message}", ["<|user|>\n", "<|assistant|>\n"], "<|end|>"
    else:
        sys_t = "<|im_start|>system\n{system_message}"
        roles, sep = ["<|im_start|>user\n", "<|im_start|>assistant\n"], "<|im_end|>"
    q = sys_t.format(system_message=SYS) + sep + roles[0] + question + sep + roles[1]
    for n in tiles:
        q = q.replace("<image>", "<img>" + "<IMG_CONTEXT>" * (num_image_token * n) + "</img>", 1)
    return q


def handmade():
    s = ["", " ", "  ", "\n", "\t", "hello", " hello", "hello ", "  hello  ", "Hello world",
         "Hello, world!", "A. B. C. D.", "Answer: B", "It's a dog; isn't it?", "don't , stop .",
         "a , b . c ? d ! e", "the 's and 're and 've and n't", SYS, SYS + "\n" + SYS, "你好",
         " 你好", "你好 world", "world 你好", "English中文mixed混合text", "mañana", "x" * 200,
         " " * 17, "\n" * 5, "a\n\n\nb", "\t\tindented\n\t\tcode", "1 2 3 4 5 6 7 8 9 10",
         "12345678901234567890", "😀", "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈 pride",
         "a😀b", "🇨🇳🇺🇸", "<", ">", "<>", "</", "<|", "|>", "<image>", "<image>\nWhat is this?"]
    for t in SPECIALS:
        s += [t, "a" + t, t + "a", "a" + t + "b", " " + t + " ", "\n" + t + "\n", t + t,
              t * 5, "你" + t + "好", "😀" + t + "😀", "1" + t + "2"]
    s += NEAR_SPECIALS
    s += [n + "x" + n for n in NEAR_SPECIALS]
    s += ["<img><IMG_CONTEXT><IMG_CONTEXT></img>", "<img>" + "<IMG_CONTEXT>" * 256 + "</img>",
          "x<img>y</img>z", "<|im_start|>user\nhi<|im_end|><|im_start|>assistant\n",
          "<|im_end|>\n", "<s>hello</s>", "<s><s></s></s>", "<unk><unk>", "<<img>>",
          "<img</img>>", "<IMG_CONTEXT>>", "<<IMG_CONTEXT>", "<|im_start|><|im_end|>",
          "<|im_start|>>", "<img><img>", "</img></img>", "<quad></quad><ref></ref><box></box>",
          "<ref>car</ref><box>[[1, 2, 3, 4]]</box>", "A<|im_end|>junk"]
    s += [image_prompt("<image>\nDescribe the image.", [13]),
          image_prompt("<image>\nWhat color is the car?", [3]),
          image_prompt("Image-1: <image>\nImage-2: <image>\nCompare them.", [2, 1]),
          image_prompt("<image>\nDescribe the image.", [1], template="phi3-chat"),
          image_prompt("Hello, who are you?", []),
          image_prompt("<image>\n问题：图片中的汽车是什么颜色？\nA. 红\nB. 蓝\n请直接回答选项字母。", [5])]
    s += CODE + OTHER + EMOJI + SPACES + DIGITS
    return s


def random_strings(n, seed=20240611):
    rng = random.Random(seed)
    pools = [EN, ZH, OTHER, EMOJI, CODE, SPACES, DIGITS, SPECIALS, NEAR_SPECIALS]
    weights = [30, 20, 5, 6, 6, 12, 6, 10, 5]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            pool = rng.choices(pools, weights)[0]
            parts.append(rng.choice(pool))
        joiner = rng.choice(["", " ", " ", "\n"])
        s = joiner.join(parts)
        if rng.random() < 0.15:
            s = " " * rng.randint(1, 3) + s
        if rng.random() < 0.15:
            s = s + " " * rng.randint(1, 3)
        out.append(s)
    return out


def sp_decode_cases(sp, n=400, seed=777):
    rng = random.Random(seed)
    size = sp.get_piece_size()
    byte_ids = [i for i in range(size) if sp.is_byte(i)]
    special = [i for i in range(size) if sp.is_control(i) or sp.is_unknown(i)]
    spaces = [i for i in range(size) if sp.id_to_piece(i).startswith("\u2581")]
    utf8_runs = [sp.encode(c, out_type=int)[1:] for c in ["😀", "👍🏽", "中", "é", "𠀀"]]
    cases = []
    for _ in range(n):
        ids = []
        for _ in range(rng.randint(0, 16)):
            r = rng.random()
            if r < 0.3:
                ids.append(rng.choice(byte_ids))
            elif r < 0.4:
                ids.extend(rng.choice(utf8_runs))
            elif r < 0.5:
                ids.append(rng.choice(special))
            elif r < 0.7:
                ids.append(rng.choice(spaces))
            else:
                ids.append(rng.randrange(size))
        cases.append({"ids": ids, "text": sp.decode(ids)})
    return cases


def postprocess_cases():
    decoded = ["A", "A<|im_end|>junk", "  B  ", "\nC\n<|im_end|>", "<|im_end|>", "",
               "The answer is D.<|im_end|><|im_start|>user", "\u3000中文答案\u3000",
               "\u00a0x\u00a0", "\t\n\r\x0b\x0c y \x1c\x1d\x1e\x1f", "\u2003E\u2028", "\x85F\u205f",
               "\u200bG\u200b", "a <|im_end|> b <|im_end|> c", "A<|end|>B", "no sep here  ",
               "\u180eH\u180e", "\ufeffI\ufeff"]
    every_space = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    decoded += [every_space + "Z" + every_space, every_space, every_space + "<|im_end|>x"]
    seps = ["<|im_end|>", "<|end|>", "<|im_end|>\n"]
    return [{"decoded": d, "sep": s, "expected": d.split(s.strip())[0].strip()}
            for s in seps for d in decoded]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder to write the tokenizer and reference.json")
    ap.add_argument("--random", type=int, default=560, help="number of random strings")
    args = ap.parse_args()
    tiny_tokenizer.write_tokenizer(args.out)
    ref = HfSlowReference(args.out)

    texts = handmade() + random_strings(args.random)
    cases = []
    for t in texts:
        ids = ref.encode(t)
        decoded_all = ref.decode_runs(ids, skip_special=False)
        body = ids[1:] if ref.add_bos else ids
        cases.append({"text": t, "ids": ids,
                      "decoded": ref.decode_runs(ids, skip_special=True),
                      "decoded_all": decoded_all,
                      "decoded_hf": ref.decode_hf(ids),
                      "has_special": any(c in ref.added for c in ref.split(t)),
                      "roundtrip": ref.decode_runs(body, skip_special=False) == t,
                      "sp_ids": ref.sp.encode(t)})
    doc = {"vocab_size": ref.sp.get_piece_size(), "cases": cases,
           "sp_decode": sp_decode_cases(ref.sp), "postprocess": postprocess_cases()}
    with open(os.path.join(args.out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    print("wrote %d cases to %s" % (len(cases), os.path.join(args.out, "reference.json")))

    # The same tokenizer padded to a real-size head (make_tiny_checkpoint.py --preset): OUT/padded
    # with padded.json = the python piece count and python sentencepiece's decode of every id, in
    # blocks of 1000 (tests: every id decodes, as python does; the cases above encode unchanged).
    padded = os.path.join(args.out, "padded")
    tiny_tokenizer.write_tokenizer(padded, total_vocab=PADDED_VOCAB)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(padded, "tokenizer.model"))
    n = sp.get_piece_size()
    pdoc = {"total_vocab": PADDED_VOCAB, "vocab_size": n,
            "blocks": [sp.decode(list(range(i, min(n, i + 1000)))) for i in range(0, n, 1000)],
            "sp_ids": [sp.encode(t) for t in texts]}
    with open(os.path.join(padded, "padded.json"), "w", encoding="utf-8") as f:
        json.dump(pdoc, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
