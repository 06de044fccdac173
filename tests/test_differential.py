"""Differential tests: the scalar path against the array path, and both against PyTorch.

A number can reach an op as a Python float (the scalar path: ``math``, no NumPy), as a 0-d array or
as an entry of an array (NumPy).  Every op of the rule table that takes a float must give the
same value and the same gradients on all three, at every input: the singular ones (±0, ±1, ±inf,
NaN, subnormals, the largest floats, where eˣ and the logistic overflow), every pair of them for
the binary ops, and random floats from the whole range (hypothesis).

Against PyTorch (a development peer: the test is skipped where it is not installed, and CI
installs it), every element-wise op runs on the same grid and random floats, and the other ops
(reductions, softmax, matmul, linear, indexing, shape ops, the error functions) on random arrays
holding singular entries.  Where tinygrad_nn deliberately differs, the difference is listed in
``DEVIATIONS`` with its reason (and in docs/reliability.md); any other difference fails, and so
does a listed one that no input shows any more.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from conftest import optional_package
from hypothesis import given, note, settings
from hypothesis import strategies as st

from tinygrad_nn import Value, ops
from tinygrad_nn import functional as F
from tinygrad_nn.value import linear

INF, NAN = math.inf, math.nan
TINY = 5e-324                                   # the smallest subnormal

SPECIAL = (0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, INF, -INF, NAN, TINY, -TINY, 1e-310,
           2.2250738585072014e-308, 1e308, -1e308, 710.0, -710.0, 746.0, -746.0, 37.0, -37.0)
"""Singular inputs: signed zeros, ±inf, NaN, subnormals, the smallest normal, numbers whose
squares or exponentials overflow, and where the logistic's tail changes formula."""

any_float = st.one_of(st.sampled_from(SPECIAL), st.floats(), st.floats(-5.0, 5.0))

# -- the ops that take a Python float ------------------------------------------------------------

EXPONENTS = (0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 1.5, 2.5, INF, -INF, NAN)

UNARY: dict[str, Callable[[Value], Value]] = {
    "neg": lambda x: -x,
    "exp": Value.exp,
    "log": Value.log,
    "sqrt": Value.sqrt,
    "abs": Value.abs,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "relu": Value.relu,
    "leaky_relu": lambda x: x.leaky_relu(0.2),
    "softplus": Value.softplus,
    "sum": lambda x: x.sum(),
    "mean": lambda x: x.mean(),
    "max": lambda x: x.max(),
    "reshape": lambda x: x.reshape(1, 1),
    "transpose": lambda x: x.T,
    "broadcast_to": lambda x: x.broadcast_to((2,)),
    **{f"powc{p:g}": (lambda x, p=p: x ** p) for p in EXPONENTS},
}

BINARY: dict[str, Callable[[Value, Value], Value]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "mse": lambda a, b: F.mse_loss(a, b),
}

NO_SCALAR_PATH = {
    "getitem": "a float cannot be indexed",
    "scatter": "the VJP of indexing: only ever made from an array",
    "matmul": "needs operands with at least one dimension",
    "linear": "its weight is a matrix",
    "softmax": "normalises along an axis",
    "log_softmax": "normalises along an axis",
    "cross_entropy": "takes logits of shape (N, C)",
}


def table_op(name: str) -> str:
    """The rule-table entry a case of UNARY or BINARY runs ("powc2" runs "powc")."""
    return "powc" if name.startswith("powc") else name


def test_every_op_is_run_on_the_scalar_path_or_says_why_not() -> None:
    covered = {table_op(name) for name in [*UNARY, *BINARY]}
    assert covered | set(NO_SCALAR_PATH) == set(ops.TABLE)
    assert not covered & set(NO_SCALAR_PATH)


# -- running one op on one path ---------------------------------------------------------------

FORMS = ("float", "0d", "1d")
"""How a number is held: a Python float (the scalar path), a 0-d array, a one-entry array."""


def held(x: float, form: str) -> Value:
    if form == "float":
        return Value(x)
    return Value(np.array(x if form == "0d" else [x]))


