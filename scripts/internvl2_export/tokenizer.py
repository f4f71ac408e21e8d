#!/usr/bin/python3
"""The manifest's tokenizer block, special ids and stop ids, from a checkpoint's tokenizer files.

Used by exporter.py (tokenizer_section) and by scripts/fixtures/bpe_reference/make.sh. Reads the
files itself: no `tokenizers` or `transformers` (sentencepiece only for tokenizer.model).

  * tokenizer.model present -> kind "sentencepiece" (the slow tokenizer VLMEvalKit loads with
    use_fast=False: InternLM2Tokenizer, LlamaTokenizer for Phi-3 and Yi);
  * else tokenizer.json     -> kind "bpe" (Llama 3's PreTrainedTokenizerFast, Qwen2).

CLI (for tests; run from scripts/ or with it on the import path):
`python3 -m internvl2_export.tokenizer FOLDER --encode STRINGS_JSON` prints the ids of
BpeTokenizer (a Python byte-level BPE encoder for eager references) for each string;
`python3 -m internvl2_export.tokenizer FOLDER [--sep SEP]` prints
{"tokenizer": ..., "special_tokens": ... or null, "stop_ids": ... or null} as JSON; special tokens
and stop ids are given when the folder has InternVL's <img> tokens (and SEP, default
"<|im_end|>", is a token).
"""
import argparse
import json
import os
import sys

IMG_START, IMG_END, IMG_CONTEXT = "<img>", "</img>", "<IMG_CONTEXT>"

# transformers' default of clean_up_tokenization_spaces when tokenizer_config.json has none, per
# tokenizer class (InternLM2Tokenizer cleans up whatever the config says).
CLEAN_UP_DEFAULT = {"LlamaTokenizer": False, "Qwen2Tokenizer": False, "Qwen2TokenizerFast": False}


class TokenizerError(Exception):
    """A tokenizer file the exporter cannot take; the message names the file and field."""


def load_json(folder, name, required, error=TokenizerError):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        if required:
            raise error("%s: not found" % path)
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except ValueError as e:
        raise error("%s: not valid JSON (%s)" % (path, e))


def token_str(v):
    return v["content"] if isinstance(v, dict) else v


def _config(folder, error):
    tcfg = load_json(folder, "tokenizer_config.json", True, error)
    smap = load_json(folder, "special_tokens_map.json", False, error)
    additional = [token_str(t) for t in (tcfg.get("additional_special_tokens")
                                         or smap.get("additional_special_tokens") or [])]
    return tcfg, smap, additional


def _named(tcfg, smap, field):
    v = tcfg.get(field, smap.get(field))
    return None if v is None else token_str(v)


