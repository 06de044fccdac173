"""Tests for tinygrad_nn.value: the Value type, backward() and its bookkeeping."""

from __future__ import annotations

import numpy as np

from tinygrad_nn import Value


def test_leaf_grads_are_writable_arrays_owned_by_each_leaf() -> None:
    # add hands the same g to both parents, and sum's g is a read-only broadcast view:
    # the stored .grad must still be a fresh, writable array per leaf.
    a = Value(np.ones(3))
    b = Value(np.ones(3))
    (a + b).sum().backward()
    assert a.grad is not b.grad
    assert a.grad.flags.writeable and b.grad.flags.writeable
    a.grad *= 2.0
    np.testing.assert_array_equal(a.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(b.grad, [1.0, 1.0, 1.0])


def test_leaf_grad_does_not_alias_the_seed() -> None:
    x = Value(np.ones(3))
    seed = np.array([1.0, 2.0, 3.0])
    x.backward(seed)               # the root is the leaf itself
    x.grad[0] = 99.0
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])


def test_grad_dtype_follows_the_leaf() -> None:
    x32 = Value(np.ones(3, dtype=np.float32))
    c64 = Value(np.full(3, 2.0))
    (x32 * c64).sum().backward()
    assert x32.grad.dtype == np.float32
    assert c64.grad.dtype == np.float64
    np.testing.assert_array_equal(x32.grad, [2.0, 2.0, 2.0])
