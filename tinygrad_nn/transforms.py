"""Function transforms: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp.

As in JAX and ``torch.func``, a transform takes a function ``f`` and gives its derivatives as
plain numbers and arrays.  ``f`` receives Values and is written with Value operations; the
transformed function takes and returns Python floats and NumPy arrays.

* **Reverse mode** — ``grad``, ``value_and_grad``, ``vjp``, ``jacobian(mode="rev")``: run ``f``
  once, recording its graph, then backpropagate a cotangent u: ``uᵀ J`` (``value.backpropagate``,
  asked for the inputs' gradients only).  The Jacobian's rows e_iᵀJ go back all at once, a
  stack of cotangents in one walk of the graph (``batched.py``).
* **Forward mode** — ``jvp``, ``jacobian(mode="fwd")``: run ``f`` once with a tangent v on its
  inputs, which every op carries forward by the JVP column of the rule table: ``J v``, one pass
  per input entry, no graph recorded (``forward.py``).
* **Second derivatives** — ``hessian``, ``hvp``: forward over reverse, the JVP of ``grad f``.

Transforms compose (``grad(grad(f))``, ``jacobian(grad(f))``, ``jvp`` of a ``grad``): inside
another transform's function, or when given Values, a transform returns Values recorded in the
graph (and carrying the running tangents), which the outer transform differentiates.  Each
transform differentiates with respect to new nodes of its own, so a Value that ``f`` also uses
from outside is not confused with the argument.  No transform sets ``.grad`` on anything, and
they work inside the caller's ``no_grad()`` blocks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .batched import jacobian_rows
from .context import STATE
from .forward import forward_trace
from .ops import inner
from .value import Value, backpropagate

__all__ = ["grad", "hessian", "hvp", "jacobian", "jvp", "value_and_grad", "vjp"]

Argnums = int | tuple[int, ...]
MODES = ("auto", "fwd", "rev")
"""``jacobian``'s modes: ``"rev"`` (every output entry's VJP in one stacked reverse walk),
``"fwd"`` (one JVP per input entry), ``"auto"`` (reverse unless the output is the larger)."""


# ----------------------------------------------------------------------------------------------
# The public transforms
# ----------------------------------------------------------------------------------------------


def value_and_grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """A function returning ``(f(*args), ∂f/∂args[argnums])`` for a scalar-valued ``f``.

    The gradient has the shape of its argument (a float for a float); ``argnums`` is an int, or
    a tuple of ints for a tuple of gradients.  One forward and one reverse pass.
    """
    _check_function("value_and_grad", f)
    _check_argnums_type("value_and_grad", argnums)

    @functools.wraps(f)
    def value_and_grad_f(*args: Any) -> tuple[Any, Any]:
        return _value_and_grad("value_and_grad", f, args, argnums)

    value_and_grad_f.transformed = ("value_and_grad", f, argnums)  # type: ignore[attr-defined]
    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The gradient ∇f of a scalar-valued ``f`` as a function: ``grad(f)(x) = ∂f/∂x``.

    Shaped like the argument; ``argnums`` picks the argument (or a tuple of them, for a tuple of
    gradients).  ``grad(grad(f))`` is the second derivative of a scalar function.
    """
    _check_function("grad", f)
    _check_argnums_type("grad", argnums)

    @functools.wraps(f)
    def grad_f(*args: Any) -> Any:
        return _value_and_grad("grad", f, args, argnums)[1]

    grad_f.transformed = ("grad", f, argnums)  # type: ignore[attr-defined]
    return grad_f


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
    """``(f(*primals), vjp_fn)``, where ``vjp_fn(u)`` is the vector-Jacobian product uᵀ·J.

    ``u`` has the output's shape (a tuple of them if ``f`` returns a tuple); ``vjp_fn`` returns
    a tuple with one entry per primal, ∂⟨u, f⟩/∂primal_i.  ``f`` runs once; every call of
    ``vjp_fn`` is one reverse pass over the recorded graph.
    """
    _check_function("vjp", f)
    if not primals:
        raise TypeError("vjp: expected at least one primal after f, got none")
    nested = _nested(primals)
    nodes = _reverse_inputs("vjp", primals, tuple(range(len(primals))))
    outs, is_tuple = _outputs("vjp", _call(f, nodes, record=True), allow_tuple=True)

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        """uᵀ·J for a cotangent u of the output's shape: one entry per primal."""
        us = _per_output("vjp", "cotangent", cotangent, outs, is_tuple)
        create_graph = nested or any(isinstance(u, Value) for u in us)
        grads = _pull_back(outs, us, nodes, create_graph)
        return tuple(_result(g, x, create_graph) for g, x in zip(grads, nodes))

    return _results(outs, is_tuple, nested), vjp_fn


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
        ) -> tuple[Any, Any]:
    """``(f(*primals), J·v)``: the Jacobian-vector product along ``tangents``, by forward mode.

    ``tangents`` has one entry per primal, each of its primal's shape.  Each op carries its
    tangent ẏ = Σ ∂y/∂x_i · ẋ_i alongside its value (the JVP column of the rule table): one pass,
    no graph recorded.  Returns the output and its tangent (tuples if ``f`` returns a tuple).
    """
    _check_function("jvp", f)
    primals, tangents = _primals_and("jvp", primals, "tangent", tangents)
    outs, is_tuple, tangents_out, nested = _jvp("jvp", f, primals, tangents)
    results = [_result(t, o, nested) for t, o in zip(tangents_out, outs)]
    return _results(outs, is_tuple, nested), tuple(results) if is_tuple else results[0]


