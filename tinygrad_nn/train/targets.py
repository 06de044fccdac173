"""Targets and accuracy: what kind of targets a dataset has, their class indices, hits and chance.

Shared by the training loop (``fit``, ``evaluate``) and the recorder (``record``).
``target_kind`` is ``data.target_kind`` (a ``DataLoader`` knows its targets' kind).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import target_kind

__all__ = ["chance", "correct", "labels", "labels_of", "target_kind"]


def labels_of(Y: Any, kind: str | None) -> np.ndarray | None:
    """Class indices of the targets (the column of each one-hot row's 1), or None for
    non-class targets."""
    if kind == "labels":
        return np.asarray(Y)
    if kind == "onehot":
        # A one-hot row times the column numbers (0, 1, ..., k-1) is the column of its 1: a
        # matrix-vector product, a few times faster than argmax along rows of a few numbers.
        Y = np.asarray(Y)
        return (Y @ np.arange(Y.shape[1])).astype(np.intp)
    return None


def labels(Y: Any) -> np.ndarray | None:
    """Class indices of the targets ``Y`` of whichever kind they are (``target_kind``), or
    None for non-class targets."""
    return labels_of(Y, target_kind(Y))


def chance(labels: np.ndarray | None) -> float | None:
    """The accuracy of always guessing the most common of these class indices (``labels_of``;
    None: not classes)."""
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