def run(f: Callable[..., Value], numbers: Sequence[float], forms: Sequence[str]) -> list[float]:
    """``[value, ∂/∂input_0, ...]`` of ``f`` at ``numbers`` held in ``forms``, as floats.

    The result is reduced with ``.sum()`` (a no-op on one entry) and differentiated by
    ``backward()``; on the scalar path the gradients stay Python floats, and so does the value
    unless the op makes an array (a reshape, a transpose or a broadcast of a number).
    """
    inputs = [held(x, form) for x, form in zip(numbers, forms)]
    with np.errstate(all="ignore"):
        out = f(*inputs)
        root = out.sum()
        root.backward()
    if all(form == "float" for form in forms):
        assert all(type(v.grad) is float for v in inputs)
        assert type(out.data) is float or out.op in (ops.RESHAPE, ops.TRANSPOSE,
                                                     ops.BROADCAST_TO)
    first = [float(np.asarray(out.data).reshape(-1)[0])]
    return first + [float(np.asarray(v.grad).reshape(-1)[0]) for v in inputs]


def same(a: float, b: float, rtol: float = 1e-14) -> bool:
    """Equal, both NaN, or within ``rtol`` (a few ulps: ``math`` and NumPy round differently)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + 1e-300


SAME_SHAPES = {"mse"}
"""Ops whose inputs must have one shape (mse_loss does not broadcast)."""


def disagreements(name: str, numbers: Sequence[float]) -> list[str]:
    """Where the paths disagree: every form of every input against the all-float scalar path."""
    f = UNARY.get(name) or BINARY[name]
    reference = run(f, numbers, ["float"] * len(numbers))
    found = []
    for forms in itertools.product(FORMS, repeat=len(numbers)):
        if name in SAME_SHAPES and len({form == "1d" for form in forms}) > 1:
            continue
        got = run(f, numbers, forms)
        for k, (a, b) in enumerate(zip(reference, got)):
            if not same(a, b):
                what = "value" if k == 0 else f"gradient {k - 1}"
                found.append(f"{numbers} as {forms}: {what} {b!r}, the scalar path gives {a!r}")
    return found


@pytest.mark.parametrize("name", sorted(UNARY))
def test_scalar_and_array_paths_agree_at_singular_inputs(name: str) -> None:
    found = [d for x in SPECIAL for d in disagreements(name, [x])]
    assert not found, "\n".join(found[:20])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_scalar_and_array_paths_agree_at_every_pair_of_singular_inputs(name: str) -> None:
    found = [d for a in SPECIAL for b in SPECIAL for d in disagreements(name, [a, b])]
    assert not found, "\n".join(found[:20])


@given(st.sampled_from(sorted(UNARY) + sorted(BINARY)), any_float, any_float)
def test_scalar_and_array_paths_agree_on_any_float(name: str, a: float, b: float) -> None:
    found = disagreements(name, [a] if name in UNARY else [a, b])
    assert not found, "\n".join(found)


# -- against PyTorch -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Deviation:
    """Where tinygrad_nn gives another number than PyTorch on purpose (docs/reliability.md)."""

    ops: tuple[str, ...]                      # names in UNARY/BINARY
    output: int                               # 0 the value, k the gradient of input k - 1
    where: Callable[..., bool]                # at which inputs (and exponent p for powc)
    ours: Callable[..., float]                # what tinygrad_nn gives there
    reason: str


def _neg_inf_to_a_fraction(a: float, b: float) -> bool:
    return a == -INF and math.isfinite(b) and not b.is_integer()


def _powc_exponent(name: str) -> float:
    return float(name[len("powc"):])


DEVIATIONS = (
    Deviation(("relu",), 1, lambda x: math.isnan(x), lambda x: 0.0,
              "relu' = [x > 0] is 0 where the comparison fails; PyTorch passes the gradient "
              "wherever the output is not ≤ 0, so a NaN gets 1"),
    Deviation(("powc0.5", "powc-0.5"), 1, lambda x, p: x == 0.0 and math.copysign(1, x) < 0,
              lambda x, p: INF,
              "at −0, C's pow (NumPy's and here) gives (−0)^−0.5 = +∞; PyTorch computes x^±0.5 "
              "from √x = −0, so 1/√x = −∞"),
    Deviation(("powc-0.5",), 0, lambda x, p: x == 0.0 and math.copysign(1, x) < 0,
              lambda x, p: INF, "the same: (−0)^−0.5 = +∞ by C's pow, −∞ as 1/√(−0)"),
    Deviation(("pow",), 0, _neg_inf_to_a_fraction, lambda a, b: NAN,
              "a negative base to a non-integer power is NaN, −∞ included; C's pow (which "
              "PyTorch uses for a tensor exponent) gives (−∞)^0.5 = +∞ but PyTorch's and "
              "NumPy's x ** 0.5 (a square root) give NaN"),
    Deviation(("pow",), 1, _neg_inf_to_a_fraction, lambda a, b: NAN, "follows from the value"),
    Deviation(("powc1.5", "powc2.5"), 0, lambda x, p: _neg_inf_to_a_fraction(x, p),
              lambda x, p: NAN, "the same for a constant exponent"),
    Deviation(("powc-0.5", "powc1.5", "powc2.5"), 1,
              lambda x, p: _neg_inf_to_a_fraction(x, p - 1.0), lambda x, p: NAN,
              "the derivative p·x^(p−1) at −∞ is NaN for the same reason"),
    Deviation(("pow",), 2, lambda a, b: a < 0.0,
              lambda a, b: 0.0 if math.isfinite(ops.power(a, b)) else NAN,
              "at a < 0, aᵇ is real only for integer b and has no derivative in b (ln a is "
              "not real): the rule takes ln a as 0, giving aᵇ·0 (0 where aᵇ is finite) where "
              "PyTorch gives NaN, so a trainable exponent of a negative base does not turn "
              "every gradient into NaN"),
)


def deviation(name: str, output: int, numbers: Sequence[float]) -> Deviation | None:
    """The listed deviation that applies to ``output`` of op ``name`` at ``numbers``, if any."""
    args = [*numbers, _powc_exponent(name)] if name.startswith("powc") else list(numbers)
    for dev in DEVIATIONS:
        if name in dev.ops and dev.output == output and dev.where(*args):
            return dev
    return None


def _ours_there(dev: Deviation, name: str, numbers: Sequence[float]) -> float:
    args = [*numbers, _powc_exponent(name)] if name.startswith("powc") else list(numbers)
    with np.errstate(all="ignore"):
        return dev.ours(*args)


def torch_function(torch: Any, name: str) -> Callable[..., Any] | None:
    """The same map in PyTorch, or None for the ops that have no element-wise meaning there."""
    tf = torch.nn.functional
    table: dict[str, Callable[..., Any]] = {
        "neg": lambda x: -x, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
        "abs": torch.abs, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
        "leaky_relu": lambda x: tf.leaky_relu(x, 0.2),
        "softplus": lambda x: torch.logaddexp(torch.zeros(()), x),   # softplus without its
        "sum": torch.sum, "mean": torch.mean, "max": torch.max,       # threshold
        "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b, "pow": lambda a, b: a ** b,
        "mse": lambda a, b: tf.mse_loss(a, b),
    }
    if name.startswith("powc"):
        p = _powc_exponent(name)
        return lambda x: x ** p
    return table.get(name)


def run_torch(torch: Any, f: Callable[..., Any], numbers: Sequence[float]) -> list[float]:
    inputs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in numbers]
    out = f(*inputs)
    out.sum().backward()
    return [out.item()] + [0.0 if v.grad is None else v.grad.item() for v in inputs]


def differences_from_torch(torch: Any, name: str, numbers: Sequence[float],
                           hits: set[Deviation]) -> list[str]:
    """Where ``name`` differs from PyTorch at ``numbers`` other than as ``DEVIATIONS`` says."""
    f = UNARY.get(name) or BINARY[name]
    tf = torch_function(torch, name)
    assert tf is not None
    ours, theirs = run(f, numbers, ["1d"] * len(numbers)), run_torch(torch, tf, numbers)
    found = []
    for k, (a, b) in enumerate(zip(ours, theirs)):
        dev = deviation(name, k, numbers)
        what = "value" if k == 0 else f"gradient {k - 1}"
        if dev is not None and not same(a, b, 1e-12):
            hits.add(dev)
            if not same(a, _ours_there(dev, name, numbers)):
                found.append(f"{name}{tuple(numbers)}: {what} {a!r}, the listed deviation says "
                             f"{_ours_there(dev, name, numbers)!r}")
        elif not same(a, b, 1e-12):
            found.append(f"{name}{tuple(numbers)}: {what} {a!r}, PyTorch {b!r}")
    return found


SHAPE_ONLY = ("reshape", "transpose", "broadcast_to")   # on a float: no PyTorch counterpart needed


def test_element_wise_ops_match_pytorch_at_singular_inputs() -> None:
    torch = optional_package("torch")
    hits: set[Deviation] = set()
    found: list[str] = []
    for name in sorted(UNARY):
        if name not in SHAPE_ONLY:
            found += [d for x in SPECIAL for d in differences_from_torch(torch, name, [x], hits)]
    for name in sorted(BINARY):
        found += [d for a in SPECIAL for b in SPECIAL
                  for d in differences_from_torch(torch, name, [a, b], hits)]
    assert not found, f"{len(found)} differences:\n" + "\n".join(found[:30])
    unused = [dev.reason for dev in DEVIATIONS if dev not in hits]
    assert not unused, f"listed deviations no input shows: {unused}"


@given(st.sampled_from([n for n in sorted(UNARY) + sorted(BINARY) if n not in SHAPE_ONLY]),
       any_float, any_float)
def test_element_wise_ops_match_pytorch_on_any_float(name: str, a: float, b: float) -> None:
    torch = optional_package("torch")
    numbers = [a] if name in UNARY else [a, b]
    found = differences_from_torch(torch, name, numbers, set())
    assert not found, "\n".join(found)


# -- the ops on arrays, against PyTorch -----------------------------------------------------------

FEWER = settings(max_examples=max(30, settings.default.max_examples // 3))
"""A third of the profile's examples for the array tests: each example calls PyTorch."""

