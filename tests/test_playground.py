"""The recorder and the playground page's data (the browser tests are in
test_playground_browser.py): what a snapshot holds, that recording changes nothing, the page's
JSON, thinning to the size limit."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playground_runs import recorded_run

import tinygrad_nn as tn
from tinygrad_nn.train import Recorder
from tinygrad_nn.viz.playground import GRID, SHOWN_SAMPLES


def xor_fit(epochs: int, record: Recorder | None, seed: int = 0) -> tuple[tn.nn.Module, dict]:
    X, y = tn.data.make_xor(16, noise=0.05, rng=seed)
    model = tn.nn.mlp([2, 4, 2], activation="tanh", output_activation=None,
                      rng=np.random.default_rng(seed))
    loader = tn.data.DataLoader(X, y, batch_size=8, shuffle=True, rng=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.errors.TrainingWarning)
        tn.train.fit(model, tn.nn.CrossEntropyLoss(), tn.optim.SGD(model.parameters(), lr=0.1),
                     loader, epochs, val_data=(X, y), progress=False, record=record)
    return model, model.state_dict()


def test_recording_changes_no_parameter_bit() -> None:
    _, plain = xor_fit(7, None)
    recorder = Recorder(every=2)
    model, recorded = xor_fit(7, recorder)
    assert plain.keys() == recorded.keys()
    for name in plain:
        np.testing.assert_array_equal(plain[name], recorded[name])
    assert [s.epoch for s in recorder.snapshots] == [0, 2, 4, 6, 7]
    assert [s.step for s in recorder.snapshots] == [0, 4, 8, 12, 14]   # 2 minibatches an epoch
    for name, p in model.state_dict().items():
        np.testing.assert_array_equal(recorder.snapshots[-1].params[name], p)


def test_twenty_snapshots_spread_over_150_epochs_by_default() -> None:
    recorder = Recorder()
    xor_fit(150, recorder)
    assert [s.epoch for s in recorder.snapshots] == [round(i * 150 / 19) for i in range(20)]
    short = Recorder()
    xor_fit(7, short)
    assert [s.epoch for s in short.snapshots] == list(range(8))


def test_a_snapshot_equals_the_checkpoint_of_its_epoch(tmp_path: Path) -> None:
    run = recorded_run(tmp_path, "moons", epochs=12)
    assert [s.epoch for s in run.recorder.snapshots] == [0, 3, 6, 9, 12]
    for s in run.recorder.snapshots:
        saved = tn.load(run.checkpoints[s.epoch]).state_dict()
        assert saved.keys() == s.params.keys()
        for name in saved:
            np.testing.assert_array_equal(s.params[name], saved[name])


def test_gradient_norms_and_delta_are_those_of_the_probe_set(tmp_path: Path) -> None:
    """‖∂E/∂W‖ and mean |δ| of the output layer recomputed by hand (MSE on sigmoid outputs):
    δ_n = ∂E_n/∂net = 2 (out − y) σ'(net) / C per sample, E the mean over samples and C classes."""
    run = recorded_run(tmp_path, "digits", epochs=4, recorder=Recorder(every=2))
    s = run.recorder.snapshots[1]
    X, Y = run.recorder.train_data
    W1, b1 = s.params["layers.0.weight"], s.params["layers.0.bias"]
    W2, b2 = s.params["layers.2.weight"], s.params["layers.2.bias"]
    h = 1 / (1 + np.exp(-(X @ W1.T + b1)))
    out = 1 / (1 + np.exp(-(h @ W2.T + b2)))
    delta = 2 * (out - Y) * out * (1 - out) / Y.shape[1]          # per sample
    grad_W2 = delta.T @ h / len(X)
    assert s.grad_norms["layers.2.weight"] == pytest.approx(np.linalg.norm(grad_W2), rel=1e-9)
    assert s.delta is not None and len(s.delta) == 2
    assert s.delta[1] == pytest.approx(np.mean(np.abs(delta)), rel=1e-9)
    assert s.loss["train"] == pytest.approx(np.mean((out - Y) ** 2), rel=1e-12)
    assert s.accuracy["train"] == pytest.approx(np.mean(out.argmax(1) == Y.argmax(1)))
    assert s.lr == 5.0
    assert run.recorder.model is not run.model            # the twin, never the trained model


