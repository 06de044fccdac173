"""The safetensors file format, read and written in plain NumPy (no ``safetensors`` package needed).

A safetensors file is three parts (https://github.com/huggingface/safetensors):

1. 8 bytes: N, the length of the header, an unsigned little-endian 64-bit integer;
2. N bytes: the header, a UTF-8 JSON object ``{name: {"dtype": "F64", "shape": [20, 64],
   "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}``;
3. the tensors' raw little-endian bytes, back to back; offsets count from the end of the header.

That is small enough to write here, so saving a model for PyTorch needs nothing beyond NumPy,
the write is atomic like a checkpoint's (``checkpoint.write_atomically``) and a damaged file is
reported in this project's words.  Files written here load with the ``safetensors`` package and
the other way round (tests/test_export_safetensors.py checks both directions).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..checkpoint import write_atomically
from ..errors import ExportError

__all__ = ["DTYPES", "MAX_HEADER_BYTES", "read_safetensors", "write_safetensors"]

PathLike = str | os.PathLike[str]

DTYPES: dict[str, np.dtype[Any]] = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
"""The safetensors dtype names this module reads and writes, with their little-endian dtypes."""

_NAMES = {dt.newbyteorder("="): name for name, dt in DTYPES.items()}

MAX_HEADER_BYTES = 100_000_000
"""A larger header is refused as corrupt (the limit the reference implementation uses)."""

METADATA_KEY = "__metadata__"


def write_safetensors(path: PathLike, tensors: Mapping[str, Any],
                      metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``tensors`` (name -> array) and string ``metadata`` to ``path`` atomically.

    The tensors are stored in the mapping's order.  Everything is checked before the file is
    opened, and the file appears only complete (temporary file, fsync, rename).
    """
    fn = "write_safetensors"
    arrays: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        if not isinstance(name, str) or not name or name == METADATA_KEY:
            raise ExportError(f"{fn}: tensor names must be non-empty strings other than "
                              f"{METADATA_KEY!r}, got {name!r}")
        arr = np.asarray(value)
        if arr.dtype.newbyteorder("=") not in _NAMES:
            raise ExportError(f"{fn}: tensor {name!r} has dtype {arr.dtype}; safetensors "
                              f"dtypes written here: {', '.join(DTYPES)}")
        arrays[name] = arr
    meta = dict(metadata or {})
    for key, text in meta.items():
        if not isinstance(key, str) or not isinstance(text, str):
            raise ExportError(f"{fn}: metadata must map strings to strings, got "
                              f"{key!r}: {type(text).__name__}")
    header: dict[str, Any] = {METADATA_KEY: meta} if meta else {}
    offset = 0
    for name, arr in arrays.items():
        size = arr.size * arr.dtype.itemsize
        header[name] = {"dtype": _NAMES[arr.dtype.newbyteorder("=")], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)     # the data starts 8-byte aligned, as upstream does

    def write(f: IO[bytes]) -> None:
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        for arr in arrays.values():
            little = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
            f.write(np.ascontiguousarray(little).tobytes())

    return write_atomically(path, write, fn)


def read_safetensors(path: PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """``(tensors, metadata)`` from the safetensors file at ``path``, every part checked.

    Refused with ExportError, saying what is wrong: a file shorter than its header says
    (truncated), a header that is not JSON or not the format's, an unknown dtype, a tensor whose
    byte range does not match its shape, and gaps, overlaps or extra bytes in the data.
    """
    where = f"read_safetensors: {os.fspath(path)!r}"
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"read_safetensors: no such file: {os.fspath(path)!r}")
    raw = p.read_bytes()
    if len(raw) < 8:
        raise ExportError(f"{where} is truncated: {len(raw)} bytes, fewer than the 8 that give "
                          f"the header length")
    n = int.from_bytes(raw[:8], "little")
    if n > MAX_HEADER_BYTES:
        raise ExportError(f"{where} is not a safetensors file: its header length {n} exceeds "
                          f"{MAX_HEADER_BYTES} bytes")
    if 8 + n > len(raw):
        raise ExportError(f"{where} is truncated: the header needs {n} bytes, the file has "
                          f"{len(raw) - 8} after the length")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{where} is corrupted: the header is not UTF-8 JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ExportError(f"{where} is corrupted: the header is JSON but not an object")
    metadata = header.pop(METADATA_KEY, {})
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ExportError(f"{where} is corrupted: {METADATA_KEY!r} must map strings to strings")
    data = memoryview(raw)[8 + n:]
    spans = sorted((_span(name, entry, where), name) for name, entry in header.items())
    end = 0
    for (begin, stop), name in spans:
        if begin != end:
            raise ExportError(f"{where} is corrupted: tensor {name!r} starts at byte {begin} of "
                              f"the data, expected {end} (tensors must be back to back)")
        end = stop
    if end != len(data):
        state = "truncated" if end > len(data) else "corrupted"
        raise ExportError(f"{where} is {state}: the header describes {end} bytes of tensor data, "
                          f"the file holds {len(data)}")
    tensors: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        begin, stop = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        flat = np.frombuffer(data[begin:stop], dtype=dtype)
        tensors[name] = flat.astype(dtype.newbyteorder("="), copy=True).reshape(entry["shape"])
    return tensors, dict(metadata)


def _span(name: str, entry: Any, where: str) -> tuple[int, int]:
    """The checked ``data_offsets`` of one header entry."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ExportError(f"{where} is corrupted: the entry for {name!r} must have exactly "
                          f"'dtype', 'shape' and 'data_offsets', got {entry!r}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        raise ExportError(f"{where}: tensor {name!r} has dtype {dtype!r}; this reader knows "
                          f"{', '.join(DTYPES)}")
    if not isinstance(shape, list) or not all(_whole(d) for d in shape):
        raise ExportError(f"{where} is corrupted: tensor {name!r} has shape {shape!r}, expected "
                          f"a list of non-negative integers")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_whole(o) for o in offsets) \
            or offsets[0] > offsets[1]:
        raise ExportError(f"{where} is corrupted: tensor {name!r} has data_offsets "
                          f"{offsets!r}, expected [begin, end] with 0 <= begin <= end")
    size = math.prod(shape) * DTYPES[dtype].itemsize
    if offsets[1] - offsets[0] != size:
        raise ExportError(f"{where} is corrupted: tensor {name!r} of shape {tuple(shape)} and "
                          f"dtype {dtype} needs {size} bytes, its data_offsets span "
                          f"{offsets[1] - offsets[0]}")
    return offsets[0], offsets[1]


def _whole(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0
