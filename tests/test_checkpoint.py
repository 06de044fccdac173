"""Checkpoints: round trip, atomic writes, and every kind of bad file refused (CheckpointError)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tempfile
import tracemalloc
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_nn import checkpoint, nn, optim
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


# -- a user's own Module subclass ----------------------------------------------------------------

RESIDUAL = '''
import numpy as np
from tinygrad_nn import Value, nn


@nn.layer_type
class Residual(nn.Module):
    """x + tanh(Linear(x)): a layer of the user's own, with a constructor argument."""

    def __init__(self, width: int, rng: int | None = None) -> None:
        self.width = width
        self.inner = nn.Linear(width, width, rng=rng)
        self.gain = Value(0.5)

    def forward(self, x: Value) -> Value:
        return x + self.inner(x).tanh() * self.gain

    def config(self) -> dict[str, int]:
        return {"width": self.width}
'''


def _residual_module(tmp_path: Path) -> type[nn.Module]:
    """Define ``Residual`` from the source above in a module file (for fresh processes too)."""
    (tmp_path / "my_layers.py").write_text(RESIDUAL, encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "my_layers"}
    exec(compile(RESIDUAL, str(tmp_path / "my_layers.py"), "exec"), namespace)
    return namespace["Residual"]  # type: ignore[return-value]


def test_a_registered_subclass_of_ones_own_saves_and_loads(tmp_path: Path) -> None:
    residual = _residual_module(tmp_path)
    model = nn.Sequential(nn.Linear(4, 3, rng=0), residual(3, rng=1), nn.Linear(3, 2, rng=2))
    path = save(model, tmp_path / "m.npz")
    again = load(path)
    assert type(again[1]) is residual
    np.testing.assert_array_equal(predict(again, X), predict(model, X))
    alone = load(save(residual(3, rng=4), tmp_path / "alone.npz"))
    assert [n for n, _ in alone.named_parameters()] == ["inner.weight", "inner.bias", "gain"]


def test_a_fresh_process_loads_it_once_the_class_is_imported(tmp_path: Path) -> None:
    residual = _residual_module(tmp_path)
    model = nn.Sequential(residual(4, rng=1), nn.Linear(4, 2, rng=2))
    path = save(model, tmp_path / "m.npz")
    np.save(tmp_path / "x.npy", X)
    script = ("import sys, numpy as np, tinygrad_nn as tn\n"
              "if sys.argv[1] == 'import': import my_layers\n"
              "model = tn.load(sys.argv[2])\n"
              "np.save(sys.argv[3], tn.train.predict(model, np.load(sys.argv[4])))\n")
    root = str(Path(nn.__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, str(tmp_path)]))
    run = [sys.executable, "-c", script]
    args = [str(path), str(tmp_path / "out.npy"), str(tmp_path / "x.npy")]
    done = subprocess.run([*run, "import", *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), predict(model, X))
    refused = subprocess.run([*run, "no-import", *args], env=env, capture_output=True, text=True,
                             timeout=120)
    assert "CheckpointError" in refused.stderr
    assert "unknown module type 'Residual'" in refused.stderr


def test_save_refuses_what_load_could_not_rebuild(tmp_path: Path) -> None:
    class Unregistered(nn.Module):
        def forward(self, x: object) -> object:
            return x

    @nn.layer_type
    class ForgetsItsWidth(nn.Module):               # config() does not return the width
        def __init__(self, width: int) -> None:
            self.inner = nn.Linear(width, width, rng=0)

    for model, message in [
        (nn.Sequential(nn.Linear(2, 2), Unregistered()),
         r"load\(\) could not rebuild this Sequential .*unknown module type 'Unregistered'.*"
         r"needs @nn.layer_type"),
        (ForgetsItsWidth(3), r"load\(\) could not rebuild this ForgetsItsWidth from its "
                             r"config\(\).*config\(\) must return its constructor's arguments"),
    ]:
        with pytest.raises(CheckpointError, match=r"^save: " + message):
            save(model, tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


# -- the optimizer's state beside the model -------------------------------------------------------


def _trained(kind: str) -> tuple[nn.Sequential, optim.Optimizer]:
    model = _model()
    params = model.parameters()
    opt: optim.Optimizer = (
        optim.SGD([{"params": params[:2], "lr": 0.2}, {"params": params[2:]}], lr=0.1,
                  momentum=0.9) if kind == "SGD"
        else optim.AdamW(params, lr=0.01, betas=(0.8, 0.99), amsgrad=True))
    for _ in range(3):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(X), np.arange(7) % 3).backward()
        opt.step()
    return model, opt


@pytest.mark.parametrize("kind", ["SGD", "AdamW"])
def test_model_and_optimizer_state_round_trip_in_one_file(tmp_path: Path, kind: str) -> None:
    model, opt = _trained(kind)
    path = save(model, tmp_path / "m.npz", metadata={"note": "x"}, optimizer=opt)
    again, meta = checkpoint.load_with_metadata(path)          # the model alone, as before
    assert meta == {"note": "x"}
    assert [n for n, _ in again.named_parameters()] == [n for n, _ in model.named_parameters()]
    fresh = type(opt)(again.parameters()) if kind == "AdamW" else optim.SGD(
        [{"params": again.parameters()[:2]}, {"params": again.parameters()[2:]}])
    checkpoint.load_optimizer_state(path, fresh, again)
    mine, theirs = opt.state_dict(), fresh.state_dict()
    assert theirs["param_groups"] == mine["param_groups"]
    assert sorted(theirs["state"]) == sorted(mine["state"])
    for i, entry in mine["state"].items():
        for key, value in entry.items():
            np.testing.assert_array_equal(theirs["state"][i][key], value)


def test_load_optimizer_state_refuses_a_mismatch_and_changes_nothing(tmp_path: Path) -> None:
    model, opt = _trained("SGD")
    with_state = save(model, tmp_path / "m.npz", optimizer=opt)
    without = save(model, tmp_path / "plain.npz")
    again = load(with_state)
    params = again.parameters()
    one_group = optim.SGD(params, lr=0.3)
    adam = optim.Adam(params)
    reordered = optim.SGD([{"params": params[2:]}, {"params": params[:2]}])
    for path, target, message in [
        (without, one_group, r"holds no optimizer state; save it with save\(model, path, "
                             r"optimizer=optimizer\)"),
        (with_state, adam, r"holds the state of a 'SGD' optimizer, not of a Adam"),
        (with_state, one_group, r"parameter group 0 of the file holds \['layers.0.weight', "
                                r"'layers.0.bias'\], the optimizer's \['layers.0.weight', "),
        (with_state, reordered, r"parameter group 0 of the file holds"),
    ]:
        before = target.state_dict()
        with pytest.raises(CheckpointError, match=r"^load_optimizer_state: '.*':? " + message):
            checkpoint.load_optimizer_state(path, target, again)
        assert target.state_dict() == before


def test_a_tampered_optimizer_buffer_is_refused(tmp_path: Path) -> None:
    model, opt = _trained("SGD")
    path = save(model, tmp_path / "m.npz", optimizer=opt)
    arrays = _arrays(path)
    arrays["__optimizer__.1.momentum_buffer"] = np.zeros(7)
    _rewrite(path, arrays)
    target = optim.SGD([{"params": model.parameters()[:2]}, {"params": model.parameters()[2:]}])
    with pytest.raises(CheckpointError, match=r"state\[1\]\['momentum_buffer'\] must be a real "
                                              r"array of the parameter's shape \(5,\)"):
        checkpoint.load_optimizer_state(path, target, model)
    assert not target.state
    np.testing.assert_array_equal(predict(load(path), X), predict(model, X))


def test_save_refuses_an_optimizer_over_other_parameters(tmp_path: Path) -> None:
    model = _model()
    stranger = optim.SGD([*model.parameters(), nn.Linear(2, 2).weight], lr=0.1)
    with pytest.raises(CheckpointError, match=r"^save: the optimizer's parameter 4 is not a "
                                              r"parameter of the model"):
        save(model, tmp_path / "m.npz", optimizer=stranger)
    with pytest.raises(TypeError, match=r"^save: optimizer must be an optim.Optimizer"):
        save(model, tmp_path / "m.npz", optimizer="adam")
    assert not list(tmp_path.iterdir())


def test_optimizer_arrays_without_an_optimizer_entry_are_unexpected(tmp_path: Path) -> None:
    path = save(_model(), tmp_path / "m.npz")
    _rewrite(path, {**_arrays(path), "__optimizer__.0.momentum_buffer": np.zeros(3)})
    with pytest.raises(CheckpointError, match=r"unexpected entry __optimizer__.0"):
        load(path)


# ---------------------------------------------------------------------------------------------
# Shared parameters, and save's own errors (issue 23, #1 and #14)
# ---------------------------------------------------------------------------------------------


def _shared_model() -> nn.Sequential:
    lin = nn.Linear(2, 2, rng=0)
    return nn.Sequential(lin, nn.Tanh(), lin, nn.Linear(2, 1, rng=1))


def test_a_layer_used_twice_round_trips_and_stays_shared(tmp_path: Path) -> None:
    """Sequential(lin, φ, lin) used to save but not load ("missing parameters layers.2.weight")."""
    model = _shared_model()
    again = load(save(model, tmp_path / "m.npz"))
    assert again.layers[2].weight is again.layers[0].weight
    assert again.layers[2].bias is again.layers[0].bias
    assert [n for n, _ in again.named_parameters()] == [n for n, _ in model.named_parameters()]
    x = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_array_equal(predict(again, x), predict(model, x))
    assert set(_arrays(tmp_path / "m.npz")) - {ARCH_KEY} == set(model.state_dict())
    assert _header(tmp_path / "m.npz")["shared"] == {"layers.2.weight": "layers.0.weight",
                                                     "layers.2.bias": "layers.0.bias"}


def test_tied_weights_of_two_layer_objects_round_trip(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Tanh(), nn.Linear(3, 3, rng=1))
    model.layers[2].weight = model.layers[0].weight          # tied, biases separate
    again = load(save(model, tmp_path / "m.npz"))
    assert again.layers[2].weight is again.layers[0].weight
    assert again.layers[2].bias is not again.layers[0].bias
    x = np.random.default_rng(1).standard_normal((4, 3))
    np.testing.assert_array_equal(predict(again, x), predict(model, x))


def test_fit_checkpoints_of_a_shared_layer_load(tmp_path: Path) -> None:
    from tinygrad_nn.data import DataLoader
    from tinygrad_nn.optim import SGD
    from tinygrad_nn.train import fit

    model = _shared_model()
    X = np.random.default_rng(2).standard_normal((8, 2))
    Y = X[:, :1] * 0.5
    fit(model, nn.MSELoss(), SGD(model.parameters(), lr=0.1),
        DataLoader(X, Y, batch_size=4, rng=0), epochs=2, progress=False,
        checkpoint=tmp_path / "fit.npz")
    np.testing.assert_array_equal(predict(load(tmp_path / "fit.npz"), X), predict(model, X))


@pytest.mark.parametrize("shared, message", [
    ({"layers.2.weight": "layers.9.weight"}, "shared parameter 'layers.2.weight' -> "
                                             "'layers.9.weight' does not match"),
    ({"layers.2.weight": "layers.3.weight"}, "does not match"),       # (1, 2) vs (2, 2)
    ({"layers.0.weight": "layers.0.weight"}, "does not match"),
    ({"layers.2.weight": 3}, "'shared' must map parameter names to names"),
])
def test_a_crafted_shared_map_is_refused(tmp_path: Path, shared: dict[str, object],
                                         message: str) -> None:
    path = save(_shared_model(), tmp_path / "m.npz")
    header = _header(path)
    header["shared"] = {**header["shared"], **shared}
    _rewrite(path, _arrays(path), header)
    with pytest.raises(CheckpointError, match=re.escape(message)):
        load(path)


def test_save_into_a_directory_names_save_and_the_path(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match=re.escape(
            f"save: {str(tmp_path)!r} is a directory; give a file path such as")):
        save(_model(), tmp_path)
    assert os.listdir(tmp_path) == []


def test_save_into_a_read_only_directory_names_save_and_the_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mkstemp's PermissionError used to name the temporary file (tests run as root, where a
    chmod'ed directory stays writable, so mkstemp itself is made to refuse)."""
    def refuse(**kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", str(tmp_path / ".m.npz.x1y2.tmp"))

    monkeypatch.setattr(checkpoint.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match=re.escape(
            f"save: cannot write {str(tmp_path / 'm.npz')!r}: Permission denied")) as info:
        save(_model(), tmp_path / "m.npz")
    assert ".tmp" not in str(info.value)


def test_a_failed_rename_names_save_and_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied", str(src), str(dst))

    monkeypatch.setattr(checkpoint.os, "replace", refuse)
    with pytest.raises(PermissionError, match=re.escape(
            f"save: cannot write {str(tmp_path / 'm.npz')!r}")):
        save(_model(), tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("call", [lambda: load(None), lambda: read_metadata(None),
                                  lambda: save(_model(), None)],
                         ids=["load", "read_metadata", "save"])
def test_a_path_that_is_not_a_path_is_refused_by_name(call: Any) -> None:
    with pytest.raises(TypeError, match=r"^(load|save): path must be a str or os.PathLike, got "
                                        r"NoneType None"):
        call()


# ---------------------------------------------------------------------------------------------
# Hostile files: sizes checked before allocating, every corruption a CheckpointError (#12, #13)
# ---------------------------------------------------------------------------------------------


def _npy_member(header: str, payload: bytes) -> bytes:
    """A .npy file with a hand-written header dict (padded as format version 1.0 requires)."""
    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    return (b"\x93NUMPY\x01\x00" + (len(text) + pad + 1).to_bytes(2, "little") + text
            + b" " * pad + b"\n" + payload)


def _crafted(path: Path, members: dict[str, bytes],
             compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _linear_members(header: dict[str, object] | str | None = None) -> dict[str, bytes]:
    """The members of a valid Linear(2, 2) checkpoint, with its header replaced if given (a
    dict, or the JSON text itself)."""
    members = {}
    full = header or {"format": "tinygrad_nn.checkpoint", "version": 1, "type": "Linear",
                      "config": {"in_features": 2, "out_features": 2}}
    text = full if isinstance(full, str) else json.dumps(full)
    arrays = {ARCH_KEY: np.frombuffer(text.encode(), np.uint8),
              "weight": np.zeros((2, 2)), "bias": np.zeros(2)}
    for key, arr in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, arr)
        members[f"{key}.npy"] = buffer.getvalue()
    return members


def _peak_bytes_while_loading(path: Path) -> tuple[int, BaseException | None]:
    tracemalloc.start()
    error: BaseException | None = None
    try:
        load(path)
    except BaseException as exc:                # reported to the test, which checks its type
        error = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, error


def test_a_tiny_file_asking_for_a_huge_linear_is_refused_before_allocating(
        tmp_path: Path) -> None:
    """2²⁴ × 2²⁴ used to be a MemoryError; 20,000 × 20,000 (3.2 GB) was allocated, then refused."""
    for n in (2**24, 20_000):
        header = {"format": "tinygrad_nn.checkpoint", "version": 1, "type": "Linear",
                  "config": {"in_features": n, "out_features": n}}
        path = _crafted(tmp_path / f"big{n}.npz", _linear_members(header))
        assert path.stat().st_size < 4096
        peak, error = _peak_bytes_while_loading(path)
        assert isinstance(error, CheckpointError)
        assert f"parameter 'weight' has shape (2, 2) in the file but the architecture expects " \
               f"({n}, {n})" in str(error)
        assert peak < 2**20, f"load allocated {peak} bytes for a {path.stat().st_size}-byte file"


@pytest.mark.parametrize("shape", ["(281474976710656,)", "(134217728,)", "(4, -1)", "(3,)"])
def test_a_member_header_claiming_another_size_is_refused_before_allocating(
        tmp_path: Path, shape: str) -> None:
    """A .npy header claiming 2⁴⁸ entries used to be a MemoryError (2²⁷ allocated 1 GiB)."""
    members = _linear_members()
    members["bias.npy"] = _npy_member(
        f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}", np.zeros(2).tobytes())
    path = _crafted(tmp_path / "m.npz", members)
    peak, error = _peak_bytes_while_loading(path)
    assert isinstance(error, CheckpointError), repr(error)
    assert "entry 'bias'" in str(error)
    assert peak < 2**20


@pytest.mark.parametrize("descr, message", [
    ("'|O'", "is a pickled object array"),
    ("'<c16'", "has dtype complex128; checkpoints hold real numbers only"),
    ("'<U3'", "has dtype <U3; checkpoints hold real numbers only"),
    ("[('a', '<f8')]", "checkpoints hold real numbers only"),
])
def test_a_member_that_is_not_real_numbers_is_refused(tmp_path: Path, descr: str,
                                                      message: str) -> None:
    members = _linear_members()
    members["bias.npy"] = _npy_member(
        f"{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}", b"\0" * 32)
    with pytest.raises(CheckpointError, match=re.escape(message)):
        load(_crafted(tmp_path / "m.npz", members))


def test_a_compressed_member_is_refused(tmp_path: Path) -> None:
    """A deflated member could expand far beyond the file: checkpoints are stored uncompressed."""
    path = _crafted(tmp_path / "m.npz", _linear_members(), compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match="entry '__architecture__' is compressed"):
        load(path)


def test_a_deeply_nested_header_is_refused(tmp_path: Path) -> None:
    """100,000 nested lists used to be a RecursionError; 65 levels are refused too."""
    for depth in (100_000, checkpoint.MAX_CONFIG_DEPTH + 1):
        text = ('{"format": "tinygrad_nn.checkpoint", "version": 1, "type": "Linear", '
                '"config": ' + "[" * depth + "]" * depth + "}")
        with pytest.raises(CheckpointError, match="nests deeper than 64 levels"):
            load(_crafted(tmp_path / "deep.npz", _linear_members(text)))


def test_a_header_with_a_4301_digit_number_is_refused(tmp_path: Path) -> None:
    text = ('{"format": "tinygrad_nn.checkpoint", "version": 1, "type": "Linear", '
            '"config": {"in_features": ' + "9" * 4301 + ', "out_features": 2}}')
    with pytest.raises(CheckpointError, match="architecture entry is not valid JSON"):
        load(_crafted(tmp_path / "m.npz", _linear_members(text)))


def _same_model(a: Any, b: Any) -> bool:
    def flat(m: Any) -> list[tuple[str, bytes, str]]:
        return [(n, p.data.tobytes(), p.dtype.name)
                for n, p in m.named_parameters(remove_duplicate=False)]
    return a.config() == b.config() and flat(a) == flat(b)


def test_every_single_byte_corruption_loads_the_same_model_or_raises_checkpoint_error(
        tmp_path: Path) -> None:
    """Each byte of a small real checkpoint (a shared layer, metadata) XOR 0xFF and XOR a seeded
    value: the same model and metadata, or CheckpointError, never anything else (20 of 1,818
    such files used to raise NotImplementedError from the zip module)."""
    good = save(_shared_model(), tmp_path / "good.npz", metadata={"accuracy": 0.5})
    reference = load(good)
    data = good.read_bytes()
    rng = np.random.default_rng(23)
    bad = tmp_path / "bad.npz"
    outcomes = {"same": 0, "refused": 0}
    for i in range(len(data)):
        for flip in (0xFF, rng.integers(1, 255)):
            corrupted = bytearray(data)
            corrupted[i] ^= int(flip)
            bad.write_bytes(bytes(corrupted))
            try:
                model, metadata = checkpoint.load_with_metadata(bad)
            except CheckpointError:
                outcomes["refused"] += 1
                continue
            assert _same_model(model, reference) and metadata == {"accuracy": 0.5}, (i, flip)
            outcomes["same"] += 1
    assert outcomes["refused"] > 0.5 * 2 * len(data)


def test_every_truncation_raises_checkpoint_error(tmp_path: Path) -> None:
    data = save(_shared_model(), tmp_path / "good.npz").read_bytes()
    bad = tmp_path / "bad.npz"
    for length in range(len(data)):
        bad.write_bytes(data[:length])
        with pytest.raises(CheckpointError):
            load(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(2**60, 2**70)
    | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12)


@st.composite
def crafted_headers(draw: st.DrawFn) -> dict[str, Any]:
    """A real header of a small MLP with parts replaced by arbitrary JSON."""
    header: dict[str, Any] = {"format": "tinygrad_nn.checkpoint", "version": 1,
                              "type": "Sequential", "config": _model().config(), "metadata": {}}
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["type", "config", "layer-type", "layer-config", "feature",
                                      "metadata", "shared", "version"]))
        value = draw(json_values)
        layers = header["config"]["layers"] if isinstance(header["config"], dict) and isinstance(
            header["config"].get("layers"), list) else None
        if where == "layer-type" and layers:
            layers[draw(st.integers(0, len(layers) - 1))]["type"] = draw(
                st.sampled_from(sorted(nn.LAYER_TYPES)) | st.text(max_size=8))
        elif where == "layer-config" and layers:
            layers[draw(st.integers(0, len(layers) - 1))]["config"] = value
        elif where == "feature" and layers:
            layers[0]["config"]["out_features"] = draw(st.integers(-2, 2**40) | json_values)
        elif where in ("type", "config", "metadata", "shared", "version"):
            header[where] = value
    return header


@settings(max_examples=max(30, settings.default.max_examples // 3))   # each one saves a file
@given(crafted_headers())
def test_crafted_headers_load_or_raise_checkpoint_error_within_the_files_size(
        header: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.npz"
        good = save(_model(), path)
        arrays = _arrays(good)
        arrays[ARCH_KEY] = np.frombuffer(json.dumps(header).encode(), np.uint8)
        with open(path, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
        peak, error = _peak_bytes_while_loading(path)
        assert error is None or isinstance(error, CheckpointError), repr(error)
        assert peak < 2**20 + 20 * path.stat().st_size


# -- buffers (BatchNorm's running statistics) ----------------------------------------------------


def _batch_norm_model() -> nn.Sequential:
    """A BatchNorm1d used twice, with running statistics of three batches."""
    bn = nn.BatchNorm1d(3)
    model = nn.Sequential(nn.Linear(2, 3, rng=0), bn, nn.Tanh(), bn)
    for seed in range(3):
        model(np.random.default_rng(seed).standard_normal((5, 2)))
    return model


def test_a_batch_norm_used_twice_round_trips_with_its_buffers_shared(tmp_path: Path) -> None:
    model = _batch_norm_model()
    path = save(model, tmp_path / "bn.npz")
    assert _header(path)["shared"] == {
        f"layers.3.{name}": f"layers.1.{name}"
        for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}
    again = load(path)
    first, second = again.layers[1], again.layers[3]
    assert first is not second                               # rebuilt as two objects...
    for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
        assert getattr(second, name) is getattr(first, name), name     # ...sharing everything
    assert int(first.num_batches_tracked) == 6               # two calls per forward pass
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key], value, err_msg=key)
    x = np.random.default_rng(7).standard_normal((4, 2))
    np.testing.assert_array_equal(predict(again, x), predict(model, x))
    model(x)
    again(x)                                                 # training mode: updates once each
    np.testing.assert_array_equal(again.layers[3].running_mean, model.layers[1].running_mean)


@pytest.mark.parametrize("name, stored, message", [
    ("layers.1.running_var", np.ones(4), "parameter 'layers.1.running_var' has shape (4,) in "
                                         "the file but the architecture expects (3,)"),
    ("layers.1.num_batches_tracked", np.zeros(1, dtype=np.int64),
     "parameter 'layers.1.num_batches_tracked' has shape (1,) in the file but the architecture "
     "expects ()"),
    ("layers.1.num_batches_tracked", np.array(2.5), "buffer 'layers.1.num_batches_tracked' "
                                                    "counts in int64"),
    ("layers.1.num_batches_tracked", np.array(2.0**70), "counts in int64"),
])
def test_a_crafted_buffer_is_refused(tmp_path: Path, name: str, stored: np.ndarray,
                                     message: str) -> None:
    path = save(_batch_norm_model(), tmp_path / "bn.npz")
    _rewrite(path, {**_arrays(path), name: stored})
    with pytest.raises(CheckpointError, match=re.escape(message)):
        load(path)


def test_a_shared_map_may_not_make_a_parameter_a_buffer(tmp_path: Path) -> None:
    path = save(_batch_norm_model(), tmp_path / "bn.npz")
    header = _header(path)
    header["shared"] = {**header["shared"], "layers.3.weight": "layers.1.running_mean"}
    _rewrite(path, _arrays(path), header)
    with pytest.raises(CheckpointError, match=re.escape(
            "shared parameter 'layers.3.weight' -> 'layers.1.running_mean' does not match")):
        load(path)


def test_a_tiny_file_asking_for_a_huge_batch_norm_is_refused_before_allocating(
        tmp_path: Path) -> None:
    """The buffers' shapes come from the config too, so they are compared before building."""
    n = 2**27                                     # five (n,) arrays: 4 GiB
    header = {"format": "tinygrad_nn.checkpoint", "version": 1, "type": "BatchNorm1d",
              "config": {"num_features": n, "affine": False}}
    members = {}
    arrays = {ARCH_KEY: np.frombuffer(json.dumps(header).encode(), np.uint8),
              "running_mean": np.zeros(2), "running_var": np.ones(2),
              "num_batches_tracked": np.array(0)}
    for key, arr in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, arr)
        members[f"{key}.npy"] = buffer.getvalue()
    path = _crafted(tmp_path / "big.npz", members)
    peak, error = _peak_bytes_while_loading(path)
    assert isinstance(error, CheckpointError)
    assert f"parameter 'running_mean' has shape (2,) in the file but the architecture expects " \
           f"({n},)" in str(error)
    assert peak < 2**20, f"load allocated {peak} bytes for a {path.stat().st_size}-byte file"


# -- random layers: where Dropout's generator stands --------------------------------------------


def _dropout_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4, rng=0), nn.Dropout(0.5, rng=7), nn.Linear(4, 2, rng=1))


def _next_mask(model: nn.Sequential) -> np.ndarray:
    model.train()
    return np.asarray(model[1](np.ones((5, 4))).data)


def test_a_checkpoint_keeps_where_dropout_s_generator_stands(tmp_path: Path) -> None:
    model = _dropout_model()
    _next_mask(model)                                  # the generator has moved on from its seed
    save(model, tmp_path / "m.npz")
    assert _header(tmp_path / "m.npz")["rng"] == {"layers.1": model[1].rng_state()}
    loaded = load(tmp_path / "m.npz")
    np.testing.assert_array_equal(_next_mask(loaded), _next_mask(model))


def test_a_checkpoint_written_before_it_kept_generators_still_loads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _dropout_model()
    with monkeypatch.context() as patched:              # save as before: no "rng" in the header
        patched.setattr(checkpoint, "rng_states", lambda model: {})
        save(model, tmp_path / "old.npz")
    assert "rng" not in _header(tmp_path / "old.npz")
    loaded = load(tmp_path / "old.npz")
    for p, q in zip(model.parameters(), loaded.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    assert loaded[1].rng_state()["bit_generator"] == "PCG64"   # fresh entropy, as before


@pytest.mark.parametrize(("states", "message"), [
    ({"layers.0": {"bit_generator": "PCG64"}}, "do not name random layers of the model "
                                               "(layers.1)"),
    ({"layers.1": {"bit_generator": "MT19937"}}, "layer 'layers.1': Dropout.load_rng_state: "
                                                 "expected the state of a PCG64 generator"),
    ({"layers.1": {"bit_generator": "PCG64", "state": "x"}},
     "layer 'layers.1': Dropout.load_rng_state: not a valid PCG64 state"),
])
def test_a_bad_generator_state_is_refused(tmp_path: Path, states: dict[str, Any],
                                          message: str) -> None:
    path = tmp_path / "m.npz"
    save(_dropout_model(), path)
    header = _header(path)
    header["rng"] = states
    _rewrite(path, _arrays(path), header)
    with pytest.raises(CheckpointError, match=re.escape(message)):
        load(path)