def sentencepiece_block(folder, error=TokenizerError):
    """(tokenizer block, token_id function) of a tokenizer.model checkpoint."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, "tokenizer.model"))
    tcfg, smap, additional = _config(folder, error)
    added_json = load_json(folder, "added_tokens.json", False, error)

    added = {}  # id -> {"id", "content", "special"[, "lstrip", "rstrip"]}
    for sid, e in tcfg.get("added_tokens_decoder", {}).items():
        added[int(sid)] = {"id": int(sid), "content": e["content"],
                           "special": bool(e.get("special", False))}
        # The slow tokenizer's AddedToken flags: the token eats the whitespace beside it.
        for flag in ("lstrip", "rstrip"):
            if e.get(flag):
                added[int(sid)][flag] = True
    for tok, i in added_json.items():
        if int(i) not in added:
            added[int(i)] = {"id": int(i), "content": tok, "special": tok in additional}
    by_content = {e["content"]: i for i, e in added.items()}

    def token_id(tok, field):
        if tok in by_content:
            return by_content[tok]
        i = sp.piece_to_id(tok)
        if sp.id_to_piece(i) != tok:
            raise error("%s: %s %r is neither an added token nor a sentencepiece piece"
                        % (folder, field, tok))
        return i

    ids = {}
    for f in ("bos", "eos", "unk", "pad"):
        t = _named(tcfg, smap, f + "_token")
        ids[f] = None if t is None else token_id(t, f + "_token")
    skip = {i for i in ids.values() if i is not None}
    skip.update(token_id(t, "additional_special_tokens") for t in additional)
    cls = tcfg.get("tokenizer_class")
    # LlamaTokenizer (Phi-3, Yi): legacy defaults to True when the config has none (or null).
    legacy = not (cls == "LlamaTokenizer" and tcfg.get("legacy") is False)
    if not legacy and tcfg.get("add_prefix_space", True) is False:
        raise error("%s: LlamaTokenizer with legacy=false and add_prefix_space=false is not "
                    "supported" % os.path.join(folder, "tokenizer_config.json"))
    if cls not in (None, "InternLM2Tokenizer", "LlamaTokenizer"):
        raise error("%s: tokenizer_class %r with a tokenizer.model is not supported "
                    "(InternLM2Tokenizer, LlamaTokenizer)"
                    % (os.path.join(folder, "tokenizer_config.json"), cls))
    if cls == "InternLM2Tokenizer":
        # InternLM2Tokenizer.convert_tokens_to_string always applies transformers'
        # clean_up_tokenization (" ." -> ".", " 's" -> "'s", ...), whatever the config says.
        clean_up = True
    else:
        clean_up = bool(tcfg.get("clean_up_tokenization_spaces", CLEAN_UP_DEFAULT.get(cls, False)))
    block = {
        "kind": "sentencepiece", "file": "tokenizer.model",
        "add_bos": bool(tcfg.get("add_bos_token", True)),
        "bos_id": ids["bos"], "eos_id": ids["eos"], "unk_id": ids["unk"], "pad_id": ids["pad"],
        "added_tokens": [added[i] for i in sorted(added)],
        "skip_ids": sorted(skip),
        "clean_up_tokenization": clean_up,
        "legacy": legacy,
    }
    return block, token_id


def _post_processor_prefix(pp, path, error, where):
    """(prefix ids, suffix ids) a tokenizer.json post_processor puts around a single sequence."""
    if pp is None:
        return [], []
    t = pp.get("type")
    if t == "ByteLevel":
        return [], []
    if t == "Sequence":
        pre, suf = [], []
        for k, p in enumerate(pp.get("processors", [])):
            a, b = _post_processor_prefix(p, "%s.processors[%d]" % (path, k), error, where)
            pre += a
            suf += b
        return pre, suf
    if t != "TemplateProcessing":
        raise error("%s: %s.type %r is not supported (ByteLevel, TemplateProcessing, Sequence)"
                    % (where, path, t))
    pre, suf, seen = [], [], False
    specials = pp.get("special_tokens", {})
    for k, item in enumerate(pp.get("single", [])):
        if "Sequence" in item:
            seen = True
        elif "SpecialToken" in item:
            name = item["SpecialToken"]["id"]
            if name not in specials:
                raise error("%s: %s.special_tokens has no entry %r" % (where, path, name))
            (suf if seen else pre).extend(int(i) for i in specials[name]["ids"])
        else:
            raise error("%s: %s.single[%d] is neither Sequence nor SpecialToken" % (where, path, k))
    return pre, suf


def bpe_block(folder, error=TokenizerError):
    """(tokenizer block, token_id function) of a tokenizer.json checkpoint."""
    where = os.path.join(folder, "tokenizer.json")
    tj = load_json(folder, "tokenizer.json", True, error)
    tcfg, smap, additional = _config(folder, error)
    model = tj.get("model")
    if not isinstance(model, dict) or model.get("type", "BPE") != "BPE":
        raise error("%s: model.type must be \"BPE\", got %r"
                    % (where, model.get("type") if isinstance(model, dict) else model))
    vocab = model.get("vocab")
    if not isinstance(vocab, dict):
        raise error("%s: model.vocab must be an object of token -> id" % where)

    added = {}  # id -> {"id", "content", "special"}
    for k, e in enumerate(tj.get("added_tokens") or []):
        if not isinstance(e, dict) or "id" not in e or "content" not in e:
            raise error("%s: added_tokens[%d] must have id and content" % (where, k))
        added[int(e["id"])] = {"id": int(e["id"]), "content": e["content"],
                               "special": bool(e.get("special", False))}
    # transformers adds tokenizer_config's added_tokens_decoder entries the file lacks.
    for sid, e in tcfg.get("added_tokens_decoder", {}).items():
        if int(sid) in added:
            if added[int(sid)]["content"] != e["content"]:
                raise error("%s: added_tokens_decoder[%s] is %r but tokenizer.json has %r"
                            % (os.path.join(folder, "tokenizer_config.json"), sid, e["content"],
                               added[int(sid)]["content"]))
            continue
        added[int(sid)] = {"id": int(sid), "content": e["content"],
                           "special": bool(e.get("special", False))}
    by_content = {e["content"]: i for i, e in added.items()}

    def token_id(tok, field):
        if tok in by_content:
            return by_content[tok]
        if tok in vocab:
            return int(vocab[tok])
        raise error("%s: %s %r is neither an added token nor in model.vocab" % (where, field, tok))

    ids = {}
    for f in ("bos", "eos", "unk", "pad"):
        t = _named(tcfg, smap, f + "_token")
        ids[f] = None if t is None else token_id(t, f + "_token")
    cls = tcfg.get("tokenizer_class")
    slow = cls in ("Qwen2Tokenizer",)  # VLMEvalKit loads use_fast=False: the slow class exists
    skip = {i for i in ids.values() if i is not None}
    skip.update(token_id(t, "additional_special_tokens") for t in additional)
    if not slow:
        # The Rust decode(skip_special_tokens=True) skips every added token marked special.
        skip.update(i for i, e in added.items() if e["special"])

    prefix, _ = _post_processor_prefix(tj.get("post_processor"), "post_processor", error, where)
    if prefix and (len(prefix) != 1 or prefix[0] != ids["bos"]):
        raise error("%s: post_processor prepends %s, which is not [bos_token id %s]"
                    % (where, prefix, ids["bos"]))
    add_bos = bool(prefix)
    if cls == "LlamaTokenizerFast" and bool(tcfg.get("add_bos_token", True)) != add_bos:
        # LlamaTokenizerFast rebuilds its post-processor from add_bos_token.
        raise error("%s: add_bos_token %s disagrees with tokenizer.json's post_processor "
                    "(LlamaTokenizerFast would rebuild it; not supported)"
                    % (os.path.join(folder, "tokenizer_config.json"), tcfg.get("add_bos_token")))
    block = {
        "kind": "bpe", "file": "tokenizer.json",
        "add_bos": add_bos,
        "bos_id": ids["bos"], "eos_id": ids["eos"], "unk_id": ids["unk"], "pad_id": ids["pad"],
        "added_tokens": [added[i] for i in sorted(added)],
        "skip_ids": sorted(skip),
        # transformers' default before 4.45 was True; Qwen2Tokenizer defaults to False.
        "clean_up_tokenization": bool(tcfg.get("clean_up_tokenization_spaces",
                                               CLEAN_UP_DEFAULT.get(cls, True))),
    }
    return block, token_id


# ---- a Python byte-level BPE encoder (the exporter's eager reference for tokenizer.json models) --
_WHITE_SPACE = ("\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000")
_CLASS_CACHE = {}


def _category_class(prefix):
    """The code points whose general category starts with `prefix`, as re class contents."""
    if prefix not in _CLASS_CACHE:
        import unicodedata
        ranges, start, prev = [], None, None
        for cp in range(0x110000):
            if unicodedata.category(chr(cp)).startswith(prefix):
                if start is None:
                    start = cp
                prev = cp
            elif start is not None:
                ranges.append((start, prev))
                start = None
        if start is not None:
            ranges.append((start, prev))
        _CLASS_CACHE[prefix] = "".join(
            "\\U%08x" % a if a == b else "\\U%08x-\\U%08x" % (a, b) for a, b in ranges)
    return _CLASS_CACHE[prefix]


def python_regex(pattern):
    """A tokenizer.json (Oniguruma) pattern as a Python `re` pattern: \\p{L}, \\p{N} and \\s, \\S
    spelled out (Unicode general categories; \\s = Unicode White_Space)."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            e = pattern[i + 1]
            if e == "p" and pattern[i + 2:i + 3] == "{":
                end = pattern.index("}", i)
                body = _category_class(pattern[i + 3:end])
                out.append(body if in_class else "[" + body + "]")
                i = end + 1
                continue
            if e == "s":
                out.append(_WHITE_SPACE if in_class else "[" + _WHITE_SPACE + "]")
            elif e == "S":
                if in_class:
                    raise ValueError("\\S inside a character class")
                out.append("[^" + _WHITE_SPACE + "]")
            else:
                out.append(c + e)
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out)


