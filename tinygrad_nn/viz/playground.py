"""``playground``: a recorded training run as one interactive offline page.

``tn.viz.playground(recorder)`` turns a ``train.Recorder`` that ``fit(..., record=recorder)``
filled into a ``Playground``; ``.save("run.html")`` writes the page and a notebook shows it
inline.  The page draws the network as the tutorial's G(V, A) with each arc coloured and as thick
as its weight at the selected snapshot, a time slider and a play button, the loss and accuracy
curves with the snapshot marked, the gradient norm ‖∂E/∂W‖ and the mean error signal |δ| of each
layer, and for the data: the decision boundary of a 2-D input (moons, circles, spirals, xor, a
CSV with two features), or a grid of test images with predicted and true labels and the
confusion matrix (digits, MNIST).  Hovering a neuron shows out = φ(Σ w·x + b) with the numbers
of the selected sample.

Everything the page shows of a snapshot is computed here from its parameters, by the engine (the
page never re-implements a layer): the outputs of every layer for the shown samples and, for a
2-D input, the predicted class on a grid.

The page's contract for tests and tools (documented in docs/training.md): the data in
``<script type="application/json" id="tn-run">``, and ``window.tn`` with ``snapshots()`` (their
count), ``goto(k)`` and ``state()`` → ``{snapshot, epoch, loss, accuracy, params}``, where
``params`` maps the model's ``state_dict`` names to nested arrays, written with every digit so
they are the recorded float64 values bit for bit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..train import targets
from ..train.loop import predict
from ..train.record import Recorder, Snapshot
from ..value import Value, no_grad
from .network import _flatten, _split_layers
from .pages.shell import asset, html_page, iframe, json_value, save_page

__all__ = ["GRID", "MAX_BYTES", "SHOWN_SAMPLES", "Playground", "playground"]

MAX_BYTES = 5_000_000
"""The largest page ``playground`` writes: past it, snapshots are thinned (and the page says so)."""
SHOWN_SAMPLES = 40
"""How many test samples the page shows (the image grid; the samples a neuron's hover uses)."""
GRID = 60
"""The decision boundary of a 2-D input is the predicted class on GRID × GRID points."""
DIGITS = 6
"""Significant digits of the layer outputs shown on hover (the parameters keep every digit)."""
PHI = {"Sigmoid": "σ", "Tanh": "tanh", "ReLU": "ReLU", "LeakyReLU": "LeakyReLU",
       "Softmax": "softmax", "Identity": "id"}
"""How the hover formula writes each activation φ (other layers: their class name)."""


class Playground:
    """A recorded run, ready to show: ``save(path)`` writes the page; ``data`` is its JSON."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __len__(self) -> int:
        """The number of snapshots on the page (``snapshots()`` on the page)."""
        return len(self.data["snapshots"])

    def __repr__(self) -> str:
        thinned = self.data["thinned"]
        note = f", thinned from {thinned['recorded']}" if thinned else ""
        return f"Playground({len(self)} snapshots{note}, {self.data['data']['kind']} data)"

    def html(self) -> str:
        """The whole page as one string of HTML (styles, scripts and data inlined)."""
        return html_page(title=f"Training run: {self.data['title']}",
                         body=asset("playground_body.html"), data=self.data,
                         styles=["page.css", "playground.css"],
                         scripts=["graph_view.js", "playground.js"], data_id="tn-run")

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (one self-contained ``.html`` file), atomically."""
        return save_page(self.html(), path, "Playground.save")

    def _repr_html_(self) -> str:
        """The page inline in a notebook (in an iframe of its own)."""
        return iframe(self.html(), height=820)


def playground(recorder: Recorder, *, title: str = "training run",
               class_names: Sequence[str] | None = None,
               feature_names: Sequence[str] | None = None,
               max_bytes: int = MAX_BYTES) -> Playground:
    """The page of a run that ``fit(..., record=recorder)`` recorded.

    ``class_names`` name the output classes (default 0, 1, ...), ``feature_names`` the inputs
    (default x₁, x₂, ... or the pixel's row and column).  Inputs of a square number of unnamed
    features (64, 784) are shown as images; named ones are a table.  A page whose data would pass
    ``max_bytes`` keeps fewer snapshots, evenly spaced, always the first and the last.
    """
    if not isinstance(recorder, Recorder):
        raise TypeError(f"playground: expected a train.Recorder that fit(..., record=...) "
                        f"filled, got {type(recorder).__name__}")
    if not recorder.snapshots or recorder.history is None:
        raise ValueError("playground: the Recorder holds no finished run; pass it to "
                         "fit(..., record=recorder) first")
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1:
        raise ValueError(f"playground: max_bytes must be a positive int, got {max_bytes!r}")
    model = recorder.model
    network = _network(model)
    X_shown, y_shown, points = _samples(recorder)
    n_features = int(X_shown.shape[1]) if X_shown.ndim == 2 else 0
    n_classes = _classes(recorder)
    names = _names(class_names, n_classes, "class_names")
    features = _names(feature_names, n_features, "feature_names")
    kind = _kind(n_features, named=features is not None)
    grid = _grid(points) if kind == "plane" and n_classes else None
    snapshots = [_snapshot_json(s, model, network, X_shown, grid) for s in recorder.snapshots]
    test = recorder.test_data
    test_labels = None if test is None else _class_labels(test[1])
    data: dict[str, Any] = {
        "page": "playground",
        "version": 1,
        "title": title,
        "params": list(recorder.snapshots[0].params),
        "network": network,
        "history": _history_json(recorder),
        "snapshots": [],
        "data": {
            "kind": kind,
            "features": n_features,
            "feature_names": features,
            "classes": names,
            "test_labels": None if test_labels is None else test_labels.tolist(),
            "shown": {"x": json_value(X_shown), "labels": None if y_shown is None
                      else y_shown.tolist()},
            "points": points,
            "grid": None if grid is None else grid[1],
            "image_side": math.isqrt(n_features) if kind == "image" else None,
        },
        "thinned": None,
    }
    kept = _thin(data, snapshots, max_bytes)
    data["snapshots"] = [snapshots[i] for i in kept]
    if len(kept) < len(snapshots):
        data["thinned"] = {"recorded": len(snapshots), "kept": len(kept), "limit": max_bytes}
    return Playground(data)


# --- what is on the page ----------------------------------------------------------------------


def _network(model: Any) -> dict[str, Any] | None:
    """The layers of G(V, A) with the names of their parameters, or None when the model is not a
    Sequential of Linear and activation layers."""
    try:
        linears, activations = _split_layers(model)
    except (TypeError, ValueError):
        return None
    names = {id(p): name for name, p in model.named_parameters()}
    layers: list[dict[str, Any]] = [{"size": int(linears[0].weight.shape[1])}]
    for layer, activation in zip(linears, activations):
        bias = getattr(layer, "bias", None)
        layers.append({"size": int(layer.weight.shape[0]), "weight": names[id(layer.weight)],
                       "bias": names[id(bias)] if isinstance(bias, Value) else None,
                       "activation": activation,
                       "phi": None if activation is None else PHI.get(activation, activation)})
    return {"layers": layers}


def _kind(n_features: int, named: bool) -> str:
    """"plane" for two features (a decision boundary), "image" for a square number of at least 16
    unnamed ones (pixels: a grid of pictures), else "table" (also named columns, however many)."""
    if n_features == 2:
        return "plane"
    side = math.isqrt(n_features)
    return "image" if not named and n_features >= 16 and side * side == n_features else "table"


def _class_labels(Y: np.ndarray) -> np.ndarray | None:
    """The class index of every target, or None when the targets are not classes."""
    labels = targets.labels(Y)
    return None if labels is None else np.asarray(labels, dtype=np.int64)


def _classes(recorder: Recorder) -> int:
    """How many classes the outputs score (0 when the targets are not classes)."""
    for part in (recorder.test_data, recorder.train_data):
        if part is not None and _class_labels(part[1]) is not None:
            with no_grad():
                out = predict(recorder.model, part[0][:1])
            return int(np.asarray(out).shape[-1])
    return 0


def _names(given: Sequence[str] | None, n: int, what: str) -> list[str] | None:
    if given is None:
        return None
    names = [str(x) for x in given]
    if len(names) != n:
        raise ValueError(f"playground: {what} must name {n} items, got {len(names)}")
    return names


def _samples(recorder: Recorder) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any] | None]:
    """The shown samples (the first test samples, else training samples), their labels, and for
    two features every point to plot as [x, y, label]."""
    source = recorder.test_data if recorder.test_data is not None else recorder.train_data
    if source is None:
        return np.zeros((0, 0)), None, None
    X = np.asarray(source[0], dtype=np.float64)[:SHOWN_SAMPLES]
    labels = _class_labels(source[1])
    y = None if labels is None else labels[:SHOWN_SAMPLES]
    points = None
    if X.ndim == 2 and X.shape[1] == 2:
        points = {part: _points(data) for part, data in
                  (("train", recorder.train_data), ("test", recorder.test_data))}
    return X, y, points


