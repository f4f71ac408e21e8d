"""The shipped demo model (models/InternVL2-Demo) and its held-out set DemoShapes.

- The eager reference (scripts/internvl2_export/reference.py: its own prompt builder, slow tokenizer
  and greedy decoding by full recomputation) answers >= 90% of a subset of the shipped held-out TSV
  correctly, and stops with <|im_end|> after the letter. The prompt, the pixels and the letter
  extraction are built here from the TSV columns, not by the training script.
- The data generator (scripts/train_demo_model.py --data-only) writes the shipped TSVs again byte
  for byte (DemoShapes.tsv and DemoShapesVQA.tsv, on two runs), and their md5s are the ones
  configs/datasets/DemoShapes.yaml and DemoShapesVQA.yaml name.
- DemoShapesVQA is in TextVQA_VAL's layout: index, image, question, answer (a list literal of ten
  equal answers: a colour word or a digit).
- Once the shipped checkpoint is trained on DemoShapesVQA too (VQA_TRAINED), the eager reference
  answers >= 90% of a subset of DemoShapesVQA with the right word, then <|im_end|>.
- The shipped checkpoint stays small.

Run: /usr/bin/python3 -m unittest discover -s tests/python -p test_demo_model.py
"""
import ast
import base64
import csv
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
from PIL import Image

from scripts_dir import ROOT, SCRIPTS  # first: puts scripts/ on sys.path
from internvl2_export import reference as R

MODEL = os.path.join(ROOT, "models", "InternVL2-Demo")
TSV = os.path.join(MODEL, "DemoShapes.tsv")
DATASET_YAML = os.path.join(ROOT, "configs", "datasets", "DemoShapes.yaml")
VQA_TSV = os.path.join(MODEL, "DemoShapesVQA.tsv")
VQA_YAML = os.path.join(ROOT, "configs", "datasets", "DemoShapesVQA.yaml")
# The checked-in checkpoint is trained on DemoShapesVQA too (`train_demo_model.py --device cuda
# --out models/InternVL2-Demo`, issue 15); False skips the VQA check for a checkpoint that is not.
VQA_TRAINED = True
COLOURS = {"red", "green", "blue", "yellow", "black"}

torch.set_num_threads(1)


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def mcq_prompt(row):
    """InternVL2's MCQ prompt (VLMEvalKit InternVLChat.build_multi_choice_prompt, no hint)."""
    text = row["question"]
    for letter in "ABCD":
        if row.get(letter):
            text += "\n%s. %s" % (letter, row[letter])
    return "<image>\n" + text + "\nAnswer with the option's letter from the given choices directly."


def vqa_prompt(row):
    """InternVL2's prompt for a short-answer dataset (TextVQA's, the default VQA branch)."""
    return "<image>\n" + row["question"] + "\nAnswer the question using a single word or phrase."


def md5_named_in(yaml_path):
    with open(yaml_path, encoding="utf-8") as f:
        m = re.search(r"^md5:\s*([0-9a-f]{32})", f.read(), re.M)
    return m.group(1) if m else None


def pixels(b64, size):
    """load_image for an image of exactly one tile: ToTensor + ImageNet Normalize, [1,3,S,S]."""
    img = Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB")
    assert img.size == (size, size), img.size
    x = np.asarray(img, dtype=np.float32) / 255.0
    x = (x - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225],
                                                                       np.float32)
    return torch.from_numpy(x.transpose(2, 0, 1).copy())[None]


