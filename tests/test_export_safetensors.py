"""The hand-written safetensors format: round trips, the reference implementation both ways,
and every kind of damaged file refused with a clear error (nothing half-written on disk)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

from tinygrad_nn import checkpoint
from tinygrad_nn.export import ExportError, read_safetensors, write_safetensors

RNG = np.random.default_rng(0)
TENSORS = {
    "0.weight": RNG.normal(size=(4, 3)),
    "0.bias": RNG.normal(size=4).astype(np.float32),
    "scalar": np.array(2.5),
    "empty": np.zeros((0, 3)),
    "counts": np.arange(6, dtype=np.int64).reshape(2, 3),
    "big_endian": np.arange(3, dtype=">f8"),
}


def _write(path: Path, header: Any, data: bytes = b"") -> None:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)


def test_round_trip_keeps_names_order_dtypes_shapes_and_bits(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "t.safetensors", TENSORS, {"note": "hello ✓"})
    tensors, metadata = read_safetensors(path)
    assert list(tensors) == list(TENSORS)
    for name, arr in TENSORS.items():
        assert tensors[name].dtype == arr.dtype.newbyteorder("=")
        assert tensors[name].shape == arr.shape
        np.testing.assert_array_equal(tensors[name], arr)
    assert metadata == {"note": "hello ✓"}


def test_layout_is_the_format(tmp_path: Path) -> None:
    """8-byte little-endian length, JSON header padded to 8 bytes, then the raw bytes."""
    w = np.array([[1.0, 2.0]])
    path = write_safetensors(tmp_path / "t.safetensors", {"w": w}, {"k": "v"})
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n])
    assert header == {"__metadata__": {"k": "v"},
                      "w": {"dtype": "F64", "shape": [1, 2], "data_offsets": [0, 16]}}
    assert raw[8 + n:] == w.astype("<f8").tobytes()


def test_reference_implementation_reads_ours(tmp_path: Path, safetensors: Any) -> None:
    from safetensors import safe_open
    from safetensors.numpy import load_file

    path = write_safetensors(tmp_path / "t.safetensors", TENSORS, {"k": "v"})
    loaded = load_file(str(path))
    assert set(loaded) == set(TENSORS)
    for name, arr in TENSORS.items():
        np.testing.assert_array_equal(loaded[name], arr)
        assert loaded[name].dtype == arr.dtype.newbyteorder("=")
    with safe_open(str(path), framework="numpy") as f:
        assert f.metadata() == {"k": "v"}


def test_we_read_the_reference_implementations_files(tmp_path: Path, safetensors: Any) -> None:
    from safetensors.numpy import save_file

    native = {k: v.astype(v.dtype.newbyteorder("=")) for k, v in TENSORS.items()}
    save_file(native, str(tmp_path / "ref.safetensors"), metadata={"k": "v"})
    tensors, metadata = read_safetensors(tmp_path / "ref.safetensors")
    assert metadata == {"k": "v"}
    assert set(tensors) == set(native)
    for name, arr in native.items():
        np.testing.assert_array_equal(tensors[name], arr)
        assert tensors[name].dtype == arr.dtype


def test_truncated_file_is_refused_at_every_length(tmp_path: Path) -> None:
    whole = write_safetensors(tmp_path / "t.safetensors", TENSORS).read_bytes()
    cut = tmp_path / "cut.safetensors"
    for length in [0, 5, 8, 20, len(whole) // 2, len(whole) - 1]:
        cut.write_bytes(whole[:length])
        with pytest.raises(ExportError, match=r"read_safetensors: .*(truncated|corrupted)"):
            read_safetensors(cut)


@pytest.mark.parametrize("header, data, message", [
    (b"not json at all", b"", "not UTF-8 JSON"),
    (b"\xff\xfe", b"", "not UTF-8 JSON"),
    ([1, 2], b"", "not an object"),
    ({"__metadata__": {"k": 1}}, b"", "must map strings to strings"),
    ({"w": {"dtype": "F64", "shape": [2]}}, b"", "exactly 'dtype', 'shape' and 'data_offsets'"),
    ({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, bytes(8),
     "dtype 'C64'"),
    ({"w": {"dtype": "F64", "shape": [-1], "data_offsets": [0, 8]}}, bytes(8),
     "list of non-negative integers"),
    ({"w": {"dtype": "F64", "shape": [2], "data_offsets": [8, 0]}}, bytes(16),
     "expected \\[begin, end\\]"),
    ({"w": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}}, bytes(8),
     "needs 16 bytes"),
    ({"a": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]},
      "b": {"dtype": "F64", "shape": [1], "data_offsets": [16, 24]}}, bytes(24),
     "starts at byte 16 of the data, expected 8"),
    ({"a": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]},
      "b": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}, bytes(8),
     "starts at byte 0 of the data, expected 8"),
    ({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}, bytes(12),
     "corrupted: the header describes 8 bytes of tensor data, the file holds 12"),
])
def test_corrupted_header_is_refused(tmp_path: Path, header: Any, data: bytes,
                                     message: str) -> None:
    path = tmp_path / "bad.safetensors"
    _write(path, header, data)
    with pytest.raises(ExportError, match=message):
        read_safetensors(path)


def test_absurd_header_length_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes((2**62).to_bytes(8, "little") + b"{}")
    with pytest.raises(ExportError, match=r"header length .* exceeds"):
        read_safetensors(path)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="read_safetensors: no such file"):
        read_safetensors(tmp_path / "nothing.safetensors")


@pytest.mark.parametrize("tensors, metadata, message", [
    ({"": np.zeros(1)}, None, "non-empty strings"),
    ({"__metadata__": np.zeros(1)}, None, "other than '__metadata__'"),
    ({"w": np.zeros(1, dtype=np.complex128)}, None, "dtype complex128"),
    ({"w": np.array(["a"])}, None, "dtype <U1"),
    ({"w": np.zeros(1)}, {"k": 1}, "metadata must map strings to strings"),
])
def test_write_refuses_bad_input_and_writes_nothing(tmp_path: Path, tensors: Any,
                                                    metadata: Any, message: str) -> None:
    with pytest.raises(ExportError, match=f"write_safetensors: .*{message}"):
        write_safetensors(tmp_path / "t.safetensors", tensors, metadata)
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_the_previous_file_and_leaves_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_safetensors(tmp_path / "t.safetensors", {"w": np.ones(3)})
    before = path.read_bytes()

    def write_then_crash(path: Any, write: Any, fn: str) -> Path:
        def crashing(f: IO[bytes]) -> None:
            f.write(b"half a file")
            raise OSError("disk full (simulated)")
        return checkpoint.write_atomically(path, crashing, fn)

    monkeypatch.setattr("tinygrad_nn.export.safetensors_io.write_atomically", write_then_crash)
    with pytest.raises(OSError, match="disk full"):
        write_safetensors(path, {"w": np.zeros(3)})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["t.safetensors"]
