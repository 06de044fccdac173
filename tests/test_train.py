"""fit / evaluate / predict: the tutorial's training and test process, divergence, Ctrl-C, plots."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import resume_run

from tinygrad_nn import Value, nn, optim
from tinygrad_nn.checkpoint import CheckpointError, load, read_metadata, save
from tinygrad_nn.data import DataLoader, load_digits, make_xor, one_hot, train_test_split
from tinygrad_nn.optim import SGD, Adam
from tinygrad_nn.train import (
    Evaluation,
    History,
    TrainingDivergedError,
    evaluate,
    fit,
    predict,
)
from tinygrad_nn.value import STATE

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                                os.environ.get("PYTHONPATH")])))
"""A fresh Python process's environment, importing this checkout's tinygrad_nn."""


SHORT_RUN = pytest.mark.filterwarnings("ignore::tinygrad_nn.errors.TrainingWarning")
"""For tests of a few epochs that are not about learning: fit's warning that the run has not
learned yet is expected there."""

def _xor(seed: int = 0) -> tuple[nn.Sequential, DataLoader]:
    X, y = make_xor(n=64, noise=0.1, rng=seed)
    model = nn.mlp([2, 8, 2], activation="tanh", output_activation=None, rng=seed)
    return model, DataLoader(X, y, batch_size=16, rng=seed)


def _snapshot(model: Any) -> list[np.ndarray]:
    return [np.array(p.data, copy=True) for p in model.parameters()]


def _assert_params_equal(model: Any, snapshot: list[np.ndarray]) -> None:
    for p, s in zip(model.parameters(), snapshot, strict=True):
        np.testing.assert_array_equal(p.data, s)


def _digits_subset(n: int = 400) -> tuple[np.ndarray, ...]:
    X, y = load_digits()
    return tuple(train_test_split(X[:n], y[:n], test_size=0.25, rng=0, stratify=True))


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------


def test_fit_learns_xor() -> None:
    model, loader = _xor()
    history = fit(model, nn.CrossEntropyLoss(), Adam(model.parameters(), lr=0.05), loader,
                  epochs=60, progress=False)
    assert history.loss[-1] < 0.1 * history.loss[0]
    assert history.accuracy[-1] == 1.0
    X, y = make_xor(n=4, noise=0.0)
    np.testing.assert_array_equal(np.argmax(predict(model, X), axis=1), y)


def test_fit_on_digits_subset_with_the_tutorial_setup() -> None:
    X_tr, X_te, y_tr, y_te = _digits_subset()
    model = nn.mlp([64, 20, 20, 10], activation="sigmoid", rng=0)
    loader = DataLoader(X_tr, one_hot(y_tr, 10), batch_size=32, rng=0)
    history = fit(model, nn.MSELoss(), SGD(model.parameters(), lr=15.0), loader, epochs=30,
                  val_data=(X_te, one_hot(y_te, 10)), progress=False)
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert all(b <= a * 1.05 for a, b in zip(history.loss, history.loss[1:]))
    assert history.val_accuracy[-1] > 0.8


def test_history_fields() -> None:
    model, loader = _xor()
    X_val, y_val = make_xor(n=20, rng=1)
    history = fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader,
                  epochs=3, val_data=(X_val, y_val), progress=False)
    assert history.epochs == 3
    for name in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds"):
        assert len(getattr(history, name)) == 3, name
    assert history.steps == 3 * len(loader) == 12
    assert history.interrupted is False
    assert all(s > 0 for s in history.seconds)
    assert all(0.0 <= a <= 1.0 for a in history.accuracy + history.val_accuracy)
    ev = evaluate(model, nn.CrossEntropyLoss(), X_val, y_val)
    assert history.val_loss[-1] == ev.loss and history.val_accuracy[-1] == ev.accuracy
    assert history.to_dict()["steps"] == 12


def test_epoch_loss_is_the_batch_size_weighted_mean() -> None:
    X = np.arange(10.0).reshape(5, 2)
    Y = np.ones((5, 1))
    model = nn.Linear(2, 1, rng=0)
    losses: list[tuple[float, int]] = []
    mse = nn.MSELoss()

    def loss_fn(out: Value, yb: Any) -> Value:
        loss = mse(out, yb)
        losses.append((loss.item(), len(yb)))
        return loss

    history = fit(model, loss_fn, SGD(model.parameters(), lr=0.0), DataLoader(X, Y, batch_size=2,
                  shuffle=False), epochs=1, progress=False)
    assert [n for _, n in losses] == [2, 2, 1]
    assert history.loss[0] == pytest.approx(sum(v * n for v, n in losses) / 5, rel=1e-15)
    assert history.accuracy == []       # regression targets: no accuracy


@SHORT_RUN
def test_accuracy_with_one_hot_targets_equals_labels() -> None:
    runs = []
    for target in ("labels", "onehot"):
        X, y = make_xor(n=32, rng=3)
        Y = y if target == "labels" else one_hot(y, 2)
        model = nn.mlp([2, 4, 2], rng=3)
        h = fit(model, nn.MSELoss() if target == "onehot" else _mse_on_labels,
                SGD(model.parameters(), lr=1.0), DataLoader(X, Y, batch_size=8, rng=3), 2,
                progress=False)
        runs.append(h)
    assert runs[0].accuracy == runs[1].accuracy
    assert runs[0].loss == runs[1].loss


@SHORT_RUN
def test_accuracy_is_counted_per_minibatch_when_the_outputs_differ_in_width() -> None:
    w = Value(np.ones(1))
    X = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [1.0, 0.0, 0.0],
                  [0.0, 5.0, 0.0], [0.0, 0.0, 1.0]])
    y = np.array([1, 0, 2, 0, 1, 1])

    def model(x: Value) -> Value:           # 3 scores for the first minibatch, 2 for the second
        scores = x * w
        return scores if x.shape[0] == 4 else scores[:, :2]

    history = fit(model, lambda out, yb: (out * out).mean(), SGD([w], lr=0.0),
                  DataLoader(X, y, batch_size=4, shuffle=False), 1, progress=False)
    assert history.accuracy == [5 / 6]      # 4 of 4 rows, then [0, 5] → 1 right, [0, 0] → 0 wrong


@SHORT_RUN
def test_fit_reads_the_kind_of_a_new_y_given_to_its_loader() -> None:
    X, y = make_xor(n=16, rng=0)
    model = nn.mlp([2, 4, 2], rng=0)
    loader = DataLoader(X, one_hot(y, 2), batch_size=8, rng=0)
    opt = SGD(model.parameters(), lr=0.1)
    assert len(fit(model, nn.MSELoss(), opt, loader, 1, progress=False).accuracy) == 1
    loader.Y = one_hot(y, 2) * 0.5 + 0.25   # regression targets of the same shape: no accuracy
    assert fit(model, nn.MSELoss(), opt, loader, 1, progress=False).accuracy == []


def _mse_on_labels(out: Value, y: Any) -> Value:
    return nn.MSELoss()(out, one_hot(y, 2))


@SHORT_RUN
def test_same_seed_gives_bit_identical_histories() -> None:
    def run() -> History:
        model, loader = _xor(seed=7)
        return fit(model, nn.CrossEntropyLoss(), Adam(model.parameters(), lr=0.01), loader,
                   epochs=5, val_data=make_xor(n=12, rng=8), progress=False)

    a, b = run(), run()
    assert a.loss == b.loss and a.accuracy == b.accuracy
    assert a.val_loss == b.val_loss and a.val_accuracy == b.val_accuracy
    model, loader = _xor(seed=9)
    c = fit(model, nn.CrossEntropyLoss(), Adam(model.parameters(), lr=0.01), loader, epochs=5,
            progress=False)
    assert c.loss != a.loss


def test_loss_decreases_with_callbacks_called_each_epoch() -> None:
    model, loader = _xor()
    seen: list[tuple[int, int]] = []

    class Recorder:
        def on_epoch_end(self, epoch: int, history: History) -> None:
            seen.append((epoch, history.epochs))

    calls: list[int] = []
    fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader, epochs=3,
        callbacks=[Recorder(), lambda epoch, h: calls.append(epoch)], progress=False)
    assert seen == [(1, 1), (2, 2), (3, 3)]
    assert calls == [1, 2, 3]


# ---------------------------------------------------------------------------------------------
# divergence
# ---------------------------------------------------------------------------------------------


def test_divergence_names_epoch_and_batch_and_keeps_finite_parameters() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)) * 10
    Y = X @ np.array([[1.0], [2.0], [3.0]])
    model = nn.Linear(3, 1, rng=0)
    with pytest.raises(TrainingDivergedError) as info:
        fit(model, nn.MSELoss(), SGD(model.parameters(), lr=10.0),
            DataLoader(X, Y, batch_size=10, rng=0), epochs=20, progress=False)
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert f"training diverged at epoch {err.epoch}, batch {err.batch}" in str(err)
    assert "smaller learning rate" in str(err)
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())
    assert all(p.grad is None for p in model.parameters())


def test_nan_loss_at_step_k_keeps_the_parameters_of_step_k_minus_1() -> None:
    k = 6                                     # epoch 2 (4 batches per epoch), batch 2
    snapshots: list[list[np.ndarray]] = []
    model, loader = _xor()
    ce = nn.CrossEntropyLoss()
    calls = 0

    def loss_fn(out: Value, yb: Any) -> Value:
        nonlocal calls
        calls += 1
        snapshots.append(_snapshot(model))
        loss = ce(out, yb)
        return loss * float("nan") if calls == k else loss

    with pytest.raises(TrainingDivergedError,
                       match=r"fit: training diverged at epoch 2, batch 2: the loss is nan"):
        fit(model, loss_fn, SGD(model.parameters(), lr=0.5), loader, epochs=3, progress=False)
    _assert_params_equal(model, snapshots[k - 1])


def test_huge_finite_gradients_whose_sum_overflows_are_not_divergence() -> None:
    """The check sums each gradient first; an overflowing sum of finite entries is re-checked
    entry by entry, and training goes on."""
    w = Value(np.array([1e-10, 1e-10]))

    def model(x: Value) -> Value:
        return (x * w).sum(axis=1)

    X = np.full((1, 2), 1e308)                      # ∂E/∂w = (1e308, 1e308): Σ = inf
    history = fit(model, lambda out, yb: out.sum(), SGD([w], lr=1e-300),
                  DataLoader(X, np.zeros(1), batch_size=1), epochs=1, progress=False)
    assert history.steps == 1 and np.all(np.isfinite(w.data))


def test_infinite_gradient_is_caught_before_the_update() -> None:
    model = nn.Linear(1, 1, rng=0)
    model.weight.data[...] = 0.0
    assert model.bias is not None
    model.bias.data[...] = 0.0
    before = _snapshot(model)
    X = np.zeros((4, 1))
    # E = Σ √out is finite (0) at out = 0, but ∂E/∂out = 1/(2√out) is infinite
    with pytest.raises(TrainingDivergedError, match=r"batch 1: the gradient of parameter \d is"):
        fit(model, lambda out, yb: out.sqrt().sum(), SGD(model.parameters(), lr=0.1),
            DataLoader(X, np.zeros((4, 1)), batch_size=4), epochs=1, progress=False)
    _assert_params_equal(model, before)


# ---------------------------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------------------------


def _interrupting_loss(k: int, model: Any, snapshots: list[list[np.ndarray]] | None = None
                       ) -> Callable[[Value, Any], Value]:
    """CE loss that raises KeyboardInterrupt on its k-th call (k = 0: never) and records params."""
    ce = nn.CrossEntropyLoss()
    calls = 0

    def loss_fn(out: Value, yb: Any) -> Value:
        nonlocal calls
        calls += 1
        if snapshots is not None:
            snapshots.append(_snapshot(model))
        if calls == k:
            raise KeyboardInterrupt
        return ce(out, yb)

    return loss_fn


@SHORT_RUN
def test_interrupt_during_step_k_keeps_the_parameters_after_step_k_minus_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Definition: Ctrl-C during the forward/backward of step k (1-based, counted over the run)
    stops before step k's update, so the model holds the parameters after step k-1 and
    ``history.steps == k - 1``; completed epochs stay recorded, the checkpoint holds them."""
    k = 7
    reference: list[list[np.ndarray]] = []
    model_ref, loader_ref = _xor(seed=4)
    fit(model_ref, _interrupting_loss(0, model_ref, reference),
        SGD(model_ref.parameters(), lr=0.5), loader_ref, epochs=3, progress=False)

    model, loader = _xor(seed=4)
    ckpt = tmp_path / "ckpt.npz"
    history = fit(model, _interrupting_loss(k, model), SGD(model.parameters(), lr=0.5), loader,
                  epochs=3, progress=False, checkpoint=ckpt)
    assert history.interrupted is True
    assert history.steps == k - 1
    assert history.epochs == 1                 # 4 batches per epoch: epoch 1 completed
    _assert_params_equal(model, reference[k - 1])   # params seen when step k began
    assert all(p.grad is None for p in model.parameters())
    again = load(ckpt)
    _assert_params_equal(again, reference[k - 1])
    assert read_metadata(ckpt)["interrupted"] is True
    assert "interrupted at epoch 2, batch 3" in capsys.readouterr().err


