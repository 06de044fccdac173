"""``to_onnx``: a model as an ONNX file, layer by layer through the layer table (no PyTorch).

Each layer appends its nodes (``LayerMapping.onnx``); the parameters become initializers in
the model's dtype.  The input is called "input" and the result "output"; with
``dynamic_batch=True`` their first axis is the symbolic "batch", so one file serves any batch
size.  The model is run once on zeros of ``input_shape`` first, in evaluation mode, which checks
the shape and gives every layer the shape of its input; the file computes what the model
computes in evaluation mode (Dropout is the identity, BatchNorm uses its running statistics).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn
from ..errors import ExportError
from ..value import no_grad
from .layer_table import walk
from .onnx_graph import OnnxGraph, check_opset

__all__ = ["to_onnx"]

PathLike = str | os.PathLike[str]


def to_onnx(model: nn.Module, path: PathLike, *, input_shape: Sequence[int],
            opset: int | None = None, dynamic_batch: bool = True) -> Path:
    """Write ``model`` to ``path`` as an ONNX model that ``onnx.checker`` accepts (full check).

    ``input_shape`` is the shape of one input including the batch axis, e.g. ``(1, 64)``;
    ``dynamic_batch=True`` makes that first axis symbolic ("batch").  ``opset`` defaults to
    ``onnx_graph.DEFAULT_OPSET``.  Unknown layers and losses raise ExportError naming them, a
    wrong ``input_shape`` the error the model gives; nothing is written then.  Needs the
    ``onnx`` package (``pip install 'tinygrad-nn[onnx]'``).
    """
    fn = "to_onnx"
    layers = list(walk(model, fn))
    shape = _check_shape(input_shape, dynamic_batch, fn)
    version = check_opset(opset, fn)
    dtypes = {p.dtype for p in model.parameters()}
    if len(dtypes) > 1:
        raise ExportError(f"{fn}: the parameters mix dtypes {sorted(d.name for d in dtypes)}; "
                          f"ONNX needs one")
    dtype = dtypes.pop() if dtypes else np.dtype(np.float64)
    graph = OnnxGraph(fn)
    batch: list[int | str] = ["batch"] if dynamic_batch else []
    value = graph.add_input("input", dtype, batch + list(shape[len(batch):]))
    sample = np.zeros(shape, dtype=dtype)
    mode = model.training                 # the file is the model as it evaluates: Dropout off,
    model.eval()                          # BatchNorm by its running statistics (kept as they are)
    try:
        with no_grad():
            for _, _, layer, mapping in layers:
                value = mapping.onnx(graph, layer, value, sample)
                try:
                    sample = np.asarray(layer(sample).data)
                except (TypeError, ValueError) as exc:
                    raise ExportError(f"{fn}: the model does not take inputs of shape {shape}: "
                                      f"{exc}") from None
    finally:
        model.train(mode)
    out_shape = batch + list(sample.shape[len(batch):])
    return graph.save(path, [(value, "output", dtype, out_shape)], version)


def _check_shape(input_shape: Any, dynamic_batch: bool, fn: str) -> tuple[int, ...]:
    """``input_shape`` as a tuple of positive ints; with a dynamic batch, at least two of them."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = ()
    if not shape or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                            and n > 0 for n in shape):
        raise ValueError(f"{fn}: input_shape must be a tuple of positive integers including the "
                         f"batch axis, e.g. (1, 64), got {input_shape!r}")
    if dynamic_batch and len(shape) < 2:
        raise ValueError(f"{fn}: input_shape {shape} has no batch axis to make dynamic; give "
                         f"(batch, features), e.g. (1, {shape[0]}), or dynamic_batch=False")
    return tuple(int(n) for n in shape)
