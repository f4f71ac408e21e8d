"""The InternVL2 exporter: an OpenGVLab checkpoint -> the model directory of docs/model-format.md.

Modules (they import each other relatively; nothing here imports torch on `import internvl2_export`):
  exporter        export() / export_config_only() / main(): manifest.json, units/*.pt, golden.json
  units           the TorchScript placement units (vision, projector, embedding, decoder layer, ...)
  reference       the eager reference forward and golden cases, written after upstream's modules
  tokenizer       the manifest's tokenizer block from the checkpoint's tokenizer files
  presets         config.json of every published InternVL2 size (for --config-only manifests)
  safetensors_io  safetensors reading and writing with torch + numpy only

Run it as `python3 scripts/export_internvl2.py ...` (the documented command) or, from scripts/,
`python3 -m internvl2_export ...`. Its tests are tests/python/test_internvl2_export/.
"""