ARRAY_SPECIAL = (0.0, -0.0, 1.0, -1.0, INF, -INF, NAN, TINY, -TINY, 710.0, -746.0)
"""Singular entries for arrays (not 1e308: sums of those overflow in an order-dependent way)."""


@st.composite
def arrays(draw: st.DrawFn, shape: tuple[int, ...], nan: bool = True) -> np.ndarray:
    """Random numbers in [-3, 3] of ``shape`` with some entries singular (NaN only if ``nan``)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(-3.0, 3.0, shape)
    special = [s for s in ARRAY_SPECIAL if nan or not math.isnan(s)]
    mask = rng.random(shape) < draw(st.sampled_from([0.0, 0.1, 0.3]))
    x[mask] = rng.choice(special, int(mask.sum()))
    return x


def compare_with_torch(torch: Any, ours: Callable[..., Value], theirs: Callable[..., Any],
                       *data: np.ndarray, seed: int = 0) -> None:
    """Value and gradients (for a random seed gradient) of ``ours`` and ``theirs`` agree."""
    values = [Value(d.copy()) for d in data]
    tensors = [torch.tensor(d, requires_grad=True) for d in data]
    with np.errstate(all="ignore"):
        out = ours(*values)
        g = np.random.default_rng(seed).standard_normal(out.shape)
        out.backward(g)
    expected = theirs(*tensors)
    expected.backward(torch.tensor(g))
    pairs = [(out.data, expected.detach().numpy())]
    pairs += [(v.grad, t.grad.numpy()) for v, t in zip(values, tensors)]
    for k, (a, b) in enumerate(pairs):
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), b, rtol=1e-12, atol=1e-12,
                                   err_msg="value" if k == 0 else f"gradient {k - 1}")


shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


@FEWER
@given(st.data())
def test_reductions_match_pytorch(data: st.DataObject) -> None:
    """sum and mean over every axis choice; max too, whose ties share the gradient like amax's."""
    torch = optional_package("torch")
    shape = data.draw(shapes)
    name = data.draw(st.sampled_from(["sum", "mean", "max"]))
    x = data.draw(arrays(shape, nan=name != "max"))   # a NaN maximum: test_ops checks it
    axes = data.draw(st.none() | st.lists(st.integers(0, len(shape) - 1), min_size=1,
                                          unique=True).map(tuple))
    keepdims = data.draw(st.booleans())
    note(f"{name} axis={axes} keepdims={keepdims} x={x!r}")
    dim = tuple(range(len(shape))) if axes is None else axes
    theirs = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax}[name]
    compare_with_torch(torch, lambda v: getattr(v, name)(axis=axes, keepdims=keepdims),
                       lambda t: theirs(t, dim=dim, keepdim=keepdims), x)


