#!/usr/bin/env python3
"""Read and write the safetensors format with torch + numpy only (no `safetensors` package).

File layout: 8-byte little-endian u64 N, then N bytes of UTF-8 JSON
  {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}}
then the raw little-endian tensor bytes; offsets are relative to the first byte after the header.

Reading is lazy: each tensor is read with one seek + read when asked for, so a shard is never held
in memory as a whole. A checkpoint folder holds either `model.safetensors` or shards listed in
`model.safetensors.index.json` ({"weight_map": {name: file}}).
"""
import json
import os
import struct
import sys

import numpy as np
import torch

# safetensors dtype tag -> (torch dtype, numpy dtype used to read the raw bytes)
_DTYPES = {
    "F64": (torch.float64, np.float64),
    "F32": (torch.float32, np.float32),
    "F16": (torch.float16, np.float16),
    "BF16": (torch.bfloat16, np.int16),  # read as int16, then viewed as bfloat16
    "I64": (torch.int64, np.int64),
    "I32": (torch.int32, np.int32),
    "I16": (torch.int16, np.int16),
    "I8": (torch.int8, np.int8),
    "U8": (torch.uint8, np.uint8),
    "BOOL": (torch.bool, np.bool_),
}
_TAG_OF = {t: tag for tag, (t, _) in _DTYPES.items()}
_ITEMSIZE = {tag: np.dtype(npd).itemsize for tag, (_, npd) in _DTYPES.items()}

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"


class SafetensorsError(Exception):
    """A malformed file or a name that is not there; the message names the file and tensor."""


def dtype_tag(dtype):
    """torch dtype -> safetensors tag ("F32", "BF16", ...)."""
    if dtype not in _TAG_OF:
        raise SafetensorsError("dtype %s cannot be stored in safetensors" % dtype)
    return _TAG_OF[dtype]


def torch_dtype(tag):
    """safetensors tag -> torch dtype."""
    if tag not in _DTYPES:
        raise SafetensorsError("unknown safetensors dtype %r" % tag)
    return _DTYPES[tag][0]


def _tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    arr = t.numpy()
    if arr.dtype.byteorder == ">":
        arr = arr.byteswap()
    return arr.tobytes()


