"""The tutorial's training and test process: ``fit``, ``evaluate``, ``predict``.

Training (seed 000, "Training process")::

    for each epoch:                      shuffle the dataset (the DataLoader does it)
        for each minibatch:              out = model(xb)           feed-forward
                                         E = loss_fn(out, yb)      calculate error
                                         E.backward()              back-propagation
                                         optimizer.step()          W ← W − η ∂E/∂W
                                         optimizer.zero_grad()     reset gradients

A NaN/inf loss or gradient stops ``fit`` before the update (``TrainingDivergedError``), and
Ctrl-C is held back during an update, so it lands between two steps.  A run that ends but has
not learned (the loss grew by orders of magnitude, or the accuracy is at chance) gets a
``TrainingWarning`` naming the likely cause (see ``health``).
Test process: ``evaluate`` (mean error over a test set, and accuracy for classes).
Using the network: ``predict`` (feed-forward only, under ``no_grad``).
``fit`` runs the model in training mode and ``evaluate`` / ``predict`` in evaluation mode
(``Module.train()`` / ``eval()``: Dropout drops only while training, BatchNorm learns its running
statistics); each puts the model back in the mode it found it in.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from .. import tracing
from ..data import DataLoader
from ..errors import TrainingDivergedError, TrainingWarning
from ..functional import as_value
from ..nn.losses import CrossEntropyLoss
from ..optim import grad_data
from ..validation import positive_int
from ..value import Value, no_grad
from . import targets
from .health import training_problems
from .history import History
from .progress import epoch_summary, make_progress
from .record import Recorder
from .resume import Resumed, resume_training, save_training

__all__ = ["Callback", "EpochCallback", "Evaluation", "evaluate", "fit", "predict",
           "training_step"]

PathLike = str | os.PathLike[str]


class EpochCallback(Protocol):
    """An object notified at the end of every epoch."""

    def on_epoch_end(self, epoch: int, history: History) -> None:
        """Called with the 1-based epoch number and the History so far."""


Callback = Callable[[int, History], Any] | EpochCallback
"""What ``fit(callbacks=...)`` accepts: a function ``(epoch, history)`` or an ``EpochCallback``."""


class Evaluation(NamedTuple):
    """Result of the test process: mean error, accuracy (None unless targets are classes), N."""

    loss: float
    accuracy: float | None
    n: int


# ---------------------------------------------------------------------------------------------
# Ctrl-C at step boundaries
# ---------------------------------------------------------------------------------------------


class _CtrlC:
    """Ctrl-C during ``fit``: held back while a parameter update runs, delivered when it ends.

    Makes a parameter update atomic: an interrupt lands before or after the whole step.  One
    handler serves the whole of ``fit`` (installed by ``install``, removed by ``uninstall``):
    outside an update it passes the interrupt on at once, as the previous handler would.
    Only possible in the main thread; elsewhere nothing is held.
    """

    def __init__(self) -> None:
        self.holding = False
        self.received = False
        self.previous: Any = None
        self.installed = False

    def install(self) -> None:
        """Take over SIGINT (in the main thread) until ``uninstall``."""
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except (ValueError, OSError):  # pragma: no cover - no signal support here
            return
        self.installed = True

    def uninstall(self) -> None:
        """Give SIGINT back to the handler it had before ``install``."""
        if self.installed:
            signal.signal(signal.SIGINT, self.previous)
            self.installed = False

    def hold(self) -> None:
        """An update starts: an interrupt now waits for ``release``."""
        self.holding = True

    def release(self) -> None:
        """The update is complete: deliver an interrupt that arrived during it."""
        self.holding = False
        if self.received:
            self.received = False
            self._deliver(None)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.holding:
            self.received = True
        else:
            self._deliver(frame)

    def _deliver(self, frame: Any) -> None:
        previous = self.previous
        if callable(previous):
            previous(signal.SIGINT, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt


# ---------------------------------------------------------------------------------------------
# fit / evaluate / predict
# ---------------------------------------------------------------------------------------------


def _switch_mode(model: Any, training: bool) -> bool | None:
    """Put a module in training (or evaluation) mode; returns the mode it was in, None for a
    model without modes (a plain function)."""
    before = getattr(model, "training", None)
    if not isinstance(before, bool) or not callable(getattr(model, "train", None)):
        return None
    model.train(training)
    return before


@contextmanager
def _in_mode(model: Any, training: bool) -> Iterator[None]:
    """Run the block with the model in training (or evaluation) mode, then restore its mode."""
    before = _switch_mode(model, training)
    try:
        yield
    finally:
        if before is not None:
            model.train(before)


def _model_parameters(model: Any) -> list[Value]:
    """The model's parameters (none for a plain function)."""
    parameters = getattr(model, "parameters", None)
    return list(parameters()) if callable(parameters) else []


