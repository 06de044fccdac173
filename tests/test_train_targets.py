"""``train.targets``: the kind of a dataset's targets (class labels, one-hot rows, or neither),
and the accuracy of guessing the most common class."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinygrad_nn.train.targets import chance, labels, labels_of, target_kind


@pytest.mark.parametrize(("Y", "kind"), [
    (np.array([0, 2, 1]), "labels"),
    (np.eye(3)[[0, 2, 1, 1]], "onehot"),
    (np.eye(3, dtype=bool)[[2, 0]], "onehot"),
    (np.eye(3, dtype=np.int8)[[1, 1]], "onehot"),
    (np.array([[2.0, -1.0], [0.0, 1.0]]), None),           # rows sum to 1, not one 1 each
    (np.array([[0.5, 0.5], [0.0, 1.0]]), None),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), None),             # a row of zeros
    (np.array([[1.0, 1.0], [0.0, 1.0]]), None),             # a row of two ones
    (np.array([[np.nan, 1.0], [0.0, 1.0]]), None),
    (np.array([[1.0], [1.0]]), None),                        # one column: not classes
    (np.array([[0.25, 0.75]]), None),
    (np.array([0.5, 1.0]), None),
    (None, None),
])
def test_target_kind(Y: Any, kind: str | None) -> None:
    assert target_kind(Y) == kind


def test_chance_is_the_share_of_the_most_common_class() -> None:
    assert chance(np.array([0, 1, 1, 2])) == 0.5
    assert chance(np.array([3, 3, 3])) == 1.0
    assert chance(None) is None                              # not classes
    assert chance(np.array([], dtype=int)) is None
    assert chance(np.array([0, -1])) is None                 # not class indices


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int8, np.uint8, bool])
def test_labels_of_one_hot_rows_are_the_columns_of_their_ones(dtype: Any) -> None:
    labels = labels_of(np.eye(4, dtype=dtype)[[3, 0, 2, 1, 1]], "onehot")
    assert labels is not None and labels.dtype == np.intp
    np.testing.assert_array_equal(labels, [3, 0, 2, 1, 1])
    np.testing.assert_array_equal(labels_of([[0, 1], [1, 0]], "onehot"), [1, 0])  # lists too
    np.testing.assert_array_equal(labels_of(np.array([2, 0]), "labels"), [2, 0])
    assert labels_of(np.ones((2, 2)), None) is None


def test_labels_finds_the_kind_then_the_class_indices() -> None:
    np.testing.assert_array_equal(labels(np.eye(3)[[2, 0, 1]]), [2, 0, 1])
    np.testing.assert_array_equal(labels(np.array([1, 1, 0])), [1, 1, 0])
    assert labels(np.array([[0.5, 0.5], [0.0, 1.0]])) is None     # not classes
    assert labels(None) is None
