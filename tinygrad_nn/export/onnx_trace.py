"""``trace_to_onnx``: any function built from the rule table's ops, recorded once, as ONNX.

The function runs on the example inputs (as Values that require grad, so every op that depends
on them is recorded); ``graph.toposort`` lists the recorded nodes, parents first, and each
node's op becomes ONNX nodes through ``OPS``, one entry per op of the rule table
(``tinygrad_nn.ops.TABLE``).  Only the public node attributes are read: ``op.name``,
``parents``, ``params``, ``data``, ``is_leaf``.  Leaves that are not inputs (parameters,
constants) become initializers.  Shapes are those of the example inputs: the traced program is
the computation that ran, with the example's shapes fixed.  Forward only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ExportError
from ..graph import toposort
from ..value import Value
from .onnx_graph import OnnxGraph, check_opset, leaky_relu, linear, reduce

__all__ = ["OPS", "UNSUPPORTED", "trace_to_onnx"]

PathLike = str | os.PathLike[str]
Emit = Callable[["Tracer", Any], str]


def trace_to_onnx(fn: Callable[..., Any], *example_inputs: Any, path: PathLike,
                  opset: int | None = None) -> Path:
    """Run ``fn(*example_inputs)`` once, recording its ops, and write them as an ONNX model.

    The inputs are named "input" ("input_0", "input_1", ... for several) and the result
    "output" ("output_0", ... when ``fn`` returns a tuple or list of Values).  An op with no
    ONNX mapping raises ExportError naming it; nothing is written then.  Needs the ``onnx`` package.
    """
    name = "trace_to_onnx"
    if not callable(fn):
        raise TypeError(f"{name}: fn must be callable, got {type(fn).__name__}")
    if not example_inputs:
        raise ValueError(f"{name}: give at least one example input after fn")
    version = check_opset(opset, name)
    inputs = [Value(x.data if isinstance(x, Value) else x) for x in example_inputs]
    result = fn(*inputs)
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    for i, out in enumerate(outputs):
        if not isinstance(out, Value):
            raise ExportError(f"{name}: fn must return a Value or a tuple of Values, got "
                              f"{type(out).__name__} (result {i})")
    tracer = Tracer(inputs)
    names = ["output"] if len(outputs) == 1 else [f"output_{i}" for i in range(len(outputs))]
    declared = []
    for i, (out, out_name) in enumerate(zip(outputs, names)):
        if out.is_leaf and not any(out is leaf for leaf in inputs):
            raise ExportError(f"{name}: result {i} does not depend on the inputs, so there is "
                              f"nothing to trace (was fn run under no_grad(), or does it "
                              f"detach?)")
        declared.append((tracer.emit(out), out_name, dtype_of(out), shape_of(out)))
    return tracer.graph.save(path, declared, version)


def dtype_of(node: Any) -> np.dtype[Any]:
    """The dtype of a node's data (float64 for a Python float)."""
    return np.asarray(node.data).dtype


def shape_of(node: Any) -> tuple[int, ...]:
    """The shape of a node's data (``()`` for a Python float)."""
    return np.shape(node.data)