def test_interrupt_from_a_callback_keeps_completed_epochs(tmp_path: Path) -> None:
    model, loader = _xor()

    def stop(epoch: int, history: History) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    history = fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader,
                  epochs=5, callbacks=[stop], progress=False, checkpoint=tmp_path / "c.npz")
    assert history.interrupted and history.epochs == 2 and history.steps == 8
    _assert_params_equal(load(tmp_path / "c.npz"), _snapshot(model))


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
def test_real_sigint_during_an_update_lands_after_the_whole_step() -> None:
    """A SIGINT arriving in the middle of optimizer.step() is held until the step is complete."""
    model, loader = _xor()
    inner = SGD(model.parameters(), lr=0.5)
    after_step: list[list[np.ndarray]] = []

    class KilledMidStep:
        params = inner.params

        def __init__(self) -> None:
            self.count = 0

        def zero_grad(self) -> None:
            inner.zero_grad()

        def step(self) -> None:
            self.count += 1
            if self.count == 3:
                os.kill(os.getpid(), signal.SIGINT)   # arrives before the update below
                for _ in range(1000):                  # give the handler every chance to run
                    pass
            inner.step()
            after_step.append(_snapshot(model))

    history = fit(model, nn.CrossEntropyLoss(), KilledMidStep(), loader, epochs=3,
                  progress=False)
    assert history.interrupted and history.steps == 3
    _assert_params_equal(model, after_step[2])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