def save_file(tensors, path, metadata=None):
    """Write {name: tensor} to `path`. Names are stored sorted; data is 8-byte aligned."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name]
        data = _tensor_bytes(t)
        header[name] = {"dtype": dtype_tag(t.dtype), "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for data in blobs:
            f.write(data)
    os.replace(tmp, path)


class SafetensorsFile:
    """One .safetensors file, header parsed at open, tensors read on demand."""

    def __init__(self, path):
        self.path = path
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise SafetensorsError("%s: too short for a safetensors header" % path)
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                raise SafetensorsError("%s: header length %d exceeds the file size %d"
                                       % (path, n, size))
            try:
                header = json.loads(f.read(n).decode("utf-8"))
            except ValueError as e:
                raise SafetensorsError("%s: header is not JSON: %s" % (path, e))
        self.metadata = header.pop("__metadata__", None) or {}
        self._data_start = 8 + n
        self._entries = header
        for name, e in header.items():
            tag, shape, (b, end) = e["dtype"], e["shape"], e["data_offsets"]
            if tag not in _DTYPES:
                raise SafetensorsError("%s: tensor %s has unknown dtype %r" % (path, name, tag))
            want = _ITEMSIZE[tag] * int(np.prod(shape, dtype=np.int64))
            if end - b != want or end + self._data_start > size:
                raise SafetensorsError("%s: tensor %s has data_offsets [%d, %d] that do not fit "
                                       "shape %s dtype %s" % (path, name, b, end, shape, tag))

    def keys(self):
        return sorted(self._entries)

    def __contains__(self, name):
        return name in self._entries

    def shape(self, name):
        return tuple(self._entry(name)["shape"])

    def dtype(self, name):
        return torch_dtype(self._entry(name)["dtype"])

    def _entry(self, name):
        if name not in self._entries:
            raise SafetensorsError("%s: no tensor named %s" % (self.path, name))
        return self._entries[name]

    def get_tensor(self, name):
        """The tensor, read from disk now (a fresh CPU tensor that owns its memory)."""
        e = self._entry(name)
        b, end = e["data_offsets"]
        torch_t, np_t = _DTYPES[e["dtype"]]
        if sys.byteorder == "little":
            # read straight into the tensor's own memory: one allocation of the tensor's size
            raw = torch.empty(end - b, dtype=torch.uint8)
            with open(self.path, "rb") as f:
                f.seek(self._data_start + b)
                got = f.readinto(memoryview(raw.numpy()))
            if got != end - b:
                raise SafetensorsError("%s: tensor %s: short read (%d of %d bytes)"
                                       % (self.path, name, got, end - b))
            if torch_t == torch.bool:
                return raw.to(torch.bool).reshape(e["shape"])
            return raw.view(torch_t).reshape(e["shape"])
        with open(self.path, "rb") as f:
            f.seek(self._data_start + b)
            buf = bytearray(f.read(end - b))
        arr = np.frombuffer(buf, dtype=np.dtype(np_t).newbyteorder("<"))
        if arr.dtype.byteorder == ">":  # big-endian host: make it native
            arr = arr.byteswap().newbyteorder()
        t = torch.from_numpy(arr).reshape(e["shape"])
        if torch_t == torch.bfloat16:
            t = t.view(torch.bfloat16)
        return t


class Checkpoint:
    """The weights of a checkpoint folder: model.safetensors, or shards + index.json."""

    def __init__(self, folder):
        self.folder = folder
        index = os.path.join(folder, INDEX_NAME)
        single = os.path.join(folder, SINGLE_NAME)
        self._files = {}
        self._where = {}
        if os.path.exists(index):
            with open(index, encoding="utf-8") as f:
                weight_map = json.load(f).get("weight_map")
            if not isinstance(weight_map, dict):
                raise SafetensorsError("%s: no weight_map object" % index)
            for name, fname in weight_map.items():
                if fname not in self._files:
                    p = os.path.join(folder, fname)
                    if not os.path.exists(p):
                        raise SafetensorsError("%s: shard %s (holding %s) does not exist"
                                               % (index, fname, name))
                    self._files[fname] = SafetensorsFile(p)
                if name not in self._files[fname]:
                    raise SafetensorsError("%s: weight_map puts %s in %s, which lacks it"
                                           % (index, name, fname))
                self._where[name] = self._files[fname]
        elif os.path.exists(single):
            sf = SafetensorsFile(single)
            self._files[SINGLE_NAME] = sf
            for name in sf.keys():
                self._where[name] = sf
        else:
            raise SafetensorsError("%s: neither %s nor %s found" % (folder, SINGLE_NAME,
                                                                    INDEX_NAME))

    def files(self):
        """Weight file names (relative to the folder), sorted."""
        return sorted(self._files)

    def keys(self):
        return sorted(self._where)

    def __contains__(self, name):
        return name in self._where

    def shape(self, name):
        return self._file(name).shape(name)

    def dtype(self, name):
        return self._file(name).dtype(name)

    def get(self, name):
        return self._file(name).get_tensor(name)

    def _file(self, name):
        if name not in self._where:
            raise SafetensorsError("%s: checkpoint has no tensor %s" % (self.folder, name))
        return self._where[name]


def save_checkpoint(tensors, folder, shards=1, metadata=None):
    """Write {name: tensor} into `folder` as model.safetensors (shards == 1) or as `shards` files
    model-0000k-of-0000N.safetensors plus model.safetensors.index.json (names in sorted order,
    split into runs of roughly equal bytes)."""
    os.makedirs(folder, exist_ok=True)
    for fname in os.listdir(folder):  # drop a previous layout's files
        if fname == INDEX_NAME or (fname.startswith("model") and fname.endswith(".safetensors")):
            os.remove(os.path.join(folder, fname))
    if shards <= 1:
        save_file(tensors, os.path.join(folder, SINGLE_NAME), metadata or {"format": "pt"})
        return
    names = sorted(tensors)
    sizes = [tensors[n].numel() * tensors[n].element_size() for n in names]
    total = sum(sizes)
    groups = [[] for _ in range(shards)]
    acc = 0
    for n, s in zip(names, sizes):
        k = min(shards - 1, acc * shards // max(total, 1))
        groups[k].append(n)
        acc += s
    weight_map = {}
    for k, group in enumerate(groups):
        fname = "model-%05d-of-%05d.safetensors" % (k + 1, shards)
        save_file({n: tensors[n] for n in group}, os.path.join(folder, fname),
                  metadata or {"format": "pt"})
        for n in group:
            weight_map[n] = fname
    with open(os.path.join(folder, INDEX_NAME), "w", encoding="utf-8") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