def _points(data: tuple[np.ndarray, np.ndarray] | None) -> list[list[Any]] | None:
    if data is None:
        return None
    labels = _class_labels(data[1])
    X = np.asarray(data[0], dtype=np.float64)
    return [[_round(X[i, 0]), _round(X[i, 1]), None if labels is None else int(labels[i])]
            for i in range(len(X))]


def _grid(points: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]] | None:
    """The GRID × GRID points of the decision boundary, over the data's box and 10% more."""
    rows = [p for part in (points or {}).values() if part for p in part]
    if not rows:
        return None
    xy = np.array([[p[0], p[1]] for p in rows], dtype=np.float64)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    pad = np.maximum((hi - lo) * 0.1, 1e-3)
    lo, hi = lo - pad, hi + pad
    xs = lo[0] + (np.arange(GRID) + 0.5) * (hi[0] - lo[0]) / GRID
    ys = lo[1] + (np.arange(GRID) + 0.5) * (hi[1] - lo[1]) / GRID
    gx, gy = np.meshgrid(xs, ys)                 # row r: y = ys[r], column c: x = xs[c]
    return (np.column_stack([gx.ravel(), gy.ravel()]),
            {"x0": float(lo[0]), "x1": float(hi[0]), "y0": float(lo[1]), "y1": float(hi[1]),
             "n": GRID})