def _model_dtype(parameters: Sequence[Value]) -> np.dtype[Any] | None:
    """The one dtype of the model's parameters (float32 for a float32 network), else None."""
    dtypes = {p.dtype for p in parameters}
    return dtypes.pop() if len(dtypes) == 1 else None


def _samples(X: Any, fn: str, dtype: np.dtype[Any] | None) -> np.ndarray:
    """The inputs as an array of real numbers in the model's dtype, as ``model(X)`` would take
    them; ragged lists, strings and complex numbers are refused, naming ``fn``."""
    return np.asarray(as_value(X, fn, dtype).data)


def _loss_value(loss: Any, fn: str) -> float:
    """The scalar loss as a Python float, with a clear error when it is not one number."""
    data = loss.data if isinstance(loss, Value) else loss
    if type(data) is np.ndarray and data.size == 1:
        return float(data.item())
    if np.size(data) != 1:
        raise ValueError(f"{fn}: loss_fn must return a scalar (one number), got shape "
                         f"{np.shape(data)}; use reduction='mean' or 'sum'")
    return float(np.asarray(data).reshape(()))


def _batch_data(batch: Any, dtype: np.dtype[Any] | None) -> Any:
    """A minibatch for a compiled step: the array itself when it is floats of the model's dtype
    (the step checks its shape), else converted and checked as ``model(x)`` would."""
    if type(batch) is np.ndarray and batch.dtype.kind == "f" and (
            dtype is None or batch.dtype == dtype):
        return batch
    return as_value(batch, "fit", dtype)


def _hits(outputs: list[Any], target_batches: list[Any], kind: str | None) -> tuple[int, int]:
    """Correct predictions and the samples counted over an epoch's minibatches (their outputs
    and targets): one ``targets.correct`` over them all when the outputs join into one array
    (rows of one width), else per minibatch (outputs that are not rows of class scores count
    none)."""
    if not outputs:
        return 0, 0
    try:
        batches = [(np.concatenate(outputs), np.concatenate(target_batches))]
    except ValueError:                  # scalars, or rows of different widths
        batches = list(zip(outputs, target_batches))
    correct = counted = 0
    for out, yb in batches:
        hits = targets.correct(out, targets.labels_of(yb, kind))
        if hits is not None:
            correct += hits
            counted += len(out)
    return correct, counted


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
        if type(g) is np.ndarray and math.isfinite(np.add.reduce(g, axis=None)):
            continue                # a NaN or ±inf entry makes the sum NaN or ±inf: all finite
        arr = np.asarray(g)
        finite = np.isfinite(arr)
        if not finite.all():        # the method: np.all's Python wrapper costs more, every step
            return i, float(arr[~finite].reshape(-1)[0])
    return None


