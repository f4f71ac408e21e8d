"""scripts/fixtures/make_bench_data.py: the whole-run benchmark's data (bench/run_dataset_bench.sh).

Run: /usr/bin/python3 -m unittest discover -s tests/python -p test_make_bench_data.py
"""
import base64
import csv
import io
import json
import os
import shutil
import tempfile
import unittest

from PIL import Image

import scripts_dir  # noqa: F401  (first: puts scripts/ on sys.path)
from fixtures import make_bench_data as B

csv.field_size_limit(1 << 30)


def rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


class BenchData(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def make(self, name, *args):
        out = os.path.join(self.tmp, name)
        self.assertEqual(B.main(["--out", out] + list(args)), 0)
        return out

    def test_tiles_of_follows_internvl_dynamic_preprocess(self):
        # item_bench's 1024x768 item: 3x2 grid + thumbnail; 16:9 -> 2x1 + thumbnail; a square
        # above 0.5 * 448^2 * 4 pixels -> 2x2 + thumbnail, below -> one tile (no thumbnail)
        self.assertEqual(B.tiles_of(1024, 768), 7)
        self.assertEqual(B.tiles_of(1280, 720), 3)
        self.assertEqual(B.tiles_of(768, 768), 5)
        self.assertEqual(B.tiles_of(600, 600), 1)
        self.assertEqual(B.tiles_of(1800, 600), 4)
        for name, w, h, _ in B.ASPECTS:  # every aspect, with the size jitter: 3..7 tiles
            for j in (0.96, 1.0, 1.04):
                self.assertIn(B.tiles_of(int(w * j), int(h * j)), range(3, 8), name)

    def test_sets_are_seeded_and_shaped(self):
        a = self.make("a", "--mcq", "8", "--vqa", "5", "--steady", "3", "--steady-vqa", "2",
                      "--scale", "0.3")
        b = self.make("b", "--mcq", "8", "--vqa", "5", "--steady", "3", "--steady-vqa", "2",
                      "--scale", "0.3")
        names = ["BenchMCQ.tsv", "BenchVQA.tsv", "BenchMCQSteady.tsv", "BenchVQASteady.tsv",
                 "bench_data.json"]
        for n in names:
            with open(os.path.join(a, n), "rb") as x, open(os.path.join(b, n), "rb") as y:
                self.assertEqual(x.read(), y.read(), n)
        c = self.make("c", "--mcq", "8", "--vqa", "5", "--seed", "7", "--scale", "0.3")
        with open(os.path.join(a, "BenchMCQ.tsv"), "rb") as x, \
                open(os.path.join(c, "BenchMCQ.tsv"), "rb") as y:
            self.assertNotEqual(x.read(), y.read())

        mcq = rows(os.path.join(a, "BenchMCQ.tsv"))
        self.assertEqual(len(mcq), 8)
        self.assertEqual(list(mcq[0]), ["index", "image", "question", "A", "B", "C", "D",
                                        "answer"])
        self.assertTrue(all(r["answer"] in "ABCD" and r["D"] for r in mcq))
        self.assertGreater(len({len(r["question"].split()) for r in mcq}), 3)  # lengths vary
        im = Image.open(io.BytesIO(base64.b64decode(mcq[0]["image"])))
        self.assertEqual(im.format, "JPEG")
        vqa = rows(os.path.join(a, "BenchVQA.tsv"))
        self.assertEqual(list(vqa[0]), ["index", "image", "question", "answer"])
        self.assertEqual(len(eval(vqa[0]["answer"])), 10)  # TextVQA's list literal
        steady = rows(os.path.join(a, "BenchMCQSteady.tsv"))
        # every (8 // 3)-th item from the first, three times in a row: index 3 * i + r
        self.assertEqual([r["index"] for r in steady],
                         [str(3 * i + r) for i in (0, 2, 4) for r in range(3)])
        for k, r in enumerate(steady):
            src = mcq[2 * (k // 3)]
            self.assertEqual(r["image"], src["image"])
            self.assertEqual(r["question"], src["question"])
        self.assertEqual(len(rows(os.path.join(a, "BenchVQASteady.tsv"))), 6)
        with open(os.path.join(a, "bench_data.json")) as f:
            meta = json.load(f)
        self.assertEqual(len(meta["BenchMCQ"]["items_meta"]), 8)

    def test_full_size_sets_give_three_to_seven_tiles(self):
        out = self.make("full", "--mcq", "12", "--vqa", "0")
        with open(os.path.join(out, "bench_data.json")) as f:
            meta = json.load(f)["BenchMCQ"]
        tiles = {m["tiles"] for m in meta["items_meta"]}
        self.assertTrue(tiles <= set(range(3, 8)), tiles)
        self.assertGreater(len(tiles), 1)
        for m in meta["items_meta"][:3]:  # the stored size is the JPEG's
            self.assertIn(m["aspect"], [a[0] for a in B.ASPECTS])


if __name__ == "__main__":
    unittest.main()