def jacobian(f: Callable[..., Any], argnums: Argnums = 0, mode: str = "auto"
             ) -> Callable[..., Any]:
    """The Jacobian J[i, j] = ∂f_i/∂x_j as a function, of shape ``out.shape + in.shape``.

    ``mode="rev"`` gets the rows e_iᵀJ, every output entry's VJP, in one reverse walk that
    carries their cotangents stacked (``batched.py``; one recorded pass per row inside another
    transform); ``"fwd"`` the columns J e_j, one forward pass per input entry; ``"auto"`` takes
    reverse mode unless the output has more entries than the inputs.  With a tuple ``argnums``
    the result is a tuple over the arguments; if ``f`` returns a tuple, a tuple over its
    outputs of those.
    """
    _check_function("jacobian", f)
    _check_argnums_type("jacobian", argnums)
    if mode not in MODES:
        raise ValueError(f"jacobian: mode must be one of {MODES}, got {mode!r}")

    @functools.wraps(f)
    def jacobian_f(*args: Any) -> Any:
        return _jacobian("jacobian", f, args, argnums, mode)

    return jacobian_f


def hessian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The Hessian H[i, j] = ∂²f/∂x_i∂x_j of a scalar-valued ``f`` as a function.

    Forward over reverse: the forward-mode Jacobian of ``grad(f)``, one forward pass (with its
    reverse pass recorded) per input entry.  Shape ``in.shape + in.shape``; with a tuple
    ``argnums``, a tuple of tuples ``H[i][j]`` of shape ``in_i.shape + in_j.shape``.
    """
    _check_function("hessian", f)
    _check_argnums_type("hessian", argnums)

    def gradient(*args: Any) -> Any:
        return _value_and_grad("hessian", f, args, argnums)[1]

    @functools.wraps(f)
    def hessian_f(*args: Any) -> Any:
        return _jacobian("hessian", gradient, args, argnums, "fwd")

    return hessian_f


def hvp(f: Callable[..., Any], primals: Sequence[Any], vectors: Sequence[Any]
        ) -> tuple[Any, ...]:
    """The Hessian-vector product H·v of a scalar-valued ``f``, without forming H.

    (H v)_i = Σ_j ∂²f/∂x_i∂x_j · v_j over all the primals, computed as the JVP of ``grad f``
    along ``vectors`` (forward over reverse): one forward and one reverse pass, each carrying a
    tangent.  Returns a tuple with one entry per primal.
    """
    _check_function("hvp", f)
    primals, vectors = _primals_and("hvp", primals, "vector", vectors)
    every = tuple(range(len(primals)))

    def gradient(*args: Any) -> Any:
        return _value_and_grad("hvp", f, args, every)[1]

    grads, _, tangents, nested = _jvp("hvp", gradient, primals, vectors)
    return tuple(_result(t, g, nested) for t, g in zip(tangents, grads))


# ----------------------------------------------------------------------------------------------
# Reverse mode
# ----------------------------------------------------------------------------------------------


def _value_and_grad(fn: str, f: Callable[..., Any], args: tuple[Any, ...],
                    argnums: Argnums) -> tuple[Any, Any]:
    """``(f(*args), gradients)``: record ``f`` once, backpropagate 1 from its scalar output."""
    nums = _argnums(fn, argnums, len(args))
    nested = _nested(args)
    nodes = _reverse_inputs(fn, args, nums)
    (out,), _ = _outputs(fn, _call(f, nodes, record=True), allow_tuple=False)
    if out.size != 1:
        raise ValueError(f"{fn}: f must return a scalar (a Value with one entry), got shape "
                         f"{tuple(out.shape)}; for a vector output use tn.jacobian or tn.vjp")
    seed = 1.0 if type(out.data) is float else np.ones(out.shape, dtype=out.dtype)
    wrt = [nodes[i] for i in nums]
    grads = [_result(g, x, nested) for g, x in zip(_pull_back([out], [seed], wrt, nested), wrt)]
    return _result(out, out, nested), grads[0] if isinstance(argnums, int) else tuple(grads)


def _reverse_inputs(fn: str, args: tuple[Any, ...], nums: tuple[int, ...]) -> list[Any]:
    """The arguments ``f`` is called with: new nodes that require grad at ``nums``, the other
    arguments as given."""
    nodes = list(args)
    for i in nums:
        nodes[i] = _input_node(fn, args[i], i, requires_grad=True)
    return nodes


def _pull_back(outs: list[Value], cotangents: list[Any], wrt: list[Any],
               create_graph: bool) -> list[Any]:
    """∂⟨u, out⟩/∂x for every node x in ``wrt`` (None where no gradient reaches it): one
    reverse pass, from the output (or from Σ_k ⟨u_k, out_k⟩ for several outputs)."""
    pairs = [(out, u) for out, u in zip(outs, cotangents) if out.requires_grad]
    collect: dict[Value, Any] = dict.fromkeys(wrt)
    if not pairs:                             # no output depends on the inputs
        return [None] * len(wrt)
    if len(pairs) == 1:
        root, seed = pairs[0]
    else:
        with _recording(True):
            root = functools.reduce(lambda a, b: a + b, [inner(o, u) for o, u in pairs])
        seed = 1.0
    if create_graph and not isinstance(seed, Value):
        seed = Value(seed, requires_grad=False)
    backpropagate(root, seed, create_graph, collect=collect)
    return [collect[x] for x in wrt]


# ----------------------------------------------------------------------------------------------
# Forward mode
# ----------------------------------------------------------------------------------------------


def _jvp(fn: str, f: Callable[..., Any], primals: tuple[Any, ...], tangents: tuple[Any, ...]
         ) -> tuple[list[Value], bool, list[Any], bool]:
    """One forward-mode pass of ``f`` with ``tangents`` on ``primals`` (``None`` is zero): the
    outputs, whether they were a tuple, their tangents (``None`` where none reached them) and
    whether the results must be Values (``_nested``)."""
    nested = _nested(primals, tangents)
    nodes = [_input_node(fn, p, i, requires_grad=False) for i, p in enumerate(primals)]
    ts = [None if t is None else _like(fn, f"tangents[{i}]", t, x, f"primals[{i}]")
          for i, (t, x) in enumerate(zip(tangents, nodes))]
    with forward_trace(differentiable=nested) as trace:
        for x, t in zip(nodes, ts):
            if t is not None:
                trace.tangents[x] = t
        # on its own, forward mode records nothing; inside a transform, the graph is needed
        out = _call(f, nodes, record=nested)
        outs, is_tuple = _outputs(fn, out, allow_tuple=True)
        tangents_out = [trace.tangents.get(o) for o in outs]
    return outs, is_tuple, tangents_out, nested


# ----------------------------------------------------------------------------------------------
# Jacobians
# ----------------------------------------------------------------------------------------------


def _jacobian(fn: str, f: Callable[..., Any], args: tuple[Any, ...], argnums: Argnums,
              mode: str) -> Any:
    """Every ∂f_k/∂x_j: rows by reverse mode or columns by forward passes, then assembled."""
    nums = _argnums(fn, argnums, len(args))
    nested = _nested(args)

    def of_differentiated(*diff: Any) -> Any:        # f with only the argnums arguments free
        full = list(args)
        for i, x in zip(nums, diff):
            full[i] = x
        return f(*full)

    diff_args = tuple(args[i] for i in nums)
    if mode == "fwd":
        blocks, outs, is_tuple = _jacobian_by_columns(fn, of_differentiated, diff_args)
    else:
        nodes = _reverse_inputs(fn, diff_args, tuple(range(len(diff_args))))
        outs, is_tuple = _outputs(fn, _call(of_differentiated, nodes, record=True),
                                  allow_tuple=True)
        rows = sum(o.size for o in outs)
        columns = sum(_size(x) for x in nodes)
        if mode == "auto" and rows > columns:
            blocks, outs, is_tuple = _jacobian_by_columns(fn, of_differentiated, diff_args)
        elif nested:                          # the rows must be Values the graph records
            blocks = _jacobian_by_rows(outs, nodes, nested)
        else:
            blocks = _jacobian_by_stacked_rows(outs, nodes)
    per_output = [tuple(row) if not isinstance(argnums, int) else row[0] for row in blocks]
    return tuple(per_output) if is_tuple else per_output[0]


def _jacobian_by_rows(outs: list[Value], nodes: list[Any], nested: bool) -> list[list[Any]]:
    """J row by row: for each output entry i, one reverse pass with the cotangent e_i (inside
    another transform, where the rows are Values recorded in the graph)."""
    blocks = []
    for out in outs:
        rows: list[list[Any]] = [[] for _ in nodes]
        for seed in _unit_vectors(out.data):
            for j, g in enumerate(_pull_back([out], [seed], nodes, nested)):
                rows[j].append(_zeros_like(nodes[j]) if g is None else g)
        blocks.append([_assemble(rows[j], out, x, by_rows=True) for j, x in enumerate(nodes)])
    return blocks


def _jacobian_by_stacked_rows(outs: list[Value], nodes: list[Any]) -> list[list[Any]]:
    """J by rows, all of them in one reverse walk (per chunk) that carries the unit cotangents
    e_i stacked along a leading axis (``batched.jacobian_rows``)."""
    blocks = []
    for out in outs:
        rows = jacobian_rows(out, nodes) if out.requires_grad else [None] * len(nodes)
        blocks.append([_block(r, out, x) for r, x in zip(rows, nodes)])
    return blocks


def _block(rows: np.ndarray | None, out: Value, x: Value) -> Any:
    """∂out/∂x of shape ``out.shape + x.shape`` from its rows (None: no gradient reached x); a
    float when both are floats."""
    dtype = np.result_type(_dtype(out), _dtype(x))
    shape = _shape(out) + _shape(x)
    block = np.zeros(shape, dtype) if rows is None else rows.reshape(shape).astype(dtype)
    return float(block) if _is_float(out) and _is_float(x) else block


def _jacobian_by_columns(fn: str, f: Callable[..., Any], args: tuple[Any, ...]
                         ) -> tuple[list[list[Any]], list[Value], bool]:
    """J column by column: for each input entry j, one forward pass with the tangent e_j."""
    columns: list[list[list[Any]]] | None = None
    outs: list[Value] = []
    is_tuple = False
    for j, x in enumerate(args):
        data = x.data if isinstance(x, Value) else _input_node(fn, x, j, False).data
        for unit in _unit_vectors(data):
            tangents = tuple(unit if k == j else None for k in range(len(args)))
            outs, is_tuple, tangents_out, _ = _jvp(fn, f, args, tangents)
            if columns is None:
                columns = [[[] for _ in args] for _ in outs]
            for k, (t, out) in enumerate(zip(tangents_out, outs)):
                columns[k][j].append(_zeros_like(out) if t is None else t)
    assert columns is not None, "jacobian: a function of no entries"
    blocks = [[_assemble(columns[k][j], out, x, by_rows=False) for j, x in enumerate(args)]
              for k, out in enumerate(outs)]
    return blocks, outs, is_tuple


def _unit_vectors(data: Any) -> Iterator[Any]:
    """e_0, e_1, ... in the shape of ``data`` (1.0 for a float)."""
    if type(data) is float:
        yield 1.0
        return
    for index in np.ndindex(*data.shape):
        unit = np.zeros(data.shape, dtype=data.dtype)
        unit[index] = 1.0
        yield unit


def _assemble(pieces: list[Any], out: Any, x: Any, by_rows: bool) -> Any:
    """A block of shape ``out.shape + x.shape`` from its rows (in x's shape, one per output
    entry) or columns (in out's shape, one per input entry)."""
    out_shape, x_shape = _shape(out), _shape(x)
    m, n = math.prod(out_shape), math.prod(x_shape)
    if any(isinstance(p, Value) for p in pieces):     # inside a transform: J = Σ_i e_i ⊗ row_i
        total: Any = 0.0
        for i, piece in enumerate(pieces):
            unit = np.zeros((m, 1) if by_rows else (1, n))
            unit.flat[i] = 1.0
            total = total + unit * _as_value(piece).reshape((1, n) if by_rows else (m, 1))
        return total.reshape(out_shape + x_shape)
    dtype = np.result_type(_dtype(out), _dtype(x))
    block = np.empty((m, n), dtype=dtype)
    for i, piece in enumerate(pieces):
        if by_rows:
            block[i, :] = np.ravel(piece)
        else:
            block[:, i] = np.ravel(piece)
    if not out_shape and not x_shape and _is_float(out) and _is_float(x):
        return float(block[0, 0])
    return block.reshape(out_shape + x_shape)


# ----------------------------------------------------------------------------------------------
# Arguments, outputs and results
# ----------------------------------------------------------------------------------------------


@contextmanager
def _recording(enabled: bool) -> Iterator[None]:
    """Record ops in the block exactly when ``enabled``, whatever the caller's ``no_grad()``."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = enabled
    try:
        yield
    finally:
        STATE.grad_enabled = previous


def _call(f: Callable[..., Any], nodes: list[Any], record: bool) -> Any:
    """``f(*nodes)``, with the graph recorded (even inside ``no_grad()``) or not recorded, and
    counted as inside a transform: transforms that ``f`` calls return Values (``_nested``)."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = record
    STATE.transform_depth += 1
    try:
        return f(*nodes)
    finally:
        STATE.grad_enabled = previous
        STATE.transform_depth -= 1


def _nested(*groups: Sequence[Any]) -> bool:
    """True when the results must be Values an outer transform can differentiate: inside
    another transform's function, or when called with Values."""
    return STATE.transform_depth > 0 or any(isinstance(a, Value) for g in groups for a in g)


def _input_node(fn: str, x: Any, position: int, requires_grad: bool) -> Value:
    """A new node holding argument ``x``, which this transform differentiates with respect to.

    A number or an array becomes a leaf.  A Value (from an enclosing transform) becomes a new
    node of its graph equal to ``x`` (``x`` reshaped to its own shape, a view; ``x · 1`` for a
    float), so the enclosing transform still sees through it, while this one differentiates
    with respect to this node only — not with respect to other uses of ``x`` that ``f`` makes
    from outside (JAX's "perturbation confusion").
    """
    if isinstance(x, Value):
        node = x * 1.0 if type(x.data) is float else x.reshape(x.shape)
        if requires_grad and not node.requires_grad:
            node.requires_grad = True         # not recorded (nothing outside needs it): a leaf
        return node
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{fn}: argument {position} must be a number or an array, got "
                        f"{type(x).__name__} {x!r}")
    try:
        return Value(x, requires_grad=requires_grad)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{fn}: argument {position}: "
                        f"{str(exc).removeprefix('Value: ')}") from None


