"""ONNX: the file ``to_onnx`` writes (dynamic batch, opset, checker), its refusals (nothing
written), and ``trace_to_onnx`` for every op of the rule table against ONNX Runtime."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx_runner import run_onnx

import tinygrad_nn as tn
from tinygrad_nn import Value, nn, no_grad, ops
from tinygrad_nn import functional as F
from tinygrad_nn.export import ExportError, to_onnx, trace_to_onnx
from tinygrad_nn.export.onnx_graph import DEFAULT_OPSET, MIN_OPSET
from tinygrad_nn.export.onnx_trace import OPS, UNSUPPORTED
from tinygrad_nn.graph import toposort

RNG = np.random.default_rng(0)


def digits_net() -> nn.Sequential:
    return nn.mlp([64, 20, 20, 10], activation="sigmoid", rng=0)


def run(ort: Any, path: Path, *inputs: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs, strict=True)))


# ----------------------------------------------------------------------------------------------
# to_onnx
# ----------------------------------------------------------------------------------------------


def test_the_file_names_its_axes_opset_and_producer(tmp_path: Path, onnx: Any) -> None:
    path = to_onnx(digits_net(), tmp_path / "digits.onnx", input_shape=(1, 64))
    model = onnx.load(path)
    [inp], [out] = model.graph.input, model.graph.output
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in (inp, out)]
    assert (inp.name, out.name, dims) == ("input", "output", [["batch", 64], ["batch", 10]])
    assert [(o.domain, o.version) for o in model.opset_import] == [("", DEFAULT_OPSET)]
    assert model.producer_name == "tinygrad_nn"
    assert [n.op_type for n in model.graph.node] == ["Gemm", "Sigmoid"] * 3
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)


def test_fixed_batch_and_a_newer_opset(tmp_path: Path, onnx: Any, ort: Any) -> None:
    model = digits_net()
    newest = onnx.defs.onnx_opset_version()
    path = to_onnx(model, tmp_path / "m.onnx", input_shape=(4, 64), dynamic_batch=False,
                   opset=min(newest, 21))
    [inp] = onnx.load(path).graph.input
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim] == [4, 64]
    x = RNG.normal(size=(4, 64))
    np.testing.assert_allclose(run(ort, path, x)[0], model(x).data, rtol=0, atol=1e-12)


@pytest.mark.parametrize("model, kwargs, error, message", [
    (nn.Sequential(nn.Linear(3, 2), nn.MSELoss()), {},
     ExportError, r"layer 1 \(MSELoss\[1\]\) is the error function MSELoss"),
    (nn.Linear(3, 2), {"input_shape": (1, 4)},
     ExportError, r"the model does not take inputs of shape \(1, 4\): .*expected 3 features"),
    (nn.Linear(3, 2), {"input_shape": (3,)}, ValueError, r"input_shape \(3,\) has no batch axis"),
    (nn.Linear(3, 2), {"input_shape": (1, 0)}, ValueError, "input_shape must be a tuple of posi"),
    (nn.Linear(3, 2), {"input_shape": 3}, ValueError, "input_shape must be a tuple of posi"),
    (nn.Linear(3, 2), {"opset": 13}, ValueError, f"opset must be an integer from {MIN_OPSET}"),
    (nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2, dtype="float32")), {},
     ExportError, r"the parameters mix dtypes \['float32', 'float64'\]"),
])
def test_refusals_name_the_problem_and_write_nothing(tmp_path: Path, onnx: Any, model: Any,
                                                     kwargs: dict[str, Any], error: type,
                                                     message: str) -> None:
    kwargs = {"input_shape": (1, 3), **kwargs}
    with pytest.raises(error, match=f"to_onnx: {message}"):
        to_onnx(model, tmp_path / "m.onnx", **kwargs)
    assert os.listdir(tmp_path) == []


def test_a_failed_export_keeps_the_previous_file(tmp_path: Path, onnx: Any) -> None:
    path = to_onnx(digits_net(), tmp_path / "m.onnx", input_shape=(1, 64))
    before = path.read_bytes()
    with pytest.raises(ExportError):
        to_onnx(nn.Sequential(nn.Linear(64, 2), nn.MSELoss()), path, input_shape=(1, 64))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.onnx"]


def test_missing_onnx_is_a_clear_import_error(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"to_onnx: needs the 'onnx' package, which is not "
                                          r"installed \(pip install 'tinygrad-nn\[onnx\]'\)"):
        to_onnx(digits_net(), tmp_path / "m.onnx", input_shape=(1, 64))
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------------------------
# trace_to_onnx: one case or more per op; together they use every op in OPS
# ----------------------------------------------------------------------------------------------

A, B = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 5))
POS = RNG.uniform(0.5, 2.0, size=(3, 4))
W, BIAS = RNG.normal(size=(5, 4)), RNG.normal(size=5)
TARGET = RNG.normal(size=(3, 4))
IMAGES, KERNELS, KERNEL_BIAS = (RNG.normal(size=(2, 3, 5, 6)), RNG.normal(size=(4, 3, 3, 3)),
                                RNG.normal(size=4))

TRACES: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "arithmetic": (lambda a, p: ((a + p) * (a - 2.0) / p - (-a)) * 0.1 + p ** (a * a), (A, POS)),
    "constant exponents": (lambda a: a ** 2 + a.abs() ** 3.5 + a.abs() ** 0.5, (A,)),
    "unary": (lambda p: (p.exp() + p.log() + p.sqrt() + (p - 1.0).abs()).tanh().sigmoid(), (POS,)),
    "activations": (lambda a: a.relu() + a.leaky_relu(0.3) + a.softplus(), (A,)),
    "matmul": (lambda a, b: a @ b, (A, B)),
    "matmul of vectors": (lambda u, v: u @ v, (A[0], B[:, 0])),
    "reductions": (lambda a: a.sum() + a.mean(axis=0).sum() + a.max(axis=1, keepdims=True),
                   (A,)),
    "shapes": (lambda a: a.reshape(4, 3).transpose().broadcast_to((2, 3, 4)) + a.T.T, (A,)),
    "softmax": (lambda a: a.softmax(axis=0) + a.log_softmax(axis=-1), (A,)),
    "linear": (lambda x: F.linear(x, W, BIAS).sigmoid(), (A,)),
    "linear without bias on 3-D": (lambda x: F.linear(x, W), (RNG.normal(size=(2, 3, 4)),)),
    "mse mean and sum": (lambda p: (F.mse_loss(p, TARGET), F.mse_loss(p, TARGET, "sum")), (A,)),
    "cross entropy": (lambda x: F.cross_entropy(x, np.array([0, 3, 1])), (A,)),
    "getitem": (lambda a: a[1] + a[-1, ::-1] + a[:, 2].reshape(3, 1).sum() + a[None, 0:2, ...]
                .sum(axis=(0, 1)) + a[np.array([2, 0, 2])].sum(axis=0), (A,)),
    "getitem steps": (lambda a: a[::-2, 1:3] * 1.0, (A,)),
    "float32 with float64": (lambda a, b: (a * 2.0 + 1.0) @ b, (A.astype(np.float32), B)),
    "float32": (lambda a: (a.sigmoid() * 0.5).softmax(), (A.astype(np.float32),)),
    "scalars": (lambda s, t: (s * t + 1.0).tanh(), (0.5, 2.0)),
    "an input is an output": (lambda a: (a, a * 2.0), (A,)),
    "a model": (lambda x: nn.mlp([4, 6, 2], activation="relu", rng=0)(x), (A,)),
    "joining": (lambda a, p: (tn.concatenate([a, p * 2.0], axis=1), tn.stack([a, -p], axis=-1),
                              tn.stack([a[0, 0], p[1, 1]])), (A, POS)),
    "selecting": (lambda a, p: tn.where(A > 0, a, 0.5 * p) + tn.maximum(a, 0.1)
                  - tn.minimum(a, p) + a.clip(-0.5, 0.5) + p.clip(max=1.2), (A, POS)),
    "more reductions": (lambda a: a.min(axis=0) + a.logsumexp(axis=0) + a.var(axis=0, ddof=1)
                        + a.logsumexp() + a.var(), (A,)),
    "pad": (lambda a: a.pad(((1, 0), (2, 3)), 0.5), (A,)),
    "convolution": (lambda x: F.max_pool2d(F.conv2d(x, KERNELS, KERNEL_BIAS, padding=1).relu(), 2)
                    .sum(axis=1) + F.avg_pool2d(x, (2, 3), stride=1)[:, 0, :2, :3], (IMAGES,)),
    "convolution float32": (lambda x: F.conv2d(x, KERNELS.astype(np.float32), stride=(2, 1),
                                               padding=(0, 1)), (IMAGES.astype(np.float32),)),
    "windows": (lambda x: F.unfold(x, (2, 3), stride=(2, 1), padding=1), (IMAGES,)),
}


def _ops_used(fn: Callable[..., Any], args: tuple[Any, ...]) -> set[str]:
    result = fn(*[Value(a) for a in args])
    roots = result if isinstance(result, tuple) else (result,)
    return {n.op.name for r in roots for n in toposort(r) if not n.is_leaf}


def test_every_op_of_the_rule_table_exports_or_says_why_not() -> None:
    assert set(OPS) | set(UNSUPPORTED) == set(ops.TABLE)
    assert not set(OPS) & set(UNSUPPORTED)
    used = set().union(*(_ops_used(fn, args) for fn, args in TRACES.values()))
    assert used == set(OPS), f"no trace case uses {sorted(set(OPS) - used)}"


@pytest.mark.parametrize("case", TRACES)
def test_trace_matches_the_engine(case: str, tmp_path: Path, onnx: Any, ort: Any) -> None:
    fn, args = TRACES[case]
    path = trace_to_onnx(fn, *args, path=tmp_path / "f.onnx")
    onnx.checker.check_model(onnx.load(path), full_check=True)
    got = run_onnx(ort, onnx, path, *[np.asarray(a) for a in args])
    want = fn(*[Value(a) for a in args])
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        expected = np.asarray(w.data)
        assert g.dtype == expected.dtype and g.shape == expected.shape
        tolerance = 1e-12 if expected.dtype == np.float64 else 1e-6
        np.testing.assert_allclose(g, expected, rtol=tolerance, atol=tolerance)


def test_trace_names_inputs_and_outputs(tmp_path: Path, onnx: Any) -> None:
    graph = onnx.load(trace_to_onnx(lambda a, b: (a @ b, a.sum()), A, B,
                                    path=tmp_path / "f.onnx")).graph
    assert [i.name for i in graph.input] == ["input_0", "input_1"]
    assert [o.name for o in graph.output] == ["output_0", "output_1"]


def _second_derivative_graph(a: Value) -> Value:
    y = (a[0] ** 2).sum()
    y.backward(create_graph=True)
    return a.grad


@pytest.mark.parametrize("fn, message", [
    (_second_derivative_graph, "op 'scatter' cannot be exported: it only appears in graphs "
                               r"recorded by backward\(create_graph=True\)"),
    (lambda a: a[np.array([0, 1]), np.array([1, 2])], r"op 'getitem' with index .* cannot be "
                                                      "exported: only integers, slices"),
    (lambda a: a[np.array([0, 1]), 2], "op 'getitem' with index"),
    (lambda a: a.detach() * 2.0, "result 0 does not depend on the inputs"),
    (lambda a: a.sum().item(), "fn must return a Value or a tuple of Values, got float"),
])
def test_trace_refusals_name_the_op_and_write_nothing(tmp_path: Path, onnx: Any, fn: Any,
                                                      message: str) -> None:
    with pytest.raises(ExportError, match=f"trace_to_onnx: {message}"):
        trace_to_onnx(fn, A, path=tmp_path / "f.onnx")
    assert os.listdir(tmp_path) == []


def test_trace_under_no_grad_says_so(tmp_path: Path, onnx: Any) -> None:
    with no_grad(), pytest.raises(ExportError, match=r"was fn run under no_grad\(\)"):
        trace_to_onnx(lambda a: a * 2.0, A, path=tmp_path / "f.onnx")