class Tracer:
    """Turns recorded nodes into ONNX values: inputs, op results, and constants on demand."""

    def __init__(self, inputs: Sequence[Value]) -> None:
        self.graph = OnnxGraph("trace_to_onnx")
        self.names: dict[int, str] = {}       # inputs and op results, by id(node)
        self._typed: dict[tuple[int, str], str] = {}
        for i, leaf in enumerate(inputs):
            name = "input" if len(inputs) == 1 else f"input_{i}"
            self.names[id(leaf)] = self.graph.add_input(name, dtype_of(leaf), shape_of(leaf))

    def emit(self, root: Any) -> str:
        """The ONNX value of ``root``, appending the nodes of every op it depends on."""
        for node in toposort(root):
            if node.is_leaf or id(node) in self.names:
                continue
            op = node.op.name
            if op not in OPS:
                why = UNSUPPORTED.get(op, "it has no ONNX mapping yet")
                raise ExportError(f"trace_to_onnx: op {op!r} cannot be exported: {why}")
            self.names[id(node)] = OPS[op](self, node)
        return self.value(root, dtype_of(root))

    def value(self, node: Any, dtype: np.dtype[Any]) -> str:
        """``node`` as an ONNX value of ``dtype``: a constant for a leaf that is not an input,
        a Cast where the dtypes differ (each made once)."""
        key = (id(node), dtype.name)
        if key not in self._typed:
            if id(node) not in self.names:    # a parameter or a constant
                self._typed[key] = self.graph.constant(np.asarray(node.data, dtype=dtype),
                                                       "const")
            elif dtype_of(node) == dtype:
                self._typed[key] = self.names[id(node)]
            else:
                to = self.graph.onnx.helper.np_dtype_to_tensor_dtype(dtype)
                self._typed[key] = self.graph.node("Cast", [self.names[id(node)]], to=to)
        return self._typed[key]

    def arg(self, node: Any, i: int) -> str:
        """Input ``i`` of ``node``, in the node's own dtype (NumPy's promotion, made explicit)."""
        return self.value(node.parents[i], dtype_of(node))

    def args(self, node: Any) -> list[str]:
        """All of ``node``'s inputs, as ``arg`` gives them."""
        return [self.arg(node, i) for i in range(len(node.parents))]

    def constant(self, node: Any, value: Any) -> str:
        """A constant in the node's dtype (exponents, divisors)."""
        return self.graph.constant(np.asarray(value, dtype=dtype_of(node)), "const")


# ----------------------------------------------------------------------------------------------
# One entry per op of the rule table
# ----------------------------------------------------------------------------------------------


def _same(onnx_op: str, **attributes: Any) -> Emit:
    """An op that is one ONNX op of the same meaning on the same inputs."""
    return lambda t, node: t.graph.node(onnx_op, t.args(node), **attributes)


def _axis_op(onnx_op: str) -> Emit:
    """softmax and log_softmax: one axis, a parameter."""
    return lambda t, node: t.graph.node(onnx_op, t.args(node), axis=node.params[0])


def _reduction(onnx_op: str) -> Emit:
    """sum, mean, max: ``params`` are (axes or None, keepdims)."""
    return lambda t, node: reduce(t.graph, onnx_op, t.arg(node, 0), *node.params)


def _powc(t: Tracer, node: Any) -> str:
    return t.graph.node("Pow", [t.arg(node, 0), t.constant(node, node.params[0])])


def _shape_op(onnx_op: str) -> Emit:
    """reshape, broadcast_to: the target shape as an int64 input."""
    return lambda t, node: t.graph.node(
        onnx_op, [t.arg(node, 0), t.graph.constant(np.array(node.params[0], np.int64), "shape")])


def _linear(t: Tracer, node: Any) -> str:
    args = t.args(node)
    return linear(t.graph, args[0], args[1], args[2] if len(args) > 2 else None,
                  len(shape_of(node.parents[0])))


def _mse(t: Tracer, node: Any) -> str:
    """Σ (p − t)², divided by the number of entries for "mean"."""
    g = t.graph
    d = g.node("Sub", t.args(node))
    total = reduce(g, "ReduceSum", g.node("Mul", [d, d]), None, False)
    if node.params[0] == "sum":
        return total
    return g.node("Div", [total, t.constant(node, math.prod(shape_of(node.parents[0])))])


def _cross_entropy(t: Tracer, node: Any) -> str:
    """−(1/N) Σ target ⊙ log softmax(x); the target rows are a parameter (a constant)."""
    g = t.graph
    log_p = g.node("LogSoftmax", [t.arg(node, 0)], axis=-1)
    picked = g.node("Mul", [t.constant(node, node.params[0]), log_p])
    total = reduce(g, "ReduceSum", picked, None, False)
    mean = g.node("Div", [total, t.constant(node, shape_of(node.parents[0])[0])])
    return g.node("Neg", [mean])