def _snapshot_json(s: Snapshot, model: Any, network: dict[str, Any] | None, X_shown: np.ndarray,
                   grid: tuple[np.ndarray, dict[str, Any]] | None) -> dict[str, Any]:
    """One snapshot as JSON: the recorded numbers, and what the engine computes from its
    parameters (each layer's outputs for the shown samples; the boundary)."""
    model.load_state_dict(s.params)
    outputs = None
    if network is not None and X_shown.size:
        outputs = [_rounded(out) for out in _layer_outputs(model, X_shown)]
    boundary = None
    if grid is not None:
        scores = np.asarray(predict(model, grid[0]), dtype=np.float64)
        boundary = _boundary(scores)
    return {
        "epoch": s.epoch,
        "step": s.step,
        "lr": None if s.lr is None else json_value(s.lr),
        "loss": {k: None if v is None else json_value(v) for k, v in s.loss.items()},
        "accuracy": {k: None if v is None else json_value(v) for k, v in s.accuracy.items()},
        "params": {name: json_value(p) for name, p in s.params.items()},
        "grad_norms": {name: json_value(g) for name, g in s.grad_norms.items()},
        "delta": None if s.delta is None else [json_value(d) for d in s.delta],
        "predictions": None if s.predictions is None else s.predictions.tolist(),
        "outputs": outputs,
        "boundary": boundary,
    }


