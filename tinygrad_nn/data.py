"""Data utilities: minibatching, one-hot labels, splits, bundled and user datasets, toy sets.

Everything here is plain NumPy and independent of the engine (it shares only the argument
checks of ``tinygrad_nn.validation``). Randomness always comes from a ``np.random.Generator``
built from the ``rng`` argument (an int seed, a Generator, or None for fresh OS entropy); the
global NumPy RNG is never used, so the same seed always gives the same result.

Contents
--------
* ``DataLoader`` -- iterate over shuffled minibatches ``(xb, yb)``.
* ``one_hot`` -- class indices to one-hot rows.
* ``train_test_split`` -- random (optionally stratified) train/test split.
* ``load_digits`` -- the 8x8 UCI handwritten digits, shipped with the package.
* ``load_mnist`` -- MNIST from the user's own IDX or CSV files.
* ``load_csv`` -- the user's own table: a CSV with a header, numeric features, a class column.
* ``make_xor``, ``make_moons``, ``make_spirals``, ``make_circles`` --
  seeded 2-D toy classification sets.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import zlib
from collections.abc import Iterator, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .validation import RngLike, make_rng, positive_int, show_value

__all__ = [
    "CsvTable",
    "DataLoader",
    "load_csv",
    "load_digits",
    "load_mnist",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
    "one_hot",
    "train_test_split",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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

    @property
    def n_samples(self) -> int:
        """Number of samples N in the dataset."""
        return int(self.X.shape[0])

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
        """Yield ``(X[idx], Y[idx])`` for consecutive ``batch_size`` slices of ``order``."""
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield self.X[idx], (None if self.Y is None else self.Y[idx])

    def state_dict(self) -> dict[str, Any]:
        """Where the shuffling stands: ``{"rng": the Generator's bit-generator state}`` (JSON)."""
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue the shuffling from ``state_dict()``: the next epoch draws the order it would
        have drawn then.  A state of another kind of generator is refused, changing nothing."""
        fn = "DataLoader.load_state_dict"
        bit_generator = self.rng.bit_generator
        kind = type(bit_generator).__name__
        saved = state.get("rng") if isinstance(state, Mapping) and set(state) == {"rng"} else None
        if not isinstance(saved, Mapping) or saved.get("bit_generator") != kind:
            raise ValueError(f"{fn}: expected {{'rng': <a {kind} state>}} from state_dict(), "
                             f"got {show_value(state)[:80]}")
        before = bit_generator.state
        try:
            bit_generator.state = dict(saved)
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            bit_generator.state = before
            raise ValueError(f"{fn}: not a valid {kind} state: {exc}") from None

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


# --------------------------------------------------------------------------- load_digits


def load_digits(flatten: bool = True, scale: bool = True) -> tuple[FloatArray, IntArray]:
    """Load the 1,797 8x8 UCI handwritten digits bundled with the package as ``(X, y)``.

    Pixels are integers 0..16 (counts of "on" pixels in 4x4 blocks of a 32x32 bitmap).
    ``X`` is float64 of shape (1797, 64) -- each image read row by row -- or (1797, 8, 8)
    with ``flatten=False``; with ``scale=True`` it is divided by 16 so values lie in [0, 1].
    ``y`` holds int64 labels 0..9. Source: E. Alpaydin, C. Kaynak, UCI Machine Learning
    Repository, DOI 10.24432/C50P49, CC BY 4.0 (the same data as scikit-learn's
    ``load_digits``); see ``datasets/DIGITS_LICENSE.txt``.
    """
    resource = files("tinygrad_nn") / "datasets" / "digits.npz"
    with resource.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
        images = np.asarray(npz["images"])
        labels = np.asarray(npz["labels"])
    if images.shape != (1797, 8, 8) or labels.shape != (1797,):
        raise RuntimeError(
            f"load_digits: bundled digits.npz is damaged: images {images.shape}, "
            f"labels {labels.shape}; expected (1797, 8, 8) and (1797,)"
        )
    X = images.astype(np.float64)
    if scale:
        X /= 16.0
    if flatten:
        X = X.reshape(X.shape[0], 64)
    return X, labels.astype(np.int64)


# --------------------------------------------------------------------------- load_mnist

IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (count, rows, cols)
IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (count)
_GZIP_MAGIC = b"\x1f\x8b"
_MNIST_PREFIX = {"train": "train", "test": "t10k"}
_MNIST_PIXELS = 28 * 28


def _read_bytes(path: Path) -> bytes:
    """Read a file, transparently gunzipping it when it starts with the gzip magic bytes."""
    data = path.read_bytes()
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"load_mnist: {path} is a corrupt gzip file: {exc}") from exc


def _parse_idx(data: bytes, path: Path, magic: int, what: str) -> npt.NDArray[np.uint8]:
    """Parse an IDX file of unsigned bytes: 4-byte magic, big-endian uint32 dims, then data."""
    ndim = magic & 0xFF
    if len(data) < 4:
        raise ValueError(
            f"load_mnist: {path} is truncated: expected a 4-byte IDX magic number, "
            f"found {len(data)} bytes"
        )
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ValueError(
            f"load_mnist: {path} has bad magic number 0x{found:08X}; "
            f"expected 0x{magic:08X} for an IDX {what} file"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"load_mnist: {path} is truncated: expected a {header}-byte IDX header, "
            f"found {len(data)} bytes"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(dims)
    found_bytes = len(data) - header
    unit = "pixel" if what == "images" else "label"
    if found_bytes < expected:
        raise ValueError(
            f"load_mnist: {path} is truncated: expected {expected} {unit} bytes, "
            f"found {found_bytes}"
        )
    if found_bytes > expected:
        raise ValueError(
            f"load_mnist: {path} has {found_bytes - expected} unexpected bytes after the "
            f"{expected} {unit} bytes its header {dims} announces"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _load_idx(path: Path, magic: int, what: str) -> npt.NDArray[np.uint8]:
    """Read (gunzipping if needed) and parse one IDX file."""
    return _parse_idx(_read_bytes(path), path, magic, what)


def _pair(
    images: npt.NDArray[np.uint8],
    images_path: Path,
    labels: npt.NDArray[np.uint8],
    labels_path: Path,
) -> tuple[FloatArray, IntArray]:
    """Check the counts match and return (X (N, rows*cols) scaled p / 255, y int64)."""
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"load_mnist: {images_path} has {images.shape[0]} images but "
            f"{labels_path} has {labels.shape[0]} labels"
        )
    X = images.reshape(images.shape[0], -1).astype(np.float64) / 255.0
    return X, labels.astype(np.int64)


def _mnist_from_idx(images_path: Path, labels_path: Path) -> tuple[FloatArray, IntArray]:
    """Load an IDX images/labels pair."""
    images = _load_idx(images_path, IDX_IMAGES_MAGIC, "images")
    labels = _load_idx(labels_path, IDX_LABELS_MAGIC, "labels")
    return _pair(images, images_path, labels, labels_path)


def _idx_names(prefix: str, part: str) -> list[str]:
    """Standard file names, e.g. train-images-idx3-ubyte[.gz] (and the train-images.idx3-ubyte
    spelling some mirrors use)."""
    idx = "idx3" if part == "images" else "idx1"
    names = [f"{prefix}-{part}-{idx}-ubyte", f"{prefix}-{part}.{idx}-ubyte"]
    return [name + ext for name in names for ext in ("", ".gz")]


def _find_file(directory: Path, names: list[str]) -> Path:
    """Return the first of ``names`` that exists in ``directory``."""
    for name in names:
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(
        f"load_mnist: no {names[0]} file in {directory} (looked for {', '.join(names)})"
    )


def _labels_beside(images_path: Path) -> Path:
    """Find the labels file next to an images file by the standard naming scheme."""
    stem = images_path.name.removesuffix(".gz")
    for old, new in (("-images-idx3-", "-labels-idx1-"), ("-images.idx3-", "-labels.idx1-")):
        if old in stem:
            base = stem.replace(old, new)
            return _find_file(images_path.parent, [base, base + ".gz"])
    raise FileNotFoundError(
        f"load_mnist: cannot find the labels file for {images_path}: its name does not follow "
        f"the standard '<prefix>-images-idx3-ubyte' pattern, so pass the directory instead"
    )


def _csv_header_lines(lines: list[str]) -> int:
    """Return 1 if the first non-blank line is a header (has a non-numeric cell), else 0."""
    for line in lines:
        if line.strip():
            try:
                [float(cell) for cell in line.split(",")]
            except ValueError:
                return 1
            return 0
    return 0


def _diagnose_csv(lines: list[str], path: Path, skip: int, width: int) -> None:
    """Raise a ValueError pointing at the first malformed CSV row, if any."""
    seen = 0
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        seen += 1
        if seen <= skip:
            continue
        cells = line.split(",")
        if len(cells) != width:
            raise ValueError(
                f"load_mnist: {path} line {lineno} has {len(cells)} values, expected "
                f"{width} (label,p0,...,p{width - 2})"
            )
        for col, cell in enumerate(cells, start=1):
            try:
                float(cell)
            except ValueError:
                raise ValueError(
                    f"load_mnist: {path} line {lineno}, column {col}: {cell.strip()!r} "
                    f"is not a number"
                ) from None


def _check_integers(values: FloatArray, low: int, high: int, path: Path, what: str) -> None:
    """Raise ValueError unless every value is a whole number in [low, high]."""
    ok = (values >= low) & (values <= high) & (values == np.round(values))
    if not ok.all():
        bad = values[~ok][0].item()
        raise ValueError(f"load_mnist: {path} has {what} {bad!r}; expected integers {low}..{high}")


def _parse_csv_table(data_lines: list[str]) -> FloatArray:
    """Parse comma-separated numbers; integers first (several times faster), then floats."""
    try:
        table = np.loadtxt(data_lines, delimiter=",", dtype=np.int64, ndmin=2, comments=None)
    except ValueError:
        return np.loadtxt(data_lines, delimiter=",", dtype=np.float64, ndmin=2, comments=None)
    return table.astype(np.float64)


def _mnist_from_csv(text: str, path: Path) -> tuple[FloatArray, IntArray]:
    """Parse rows ``label,p0,...,p783`` (optional header row) into (X in [0, 1], y int64)."""
    width = _MNIST_PIXELS + 1
    lines = text.splitlines()
    skip = _csv_header_lines(lines)
    data_lines = [line for line in lines if line.strip()][skip:]
    if not data_lines:
        raise ValueError(f"load_mnist: {path} contains no data rows")
    try:
        table = _parse_csv_table(data_lines)
    except ValueError as exc:
        _diagnose_csv(lines, path, skip, width)
        raise ValueError(f"load_mnist: {path} is not a valid MNIST CSV file: {exc}") from exc
    if table.shape[1] != width:
        _diagnose_csv(lines, path, skip, width)
        raise ValueError(
            f"load_mnist: {path} has rows of {table.shape[1]} values, expected {width}"
        )
    labels, pixels = table[:, 0], table[:, 1:]
    _check_integers(labels, 0, 9, path, "label")
    _check_integers(pixels, 0, 255, path, "pixel value")
    return pixels / 255.0, labels.astype(np.int64)


def _looks_like_text(data: bytes) -> bool:
    """True if the first bytes decode as ASCII without NULs (CSV rather than binary IDX)."""
    head = data[:4096].removeprefix(b"\xef\xbb\xbf")
    try:
        head.decode("ascii")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def _mnist_from_file(path: Path) -> tuple[FloatArray, IntArray]:
    """Load a single file: IDX images (labels found beside it) or a CSV, chosen by content."""
    data = _read_bytes(path)
    if data[:2] == b"\x00\x00" or not _looks_like_text(data):
        if data[:4] == IDX_LABELS_MAGIC.to_bytes(4, "big"):
            raise ValueError(
                f"load_mnist: {path} is an IDX labels file; pass the images file "
                f"(or the directory that holds both)"
            )
        images = _parse_idx(data, path, IDX_IMAGES_MAGIC, "images")
        labels_path = _labels_beside(path)
        labels = _load_idx(labels_path, IDX_LABELS_MAGIC, "labels")
        return _pair(images, path, labels, labels_path)
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    return _mnist_from_csv(text, path)


def load_mnist(path: str | os.PathLike[str], kind: str = "train") -> tuple[FloatArray, IntArray]:
    """Load MNIST from your own files as ``(X, y)``; nothing is downloaded.

    ``path`` may be

    * a directory holding the standard IDX files: ``train-images-idx3-ubyte`` and
      ``train-labels-idx1-ubyte`` for ``kind="train"``, ``t10k-images-idx3-ubyte`` and
      ``t10k-labels-idx1-ubyte`` for ``kind="test"`` (each optionally ``.gz``);
    * a single IDX images file; its labels file is found beside it by the standard name
      (``kind`` is then ignored);
    * a CSV file of rows ``label,p0,...,p783``, with an optional header row (``kind`` is
      ignored).

    Gzip compression is detected from the file's magic bytes, not its extension. IDX
    headers are checked (magic 0x00000803 for images, 0x00000801 for labels, big-endian
    uint32 sizes). Returns ``X`` float64 of shape (N, 784) with pixels scaled as
    ``p / 255`` into [0, 1], and ``y`` int64 labels. Malformed files raise ValueError and
    missing files FileNotFoundError, each naming the file and the problem.
    """
    if kind not in _MNIST_PREFIX:
        raise ValueError(f"load_mnist: kind must be 'train' or 'test', got {kind!r}")
    p = Path(path)
    if p.is_dir():
        prefix = _MNIST_PREFIX[kind]
        images = _find_file(p, _idx_names(prefix, "images"))
        labels = _find_file(p, _idx_names(prefix, "labels"))
        return _mnist_from_idx(images, labels)
    if p.is_file():
        return _mnist_from_file(p)
    raise FileNotFoundError(f"load_mnist: no such file or directory: {p}")


# --------------------------------------------------------------------------- the user's CSV


class CsvTable(NamedTuple):
    """A CSV table as ``load_csv`` reads it: features X (N, F), class indices y (N,), the
    feature columns' names and the class names (y = k is ``classes[k]``)."""

    X: FloatArray
    y: IntArray
    features: list[str]
    classes: list[str]


def load_csv(path: str | os.PathLike[str], target: str) -> CsvTable:
    """The user's own data: a CSV file whose first line names the columns, one sample a row.

    Every column but ``target`` is a feature and must hold numbers (no empty cell, no NaN or
    infinity); ``target`` holds the class of each row, numbers or words: the classes are its
    distinct values, sorted (numerically when they are all numbers), as indices 0, 1, ...
    Raises ``FileNotFoundError`` for a missing file and ``ValueError``, naming the file, the
    row and the column, for anything else.
    """
    fn = "load_csv"
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{fn}: no such file: {str(p)!r}")
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            numbered = [(reader.line_num, row) for row in reader
                        if any(cell.strip() for cell in row)]     # blank lines skipped
    except UnicodeDecodeError:
        raise ValueError(f"{fn}: {p} is not a text (UTF-8) CSV file") from None
    except csv.Error as exc:
        raise ValueError(f"{fn}: {p} is not a valid CSV file: {exc}") from None
    rows = [row for _, row in numbered]
    if not rows:
        raise ValueError(f"{fn}: {p} is empty; expected a header line naming the columns, "
                         f"then one sample per line")
    header = [name.strip() for name in rows[0]]
    if target not in header:
        raise ValueError(f"{fn}: {p} has no column {target!r}; its header names "
                         f"{', '.join(repr(h) for h in header)}")
    if header.count(target) > 1:
        raise ValueError(f"{fn}: {p} has {header.count(target)} columns named {target!r}")
    if len(header) < 2:
        raise ValueError(f"{fn}: {p} has only the column {target!r}; expected at least one "
                         f"feature column beside it")
    if len(rows) < 2:
        raise ValueError(f"{fn}: {p} has a header but no rows of data")
    t = header.index(target)
    features = [h for i, h in enumerate(header) if i != t]
    X = np.empty((len(rows) - 1, len(features)), dtype=np.float64)
    labels: list[str] = []
    for r, (line, row) in enumerate(numbered[1:]):
        if len(row) != len(header):
            raise ValueError(f"{fn}: {p} line {line} has {len(row)} fields, the header "
                             f"{len(header)}")
        label = row[t].strip()
        if not label:
            raise ValueError(f"{fn}: {p} line {line}: the target column {target!r} is empty")
        labels.append(label)
        for j, cell in enumerate(cell for i, cell in enumerate(row) if i != t):
            X[r, j] = _feature(cell, fn, p, line, features[j])
    names = sorted(set(labels), key=_class_order(labels))
    if len(names) < 2:
        raise ValueError(f"{fn}: {p}: the target column {target!r} holds one class only "
                         f"({names[0]!r}); a classifier needs at least two")
    index = {name: k for k, name in enumerate(names)}
    y = np.array([index[label] for label in labels], dtype=np.int64)
    return CsvTable(X, y, features, names)


def _feature(cell: str, fn: str, path: Path, line: int, column: str) -> float:
    """One feature cell as a finite number, or a ValueError naming the line and the column."""
    text = cell.strip()
    if not text:
        raise ValueError(f"{fn}: {path} line {line}, column {column!r} is empty; every feature "
                         f"must be a number")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{fn}: {path} line {line}, column {column!r}: {text!r} is not a "
                         f"number; feature columns must be numeric (encode categories as "
                         f"numbers, or drop the column)") from None
    if not math.isfinite(value):
        raise ValueError(f"{fn}: {path} line {line}, column {column!r} is {text!r}; features "
                         f"must be finite numbers (no NaN or infinity)")
    return value


def _class_order(labels: list[str]) -> Any:
    """Sort key for class names: numeric order when every name is a number, else text order."""
    try:
        [float(label) for label in labels]
    except ValueError:
        return str
    return float


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
