"""Running an exported ONNX file in the tests: ONNX Runtime, or ONNX's own reference evaluator
for the float64 ops ONNX Runtime has no CPU kernel for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

ORT_HAS_NO_FLOAT64 = frozenset({"Conv", "AveragePool"})
"""Ops ONNX Runtime (1.32, CPU) cannot run in float64 ("Could not find an implementation")."""


def run_onnx(ort: Any, onnx: Any, path: Path, *inputs: np.ndarray) -> list[np.ndarray]:
    """The model's outputs for ``inputs``, by ONNX Runtime where it runs every node."""
    model = onnx.load(path)
    float64 = onnx.TensorProto.DOUBLE
    if model.graph.input[0].type.tensor_type.elem_type == float64 and any(
            n.op_type in ORT_HAS_NO_FLOAT64 for n in model.graph.node):
        from onnx.reference import ReferenceEvaluator

        session = ReferenceEvaluator(model)
        names = [i.name for i in model.graph.input]
        return list(session.run(None, dict(zip(names, inputs, strict=True))))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return list(session.run(None, dict(zip(names, inputs, strict=True))))
