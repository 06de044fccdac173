"""Checkpoints: round trip, atomic writes, and every kind of bad file refused (CheckpointError)."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path
from typing import IO

import numpy as np
import pytest

from tinygrad_nn import checkpoint, nn
from tinygrad_nn.checkpoint import ARCH_KEY, CheckpointError, load, read_metadata, save
from tinygrad_nn.train import predict


def _model(seed: int = 0) -> nn.Sequential:
    return nn.mlp([4, 5, 3], activation="tanh", output_activation=None, rng=seed)


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _header(path: Path) -> dict[str, object]:
    return json.loads(_arrays(path)[ARCH_KEY].tobytes().decode())


def _rewrite(path: Path, arrays: dict[str, np.ndarray], header: dict[str, object] | None = None
             ) -> None:
    if header is not None:
        arrays = {**arrays, ARCH_KEY: np.frombuffer(json.dumps(header).encode(), np.uint8)}
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]


X = np.random.default_rng(5).normal(size=(7, 4))


def test_round_trip_gives_equal_outputs(tmp_path: Path) -> None:
    model = _model()
    path = save(model, tmp_path / "m.npz", metadata={"accuracy": 0.97, "dataset": "digits"})
    assert path == tmp_path / "m.npz"
    again = load(path)
    assert type(again) is nn.Sequential
    assert again.config() == model.config()
    np.testing.assert_array_equal(predict(again, X), predict(model, X))
    for (n1, p1), (n2, p2) in zip(model.named_parameters(), again.named_parameters()):
        assert n1 == n2
        np.testing.assert_array_equal(p1.data, p2.data)
        assert p1.data is not p2.data
    assert read_metadata(path) == {"accuracy": 0.97, "dataset": "digits"}


def test_file_layout_is_json_bytes_plus_float_arrays(tmp_path: Path) -> None:
    save(_model(), tmp_path / "m.npz")
    arrays = _arrays(tmp_path / "m.npz")
    assert arrays[ARCH_KEY].dtype == np.uint8
    header = _header(tmp_path / "m.npz")
    assert header["format"] == "tinygrad_nn.checkpoint" and header["version"] == 1
    assert header["type"] == "Sequential"
    assert set(arrays) - {ARCH_KEY} == set(_model().state_dict())
    assert all(a.dtype == np.float64 for k, a in arrays.items() if k != ARCH_KEY)


def test_save_replaces_an_existing_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    save(_model(0), path)
    save(_model(1), path)
    np.testing.assert_array_equal(predict(load(path), X), predict(_model(1), X))
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


def test_saved_file_has_the_permissions_open_gives(tmp_path: Path) -> None:
    """Not the 0600 of the temporary file it was written as: others may read a checkpoint."""
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    save(_model(), tmp_path / "m.npz")
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_crash_while_writing_keeps_the_previous_checkpoint(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.npz"
    save(_model(0), path)
    before = path.read_bytes()

    def crash(f: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
        f.write(b"PK\x03\x04 half a zip file")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(checkpoint, "_write_npz", crash)
    with pytest.raises(OSError, match="disk full"):
        save(_model(1), path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]          # no temporary file left
    np.testing.assert_array_equal(predict(load(path), X), predict(_model(0), X))


def test_interrupt_while_writing_leaves_no_temp_file(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(f: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "_write_npz", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(_model(), tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_save_refuses_unregistered_types_and_bad_metadata(tmp_path: Path) -> None:
    class Custom(nn.Linear):
        pass

    with pytest.raises(CheckpointError, match="Custom is not a registered layer type"):
        save(Custom(2, 2), tmp_path / "c.npz")
    with pytest.raises(CheckpointError, match="not JSON-serialisable"):
        save(_model(), tmp_path / "m.npz", metadata={"f": object()})
    with pytest.raises(CheckpointError, match="not JSON-serialisable"):
        save(_model(), tmp_path / "m.npz", metadata={"acc": float("nan")})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(_model(), tmp_path / "nodir" / "m.npz")
    assert os.listdir(tmp_path) == []


def test_numpy_metadata_values_are_stored_as_json(tmp_path: Path) -> None:
    save(_model(), tmp_path / "m.npz", metadata={"acc": np.float64(0.5), "n": np.int64(3)})
    assert read_metadata(tmp_path / "m.npz") == {"acc": 0.5, "n": 3}


def test_single_layer_round_trip(tmp_path: Path) -> None:
    layer = nn.Linear(3, 2, rng=1)
    again = load(save(layer, tmp_path / "l.npz"))
    assert type(again) is nn.Linear
    np.testing.assert_array_equal(predict(again, X[:, :3]), predict(layer, X[:, :3]))


# ---------------------------------------------------------------------------------------------
# Bad files
# ---------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such checkpoint file"):
        load(tmp_path / "absent.npz")


def test_corrupted_file(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    path.write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(CheckpointError, match="is not a checkpoint"):
        load(path)


def test_flipped_bytes_fail_the_crc(tmp_path: Path) -> None:
    path = save(_model(), tmp_path / "m.npz")
    data = bytearray(path.read_bytes())
    data[200:260] = bytes(b ^ 0xFF for b in data[200:260])
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        load(path)


def test_truncated_file(tmp_path: Path) -> None:
    path = save(_model(), tmp_path / "m.npz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load(path)


def test_missing_parameter(tmp_path: Path) -> None:
    path = save(_model(), tmp_path / "m.npz")
    arrays = _arrays(path)
    del arrays["layers.2.bias"]
    _rewrite(path, arrays)
    with pytest.raises(CheckpointError,
                       match=re.escape("missing parameter layers.2.bias for Sequential")):
        load(path)


def test_unexpected_entry(tmp_path: Path) -> None:
    path = save(_model(), tmp_path / "m.npz")
    _rewrite(path, {**_arrays(path), "extra": np.zeros(2)})
    with pytest.raises(CheckpointError, match="unexpected entry extra"):
        load(path)


def test_shape_mismatch(tmp_path: Path) -> None:
    path = save(_model(), tmp_path / "m.npz")
    arrays = _arrays(path)
    arrays["layers.0.weight"] = np.zeros((5, 3))
    _rewrite(path, arrays)
    with pytest.raises(CheckpointError, match=r"parameter 'layers.0.weight' has shape \(5, 3\) in "
                                              r"the file but the architecture expects \(5, 4\)"):
        load(path)


def test_non_finite_parameters(tmp_path: Path) -> None:
    path = save(_model(), tmp_path / "m.npz")
    arrays = _arrays(path)
    arrays["layers.0.bias"] = np.full(5, np.nan)
    _rewrite(path, arrays)
    with pytest.raises(CheckpointError,
                       match=re.escape("'layers.0.bias' holds NaN or infinite values")):
        load(path)


def test_crafted_unknown_class_name_is_refused(tmp_path: Path) -> None:
    path = save(_model(), tmp_path / "m.npz")
    arrays = _arrays(path)
    header = _header(path)
    header["type"] = "posix.system"
    header["config"] = {"command": "echo pwned"}
    _rewrite(path, arrays, header)
    with pytest.raises(CheckpointError,
                       match=re.escape("unknown layer type 'posix.system'; only registered")):
        load(path)


def test_crafted_nested_unknown_layer_is_refused(tmp_path: Path) -> None:
    path = save(_model(), tmp_path / "m.npz")
    header = _header(path)
    config = header["config"]
    assert isinstance(config, dict)
    config["layers"][1]["type"] = "subprocess.Popen"
    _rewrite(path, _arrays(path), header)
    with pytest.raises(CheckpointError, match="cannot rebuild Sequential from its config"):
        load(path)


def test_pickled_object_array_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    save(_model(), path)
    arrays: dict[str, np.ndarray] = dict(_arrays(path))
    arrays["layers.0.bias"] = np.array([{"evil": 1}, None, 1, 2, 3], dtype=object)
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # pickles the object array
    with pytest.raises(CheckpointError,
                       match=re.escape("'layers.0.bias' is a pickled object array")):
        load(path)


def test_a_plain_pickle_file_is_refused(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "m.npz"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(CheckpointError, match="looks like pickled data, which is never loaded"):
        load(path)


def test_npz_without_header(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    _rewrite(path, {"w": np.zeros(3)})
    with pytest.raises(CheckpointError, match="not a tinygrad_nn checkpoint"):
        load(path)


def test_bad_header_json_and_version(tmp_path: Path) -> None:
    path = save(_model(), tmp_path / "m.npz")
    arrays = _arrays(path)
    arrays[ARCH_KEY] = np.frombuffer(b"{not json", np.uint8)
    _rewrite(path, arrays)
    with pytest.raises(CheckpointError, match="architecture entry is not valid JSON"):
        load(path)
    header = {"format": "tinygrad_nn.checkpoint", "version": 99, "type": "Linear", "config": {}}
    _rewrite(path, {k: v for k, v in arrays.items() if k != ARCH_KEY}, header)
    with pytest.raises(CheckpointError, match="unsupported checkpoint version 99"):
        load(path)


def test_a_single_npy_array_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(CheckpointError,
                       match=re.escape("single .npy array")):
        load(path)


def test_checkpoint_error_is_a_value_error() -> None:
    assert issubclass(CheckpointError, ValueError)
    assert zipfile  # the zip module is what np.savez writes
