"""The data of the ``train`` and ``predict`` commands: datasets by name, the user's own CSV
table (``train --data my.csv --target label``), the train/test split, and input files (.npy or
.csv) for ``predict --data``.

Bad input raises ``UsageError`` (exit status 2 with the usage line) or ``FileNotFoundError``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import data
from ..errors import UsageError

__all__ = ["DATASETS", "TEST_SIZE", "load_dataset", "load_table", "read_inputs", "split"]

DATASETS = ("digits", "mnist", "xor", "moons", "spirals", "circles", "csv")
TEST_SIZE = 0.2


def split(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """The stratified train/test split used by ``train`` (reproduced by ``predict``)."""
    return tuple(data.train_test_split(X, y, test_size=TEST_SIZE, rng=seed, stratify=True))


def load_dataset(name: str, path: str | None, seed: int) -> tuple[np.ndarray, ...]:
    """(X_train, X_test, y_train, y_test) for a dataset name."""
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
        return split(X, y, seed)
    if path:
        raise UsageError(f"--data is only used with --dataset mnist (got --dataset {name}), "
                         f"or with --target COLUMN for a CSV table of your own")
    if name == "digits":
        X, y = data.load_digits()
    else:
        makers: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
            "xor": data.make_xor, "moons": data.make_moons, "spirals": data.make_spirals,
            "circles": data.make_circles}
        X, y = makers[name](n=400, rng=seed)
    return split(X, y, seed)


def load_table(path: str, target: str, seed: int) -> tuple[Any, ...]:
    """(X_train, X_test, y_train, y_test, feature names, class names) of the user's CSV table
    (``data.load_csv``: a header, numeric features, the classes in column ``target``)."""
    try:
        table = data.load_csv(path, target)
    except ValueError as exc:
        raise UsageError(f"--data: {exc}") from None
    return (*split(table.X, table.y, seed), table.features, table.classes)


def read_inputs(spec: str, width: int | None, meta: dict[str, Any]
                 ) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(X, labels or None, description) for ``predict --data``: the digits' test split, an .npy
    array (N, features) or a CSV with one sample per row (``data.load_csv_inputs``): with a
    header, as ``train --data`` reads it, the checkpoint's target column optional; without one,
    numbers alone, optionally with the label first.

    ``width`` is the number of features the model takes (None: any); ``meta`` is the
    checkpoint's metadata, which says whether the model was trained on the digits and with
    which seed (so the test split it did not see can be rebuilt).
    """
    if spec == "digits":
        X, y = data.load_digits()
        if width is not None and width != X.shape[1]:
            raise UsageError(f"--data digits: the model takes {width} features per sample, "
                             f"the digits have {X.shape[1]}; pass --data PATH.npy or PATH.csv")
        if meta.get("dataset") == "digits" and isinstance(meta.get("seed"), int):
            _, X_test, _, y_test = split(X, y, meta["seed"])
            return X_test, y_test, f"digits test split ({len(X_test)} samples)"
        return X, y, f"all {len(X)} digits (may include training samples)"
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"--data: no such file: {spec!r} (or use --data digits)")
    if path.suffix.lower() == ".csv":
        try:
            table = data.load_csv_inputs(path, meta.get("target"))
        except ValueError as exc:
            raise UsageError(f"--data: {exc}") from None
        if table.features is not None:
            return _named_columns(spec, table, width, meta)
        arr = table.X
    elif path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise UsageError(f"--data {spec!r}: cannot read numbers: {exc}") from None
    else:
        raise UsageError(f"--data must be 'digits', a .npy or a .csv file, got {spec!r}")
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


def _named_columns(spec: str, table: data.CsvInputs, width: int | None, meta: dict[str, Any]
                   ) -> tuple[np.ndarray, np.ndarray | None, str]:
    """``read_inputs`` for a CSV with a header, the form ``train --data`` reads: the features are
    the columns other than the checkpoint's target; its classes label the rows that have one."""
    X, features = table.X, table.features or []
    if width is not None and X.shape[1] != width:
        target = meta.get("target")
        raise UsageError(f"--data {spec!r}: the model takes {width} features per sample, the "
                         f"file has {X.shape[1]} feature columns ({', '.join(features)})"
                         + (f" beside {target!r}" if table.labels is not None else ""))
    classes = meta.get("classes")
    if table.labels is None or not isinstance(classes, list):
        return X, None, f"{spec} ({len(X)} samples)"
    index = {str(name): k for k, name in enumerate(classes)}
    unknown = sorted({label for label in table.labels if label not in index})
    if unknown:
        raise UsageError(f"--data {spec!r}: column {meta.get('target')!r} holds "
                         f"{', '.join(map(repr, unknown[:5]))}, not among the classes the model "
                         f"was trained on ({', '.join(map(repr, classes))})")
    labels = np.array([index[label] for label in table.labels], dtype=np.int64)
    return X, labels, f"{spec} ({len(X)} labelled samples)"