def _bytes_to_unicode():
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1))
          + list(range(ord("\xae"), ord("\xff") + 1)))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


class BpeTokenizer:
    """HF Tokenizer.encode(text, add_special_tokens=True) for the byte-level BPE tokenizer.json
    files of Llama 3 and Qwen2 (the subset lib/src/text/bpe_tokenizer.cpp implements: NFC,
    Split(Isolated) + ByteLevel, BPE with ignore_merges, TemplateProcessing), without `tokenizers`.
    Checked against transformers.js by scripts/fixtures/bpe_reference/make.sh (python_ids.json)."""

    def __init__(self, folder):
        import re
        tj = load_json(folder, "tokenizer.json", True)
        self.nfc = False
        norms = [tj.get("normalizer")]
        while norms:
            n = norms.pop()
            if n is None:
                continue
            if n["type"] == "NFC":
                self.nfc = True
            elif n["type"] == "Sequence":
                norms += n["normalizers"]
            else:
                raise TokenizerError("normalizer %r not supported" % n["type"])
        self.splits, self.byte_level, pres = [], False, [tj.get("pre_tokenizer")]
        while pres:
            p = pres.pop(0)
            if p is None:
                continue
            if p["type"] == "Sequence":
                pres = list(p["pretokenizers"]) + pres
            elif p["type"] == "Split":
                self.splits.append(re.compile(python_regex(p["pattern"]["Regex"])))
            elif p["type"] == "ByteLevel" and not p.get("use_regex", True) \
                    and not p.get("add_prefix_space", True):
                self.byte_level = True
            else:
                raise TokenizerError("pre_tokenizer %r not supported" % p)
        m = tj["model"]
        self.vocab = m["vocab"]
        self.ignore_merges = bool(m.get("ignore_merges"))
        self.ranks = {}
        for k, e in enumerate(m["merges"]):
            a, b = e.split(" ") if isinstance(e, str) else e
            self.ranks[(a, b)] = k
        self.byte_map = _bytes_to_unicode()
        self.added = {e["content"]: e for e in tj.get("added_tokens") or []}
        self.prefix, self.suffix = _post_processor_prefix(tj.get("post_processor"),
                                                          "post_processor", TokenizerError, folder)

        def alternation(normalized):
            toks = [t for t, e in self.added.items()
                    if e.get("normalized", not e.get("special", False)) == normalized]
            if any(self.added[t].get("single_word") for t in toks):
                raise TokenizerError("%s: single_word added tokens are not supported" % folder)
            return re.compile("|".join(re.escape(t) for t in sorted(toks, key=len, reverse=True))
                              ) if toks else None
        self._raw_re, self._norm_re = alternation(False), alternation(True)
        self._ws = re.compile("[" + _WHITE_SPACE + "]")

    def token_to_id(self, tok):
        if tok in self.added:
            return self.added[tok]["id"]
        return self.vocab.get(tok)

    def _bpe(self, word):
        if self.ignore_merges and word in self.vocab:
            return [self.vocab[word]]
        parts = list(word)
        while len(parts) > 1:
            best = min(range(len(parts) - 1),
                       key=lambda k: (self.ranks.get((parts[k], parts[k + 1]), 1 << 60), k))
            if (parts[best], parts[best + 1]) not in self.ranks:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        return [self.vocab[p] for p in parts]

    def _split_added(self, rx, text):
        """[(text piece or None, added id or None)]: leftmost-longest matches of `rx`, with the
        lstrip/rstrip whitespace (Unicode White_Space) swallowed as HF's AddedVocabulary does."""
        out, last = [], 0
        for mt in (rx.finditer(text) if rx else []):
            start, stop = mt.start(), mt.end()
            if start < last:  # inside the whitespace a previous rstrip token took
                continue
            e = self.added[mt.group()]
            if e.get("lstrip"):
                while start > last and self._ws.match(text[start - 1]):
                    start -= 1
            if e.get("rstrip"):
                while stop < len(text) and self._ws.match(text[stop]):
                    stop += 1
            if start > last:
                out.append((text[last:start], None))
            out.append((None, e["id"]))
            last = stop
        if last < len(text):
            out.append((text[last:], None))
        return out

    def _normalized(self, text, ids):
        import unicodedata
        if self.nfc:
            text = unicodedata.normalize("NFC", text)
        for piece, tid in self._split_added(self._norm_re, text):
            if tid is None:
                self._piece(piece, ids)
            else:
                ids.append(tid)

    def _piece(self, text, ids):
        pieces = [text]
        for rx in self.splits:
            nxt = []
            for p in pieces:
                last = 0
                for mt in rx.finditer(p):
                    if mt.start() == mt.end():
                        continue
                    if mt.start() > last:
                        nxt.append(p[last:mt.start()])
                    nxt.append(mt.group())
                    last = mt.end()
                if last < len(p):
                    nxt.append(p[last:])
            pieces = nxt
        for p in pieces:
            word = "".join(self.byte_map[b] for b in p.encode("utf-8")) if self.byte_level else p
            ids.extend(self._bpe(word))

    def encode(self, text):
        ids = list(self.prefix)
        for piece, tid in self._split_added(self._raw_re, text):
            if tid is None:
                self._normalized(piece, ids)
            else:
                ids.append(tid)
        return ids + list(self.suffix)


