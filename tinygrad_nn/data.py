"""Data utilities: minibatching, one-hot labels, splits, bundled and user datasets, toy sets.

Everything here is plain NumPy and independent of the engine (it shares only the argument
checks of ``tinygrad_nn.validation``). Randomness always comes from a ``np.random.Generator``
built from the ``rng`` argument (an int seed, a Generator, or None for fresh OS entropy); the
global NumPy RNG is never used, so the same seed always gives the same result.

Contents
--------
* ``DataLoader`` -- iterate over shuffled minibatches ``(xb, yb)``.
* ``one_hot`` -- class indices to one-hot rows; ``target_kind`` tells such rows (or labels).
* ``train_test_split`` -- random (optionally stratified) train/test split.
* ``load_digits`` -- the 8x8 UCI handwritten digits, shipped with the package.
* ``load_mnist`` -- MNIST from the user's own IDX or CSV files.
* ``load_csv`` -- the user's own table: a CSV with a header, numeric features, a class column.
* ``load_csv_inputs`` -- samples to predict: such a table, or rows of numbers without a header.
  (These four are read from files: they live in ``tinygrad_nn.data_files``.)
* ``make_xor``, ``make_moons``, ``make_spirals``, ``make_circles`` --
  seeded 2-D toy classification sets.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .data_files import (
    CsvInputs,
    CsvTable,
    FloatArray,
    IntArray,
    load_csv,
    load_csv_inputs,
    load_digits,
    load_mnist,
)
from .validation import RngLike, make_rng, positive_int, set_rng_state, show_value

__all__ = [
    "CsvInputs",
    "CsvTable",
    "DataLoader",
    "load_csv",
    "load_csv_inputs",
    "load_digits",
    "load_mnist",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
    "one_hot",
    "target_kind",
    "train_test_split",
]


# --------------------------------------------------------------------------- validation helpers


def _check_noise(noise: object, fn: str) -> float:
    """Return ``noise`` as a float if it is a finite number >= 0 (TypeError/ValueError)."""
    if isinstance(noise, (bool, np.bool_)) or not isinstance(
        noise, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{fn}: noise must be a non-negative number, got {show_value(noise)}")
    value = float(noise)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{fn}: noise must be a non-negative number, got {show_value(noise)}")
    return value


def _as_samples(data: object, name: str, fn: str) -> npt.NDArray[Any]:
    """Convert ``data`` to a numeric array with samples along axis 0, or raise a clear error."""
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{fn}: {name} must be array-like numeric data (e.g. a NumPy array), "
            f"got {type(data).__name__} that NumPy cannot convert: {exc}"
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{fn}: {name} must contain numbers (bool, int or float), got dtype {arr.dtype} "
            f"from {type(data).__name__}"
        )
    if arr.ndim == 0:
        raise ValueError(
            f"{fn}: {name} must have at least one dimension (samples along axis 0), "
            f"got a scalar {arr.item()!r}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{fn}: {name} is empty (0 samples); expected at least 1 sample")
    return arr


def _check_same_length(X: npt.NDArray[Any], Y: npt.NDArray[Any], fn: str) -> None:
    """Raise ValueError if X and Y do not have the same number of samples."""
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"{fn}: X has {X.shape[0]} samples but Y has {Y.shape[0]}")


# --------------------------------------------------------------------------- DataLoader


class DataLoader:
    """Iterable of minibatches ``(xb, yb)``, reshuffled at the start of every epoch.

    One epoch is one ``for xb, yb in loader`` loop. Each ``iter(loader)`` draws a fresh
    permutation of the sample indices from the loader's Generator (when ``shuffle``), then
    cuts it into consecutive slices of ``batch_size``; the last batch is smaller when
    ``batch_size`` does not divide N, unless ``drop_last`` drops it. So every sample appears
    exactly once per epoch (at most once with ``drop_last``).

    ``len(loader)`` is the number of batches per epoch: ``ceil(N / batch_size)``, or
    ``N // batch_size`` with ``drop_last`` (which can be 0 when N < batch_size).

    ``X`` and ``Y`` are numeric arrays (or nested lists) with samples along axis 0; they are
    kept by reference (``np.asarray``), and each batch is a fresh copy ``X[idx]``.

    If ``Y`` is None the loader still yields 2-tuples, ``(xb, None)``, so the loop can always
    be written ``for xb, yb in loader``.

    ``loader.target_kind`` is ``target_kind(Y)`` ('labels', 'onehot' or None), found once per
    ``Y``: assigning another array to ``loader.Y`` finds it again, changing ``Y`` in place does
    not (``fit`` reads it to count the accuracy, every epoch).

    ``rng`` may be an int seed, a ``np.random.Generator`` or None (fresh entropy). The
    Generator is created once, so two loaders built with the same seed produce the same
    sequence of epochs, while successive epochs of one loader differ.  ``state_dict()`` and
    ``load_state_dict()`` save and restore where that sequence stands (the Generator's state),
    so training resumed from a checkpoint sees the epochs it would have seen.
    """

    def __init__(
        self,
        X: npt.ArrayLike,
        Y: npt.ArrayLike | None = None,
        batch_size: int = 32,
        shuffle: bool = True,
        drop_last: bool = False,
        rng: RngLike = None,
    ) -> None:
        """Validate the data and options; see the class docstring."""
        self.X = _as_samples(X, "X", "DataLoader")
        self.Y = None if Y is None else _as_samples(Y, "Y", "DataLoader")
        if self.Y is not None:
            _check_same_length(self.X, self.Y, "DataLoader")
        self.batch_size = positive_int(batch_size, "batch_size", "DataLoader")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"DataLoader: {name} must be True or False, got {show_value(flag)}")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = make_rng(rng, "DataLoader")
        self._kind_found: tuple[Any, str | None] | None = None    # (the Y it is of, its kind)

    @property
    def n_samples(self) -> int:
        """Number of samples N in the dataset."""
        return int(self.X.shape[0])

    @property
    def target_kind(self) -> str | None:
        """``target_kind(Y)``, found once per ``Y`` (again when another array is assigned)."""
        if self._kind_found is None or self._kind_found[0] is not self.Y:
            self._kind_found = (self.Y, target_kind(self.Y))
        return self._kind_found[1]

    def __len__(self) -> int:
        """Number of batches per epoch: ceil(N / batch_size), or N // batch_size if drop_last."""
        if self.drop_last:
            return self.n_samples // self.batch_size
        return (self.n_samples + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[npt.NDArray[Any], npt.NDArray[Any] | None]]:
        """Start an epoch: draw the order now, then yield the batches lazily."""
        n = self.n_samples
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        return self._batches(order)

    def _batches(
        self, order: npt.NDArray[np.intp]
    ) -> Iterator[tuple[npt.NDArray[Any], npt.NDArray[Any] | None]]:
        """Yield ``(X[idx], Y[idx])`` for consecutive ``batch_size`` slices of ``order``.

        The rows are gathered by ``take(idx, axis=0)``: the same fresh array as ``X[idx]``, made
        without the general indexing machinery (about a third of its time for a digits batch)."""
        X, Y, size = self.X, self.Y, self.batch_size
        for b in range(len(self)):
            idx = order[b * size : (b + 1) * size]
            yield X.take(idx, axis=0), (None if Y is None else Y.take(idx, axis=0))

    def state_dict(self) -> dict[str, Any]:
        """Where the shuffling stands: ``{"rng": the Generator's bit-generator state}`` (JSON)."""
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue the shuffling from ``state_dict()``: the next epoch draws the order it would
        have drawn then.  A state of another kind of generator is refused, changing nothing."""
        fn = "DataLoader.load_state_dict"
        kind = type(self.rng.bit_generator).__name__
        saved = state.get("rng") if isinstance(state, Mapping) and set(state) == {"rng"} else None
        if not isinstance(saved, Mapping) or saved.get("bit_generator") != kind:
            raise ValueError(f"{fn}: expected {{'rng': <a {kind} state>}} from state_dict(), "
                             f"got {show_value(state)[:80]}")
        set_rng_state(self.rng, saved, fn)

    def __repr__(self) -> str:
        """Short summary of the loader's configuration."""
        return (
            f"DataLoader(n_samples={self.n_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})"
        )


# --------------------------------------------------------------------------- one_hot / split


def _as_class_indices(labels: npt.ArrayLike, fn: str) -> IntArray:
    """Convert 1-D integer (or integral-float) labels to int64, or raise a clear error."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(
            f"{fn}: labels must be a 1-D array of class indices, got shape {arr.shape}"
        )
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
        if bad.size == 0:
            return arr.astype(np.int64)
        i = int(bad[0])
        raise ValueError(f"{fn}: labels must be integers, got {arr[i].item()!r} at index {i}")
    raise ValueError(f"{fn}: labels must be integers, got dtype {arr.dtype}")


def one_hot(labels: npt.ArrayLike, n: int) -> FloatArray:
    """Encode class indices as one-hot rows: ``out[i, labels[i]] = 1``, all else 0; shape (N, n).

    ``labels`` is a 1-D sequence of integers in ``[0, n)`` (floats with whole values such as
    ``2.0`` are accepted). Returns a float64 array, ready to compare with softmax outputs.
    """
    n = positive_int(n, "n", "one_hot")
    idx = _as_class_indices(labels, "one_hot")
    bad = np.flatnonzero((idx < 0) | (idx >= n))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"one_hot: labels must be integers in [0, {n}), got {int(idx[i])} at index {i}"
        )
    out = np.zeros((idx.shape[0], n), dtype=np.float64)
    out[np.arange(idx.shape[0]), idx] = 1.0
    return out


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


def _test_count(test_size: object, n: int) -> int:
    """Number of test samples: ceil(test_size * N) for a fraction, or the count itself."""
    fn = "train_test_split"
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, (bool, np.bool_)):
        count = int(test_size)
        if not 1 <= count <= n - 1:
            raise ValueError(
                f"{fn}: test_size as a count must be between 1 and {n - 1} "
                f"(N={n} samples), got {count}"
            )
        return count
    if isinstance(test_size, (float, np.floating)):
        frac = float(test_size)
        if not 0.0 < frac < 1.0:
            raise ValueError(
                f"{fn}: test_size as a fraction must be in (0, 1), got {show_value(test_size)}"
            )
        count = math.ceil(frac * n)
        if not 1 <= count <= n - 1:
            raise ValueError(
                f"{fn}: test_size={show_value(test_size)} of N={n} samples leaves "
                f"{count} test and {n - count} train samples; both must be at least 1"
            )
        return count
    raise TypeError(
        f"{fn}: test_size must be a fraction in (0, 1) or an integer count, "
        f"got {show_value(test_size)}"
    )


def _stratified_test_counts(class_sizes: IntArray, n_test: int) -> IntArray:
    """Per-class test counts proportional to class size, summing exactly to ``n_test``.

    Each class c gets floor(n_c * n_test / N); the few samples left over go to the classes
    with the largest fractional remainders (largest-remainder rounding).
    """
    n = int(class_sizes.sum())
    exact = class_sizes * n_test / n
    counts = np.floor(exact).astype(np.int64)
    leftover = n_test - int(counts.sum())
    by_remainder = np.argsort(-(exact - counts), kind="stable")
    counts[by_remainder[:leftover]] += 1
    return counts


def _split_indices(
    Y: npt.NDArray[Any], n_test: int, stratify: bool, gen: np.random.Generator
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Return shuffled (train_idx, test_idx)."""
    n = Y.shape[0]
    if not stratify:
        perm = gen.permutation(n)
        return perm[n_test:], perm[:n_test]
    # Classes are the distinct rows of Y, so both label vectors and one-hot matrices work.
    _, classes = np.unique(Y.reshape(n, -1), axis=0, return_inverse=True)
    classes = classes.reshape(-1)
    sizes = np.bincount(classes).astype(np.int64)
    test_counts = _stratified_test_counts(sizes, n_test)
    train_parts, test_parts = [], []
    for c, k in enumerate(test_counts):
        members = gen.permutation(np.flatnonzero(classes == c))
        test_parts.append(members[:k])
        train_parts.append(members[k:])
    train = gen.permutation(np.concatenate(train_parts))
    test = gen.permutation(np.concatenate(test_parts))
    return train, test


def train_test_split(
    X: npt.ArrayLike,
    Y: npt.ArrayLike,
    test_size: float = 0.2,
    rng: RngLike = None,
    stratify: bool = False,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    """Randomly split into ``(X_train, X_test, Y_train, Y_test)``.

    ``test_size`` is a fraction in (0, 1) -- the test set gets ``ceil(test_size * N)``
    samples -- or an integer count. Both parts are shuffled. With ``stratify=True`` every
    class (each distinct value, or distinct row for one-hot ``Y``) is split in the same
    proportion, so class frequencies in both parts match the full data up to rounding.
    The same ``rng`` seed always gives the same split.
    """
    fn = "train_test_split"
    Xa = _as_samples(X, "X", fn)
    Ya = _as_samples(Y, "Y", fn)
    _check_same_length(Xa, Ya, fn)
    n = Xa.shape[0]
    if n < 2:
        raise ValueError(f"{fn}: need at least 2 samples to split, got {n}")
    n_test = _test_count(test_size, n)
    if not isinstance(stratify, (bool, np.bool_)):
        raise TypeError(f"{fn}: stratify must be True or False, got {show_value(stratify)}")
    train, test = _split_indices(Ya, n_test, bool(stratify), make_rng(rng, fn))
    return Xa[train], Xa[test], Ya[train], Ya[test]


# --------------------------------------------------------------------------- synthetic sets


def _split_evenly(n: int, parts: int) -> list[int]:
    """Sizes of ``parts`` groups summing to n; the first ``n % parts`` get one extra."""
    return [n // parts + (1 if k < n % parts else 0) for k in range(parts)]


def _finish(
    X: npt.NDArray[Any], y: npt.NDArray[Any], noise: float, gen: np.random.Generator
) -> tuple[FloatArray, IntArray]:
    """Add Gaussian noise N(0, noise^2) to every coordinate and fix the dtypes."""
    X = np.asarray(X, dtype=np.float64)
    if noise > 0:
        X = X + gen.normal(0.0, noise, size=X.shape)
    return X, np.asarray(y, dtype=np.int64)


def make_xor(n: int = 200, noise: float = 0.1, rng: RngLike = None) -> tuple[FloatArray, IntArray]:
    """XOR problem: points near the corners (a, b) of the unit square, label ``y = a XOR b``.

    Sample i sits at corner ``i % 4`` in the order (0,0), (0,1), (1,0), (1,1), plus Gaussian
    noise of standard deviation ``noise``; classes are balanced when n is a multiple of 4.
    ``make_xor(n=4, noise=0)`` is exactly the XOR truth table:
    X = [[0,0],[0,1],[1,0],[1,1]], y = [0,1,1,0]. Returns X float64 (n, 2), y int64.
    """
    n = positive_int(n, "n", "make_xor")
    noise = _check_noise(noise, "make_xor")
    gen = make_rng(rng, "make_xor")
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    which = np.arange(n) % 4
    X = corners[which]
    y = X[:, 0].astype(np.int64) ^ X[:, 1].astype(np.int64)
    return _finish(X, y, noise, gen)


def make_moons(
    n: int = 200, noise: float = 0.1, rng: RngLike = None
) -> tuple[FloatArray, IntArray]:
    """Two interleaving half circles.

    Class 0: ``(cos t, sin t)``; class 1: ``(1 - cos t, 0.5 - sin t)``, with t evenly spaced
    in [0, pi], plus Gaussian noise of standard deviation ``noise``. Class 0 gets
    ``ceil(n / 2)`` points, class 1 the rest; rows are grouped by class.
    Returns X float64 (n, 2), y int64.
    """
    n = positive_int(n, "n", "make_moons")
    noise = _check_noise(noise, "make_moons")
    gen = make_rng(rng, "make_moons")
    n0, n1 = _split_evenly(n, 2)
    t0, t1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n1)
    outer = np.column_stack([np.cos(t0), np.sin(t0)])
    inner = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    y = np.repeat([0, 1], [n0, n1])
    return _finish(np.vstack([outer, inner]), y, noise, gen)


def make_spirals(
    n: int = 200, noise: float = 0.1, classes: int = 2, rng: RngLike = None
) -> tuple[FloatArray, IntArray]:
    """Interleaved spiral arms, one per class.

    Arm k has radius r evenly spaced in [0.1, 1] and angle ``theta = 2*pi*k/classes + 3*pi*r``
    (1.5 turns), giving points ``(r cos theta, r sin theta)`` plus Gaussian noise of standard
    deviation ``noise``. The n points are split as evenly as possible (earlier classes get the
    extra ones); rows are grouped by class. Returns X float64 (n, 2), y int64 in [0, classes).
    """
    n = positive_int(n, "n", "make_spirals")
    noise = _check_noise(noise, "make_spirals")
    classes = positive_int(classes, "classes", "make_spirals")
    if classes < 2:
        raise ValueError(f"make_spirals: classes must be at least 2, got {classes}")
    if n < classes:
        raise ValueError(
            f"make_spirals: n must be at least classes={classes} (one point per arm), got {n}"
        )
    gen = make_rng(rng, "make_spirals")
    arms, labels = [], []
    for k, m in enumerate(_split_evenly(n, classes)):
        r = np.linspace(0.1, 1.0, m)
        theta = 2.0 * np.pi * k / classes + 3.0 * np.pi * r
        arms.append(np.column_stack([r * np.cos(theta), r * np.sin(theta)]))
        labels.append(np.full(m, k))
    return _finish(np.vstack(arms), np.concatenate(labels), noise, gen)


def make_circles(
    n: int = 200, noise: float = 0.05, factor: float = 0.5, rng: RngLike = None
) -> tuple[FloatArray, IntArray]:
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor`` (0 < f < 1).

    Points are ``radius * (cos t, sin t)`` with t evenly spaced in [0, 2*pi), plus Gaussian
    noise of standard deviation ``noise``. Class 0 gets ``ceil(n / 2)`` points, class 1 the
    rest; rows are grouped by class. Returns X float64 (n, 2), y int64.
    """
    n = positive_int(n, "n", "make_circles")
    noise = _check_noise(noise, "make_circles")
    if isinstance(factor, (bool, np.bool_)) or not isinstance(
        factor, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"make_circles: factor must be a number in (0, 1), got {show_value(factor)}")
    if not 0.0 < float(factor) < 1.0:
        raise ValueError(
            f"make_circles: factor must be a number in (0, 1), got {show_value(factor)}")
    gen = make_rng(rng, "make_circles")
    n0, n1 = _split_evenly(n, 2)
    t0 = np.linspace(0.0, 2.0 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2.0 * np.pi, n1, endpoint=False)
    outer = np.column_stack([np.cos(t0), np.sin(t0)])
    inner = float(factor) * np.column_stack([np.cos(t1), np.sin(t1)])
    y = np.repeat([0, 1], [n0, n1])
    return _finish(np.vstack([outer, inner]), y, noise, gen)
