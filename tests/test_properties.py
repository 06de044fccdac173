"""Property-based gradient tests: random expression graphs against central finite differences.

Hypothesis builds a random program over a few leaves — binary ops on broadcast-compatible
shapes, element-wise functions on safe domains, reductions over random axes, reshape/transpose/
broadcast/indexing, softmax/log_softmax, matmul, linear — and reduces its result to a scalar with
random weights, an MSE against a random target or a cross-entropy against random labels.  For
every program, the engine's gradient of every leaf must match ``numeric_grad`` (float64, central
differences), and second derivatives (Hessian-vector products by ``backward(create_graph=True)``)
must match differences of gradients.  The function transforms get the same programs: forward
mode (``tn.jvp``) against central differences and against reverse mode (⟨vjp(u), v⟩), and
``tn.check_grads`` to order 2 in both modes.  The "ci" profile (the default) runs 300 derandomized
examples; ``HYPOTHESIS_PROFILE=dev`` runs 2000 random ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import tinygrad_nn as tn
from tinygrad_nn import Value, no_grad, numeric_grad
from tinygrad_nn import functional as F
from tinygrad_nn.graph import toposort
from tinygrad_nn.value import linear

Shape = tuple[int, ...]

# Element-wise maps kept on domains where they are smooth and finite for any input in [-3, 3]
# (log/sqrt of something positive, division by 1 + x², exp of a bounded value, kinks avoided).
UNARY: dict[str, Callable[[Value], Value]] = {
    "neg": lambda x: -x,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "softplus": Value.softplus,
    "exp": lambda x: x.tanh().exp(),
    "log": lambda x: (x.softplus() + 0.1).log(),
    "sqrt": lambda x: (x * x + 1.0).sqrt(),
    "div": lambda x: x / (x * x + 1.0),
    "rdiv": lambda x: 1.0 / (x * x + 1.0),
    "abs": lambda x: (x + 0.5).abs(),
    "relu": lambda x: (x - 0.3).relu(),
    "leaky_relu": lambda x: x.leaky_relu(0.2),
    "sq": lambda x: x ** 2,
    "cube": lambda x: x ** 3,
    "rsqrt": lambda x: (x.softplus() + 0.5) ** -0.5,
    "pow_frac": lambda x: (x.softplus() + 0.5) ** 1.5,
}

BINARY: dict[str, Callable[[Value, Value], Value]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "pow": lambda a, b: (a.softplus() + 0.5) ** b.tanh(),
    "rpow": lambda a, b: 1.5 ** a.tanh() * b,
}


def apply(kind: str, args: list[Value], params: tuple[Any, ...]) -> Value:
    """One step of a program."""
    if kind in UNARY:
        return UNARY[kind](args[0])
    if kind in BINARY:
        return BINARY[kind](args[0], args[1])
    x = args[0]
    if kind in ("sum", "mean", "max"):
        axis, keepdims = params
        return getattr(x, kind)(axis=axis, keepdims=keepdims)
    if kind == "reshape":
        return x.reshape(params[0])
    if kind == "transpose":
        return x.transpose(*params[0])
    if kind == "broadcast_to":
        return x.broadcast_to(params[0])
    if kind == "getitem":
        return x[params[0]]
    if kind in ("softmax", "log_softmax"):
        return getattr(x, kind)(params[0])
    if kind == "matmul":
        return args[0] @ args[1]
    if kind == "linear":
        return linear(*args)
    raise AssertionError(kind)


@dataclass
class Program:
    """Leaves (data) and steps ``(kind, operand positions in the pool, params)``.

    Each step appends one entry to the pool (``"leaf"`` steps the k-th leaf); the last entry is
    the output.
    """

    leaves: list[Any] = field(default_factory=list)
    steps: list[tuple[str, tuple[int, ...], tuple[Any, ...]]] = field(default_factory=list)
    weights: Any = 1.0
    loss: tuple[Any, ...] = ("weighted",)     # or ("mse", target, reduction), ("ce", target)

    def run(self, *values: Value) -> Value:
        pool: list[Value] = []
        for kind, where, params in self.steps:
            if kind == "leaf":
                pool.append(values[params[0]])
            else:
                pool.append(apply(kind, [pool[i] for i in where], params))
        out = pool[-1]
        if self.loss[0] == "mse":
            return F.mse_loss(out, self.loss[1], reduction=self.loss[2])
        if self.loss[0] == "ce":
            return F.cross_entropy(out, self.loss[1])
        if type(self.weights) is float:
            return out * self.weights
        return (out * Value(self.weights, requires_grad=False)).sum()

    def describe(self) -> str:
        lines = [f"leaf {i}: shape {np.shape(d)} {type(d).__name__}"
                 for i, d in enumerate(self.leaves)]
        lines += [f"[{k}] {kind}{where} {params!r}"
                  for k, (kind, where, params) in enumerate(self.steps)]
        lines.append(f"error: {self.loss[0]}")
        return "\n".join(lines)


def shape_of(x: Any) -> Shape:
    return tuple(np.shape(x))


def broadcastable(a: Shape, b: Shape) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


@st.composite
def programs(draw: st.DrawFn) -> Program:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    prog = Program()
    shapes: list[Shape] = []                  # the shape of every pool entry

    def new_leaf(shape: Shape | None) -> int:
        data: Any = float(rng.uniform(-2, 2)) if shape is None else rng.uniform(-2, 2, shape)
        prog.leaves.append(data)
        prog.steps.append(("leaf", (), (len(prog.leaves) - 1,)))
        shapes.append(() if shape is None else shape)
        return len(shapes) - 1

    dims = st.integers(1, 3)
    small_shape = st.lists(dims, min_size=0, max_size=3).map(tuple)
    for _ in range(draw(st.integers(1, 3))):
        new_leaf(None if draw(st.booleans()) and draw(st.booleans()) else draw(small_shape))

    def compatible_leaf(shape: Shape) -> int:
        """A fresh leaf whose shape broadcasts with ``shape``: trailing dims kept or set to 1."""
        if draw(st.integers(0, 5)) == 0:
            return new_leaf(None)
        drop = draw(st.integers(0, len(shape)))
        kept = tuple(1 if draw(st.booleans()) and draw(st.booleans()) else n
                     for n in shape[drop:])
        extra = (draw(dims),) if not drop and len(shape) < 3 and draw(st.integers(0, 4)) == 0 \
            else ()
        return new_leaf(extra + kept)

    # a family first, then a member: every family is equally likely whatever its size
    families = [sorted(UNARY), sorted(BINARY), ["sum", "mean", "max"],
                ["reshape", "transpose", "broadcast_to", "getitem"], ["softmax", "log_softmax"],
                ["matmul", "linear"]]
    n_steps = draw(st.integers(2, 10))
    for step in range(n_steps):
        # mostly extend the latest result, so the graph is deep; sometimes reuse an older node
        last = len(shapes) - 1
        i = last if step == 0 or draw(st.booleans()) else draw(st.integers(0, last))
        shape = shapes[i]
        kind = draw(st.sampled_from(draw(st.sampled_from(families))))
        where: tuple[int, ...] = (i,)
        params: tuple[Any, ...] = ()
        ndim = len(shape)
        if kind in BINARY:
            partners = [j for j, s in enumerate(shapes) if j != i and broadcastable(s, shape)]
            j = (draw(st.sampled_from(partners)) if partners and draw(st.integers(0, 2))
                 else compatible_leaf(shape))
            where = (i, j) if draw(st.booleans()) else (j, i)
        elif kind in ("sum", "mean", "max"):
            if ndim and draw(st.booleans()):
                axes = draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                                     unique_by=lambda a, n=ndim: a % n))
                axis: Any = axes[0] if len(axes) == 1 and draw(st.booleans()) else tuple(axes)
            else:
                axis = None
            params = (axis, draw(st.booleans()))
        elif kind == "reshape":
            size = math.prod(shape)
            options = [(size,), (1, size), (size, 1), shape[::-1]]
            options += [(2, size // 2), (size // 2, -1)] if size % 2 == 0 and size > 2 else []
            options += [()] if size == 1 else []
            params = (draw(st.sampled_from(options)),)
        elif kind == "transpose":
            params = (tuple(draw(st.permutations(range(ndim)))),)
        elif kind == "broadcast_to":
            params = ((draw(dims),) + shape,) if ndim < 3 else (shape,)
        elif kind == "getitem":
            if not ndim:
                kind, params = "reshape", ((1,),)
            elif draw(st.booleans()):
                idx = draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1,
                                    max_size=4))
                params = (np.array(idx),)       # repeats allowed: their gradients accumulate
            else:
                start = draw(st.integers(0, shape[0] - 1))
                params = ((slice(start, None, draw(st.sampled_from([1, 2, -1]))),)
                          + (Ellipsis,),)
        elif kind in ("softmax", "log_softmax"):
            if not ndim:
                kind, params = "sigmoid", ()
            else:
                params = (draw(st.integers(-ndim, ndim - 1)),)
        elif kind == "linear":
            if not ndim:
                kind = "tanh"
            else:
                w = new_leaf((draw(dims), shape[-1]))
                where = (i, w, new_leaf((shapes[w][0],))) if draw(st.booleans()) else (i, w)
        elif kind == "matmul":
            if not ndim:
                kind = "tanh"
            else:
                n = shape[-1]
                rhs = draw(st.sampled_from([(n,), (n, draw(dims))]))
                partners = [j for j, s in enumerate(shapes) if s == rhs]
                j = (draw(st.sampled_from(partners)) if partners and draw(st.booleans())
                     else new_leaf(rhs))
                where = (i, j)
        with no_grad():                        # track the result's shape (all ops are total)
            out = apply(kind, [Value(np.zeros(shapes[w])) for w in where], params)
        prog.steps.append((kind, where, params))
        shapes.append(tuple(out.shape))

    final = shapes[-1]
    prog.weights = float(rng.uniform(0.5, 1.5)) if not final else rng.uniform(-1.5, 1.5, final)
    error = draw(st.sampled_from(["weighted", "weighted", "mse", "cross_entropy"]))
    if error == "mse":
        target = float(rng.uniform(-1, 1)) if not final else rng.uniform(-1, 1, final)
        prog.loss = ("mse", target, draw(st.sampled_from(["mean", "sum"])))
    elif error == "cross_entropy" and math.prod(final) > 1:
        if len(final) != 2:                   # make the output a batch of logits (N, C)
            size = math.prod(final)
            final = (2, size // 2) if size % 2 == 0 and size > 2 else (1, size)
            prog.steps.append(("reshape", (len(shapes) - 1,), (final,)))
            shapes.append(final)
        n, c = final
        prog.loss = ("ce", rng.integers(0, c, n) if draw(st.booleans())
                     else rng.dirichlet(np.ones(c), n))
    return prog


def leaves_as_values(prog: Program) -> list[Value]:
    return [Value(d if type(d) is float else d.copy()) for d in prog.leaves]


@given(programs())
def test_random_graph_gradients_match_finite_differences(prog: Program) -> None:
    note(prog.describe())
    values = leaves_as_values(prog)
    out = prog.run(*values)
    assert out.shape == ()
    if not out.requires_grad:                 # the output does not depend on any leaf
        return
    out.backward()
    numeric = numeric_grad(prog.run, values)
    for k, (v, num) in enumerate(zip(values, numeric)):
        analytic = np.zeros(v.shape) if v.grad is None else np.asarray(v.grad)
        assert analytic.shape == np.shape(num)
        np.testing.assert_allclose(analytic, num, rtol=1e-4, atol=1e-6,
                                   err_msg=f"leaf {k}\n{prog.describe()}")
        if type(v.data) is float and v.grad is not None:
            assert type(v.grad) is float


@given(programs())
def test_random_graph_forward_is_finite_and_toposort_is_stable(prog: Program) -> None:
    values = leaves_as_values(prog)
    out = prog.run(*values)
    assert math.isfinite(out.item())
    first = [id(n) for n in toposort(out)]
    assert first == [id(n) for n in toposort(out)]
    assert len(set(first)) == len(first)
    assert first[-1] == id(out)


def gradients(prog: Program, data: list[Any]) -> list[np.ndarray]:
    """First derivatives of the program at ``data`` (plain backward), as float64 arrays."""
    values = [Value(d if type(d) is float else np.array(d)) for d in data]
    out = prog.run(*values)
    if out.requires_grad:
        out.backward()
    return [np.zeros(np.shape(d)) if v.grad is None else np.asarray(v.grad, dtype=np.float64)
            for v, d in zip(values, data)]


@given(programs())
def test_random_graph_hessian_vector_products_match_differences_of_gradients(
        prog: Program) -> None:
    """backward(create_graph=True), then backward of Σ grad·v, against (∇E(x+εv) − ∇E(x−εv))/2ε."""
    note(prog.describe())
    values = leaves_as_values(prog)
    out = prog.run(*values)
    if not out.requires_grad:
        return
    rng = np.random.default_rng(len(prog.steps))
    directions = [float(rng.standard_normal()) if type(v.data) is float
                  else rng.standard_normal(v.shape) for v in values]
    out.backward(create_graph=True)
    grads = [v.grad for v in values]
    for v in values:
        v.grad = None
    terms = [(g * u).sum() for g, u in zip(grads, directions)
             if isinstance(g, Value) and g.requires_grad]
    if terms:
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        total.backward()
    hvp = [np.zeros(v.shape) if v.grad is None else np.asarray(v.grad, dtype=np.float64)
           for v in values]

    eps = 1e-5
    up = gradients(prog, [d + eps * u for d, u in zip(prog.leaves, directions)])
    down = gradients(prog, [d - eps * u for d, u in zip(prog.leaves, directions)])
    for k, (h, a, b) in enumerate(zip(hvp, up, down)):
        np.testing.assert_allclose(h, (a - b) / (2 * eps), rtol=1e-4, atol=1e-5,
                                   err_msg=f"leaf {k}\n{prog.describe()}")


def random_directions(prog: Program) -> list[Any]:
    rng = np.random.default_rng(len(prog.steps) + 7)
    return [float(rng.standard_normal()) if type(d) is float else rng.standard_normal(np.shape(d))
            for d in prog.leaves]


@given(programs())
def test_random_graph_jvp_matches_finite_differences_and_vjp(prog: Program) -> None:
    """Forward mode along v: against (E(x + εv) − E(x − εv))/2ε, and against ⟨vjp(1), v⟩."""
    note(prog.describe())
    v = random_directions(prog)
    _, tangent = tn.jvp(prog.run, prog.leaves, v)
    eps = 1e-6
    with no_grad():
        up = prog.run(*[Value(d + eps * u, requires_grad=False) for d, u in zip(prog.leaves, v)])
        down = prog.run(*[Value(d - eps * u, requires_grad=False)
                          for d, u in zip(prog.leaves, v)])
    numeric = (up.item() - down.item()) / (2 * eps)
    assert float(tangent) == pytest.approx(numeric, rel=1e-4, abs=1e-6)
    _, pull = tn.vjp(prog.run, *prog.leaves)
    reverse = sum(float(np.vdot(g, u)) for g, u in zip(pull(1.0), v))
    assert float(tangent) == pytest.approx(reverse, rel=1e-10, abs=1e-12)


@given(programs())
def test_random_graph_derivatives_to_order_two_in_both_modes(prog: Program) -> None:
    """tn.check_grads: jvp, vjp, and each of them differentiated again both ways."""
    note(prog.describe())
    assert tn.check_grads(prog.run, prog.leaves, order=2, atol=1e-5, rtol=1e-4)


# -- the scalar path: programs on Python floats ---------------------------------------------------

SCALAR_STEPS = sorted(UNARY) + sorted(BINARY) + ["sum", "mean", "max"]


@st.composite
def scalar_programs(draw: st.DrawFn) -> Program:
    """A random program over 1-3 Python-float leaves, using every op that takes a float."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    prog = Program()
    for k in range(draw(st.integers(1, 3))):
        prog.leaves.append(float(rng.uniform(-2, 2)))
        prog.steps.append(("leaf", (), (k,)))
    for step in range(draw(st.integers(1, 8))):
        last = len(prog.steps) - 1
        i = last if step == 0 or draw(st.booleans()) else draw(st.integers(0, last))
        kind = draw(st.sampled_from(SCALAR_STEPS))
        where: tuple[int, ...] = (i,)
        params: tuple[Any, ...] = ()
        if kind in BINARY:
            j = draw(st.integers(0, last))
            where = (i, j) if draw(st.booleans()) else (j, i)
        elif kind in ("sum", "mean", "max"):
            params = (None, draw(st.booleans()))
        prog.steps.append((kind, where, params))
    prog.weights = float(rng.uniform(0.5, 1.5))
    return prog