class DemoModelTest(unittest.TestCase):
    def test_heldout_accuracy_by_reference(self):
        ref = R.InternVL2Reference(MODEL, torch.float32)
        rows = read_tsv(TSV)
        subset = rows[::3]  # 100 of the 300 items, every category
        stop_id = ref.tokenizer.token_to_id("<|im_end|>")
        hits, stops, per = 0, 0, {}
        for row in subset:
            prompt = R.build_query(ref.template, mcq_prompt(row), [1], ref.num_image_token)
            ids = ref.tokenizer.encode(prompt)
            out, _ = ref.greedy(ids, pixels(row["image"], ref.image_size), steps=2)
            text = ref.tokenizer.sp.decode([out[0]]).strip()
            hit = text == row["answer"]
            hits += hit
            stops += out[1] == stop_id
            per.setdefault(row["category"], []).append(hit)
        acc = hits / len(subset)
        detail = {k: "%d/%d" % (sum(v), len(v)) for k, v in per.items()}
        self.assertGreaterEqual(acc, 0.9, "held-out accuracy %.3f %s" % (acc, detail))
        self.assertGreaterEqual(stops / len(subset), 0.9, "letter not followed by <|im_end|>")

    @unittest.skipUnless(VQA_TRAINED, "the shipped checkpoint is not trained on DemoShapesVQA yet")
    def test_heldout_vqa_accuracy_by_reference(self):
        ref = R.InternVL2Reference(MODEL, torch.float32)
        rows = read_tsv(VQA_TSV)
        subset = rows[:100]  # 100 of the 200 items; the categories alternate: 50 of each
        stop_id = ref.tokenizer.token_to_id("<|im_end|>")
        hits, stops, per = 0, 0, {}
        for row in subset:
            prompt = R.build_query(ref.template, vqa_prompt(row), [1], ref.num_image_token)
            ids = ref.tokenizer.encode(prompt)
            out, _ = ref.greedy(ids, pixels(row["image"], ref.image_size), steps=5)
            answer = out[:out.index(stop_id)] if stop_id in out else out
            sp = ref.tokenizer.sp
            text = sp.decode([i for i in answer if i < sp.get_piece_size()])
            want = ast.literal_eval(row["answer"])[0]
            hit = text.strip().lower() == want
            hits += hit
            stops += stop_id in out
            per.setdefault(row["question"], []).append(hit)
        acc = hits / len(subset)
        detail = {k: "%d/%d" % (sum(v), len(v)) for k, v in per.items()}
        self.assertGreaterEqual(acc, 0.9, "held-out VQA accuracy %.3f %s" % (acc, detail))
        self.assertGreaterEqual(stops / len(subset), 0.9, "answer not followed by <|im_end|>")

    def test_generator_rewrites_the_shipped_tsv(self):
        made = []
        for _ in range(2):  # two runs: the same bytes, the shipped ones
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run([sys.executable, os.path.join(SCRIPTS, "train_demo_model.py"),
                                "--data-only", "--out-data", tmp], check=True,
                               stdout=subprocess.DEVNULL)
                self.assertEqual(sorted(os.listdir(tmp)), ["DemoShapes.tsv", "DemoShapesVQA.tsv"])
                files = {}
                for name in ("DemoShapes.tsv", "DemoShapesVQA.tsv"):
                    with open(os.path.join(tmp, name), "rb") as f:
                        files[name] = f.read()
                made.append(files)
        self.assertEqual(made[0], made[1])
        for path, yaml in ((TSV, DATASET_YAML), (VQA_TSV, VQA_YAML)):
            with open(path, "rb") as f:
                shipped = f.read()
            mine = made[0][os.path.basename(path)]
            self.assertEqual(hashlib.md5(mine).hexdigest(), hashlib.md5(shipped).hexdigest(), path)
            self.assertEqual(mine, shipped)
            self.assertEqual(md5_named_in(yaml), hashlib.md5(shipped).hexdigest(), yaml)

    def test_vqa_tsv_form(self):
        rows = read_tsv(VQA_TSV)
        self.assertEqual(len(rows), 200)
        self.assertEqual(list(rows[0].keys()), ["index", "image", "question", "answer"])
        self.assertEqual([r["index"] for r in rows], [str(i) for i in range(200)])
        by_question = {}
        for r in rows:
            answers = ast.literal_eval(r["answer"])
            self.assertEqual(r["answer"], repr(answers))  # Python's repr, as TextVQA_VAL has it
            self.assertEqual(len(answers), 10, r["index"])
            self.assertEqual(len(set(answers)), 1, r["index"])
            by_question.setdefault(r["question"], []).append(answers[0])
        self.assertEqual(sorted(by_question), ["How many shapes are in the image?",
                                               "What colour is the shape?"])
        self.assertEqual(set(by_question["What colour is the shape?"]), COLOURS)
        self.assertEqual(set(by_question["How many shapes are in the image?"]),
                         {"1", "2", "3", "4"})
        self.assertEqual(len(by_question["What colour is the shape?"]), 100)

    def test_tsv_form(self):
        rows = read_tsv(TSV)
        self.assertEqual(len(rows), 300)
        self.assertEqual(list(rows[0].keys()),
                         ["index", "question", "A", "B", "C", "D", "answer", "image", "category"])
        self.assertEqual([r["index"] for r in rows], [str(i) for i in range(300)])
        answers = [r["answer"] for r in rows]
        for letter in "ABCD":  # options are shuffled per item: every letter is an answer
            self.assertGreater(answers.count(letter), 40, letter)
        for r in rows:
            opts = [r[c] for c in "ABCD"]
            self.assertEqual(len(set(opts)), 4, r["index"])
        self.assertEqual({r["category"] for r in rows},
                         {"colour", "count", "position"})

    def test_checkpoint_is_small(self):
        total = sum(os.path.getsize(os.path.join(MODEL, n)) for n in os.listdir(MODEL))
        self.assertLess(total, 10 * 1024 * 1024)


if __name__ == "__main__":
    unittest.main()
