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
from onnx_runner import onnx_session

from tinygrad_nn import nn
from tinygrad_nn.export import from_torch, to_onnx, to_torch
from tinygrad_nn.export.layer_table import BY_LAYER


def _random_state(layer: nn.Module, seed: int) -> nn.Module:
    """Give every parameter and buffer random values (variances positive), so the test sees
    each of them used."""
    rng = np.random.default_rng(seed)
    for name, value in layer.state_dict().items():
        if value.dtype.kind == "f":
            drawn = rng.uniform(0.5, 2.0, value.shape) if "var" in name else rng.normal(
                size=value.shape)
            layer.load_state_dict({**layer.state_dict(), name: drawn.astype(value.dtype)})
    return layer


EXAMPLES: dict[type[nn.Module], Callable[[Any], nn.Module]] = {
    nn.Linear: lambda dtype: nn.Linear(5, 4, rng=2, dtype=dtype),
    nn.Sigmoid: lambda dtype: nn.Sigmoid(),
    nn.Tanh: lambda dtype: nn.Tanh(),
    nn.ReLU: lambda dtype: nn.ReLU(),
    nn.LeakyReLU: lambda dtype: nn.LeakyReLU(),       # 0.01: not exact in float32
    nn.Softplus: lambda dtype: nn.Softplus(),
    nn.Identity: lambda dtype: nn.Identity(),
    nn.Softmax: lambda dtype: nn.Softmax(),
    nn.Conv2d: lambda dtype: nn.Conv2d(2, 3, 3, padding=1, rng=2, dtype=dtype),
    nn.MaxPool2d: lambda dtype: nn.MaxPool2d(2),
    nn.AvgPool2d: lambda dtype: nn.AvgPool2d(2),
    nn.Flatten: lambda dtype: nn.Flatten(),
    nn.Dropout: lambda dtype: nn.Dropout(0.5, rng=0),
    nn.LayerNorm: lambda dtype: _random_state(nn.LayerNorm(5, dtype=dtype), 3),
    nn.BatchNorm1d: lambda dtype: _random_state(nn.BatchNorm1d(5, dtype=dtype), 4),
    nn.Embedding: lambda dtype: nn.Embedding(7, 3, rng=5, dtype=dtype),
}
"""One instance of each exportable layer type, for a dtype."""

VARIANTS: dict[str, Callable[[Any], nn.Module]] = {
    "Linear(bias=False)": lambda dtype: nn.Linear(5, 3, bias=False, rng=3, dtype=dtype),
    "LeakyReLU(0.2)": lambda dtype: nn.LeakyReLU(0.2),
    "Softmax(axis=0)": lambda dtype: nn.Softmax(axis=0),
    "Conv2d(stride, padding, no bias)": lambda dtype: nn.Conv2d(
        2, 4, (3, 2), stride=(2, 1), padding=(0, 1), bias=False, rng=3, dtype=dtype),
    "MaxPool2d(3, stride=1)": lambda dtype: nn.MaxPool2d(3, stride=1),
    "AvgPool2d((2, 3), stride=(1, 2))": lambda dtype: nn.AvgPool2d((2, 3), stride=(1, 2)),
    "Flatten(2)": lambda dtype: nn.Flatten(2),
    "LayerNorm(elementwise_affine=False)": lambda dtype: nn.LayerNorm(
        5, elementwise_affine=False, dtype=dtype),
    "BatchNorm1d(affine=False, momentum=None)": lambda dtype: _random_state(
        nn.BatchNorm1d(5, affine=False, momentum=None, dtype=dtype), 6),
    "BatchNorm1d(track_running_stats=False)": lambda dtype: _random_state(
        nn.BatchNorm1d(5, track_running_stats=False, dtype=dtype), 7),
    "BatchNorm1d on (N, C, L)": lambda dtype: _random_state(nn.BatchNorm1d(4, dtype=dtype), 8),
}
"""Settings beyond the defaults that change the exported nodes."""

CASES = {**{cls.__name__: make for cls, make in EXAMPLES.items()}, **VARIANTS}
DTYPES = {"float64": 1e-9, "float32": 1e-5}
"""The dtypes exported, with the largest difference allowed between ONNX Runtime and here."""
N_INPUTS = 1000

