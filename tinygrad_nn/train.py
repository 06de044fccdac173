"""The tutorial's training and test process: ``fit``, ``evaluate``, ``predict``.

Training (seed 000, "Training process")::

    for each epoch:                      shuffle the dataset (the DataLoader does it)
        for each minibatch:              out = model(xb)           feed-forward
                                         E = loss_fn(out, yb)      calculate error
                                         E.backward()              back-propagation
                                         optimizer.step()          W ← W − η ∂E/∂W
                                         optimizer.zero_grad()     reset gradients

Test process: ``evaluate`` (mean error over a test set, and accuracy for classes).
Using the network: ``predict`` (feed-forward only, under ``no_grad``).

Also the ``train`` and ``predict`` subcommands of ``python -m tinygrad_nn``.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from .errors import TrainingDivergedError, UsageError
from .optim import grad_data
from .validation import positive_int
from .value import Value, no_grad

__all__ = [
    "Evaluation",
    "History",
    "TrainingDivergedError",
    "configure_predict",
    "configure_train",
    "evaluate",
    "fit",
    "predict",
    "run_predict",
    "run_train",
]

PathLike = str | os.PathLike[str]


class EpochCallback(Protocol):
    """An object notified at the end of every epoch."""

    def on_epoch_end(self, epoch: int, history: History) -> None:
        """Called with the 1-based epoch number and the History so far."""


Callback = Callable[[int, "History"], Any] | EpochCallback


@dataclass
class History:
    """Per-epoch record of a ``fit`` run (only completed epochs are recorded).

    ``loss``: mean training error of the epoch (batch losses weighted by batch size);
    ``accuracy``: training accuracy while the epoch ran (empty unless the targets are classes);
    ``val_loss``/``val_accuracy``: ``evaluate`` on ``val_data`` after each epoch;
    ``seconds``: wall time per epoch; ``steps``: optimizer steps completed;
    ``interrupted``: True when Ctrl-C stopped the run.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    steps: int = 0
    interrupted: bool = False

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.loss)

    def to_dict(self) -> dict[str, Any]:
        """The history as plain lists and numbers (JSON-serialisable)."""
        return asdict(self)

    def plot(self, path: PathLike, title: str | None = None) -> Path:
        """Draw the error per epoch (and accuracy, when recorded) to a PNG file at ``path``.

        Needs matplotlib (the ``plot`` extra); uses the Agg canvas, so no display is needed
        and pyplot's global state is untouched.
        """
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError('History.plot: matplotlib is needed to draw the loss curve; '
                              'install it with pip install "tinygrad-nn[plot]"') from None
        if not self.loss:
            raise ValueError("History.plot: no completed epochs to plot")
        out = Path(path)
        if out.parent and not out.parent.is_dir():
            raise FileNotFoundError(f"History.plot: directory {str(out.parent)!r} does not exist")
        panels = 2 if (self.accuracy or self.val_accuracy) else 1
        fig = Figure(figsize=(5.0 * panels, 3.6), dpi=100)
        FigureCanvasAgg(fig)
        epochs = np.arange(1, self.epochs + 1)
        marker = "." if self.epochs <= 40 else None
        ax = fig.add_subplot(1, panels, 1)
        ax.plot(epochs, self.loss, marker=marker, label="train")
        if self.val_loss:
            ax.plot(epochs[:len(self.val_loss)], self.val_loss, marker=marker, label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel("error E (mean loss)")
        ax.set_title("error per epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        if panels == 2:
            ax2 = fig.add_subplot(1, 2, 2)
            if self.accuracy:
                ax2.plot(epochs[:len(self.accuracy)], 100 * np.asarray(self.accuracy),
                         marker=marker, label="train")
            if self.val_accuracy:
                ax2.plot(epochs[:len(self.val_accuracy)], 100 * np.asarray(self.val_accuracy),
                         marker=marker, label="test")
            ax2.set_xlabel("epoch")
            ax2.set_ylabel("accuracy (%)")
            ax2.set_title("accuracy per epoch")
            ax2.grid(alpha=0.3)
            ax2.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(out, format="png")
        return out


class Evaluation(NamedTuple):
    """Result of the test process: mean error, accuracy (None unless targets are classes), N."""

    loss: float
    accuracy: float | None
    n: int


# ---------------------------------------------------------------------------------------------
# Targets and accuracy
# ---------------------------------------------------------------------------------------------


def _target_kind(Y: Any) -> str | None:
    """'labels' for 1-D integer class labels, 'onehot' for one-hot rows, None otherwise."""
    if Y is None:
        return None
    Y = np.asarray(Y)
    if Y.ndim == 1 and Y.dtype.kind in "iu":
        return "labels"
    if (Y.ndim == 2 and Y.shape[1] >= 2 and Y.dtype.kind in "biuf" and Y.size
            and np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1)):
        return "onehot"
    return None


def _labels(Y: Any, kind: str | None) -> np.ndarray | None:
    """Class indices of the targets (argmax of one-hot rows), or None for non-class targets."""
    if kind == "labels":
        return np.asarray(Y)
    if kind == "onehot":
        return np.asarray(np.argmax(np.asarray(Y), axis=1))
    return None


def _correct(out: Any, labels: np.ndarray | None) -> int | None:
    """How many rows of ``out`` have their argmax at the label (None if not applicable)."""
    if labels is None:
        return None
    out = np.asarray(out)
    if out.ndim != 2 or out.shape[1] < 2 or out.shape[0] != labels.shape[0]:
        return None
    return int(np.count_nonzero(np.argmax(out, axis=1) == labels))


# ---------------------------------------------------------------------------------------------
# Progress display
# ---------------------------------------------------------------------------------------------


class _Progress:
    """No display (``progress=False``)."""

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        """A new epoch begins."""

    def update(self, batch: int, loss: float) -> None:
        """A step finished with this minibatch loss."""

    def end_epoch(self, summary: str) -> None:
        """The epoch finished; ``summary`` is its one-line report."""

    def close(self) -> None:
        """Release the display."""


def _shown(epoch: int, epochs: int) -> bool:
    """Whether an epoch's summary line is kept: the first, the last and every tenth of the run."""
    return epoch in (1, epochs) or epoch % max(1, epochs // 10) == 0


class _EpochLines(_Progress):
    """Epoch summary lines, about ten per run (used when stdout is not a terminal)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.epoch = 0
        self.epochs = 0

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        """Remember where we are."""
        self.epoch, self.epochs = epoch, epochs

    def end_epoch(self, summary: str) -> None:
        """Print the summary of the first and last epoch and of every tenth of the run."""
        if _shown(self.epoch, self.epochs):
            print(summary, file=self.stream, flush=True)


class _LineBar(_Progress):
    """A one-line text bar redrawn with carriage returns (no tqdm)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.head = ""
        self.batches: int | None = None
        self.last = 0.0
        self.epoch = 0
        self.epochs = 0

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        """Remember the epoch label and the number of batches."""
        self.epoch, self.epochs = epoch, epochs
        width = len(str(epochs))
        self.head = f"epoch {epoch:{width}d}/{epochs}"
        self.batches = batches
        self.last = 0.0

    def update(self, batch: int, loss: float) -> None:
        """Redraw the bar at most ten times a second."""
        now = time.monotonic()
        if now - self.last < 0.1 and batch != self.batches:
            return
        self.last = now
        if self.batches:
            filled = int(20 * batch / self.batches)
            bar = f"[{'#' * filled}{'.' * (20 - filled)}] {batch}/{self.batches}"
        else:
            bar = f"batch {batch}"
        self.stream.write(f"\r{self.head} {bar} loss {loss:.4f}\x1b[K")
        self.stream.flush()

    def end_epoch(self, summary: str) -> None:
        """Replace the bar by the epoch's summary line (about ten are kept per run)."""
        if _shown(self.epoch, self.epochs):
            self.stream.write(f"\r{summary}\x1b[K\n")
            self.stream.flush()


class _TqdmBar(_Progress):
    """A tqdm bar per epoch."""

    def __init__(self, tqdm: Any, stream: Any) -> None:
        self.tqdm = tqdm
        self.stream = stream
        self.bar: Any = None
        self.epoch = 0
        self.epochs = 0

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        """Open a bar for this epoch."""
        self.epoch, self.epochs = epoch, epochs
        self.bar = self.tqdm(total=batches, desc=f"epoch {epoch}/{epochs}", file=self.stream,
                             leave=False, unit="batch", dynamic_ncols=True)

    def update(self, batch: int, loss: float) -> None:
        """Advance by one batch and show the loss."""
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def end_epoch(self, summary: str) -> None:
        """Close the bar and print the summary line (about ten are kept per run)."""
        self.close()
        if _shown(self.epoch, self.epochs):
            print(summary, file=self.stream, flush=True)

    def close(self) -> None:
        """Close the current bar if open."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _make_progress(enabled: bool) -> _Progress:
    """tqdm on a terminal when installed, else a simple bar; epoch lines when not a terminal."""
    if not enabled:
        return _Progress()
    stream = sys.stdout
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()):
        return _EpochLines(stream)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _LineBar(stream)
    return _TqdmBar(tqdm, stream)


# ---------------------------------------------------------------------------------------------
# Ctrl-C at step boundaries
# ---------------------------------------------------------------------------------------------


@contextmanager
def _defer_sigint() -> Iterator[None]:
    """Hold back Ctrl-C while the block runs; deliver it (KeyboardInterrupt) when it ends.

    Makes a parameter update atomic: an interrupt lands before or after the whole step.
    Only possible in the main thread; elsewhere the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        received.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except (ValueError, OSError):  # pragma: no cover - no signal support here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous != signal.SIG_IGN:
                raise KeyboardInterrupt


# ---------------------------------------------------------------------------------------------
# fit / evaluate / predict
# ---------------------------------------------------------------------------------------------


def _as_input(x: Any) -> Value:
    """Wrap a batch of inputs as a constant Value (no gradient is needed for the data)."""
    return x if isinstance(x, Value) else Value(np.asarray(x, dtype=np.float64),
                                                requires_grad=False)


def _loss_value(loss: Any, fn: str) -> float:
    """The scalar loss as a Python float, with a clear error when it is not one number."""
    data = loss.data if isinstance(loss, Value) else loss
    if np.size(data) != 1:
        raise ValueError(f"{fn}: loss_fn must return a scalar (one number), got shape "
                         f"{np.shape(data)}; use reduction='mean' or 'sum'")
    return float(np.asarray(data).reshape(()))


def _check_callbacks(callbacks: Iterable[Callback]) -> list[Callable[[int, History], Any]]:
    """Normalise callbacks to callables ``(epoch, history)``."""
    out: list[Callable[[int, History], Any]] = []
    for i, cb in enumerate(callbacks):
        hook = getattr(cb, "on_epoch_end", None)
        if callable(hook):
            out.append(hook)
        elif callable(cb):
            out.append(cb)
        else:
            raise TypeError(f"fit: callbacks[{i}] must be a callable (epoch, history) or have an "
                            f"on_epoch_end method, got {type(cb).__name__}")
    return out


def _first_bad_grad(params: Sequence[Value]) -> tuple[int, float] | None:
    """Index and an offending value of the first parameter gradient that is not finite."""
    for i, p in enumerate(params):
        g = grad_data(p)
        if g is None:
            continue
        arr = np.asarray(g)
        finite = np.isfinite(arr)
        if not finite.all():        # the method: np.all's Python wrapper costs more, every step
            return i, float(arr[~finite].reshape(-1)[0])
    return None


def fit(model: Any, loss_fn: Callable[[Value, Any], Value], optimizer: Any, loader: Iterable[Any],
        epochs: int, val_data: tuple[Any, Any] | None = None,
        callbacks: Iterable[Callback] = (), progress: bool = True,
        checkpoint: PathLike | None = None) -> History:
    """Minibatch training: per epoch, per minibatch forward, E, backward, W ← W − η∂E/∂W, reset.

    ``loader`` yields ``(xb, yb)`` minibatches (a DataLoader reshuffles every epoch).
    ``loss_fn(out, yb)`` returns the scalar error E.  After each epoch ``val_data=(X, Y)`` is
    evaluated, the checkpoint (if a path is given) is saved, and the callbacks run.
    A NaN/inf loss or gradient raises ``TrainingDivergedError`` before the update, so the
    model keeps its last finite parameters.  Ctrl-C stops at a step boundary: the model keeps
    the parameters of the last completed step, the checkpoint is written, and the returned
    History has ``interrupted=True``.
    """
    epochs = positive_int(epochs, "epochs", "fit")
    if not callable(loss_fn):
        raise TypeError(f"fit: loss_fn must be callable (out, target) -> Value, got "
                        f"{type(loss_fn).__name__}")
    if not (callable(getattr(optimizer, "step", None))
            and callable(getattr(optimizer, "zero_grad", None))):
        raise TypeError(f"fit: optimizer must have step() and zero_grad(), got "
                        f"{type(optimizer).__name__}")
    if not hasattr(loader, "__iter__"):
        raise TypeError(f"fit: loader must be an iterable of (xb, yb) minibatches such as "
                        f"data.DataLoader(X, Y), got {type(loader).__name__} {loader!r}")
    hooks = _check_callbacks(callbacks)
    if val_data is not None:
        if not (isinstance(val_data, (tuple, list)) and len(val_data) == 2):
            raise TypeError("fit: val_data must be a pair (X_val, Y_val)")
        if len(val_data[0]) != len(val_data[1]):
            raise ValueError(f"fit: val_data has {len(val_data[0])} inputs but "
                             f"{len(val_data[1])} targets")
    if checkpoint is not None:
        directory = Path(checkpoint).parent
        if str(directory) and not directory.is_dir():
            raise FileNotFoundError(f"fit: checkpoint directory {str(directory)!r} does not "
                                    f"exist")
    params: list[Value] = list(getattr(optimizer, "params", None) or (
        model.parameters() if callable(getattr(model, "parameters", None)) else []))
    kind = _target_kind(getattr(loader, "Y", None))
    try:
        batches: int | None = len(loader)  # type: ignore[arg-type]
    except TypeError:
        batches = None

    history = History()
    bar = _make_progress(progress)
    optimizer.zero_grad()
    if hasattr(model, "zero_grad"):
        model.zero_grad()
    epoch = batch = 0
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            bar.start_epoch(epoch, epochs, batches)
            total = 0.0
            seen = 0
            correct = 0
            counted = 0
            for batch, (xb, yb) in enumerate(loader, start=1):
                if batch == 1 and kind is None and not hasattr(loader, "Y"):
                    kind = _target_kind(yb)
                with np.errstate(all="ignore"):
                    out = model(_as_input(xb))                  # feed-forward
                    loss = loss_fn(out, yb)                     # calculate error E
                    if not isinstance(loss, Value):
                        raise TypeError(f"fit: loss_fn must return a Value (the error E), got "
                                        f"{type(loss).__name__}")
                    value = _loss_value(loss, "fit")
                    if not math.isfinite(value):
                        raise TrainingDivergedError(epoch, batch, value)
                    loss.backward()                             # back-propagation: ∂E/∂W
                    bad = _first_bad_grad(params)
                    if bad is not None:
                        raise TrainingDivergedError(epoch, batch, bad[1],
                                                    f"gradient of parameter {bad[0]}")
                    with _defer_sigint():
                        optimizer.step()                        # W ← W − η ∂E/∂W
                        optimizer.zero_grad()                   # reset gradients
                        history.steps += 1
                n = len(xb)
                total += value * n
                seen += n
                hits = _correct(out.data, _labels(yb, kind))
                if hits is not None:
                    correct += hits
                    counted += n
                bar.update(batch, value)
            if seen == 0:
                raise ValueError("fit: the loader yielded no minibatches (empty dataset, or "
                                 "drop_last with fewer samples than batch_size)")
            record: dict[str, float] = {"loss": total / seen}
            if counted:
                record["accuracy"] = correct / counted
            if val_data is not None:
                ev = evaluate(model, loss_fn, val_data[0], val_data[1])
                record["val_loss"] = ev.loss
                if ev.accuracy is not None:
                    record["val_accuracy"] = ev.accuracy
            record["seconds"] = time.perf_counter() - start
            with _defer_sigint():
                for key, val in record.items():
                    getattr(history, key).append(val)
            bar.end_epoch(_summary(epoch, epochs, record))
            if checkpoint is not None:
                _save_checkpoint(model, checkpoint, history)
            for hook in hooks:
                hook(epoch, history)
    except KeyboardInterrupt:
        optimizer.zero_grad()  # drop the interrupted step's partial gradients
        history.interrupted = True
        bar.close()
        print(f"\ninterrupted at epoch {epoch}, batch {batch}: the model keeps the parameters "
              f"of step {history.steps}", file=sys.stderr)
        if checkpoint is not None:
            _save_checkpoint(model, checkpoint, history)
    except Exception:
        optimizer.zero_grad()  # no half-accumulated gradients survive an error
        raise
    finally:
        bar.close()
    return history


def _summary(epoch: int, epochs: int, record: dict[str, float]) -> str:
    """One line: epoch, loss, accuracy, validation figures and time."""
    width = len(str(epochs))
    parts = [f"epoch {epoch:{width}d}/{epochs}", f"loss {record['loss']:.4f}"]
    if "accuracy" in record:
        parts.append(f"acc {100 * record['accuracy']:.1f}%")
    if "val_loss" in record:
        parts.append(f"test loss {record['val_loss']:.4f}")
    if "val_accuracy" in record:
        parts.append(f"test acc {100 * record['val_accuracy']:.1f}%")
    parts.append(f"{record['seconds']:.2f}s")
    return "  ".join(parts)


def _save_checkpoint(model: Any, path: PathLike, history: History) -> None:
    """Write the checkpoint with a little training metadata (atomic, see checkpoint.save)."""
    from .checkpoint import save

    save(model, path, metadata={"epochs": history.epochs, "steps": history.steps,
                                "loss": history.loss[-1] if history.loss else None,
                                "interrupted": history.interrupted})


def _check_xy(X: Any, Y: Any, fn: str) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets as arrays with the same number of samples."""
    Xa = np.asarray(X, dtype=np.float64)
    Ya = np.asarray(Y)
    if Xa.ndim == 0 or Xa.shape[0] == 0:
        raise ValueError(f"{fn}: X must hold at least one sample, got shape {Xa.shape}")
    if Ya.ndim == 0 or Ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"{fn}: X has {Xa.shape[0]} samples but Y has "
                         f"{Ya.shape[0] if Ya.ndim else 'none (a scalar)'}")
    return Xa, Ya


def evaluate(model: Any, loss_fn: Callable[[Value, Any], Value], X: Any, Y: Any,
             batch_size: int = 256) -> Evaluation:
    """The test process: mean error E = Σ_b E_b·n_b / N, accuracy = mean(argmax out == label).

    Runs under ``no_grad``; accuracy is None unless ``Y`` holds integer labels or one-hot rows.
    """
    Xa, Ya = _check_xy(X, Y, "evaluate")
    bs = positive_int(batch_size, "batch_size", "evaluate")
    kind = _target_kind(Ya)
    total = 0.0
    correct = 0
    counted = 0
    n = Xa.shape[0]
    with no_grad(), np.errstate(all="ignore"):
        for i in range(0, n, bs):
            xb, yb = Xa[i:i + bs], Ya[i:i + bs]
            out = model(_as_input(xb))
            total += _loss_value(loss_fn(out, yb), "evaluate") * len(xb)
            hits = _correct(out.data, _labels(yb, kind))
            if hits is not None:
                correct += hits
                counted += len(xb)
    return Evaluation(total / n, correct / counted if counted else None, n)


def predict(model: Any, X: Any, batch_size: int = 1024) -> np.ndarray:
    """Using the network: assign the inputs, feed-forward, return the outputs (under ``no_grad``).

    ``X`` is a batch (N, features) or one sample (features,), which gives one output row.
    """
    Xa = np.asarray(X, dtype=np.float64)
    bs = positive_int(batch_size, "batch_size", "predict")
    if Xa.ndim == 0:
        raise ValueError("predict: X must be a sample (features,) or a batch (N, features), "
                         "got a scalar")
    single = Xa.ndim == 1
    if single:
        Xa = Xa[None, :]
    if Xa.shape[0] == 0:
        raise ValueError(f"predict: X holds no samples (shape {Xa.shape})")
    parts = []
    with no_grad():
        for i in range(0, Xa.shape[0], bs):
            parts.append(np.array(model(_as_input(Xa[i:i + bs])).data, copy=True))
    out = np.concatenate(parts, axis=0)
    return out[0] if single else out


# ---------------------------------------------------------------------------------------------
# Command line: train / predict
# ---------------------------------------------------------------------------------------------

DATASETS = ("digits", "mnist", "xor", "moons", "spirals", "circles")
# Tuned on the digits (64-20-20-10, batch 32): MSELoss "mean" divides by the 10 outputs as well
# as the batch, so plain SGD on MSE needs a large η.
DEFAULT_LR = {("sgd", "mse"): 5.0, ("sgd", "ce"): 0.5, ("adam", "mse"): 0.01,
              ("adam", "ce"): 0.003}
DEFAULT_EPOCHS = 150
DEFAULT_BATCH = 32
FAST_EPOCHS = 3
TEST_SIZE = 0.2


def configure_train(parser: argparse.ArgumentParser) -> None:
    """Declare the ``train`` options (defaults: the tutorial's 64-20-20-10 sigmoid/MSE/SGD net)."""
    parser.add_argument("--dataset", choices=DATASETS, default="digits",
                        help="training data (default: the embedded 8x8 digits)")
    parser.add_argument("--data", metavar="PATH",
                        help="MNIST directory of IDX files or CSV file (for --dataset mnist)")
    parser.add_argument("--layers", default="20,20", metavar="N,N,...",
                        help="hidden layer sizes (default: 20,20 as in the tutorial)")
    parser.add_argument("--activation", default="sigmoid",
                        help="hidden activation φ: sigmoid (logistic, default), tanh, relu, ...")
    parser.add_argument("--loss", choices=("mse", "ce"), default="mse",
                        help="mse on one-hot targets (tutorial, default) or softmax "
                             "cross-entropy")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                        help="minibatch SGD (default) or Adam")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate η (default: tuned per optimizer and loss, "
                             "5 for sgd+mse)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                        help=f"minibatch size (default {DEFAULT_BATCH})")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                        help=f"passes over the training set (default {DEFAULT_EPOCHS})")
    parser.add_argument("--seed", type=int, default=0, help="seed for split, init, shuffling")
    parser.add_argument("--fast", action="store_true",
                        help=f"a quick smoke run: {FAST_EPOCHS} epochs (overrides --epochs)")
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    parser.add_argument("--out", default="out", metavar="DIR",
                        help="directory for model.npz and loss_curve.png (default ./out)")


def _parse_layers(text: str) -> list[int]:
    """'20,20' -> [20, 20]; '' or 'none' -> [] (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(f"--layers must be comma-separated positive integers like 20,20, "
                           f"got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise UsageError(f"--layers sizes must be positive, got {text!r}")
    return sizes


def _split(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """The stratified train/test split used by ``train`` (reproduced by ``predict``)."""
    from .data import train_test_split

    return tuple(train_test_split(X, y, test_size=TEST_SIZE, rng=seed, stratify=True))


def _load_dataset(name: str, path: str | None, seed: int) -> tuple[np.ndarray, ...]:
    """(X_train, X_test, y_train, y_test) for a dataset name."""
    from . import data

    if name == "mnist":
        if not path:
            raise UsageError("--dataset mnist needs --data PATH (a directory with the IDX "
                               "files or a CSV file); nothing is downloaded")
        if not Path(path).exists():
            raise FileNotFoundError(f"--data: no such file or directory: {path!r}")
        try:
            X, y = data.load_mnist(path, "train")
            if Path(path).is_dir():
                try:
                    Xt, yt = data.load_mnist(path, "test")
                    return X, Xt, y, yt
                except FileNotFoundError:
                    pass
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return _split(X, y, seed)
    if path:
        raise UsageError(f"--data is only used with --dataset mnist (got --dataset {name})")
    if name == "digits":
        X, y = data.load_digits()
    else:
        makers: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
            "xor": data.make_xor, "moons": data.make_moons, "spirals": data.make_spirals,
            "circles": data.make_circles}
        X, y = makers[name](n=400, rng=seed)
    return _split(X, y, seed)


def build_model(n_in: int, hidden: Sequence[int], n_out: int, activation: str, loss: str,
                seed: int) -> Any:
    """The CLI's network: ``n_in``-hidden...-``n_out``; logistic outputs for MSE, logits for CE."""
    from . import nn

    sizes = [n_in, *hidden, n_out]
    out_act = activation if loss == "mse" else None
    try:
        return nn.mlp(sizes, activation=activation, output_activation=out_act,
                      rng=np.random.default_rng(seed))
    except (ValueError, KeyError) as exc:
        raise UsageError(f"--activation: {exc}") from None


def run_train(args: argparse.Namespace) -> int:
    """Train, print progress and ``accuracy: NN.N%``, write the loss curve and the checkpoint."""
    from . import nn
    from .checkpoint import save
    from .data import DataLoader, one_hot
    from .optim import SGD, Adam

    hidden = _parse_layers(args.layers)
    if args.fast:
        args.epochs = FAST_EPOCHS
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size)):
        if value < 1:
            raise UsageError(f"{flag} must be a positive integer, got {value}")
    if args.seed < 0:
        raise UsageError(f"--seed must be non-negative, got {args.seed}")
    lr = args.lr if args.lr is not None else DEFAULT_LR[(args.optimizer, args.loss)]
    if not (math.isfinite(lr) and lr > 0):
        raise UsageError(f"--lr must be a positive finite number, got {lr}")
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {args.out!r} exists and is not a directory")

    X_train, X_test, y_train, y_test = _load_dataset(args.dataset, args.data, args.seed)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    model = build_model(X_train.shape[1], hidden, n_classes, args.activation, args.loss,
                        args.seed)
    if args.loss == "mse":
        loss_fn: Any = nn.MSELoss()
        Y_train, Y_test = one_hot(y_train, n_classes), one_hot(y_test, n_classes)
    else:
        loss_fn = nn.CrossEntropyLoss()
        Y_train, Y_test = y_train, y_test
    opt: Any = (SGD(model.parameters(), lr=lr) if args.optimizer == "sgd"
                else Adam(model.parameters(), lr=lr))
    loader = DataLoader(X_train, Y_train, batch_size=args.batch_size, shuffle=True,
                        rng=args.seed)
    arch = "-".join(str(s) for s in [X_train.shape[1], *hidden, n_classes])
    print(f"{args.dataset}: {len(X_train)} training / {len(X_test)} test samples; network "
          f"{arch}, {args.activation}, {args.loss}, {args.optimizer} lr={lr:g}, "
          f"batch {args.batch_size}, {args.epochs} epochs")
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = out_dir / "model.npz"
    start = time.perf_counter()
    try:
        history = fit(model, loss_fn, opt, loader, args.epochs, val_data=(X_test, Y_test),
                      progress=not args.no_progress)
    except TrainingDivergedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    result = evaluate(model, loss_fn, X_test, Y_test)
    if history.interrupted:
        print(f"interrupted after {history.epochs} epoch(s)")
    acc = result.accuracy if result.accuracy is not None else float("nan")
    print(f"test error: {result.loss:.4f}")
    print(f"accuracy: {100 * acc:.1f}%")
    print(f"training time: {elapsed:.1f}s")
    save(model, ckpt, metadata={
        "dataset": args.dataset, "seed": args.seed, "test_size": TEST_SIZE,
        "loss": args.loss, "optimizer": args.optimizer, "lr": lr, "epochs": history.epochs,
        "batch_size": args.batch_size, "test_accuracy": result.accuracy,
        "test_loss": result.loss, "interrupted": history.interrupted})
    print(f"checkpoint: {ckpt}")
    if history.epochs:
        try:
            curve = history.plot(out_dir / "loss_curve.png",
                                 title=f"{args.dataset}: {arch} {args.activation}, {args.loss}, "
                                       f"{args.optimizer} η={lr:g}, batch {args.batch_size}")
            print(f"loss curve: {curve}")
        except ImportError as exc:
            print(f"loss curve skipped: {exc}")
    return 130 if history.interrupted else 0


def configure_predict(parser: argparse.ArgumentParser) -> None:
    """Declare the ``predict`` options."""
    parser.add_argument("checkpoint", help="a model.npz written by `train`")
    parser.add_argument("--data", default="digits", metavar="digits|PATH.npy|PATH.csv",
                        help="inputs: 'digits' (the test split the model was not trained on, "
                             "when the checkpoint records it), an .npy array (N, features) or "
                             "a CSV with one sample per row, optionally a label first")
    parser.add_argument("--limit", type=int, default=20, metavar="N",
                        help="print at most N predictions (default 20; 0 for none)")


def _input_width(model: Any) -> int | None:
    """The number of input features: the second axis of the first weight matrix."""
    for p in model.parameters():
        if p.ndim == 2:
            return int(p.shape[1])
    return None


def _read_inputs(spec: str, width: int | None, meta: dict[str, Any]
                 ) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(X, labels or None, description) for ``predict --data``."""
    if spec == "digits":
        from .data import load_digits

        X, y = load_digits()
        if width is not None and width != X.shape[1]:
            raise UsageError(f"--data digits: the model takes {width} features per sample, "
                               f"the digits have {X.shape[1]}; pass --data PATH.npy or PATH.csv")
        if meta.get("dataset") == "digits" and isinstance(meta.get("seed"), int):
            _, X_test, _, y_test = _split(X, y, meta["seed"])
            return X_test, y_test, f"digits test split ({len(X_test)} samples)"
        return X, y, f"all {len(X)} digits (may include training samples)"
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"--data: no such file: {spec!r} (or use --data digits)")
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif path.suffix.lower() == ".csv":
            arr = np.loadtxt(path, delimiter=",", ndmin=2, comments="#")
        else:
            raise UsageError(f"--data must be 'digits', a .npy or a .csv file, got {spec!r}")
    except ValueError as exc:
        raise UsageError(f"--data {spec!r}: cannot read numbers: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise UsageError(f"--data {spec!r}: expected numbers, got dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise UsageError(f"--data {spec!r}: expected a 2-D array (N, features), got shape "
                           f"{arr.shape}")
    if width is None or arr.shape[1] == width:
        return arr, None, f"{spec} ({len(arr)} samples)"
    if arr.shape[1] == width + 1:
        labels = arr[:, 0]
        if np.all(labels == np.round(labels)):
            return arr[:, 1:], labels.astype(np.int64), f"{spec} ({len(arr)} labelled samples)"
    raise UsageError(f"--data {spec!r}: the model takes {width} features per sample, the "
                       f"file has {arr.shape[1]} columns (expected {width}, or {width + 1} "
                       f"with a label first)")


def run_predict(args: argparse.Namespace) -> int:
    """Load a checkpoint, predict the inputs' classes, print them (and accuracy when labelled)."""
    from .checkpoint import CheckpointError, _load

    if args.limit < 0:
        raise UsageError(f"--limit must be >= 0, got {args.limit}")
    try:
        model, meta = _load(args.checkpoint)       # the file is read once
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None
    X, labels, desc = _read_inputs(args.data, _input_width(model), meta)
    out = predict(model, X)
    classes = np.argmax(out, axis=1) if out.ndim == 2 and out.shape[1] > 1 else None
    print(f"predicting {desc}")
    shown = min(args.limit, len(X))
    for i in range(shown):
        guess = str(int(classes[i])) if classes is not None else np.array2string(
            out[i], precision=4)
        label = "" if labels is None else f"  label {int(labels[i])}"
        mark = "" if labels is None or classes is None else (
            "  ok" if classes[i] == labels[i] else "  WRONG")
        print(f"{i:6d}  prediction {guess}{label}{mark}")
    if shown < len(X):
        print(f"... ({len(X) - shown} more; use --limit)")
    if labels is not None and classes is not None:
        hits = int(np.count_nonzero(classes == labels))
        print(f"accuracy: {100 * hits / len(X):.1f}% ({hits}/{len(X)})")
    return 0