@FEWER
@given(st.data())
def test_softmax_and_log_softmax_match_pytorch(data: st.DataObject) -> None:
    torch = optional_package("torch")
    shape = data.draw(shapes)
    x = data.draw(arrays(shape))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    name = data.draw(st.sampled_from(["softmax", "log_softmax"]))
    note(f"{name} axis={axis} x={x!r}")
    compare_with_torch(torch, lambda v: getattr(v, name)(axis),
                       lambda t: getattr(torch, name)(t, axis), x)


@FEWER
@given(st.data())
def test_binary_ops_with_broadcasting_match_pytorch(data: st.DataObject) -> None:
    torch = optional_package("torch")
    a_shape = data.draw(shapes)
    b_shape = tuple(1 if data.draw(st.booleans()) else n for n in a_shape[data.draw(
        st.integers(0, len(a_shape))):])
    name = data.draw(st.sampled_from(["add", "sub", "mul", "div"]))   # pow: the grid above
    a, b = data.draw(arrays(a_shape)), data.draw(arrays(b_shape))
    a, b = (a, b) if data.draw(st.booleans()) else (b, a)
    note(f"{name} {a!r} {b!r}")
    f = BINARY[name]
    compare_with_torch(torch, f, f, a, b)


@FEWER
@given(st.data())
def test_matmul_and_linear_match_pytorch(data: st.DataObject) -> None:
    torch = optional_package("torch")
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    kind = data.draw(st.sampled_from(["mat@mat", "vec@mat", "mat@vec", "vec@vec", "batch",
                                      "linear", "linear-bias"]))
    lhs = {"vec@mat": (k,), "vec@vec": (k,), "batch": (2, n, k)}.get(kind, (n, k))
    rhs = {"mat@vec": (k,), "vec@vec": (k,), "linear": (m, k),
           "linear-bias": (m, k)}.get(kind, (k, m))
    x, w = data.draw(arrays(lhs)), data.draw(arrays(rhs))
    note(f"{kind} {x!r} {w!r}")
    if kind == "linear":
        compare_with_torch(torch, linear, torch.nn.functional.linear, x, w)
    elif kind == "linear-bias":
        compare_with_torch(torch, linear, torch.nn.functional.linear, x, w,
                           data.draw(arrays((m,))))
    else:
        compare_with_torch(torch, lambda a, b: a @ b, lambda a, b: a @ b, x, w)