def fit(model: Any, loss_fn: Callable[[Value, Any], Value], optimizer: Any, loader: Iterable[Any],
        epochs: int, val_data: tuple[Any, Any] | None = None,
        callbacks: Iterable[Callback] = (), progress: bool = True,
        checkpoint: PathLike | None = None, resume: PathLike | None = None,
        compile: Any = False, record: Recorder | None = None) -> History:
    """Minibatch training: per epoch, per minibatch forward, E, backward, W ← W − η∂E/∂W, reset.

    ``loader`` yields ``(xb, yb)`` minibatches (a DataLoader reshuffles every epoch).
    ``loss_fn(out, yb)`` returns the scalar error E.  After each epoch ``val_data=(X, Y)`` is
    evaluated, the checkpoint (if a path is given) is saved, and the callbacks run.
    A NaN/inf loss or gradient raises ``TrainingDivergedError`` before the update, so the
    model keeps its last finite parameters; a run that ends with a loss grown by orders of
    magnitude, or an accuracy at chance, issues a ``TrainingWarning`` with the likely cause.
    Ctrl-C stops at a step boundary: the model keeps the parameters of the last completed step,
    the checkpoint is written, and the returned History has ``interrupted=True``.  The model
    trains in training mode (validation runs in evaluation mode) and is left in the mode it was
    in.

    The checkpoint holds the optimizer's state and the loader's shuffling state too
    (``train.resume``), so ``resume=path`` continues a run: the model, optimizer and loader
    (built as before) get the saved parameters, buffers and epoch order, and ``epochs`` more
    epochs are trained, numbered on from the saved count; the History holds the new ones.
    Resumed from the end of an epoch, the parameters are bit for bit those of one long run.

    ``compile=True`` runs each minibatch's forward, E, backward and update as one compiled
    program (``training_step``): the same numbers, faster; ``compile=training_step(model,
    loss_fn, optimizer)`` reuses one already traced.
    ``record=Recorder()`` records snapshots of the run (parameters, gradient norms, mean |δ| per
    layer, losses, accuracies, η) for ``viz.playground``; see ``train.record``.
    """
    epochs = positive_int(epochs, "epochs", "fit")
    if record is not None and not isinstance(record, Recorder):
        raise TypeError(f"fit: record must be a train.Recorder or None, got "
                        f"{type(record).__name__}")
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
    done = (resume_training(resume, model, optimizer, loader) if resume is not None
            else Resumed(0, 0))
    model_params = _model_parameters(model)
    params: list[Value] = list(getattr(optimizer, "params", None) or model_params)
    dtype = _model_dtype(model_params)
    kind = (loader.target_kind if isinstance(loader, DataLoader)       # known to the loader
            else targets.target_kind(getattr(loader, "Y", None)))
    validation = None                   # (X, Y, Y's class indices), checked once for every epoch
    if val_data is not None:
        X_val, Y_val = _check_xy(val_data[0], val_data[1], "fit (val_data)", dtype)
        validation = (X_val, Y_val, targets.labels(Y_val))
    try:
        batches: int | None = len(loader)  # type: ignore[arg-type]
    except TypeError:
        batches = None

    step = _training_step_for(compile, model, loss_fn, optimizer)
    history = History()
    bar = make_progress(progress)
    optimizer.zero_grad()
    if hasattr(model, "zero_grad"):
        model.zero_grad()
    epoch = batch = 0
    first_loss: float | None = None
    initial = [np.array(p.data, copy=True) for p in params]    # to tell how far they moved
    if record is not None:
        record.start(model, loss_fn, loader, val_data, done.epochs, epochs, done.steps,
                     _learning_rate(optimizer))
    mode_before = _switch_mode(model, True)     # restored in `finally`
    ctrl_c = _CtrlC()
    ctrl_c.install()
    try:
        for epoch in range(done.epochs + 1, done.epochs + epochs + 1):
            start = time.perf_counter()
            bar.start_epoch(epoch, done.epochs + epochs, batches)
            total = 0.0
            seen = 0
            outputs: list[Any] = []             # the minibatches' outputs and targets:
            target_batches: list[Any] = []      # the accuracy, counted at the epoch's end
            with np.errstate(all="ignore"):
                for batch, (xb, yb) in enumerate(loader, start=1):
                    if batch == 1 and kind is None and not hasattr(loader, "Y"):
                        kind = targets.target_kind(yb)
                    if step is None:
                        out = model(as_value(xb, "fit", dtype))     # feed-forward
                        loss = loss_fn(out, yb)                 # calculate error E
                        if not isinstance(loss, Value):
                            raise TypeError(f"fit: loss_fn must return a Value (the error E), "
                                            f"got {type(loss).__name__}")
                        out_data = out.data
                    else:                       # forward, E, ∂E/∂W (and the update) at once
                        ctrl_c.hold()
                        try:                    # (E and out as data: no Values are made)
                            loss, out_data = step.call_data(_batch_data(xb, dtype),
                                                            _batch_data(yb, dtype))
                            if step.updated:                    # W ← W − η ∂E/∂W was in it
                                history.steps += 1
                        finally:
                            ctrl_c.release()
                    value = _loss_value(loss, "fit")
                    if not math.isfinite(value):
                        raise TrainingDivergedError(epoch, batch, value)
                    if first_loss is None:
                        first_loss = value                      # before any update
                    if step is None:
                        loss.backward()                         # back-propagation: ∂E/∂W
                    if step is None or not step.updated:
                        bad = _first_bad_grad(params)
                        if bad is not None:
                            raise TrainingDivergedError(epoch, batch, bad[1],
                                                        f"gradient of parameter {bad[0]}")
                        ctrl_c.hold()
                        try:
                            optimizer.step()                    # W ← W − η ∂E/∂W
                            optimizer.zero_grad()               # reset gradients
                            history.steps += 1
                        finally:
                            ctrl_c.release()
                    n = len(xb)
                    total += value * n
                    seen += n
                    if kind is not None:
                        outputs.append(out_data)
                        target_batches.append(yb)
                    bar.update(batch, value)
            correct, counted = _hits(outputs, target_batches, kind)
            if seen == 0:
                raise ValueError("fit: the loader yielded no minibatches (empty dataset, or "
                                 "drop_last with fewer samples than batch_size)")
            means: dict[str, float] = {"loss": total / seen}
            if counted:
                means["accuracy"] = correct / counted
            if validation is not None:
                ev = _evaluate_arrays(model, loss_fn, *validation, dtype, EVALUATION_BATCH)
                means["val_loss"] = ev.loss
                if ev.accuracy is not None:
                    means["val_accuracy"] = ev.accuracy
            means["seconds"] = time.perf_counter() - start
            ctrl_c.hold()
            try:
                for key, val in means.items():
                    getattr(history, key).append(val)
            finally:
                ctrl_c.release()
            bar.end_epoch(epoch_summary(epoch, done.epochs + epochs, means))
            if checkpoint is not None:
                _save_checkpoint(checkpoint, model, optimizer, loader, history, done)
            if record is not None:
                record.epoch_end(model, epoch, done.steps + history.steps,
                                 _learning_rate(optimizer), last=epoch == done.epochs + epochs)
            for hook in hooks:
                hook(epoch, history)
    except KeyboardInterrupt:
        optimizer.zero_grad()  # drop the interrupted step's partial gradients
        history.interrupted = True
        bar.close()
        print(f"\ninterrupted at epoch {epoch}, batch {batch}: the model keeps the parameters "
              f"of step {history.steps}", file=sys.stderr)
        if checkpoint is not None:
            _save_checkpoint(checkpoint, model, optimizer, loader, history, done)
    except Exception:
        optimizer.zero_grad()  # no half-accumulated gradients survive an error
        raise
    finally:
        ctrl_c.uninstall()
        bar.close()
        if mode_before is not None:
            model.train(mode_before)
    if record is not None:
        record.finish(model, history, done.steps + history.steps, _learning_rate(optimizer))
    if first_loss is not None and not history.interrupted:   # a run stopped by hand is unjudged
        _warn_if_not_learning(history, first_loss, params, initial, optimizer, validation,
                              loader, kind)
    return history


