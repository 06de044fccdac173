"""Checkpoints: round trip, atomic writes, and every kind of bad file refused (CheckpointError)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import IO

import numpy as np
import pytest

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

    lin = nn.Linear(2, 2, rng=0)
    for model, message in [
        (nn.Sequential(nn.Linear(2, 2), Unregistered()),
         r"load\(\) could not rebuild this Sequential .*unknown module type 'Unregistered'.*"
         r"needs @nn.layer_type"),
        (ForgetsItsWidth(3), r"load\(\) could not rebuild this ForgetsItsWidth from its "
                             r"config\(\).*config\(\) must return its constructor's arguments"),
        (nn.Sequential(lin, nn.Tanh(), lin),
         r"Sequential rebuilt from its config\(\) would have the parameters .*'layers\.2\."
         r"weight'.* not the model's"),
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