def _layer_outputs(model: Any, X: np.ndarray) -> list[np.ndarray]:
    """out x^l of every neuron layer after the input (after its φ) for the samples ``X``."""
    outs: list[np.ndarray] = []
    with no_grad(), np.errstate(all="ignore"):
        x: Any = Value(np.asarray(X, dtype=model.parameters()[0].dtype), requires_grad=False)
        layers = _flatten(model)
        for k, layer in enumerate(layers):
            if getattr(layer, "role", None) == "E":
                continue
            x = layer(x)
            following = layers[k + 1] if k + 1 < len(layers) else None
            is_linear = isinstance(getattr(layer, "weight", None), Value)
            if (is_linear and getattr(following, "role", None) != "φ") or not is_linear:
                outs.append(np.asarray(x.data, dtype=np.float64))
    return outs


def _boundary(scores: np.ndarray) -> list[int]:
    """Each grid point as class · 10 + confidence decile (0-9): how sure the network is, from
    its outputs as probabilities (softmax of logits; sigmoid outputs normalised to sum 1)."""
    if scores.ndim != 2 or scores.shape[1] < 2:
        return []
    with np.errstate(all="ignore"):
        if np.all((scores >= 0) & (scores <= 1)):
            total = scores.sum(axis=1, keepdims=True)
            p = np.where(total > 0, scores / np.where(total > 0, total, 1), 1 / scores.shape[1])
        else:
            z = np.exp(scores - scores.max(axis=1, keepdims=True))
            p = z / z.sum(axis=1, keepdims=True)
    cls = np.argmax(scores, axis=1)
    top = np.nan_to_num(p[np.arange(len(p)), cls])
    low = 1.0 / scores.shape[1]                  # a guess among the classes: decile 0
    decile = np.clip(np.floor((top - low) / (1 - low) * 10), 0, 9).astype(np.int64)
    return (cls * 10 + decile).tolist()


def _history_json(recorder: Recorder) -> dict[str, Any]:
    h = recorder.history
    assert h is not None
    first = recorder.snapshots[0].epoch
    return {"epochs": list(range(first + 1, first + h.epochs + 1)),
            **{key: [json_value(x) for x in getattr(h, key)]
               for key in ("loss", "accuracy", "val_loss", "val_accuracy")}}


def _thin(data: dict[str, Any], snapshots: list[dict[str, Any]], max_bytes: int) -> list[int]:
    """The indices of the snapshots to keep: all when the page fits in ``max_bytes``, else the
    most that do, evenly spaced, with the first and the last."""
    sizes = [len(json.dumps(s, separators=(",", ":"))) + 1 for s in snapshots]
    base = len(json.dumps(data, separators=(",", ":"))) + 60_000   # the page's code and styles
    count = len(snapshots)
    while count > 2:
        kept = _evenly(len(snapshots), count)
        if base + sum(sizes[i] for i in kept) <= max_bytes:
            return kept
        count -= 1
    return _evenly(len(snapshots), min(count, len(snapshots)))


def _evenly(n: int, count: int) -> list[int]:
    """``count`` indices of 0..n-1, evenly spaced, first and last included."""
    if count >= n:
        return list(range(n))
    if count <= 1:
        return [n - 1]
    return sorted({round(i * (n - 1) / (count - 1)) for i in range(count)})


def _round(x: float) -> float:
    return float(f"{float(x):.{DIGITS}g}")


def _rounded(arr: np.ndarray) -> Any:
    """An array with DIGITS significant digits, as nested lists (non-finite as strings)."""
    flat = [_round(v) if math.isfinite(v) else v for v in np.asarray(arr).reshape(-1)]
    return json_value(np.array(flat, dtype=np.float64).reshape(np.shape(arr)))