def test_real_sigint_between_updates_interrupts_at_once() -> None:
    """A SIGINT during the forward pass (no update running) stops fit before that step's update,
    through the handler SIGINT had before fit, which fit gives back."""
    model, loader = _xor()
    loss_fn = nn.CrossEntropyLoss()
    calls = [0]

    def loss(out: Value, target: Any) -> Value:
        calls[0] += 1
        if calls[0] == 4:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                pass
        return loss_fn(out, target)

    seen: list[int] = []

    def count(signum: int, frame: Any) -> None:
        seen.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, count)
    try:
        history = fit(model, loss, SGD(model.parameters(), lr=0.5), loader, epochs=3,
                      progress=False)
        assert signal.getsignal(signal.SIGINT) is count
    finally:
        signal.signal(signal.SIGINT, previous)
    assert history.interrupted and history.steps == 3 and seen == [signal.SIGINT]


# ---------------------------------------------------------------------------------------------
# evaluate / predict
# ---------------------------------------------------------------------------------------------


def _manual_forward(model: nn.Sequential, X: np.ndarray) -> np.ndarray:
    """The tutorial's feed-forward by hand: net = x·Wᵀ + b, out = tanh(net); linear output."""
    lin = [layer for layer in model if isinstance(layer, nn.Linear)]
    out = X
    for i, layer in enumerate(lin):
        assert layer.bias is not None
        net = out @ layer.weight.data.T + layer.bias.data
        out = np.tanh(net) if i < len(lin) - 1 else net
    return out