def _getitem(t: Tracer, node: Any) -> str:
    """Integers and slices (Gather, Slice), None (Unsqueeze), ``...``, one integer array."""
    g, x = t.graph, t.arg(node, 0)
    index = node.params[0]
    parts = list(index) if isinstance(index, tuple) else [index]
    shape = list(shape_of(node.parents[0]))
    arrays = [p for p in parts if isinstance(p, np.ndarray)]
    ints = [p for p in parts if isinstance(p, (int, np.integer)) and not isinstance(p, bool)]
    if len(arrays) > 1 or (arrays and ints) or any(
            isinstance(p, (bool, np.bool_)) or (isinstance(p, np.ndarray)
                                                and p.dtype.kind not in "iu") for p in parts):
        raise ExportError(f"trace_to_onnx: op 'getitem' with index {index!r} cannot be "
                          f"exported: only integers, slices, None, ... and at most one integer "
                          f"array (without integers beside it) map to ONNX")
    used = sum(p is not None and p is not Ellipsis for p in parts)
    axis = 0
    for part in parts:
        if part is Ellipsis:
            axis += len(shape) - used
        elif part is None:
            x = g.node("Unsqueeze", [x, g.constant(np.array([axis], np.int64), "axes")])
            shape.insert(axis, 1)
            axis += 1
        elif isinstance(part, slice):
            x = _slice(g, x, part, axis, shape)
            axis += 1
        elif isinstance(part, np.ndarray):
            x = g.node("Gather", [x, g.constant(part.astype(np.int64), "index")], axis=axis)
            shape[axis:axis + 1] = part.shape
            axis += part.ndim
        elif isinstance(part, (int, np.integer)):
            x = g.node("Gather", [x, g.constant(np.array(int(part), np.int64), "index")],
                       axis=axis)
            del shape[axis]
        else:
            raise ExportError(f"trace_to_onnx: op 'getitem': index part {part!r} cannot be "
                              f"exported")
    return x


def _slice(g: OnnxGraph, x: str, part: slice, axis: int, shape: list[int]) -> str:
    """``x[..., start:stop:step, ...]`` on ``axis``, with the bounds the example's shape gives."""
    start, stop, step = part.indices(shape[axis])
    if step < 0 and stop < 0:                # stop -1 from indices() means "past the front"
        stop = -shape[axis] - 1
    shape[axis] = len(range(*part.indices(shape[axis])))
    ints = [g.constant(np.array([v], np.int64), name)
            for v, name in ((start, "starts"), (stop, "ends"), (axis, "axes"), (step, "steps"))]
    return g.node("Slice", [x, *ints])


def _ints(g: OnnxGraph, values: Sequence[int], hint: str) -> str:
    """An int64 constant (axes, shapes, pads, slice bounds)."""
    return g.constant(np.array(values, dtype=np.int64), hint)


def _stack(t: Tracer, node: Any) -> str:
    """Each input gets the new axis (Unsqueeze), then Concat joins them along it."""
    axis = node.params[0]
    parts = [t.graph.node("Unsqueeze", [x, _ints(t.graph, [axis], "axes")]) for x in t.args(node)]
    return t.graph.node("Concat", parts, axis=axis)


def _where(t: Tracer, node: Any) -> str:
    cond = t.graph.constant(np.asarray(node.params[0], dtype=bool), "condition")
    return t.graph.node("Where", [cond, *t.args(node)])


def _clip(t: Tracer, node: Any) -> str:
    """Clip's bounds are optional inputs: "" leaves one out."""
    low, high = node.params
    bounds = ["" if b is None else t.constant(node, b) for b in (low, high)]
    return t.graph.node("Clip", [t.arg(node, 0), *bounds])


def _var(t: Tracer, node: Any) -> str:
    """Σ (x − mean)² / (n − ddof), the mean kept on the reduced axes."""
    g, x = t.graph, t.arg(node, 0)
    axes, ddof, keepdims = node.params
    d = g.node("Sub", [x, reduce(g, "ReduceMean", x, axes, True)])
    total = reduce(g, "ReduceSum", g.node("Mul", [d, d]), axes, keepdims)
    shape = shape_of(node.parents[0])
    n = math.prod(shape) if axes is None else math.prod(shape[a] for a in axes)
    return g.node("Div", [total, t.constant(node, n - ddof)])


