"""scripts/internvl2_export/safetensors_io.py against the safetensors format as specified (bytes
built by hand here) and, where the `safetensors` package is installed (torch 2.x machines), against
it."""
import json
import os
import shutil
import struct
import tempfile
import unittest

import numpy as np
import torch

import scripts_dir  # noqa: F401  (first: puts scripts/ on sys.path)
from internvl2_export import safetensors_io


def handmade(path, entries, metadata=None):
    """entries: [(name, tag, shape, raw little-endian bytes)] laid out in order."""
    header, data, off = {}, b"", 0
    for name, tag, shape, raw in entries:
        header[name] = {"dtype": tag, "shape": shape, "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


class SafetensorsIO(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_reads_handmade_file(self):
        p = os.path.join(self.tmp, "a.safetensors")
        f32 = np.array([[1.5, -2.0, 3.25], [0.0, 7.0, -0.125]], dtype="<f4")
        f16 = np.array([0.5, -1.0], dtype="<f2")
        i64 = np.array([1, -2, 1 << 40], dtype="<i8")
        bf16 = struct.pack("<3H", 0x3F80, 0xC000, 0x4049)  # 1.0, -2.0, 3.140625
        handmade(p, [("w", "F32", [2, 3], f32.tobytes()), ("h", "F16", [2], f16.tobytes()),
                     ("ids", "I64", [3], i64.tobytes()), ("b", "BF16", [3], bf16)],
                 metadata={"format": "pt"})
        sf = safetensors_io.SafetensorsFile(p)
        self.assertEqual(sf.keys(), ["b", "h", "ids", "w"])
        self.assertEqual(sf.metadata, {"format": "pt"})
        self.assertEqual(sf.shape("w"), (2, 3))
        self.assertTrue(torch.equal(sf.get_tensor("w"), torch.from_numpy(f32.astype("=f4"))))
        self.assertEqual(sf.get_tensor("h").tolist(), [0.5, -1.0])
        self.assertEqual(sf.get_tensor("ids").tolist(), [1, -2, 1 << 40])
        b = sf.get_tensor("b")
        self.assertEqual(b.dtype, torch.bfloat16)
        self.assertEqual(b.float().tolist(), [1.0, -2.0, 3.140625])

    def test_writes_the_specified_layout(self):
        p = os.path.join(self.tmp, "b.safetensors")
        safetensors_io.save_file({"x": torch.tensor([1.0, 2.0]),
                                  "y": torch.tensor([3.0], dtype=torch.bfloat16)}, p,
                                 {"format": "pt"})
        with open(p, "rb") as f:
            raw = f.read()
        (n,) = struct.unpack("<Q", raw[:8])
        self.assertEqual(n % 8, 0)
        header = json.loads(raw[8:8 + n])
        self.assertEqual(header["__metadata__"], {"format": "pt"})
        self.assertEqual(header["x"], {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})
        self.assertEqual(header["y"], {"dtype": "BF16", "shape": [1], "data_offsets": [8, 10]})
        data = raw[8 + n:]
        self.assertEqual(data[:8], struct.pack("<2f", 1.0, 2.0))
        self.assertEqual(data[8:10], struct.pack("<H", 0x4040))  # bf16 3.0

    def test_round_trip_sharded(self):
        g = torch.Generator().manual_seed(0)
        ts = {"a.%d" % i: torch.randn(5, i + 1, generator=g) for i in range(7)}
        ts["bf"] = torch.randn(4, 4, generator=g).to(torch.bfloat16)
        ts["i"] = torch.arange(6, dtype=torch.int64).reshape(2, 3)
        safetensors_io.save_checkpoint(ts, self.tmp, shards=3)
        with open(os.path.join(self.tmp, "model.safetensors.index.json")) as f:
            idx = json.load(f)
        self.assertEqual(sorted(idx["weight_map"]), sorted(ts))
        ck = safetensors_io.Checkpoint(self.tmp)
        self.assertEqual(len(ck.files()), 3)
        for k, t in ts.items():
            self.assertEqual(ck.dtype(k), t.dtype)
            self.assertTrue(torch.equal(ck.get(k), t), k)
        # rewriting as one file drops the shards
        safetensors_io.save_checkpoint(ts, self.tmp, shards=1)
        self.assertEqual(safetensors_io.Checkpoint(self.tmp).files(), ["model.safetensors"])

    def test_errors_name_the_tensor(self):
        p = os.path.join(self.tmp, "c.safetensors")
        handmade(p, [("short", "F32", [4], b"\0" * 12)])
        with self.assertRaisesRegex(safetensors_io.SafetensorsError, "short"):
            safetensors_io.SafetensorsFile(p)
        safetensors_io.save_checkpoint({"x": torch.zeros(2)}, self.tmp)
        with self.assertRaisesRegex(safetensors_io.SafetensorsError, "no tensor zzz"):
            safetensors_io.Checkpoint(self.tmp).get("zzz")

    def test_agrees_with_safetensors_package(self):
        try:
            from safetensors.torch import load_file, save_file
        except ImportError:
            self.skipTest("safetensors package not installed")
        ts = {"a": torch.randn(3, 4), "b": torch.randn(2).to(torch.bfloat16),
              "c": torch.arange(3)}
        p1, p2 = os.path.join(self.tmp, "ours.safetensors"), os.path.join(self.tmp, "theirs")
        safetensors_io.save_file(ts, p1)
        save_file(ts, p2)
        for k, t in load_file(p1).items():
            self.assertTrue(torch.equal(t, ts[k]))
        sf = safetensors_io.SafetensorsFile(p2)
        for k in ts:
            self.assertTrue(torch.equal(sf.get_tensor(k), ts[k]))


if __name__ == "__main__":
    unittest.main()