def held_as(data: float, form: str) -> Value:
    """A leaf holding ``data`` as a Python float, a 0-d array or a one-entry array."""
    if form == "float":
        return Value(data)
    return Value(np.array(data if form == "0d" else [data]))


@given(scalar_programs())
def test_scalar_programs_match_finite_differences(prog: Program) -> None:
    """The scalar path (math on Python floats, no NumPy) against central differences."""
    note(prog.describe())
    values = leaves_as_values(prog)
    out = prog.run(*values)
    assert type(out.data) is float
    if not out.requires_grad:
        return
    out.backward()
    numeric = numeric_grad(prog.run, values)
    for k, (v, num) in enumerate(zip(values, numeric)):
        analytic = 0.0 if v.grad is None else v.grad
        assert type(analytic) is float
        assert analytic == pytest.approx(num, rel=1e-4, abs=1e-6), f"leaf {k}"


@given(scalar_programs(), st.lists(st.sampled_from(["float", "0d", "1d"]), min_size=3,
                                   max_size=3))
def test_a_program_gives_the_same_numbers_on_floats_and_on_arrays(
        prog: Program, forms: list[str]) -> None:
    """Each leaf held as a float, a 0-d array or a one-entry array (mixed in one program): the
    same value and the same gradients as on the scalar path."""
    note(prog.describe())
    scalar = leaves_as_values(prog)
    reference = prog.run(*scalar)
    mixed = [held_as(d, form) for d, form in zip(prog.leaves, forms)]
    out = prog.run(*mixed)
    assert float(np.asarray(out.data).reshape(())) == pytest.approx(reference.data, rel=1e-13)
    if not reference.requires_grad:
        return
    reference.backward()
    out.backward()
    for k, (s, m) in enumerate(zip(scalar, mixed)):
        expected = 0.0 if s.grad is None else s.grad
        got = 0.0 if m.grad is None else float(np.asarray(m.grad).reshape(()))
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-300), f"leaf {k}"
