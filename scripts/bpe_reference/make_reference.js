// Reference ids for tests/text/bpe_tokenizer_test.cpp, made by transformers.js (@lenml/tokenizers)
// from the real Llama 3 and Qwen tokenizer.json files. Run by make.sh:
//   node make_reference.js NODE_MODULES_DIR OUT_DIR
// Writes OUT_DIR/strings.json (the test strings), strings_nfc.json (their NFC) and per variant OUT_DIR/<variant>/
// tokenizer.json, tokenizer_config.json (exactly what transformers.js loaded) and reference.json
// {"ids": [[...], ...]} (tokenizer.encode(s), add_special_tokens=true, one entry per string).
//
// Variants: llama3 and qwen (the packages' files as published); llama3_internvl and qwen_internvl
// (as InternVL2-Llama3-76B / InternVL2-1B extend them: <|im_start|>/<|im_end|> in place of the first
// two reserved Llama 3 tokens, InternVL's <img> ... </box> tokens appended, Llama 3's BOS added by a
// TemplateProcessing post-processor, plus test tokens with lstrip/rstrip and normalized=true).
//
// The strings avoid U+0085 and U+FEFF: JavaScript's \s differs there from the Unicode White_Space
// that HF's Rust tokenizers (Oniguruma) use (JS lacks U+0085 and has U+FEFF), and the C++ code
// follows HF.
"use strict";
const fs = require("fs");
const path = require("path");

const [nodeModules, outDir] = process.argv.slice(2);
if (!nodeModules || !outDir) {
  console.error("usage: node make_reference.js NODE_MODULES_DIR OUT_DIR");
  process.exit(2);
}
const { TokenizerLoader } = require(path.join(nodeModules, "@lenml/tokenizers"));
const readJson = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
const pkgModels = (name) => path.join(nodeModules, "@lenml", name, "models");

// ---- deterministic random strings -------------------------------------------------------------
let seed = 20240611;
function rand() {  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const cp = (...c) => String.fromCodePoint(...c);
const range = (lo, hi) => cp(randInt(lo, hi));

const latin = ["Hello", "world", "The quick brown fox jumps over the lazy dog.", "don't", "I'M",
  "we'LL", "they've", "she's", "You'd", "it'S", "O'Reilly", "naïve café", "Ærøskøbing", "straße",
  "ﬁnancial", "Ǆemal", "İstanbul", "ſtraße", "résumé", "coöperate", "a.m.", "e.g.", "U.S.A.",
  "hello-world", "snake_case_name", "CamelCaseWord", "ALLCAPS", "x", "I", "a", "Zürich"];
const cjk = ["你好，世界！", "我们在上海人工智能实验室。", "日本語のテキストです。", "カタカナとひらがな",
  "한국어 문장입니다.", "漢字", "中文English混合", "（全角括号）", "「引用」", "ｆｕｌｌｗｉｄｔｈ ＡＢＣ",
  "描述这张图片。", "𠀀𠀁𪚥", "〇一二三"];
const cyrillic = ["Привет, мир!", "Съешь же ещё этих мягких французских булок", "ЁЖИК", "україна",
  "Ђорђе"];
const arabic = ["مرحبا بالعالم", "اللغة العربية", "٠١٢٣٤٥٦٧٨٩", "فِي ٱلْبَدْءِ", "שלום עולם"];
const devanagari = ["नमस्ते दुनिया", "हिन्दी भाषा", "क्षत्रिय", "संस्कृतम्", "१२३४"];
const otherScripts = ["Γειά σου Κόσμε", "ภาษาไทย", "ქართული", "Հայերեն", "አማርኛ", "ᚠᚢᚦᚨᚱᚲ",
  "𐀀𐀁 Linear B", "\u{E000}\u{F8FF}", "ꙮ", "ᏣᎳᎩ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟘𝟙𝟚"];
const numbers = ["0", "7", "42", "123", "1234", "12345", "3.14159", "1,000,000", "-273.15",
  "1e-10", "0x1F", "2024-06-11", "12:30:45", "99.9%", "$1,234.56", "€20", "１２３", "½", "²³",
  "31415926535897932384626433832795028841971693993751", "000000", "1 2 3", "v1.2.3"];
const whitespace = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n", "\n ", " \t \n",
  "\u00A0", "\u3000", "\u2003", "\u2009", "    ", "\n\n\n", " \r\n\r\n ", "\u2028", "\u202F"];
