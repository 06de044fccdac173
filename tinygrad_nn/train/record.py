"""``Recorder``: snapshots of a training run, for the playground page (``viz.playground``).

``fit(model, loss_fn, optimizer, loader, epochs, val_data=(X_test, Y_test), record=rec)`` with
``rec = Recorder()`` takes a snapshot before the first update and then at the end of every
``every``-th epoch and of the last one.  A snapshot holds:

- the parameters, exact copies by their ``state_dict`` names;
- ∂E/∂p for the parameters at that moment, as one norm ‖∂E/∂p‖ per parameter, and the mean
  error signal |δ^l| per ``Linear`` layer, wherever it sits in the model (δ^l = ∂E_n/∂net x^l,
  per sample), from one forward and backward pass over the probe set (the first
  ``PROBE_SAMPLES`` training samples) with E the training loss;
- the loss and accuracy on the probe set and on ``val_data`` at those parameters, and the test
  set's predicted classes;
- the learning rate η, ``optimizer.param_groups[0]["lr"]``.

The recorder never touches the model being trained: it copies the parameters into a twin (a
deep copy made when training starts) and computes on the twin, so a recorded run updates the
parameters bit for bit as an unrecorded one.  ``fit`` without ``record`` runs no recorder code.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..graph import toposort
from ..validation import positive_int
from ..value import Value, no_grad
from . import targets
from .history import History

__all__ = ["DEFAULT_SNAPSHOTS", "PROBE_SAMPLES", "Recorder", "Snapshot"]

DEFAULT_SNAPSHOTS = 20
"""How many snapshots ``Recorder()`` spreads over a run when ``every`` is not given."""
PROBE_SAMPLES = 1000
"""The gradients, training loss and accuracy of a snapshot are those of the first this many
training samples (all of them in a smaller set)."""


@dataclass
class Snapshot:
    """The state of a run after ``epoch`` epochs and ``step`` updates (``epoch`` 0: before any).

    ``loss`` and ``accuracy`` map ``"train"`` (the probe set) and ``"test"`` (``val_data``) to a
    number, or None where there is none (no test set; targets that are not classes).
    """

    epoch: int
    step: int
    lr: float | None
    params: dict[str, np.ndarray]
    grad_norms: dict[str, float]
    delta: list[float] | None
    loss: dict[str, float | None]
    accuracy: dict[str, float | None]
    predictions: np.ndarray | None


class Recorder:
    """Records a training run when passed to ``fit(..., record=Recorder())``.

    ``every``: a snapshot every this many epochs (and after the last); default: ``snapshots``
    snapshots (counting the one before training) at evenly spread epochs, round(i·E/(n−1)), or
    one after every epoch in a run of fewer epochs.  After ``fit``, ``snapshots`` holds the
    ``Snapshot``s in order, ``history`` the run's ``History``, ``model`` a twin of the model
    (holding the last snapshot's parameters), ``train_data`` the probe set and ``test_data`` the
    ``val_data`` (or None).  ``tinygrad_nn.viz.playground(recorder)`` makes the page.
    """

    def __init__(self, every: int | None = None, snapshots: int = DEFAULT_SNAPSHOTS) -> None:
        self.every = None if every is None else positive_int(every, "every", "Recorder")
        self.target_snapshots = positive_int(snapshots, "snapshots", "Recorder")
        if self.target_snapshots < 2:
            raise ValueError(f"Recorder: snapshots must be at least 2 (before and after "
                             f"training), got {snapshots}")
        self.snapshots: list[Snapshot] = []
        self.history: History | None = None
        self.model: Any = None
        self.loss_fn: Any = None
        self.train_data: tuple[np.ndarray, np.ndarray] | None = None
        self.test_data: tuple[np.ndarray, np.ndarray] | None = None
        self._first_epoch = 0
        self._planned: set[int] = set()
        self._mean_loss = True

    def __len__(self) -> int:
        """The number of snapshots recorded."""
        return len(self.snapshots)

    def __repr__(self) -> str:
        every = f"every={self.every}" if self.every is not None else \
            f"snapshots={self.target_snapshots}"
        return f"Recorder({every}; {len(self.snapshots)} recorded)"

    # --- called by fit ---------------------------------------------------------------------------

    def start(self, model: Any, loss_fn: Any, loader: Any, val_data: tuple[Any, Any] | None,
              first_epoch: int, epochs: int, step: int, lr: Any) -> None:
        """Begin a run of ``epochs`` epochs after ``first_epoch`` (a resumed run's count): make
        the twin, keep the probe and test sets, take snapshot 0."""
        if not (callable(getattr(model, "state_dict", None))
                and callable(getattr(model, "load_state_dict", None))):
            raise TypeError(f"fit: record needs an nn.Module (with state_dict and "
                            f"load_state_dict), got {type(model).__name__}")
        X, Y = getattr(loader, "X", None), getattr(loader, "Y", None)
        self.model = copy.deepcopy(model)
        self.model.zero_grad()
        self.loss_fn = loss_fn
        self.train_data = None if X is None or Y is None else (
            np.asarray(X)[:PROBE_SAMPLES], np.asarray(Y)[:PROBE_SAMPLES])
        self.test_data = None if val_data is None else (np.asarray(val_data[0]),
                                                        np.asarray(val_data[1]))
        self._mean_loss = getattr(loss_fn, "reduction", "mean") != "sum"
        self.snapshots = []
        self.history = None
        self._first_epoch = first_epoch
        n = min(self.target_snapshots, epochs + 1)
        self._planned = ({round(i * epochs / (n - 1)) for i in range(n)} if self.every is None
                         else set(range(0, epochs + 1, self.every)) | {epochs})
        self._take(model, first_epoch, step, lr)

    def epoch_end(self, model: Any, epoch: int, step: int, lr: Any, last: bool) -> None:
        """After ``epoch``: a snapshot when it is an ``every``-th epoch (or one of the evenly
        spread ones) or the last."""
        if last or epoch - self._first_epoch in self._planned:
            self._take(model, epoch, step, lr)

    def finish(self, model: Any, history: History, step: int, lr: Any) -> None:
        """The run ended (also by Ctrl-C): keep its History, snapshot the end if not yet taken."""
        self.history = history
        if self.snapshots and self.snapshots[-1].step != step:
            self._take(model, self._first_epoch + history.epochs, step, lr)

    # --- one snapshot --------------------------------------------------------------------------

    def _take(self, model: Any, epoch: int, step: int, lr: Any) -> None:
        twin = self.model
        twin.load_state_dict(model.state_dict())
        params = twin.state_dict()
        grad_norms: dict[str, float] = {}
        delta: list[float] | None = None
        loss: dict[str, float | None] = {"train": None, "test": None}
        accuracy: dict[str, float | None] = {"train": None, "test": None}
        predictions = None
        with np.errstate(all="ignore"):
            if self.train_data is not None:
                X, Y = self.train_data
                out, nets = _forward(twin, X)
                E = self.loss_fn(out, Y)
                E.backward()
                grad_norms = {name: float(np.linalg.norm(p.grad)) if p.grad is not None
                              else 0.0 for name, p in twin.named_parameters()}
                per_sample = len(X) if self._mean_loss else 1     # E = mean of E_n: δ of one E_n
                delta = [float(np.mean(np.abs(n.grad))) * per_sample if n.grad is not None
                         else 0.0 for n in nets] if nets else None
                twin.zero_grad()
                loss["train"] = _number(E)
                accuracy["train"] = _accuracy(out, Y)
            if self.test_data is not None:
                X, Y = self.test_data
                with no_grad():
                    out = twin(_inputs(twin, X))
                    loss["test"] = _number(self.loss_fn(out, Y))
                accuracy["test"] = _accuracy(out, Y)
                scores = np.asarray(out.data)
                if scores.ndim == 2 and scores.shape[1] >= 2:
                    predictions = np.argmax(scores, axis=1)
        self.snapshots.append(Snapshot(epoch, step, None if lr is None else float(lr), params,
                                       grad_norms, delta, loss, accuracy, predictions))


def _inputs(model: Any, X: np.ndarray) -> Value:
    """The inputs as a constant Value in the model's dtype (float64 without parameters)."""
    params = model.parameters()
    dtype = params[0].dtype if params else np.float64
    return Value(np.asarray(X, dtype=dtype), requires_grad=False)


def _forward(model: Any, X: np.ndarray) -> tuple[Value, list[Value]]:
    """The model's output on ``X`` and the net x^l = W·x + b of each layer with a weight matrix,
    in the order the forward pass made them (their gradients kept: δ^l).

    The nets are found in the graph, as the nodes those weights are parents of, so a layer is
    found wherever it sits: in a Sequential, a Sequential inside one, or a Module of one's own.
    """
    out = model(_inputs(model, X))
    weights = {id(m.weight) for m in model.modules()
               if isinstance(getattr(m, "weight", None), Value) and m.weight.ndim == 2}
    nets = [node for node in toposort(out) if any(id(p) in weights for p in node.parents)]
    for net in nets:
        net.retain_grad()
    return out, nets


def _number(E: Any) -> float:
    return float(np.asarray(E.data if isinstance(E, Value) else E).reshape(-1)[0])


def _accuracy(out: Value, Y: np.ndarray) -> float | None:
    hits = targets.correct(out.data, targets.labels(Y))
    return None if hits is None else hits / len(Y)