def _outputs(fn: str, out: Any, allow_tuple: bool) -> tuple[list[Value], bool]:
    """``f``'s result as a list of Values (a number or an array is a constant), and whether it
    was a tuple."""
    is_tuple = isinstance(out, tuple)
    if is_tuple and not allow_tuple:
        raise TypeError(f"{fn}: f must return a scalar Value, got a tuple of {len(out)}")
    items = out if is_tuple else (out,)
    if is_tuple and not items:
        raise ValueError(f"{fn}: f returned an empty tuple")
    values = []
    for item in items:
        if isinstance(item, Value):
            values.append(item)
        elif isinstance(item, (int, float, np.number, np.ndarray)) and not isinstance(item, bool):
            values.append(Value(item, requires_grad=False))
        else:
            what = "a Value or a tuple of Values" if allow_tuple else "a scalar Value"
            raise TypeError(f"{fn}: f must return {what}, got {type(item).__name__}")
    return values, is_tuple


def _per_output(fn: str, what: str, given: Any, outs: list[Value], is_tuple: bool) -> list[Any]:
    """One ``what`` (cotangent) per output, each checked against its output's shape."""
    if is_tuple:
        if not isinstance(given, (tuple, list)) or len(given) != len(outs):
            raise ValueError(f"{fn}: f returns a tuple of {len(outs)}, so the {what} must be a "
                             f"tuple of {len(outs)}, got {type(given).__name__}")
        return [_like(fn, f"{what}[{k}]", u, o, f"output {k}") for k, (u, o) in
                enumerate(zip(given, outs))]
    return [_like(fn, what, given, outs[0], "the output")]