const code = ["def f(x):\n    return x ** 2\n", "int main() { return 0; }",
  "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}", "{\"key\": [1, 2, 3], \"v\": null}",
  "#include <vector>", "x = y if z else w  # comment", "SELECT * FROM t WHERE id = 1;",
  "<div class=\"a\">text</div>", "a->b, c::d, e=>f", "if (a && b || !c) {}", "console.log(`${x}`);",
  "    indented\n        more", "$ ls -la | grep foo > out.txt", "λx. x + 1", "// TODO: fix",
  "''' doc '''", "\"\"\"", "a\\nb\\tc", "@decorator\nclass A:\n    pass"];
const emoji = ["😀", "👍", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇨🇳", "🇺🇸🇩🇪", "1️⃣", "❤️", "✈️",
  "🧑🏿‍🤝‍🧑🏻", "🤷‍♀️", "👋🏻👋🏼👋🏽👋🏾👋🏿", "🦀🐍", "🫠", "🙂🙃", "☺", "⌚", "🔥🔥🔥"];
const nonNfc = ["e\u0301", "A\u030A", "\u212B", "\u2126", "a\u0323\u0301", "a\u0301\u0323",
  "\u1100\u1161\u11A8", "\u1100\u1161", "o\u0308\u0304", "\u0F73", "\u0958", "n\u0303o",
  "Cafe\u0301", "\u0041\u0300\u0316", "\u00C5\u0301", "\u1E0B\u0323", "\u0344"];
const controls = ["\u0000", "\u0001", "\u001B[0m", "\u007F", "\u200B", "\u200D", "\u00AD",
  "\uFFFD", "\u2060", "\u061C"];
const punct = [".", ",", "!", "?", "...", "—", "–", "'", "\"", "''", "``", "(", ")", "[", "]", "{",
  "}", "<", ">", "/", "\\", "|", "@", "#", "&", "*", "~", "^", ":", ";", "«»", "“”", "‘’", "¿¡",
  "·", "•", "…", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'D"];
const specialsLlama = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
  "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_5|>"];
const specialsQwen = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
  "<tool_call>", "<think>", "</think>"];
const specialsInternVL = ["<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>",
  "<box>", "</box>", "<|im_start|>", "<|im_end|>", "<|strip|>", "<norm>"];
const pools = [latin, cjk, cyrillic, arabic, devanagari, otherScripts, numbers, whitespace, code,
  emoji, nonNfc, controls, punct];
const allSpecials = [...specialsLlama, ...specialsQwen, ...specialsInternVL];

function randomRun() {
  switch (randInt(0, 7)) {
    case 0: return range(0x20, 0x7e).repeat(randInt(1, 3));
    case 1: return range(0x4e00, 0x9fa5) + range(0x4e00, 0x9fa5);
    case 2: return range(0x0400, 0x04ff) + range(0x0430, 0x044f);
    case 3: return range(0x0600, 0x06ff);
    case 4: return range(0x0900, 0x097f) + range(0x0900, 0x097f);
    case 5: return range(0x1f300, 0x1f64f);
    case 6: return String(randInt(0, 1e9)).repeat(randInt(1, 3));
    default: return range(0xac00, 0xd7a3);
  }
}

const strings = [];
// 1. every pool entry on its own, and with a leading / trailing space
for (const pool of pools) {
  for (const s of pool) strings.push(s, " " + s, s + " ");
}
// 2. special tokens touching text
for (const sp of allSpecials) {
  strings.push(sp, "a" + sp + "b", " " + sp + " ", sp + "\n" + pick(latin), pick(cjk) + sp + sp,
    "\n" + sp + "  x", "<" + sp + ">", sp.slice(0, -1));
}
// 3. InternVL-style prompts
const sys = "你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, 是一个有用无害的人工智能助手。";
for (let k = 0; k < 8; ++k) {
  const ctx = "<IMG_CONTEXT>".repeat(randInt(1, 40));
  strings.push("<|im_start|>system\n" + sys + "<|im_end|><|im_start|>user\n<img>" + ctx +
    "</img>\n" + pick(latin) + " " + pick(numbers) + "?<|im_end|><|im_start|>assistant\n");
}
// 4. random mixtures
while (strings.length < 1300) {
  const n = randInt(1, 12);
  let s = "";
  for (let k = 0; k < n; ++k) {
    const r = rand();
    if (r < 0.55) s += pick(pick(pools));
    else if (r < 0.8) s += randomRun();
    else if (r < 0.9) s += pick(whitespace);
    else s += pick(allSpecials);
  }
  strings.push(s);
}
// 5. long inputs: long digit runs, whitespace runs, a long mixed paragraph
strings.push("9".repeat(200), " ".repeat(100), "\t \n".repeat(30), "a".repeat(300),
  "ab".repeat(200), "😀".repeat(50), strings.slice(0, 200).join(" "));

fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, "strings.json"), JSON.stringify(strings));
// What an NFC normalizer makes of each string (decode(encode(s)) of the Qwen tokenizer).
fs.writeFileSync(path.join(outDir, "strings_nfc.json"),
  JSON.stringify(strings.map((s) => s.normalize("NFC"))));

// ---- tokenizer variants -----------------------------------------------------------------------
function addedToken(id, content, special, extra) {
  return Object.assign({ id, content, single_word: false, lstrip: false, rstrip: false,
    normalized: false, special }, extra || {});
}
function configEntry(t) {
  return { content: t.content, lstrip: t.lstrip, normalized: t.normalized, rstrip: t.rstrip,
    single_word: t.single_word, special: t.special };
}
const internvlTokens = ["<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>",
  "<box>", "</box>"];

function extendInternVL(tok, cfg, firstId, extraTokens) {
  const added = [];
  internvlTokens.forEach((c, k) => added.push(addedToken(firstId + k, c, true)));
  let id = firstId + internvlTokens.length;
  for (const t of extraTokens) added.push(addedToken(id++, t.content, t.special, t.flags));
  tok.added_tokens.push(...added);
  cfg.added_tokens_decoder = cfg.added_tokens_decoder || {};
  for (const t of tok.added_tokens) cfg.added_tokens_decoder[String(t.id)] = configEntry(t);
}

const variants = {};
{
  const tok = readJson(path.join(pkgModels("tokenizer-llama3"), "tokenizer.json"));
  const cfg = readJson(path.join(pkgModels("tokenizer-llama3"), "tokenizer_config.json"));
  variants.llama3 = [tok, cfg];
}
{
  const tok = readJson(path.join(pkgModels("tokenizer-llama3"), "tokenizer.json"));
  const cfg = readJson(path.join(pkgModels("tokenizer-llama3"), "tokenizer_config.json"));
  // Hermes-2-Theta-Llama-3 (the LLM of InternVL2-Llama3-76B): ChatML markers in reserved slots.
  tok.added_tokens[2].content = "<|im_start|>";
  tok.added_tokens[3].content = "<|im_end|>";
  tok.post_processor = { type: "Sequence", processors: [
    { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    { type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } },
               { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } },
             { Sequence: { id: "A", type_id: 0 } },
             { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } },
             { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [128000],
                                               tokens: ["<|begin_of_text|>"] } } }] };
  extendInternVL(tok, cfg, 128256, [
    { content: "<|strip|>", special: false, flags: { lstrip: true, rstrip: true } },
    { content: "<norm>", special: false, flags: { normalized: true } }]);
  cfg.eos_token = "<|im_end|>";
  variants.llama3_internvl = [tok, cfg];
}
{
  const tok = readJson(path.join(pkgModels("tokenizer-qwen3"), "tokenizer.json"));
  const cfg = readJson(path.join(pkgModels("tokenizer-qwen3"), "tokenizer_config.json"));
  variants.qwen = [tok, cfg];
}
{
  const tok = readJson(path.join(pkgModels("tokenizer-qwen3"), "tokenizer.json"));
  const cfg = readJson(path.join(pkgModels("tokenizer-qwen3"), "tokenizer_config.json"));
  extendInternVL(tok, cfg, 151669, [
    { content: "<|strip|>", special: false, flags: { lstrip: true, rstrip: true } },
    { content: "<norm>", special: false, flags: { normalized: true } }]);
  variants.qwen_internvl = [tok, cfg];
}

const published = { llama3: "tokenizer-llama3", qwen: "tokenizer-qwen3" };
for (const [name, [tok, cfg]] of Object.entries(variants)) {
  const dir = path.join(outDir, name);
  fs.mkdirSync(dir, { recursive: true });
  if (published[name]) {  // the package's own files, byte for byte
    fs.copyFileSync(path.join(pkgModels(published[name]), "tokenizer.json"),
      path.join(dir, "tokenizer.json"));
    fs.copyFileSync(path.join(pkgModels(published[name]), "tokenizer_config.json"),
      path.join(dir, "tokenizer_config.json"));
  } else {
    fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tok));
    fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(cfg, null, 1));
  }
  const t = TokenizerLoader.fromPreTrained({ tokenizerJSON: tok, tokenizerConfig: cfg });
  const ids = strings.map((s) => t.encode(s, { add_special_tokens: true }));
  fs.writeFileSync(path.join(dir, "reference.json"), JSON.stringify({ ids }));
  console.log(name + ": " + strings.length + " strings");
}
