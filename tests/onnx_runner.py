"""Running an exported ONNX file in the tests: ONNX Runtime, or ONNX's own reference evaluator
for the float64 ops ONNX Runtime has no CPU kernel for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ORT_HAS_NO_FLOAT64 = frozenset({"Conv", "AveragePool"})
"""Ops ONNX Runtime (1.32, CPU) cannot run in float64 ("Could not find an implementation")."""


def onnx_session(ort: Any, onnx: Any, path: Path) -> Callable[..., list[np.ndarray]]:
    """``run(*inputs) -> outputs`` for the model at ``path``: ONNX Runtime where it has a kernel
    for every node, else ONNX's reference evaluator (plain NumPy, slower)."""
    model = onnx.load(path)
    names = [i.name for i in model.graph.input]
    if model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE and any(
            n.op_type in ORT_HAS_NO_FLOAT64 for n in model.graph.node):
        from onnx.reference import ReferenceEvaluator

        session: Any = ReferenceEvaluator(model)
    else:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda *inputs: list(session.run(None, dict(zip(names, inputs, strict=True))))


def run_onnx(ort: Any, onnx: Any, path: Path, *inputs: np.ndarray) -> list[np.ndarray]:
    """The model's outputs for one set of inputs (see ``onnx_session``)."""
    return onnx_session(ort, onnx, path)(*inputs)