def _pad(t: Tracer, node: Any) -> str:
    """ONNX lists every axis's "before" count, then every "after" count."""
    widths, value = node.params
    pads = [b for b, _ in widths] + [a for _, a in widths]
    return t.graph.node("Pad", [t.arg(node, 0), _ints(t.graph, pads, "pads"),
                                t.constant(node, value)], mode="constant")


def _unfold(t: Tracer, node: Any) -> str:
    """One strided Slice per kernel offset (i, j), each (N, C, Ho, Wo), stacked in front, the
    channels before the images: (kh·kw, C, N, Ho, Wo), reshaped to (kh, kw, C, N, Ho, Wo)."""
    g = t.graph
    (kh, kw), (sh, sw), (ph, pw) = node.params
    x = t.arg(node, 0)
    if ph or pw:
        x = g.node("Pad", [x, _ints(g, [0, 0, ph, pw, 0, 0, ph, pw], "pads")], mode="constant")
    ho, wo = shape_of(node)[4:]
    parts = []
    for i in range(kh):
        for j in range(kw):
            part = g.node("Slice", [x, _ints(g, [i, j], "starts"),
                                    _ints(g, [i + sh * (ho - 1) + 1, j + sw * (wo - 1) + 1],
                                          "ends"),
                                    _ints(g, [2, 3], "axes"), _ints(g, [sh, sw], "steps")])
            parts.append(g.node("Unsqueeze", [part, _ints(g, [0], "axes")]))
    joined = g.node("Transpose", [g.node("Concat", parts, axis=0)], perm=[0, 2, 1, 3, 4])
    return g.node("Reshape", [joined, _ints(g, list(shape_of(node)), "shape")])


def _conv2d(t: Tracer, node: Any) -> str:
    stride, (ph, pw) = node.params
    kernel = list(shape_of(node.parents[1])[2:])
    return t.graph.node("Conv", t.args(node), kernel_shape=kernel, strides=list(stride),
                        pads=[ph, pw, ph, pw])


OPS: dict[str, Emit] = {
    "add": _same("Add"), "sub": _same("Sub"), "mul": _same("Mul"), "div": _same("Div"),
    "neg": _same("Neg"), "pow": _same("Pow"), "powc": _powc, "matmul": _same("MatMul"),
    "exp": _same("Exp"), "log": _same("Log"), "sqrt": _same("Sqrt"), "abs": _same("Abs"),
    "tanh": _same("Tanh"), "sigmoid": _same("Sigmoid"), "relu": _same("Relu"),
    "leaky_relu": lambda t, node: leaky_relu(t.graph, t.arg(node, 0), node.params[0],
                                             dtype_of(node)),
    "softplus": _same("Softplus"),
    "sum": _reduction("ReduceSum"), "mean": _reduction("ReduceMean"),
    "max": _reduction("ReduceMax"),
    "reshape": _shape_op("Reshape"), "broadcast_to": _shape_op("Expand"),
    "transpose": lambda t, node: t.graph.node("Transpose", t.args(node),
                                              perm=list(node.params[0])),
    "getitem": _getitem,
    "softmax": _axis_op("Softmax"), "log_softmax": _axis_op("LogSoftmax"),
    "linear": _linear, "mse": _mse, "cross_entropy": _cross_entropy,
    "concatenate": lambda t, node: t.graph.node("Concat", t.args(node), axis=node.params[0]),
    "stack": _stack, "where": _where, "clip": _clip,
    "maximum": _same("Max"), "minimum": _same("Min"), "min": _reduction("ReduceMin"),
    "logsumexp": _reduction("ReduceLogSumExp"), "var": _var, "pad": _pad, "unfold": _unfold,
    "conv2d": _conv2d,
}
"""Every rule-table op that exports, by name, to the function that appends its ONNX nodes."""

_BACKWARD_ONLY = ("it only appears in graphs recorded by backward(create_graph=True), and "
                  "trace_to_onnx exports forward computations")

UNSUPPORTED: dict[str, str] = {"scatter": _BACKWARD_ONLY, "fold": _BACKWARD_ONLY}
"""The rule-table ops that do not export, with the reason the error gives."""