def training_step(model: Any, loss_fn: Callable[[Value, Any], Value],
                  optimizer: Any = None) -> tracing.Compiled:
    """One minibatch as one compiled program: ``step(x, target) -> (E, out)``, with ∂E/∂W
    accumulated into ``.grad`` or, given the ``optimizer``, W ← W − η ∂E/∂W applied as well
    (``tn.compile(..., optimizer=)``).

    The program receives ``target`` as a Value, so give it in the model's dtype (``fit`` does):
    a loss converts a target *array* to the prediction's dtype, a Value it takes as it is."""
    def training_step(x: Value, target: Value) -> tuple[Value, Value]:
        out = model(x)
        return loss_fn(out, target), out

    return tracing.Compiled(training_step, optimizer=optimizer)


def _training_step_for(compile: Any, model: Any, loss_fn: Callable[[Value, Any], Value],
                       optimizer: Any) -> Any:
    """The compiled step ``fit`` runs: None (eager), a new one with the optimizer's update
    (True), or the one given (which must update with this optimizer, if with any)."""
    if compile is False or compile is None:
        return None
    if isinstance(loss_fn, CrossEntropyLoss):
        raise ValueError("fit: compile needs a loss whose targets are an input of the graph, "
                         "as MSELoss's are; CrossEntropyLoss takes them as a parameter of its "
                         "op (computed outside the graph), so a compiled step would replay the "
                         "first minibatch's labels. Train it with compile=False")
    if compile is True:
        return training_step(model, loss_fn, optimizer)
    if isinstance(compile, tracing.Compiled):
        if getattr(compile, "optimizer", None) not in (None, optimizer):
            raise ValueError("fit: the compiled step updates with another optimizer than the "
                             "one given to fit; build it with train.training_step(model, "
                             "loss_fn, optimizer)")
        return compile
    raise TypeError(f"fit: compile must be True, False or a step from "
                    f"train.training_step(model, loss_fn), got {type(compile).__name__}")