def _like(fn: str, what: str, given: Any, ref: Value, ref_name: str) -> Any:
    """A tangent or cotangent ``given`` for ``ref``: checked to have its shape, and in its form
    (a float for a float, an array of its dtype) unless it is a Value."""
    data = ref.data
    if type(given) is np.ndarray and type(data) is np.ndarray and given.shape == data.shape \
            and given.dtype == data.dtype:
        return given                          # the common case: already its shape and dtype
    if isinstance(given, Value):
        if tuple(given.shape) != tuple(ref.shape):
            raise ValueError(f"{fn}: {what} has shape {tuple(given.shape)} but {ref_name} has "
                             f"shape {tuple(ref.shape)}")
        return given
    if isinstance(given, (str, bytes)) or given is None:
        raise TypeError(f"{fn}: {what} must be a number or an array, got "
                        f"{type(given).__name__}")
    try:
        arr = np.asarray(given)
    except ValueError:
        raise ValueError(f"{fn}: {what} must be a rectangular array of numbers") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {what} must hold real numbers, got dtype {arr.dtype}")
    if arr.shape != _shape(ref):
        raise ValueError(f"{fn}: {what} has shape {arr.shape} but {ref_name} has shape "
                         f"{_shape(ref)}")
    if type(data) is float:
        return float(arr)
    return arr.astype(data.dtype, copy=False)


