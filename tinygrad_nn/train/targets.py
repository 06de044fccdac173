"""Targets and accuracy: what kind of targets a dataset has, their class indices, hits and chance.

Shared by the training loop (``fit``, ``evaluate``) and the recorder (``record``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["chance", "correct", "labels_of", "target_kind"]


def target_kind(Y: Any) -> str | None:
    """'labels' for 1-D integer class labels, 'onehot' for one-hot rows, None otherwise."""
    if Y is None:
        return None
    Y = np.asarray(Y)
    if Y.ndim == 1 and Y.dtype.kind in "iu":
        return "labels"
    # Each row sums to 1, so holds a nonzero; as many nonzeros as rows: one per row, so a 1.
    if (Y.ndim == 2 and Y.shape[1] >= 2 and Y.dtype.kind in "biuf" and Y.size
            and np.count_nonzero(Y) == Y.shape[0] and (Y.sum(axis=1) == 1).all()):
        return "onehot"
    return None


def labels_of(Y: Any, kind: str | None) -> np.ndarray | None:
    """Class indices of the targets (argmax of one-hot rows), or None for non-class targets."""
    if kind == "labels":
        return np.asarray(Y)
    if kind == "onehot":
        return np.asarray(np.argmax(np.asarray(Y), axis=1))
    return None


def chance(Y: Any) -> float | None:
    """The accuracy of always guessing the most common class of ``Y`` (None: not classes)."""
    labels = labels_of(Y, target_kind(Y))
    if labels is None or labels.size == 0 or labels.min() < 0:
        return None
    return float(np.bincount(labels).max() / labels.size)


def correct(out: Any, labels: np.ndarray | None) -> int | None:
    """How many rows of ``out`` have their argmax at the label (None if not applicable)."""
    if labels is None:
        return None
    out = np.asarray(out)
    if out.ndim != 2 or out.shape[1] < 2 or out.shape[0] != labels.shape[0]:
        return None
    return int(np.count_nonzero(np.argmax(out, axis=1) == labels))