def _save_checkpoint(path: PathLike, model: Any, optimizer: Any, loader: Any, history: History,
                     done: Resumed) -> None:
    """Write the resumable checkpoint, counting the epochs and steps of a resumed run's start."""
    save_training(path, model, optimizer, loader, done.epochs + history.epochs,
                  done.steps + history.steps,
                  metadata={"loss": history.loss[-1] if history.loss else None,
                            "interrupted": history.interrupted})


def _moved(params: Sequence[Value], initial: Sequence[np.ndarray]) -> float | None:
    """How far the parameters moved, relative to their initial size: ‖θ − θ₀‖ / ‖θ₀‖."""
    start = math.sqrt(sum(float(np.vdot(p0, p0)) for p0 in initial))
    if not start:
        return None
    change = 0.0
    for p, p0 in zip(params, initial):
        step = np.asarray(p.data) - p0
        change += float(np.vdot(step, step))
    return math.sqrt(change) / start


def _warn_if_not_learning(history: History, first_loss: float, params: Sequence[Value],
                          initial: Sequence[np.ndarray], optimizer: Any,
                          validation: tuple[Any, Any, Any] | None, loader: Any,
                          kind: str | None) -> None:
    """Issue a ``TrainingWarning`` for each of ``health.training_problems`` of the run: the test
    accuracy is judged when there was ``validation`` data (its class indices last), else the
    training accuracy (the loader's targets, of this ``kind``).  How far the parameters moved
    from their ``initial`` arrays is measured only to explain a problem found."""
    if validation is not None:
        accuracies, what, labels = history.val_accuracy, "test accuracy", validation[2]
    else:
        accuracies, what = history.accuracy, "training accuracy"
        labels = targets.labels_of(loader.Y, kind) if hasattr(loader, "Y") else None
    lr = _learning_rate(optimizer)
    judged = (history.loss, first_loss, accuracies, targets.chance(labels))
    rate = lr if isinstance(lr, (int, float)) else None
    if not training_problems(*judged, None, rate, what):
        return
    for message in training_problems(*judged, _moved(params, initial), rate, what):
        warnings.warn(message, TrainingWarning, stacklevel=3)