def test_predict_matches_a_manual_forward_pass() -> None:
    model = nn.mlp([3, 5, 4], activation="tanh", output_activation=None, rng=2)
    X = np.random.default_rng(1).normal(size=(9, 3))
    out = predict(model, X, batch_size=4)
    np.testing.assert_allclose(out, _manual_forward(model, X), rtol=1e-12)
    np.testing.assert_allclose(predict(model, X[0]), _manual_forward(model, X[:1])[0],
                               rtol=1e-12)
    assert isinstance(out, np.ndarray) and out.shape == (9, 4)


def test_evaluate_matches_manual_mean_error_and_accuracy() -> None:
    model = nn.mlp([3, 5, 4], activation="tanh", output_activation=None, rng=2)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(23, 3))
    y = rng.integers(0, 4, size=23)
    Y = one_hot(y, 4)
    out = _manual_forward(model, X)
    ev = evaluate(model, nn.MSELoss(), X, Y, batch_size=5)
    assert isinstance(ev, Evaluation) and ev.n == 23
    assert ev.loss == pytest.approx(np.mean((out - Y) ** 2), rel=1e-12)
    assert ev.accuracy == np.mean(np.argmax(out, axis=1) == y)
    shifted = out - out.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    ce = evaluate(model, nn.CrossEntropyLoss(), X, y, batch_size=7)
    assert ce.loss == pytest.approx(-np.mean(logp[np.arange(23), y]), rel=1e-12)
    assert ce.accuracy == ev.accuracy
    loss, acc, n = evaluate(model, nn.MSELoss(), X, out)      # regression targets
    assert loss == pytest.approx(0.0, abs=1e-25) and acc is None and n == 23


