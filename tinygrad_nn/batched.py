"""Reverse mode for many cotangents at once: the rows of a Jacobian in one walk of the graph.

``tn.jacobian(mode="rev")`` needs uᵀJ for every unit cotangent u = e_i, one per output entry.
Instead of one reverse pass per row, ``jacobian_rows`` walks the recorded graph once per chunk of
rows, and every ∂E/∂node it carries is a stack of B cotangents: an array of shape
``(B,) + node.shape``, row b being ∂⟨e_b, out⟩/∂node (JAX's ``vmap(vjp)``, PyTorch's
``jacobian(vectorize=True)``).  Each edge's step is the rule table's VJP, as in ``backward()``:

* an op in ``NATIVE`` has VJP rules that take the whole stack as they are written (element-wise
  formulas broadcast over the leading axis): the rule runs once for the B rows, and a
  broadcasting op's result is summed back to its input's shape with the row axis kept;
* every other op (softmax or a reshape that names its axes, indexing, linear, ...) runs its
  ordinary rule once per row, ``chain_rule_step`` on ``g[b]``, and the B results are stacked: the
  same derivative, B calls.  So do nodes on the scalar path (Python floats), whose rules are
  written for one float ``g``.

``tests/test_batched.py`` runs every op of the table both ways, so an op wrongly listed in
``NATIVE`` fails there.  A chunk holds at most ``CHUNK_ENTRIES`` numbers per stack: B is that
divided by the size of the largest node that carries a cotangent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .context import STATE, check_finite
from .graph import toposort
from .value import Value, chain_rule_step, rule_args

__all__ = ["CHUNK_ENTRIES", "NATIVE", "jacobian_rows", "pull_back_rows"]

CHUNK_ENTRIES = 2 ** 20
"""The most numbers one stack of cotangents holds (8 MiB in float64): B × the largest node's size
stays under it (at least one row per chunk)."""

NATIVE = frozenset({
    # element-wise unary ops: g · f'(x), with g of shape (B,) + x.shape
    "neg", "powc", "exp", "log", "sqrt", "abs", "tanh", "relu", "leaky_relu", "softplus", "clip",
    # element-wise binary ops (broadcasting): g · ∂ans/∂input, summed back keeping the row axis
    "add", "sub", "mul", "div", "pow", "where", "maximum", "minimum",
    # matrix products: the rules keep a stack of cotangents apart (ops._stack_of)
    "matmul",
    # reductions: the gradient spread back over the reduced axes, the stack in front
    "sum", "mean", "max", "min", "logsumexp", "var",
})
"""The ops whose VJP rules take a stack of cotangents (an extra leading axis on ``g``) as they
are written.  Not here: ``sigmoid`` and ``mse`` (their rules compute in place in the input's
shape), softmax, reshape, transpose, indexing, linear, the joins and the convolution ops
(their rules name axes or shapes of one ``g``): those run once per row."""


def jacobian_rows(out: Value, wrt: list[Value], chunk_entries: int | None = None
                  ) -> list[np.ndarray | None]:
    """∂out/∂x for every x in ``wrt``, as an array of shape ``(out.size,) + x.shape`` (row i is
    ∂out_i/∂x, out's entries taken in C order), or None where no gradient reaches x.

    The rows go through the graph in chunks of B at a time (``pull_back_rows``), B chosen so that
    a stack holds at most ``chunk_entries`` numbers (``CHUNK_ENTRIES`` by default).
    """
    order = toposort(out)
    leading = _leading_to(order, wrt)
    if out not in leading:                    # no input flows into the output
        return [None] * len(wrt)
    largest = max(_size(node) for node in order if node in leading)
    limit = CHUNK_ENTRIES if chunk_entries is None else chunk_entries
    per_chunk = max(1, limit // max(1, largest))
    chunks: list[list[Any]] = [[] for _ in wrt]
    for start in range(0, out.size, per_chunk):
        seed = _unit_rows(out, start, min(out.size, start + per_chunk))
        for pieces, g in zip(chunks, pull_back_rows(order, seed, wrt, leading)):
            pieces.append(g)
    return [None if not pieces or pieces[0] is None else np.concatenate(pieces)
            for pieces in chunks]


def pull_back_rows(order: list[Value], seed: np.ndarray, wrt: list[Value],
                   leading: set[Value] | None = None) -> list[np.ndarray | None]:
    """One reverse walk of ``order`` (``toposort(root)``, root last) carrying the B cotangents
    ``seed`` (shape ``(B,) + root.shape``): ∂⟨seed_b, root⟩/∂x for every x in ``wrt``, stacked
    (shape ``(B,) + x.shape``), or None where no gradient reaches x.  Sets no ``.grad``.

    Only the nodes in ``leading`` (``_leading_to(order, wrt)`` by default) get a stack: a model's
    parameters that the function uses are not differentiated."""
    if leading is None:
        leading = _leading_to(order, wrt)
    collect: dict[Value, Any] = dict.fromkeys(wrt)
    grads: dict[Value, Any] = {order[-1]: seed}
    for node in reversed(order):
        g = grads.pop(node, None)
        if g is None:                         # a constant: no gradient flows into it
            continue
        if node in collect:
            collect[node] = g
        if node.op is None:
            continue
        for i, parent in enumerate(node.parents):
            if parent in leading:
                local = _batched_step(node, i, g)
                total = grads.get(parent)
                grads[parent] = local if total is None else total + local
    return [collect[x] for x in wrt]


def _batched_step(node: Value, i: int, g: np.ndarray) -> np.ndarray:
    """``g_b · ∂node/∂parent_i`` for every row b of the stack ``g``: the rule table's VJP for
    input ``i``, in the shape ``(B,) + parent_i.shape``.  Native for the ops in ``NATIVE``
    (off the scalar path), row by row for the others."""
    assert node.op is not None, "_batched_step: a leaf has no rule"
    if node.op.name in NATIVE and type(node.data) is not float:
        return _native_step(node, i, g)
    return _step_row_by_row(node, i, g)


def _native_step(node: Value, i: int, g: np.ndarray) -> np.ndarray:
    """The op's VJP rule run once on the whole stack ``g`` (for an op whose rules take one);
    a broadcasting op's result summed back to the input's shape, each row on its own."""
    op = node.op
    assert op is not None, "_native_step: a leaf has no rule"
    local = op.vjps[i](*rule_args(node, g))
    if op.broadcasts:
        local = ops.sum_to_stacked(local, node.parents[i].data, (len(g),))
    if STATE.anomaly:                         # as chain_rule_step checks each row
        check_finite(local, op.name, node._trace, f"backward (gradient for input {i})")
    return np.asarray(local)


def _step_row_by_row(node: Value, i: int, g: np.ndarray) -> np.ndarray:
    """The op's VJP rule run once per row of ``g`` (``chain_rule_step``, as ``backward()`` runs
    it: a float ``g`` on the scalar path), the results stacked."""
    args = rule_args(node, None)              # checks once that no data changed since
    scalar = type(node.data) is float
    rows = [chain_rule_step(node, i, (float(row) if scalar else row, *args[1:])) for row in g]
    shape = (len(g),) + tuple(node.parents[i].shape)
    return np.stack(rows).reshape(shape)


def _unit_rows(out: Value, start: int, stop: int) -> np.ndarray:
    """The cotangents e_start, ..., e_{stop−1} in out's shape, stacked: rows of the identity."""
    rows = np.zeros((stop - start, out.size), dtype=np.asarray(out.data).dtype)
    rows[np.arange(stop - start), np.arange(start, stop)] = 1.0
    return rows.reshape((stop - start,) + tuple(out.shape))


def _leading_to(order: list[Value], wrt: list[Value]) -> set[Value]:
    """The nodes of ``order`` that some x in ``wrt`` flows into (the x included): the only ones
    whose cotangents the Jacobian needs."""
    leading = set(wrt)
    for node in order:                        # parents come first
        if any(parent in leading for parent in node.parents):
            leading.add(node)
    return leading


def _size(node: Value) -> int:
    return 1 if type(node.data) is float else int(node.data.size)
