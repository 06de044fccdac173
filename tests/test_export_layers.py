"""Every layer type in the export table, both ways to PyTorch and out to ONNX.

A layer type that exports has one entry in ``tinygrad_nn/export/layer_table.py`` and one example
here (``EXAMPLES``); the first test fails until both exist for every layer in ``nn.LAYER_TYPES``
(losses excepted), so a new layer cannot be silently missing from export.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinygrad_nn import nn
from tinygrad_nn.export import from_torch, to_onnx, to_torch
from tinygrad_nn.export.layer_table import BY_LAYER

EXAMPLES: dict[type[nn.Module], Callable[[Any], nn.Module]] = {
    nn.Linear: lambda dtype: nn.Linear(5, 4, rng=2, dtype=dtype),
    nn.Sigmoid: lambda dtype: nn.Sigmoid(),
    nn.Tanh: lambda dtype: nn.Tanh(),
    nn.ReLU: lambda dtype: nn.ReLU(),
    nn.LeakyReLU: lambda dtype: nn.LeakyReLU(),       # 0.01: not exact in float32
    nn.Softplus: lambda dtype: nn.Softplus(),
    nn.Identity: lambda dtype: nn.Identity(),
    nn.Softmax: lambda dtype: nn.Softmax(),
}
"""One instance of each exportable layer type, for a dtype."""

VARIANTS: dict[str, Callable[[Any], nn.Module]] = {
    "Linear(bias=False)": lambda dtype: nn.Linear(5, 3, bias=False, rng=3, dtype=dtype),
    "LeakyReLU(0.2)": lambda dtype: nn.LeakyReLU(0.2),
    "Softmax(axis=0)": lambda dtype: nn.Softmax(axis=0),
}
"""Settings beyond the defaults that change the exported nodes."""

CASES = {**{cls.__name__: make for cls, make in EXAMPLES.items()}, **VARIANTS}
DTYPES = {"float64": 1e-9, "float32": 1e-5}
"""The dtypes exported, with the largest difference allowed between ONNX Runtime and here."""
N_INPUTS = 1000


def network(make: Callable[[Any], nn.Module], dtype: str) -> nn.Sequential:
    """The layer after a Linear, so it sees varied inputs and the model has a dtype."""
    return nn.Sequential(nn.Linear(5, 5, rng=1, dtype=dtype), make(dtype))


def inputs(batch: int, dtype: str, seed: int = 0) -> list[np.ndarray]:
    """At least N_INPUTS random samples in batches of ``batch``, spread wide (σ = 3)."""
    count = -(-N_INPUTS // batch)
    rng = np.random.default_rng(seed)
    return list((3 * rng.normal(size=(count, batch, 5))).astype(dtype))


def test_every_layer_type_has_an_export_entry_and_an_example() -> None:
    layer_types = {cls for cls in nn.LAYER_TYPES.values()       # the package's own (a docs page
                   if cls.__module__.startswith("tinygrad_nn.")     # registers one of a user's)
                   and not issubclass(cls, nn.Loss) and cls is not nn.Sequential}
    def names(types: set[type[nn.Module]]) -> list[str]:
        return sorted(cls.__name__ for cls in types)

    assert set(BY_LAYER) == layer_types, (
        f"add an entry to tinygrad_nn/export/layer_table.py for "
        f"{names(layer_types - set(BY_LAYER))}; entries for unregistered layers: "
        f"{names(set(BY_LAYER) - layer_types)}")
    assert set(EXAMPLES) == layer_types, (
        f"add an example to EXAMPLES for {names(layer_types - set(EXAMPLES))}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_onnx_runtime_matches_the_engine(case: str, dtype: str, tmp_path: Path, onnx: Any,
                                         ort: Any) -> None:
    """1,000 random inputs at batch sizes 1 and 37, through one file with a dynamic batch."""
    model = network(CASES[case], dtype)
    path = to_onnx(model, tmp_path / "m.onnx", input_shape=(1, 5))
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", 5]
    worst = 0.0
    for batch in (1, 37):
        for x in inputs(batch, dtype):
            [got] = session.run(None, {"input": x})
            want = model(x).data
            assert got.dtype == want.dtype and got.shape == want.shape
            worst = max(worst, float(np.abs(got - want).max()))
    assert worst <= DTYPES[dtype], f"{case} {dtype}: max |ONNX Runtime - engine| = {worst:.3g}"


def test_linear_on_a_batch_of_sequences_goes_through_matmul(tmp_path: Path, onnx: Any,
                                                           ort: Any) -> None:
    """Input (batch, time, features): no Gemm (2-D only) but Transpose, MatMul, Add."""
    model = network(EXAMPLES[nn.Linear], "float64")
    path = to_onnx(model, tmp_path / "m.onnx", input_shape=(1, 7, 5))
    assert {n.op_type for n in onnx.load(path).graph.node} == {"Transpose", "MatMul", "Add"}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).normal(size=(3, 7, 5))
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model(x).data, rtol=0,
                               atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_torch_round_trip_is_bit_identical(case: str, dtype: str, torch: Any) -> None:
    model = network(CASES[case], dtype)
    torch_model = to_torch(model)
    assert all(p.dtype == getattr(torch, dtype) for p in torch_model.parameters())
    back = from_torch(torch_model)
    assert back.config() == model.config()
    for (name, a), (name_back, b) in zip(model.state_dict().items(),
                                         back.state_dict().items(), strict=True):
        assert name == name_back and a.dtype == b.dtype
        assert a.tobytes() == b.tobytes(), name
    x = inputs(37, dtype)[0]
    out = torch_model(torch.from_numpy(x)).detach().numpy()
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(out, model(x).data, rtol=0, atol=tolerance)
