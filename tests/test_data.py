"""Tests for tinygrad_nn.data: DataLoader, one_hot, splits, bundled digits, MNIST, toy sets."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinygrad_nn.data import (
    DataLoader,
    load_digits,
    load_mnist,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
    one_hot,
    train_test_split,
)

REPO = Path(__file__).resolve().parent.parent


def untyped(value: object) -> Any:
    """Pass a deliberately wrong-typed argument without a type checker complaint."""
    return value


def epoch(loader: DataLoader) -> list[list[int]]:
    """The batches of one epoch as lists of X values (X is 1-D in these tests)."""
    return [xb.tolist() for xb, _ in loader]


# --------------------------------------------------------------------------- DataLoader


@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_covers_every_sample_exactly_once(drop_last: bool) -> None:
    X = np.arange(10)
    loader = DataLoader(X, X * 10, batch_size=3, drop_last=drop_last, rng=0)
    for _ in range(3):
        seen_x, seen_y = [], []
        for xb, yb in loader:
            assert yb is not None
            np.testing.assert_array_equal(yb, xb * 10)  # rows stay paired
            seen_x.extend(xb.tolist())
            seen_y.extend(yb.tolist())
        assert len(seen_x) == len(set(seen_x))
        if drop_last:
            assert len(seen_x) == 9 and set(seen_x) <= set(range(10))
        else:
            assert sorted(seen_x) == list(range(10))


@pytest.mark.parametrize(
    ("drop_last", "shapes"),
    [(False, [(4, 2, 3), (4, 2, 3), (2, 2, 3)]), (True, [(4, 2, 3), (4, 2, 3)])],
)
def test_loader_batch_shapes(drop_last: bool, shapes: list[tuple[int, ...]]) -> None:
    X = np.zeros((10, 2, 3))
    Y = np.zeros((10, 5))
    loader = DataLoader(X, Y, batch_size=4, drop_last=drop_last, rng=1)
    batches = list(loader)
    assert [xb.shape for xb, _ in batches] == shapes
    assert [yb.shape for _, yb in batches if yb is not None] == [(s[0], 5) for s in shapes]


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "expected"),
    [
        (10, 3, False, 4),
        (10, 3, True, 3),
        (9, 3, False, 3),
        (9, 3, True, 3),
        (2, 5, False, 1),
        (2, 5, True, 0),
        (1, 1, False, 1),
    ],
)
def test_loader_len(n: int, batch_size: int, drop_last: bool, expected: int) -> None:
    loader = DataLoader(np.arange(n), batch_size=batch_size, drop_last=drop_last, rng=0)
    assert len(loader) == expected
    assert len(list(loader)) == expected


def test_loader_reshuffles_between_epochs() -> None:
    loader = DataLoader(np.arange(50), batch_size=50, rng=3)
    first, second = epoch(loader), epoch(loader)
    assert sorted(first[0]) == sorted(second[0]) == list(range(50))
    assert first != second


def test_loader_same_seed_same_order() -> None:
    a = DataLoader(np.arange(30), batch_size=4, rng=42)
    b = DataLoader(np.arange(30), batch_size=4, rng=42)
    c = DataLoader(np.arange(30), batch_size=4, rng=np.random.default_rng(42))
    for _ in range(3):
        ea = epoch(a)
        assert ea == epoch(b) == epoch(c)


def test_loader_different_seed_different_order() -> None:
    a = DataLoader(np.arange(30), batch_size=4, rng=1)
    b = DataLoader(np.arange(30), batch_size=4, rng=2)
    assert epoch(a) != epoch(b)


def test_loader_without_shuffle_keeps_order() -> None:
    loader = DataLoader(np.arange(7), np.arange(7), batch_size=3, shuffle=False)
    assert epoch(loader) == [[0, 1, 2], [3, 4, 5], [6]]
    assert epoch(loader) == [[0, 1, 2], [3, 4, 5], [6]]


def test_loader_without_y_yields_none() -> None:
    batches = list(DataLoader(np.arange(5), batch_size=2, shuffle=False))
    assert [yb for _, yb in batches] == [None, None, None]
    assert [xb.tolist() for xb, _ in batches] == [[0, 1], [2, 3], [4]]


def test_loader_accepts_lists_and_draws_order_at_iter() -> None:
    loader = DataLoader([[1.0, 2.0], [3.0, 4.0]], [0, 1], batch_size=1, shuffle=False)
    assert [xb.tolist() for xb, _ in loader] == [[[1.0, 2.0]], [[3.0, 4.0]]]
    shuffled = DataLoader(np.arange(20), batch_size=20, rng=5)
    it1, it2 = iter(shuffled), iter(shuffled)  # each iter() is a new epoch, drawn immediately
    assert next(it1)[0].tolist() != next(it2)[0].tolist()


def test_loader_never_touches_global_rng() -> None:
    np.random.seed(123)
    before = np.random.get_state(legacy=False)["state"]["key"].copy()
    list(DataLoader(np.arange(100), batch_size=7, rng=0))
    list(DataLoader(np.arange(100), batch_size=7))
    train_test_split(np.arange(10), np.arange(10), rng=0)
    make_spirals(50, rng=0)
    np.testing.assert_array_equal(np.random.get_state(legacy=False)["state"]["key"], before)


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        (
            {"X": np.zeros(100), "Y": np.zeros(99)},
            ValueError,
            "DataLoader: X has 100 samples but Y has 99",
        ),
        (
            {"X": np.zeros(5), "batch_size": 0},
            ValueError,
            "DataLoader: batch_size must be a positive integer, got 0",
        ),
        (
            {"X": np.zeros(5), "batch_size": -3},
            ValueError,
            "DataLoader: batch_size must be a positive integer, got -3",
        ),
        (
            {"X": np.zeros(5), "batch_size": 2.5},
            TypeError,
            "DataLoader: batch_size must be a positive integer, got 2.5",
        ),
        (
            {"X": np.zeros(5), "batch_size": True},
            TypeError,
            "DataLoader: batch_size must be a positive integer, got True",
        ),
        (
            {"X": ["a", "b"]},
            TypeError,
            "DataLoader: X must contain numbers (bool, int or float), got dtype <U1",
        ),
        (
            {"X": [[1.0, 2.0], [3.0]]},
            ValueError,
            "DataLoader: X must be array-like numeric data",
        ),
        ({"X": np.zeros((0, 3))}, ValueError, "DataLoader: X is empty (0 samples)"),
        ({"X": 3.0}, ValueError, "DataLoader: X must have at least one dimension"),
        (
            {"X": np.zeros(3), "Y": ["x", "y", "z"]},
            TypeError,
            "DataLoader: Y must contain numbers",
        ),
        (
            {"X": np.zeros(3), "rng": "seed"},
            TypeError,
            "DataLoader: rng must be an int seed, a numpy.random.Generator or None, got str",
        ),
        (
            {"X": np.zeros(3), "rng": -1},
            ValueError,
            "DataLoader: rng seed must be a non-negative integer, got -1",
        ),
        (
            {"X": np.zeros(3), "shuffle": "yes"},
            TypeError,
            "DataLoader: shuffle must be True or False, got 'yes'",
        ),
    ],
)
def test_loader_errors(kwargs: dict[str, object], exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=re.escape(message)):
        DataLoader(**kwargs)  # type: ignore[arg-type]


def test_loader_knows_its_targets_kind_and_finds_it_again_for_a_new_y() -> None:
    labels = np.array([0, 2, 1, 1])
    loader = DataLoader(np.zeros((4, 2)), one_hot(labels, 3), batch_size=2, rng=0)
    assert loader.target_kind == "onehot"
    assert loader.target_kind == "onehot"                 # the second read: the one found
    loader.Y = labels
    assert loader.target_kind == "labels"
    loader.Y = np.full((4, 3), 1 / 3)                     # rows of probabilities: not classes
    assert loader.target_kind is None
    loader.Y = None
    assert loader.target_kind is None
    assert DataLoader(np.zeros(3)).target_kind is None


def test_loader_repr() -> None:
    loader = DataLoader(np.arange(10), batch_size=4, rng=0)
    assert repr(loader) == (
        "DataLoader(n_samples=10, batch_size=4, shuffle=True, drop_last=False, batches=3)"
    )


# --------------------------------------------------------------------------- one_hot


def test_one_hot_values() -> None:
    out = one_hot([2, 0, 1, 2], 3)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0]), 2), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(one_hot(np.array([3], dtype=np.uint8), 5), [[0, 0, 0, 1, 0]])
    assert one_hot([], 4).shape == (0, 4)


@pytest.mark.parametrize(
    ("labels", "n", "exc", "message"),
    [
        ([0, 3, 1], 3, ValueError, "one_hot: labels must be integers in [0, 3), got 3 at index 1"),
        ([-1], 2, ValueError, "one_hot: labels must be integers in [0, 2), got -1 at index 0"),
        ([0.0, 1.5], 3, ValueError, "one_hot: labels must be integers, got 1.5 at index 1"),
        (["a"], 3, ValueError, "one_hot: labels must be integers, got dtype <U1"),
        (
            [[0, 1]],
            3,
            ValueError,
            "one_hot: labels must be a 1-D array of class indices, got shape (1, 2)",
        ),
        ([0], 0, ValueError, "one_hot: n must be a positive integer, got 0"),
        ([0], 2.0, TypeError, "one_hot: n must be a positive integer, got 2.0"),
    ],
)
def test_one_hot_errors(labels: object, n: object, exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=re.escape(message)):
        one_hot(labels, n)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- train_test_split


def test_split_sizes_disjoint_and_paired() -> None:
    X = np.arange(50).reshape(25, 2)
    Y = np.arange(25) * 10
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.2, rng=0)
    assert X_train.shape == (20, 2) and X_test.shape == (5, 2)
    assert Y_train.shape == (20,) and Y_test.shape == (5,)
    train_ids, test_ids = set(X_train[:, 0] // 2), set(X_test[:, 0] // 2)
    assert not train_ids & test_ids
    assert train_ids | test_ids == set(range(25))
    np.testing.assert_array_equal(Y_train, X_train[:, 0] // 2 * 10)
    np.testing.assert_array_equal(Y_test, X_test[:, 0] // 2 * 10)


def test_split_fraction_rounds_test_up_and_accepts_count() -> None:
    X, Y = np.arange(10), np.arange(10)
    assert [len(a) for a in train_test_split(X, Y, test_size=0.25, rng=0)] == [7, 3, 7, 3]
    assert [len(a) for a in train_test_split(X, Y, test_size=4, rng=0)] == [6, 4, 6, 4]


def test_split_is_seeded() -> None:
    X, Y = np.arange(40), np.arange(40)
    a = train_test_split(X, Y, rng=7)
    b = train_test_split(X, Y, rng=np.random.default_rng(7))
    c = train_test_split(X, Y, rng=8)
    for left, right in zip(a, b, strict=True):
        np.testing.assert_array_equal(left, right)
    assert a[1].tolist() != c[1].tolist()


def test_split_stratify_keeps_class_proportions() -> None:
    Y = np.repeat([0, 1, 2], [60, 30, 10])
    X = np.arange(100)
    for seed in range(5):
        _, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.2, rng=seed, stratify=True)
        assert np.bincount(Y_test).tolist() == [12, 6, 2]
        assert np.bincount(Y_train).tolist() == [48, 24, 8]
        np.testing.assert_array_equal(Y_test, Y[X_test])


def test_split_stratify_rounds_to_exact_total_and_handles_one_hot() -> None:
    Y = np.repeat([0, 1, 2], [5, 3, 3])  # 11 samples, 3 test: exact shares 1.36, 0.82, 0.82
    _, _, _, Y_test = train_test_split(np.arange(11), Y, test_size=3, rng=0, stratify=True)
    assert np.bincount(Y_test, minlength=3).tolist() == [1, 1, 1]
    Y1 = one_hot(np.repeat([0, 1], [80, 20]), 2)
    _, _, Y_train, Y_test = train_test_split(np.arange(100), Y1, 0.25, rng=1, stratify=True)
    assert Y_test.sum(axis=0).tolist() == [20.0, 5.0]
    assert Y_train.sum(axis=0).tolist() == [60.0, 15.0]


@pytest.mark.parametrize(
    ("test_size", "exc", "message"),
    [
        (0.0, ValueError, "train_test_split: test_size as a fraction must be in (0, 1), got 0.0"),
        (1.0, ValueError, "train_test_split: test_size as a fraction must be in (0, 1), got 1.0"),
        (1.5, ValueError, "train_test_split: test_size as a fraction must be in (0, 1), got 1.5"),
        (0, ValueError, "train_test_split: test_size as a count must be between 1 and 9"),
        (
            10,
            ValueError,
            "train_test_split: test_size as a count must be between 1 and 9 (N=10 samples), got 10",
        ),
        (
            0.99,
            ValueError,
            "train_test_split: test_size=0.99 of N=10 samples leaves 10 test and 0 train samples",
        ),
        (
            "half",
            TypeError,
            "train_test_split: test_size must be a fraction in (0, 1) or an "
            "integer count, got 'half'",
        ),
    ],
)
def test_split_test_size_errors(test_size: object, exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=re.escape(message)):
        train_test_split(np.arange(10), np.arange(10), test_size=test_size)  # type: ignore[arg-type]


def test_split_other_errors() -> None:
    with pytest.raises(
        ValueError, match=re.escape("train_test_split: X has 10 samples but Y has 9")
    ):
        train_test_split(np.arange(10), np.arange(9))
    with pytest.raises(ValueError, match=re.escape("train_test_split: need at least 2 samples")):
        train_test_split(np.arange(1), np.arange(1))
    with pytest.raises(ValueError, match=re.escape("train_test_split: X is empty (0 samples)")):
        train_test_split(np.zeros((0, 2)), np.zeros(0))


# --------------------------------------------------------------------------- load_digits

DIGITS_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
DIGITS_PIXEL_SUM = 561718  # sum of all 1797 * 64 raw pixel values (0..16)
DIGITS_POSITION_SUM = 17660653  # sum over images of sum_j j * pixel_j: catches shuffled pixels
DIGITS_LABEL_POSITION_SUM = 7264791  # sum_i i * y_i: catches reordered samples


def test_load_digits_shapes_dtypes_and_range() -> None:
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, np.round(X * 16))  # multiples of 1/16
    assert sorted(set(y.tolist())) == list(range(10))


def test_load_digits_known_counts_and_checksums() -> None:
    X, y = load_digits(scale=False)
    assert np.bincount(y).tolist() == DIGITS_CLASS_COUNTS
    raw = X.astype(np.int64)
    np.testing.assert_array_equal(raw, X)
    assert raw.min() == 0 and raw.max() == 16
    assert int(raw.sum()) == DIGITS_PIXEL_SUM
    assert int((raw * np.arange(64)).sum()) == DIGITS_POSITION_SUM
    assert int((y * np.arange(1797)).sum()) == DIGITS_LABEL_POSITION_SUM
    assert raw[0, :16].tolist() == [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]
    assert y[:10].tolist() == list(range(10))


def test_load_digits_unflattened_matches_flat() -> None:
    images, y_img = load_digits(flatten=False)
    flat, y_flat = load_digits()
    assert images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), flat)
    np.testing.assert_array_equal(y_img, y_flat)
    raw, _ = load_digits(flatten=False, scale=False)
    np.testing.assert_array_equal(raw / 16, images)


def test_digits_file_has_no_pickles_and_license_ships() -> None:
    folder = files("tinygrad_nn") / "datasets"
    with (folder / "digits.npz").open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["images", "labels"]
        assert npz["images"].dtype == np.uint8 and npz["images"].shape == (1797, 8, 8)
    text = (folder / "DIGITS_LICENSE.txt").read_text(encoding="utf-8")
    assert "CC BY 4.0" in text and "10.24432/C50P49" in text and "Alpaydin" in text


def test_make_digits_script_reproduces_shipped_data(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    out = tmp_path / "digits.npz"
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_digits.py"), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"pixel sum {DIGITS_PIXEL_SUM}" in result.stdout
    shipped = files("tinygrad_nn") / "datasets" / "digits.npz"
    with (
        np.load(out, allow_pickle=False) as new,
        shipped.open("rb") as fh,
        np.load(fh, allow_pickle=False) as old,
    ):
        for key in ("images", "labels"):
            np.testing.assert_array_equal(new[key], old[key])


# --------------------------------------------------------------------------- load_mnist

N_IMG = 5
LABELS = [3, 1, 4, 1, 5]


def known_images(n: int = N_IMG) -> np.ndarray:
    """Images whose pixel (k, r, c) is (31*k + 28*r + c) % 256."""
    k, r, c = np.meshgrid(np.arange(n), np.arange(28), np.arange(28), indexing="ij")
    return ((31 * k + 28 * r + c) % 256).astype(np.uint8)


def idx_bytes(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    """An IDX file: big-endian magic, big-endian uint32 dims, raw bytes."""
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    return header + payload


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    """Write bytes, gzip-compressed if asked (whatever the file name says)."""
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def images_file() -> bytes:
    return idx_bytes(0x803, (N_IMG, 28, 28), known_images().tobytes())


def labels_file(labels: list[int] = LABELS) -> bytes:
    return idx_bytes(0x801, (len(labels),), bytes(labels))


def write_pair(folder: Path, prefix: str = "train", gz: bool = False, ext: str = "") -> Path:
    """Write <prefix>-images-idx3-ubyte<ext> and its labels file; return the images path."""
    folder.mkdir(parents=True, exist_ok=True)
    images = write(folder / f"{prefix}-images-idx3-ubyte{ext}", images_file(), gz)
    write(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels_file(), gz)
    return images


def assert_known(X: np.ndarray, y: np.ndarray) -> None:
    assert X.shape == (N_IMG, 784) and X.dtype == np.float64
    assert y.dtype == np.int64 and y.tolist() == LABELS
    np.testing.assert_array_equal(X, known_images().reshape(N_IMG, 784) / 255.0)
    assert X[1, 0] == 31 / 255 and X[0, 29] == 29 / 255


@pytest.mark.parametrize(("gz", "ext"), [(False, ""), (True, ".gz"), (True, ""), (False, ".gz")])
def test_mnist_directory_form(tmp_path: Path, gz: bool, ext: str) -> None:
    # (True, "") and (False, ".gz"): compression is detected from magic bytes, not the name
    write_pair(tmp_path, gz=gz, ext=ext)
    assert_known(*load_mnist(tmp_path))
    assert_known(*load_mnist(str(tmp_path), kind="train"))


def test_mnist_directory_test_kind_uses_t10k(tmp_path: Path) -> None:
    write_pair(tmp_path, prefix="t10k", gz=True, ext=".gz")
    assert_known(*load_mnist(tmp_path, kind="test"))
    with pytest.raises(FileNotFoundError, match=re.escape("train-images-idx3-ubyte")):
        load_mnist(tmp_path, kind="train")


def test_mnist_dotted_file_names(tmp_path: Path) -> None:
    write(tmp_path / "train-images.idx3-ubyte", images_file())
    write(tmp_path / "train-labels.idx1-ubyte", labels_file())
    assert_known(*load_mnist(tmp_path))
    assert_known(*load_mnist(tmp_path / "train-images.idx3-ubyte"))


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_single_images_file(tmp_path: Path, gz: bool) -> None:
    images = write_pair(tmp_path, gz=gz, ext=".gz" if gz else "")
    assert_known(*load_mnist(images))
    assert_known(*load_mnist(images, kind="test"))  # kind is ignored for a single file


def csv_text(header: bool) -> str:
    pixels = known_images().reshape(N_IMG, 784)
    rows = [",".join(str(v) for v in [label, *row]) for label, row in zip(LABELS, pixels)]
    head = ["label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))]
    return "\n".join((head if header else []) + rows) + "\n"


@pytest.mark.parametrize(("header", "gz"), [(False, False), (True, False), (True, True)])
def test_mnist_csv(tmp_path: Path, header: bool, gz: bool) -> None:
    path = write(tmp_path / "mnist_train.csv", csv_text(header).encode(), gz)
    assert_known(*load_mnist(path))


def test_mnist_csv_single_row(tmp_path: Path) -> None:
    path = write(tmp_path / "one.csv", b"7," + b",".join([b"255"] * 784) + b"\r\n")
    X, y = load_mnist(path)
    assert X.shape == (1, 784) and np.all(X == 1.0) and y.tolist() == [7]


def test_mnist_csv_float_formatted_integers(tmp_path: Path) -> None:
    path = write(tmp_path / "floats.csv", ("2.0," + ",".join(["51.0"] * 784) + "\n").encode())
    X, y = load_mnist(path)
    assert y.tolist() == [2] and np.all(X == 0.2)
    half = write(tmp_path / "half.csv", ("2," + ",".join(["0.5"] * 784) + "\n").encode())
    with expect(ValueError, f"load_mnist: {half} has pixel value 0.5; expected integers 0..255"):
        load_mnist(half)


def expect(
    exc: type[Exception], message: str
) -> AbstractContextManager[pytest.ExceptionInfo[Exception]]:
    """pytest.raises matching the message literally."""
    return pytest.raises(exc, match=re.escape(message))


def test_mnist_bad_magic(tmp_path: Path) -> None:
    write_pair(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte"
    write(images, idx_bytes(0x804, (N_IMG, 28, 28), known_images().tobytes()))
    with expect(
        ValueError,
        f"load_mnist: {images} has bad magic number 0x00000804; expected "
        "0x00000803 for an IDX images file",
    ):
        load_mnist(tmp_path)
    with expect(ValueError, f"load_mnist: {images} has bad magic number 0x00000804"):
        load_mnist(images)
    labels = write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(0x803, (5,), bytes(5)))
    write(images, images_file())
    with expect(
        ValueError,
        f"load_mnist: {labels} has bad magic number 0x00000803; expected "
        "0x00000801 for an IDX labels file",
    ):
        load_mnist(tmp_path)


def test_mnist_binary_garbage_single_file(tmp_path: Path) -> None:
    path = write(tmp_path / "weird.bin", b"\xde\xad\xbe\xef" + bytes(range(256)))
    with expect(ValueError, f"load_mnist: {path} has bad magic number 0xDEADBEEF"):
        load_mnist(path)


def test_mnist_truncated_images(tmp_path: Path) -> None:
    write_pair(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte"
    write(images, images_file()[: 16 + 1000], gz=True)
    with expect(
        ValueError, f"load_mnist: {images} is truncated: expected 3920 pixel bytes, found 1000"
    ):
        load_mnist(tmp_path)
    write(images, images_file()[:10])
    with expect(
        ValueError,
        f"load_mnist: {images} is truncated: expected a 16-byte IDX header, found 10 bytes",
    ):
        load_mnist(images)


def test_mnist_truncated_labels(tmp_path: Path) -> None:
    write_pair(tmp_path)
    labels = write(tmp_path / "train-labels-idx1-ubyte", labels_file()[:-2])
    with expect(ValueError, f"load_mnist: {labels} is truncated: expected 5 label bytes, found 3"):
        load_mnist(tmp_path)


def test_mnist_trailing_bytes(tmp_path: Path) -> None:
    write_pair(tmp_path)
    labels = write(tmp_path / "train-labels-idx1-ubyte", labels_file() + b"\x00\x00")
    with expect(ValueError, f"load_mnist: {labels} has 2 unexpected bytes after the 5 label"):
        load_mnist(tmp_path)


def test_mnist_count_mismatch(tmp_path: Path) -> None:
    images = write_pair(tmp_path)
    labels = write(tmp_path / "train-labels-idx1-ubyte", labels_file([3, 1, 4, 1]))
    with expect(ValueError, f"load_mnist: {images} has 5 images but {labels} has 4 labels"):
        load_mnist(tmp_path)


def test_mnist_corrupt_gzip(tmp_path: Path) -> None:
    write_pair(tmp_path)
    images = write(tmp_path / "train-images-idx3-ubyte", gzip.compress(images_file())[:200])
    with expect(ValueError, f"load_mnist: {images} is a corrupt gzip file"):
        load_mnist(tmp_path)


def test_mnist_labels_file_given_instead_of_images(tmp_path: Path) -> None:
    write_pair(tmp_path)
    labels = tmp_path / "train-labels-idx1-ubyte"
    with expect(ValueError, f"load_mnist: {labels} is an IDX labels file; pass the images file"):
        load_mnist(labels)


def test_mnist_csv_wrong_width(tmp_path: Path) -> None:
    lines = csv_text(header=True).splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]  # drop the last pixel of the second data row
    path = write(tmp_path / "bad.csv", "\n".join(lines).encode())
    with expect(
        ValueError, f"load_mnist: {path} line 3 has 784 values, expected 785 (label,p0,...,p783)"
    ):
        load_mnist(path)
    short = write(tmp_path / "short.csv", b"1,2,3\n4,5,6\n")
    with expect(ValueError, f"load_mnist: {short} line 1 has 3 values, expected 785"):
        load_mnist(short)


def test_mnist_csv_non_numeric_cell(tmp_path: Path) -> None:
    lines = csv_text(header=False).splitlines()
    cells = lines[1].split(",")
    cells[4] = "abc"
    lines[1] = ",".join(cells)
    path = write(tmp_path / "bad.csv", "\n".join(lines).encode())
    with expect(ValueError, f"load_mnist: {path} line 2, column 5: 'abc' is not a number"):
        load_mnist(path)


def test_mnist_csv_bad_values(tmp_path: Path) -> None:
    pixels = ",".join(["0"] * 783)
    path = write(tmp_path / "range.csv", f"1,{pixels},300\n".encode())
    with expect(ValueError, f"load_mnist: {path} has pixel value 300.0; expected integers 0..255"):
        load_mnist(path)
    path = write(tmp_path / "label.csv", f"12,{pixels},0\n".encode())
    with expect(ValueError, f"load_mnist: {path} has label 12.0; expected integers 0..9"):
        load_mnist(path)
    empty = write(tmp_path / "empty.csv", b"label,p0\n\n")
    with expect(ValueError, f"load_mnist: {empty} contains no data rows"):
        load_mnist(empty)


def test_mnist_missing_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with expect(FileNotFoundError, f"load_mnist: no such file or directory: {missing}"):
        load_mnist(missing)
    with expect(FileNotFoundError, f"load_mnist: no train-images-idx3-ubyte file in {tmp_path}"):
        load_mnist(tmp_path)
    write(tmp_path / "train-images-idx3-ubyte", images_file())
    with expect(FileNotFoundError, f"load_mnist: no train-labels-idx1-ubyte file in {tmp_path}"):
        load_mnist(tmp_path)
    with expect(FileNotFoundError, f"load_mnist: no train-labels-idx1-ubyte file in {tmp_path}"):
        load_mnist(tmp_path / "train-images-idx3-ubyte")
    odd = write(tmp_path / "my_images.bin", images_file())
    with expect(FileNotFoundError, f"load_mnist: cannot find the labels file for {odd}"):
        load_mnist(odd)


def test_mnist_bad_kind(tmp_path: Path) -> None:
    with expect(ValueError, "load_mnist: kind must be 'train' or 'test', got 'val'"):
        load_mnist(tmp_path, kind="val")


# --------------------------------------------------------------------------- synthetic sets

Maker = Callable[..., tuple[np.ndarray, np.ndarray]]
MAKERS: list[Maker] = [make_xor, make_moons, make_spirals, make_circles]


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("n", [2, 7, 200])
def test_synthetic_shapes_and_dtypes(make: Maker, n: int) -> None:
    X, y = make(n, rng=0)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.isfinite(X).all()


@pytest.mark.parametrize(
    ("make", "n", "counts"),
    [
        (make_xor, 200, [100, 100]),
        (make_xor, 6, [3, 3]),
        (make_moons, 201, [101, 100]),
        (make_circles, 200, [100, 100]),
        (make_spirals, 200, [100, 100]),
    ],
)
def test_synthetic_label_balance(make: Maker, n: int, counts: list[int]) -> None:
    _, y = make(n, rng=1)
    assert np.bincount(y).tolist() == counts


@pytest.mark.parametrize("make", [make_xor, make_moons, make_circles])
def test_synthetic_single_point(make: Maker) -> None:
    X, y = make(1, noise=0)
    assert X.shape == (1, 2) and y.tolist() == [0]


def test_spirals_classes_balance() -> None:
    _, y = make_spirals(301, classes=3, rng=0)
    assert np.bincount(y).tolist() == [101, 100, 100]


@pytest.mark.parametrize("make", MAKERS)
def test_synthetic_seeded(make: Maker) -> None:
    X1, y1 = make(50, rng=3)
    X2, y2 = make(50, rng=np.random.default_rng(3))
    X3, _ = make(50, rng=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_xor_truth_table() -> None:
    X, y = make_xor(n=4, noise=0)
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    assert y.tolist() == [0, 1, 1, 0]


def test_xor_noisy_points_stay_near_their_corner() -> None:
    X, y = make_xor(400, noise=0.1, rng=0)
    corners = np.round(X).astype(np.int64)
    np.testing.assert_array_equal(y, corners[:, 0] ^ corners[:, 1])
    assert 0.08 < np.std(X - np.round(X)) < 0.12


def test_noise_free_geometry() -> None:
    X, y = make_circles(40, noise=0, factor=0.3)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    X, y = make_moons(40, noise=0)
    np.testing.assert_allclose(np.hypot(X[y == 0, 0], X[y == 0, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1.0, X[y == 1, 1] - 0.5), 1.0)
    assert (X[y == 0, 1] >= -1e-12).all() and (X[y == 1, 1] <= 0.5 + 1e-12).all()
    X, y = make_spirals(30, noise=0, classes=3)
    for k in range(3):
        np.testing.assert_allclose(np.hypot(X[y == k, 0], X[y == k, 1]), np.linspace(0.1, 1, 10))


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (lambda: make_xor(0), ValueError, "make_xor: n must be a positive integer, got 0"),
        (
            lambda: make_moons(untyped(2.5)),
            TypeError,
            "make_moons: n must be a positive integer, got 2.5",
        ),
        (
            lambda: make_circles(10, noise=-1),
            ValueError,
            "make_circles: noise must be a non-negative number, got -1",
        ),
        (
            lambda: make_xor(10, noise=float("nan")),
            ValueError,
            "make_xor: noise must be a non-negative number, got nan",
        ),
        (
            lambda: make_moons(10, noise=untyped("big")),
            TypeError,
            "make_moons: noise must be a non-negative number, got 'big'",
        ),
        (
            lambda: make_spirals(10, classes=1),
            ValueError,
            "make_spirals: classes must be at least 2, got 1",
        ),
        (
            lambda: make_spirals(2, classes=3),
            ValueError,
            "make_spirals: n must be at least classes=3 (one point per arm), got 2",
        ),
        (
            lambda: make_circles(10, factor=1.0),
            ValueError,
            "make_circles: factor must be a number in (0, 1), got 1.0",
        ),
        (
            lambda: make_circles(10, factor=untyped("x")),
            TypeError,
            "make_circles: factor must be a number in (0, 1), got 'x'",
        ),
        (
            lambda: make_spirals(10, rng=untyped(1.5)),
            TypeError,
            "make_spirals: rng must be an int seed, a numpy.random.Generator or None, got float",
        ),
    ],
)
def test_synthetic_errors(call: Callable[[], object], exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=re.escape(message)):
        call()


def test_loader_state_dict_resumes_the_epoch_order() -> None:
    X = np.arange(20.0).reshape(10, 2)
    straight = DataLoader(X, batch_size=4, rng=7)
    epochs = [[xb.tolist() for xb, _ in straight] for _ in range(4)]
    first = DataLoader(X, batch_size=4, rng=7)
    for _ in range(2):
        list(first)
    state = json.loads(json.dumps(first.state_dict()))          # it is JSON, as checkpoints keep it
    other = DataLoader(X, batch_size=4, rng=123)
    other.load_state_dict(state)
    assert [[xb.tolist() for xb, _ in other] for _ in range(2)] == epochs[2:]


@pytest.mark.parametrize(("state", "message"), [
    ({"rng": {"bit_generator": "MT19937", "state": {}}}, r"expected \{'rng': <a PCG64 state>\}"),
    ({"rng": {"bit_generator": "PCG64", "state": 3}}, r"not a valid PCG64 state"),
    ({"seed": 3}, r"expected \{'rng': <a PCG64 state>\} from state_dict\(\), got \{'seed': 3\}"),
    ([1, 2], r"expected"),
])
def test_a_bad_loader_state_changes_nothing(state: object, message: str) -> None:
    loader = DataLoader(np.arange(10.0), batch_size=3, rng=1)
    before = loader.state_dict()
    with pytest.raises(ValueError, match=r"^DataLoader.load_state_dict: " + message):
        loader.load_state_dict(state)  # type: ignore[arg-type]
    assert loader.state_dict() == before


def test_loader_batches_are_fresh_copies_of_the_rows_of_each_slice_of_the_order() -> None:
    rng = np.random.default_rng(4)
    X = rng.random((11, 3, 2))[:, ::-1]                  # not contiguous
    Y = rng.integers(0, 5, 11)
    loader = DataLoader(X, Y, batch_size=4, rng=7)
    order = np.random.default_rng(7).permutation(11)
    for b, (xb, yb) in enumerate(loader):
        idx = order[4 * b:4 * (b + 1)]
        assert xb.tobytes() == X[idx].tobytes() and xb.dtype == X.dtype
        assert yb.tobytes() == Y[idx].tobytes() and yb.dtype == Y.dtype
        assert xb.flags.c_contiguous and not np.shares_memory(xb, X)
