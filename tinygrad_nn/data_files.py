"""The datasets read from files: the bundled UCI digits, MNIST from the user's own files, and
the user's own CSV tables.

Nothing is downloaded.  Every error names the file and what is wrong with it (for a CSV, the
line and the column); a missing file raises ``FileNotFoundError``, anything else ``ValueError``.
``tinygrad_nn.data`` hands these names on (``tn.data.load_mnist`` is ``load_mnist`` here).

* ``load_digits`` -- the 8x8 UCI handwritten digits, shipped with the package.
* ``load_mnist`` -- MNIST from the user's own IDX or CSV files.
* ``load_csv`` -- the user's own table: a CSV with a header, numeric features, a class column.
* ``load_csv_inputs`` -- samples to predict: such a table (its class column optional), or rows
  of numbers without a header.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import zlib
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["CsvInputs", "CsvTable", "FloatArray", "IntArray", "load_csv", "load_csv_inputs",
           "load_digits", "load_mnist"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
    numbered = _csv_rows(p, fn)
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


class CsvInputs(NamedTuple):
    """Samples read by ``load_csv_inputs``: features X (N, F); the feature columns' names and the
    target column's cells when the file has a header (and that column), else None."""

    X: FloatArray
    features: list[str] | None
    labels: list[str] | None


def load_csv_inputs(path: str | os.PathLike[str], target: str | None = None) -> CsvInputs:
    """Samples to predict, from a CSV file in the form ``load_csv`` reads or without a header.

    When the first line has a cell that is not a number, it is a header naming the columns, as
    ``load_csv`` reads it: every column but ``target`` is a feature, and ``target`` (optional
    here: new samples have no class yet) gives ``labels``.  Otherwise every line is a sample
    and every column a number.  The same reader as ``load_csv``: blank lines skipped, every
    feature a finite number, errors naming the file, the line and the column.
    """
    fn = "load_csv_inputs"
    p = Path(path)
    numbered = _csv_rows(p, fn)
    if not numbered:
        raise ValueError(f"{fn}: {p} is empty; expected one sample per line")
    first = numbered[0][1]
    header = [name.strip() for name in first] if not all(map(_is_number, first)) else None
    rows = numbered[1:] if header else numbered
    if not rows:
        raise ValueError(f"{fn}: {p} has a header but no rows of data")
    t = header.index(target) if header and target in header else None
    columns = header or [str(j) for j in range(1, len(first) + 1)]
    features = [name for i, name in enumerate(columns) if i != t]
    X = np.empty((len(rows), len(features)), dtype=np.float64)
    labels: list[str] = []
    for r, (line, row) in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"{fn}: {p} line {line} has {len(row)} fields, the first line "
                             f"{len(columns)}")
        if t is not None:
            labels.append(row[t].strip())
        for j, cell in enumerate(cell for i, cell in enumerate(row) if i != t):
            X[r, j] = _feature(cell, fn, p, line, features[j])
    return CsvInputs(X, features if header else None, labels if t is not None else None)


def _csv_rows(p: Path, fn: str) -> list[tuple[int, list[str]]]:
    """The file's non-blank rows with their line numbers; errors name ``fn`` and the file."""
    if not p.is_file():
        raise FileNotFoundError(f"{fn}: no such file: {str(p)!r}")
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            return [(reader.line_num, row) for row in reader
                    if any(cell.strip() for cell in row)]         # blank lines skipped
    except UnicodeDecodeError:
        raise ValueError(f"{fn}: {p} is not a text (UTF-8) CSV file") from None
    except csv.Error as exc:
        raise ValueError(f"{fn}: {p} is not a valid CSV file: {exc}") from None


def _is_number(cell: str) -> bool:
    """True for a cell that reads as a number (NaN and infinity included)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


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