def _zeros_like(like: Any) -> Any:
    """0.0 for a float (or a Value holding one), else zeros of its shape and dtype."""
    data = like.data if isinstance(like, Value) else like
    return 0.0 if type(data) is float else np.zeros(np.shape(data), dtype=_dtype(like))


def _result(x: Any, like: Any, nested: bool) -> Any:
    """A result as the caller gets it: a Value inside another transform, else a float or a new
    array; ``None`` (nothing reached it) is zero in the form of ``like``."""
    if x is None:
        x = _zeros_like(like)
    if nested:
        return x if isinstance(x, Value) else Value(x, requires_grad=False)
    data = x.data if isinstance(x, Value) else x
    return data if type(data) is float else np.array(data)


def _results(outs: list[Value], is_tuple: bool, nested: bool) -> Any:
    """``f``'s outputs as the caller gets them (see ``_result``)."""
    results = tuple(o if nested else _result(o.data, o, False) for o in outs)
    return results if is_tuple else results[0]


def _as_value(x: Any) -> Value:
    return x if isinstance(x, Value) else Value(x, requires_grad=False)


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if isinstance(x, Value) else np.shape(x)


def _size(x: Any) -> int:
    return math.prod(_shape(x))


def _dtype(x: Any) -> np.dtype[Any]:
    data = x.data if isinstance(x, Value) else x
    return np.dtype(np.float64) if type(data) is float else np.asarray(data).dtype