def test_fit_and_recorder_refuse_bad_arguments() -> None:
    with pytest.raises(ValueError, match="Recorder: every must be"):
        Recorder(every=0)
    with pytest.raises(ValueError, match="snapshots must be at least 2"):
        Recorder(snapshots=1)
    with pytest.raises(TypeError, match=r"fit: record must be a train\.Recorder or None, got str"):
        xor_fit(1, "run.html")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="playground: the Recorder holds no finished run"):
        tn.viz.playground(Recorder())
    with pytest.raises(TypeError, match=r"playground: expected a train\.Recorder"):
        tn.viz.playground("run")  # type: ignore[arg-type]


def test_the_page_data_of_a_2d_run(tmp_path: Path) -> None:
    run = recorded_run(tmp_path, "moons", epochs=6)
    page = tn.viz.playground(run.recorder, title="moons")
    data = page.data
    assert data["page"] == "playground" and len(page) == len(run.recorder) == 5
    assert data["data"]["kind"] == "plane" and data["thinned"] is None
    assert [layer["size"] for layer in data["network"]["layers"]] == [2, 8, 2]
    assert data["network"]["layers"][1]["phi"] == "tanh"
    assert data["network"]["layers"][2]["phi"] is None               # logits for softmax CE
    last = data["snapshots"][-1]
    assert len(last["boundary"]) == GRID * GRID
    # the boundary is the engine's prediction on the grid: check the grid's corners
    g = data["data"]["grid"]
    step_x, step_y = (g["x1"] - g["x0"]) / GRID, (g["y1"] - g["y0"]) / GRID
    corners = np.array([[g["x0"] + step_x / 2, g["y0"] + step_y / 2],
                        [g["x1"] - step_x / 2, g["y1"] - step_y / 2]])
    predicted = np.argmax(tn.train.predict(run.model, corners), axis=1)
    assert [last["boundary"][0] // 10, last["boundary"][-1] // 10] == predicted.tolist()
    # the test set's predictions and the outputs of each layer for the shown samples
    assert last["predictions"] == np.argmax(tn.train.predict(run.model, run.X_test), 1).tolist()
    assert len(last["outputs"]) == 2 and len(last["outputs"][0]) == SHOWN_SAMPLES
    hidden = np.tanh(run.X_test[:SHOWN_SAMPLES] @ run.model.state_dict()["layers.0.weight"].T
                     + run.model.state_dict()["layers.0.bias"])
    np.testing.assert_allclose(last["outputs"][0], hidden, rtol=1e-5)
    html = page.html()
    assert '<script type="application/json" id="tn-run">' in html
    assert '<script type="application/json" id="tn-data"' not in html
    assert page._repr_html_().startswith("<iframe srcdoc=")


def test_a_page_over_the_size_limit_keeps_evenly_spaced_snapshots(tmp_path: Path) -> None:
    run = recorded_run(tmp_path, "moons", epochs=12, recorder=Recorder(every=1))
    full = tn.viz.playground(run.recorder)
    size = len(full.html().encode())
    thin = tn.viz.playground(run.recorder, max_bytes=size // 2)
    assert len(thin.html().encode()) <= size // 2
    epochs = [s["epoch"] for s in thin.data["snapshots"]]
    assert epochs[0] == 0 and epochs[-1] == 12 and 2 <= len(epochs) < 13
    gaps = np.diff(epochs)
    assert gaps.max() - gaps.min() <= 1                               # evenly spaced
    assert thin.data["thinned"] == {"recorded": 13, "kept": len(epochs), "limit": size // 2}
    assert "thinned from 13" in repr(thin)


def test_the_default_digits_network_at_20_snapshots_fits_in_5_mb(tmp_path: Path) -> None:
    """The page's size grows with the snapshots, not the epochs (the curves are 4 numbers an
    epoch): 20 snapshots of the default 64-20-20-10 network on the digits stay under 5 MB
    unthinned (the benchmark measures the 150-epoch run itself)."""
    X, y = tn.data.load_digits()
    X_train, X_test, y_train, y_test = tn.data.train_test_split(X, y, test_size=0.2, rng=0,
                                                                stratify=True)
    model = tn.nn.mlp([64, 20, 20, 10], activation="sigmoid", output_activation="sigmoid",
                      rng=np.random.default_rng(0))
    loader = tn.data.DataLoader(X_train, tn.data.one_hot(y_train, 10), batch_size=32,
                                shuffle=True, rng=0)
    recorder = Recorder(every=1)
    tn.train.fit(model, tn.nn.MSELoss(), tn.optim.SGD(model.parameters(), lr=5.0), loader, 19,
                 val_data=(X_test, tn.data.one_hot(y_test, 10)), progress=False,
                 record=recorder)
    page = tn.viz.playground(recorder)
    assert len(page) == 20 and page.data["thinned"] is None
    size = len(page.save(tmp_path / "run.html").read_bytes())
    assert size <= 5_000_000 - 150 * 4 * 25                  # room for 150 epochs of curves
    assert json.loads(json.dumps(page.data["snapshots"][0]["params"]))  # plain JSON


def test_an_interrupted_run_ends_with_a_snapshot_of_its_last_step() -> None:
    X, y = tn.data.make_xor(16, noise=0.05, rng=0)
    model = tn.nn.mlp([2, 4, 2], activation="tanh", output_activation=None, rng=0)

    def stop(epoch: int, history: object) -> None:
        if epoch == 3:
            raise KeyboardInterrupt
    recorder = Recorder(every=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tn.errors.TrainingWarning)
        history = tn.train.fit(model, tn.nn.CrossEntropyLoss(),
                               tn.optim.SGD(model.parameters(), lr=0.1),
                               tn.data.DataLoader(X, y, batch_size=8, rng=0), 10,
                               callbacks=[stop], progress=False, record=recorder)
    assert history.interrupted
    assert [(s.epoch, s.step) for s in recorder.snapshots] == [(0, 0), (3, 6)]
    assert recorder.snapshots[-1].loss["test"] is None                  # no val_data
    for name, p in model.state_dict().items():
        np.testing.assert_array_equal(recorder.snapshots[-1].params[name], p)
    assert tn.viz.playground(recorder).data["history"]["epochs"] == [1, 2, 3]


def test_named_features_are_a_table_even_when_their_number_is_square(tmp_path: Path) -> None:
    run = recorded_run(tmp_path, "digits", epochs=4, recorder=Recorder(every=4))
    assert tn.viz.playground(run.recorder).data["data"]["kind"] == "image"
    names = [f"column {i}" for i in range(64)]
    page = tn.viz.playground(run.recorder, feature_names=names,
                             class_names=[str(c) for c in range(10)])
    assert page.data["data"]["kind"] == "table" and page.data["data"]["image_side"] is None
    with pytest.raises(ValueError, match="playground: feature_names must name 64 items, got 2"):
        tn.viz.playground(run.recorder, feature_names=["a", "b"])


class _TwoLayers(tn.nn.Module):
    """A Module of one's own holding its layers as attributes (no Sequential at the top)."""

    def __init__(self, first: tn.nn.Module, second: tn.nn.Module) -> None:
        self.first, self.phi, self.second = first, tn.nn.Tanh(), second

    def forward(self, x: Any) -> Any:
        return self.second(self.phi(self.first(x)))


def test_delta_is_recorded_for_layers_inside_nested_containers() -> None:
    """The same 2-4-2 network, its layers at the top of a Sequential, in a Sequential inside a
    Sequential, and held by a Module of one's own: the same |δ| per Linear layer each time."""
    X, y = tn.data.make_xor(16, noise=0.05, rng=0)
    Y = tn.data.one_hot(y, 2)

    def deltas(model: tn.nn.Module) -> list[float] | None:
        recorder = Recorder()
        recorder.start(model, tn.nn.MSELoss(), tn.data.DataLoader(X, Y, batch_size=8, rng=0),
                       None, 0, 1, 0, 0.1)
        return recorder.snapshots[0].delta

    def linears() -> tuple[tn.nn.Linear, tn.nn.Linear]:
        return tn.nn.Linear(2, 4, rng=1), tn.nn.Linear(4, 2, rng=2)

    a, b = linears()
    flat = deltas(tn.nn.Sequential(a, tn.nn.Tanh(), b))
    assert flat is not None and len(flat) == 2 and all(d > 0 for d in flat)
    a, b = linears()
    assert deltas(tn.nn.Sequential(tn.nn.Sequential(a, tn.nn.Tanh()), tn.nn.Sequential(b))) == flat
    a, b = linears()
    assert deltas(_TwoLayers(a, b)) == flat
