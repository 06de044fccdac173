"""PyTorch hand-off: key names and source without PyTorch, the safetensors file loaded strictly in
a fresh PyTorch interpreter, PyTorch-trained networks imported with the same outputs and
gradients, and clear errors (nothing written) for what does not cross."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinygrad_nn import Value, nn
from tinygrad_nn.export import (
    ExportError,
    from_torch,
    load_torch_state,
    load_torch_state_dict,
    read_safetensors,
    save_torch_state,
    to_torch,
    torch_source,
    torch_state_dict,
    write_safetensors,
)

ROOT = Path(__file__).resolve().parents[1]


def digits_net(dtype: str = "float64") -> nn.Sequential:
    return nn.mlp([64, 20, 20, 10], activation="sigmoid", rng=0, dtype=dtype)


def nested() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4, rng=0), nn.Sequential(nn.Tanh(), nn.Linear(4, 2, rng=1)),
                         nn.Softmax())


def test_pytorch_keys_and_source_need_no_pytorch() -> None:
    model = nested()
    assert list(torch_state_dict(model)) == ["0.weight", "0.bias", "1.1.weight", "1.1.bias"]
    assert list(model.state_dict()) == ["layers.0.weight", "layers.0.bias",
                                        "layers.1.layers.1.weight", "layers.1.layers.1.bias"]
    assert torch_source(model) == textwrap.dedent("""\
        torch.nn.Sequential(
            torch.nn.Linear(in_features=3, out_features=4, bias=True, dtype=torch.float64),
            torch.nn.Sequential(
                torch.nn.Tanh(),
                torch.nn.Linear(in_features=4, out_features=2, bias=True, dtype=torch.float64),
            ),
            torch.nn.Softmax(dim=-1),
        )""")
    assert torch_source(nn.LeakyReLU(0.2)) == "torch.nn.LeakyReLU(negative_slope=0.2)"


def test_save_and_load_torch_state_round_trip_without_pytorch(tmp_path: Path) -> None:
    model = nested()
    path = save_torch_state(model, tmp_path / "m.safetensors")
    tensors, metadata = read_safetensors(path)
    assert list(tensors) == list(torch_state_dict(model))
    assert metadata["torch_source"] == torch_source(model)
    back = load_torch_state(path)
    assert back.config() == model.config()
    for a, b in zip(model.state_dict().values(), back.state_dict().values(), strict=True):
        assert a.tobytes() == b.tobytes()


def test_load_into_a_model_of_the_same_architecture(tmp_path: Path) -> None:
    """A PyTorch-keyed file without this project's metadata (as PyTorch would write it)."""
    trained, fresh = digits_net(), nn.mlp([64, 20, 20, 10], rng=1)
    path = write_safetensors(tmp_path / "from_torch.safetensors", torch_state_dict(trained))
    with pytest.raises(ExportError, match=r"not written by save_torch_state .* into="):
        load_torch_state(path)
    assert load_torch_state(path, into=fresh) is fresh
    for a, b in zip(trained.state_dict().values(), fresh.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("2.bias"), r"missing keys \['2.bias'\], unexpected keys \[\]"),
    (lambda s: s.update({"9.weight": np.zeros(1)}), r"unexpected keys \['9.weight'\]"),
    (lambda s: s.update({"0.weight": np.zeros((64, 20))}),
     r"parameter '0.weight' has shape \(20, 64\), but the state holds shape \(64, 20\)"),
    (lambda s: s.update({"4.bias": np.zeros(10, np.float32)}),
     "parameter '4.bias' has dtype float64, but the state holds dtype float32"),
])
def test_strict_load_refuses_a_mismatched_state_and_changes_nothing(change: Any,
                                                                    message: str) -> None:
    state = torch_state_dict(digits_net())
    change(state)
    model = nn.mlp([64, 20, 20, 10], rng=5)
    before = model.state_dict()
    with pytest.raises(ExportError, match=f"load_torch_state_dict: .*{message}"):
        load_torch_state_dict(model, state)
    for a, b in zip(before.values(), model.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_corrupted_metadata_is_refused(tmp_path: Path) -> None:
    model = digits_net()
    path = tmp_path / "m.safetensors"
    base = {"format": "tinygrad_nn.torch_state", "version": "1", "torch_source": ""}
    for extra, message in [({"version": "9", "tinygrad_nn": "{}"}, "unsupported .* version '9'"),
                           ({"tinygrad_nn": "{not json"}, "description .* is not usable"),
                           ({"tinygrad_nn": '{"type": "Conv9d", "config": {}}'},
                            "unknown module type 'Conv9d'")]:
        write_safetensors(path, torch_state_dict(model), {**base, **extra})
        with pytest.raises(ExportError, match=message):
            load_torch_state(path)


class Doubler(nn.Module):
    def forward(self, x: Any) -> Any:
        return x * 2.0


@pytest.mark.parametrize("model, message", [
    (nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.MSELoss()),
     r"layer 2 \(MSELoss\[2\]\) is the error function MSELoss \(E\); losses are not exported"),
    (nn.Sequential(nn.Linear(2, 2), Doubler()),
     r"layer 1 \(Doubler\[1\]\) is test_export_torch.Doubler, which has no export mapping; "
     r"layers that export: Sequential, AvgPool2d, BatchNorm1d, Conv2d, Dropout"),
    (Doubler(), r"the model \(Doubler\) is test_export_torch.Doubler"),
])
def test_unsupported_layers_are_named_and_nothing_is_written(tmp_path: Path, model: Any,
                                                             message: str) -> None:
    with pytest.raises(ExportError, match=f"save_torch_state: {message}"):
        save_torch_state(model, tmp_path / "m.safetensors")
    assert os.listdir(tmp_path) == []
    with pytest.raises(ExportError, match=r"expected a tinygrad_nn module .* got ndarray"):
        torch_state_dict(np.zeros(3))  # type: ignore[arg-type]