@FEWER
@given(st.data())
def test_indexing_and_shape_ops_match_pytorch(data: st.DataObject) -> None:
    torch = optional_package("torch")
    x = data.draw(arrays((4, 3)))
    kind = data.draw(st.sampled_from(["ints", "mask", "slice", "pair", "reshape", "transpose",
                                      "broadcast_to"]))
    note(f"{kind} {x!r}")
    if kind == "ints":            # repeats and negative indices: their gradients accumulate
        index: Any = np.array(data.draw(st.lists(st.integers(-4, 3), min_size=1, max_size=6)))
    elif kind == "mask":
        index = np.array(data.draw(st.lists(st.booleans(), min_size=4, max_size=4)))
    elif kind == "slice":         # (PyTorch has no negative steps)
        index = (slice(data.draw(st.integers(-4, 3)), None, data.draw(st.sampled_from([1, 2]))),
                 data.draw(st.sampled_from([slice(None, None, 2), 1, -1, Ellipsis])))
    elif kind == "pair":
        rows = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=5))
        index = (np.array(rows), np.array([r % 3 for r in rows]))
    if kind in ("ints", "mask", "slice", "pair"):
        parts = index if isinstance(index, tuple) else (index,)
        torch_index = tuple(torch.from_numpy(p) if isinstance(p, np.ndarray) else p
                            for p in parts)
        compare_with_torch(torch, lambda v: v[index], lambda t: t[torch_index], x)
    elif kind == "reshape":
        compare_with_torch(torch, lambda v: v.reshape(2, 6), lambda t: t.reshape(2, 6), x)
    elif kind == "transpose":
        compare_with_torch(torch, lambda v: v.T, lambda t: t.T, x)
    else:
        compare_with_torch(torch, lambda v: v.broadcast_to((2, 4, 3)),
                           lambda t: t.broadcast_to((2, 4, 3)), x)


@FEWER
@given(st.data())
def test_error_functions_match_pytorch(data: st.DataObject) -> None:
    torch = optional_package("torch")
    tf = torch.nn.functional
    n, c = data.draw(st.integers(1, 5)), data.draw(st.integers(2, 5))
    x = data.draw(arrays((n, c)))
    kind = data.draw(st.sampled_from(["mse-mean", "mse-sum", "ce-labels", "ce-probabilities"]))
    note(f"{kind} {x!r}")
    if kind.startswith("mse"):
        reduction = kind[4:]
        compare_with_torch(torch, lambda p, t: F.mse_loss(p, t, reduction=reduction),
                           lambda p, t: tf.mse_loss(p, t, reduction=reduction), x,
                           data.draw(arrays((n, c))))
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    target = rng.integers(0, c, n) if kind == "ce-labels" else rng.dirichlet(np.ones(c), n)
    compare_with_torch(torch, lambda p: F.cross_entropy(p, target),
                       lambda p: tf.cross_entropy(p, torch.from_numpy(target)), x)