def tokenizer_block(folder, error=TokenizerError):
    if os.path.exists(os.path.join(folder, "tokenizer.model")):
        return sentencepiece_block(folder, error)
    if os.path.exists(os.path.join(folder, "tokenizer.json")):
        return bpe_block(folder, error)
    raise error("%s: no tokenizer.model (sentencepiece) or tokenizer.json (BPE)%s" % (
        folder, "; vocab.json + merges.txt without tokenizer.json are not supported"
        if os.path.exists(os.path.join(folder, "vocab.json")) else ""))


def tokenizer_section(folder, template_sep, error=TokenizerError):
    """(manifest "tokenizer", "special_tokens", "stop_ids") from the checkpoint's tokenizer files."""
    tokenizer, token_id = tokenizer_block(folder, error)
    special_tokens = {
        "img_start": token_id(IMG_START, "image start token"),
        "img_end": token_id(IMG_END, "image end token"),
        "img_context": token_id(IMG_CONTEXT, "image context token"),
    }
    stop_ids = [token_id(template_sep.strip(), "template separator")]
    return tokenizer, special_tokens, stop_ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--sep", default="<|im_end|>")
    ap.add_argument("--encode", metavar="STRINGS_JSON",
                    help="instead: print {\"ids\": [...]}, BpeTokenizer(folder).encode of each string")
    args = ap.parse_args()
    if args.encode:
        with open(args.encode, encoding="utf-8") as f:
            strings = json.load(f)
        tok = BpeTokenizer(args.folder)
        json.dump({"ids": [tok.encode(s) for s in strings]}, sys.stdout)
        print()
        return 0
    try:
        tokenizer, token_id = tokenizer_block(args.folder)
        try:
            _, special, stop = tokenizer_section(args.folder, args.sep)
        except TokenizerError:
            special, stop = None, None
    except TokenizerError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    json.dump({"tokenizer": tokenizer, "special_tokens": special, "stop_ids": stop}, sys.stdout,
              ensure_ascii=False, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