def _learning_rate(optimizer: Any) -> Any:
    """The first parameter group's learning rate (PyTorch's layout), or a plain ``lr`` attribute."""
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        return groups[0].get("lr")
    return getattr(optimizer, "lr", None)


def _check_xy(X: Any, Y: Any, fn: str, dtype: np.dtype[Any] | None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (in the model's dtype) and targets as arrays with the same number of samples."""
    Xa = _samples(X, fn, dtype)
    try:
        Ya = np.asarray(Y)
    except ValueError:
        raise ValueError(f"{fn}: Y must be a rectangular array of targets, got a ragged "
                         f"{type(Y).__name__}") from None
    if Xa.ndim == 0 or Xa.shape[0] == 0:
        raise ValueError(f"{fn}: X must hold at least one sample, got shape {Xa.shape}")
    if Ya.ndim == 0 or Ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"{fn}: X has {Xa.shape[0]} samples but Y has "
                         f"{Ya.shape[0] if Ya.ndim else 'none (a scalar)'}")
    return Xa, Ya


EVALUATION_BATCH = 1024
"""Samples per forward pass of ``evaluate``, ``fit``'s validation and ``predict``, by default:
a test set of up to 1,024 samples (the digits' 360) in one pass."""


def evaluate(model: Any, loss_fn: Callable[[Value, Any], Value], X: Any, Y: Any,
             batch_size: int = EVALUATION_BATCH) -> Evaluation:
    """The test process: mean error E = Σ_b E_b·n_b / N, accuracy = mean(argmax out == label).

    Runs under ``no_grad`` in evaluation mode; accuracy is None unless ``Y`` holds integer labels
    or one-hot rows.
    """
    dtype = _model_dtype(_model_parameters(model))
    Xa, Ya = _check_xy(X, Y, "evaluate", dtype)
    bs = positive_int(batch_size, "batch_size", "evaluate")
    labels = targets.labels(Ya)
    return _evaluate_arrays(model, loss_fn, Xa, Ya, labels, dtype, bs)


def _evaluate_arrays(model: Any, loss_fn: Callable[[Value, Any], Value], Xa: np.ndarray,
                     Ya: np.ndarray, labels: np.ndarray | None, dtype: np.dtype[Any] | None,
                     bs: int) -> Evaluation:
    """``evaluate`` on arrays it has checked, with the class indices of ``Ya`` (None: not
    classes) and the model's dtype (``fit`` finds them once per run, not once per epoch)."""
    total = 0.0
    correct = 0
    counted = 0
    n = Xa.shape[0]
    with no_grad(), np.errstate(all="ignore"), _in_mode(model, False):
        for i in range(0, n, bs):
            xb, yb = Xa[i:i + bs], Ya[i:i + bs]
            out = model(as_value(xb, "evaluate", dtype))
            total += _loss_value(loss_fn(out, yb), "evaluate") * len(xb)
            hits = targets.correct(out.data, None if labels is None else labels[i:i + bs])
            if hits is not None:
                correct += hits
                counted += len(xb)
    return Evaluation(total / n, correct / counted if counted else None, n)


def predict(model: Any, X: Any, batch_size: int = EVALUATION_BATCH) -> np.ndarray:
    """Using the network: assign the inputs, feed-forward, return the outputs (under ``no_grad``,
    in evaluation mode).

    ``X`` is a batch (N, features) or one sample (features,), which gives one output row.
    It runs in the model's dtype, as ``model(X)`` does (float32 for a float32 network).
    """
    dtype = _model_dtype(_model_parameters(model))
    Xa = _samples(X, "predict", dtype)
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
    with no_grad(), _in_mode(model, False):
        for i in range(0, Xa.shape[0], bs):
            parts.append(np.array(model(as_value(Xa[i:i + bs], "predict", dtype)).data,
                                  copy=True))
    out = np.concatenate(parts, axis=0)
    return out[0] if single else out