IMAGES = (2, 6, 7)
"""One input sample of the image layers: 2 channels of 6 × 7."""
INPUT_SHAPES: dict[str, tuple[int, ...]] = {
    **{name: IMAGES for name in CASES if name.startswith(("Conv2d", "MaxPool2d", "AvgPool2d",
                                                          "Flatten"))},
    "BatchNorm1d on (N, C, L)": (4, 5), "Embedding": (3,),
}
"""The shape of one sample where it is not (5,) (a batch of rows)."""


def network(case: str, dtype: str) -> nn.Sequential:
    """The layer after a Linear (a 1 × 1 Conv2d for images), so it sees varied inputs and the
    model has a dtype; an Embedding comes first (its input is indices).  In evaluation mode,
    which is what the exported files compute."""
    shape = INPUT_SHAPES.get(case, (5,))
    layer = CASES[case](dtype)
    if case == "Embedding":
        return nn.Sequential(layer).eval()
    first = (nn.Conv2d(IMAGES[0], IMAGES[0], 1, rng=1, dtype=dtype) if shape == IMAGES
             else nn.Linear(shape[-1], shape[-1], rng=1, dtype=dtype))
    return nn.Sequential(first, layer).eval()


def inputs(case: str, batch: int, dtype: str, seed: int = 0) -> list[np.ndarray]:
    """At least N_INPUTS random samples (N_INPUTS / 10 images) in batches of ``batch``, spread
    wide (σ = 3); for an Embedding, indices (as floats of ``dtype``, the model's input type)."""
    sample = INPUT_SHAPES.get(case, (5,))
    count = -(-(N_INPUTS if sample == (5,) else N_INPUTS // 10) // batch)   # images: 100
    rng = np.random.default_rng(seed)
    shape = (count, batch, *sample)
    if case == "Embedding":
        return list(rng.integers(0, 7, size=shape).astype(dtype))
    return list((3 * rng.normal(size=shape)).astype(dtype))


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
    model = network(case, dtype)
    shape = INPUT_SHAPES.get(case, (5,))
    first_batch = 2 if case.startswith("BatchNorm1d(track") else 1    # batch statistics: N ≥ 2
    path = to_onnx(model, tmp_path / "m.onnx", input_shape=(first_batch, *shape))
    graph = onnx.load(path)
    onnx.checker.check_model(graph, full_check=True)
    assert [d.dim_param or d.dim_value for d in graph.graph.input[0].type.tensor_type.shape.dim
            ] == ["batch", *shape]
    run = onnx_session(ort, onnx, path)
    worst = 0.0
    for batch in (first_batch, 37):
        for x in inputs(case, batch, dtype):
            [got] = run(x)
            want = model(x).data
            assert got.dtype == want.dtype and got.shape == want.shape
            worst = max(worst, float(np.abs(got - want).max()))
    assert worst <= DTYPES[dtype], f"{case} {dtype}: max |ONNX Runtime - engine| = {worst:.3g}"


def test_linear_on_a_batch_of_sequences_goes_through_matmul(tmp_path: Path, onnx: Any,
                                                           ort: Any) -> None:
    """Input (batch, time, features): no Gemm (2-D only) but Transpose, MatMul, Add."""
    model = network("Linear", "float64")
    path = to_onnx(model, tmp_path / "m.onnx", input_shape=(1, 7, 5))
    assert {n.op_type for n in onnx.load(path).graph.node} == {"Transpose", "MatMul", "Add"}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).normal(size=(3, 7, 5))
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model(x).data, rtol=0,
                               atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_torch_round_trip_is_bit_identical(case: str, dtype: str, torch: Any) -> None:
    model = network(case, dtype)
    torch_model = to_torch(model)
    assert all(p.dtype == getattr(torch, dtype) for p in torch_model.parameters())
    assert not torch_model.training and not any(m.training for m in torch_model.modules())
    back = from_torch(torch_model)
    assert back.config() == model.config() and not back.training
    for (name, a), (name_back, b) in zip(model.state_dict().items(),
                                         back.state_dict().items(), strict=True):
        assert name == name_back and a.dtype == b.dtype
        assert a.tobytes() == b.tobytes(), name
    x = inputs(case, 37, dtype)[0]
    tx = torch.from_numpy(x.astype(np.int64) if case == "Embedding" else x)
    out = torch_model(tx).detach().numpy()
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(out, model(x).data, rtol=0, atol=tolerance)