def test_evaluate_and_predict_record_no_graph() -> None:
    inner = nn.mlp([2, 3, 2], rng=0)
    flags: list[bool] = []

    def model(x: Value) -> Value:
        flags.append(STATE.grad_enabled)
        return inner(x)

    X, y = make_xor(n=8, rng=0)
    out_value = inner(Value(X, requires_grad=False))
    assert out_value.requires_grad                     # outside: a graph is recorded
    evaluate(model, nn.CrossEntropyLoss(), X, y)
    predict(model, X)
    assert flags == [False, False]
    assert STATE.grad_enabled is True
    assert all(p.grad is None for p in inner.parameters())


def test_evaluate_and_predict_errors() -> None:
    model = nn.Linear(2, 2, rng=0)
    with pytest.raises(ValueError, match="evaluate: X has 3 samples but Y has 2"):
        evaluate(model, nn.MSELoss(), np.zeros((3, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="evaluate: batch_size must be a positive integer"):
        evaluate(model, nn.MSELoss(), np.zeros((3, 2)), np.zeros((3, 2)), batch_size=0)
    with pytest.raises(ValueError, match="predict: X must be a sample"):
        predict(model, 1.0)
    with pytest.raises(ValueError, match=r"predict: X holds no samples \(shape \(0, 2\)\)"):
        predict(model, np.zeros((0, 2)))


def test_fit_argument_errors(tmp_path: Path) -> None:
    model, loader = _xor()
    opt = SGD(model.parameters(), lr=0.1)
    ce = nn.CrossEntropyLoss()
    before = _snapshot(model)
    with pytest.raises(ValueError, match="fit: epochs must be a positive integer, got 0"):
        fit(model, ce, opt, loader, 0)
    with pytest.raises(TypeError, match="fit: optimizer must have step"):
        fit(model, ce, object(), loader, 1)
    with pytest.raises(TypeError, match="fit: loss_fn must be callable"):
        fit(model, "mse", opt, loader, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"fit: callbacks\[0\] must be a callable"):
        fit(model, ce, opt, loader, 1, callbacks=[3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="fit: val_data must be a pair"):
        fit(model, ce, opt, loader, 1, val_data=np.zeros(3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"fit \(val_data\): X must hold at least one sample"):
        fit(model, ce, opt, loader, 1, val_data=(np.zeros((0, 2)), np.zeros(0, dtype=int)))
    with pytest.raises(FileNotFoundError, match="fit: checkpoint directory"):
        fit(model, ce, opt, loader, 1, checkpoint=tmp_path / "missing" / "c.npz")
    with pytest.raises(ValueError, match="fit: loss_fn must return a scalar"):
        fit(model, lambda o, y: o, opt, loader, 1, progress=False)
    with pytest.raises(TypeError, match=r"fit: loss_fn must return a Value \(the error E\), "
                                        r"got float"):
        fit(model, lambda o, y: 1.0, opt, loader, 1, progress=False)
    _assert_params_equal(model, before)


def test_checkpoint_is_written_every_epoch(tmp_path: Path) -> None:
    model, loader = _xor()
    path = tmp_path / "m.npz"
    fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader, epochs=2,
        progress=False, checkpoint=path)
    assert read_metadata(path)["epochs"] == 2
    _assert_params_equal(load(path), _snapshot(model))
    assert os.listdir(tmp_path) == ["m.npz"]


# ---------------------------------------------------------------------------------------------
# examples (fast mode)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["xor.py", "digits.py", "variables.py"])
def test_example_runs_in_fast_mode(script: str, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--fast"],
                            cwd=tmp_path, env=dict(ENV, MPLBACKEND="Agg"), capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "accuracy" in result.stdout


# -- resuming from a checkpoint ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sgd", "adam", "dropout"])
def test_five_epochs_saved_and_five_more_in_a_fresh_process_equal_ten_straight(
        tmp_path: Path, kind: str) -> None:
    model, loss_fn, opt, loader = resume_run.build(kind)
    fit(model, loss_fn, opt, loader, 10, progress=False)
    half, loss_fn, opt, loader = resume_run.build(kind)
    fit(half, loss_fn, opt, loader, 5, progress=False, checkpoint=tmp_path / "half.npz")
    assert read_metadata(tmp_path / "half.npz")["epochs"] == 5
    result = subprocess.run(
        [sys.executable, str(Path(resume_run.__file__)), kind, str(tmp_path / "half.npz"),
         str(tmp_path / "resumed.npz"), "5"],
        env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    resumed = load(tmp_path / "resumed.npz")
    for (name, p), q in zip(model.named_parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)   # bit for bit
    differs = [not np.array_equal(p.data, q.data)
               for p, q in zip(half.parameters(), model.parameters())]
    assert all(differs)                            # the last five epochs did change every weight


def test_resume_counts_on_and_the_checkpoint_holds_the_totals(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model, loss_fn, opt, loader = resume_run.build("adam")
    fit(model, loss_fn, opt, loader, 2, progress=False, checkpoint=tmp_path / "c.npz")
    steps = read_metadata(tmp_path / "c.npz")["steps"]
    assert steps == 2 * len(loader)
    model, loss_fn, opt, loader = resume_run.build("adam")
    history = fit(model, loss_fn, opt, loader, 1, progress=True, resume=tmp_path / "c.npz",
                  checkpoint=tmp_path / "c.npz")
    assert "epoch 3/3" in capsys.readouterr().out
    assert history.epochs == 1 and history.steps == len(loader)
    meta = read_metadata(tmp_path / "c.npz")
    assert (meta["epochs"], meta["steps"]) == (3, 3 * len(loader))
    assert opt.state[0]["step"] == 3 * len(loader)


def test_resume_refuses_a_file_that_cannot_continue_the_run_and_changes_nothing(
        tmp_path: Path) -> None:
    model, loss_fn, opt, loader = resume_run.build("sgd")
    fit(model, loss_fn, opt, loader, 1, progress=False, checkpoint=tmp_path / "sgd.npz")
    save(model, tmp_path / "plain.npz")
    other = nn.mlp([64, 8, 10], output_activation=None, rng=0)
    save(other, tmp_path / "other.npz")

    model, loss_fn, opt, loader = resume_run.build("sgd")
    adam = optim.Adam(model.parameters())
    before = [np.array(p.data, copy=True) for p in model.parameters()]
    rng_before = loader.state_dict()
    for path, optimizer, message in [
        ("plain.npz", opt, r"metadata 'epochs' must be a non-negative integer, got None"),
        ("other.npz", opt, r"holds a different network than the model"),
        ("sgd.npz", adam, r"holds the state of a 'SGD' optimizer, not of a Adam"),
    ]:
        with pytest.raises(CheckpointError, match=message):
            fit(model, loss_fn, optimizer, loader, 1, progress=False, resume=tmp_path / path)
        for p, w in zip(model.parameters(), before):
            np.testing.assert_array_equal(p.data, w)
        assert loader.state_dict() == rng_before and not opt.state and not adam.state


def test_predict_runs_in_the_models_dtype() -> None:
    """A float32 network predicts in float32, as model(X) does (predict used to cast to float64)."""
    net = nn.mlp([3, 4, 2], rng=0, dtype="float32")
    X = np.random.default_rng(0).standard_normal((5, 3))          # float64 data
    out = predict(net, X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, net(X).data)
    assert predict(net, X[0]).dtype == np.float32
    assert predict(nn.mlp([3, 2], rng=0), X.astype(np.float32)).dtype == np.float64


@pytest.mark.parametrize("targets", ["labels", "one-hot rows"])
def test_fit_compiled_refuses_cross_entropy_by_name_before_any_step(targets: str) -> None:
    # cross_entropy's targets are a parameter of its op, so a program would replay the first
    # minibatch's labels; before this check the second step raised an obscure TraceError
    X, y = load_digits()
    X, y = X[:64], y[:64]
    model = nn.Sequential(nn.Linear(64, 8, rng=0), nn.Tanh(), nn.Linear(8, 10, rng=1))
    before = [p.data.copy() for p in model.parameters()]
    loader = DataLoader(X, y if targets == "labels" else one_hot(y, 10), batch_size=16, rng=0)
    with pytest.raises(ValueError, match=r"fit: compile needs a loss whose targets are an input "
                                         r"of the graph.*CrossEntropyLoss.*compile=False"):
        fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), loader, 1,
            progress=False, compile=True)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))
    history = fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), loader, 1,
                  progress=False, compile=False)
    assert history.loss[0] < math.log(10) + 0.5
