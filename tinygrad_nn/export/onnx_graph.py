"""An ONNX graph under construction: nodes, initializers, inputs and outputs, with ``onnx.helper``.

``OnnxGraph`` is shared by ``to_onnx`` (one model, layer by layer) and ``trace_to_onnx`` (a
recorded computation, op by op).  It names every value, turns arrays into initializers, and
``save`` checks the finished model with ``onnx.checker.check_model(full_check=True)`` before
writing it atomically.  ``linear`` and ``reduce`` are the node patterns both exporters emit.

The opset is 18 or newer: from 18 on, every reduction takes its axes as an input, so one
pattern serves all of them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..checkpoint import write_atomically
from ..errors import ExportError
from ..version import __version__
from .optional import require

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "OnnxGraph", "check_opset", "leaky_relu", "linear",
           "reduce"]

PathLike = str | os.PathLike[str]
Shape = Sequence[int | str]

MIN_OPSET = 18
"""The oldest ONNX opset written: reductions take their axes as an input from 18 on."""

DEFAULT_OPSET = 18
"""The opset used unless one is asked for: the oldest that works, so most runtimes read it."""


def check_opset(opset: Any, fn: str) -> int:
    """``opset`` as an int from MIN_OPSET to the newest the installed onnx knows (None: default)."""
    onnx = require("onnx", fn)
    newest = int(onnx.defs.onnx_opset_version())
    if opset is None:
        return DEFAULT_OPSET
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) \
            or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"{fn}: opset must be an integer from {MIN_OPSET} to {newest} (the "
                         f"newest this onnx {onnx.__version__} knows), got {opset!r}")
    return int(opset)


class OnnxGraph:
    """The nodes, initializers and inputs of one ONNX graph, each value under a fresh name."""

    def __init__(self, fn: str) -> None:
        self.fn = fn
        self.onnx = require("onnx", fn)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.inputs: list[Any] = []
        self._count = itertools.count()
        self._renamed: dict[str, str] = {}

    def fresh(self, hint: str) -> str:
        """A new value name: ``hint`` and a number."""
        return f"{hint}_{next(self._count)}"

    def add_input(self, name: str, dtype: np.dtype[Any], shape: Shape) -> str:
        """Declare a graph input (a ``str`` in ``shape`` is a symbolic axis, e.g. "batch")."""
        self.inputs.append(self._value_info(name, dtype, shape))
        return name

    def constant(self, array: Any, hint: str = "const") -> str:
        """Store ``array`` (dtype kept) as an initializer; returns its name."""
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op_type: str, inputs: Sequence[str], hint: str | None = None,
             **attributes: Any) -> str:
        """Append an ONNX node with one output; returns the output's name."""
        out = self.fresh(hint or op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out], name=out,
                                                     **attributes))
        return out

    def save(self, path: PathLike, outputs: Sequence[tuple[str, str, np.dtype[Any], Shape]],
             opset: int) -> Path:
        """Name the outputs ``(value, name, dtype, shape)``, check the model, write it."""
        onnx, helper = self.onnx, self.onnx.helper
        declared = []
        for value, name, dtype, shape in outputs:
            self._name_output(value, name)
            declared.append(self._value_info(name, dtype, shape))
        graph = helper.make_graph(self.nodes, "tinygrad_nn", self.inputs, declared,
                                  self.initializers)
        opsets = [helper.make_opsetid("", opset)]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="tinygrad_nn",
                                  producer_version=__version__,
                                  ir_version=helper.find_min_ir_version_for(opsets))
        try:
            onnx.checker.check_model(model, full_check=True)
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
            raise ExportError(f"{self.fn}: the ONNX model fails onnx.checker: {exc}") from None
        data = model.SerializeToString()

        def write(f: IO[bytes]) -> None:
            f.write(data)

        return write_atomically(path, write, self.fn)

    def _name_output(self, value: str, name: str) -> None:
        """Give the value ``value`` the output name ``name`` (an Identity node where needed)."""
        value = self._renamed.get(value, value)
        fixed = ({i.name for i in self.inputs} | {i.name for i in self.initializers}
                 | set(self._renamed.values()))
        if value not in fixed and any(value in n.output for n in self.nodes):
            for n in self.nodes:              # rename everywhere the value is used
                n.input[:] = [name if v == value else v for v in n.input]
                n.output[:] = [name if v == value else v for v in n.output]
            self._renamed[value] = name
        else:                                 # a graph input, a constant, or an output already
            self.nodes.append(self.onnx.helper.make_node("Identity", [value], [name], name=name))

    def _value_info(self, name: str, dtype: np.dtype[Any], shape: Shape) -> Any:
        helper = self.onnx.helper
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(dtype),
                                             list(shape))


def linear(g: OnnxGraph, x: str, weight: str, bias: str | None, x_rank: int) -> str:
    """y = x·Wᵀ + b: ``Gemm`` (transB=1) for a batch of rows, else Transpose, MatMul and Add."""
    if x_rank == 2:
        return g.node("Gemm", [x, weight] + ([bias] if bias else []), transB=1)
    out = g.node("MatMul", [x, g.node("Transpose", [weight], perm=[1, 0])])
    return g.node("Add", [out, bias]) if bias else out


def leaky_relu(g: OnnxGraph, x: str, slope: float, dtype: np.dtype[Any]) -> str:
    """x where x > 0, else slope·x: ``PRelu`` with the slope as a constant of the data's dtype.

    (``LeakyRelu``'s alpha is a float32 attribute: 0.01 would become 0.0099999998, off by
    2e-8 relative, far beyond float64's precision.)
    """
    return g.node("PRelu", [x, g.constant(np.asarray(slope, dtype=dtype), "slope")])


def reduce(g: OnnxGraph, op_type: str, x: str, axes: Sequence[int] | None,
           keepdims: bool) -> str:
    """``ReduceSum``/``ReduceMean``/``ReduceMax`` over ``axes`` (all axes for None)."""
    inputs = [x] if axes is None else [x, g.constant(np.array(axes, dtype=np.int64), "axes")]
    return g.node(op_type, inputs, keepdims=int(keepdims))
