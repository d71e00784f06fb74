"""Minimal safetensors and .npy I/O with numpy only (no safetensors package).

safetensors layout:
    8 bytes   little-endian u64 N: length of the JSON header
    N bytes   JSON: {name: {"dtype": "F32"|"I64"|..., "shape": [...],
                     "data_offsets": [begin, end]}, optional "__metadata__"}
    data      raw little-endian tensors; offsets are relative to the start
              of this data block (i.e. to byte 8 + N)

    save_safetensors(path, {"a": np.zeros((2, 3), np.float32)})
    tensors = load_safetensors(path)      # {name: np.ndarray}
"""

import json
import os
import struct

import numpy as np

# safetensors dtype tag <-> little-endian numpy dtype
DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
TAGS = {dt: tag for tag, dt in DTYPES.items()}


class FormatError(ValueError):
    pass


def save_safetensors(path, tensors, metadata=None):
    """Write {name: np.ndarray} in key order; the header is padded with
    spaces to a multiple of 8 bytes, as the reference writer does."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, arr in tensors.items():
        arr = np.asarray(arr)
        dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
        if dt not in TAGS:
            raise FormatError("%s: unsupported dtype %s" % (name, arr.dtype))
        data = np.ascontiguousarray(arr, dtype=dt).tobytes()
        header[name] = {"dtype": TAGS[dt], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_header(path):
    """Return (header dict, data start offset, file size)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise FormatError("%s: shorter than 8 bytes" % path)
        (n,) = struct.unpack("<Q", raw)
        if n > size - 8:
            raise FormatError("%s: header length %d exceeds file size %d" % (path, n, size))
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise FormatError("%s: bad JSON header: %s" % (path, e))
    if not isinstance(header, dict):
        raise FormatError("%s: header is not a JSON object" % path)
    return header, 8 + n, size


def load_safetensors(path):
    """Read every tensor into {name: np.ndarray} (native little-endian
    arrays, in header order).  Checks dtype, shape x itemsize == extent,
    and that the extents lie inside the file."""
    header, start, size = read_header(path)
    out = {}
    with open(path, "rb") as f:
        for name, info in header.items():
            if name == "__metadata__":
                continue
            try:
                dt = DTYPES[info["dtype"]]
                shape = tuple(int(s) for s in info["shape"])
                begin, end = (int(v) for v in info["data_offsets"])
            except (KeyError, TypeError, ValueError):
                raise FormatError("%s: bad header entry for %r: %r" % (path, name, info))
            count = int(np.prod(shape, dtype=np.int64))
            if end - begin != count * dt.itemsize or begin < 0 or start + end > size:
                raise FormatError("%s: %r: offsets %r do not fit shape %r dtype %s"
                                  % (path, name, [begin, end], list(shape), info["dtype"]))
            f.seek(start + begin)
            out[name] = np.frombuffer(f.read(end - begin), dtype=dt).reshape(shape).copy()
    return out


def describe(path):
    """{name: (dtype tag, shape list)} from the header alone."""
    header, _, _ = read_header(path)
    return {k: (v["dtype"], list(v["shape"])) for k, v in header.items() if k != "__metadata__"}


def save_npy(path, arr):
    np.save(path, np.asarray(arr), allow_pickle=False)


def load_npy(path):
    return np.load(path, allow_pickle=False)