def _is_float(x: Any) -> bool:
    return type(x.data if isinstance(x, Value) else x) is float


def _sequence(fn: str, what: str, given: Any) -> tuple[Any, ...]:
    """``primals``, ``tangents`` or ``vectors``: a tuple or list, one entry per argument."""
    if not isinstance(given, (tuple, list)):
        raise TypeError(f"{fn}: {what} must be a tuple or list with one entry per argument of "
                        f"f, got {type(given).__name__} (for one argument x write (x,))")
    if not given:
        raise ValueError(f"{fn}: {what} is empty; f needs at least one argument")
    return tuple(given)


def _primals_and(fn: str, primals: Any, kind: str, directions: Any
                 ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """``primals`` and their ``tangents`` (or ``vectors``): one direction per primal."""
    primals, directions = _sequence(fn, "primals", primals), _sequence(fn, kind + "s", directions)
    if len(directions) != len(primals):
        raise ValueError(f"{fn}: expected one {kind} per primal ({len(primals)}), got "
                         f"{len(directions)}")
    return primals, directions


def _check_function(fn: str, f: Any) -> None:
    if not callable(f):
        raise TypeError(f"{fn}: f must be a function, got {type(f).__name__}")


def _check_argnums_type(fn: str, argnums: Any) -> None:
    items = argnums if isinstance(argnums, tuple) else (argnums,)
    if not items or any(not isinstance(i, (int, np.integer)) or isinstance(i, bool)
                        for i in items):
        raise TypeError(f"{fn}: argnums must be an int or a non-empty tuple of ints, got "
                        f"{argnums!r}")


def _argnums(fn: str, argnums: Argnums, count: int) -> tuple[int, ...]:
    """``argnums`` as a tuple of positions, checked against the number of arguments."""
    items = argnums if isinstance(argnums, tuple) else (argnums,)
    nums = []
    for i in items:
        if not -count <= i < count:
            raise ValueError(f"{fn}: argnums {i} is out of range for a function called with "
                             f"{count} argument{'s' if count != 1 else ''}")
        nums.append(int(i) % count)
    if len(set(nums)) != len(nums):
        raise ValueError(f"{fn}: argnums {argnums!r} names an argument twice")
    return tuple(nums)