def test_to_torch_refuses_unsupported_layers(torch: Any) -> None:
    with pytest.raises(ExportError, match=r"to_torch: .*error function MSELoss"):
        to_torch(nn.Sequential(nn.Linear(2, 2), nn.MSELoss()))


def test_safetensors_file_loads_strictly_into_the_generated_module_in_a_fresh_interpreter(
        tmp_path: Path, torch: Any, safetensors: Any) -> None:
    """As a PyTorch user would: only torch and safetensors, the source pasted from the file."""
    model = digits_net()
    path = save_torch_state(model, tmp_path / "digits.safetensors")
    x = np.random.default_rng(0).normal(size=(37, 64))
    np.save(tmp_path / "x.npy", x)
    source = read_safetensors(path)[1]["torch_source"]
    script = tmp_path / "load.py"
    script.write_text(
        "import numpy as np, sys, torch\n"
        "from safetensors.torch import load_file\n"
        f"model = {source}\n"
        "model.load_state_dict(load_file('digits.safetensors'), strict=True)\n"
        "assert 'tinygrad_nn' not in sys.modules\n"
        "out = model(torch.from_numpy(np.load('x.npy'))).detach().numpy()\n"
        "np.save('out.npy', out)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), model(x).data, rtol=0, atol=1e-12)


def test_pytorch_trained_network_gives_the_same_outputs_and_gradients(torch: Any) -> None:
    """Trained a few steps in PyTorch, imported; forward and backward here vs there."""
    torch.manual_seed(0)
    layers = [torch.nn.Linear(6, 8), torch.nn.Sigmoid(), torch.nn.Linear(8, 8), torch.nn.ReLU(),
              torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8),
              torch.nn.LeakyReLU(0.1), torch.nn.Linear(8, 8), torch.nn.Softplus(),
              torch.nn.Identity(), torch.nn.Linear(8, 3), torch.nn.Softmax(dim=1)]
    net = torch.nn.Sequential(*layers).double()
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(37, 6)), rng.uniform(size=(37, 3))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(5):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(net(torch.from_numpy(X)), torch.from_numpy(T)).backward()
        optimizer.step()

    model = from_torch(net)
    assert [type(m).__name__ for m in model] == [type(m).__name__ for m in layers]
    net.zero_grad()
    x_torch = torch.from_numpy(X).requires_grad_()
    loss_torch = torch.nn.functional.mse_loss(net(x_torch), torch.from_numpy(T))
    loss_torch.backward()
    x = Value(X)
    loss = nn.MSELoss()(model(x), T)
    loss.backward()
    assert abs(loss.item() - loss_torch.item()) <= 1e-12
    np.testing.assert_allclose(model(X).data, net(torch.from_numpy(X)).detach().numpy(), rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(x.grad, x_torch.grad.numpy(), rtol=0, atol=1e-12)
    torch_grads = {k: p.grad.numpy() for k, p in net.named_parameters()}
    ours = {k: p.grad for k, p in zip(torch_state_dict(model), model.parameters(), strict=True)}
    assert list(ours) == list(torch_grads)
    for key, grad in ours.items():
        np.testing.assert_allclose(grad, torch_grads[key], rtol=0, atol=1e-12, err_msg=key)


def test_float32_stays_float32_both_ways(torch: Any) -> None:
    model = digits_net("float32")
    torch_model = to_torch(model)
    assert {p.dtype for p in torch_model.parameters()} == {torch.float32}
    assert {p.dtype for p in from_torch(torch_model).parameters()} == {np.dtype(np.float32)}


@pytest.mark.parametrize("make, message", [
    (lambda t: t.nn.Sequential(t.nn.Linear(2, 2), t.nn.Dropout2d()),
     r"layer '1' is torch.nn.modules.dropout.Dropout2d, which tinygrad_nn has no equivalent for; "
     r"torch.nn layers that import: Sequential, AvgPool2d, BatchNorm1d"),
    (lambda t: t.nn.Sequential(t.nn.Sequential(t.nn.Conv1d(1, 1, 1))),
     r"layer '0.0' is torch.nn.modules.conv.Conv1d"),
    (lambda t: t.nn.Softplus(beta=2.0),
     r"the module \(torch.nn.Softplus\): beta=2.0, threshold=20.0 is not log\(1 \+ eˣ\)"),
    (lambda t: t.nn.Softmax(),
     r"the module \(torch.nn.Softmax\): dim=None \(PyTorch's legacy implicit axis\) has no "
     r"equivalent"),
    (lambda t: t.nn.Linear(2, 2, dtype=t.float16),
     r"the module \(torch.nn.Linear\): Linear: dtype must be float64 or float32, got float16"),
    (lambda t: type("MyLinear", (t.nn.Linear,), {})(2, 2),
     r"the module is .*MyLinear, which tinygrad_nn has no equivalent for"),
])
def test_from_torch_names_what_does_not_cross(torch: Any, make: Any, message: str) -> None:
    with pytest.raises(ExportError, match=f"from_torch: {message}"):
        from_torch(make(torch))


def test_missing_pytorch_is_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"to_torch: needs the 'torch' package, which is not "
                                          r"installed \(install PyTorch yourself") as info:
        to_torch(digits_net())
    assert info.value.name == "torch"
