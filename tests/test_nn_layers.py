"""The layers beyond the MLP: Conv2d, MaxPool2d, AvgPool2d, Flatten, Dropout, LayerNorm,
BatchNorm1d, Embedding; training and evaluation mode; buffers in state dicts and checkpoints.

Each layer is compared with its PyTorch twin (same weights: outputs and gradients in float64
within 1e-10) and checked against finite differences; bad arguments and inputs get errors that
name the layer and the values, and leave the layer as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, gradcheck, nn, optim, train
from tinygrad_nn.data import DataLoader
from tinygrad_nn.graph import toposort


def normal(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


def copy_into_torch(torch: Any, layer: nn.Module, module: Any) -> Any:
    """``module`` with ``layer``'s parameters and buffers."""
    module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                            layer.state_dict().items()}, strict=True)
    return module


def compare(torch: Any, layer: nn.Module, module: Any, x: np.ndarray,
            tolerance: float = 1e-10) -> None:
    """Same output, and the same gradients for the input and every parameter."""
    xv = Value(x)
    out = layer(xv)
    xt = torch.tensor(x, requires_grad=True)
    expected = module(xt)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=0, atol=tolerance)
    g = normal(*out.shape, seed=99)
    out.backward(g)
    expected.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xv.grad, xt.grad.numpy(), rtol=0, atol=tolerance)
    theirs = dict(module.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, theirs[name].grad.numpy(), rtol=0, atol=tolerance,
                                   err_msg=name)


# -- against PyTorch -----------------------------------------------------------------------------


@pytest.mark.parametrize("kernel, stride, padding, bias", [
    (3, 1, 0, True), (3, 1, 1, True), ((2, 3), (2, 1), (1, 0), False), (1, 1, 0, True),
    (4, 3, 2, True)])
def test_conv2d_matches_torch(kernel: Any, stride: Any, padding: Any, bias: bool,
                              torch: Any) -> None:
    layer = nn.Conv2d(3, 5, kernel, stride, padding, bias=bias, rng=0)
    if bias:
        layer.bias.data[:] = normal(5, seed=1)
    module = copy_into_torch(torch, layer, torch.nn.Conv2d(3, 5, kernel, stride, padding,
                                                           bias=bias, dtype=torch.float64))
    compare(torch, layer, module, normal(2, 3, 9, 8, seed=2))


@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 1), ((3, 2), (2, 1))])
def test_pooling_and_flatten_match_torch(kernel: Any, stride: Any, torch: Any) -> None:
    x = normal(2, 3, 7, 8, seed=3)
    compare(torch, nn.MaxPool2d(kernel, stride), torch.nn.MaxPool2d(kernel, stride), x)
    compare(torch, nn.AvgPool2d(kernel, stride), torch.nn.AvgPool2d(kernel, stride), x)
    compare(torch, nn.Flatten(), torch.nn.Flatten(), x)
    compare(torch, nn.Flatten(0, 2), torch.nn.Flatten(0, 2), x)


@pytest.mark.parametrize("shape", [(4,), (3, 4)])
def test_layer_norm_matches_torch(shape: tuple[int, ...], torch: Any) -> None:
    layer = nn.LayerNorm(shape)
    layer.load_state_dict({"weight": normal(*shape, seed=4), "bias": normal(*shape, seed=5)})
    module = copy_into_torch(torch, layer, torch.nn.LayerNorm(shape, dtype=torch.float64))
    compare(torch, layer, module, 2.0 + 3.0 * normal(5, 3, 4, seed=6))
    bare = nn.LayerNorm(shape, elementwise_affine=False)
    compare(torch, bare, torch.nn.LayerNorm(shape, elementwise_affine=False), normal(2, 3, 4))


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("input_shape", [(8, 4), (6, 4, 5)])
def test_batch_norm_matches_torch_in_both_modes(momentum: Any, input_shape: tuple[int, ...],
                                                torch: Any) -> None:
    """Three training steps (outputs, gradients, running statistics), then evaluation."""
    layer = nn.BatchNorm1d(4, momentum=momentum)
    layer.load_state_dict({**layer.state_dict(), "weight": normal(4, seed=7),
                           "bias": normal(4, seed=8)})
    module = copy_into_torch(torch, layer, torch.nn.BatchNorm1d(4, momentum=momentum,
                                                                dtype=torch.float64))
    for step in range(3):
        x = 1.5 + 2.0 * normal(*input_shape, seed=10 + step)
        compare(torch, layer, module, x)
        for p in layer.parameters():
            p.grad = None
        module.zero_grad()
        ours, theirs = layer.state_dict(), module.state_dict()
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(ours[name], theirs[name].numpy(), rtol=0, atol=1e-12)
        assert int(ours["num_batches_tracked"]) == int(theirs["num_batches_tracked"]) == step + 1
    layer.eval()
    module.eval()
    compare(torch, layer, module, normal(3, *input_shape[1:], seed=20))
    assert int(layer.num_batches_tracked) == 3          # evaluation does not count


def test_batch_norm_without_running_statistics_matches_torch(torch: Any) -> None:
    layer = nn.BatchNorm1d(4, track_running_stats=False, affine=False)
    module = torch.nn.BatchNorm1d(4, track_running_stats=False, affine=False,
                                  dtype=torch.float64)
    assert layer.state_dict() == {}
    for mode in (True, False):
        layer.train(mode)
        module.train(mode)
        compare(torch, layer, module, normal(5, 4, seed=21))


def test_embedding_matches_torch_and_sums_repeated_rows(torch: Any) -> None:
    layer = nn.Embedding(6, 3, rng=0)
    module = copy_into_torch(torch, layer, torch.nn.Embedding(6, 3, dtype=torch.float64))
    idx = np.array([[1, 4, 1], [0, 1, 5]])
    out = layer(idx)
    expected = module(torch.from_numpy(idx))
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    g = normal(2, 3, 3, seed=22)
    out.backward(g)
    expected.backward(torch.from_numpy(g))
    np.testing.assert_allclose(layer.weight.grad, module.weight.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(layer(idx.astype(np.float64)).data, out.data)  # whole floats


# -- finite differences --------------------------------------------------------------------------

GRADCHECK: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "Conv2d": (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1, rng=1), (2, 2, 5, 4)),
    "MaxPool2d": (lambda: nn.MaxPool2d(2, 1), (1, 2, 4, 3)),
    "AvgPool2d": (lambda: nn.AvgPool2d((2, 3)), (2, 1, 4, 6)),
    "Flatten": (lambda: nn.Flatten(), (2, 2, 3)),
    "LayerNorm": (lambda: nn.LayerNorm(4), (3, 4)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), (5, 3)),
    "Embedding": (lambda: nn.Embedding(4, 2, rng=1), ()),
}


@pytest.mark.parametrize("name", GRADCHECK)
def test_layer_gradients_match_finite_differences(name: str) -> None:
    make, shape = GRADCHECK[name]
    layer = make()
    if name == "Embedding":
        def f(*params: Value) -> Value:
            return (layer(np.array([[0, 3, 3], [1, 0, 2]])) ** 2).sum()
        assert gradcheck(f, layer.parameters())
        return
    x = Value(normal(*shape, seed=23))
    weights = None

    def f(x: Value, *params: Value) -> Value:
        nonlocal weights
        out = layer(x)
        weights = normal(*out.shape, seed=24) if weights is None else weights
        return (out * weights).sum()

    assert gradcheck(f, [x, *layer.parameters()])


# -- dropout -------------------------------------------------------------------------------------


def test_dropout_is_inverted_seeded_and_the_identity_in_evaluation() -> None:
    x = Value(np.ones((200, 50)))
    layer = nn.Dropout(0.3, rng=0)
    out = layer(x)
    kept = out.data != 0.0
    assert abs(1.0 - kept.mean() - 0.3) < 0.01                  # about p of them dropped
    np.testing.assert_allclose(out.data[kept], 1.0 / 0.7)        # the rest scaled by 1/(1 − p)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.7)               # the same mask
    again = nn.Dropout(0.3, rng=0)(np.ones((200, 50))).data
    np.testing.assert_array_equal(again, out.data)               # a seed repeats the masks
    assert not np.array_equal(layer(np.ones((200, 50))).data, out.data)   # then new ones
    layer.eval()
    assert layer(x) is x
    assert nn.Dropout(0.0, rng=0)(x) is x


def test_modes_reach_every_layer_and_return_the_module() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(4)))
    assert model.training and all(m.training for m in model.layers)
    assert model.eval() is model
    assert not model.training and not model.layers[1].training
    assert not model.layers[2].layers[0].training
    assert model.train() is model and model.layers[2].layers[0].training
    with pytest.raises(TypeError, match=r"Sequential.train: mode must be True or False, got 'no'"):
        model.train("no")  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore::tinygrad_nn.errors.TrainingWarning")   # one short epoch
def test_fit_trains_in_training_mode_and_evaluates_in_evaluation_mode() -> None:
    seen: list[bool] = []

    class Spy(nn.Module):
        def forward(self, x: Any) -> Value:
            seen.append(self.training)
            return tn.functional.as_value(x)

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, 8)
    model = nn.Sequential(nn.Linear(3, 2, rng=0), Spy())
    model.eval()
    train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
              DataLoader(X, y, batch_size=4, rng=0), epochs=1, val_data=(X, y), progress=False)
    assert seen == [True, True, False]          # two training batches, one validation pass
    assert not model.training                   # left as it was
    model.train()
    train.predict(model, X)
    train.evaluate(model, nn.CrossEntropyLoss(), X, y)
    assert seen[-2:] == [False, False] and model.training


# -- buffers -------------------------------------------------------------------------------------


def cnn() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8, 4, rng=0), nn.BatchNorm1d(4), nn.Dropout(0.1),
                         nn.Linear(4, 3, rng=1))


def test_buffers_are_in_the_state_dict_but_not_parameters() -> None:
    model = cnn()
    assert [name for name, _ in model.named_buffers()] == [
        "layers.5.running_mean", "layers.5.running_var", "layers.5.num_batches_tracked"]
    state = model.state_dict()
    assert set(state) == {n for n, _ in model.named_parameters()} | {n for n, _ in
                                                                      model.named_buffers()}
    assert all(not isinstance(p, np.ndarray) for p in model.parameters())
    state["layers.5.running_mean"][:] = 5.0                       # a copy
    assert np.all(model.layers[5].running_mean == 0.0)


def test_checkpoints_keep_the_running_statistics(tmp_path: Path) -> None:
    model = cnn()
    for seed in range(3):
        model(normal(4, 1, 4, 4, seed=seed))
    path = tn.save(model, tmp_path / "cnn.npz")
    back = tn.load(path)
    for (name, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items(),
                                 strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert int(back.layers[5].num_batches_tracked) == 3
    model.eval()
    back.eval()
    x = normal(2, 1, 4, 4, seed=9)
    np.testing.assert_array_equal(model(x).data, back(x).data)


def test_a_bad_buffer_in_a_state_leaves_the_module_unchanged() -> None:
    layer = nn.BatchNorm1d(3)
    before = layer.state_dict()
    bad = {**before, "running_var": np.ones(4)}
    with pytest.raises(ValueError, match=r"BatchNorm1d.load_state_dict: parameter 'running_var' "
                                         r"has shape \(3,\), but the state holds shape \(4,\)"):
        layer.load_state_dict(bad)
    with pytest.raises(ValueError, match=r"missing parameters \['num_batches_tracked'\]"):
        layer.load_state_dict({k: v for k, v in before.items() if k != "num_batches_tracked"})
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize("layer", [
    nn.Conv2d(2, 3, (3, 1), stride=(2, 1), padding=(0, 1), bias=False, dtype="float32"),
    nn.MaxPool2d(3, 1), nn.AvgPool2d((2, 3)), nn.Flatten(2, -1), nn.Dropout(0.25),
    nn.LayerNorm((3, 4), eps=1e-3, bias=False), nn.LayerNorm(2, elementwise_affine=False),
    nn.BatchNorm1d(5, momentum=None, affine=False), nn.Embedding(7, 2, dtype="float32")],
    ids=repr)
def test_every_layer_rebuilds_from_its_config(layer: nn.Module) -> None:
    rebuilt = nn.from_config(type(layer).__name__, layer.config())
    assert type(rebuilt) is type(layer) and rebuilt.config() == layer.config()
    assert repr(rebuilt) == repr(layer)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in layer.state_dict().items()}


# Every new layer type with non-default arguments and an input it takes.
LAYER_CASES: dict[str, tuple[Callable[[], nn.Module], Callable[[], Any]]] = {
    "Conv2d": (lambda: nn.Conv2d(2, 3, (3, 1), stride=(2, 1), padding=(0, 1), rng=3),
               lambda: normal(2, 2, 5, 4)),
    "Conv2d-float32-no-bias": (lambda: nn.Conv2d(1, 2, 2, bias=False, dtype="float32", rng=4),
                               lambda: normal(1, 1, 3, 3)),
    "MaxPool2d": (lambda: nn.MaxPool2d(3, 1), lambda: normal(1, 2, 5, 5)),
    "AvgPool2d": (lambda: nn.AvgPool2d((2, 3)), lambda: normal(1, 1, 4, 6)),
    "Flatten": (lambda: nn.Flatten(2, -1), lambda: normal(2, 3, 4, 5)),
    "Dropout": (lambda: nn.Dropout(0.25, rng=0), lambda: normal(3, 4)),
    "LayerNorm": (lambda: nn.LayerNorm((3, 4), eps=1e-3, bias=False), lambda: normal(2, 3, 4)),
    "LayerNorm-no-affine": (lambda: nn.LayerNorm(2, elementwise_affine=False),
                            lambda: normal(3, 2)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(5, momentum=0.3), lambda: normal(4, 5)),
    "BatchNorm1d-3d-cumulative": (lambda: nn.BatchNorm1d(2, momentum=None, affine=False),
                                  lambda: normal(3, 2, 4)),
    "BatchNorm1d-no-stats": (lambda: nn.BatchNorm1d(3, track_running_stats=False),
                             lambda: normal(4, 3)),
    "Embedding": (lambda: nn.Embedding(7, 2, dtype="float32", rng=5),
                  lambda: np.array([[0, 6, 6], [3, 1, 0]])),
}


def _trained_layer(name: str) -> tuple[nn.Module, Any]:
    """The layer of LAYER_CASES[name] with parameters moved off their initial values and, for
    BatchNorm, running statistics of three batches; and its input."""
    make, make_input = LAYER_CASES[name]
    layer = make()
    rng = np.random.default_rng(11)
    for p in layer.parameters():
        p.data = p.data + rng.normal(size=p.shape).astype(p.dtype)
    for seed in range(3):
        if name.startswith("BatchNorm1d"):
            layer(make_input() + seed)
    return layer, make_input()


@pytest.mark.parametrize("name", LAYER_CASES)
def test_parameter_shapes_of_every_layer_come_from_its_config_alone(name: str) -> None:
    """checkpoint.load compares them, buffers included, with the file before building."""
    layer, _ = _trained_layer(name)
    shapes = nn.parameter_shapes(type(layer).__name__, layer.config())
    assert shapes == {key: value.shape for key, value in layer.state_dict().items()}


@pytest.mark.parametrize("name", LAYER_CASES)
def test_every_layer_round_trips_through_a_checkpoint(name: str, tmp_path: Path) -> None:
    layer, x = _trained_layer(name)
    back = tn.load(tn.save(layer, tmp_path / "layer.npz"))
    assert type(back) is type(layer) and back.config() == layer.config()
    ours, theirs = layer.state_dict(), back.state_dict()
    assert list(theirs) == list(ours)
    for key, value in ours.items():
        assert theirs[key].dtype == value.dtype, key
        np.testing.assert_array_equal(theirs[key], value, err_msg=key)
    layer.eval()
    back.eval()
    np.testing.assert_array_equal(back(x).data, layer(x).data)


def test_a_batch_norm_network_trains_step_after_step() -> None:
    """Forward, backward, optimizer step, five times: the buffers' in-place updates never make a
    backward refuse, and the running mean follows r ← 0.9·r + 0.1·(batch mean)."""
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.Tanh(),
                          nn.Linear(4, 2, rng=1))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    X, Y = normal(8, 3, seed=1), normal(8, 2, seed=2) * 0.1
    expected_mean = np.zeros(4)
    losses = []
    for _ in range(5):
        with tn.no_grad():
            batch_mean = model.layers[0](X).data.mean(axis=0)
        expected_mean = 0.9 * expected_mean + 0.1 * batch_mean
        opt.zero_grad()
        loss = nn.MSELoss()(model(X), Y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    bn = model.layers[1]
    np.testing.assert_allclose(bn.running_mean, expected_mean, rtol=1e-12, atol=1e-15)
    assert int(bn.num_batches_tracked) == 5
    assert losses[-1] < losses[0]
    assert all(p.grad is not None and np.all(p.grad != 0) for p in model.parameters())


def test_a_graph_recorded_in_evaluation_keeps_the_running_statistics_it_used() -> None:
    """A later training-mode call updates the buffers in place; the recorded graph's constants
    stay the statistics the evaluation used (they are copies, not views of the buffers)."""
    bn = nn.BatchNorm1d(3)
    bn(normal(6, 3, seed=1))
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    bn.eval()
    out = bn(Value(normal(2, 3, seed=2)))
    bn.train()
    bn(normal(6, 3, seed=3) + 5.0)                 # moves the running statistics
    assert not np.allclose(bn.running_mean, mean)
    constants = [node.data.reshape(3) for node in toposort(out)
                 if node.op is None and node.shape == (1, 3)]
    assert len(constants) == 2                     # the mean, and √(var + ε) folded
    np.testing.assert_array_equal(constants[0], mean)
    np.testing.assert_array_equal(constants[1], np.sqrt(var + bn.eps))


def test_to_converts_the_buffers_and_keeps_shared_ones_shared() -> None:
    bn = nn.BatchNorm1d(2)
    model = nn.Sequential(bn, nn.Tanh(), nn.BatchNorm1d(2))
    model.layers[2].running_mean = bn.running_mean      # two modules, one buffer
    model.to("float32")
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert model.layers[2].running_mean is bn.running_mean
    assert bn.num_batches_tracked.dtype == np.int64


# -- bad arguments and inputs --------------------------------------------------------------------


@pytest.mark.parametrize("make, error, message", [
    (lambda: nn.Dropout(-0.1), ValueError, r"Dropout: p must be a finite number >= 0 and < 1, "
                                           r"got -0.1"),
    (lambda: nn.Dropout(1.0), ValueError, r"Dropout: p must be .* < 1, got 1"),
    (lambda: nn.Dropout("0.5"), TypeError, r"Dropout: p must be a real number, got str '0.5'"),
    (lambda: nn.Conv2d(0, 2, 3), ValueError, "Conv2d: in_channels must be a positive integer"),
    (lambda: nn.Conv2d(1, 2, 0), ValueError, "Conv2d: kernel_size must be an integer ≥ 1"),
    (lambda: nn.Conv2d(1, 2, 3, stride=0), ValueError, "Conv2d: stride must be an integer ≥ 1"),
    (lambda: nn.Conv2d(1, 2, 3, padding=-1), ValueError, "Conv2d: padding must be an integer ≥ 0"),
    (lambda: nn.Conv2d(1, 2, 3, dtype="int32"), TypeError, "Conv2d: dtype must be float64 or "),
    (lambda: nn.MaxPool2d(0), ValueError,
     "MaxPool2d: kernel_size must be an integer ≥ 1 or a pair of them, got 0"),
    (lambda: nn.AvgPool2d(2, stride=-1), ValueError, "AvgPool2d: stride must be an integer ≥ 1"),
    (lambda: nn.Flatten(1.5), TypeError, r"Flatten: start_dim must be an int, got 1.5"),
    (lambda: nn.LayerNorm(()), ValueError, r"LayerNorm: normalized_shape must name at least one"),
    (lambda: nn.LayerNorm(4, eps=0), ValueError, "LayerNorm: eps must be a finite number > 0, "
                                                 "got 0"),
    (lambda: nn.BatchNorm1d(3, momentum=2), ValueError,
     "BatchNorm1d: momentum must be a finite number >= 0 and <= 1, got 2"),
    (lambda: nn.BatchNorm1d(0), ValueError, "BatchNorm1d: num_features must be a positive"),
    (lambda: nn.BatchNorm1d(3, affine="yes"), TypeError,
     "BatchNorm1d: affine must be True or False, got 'yes'"),
    (lambda: nn.Embedding(5, 0), ValueError, "Embedding: embedding_dim must be a positive"),
])
def test_bad_arguments_name_the_layer_and_the_value(make: Callable[[], Any], error: type,
                                                    message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_bad_inputs_name_the_layer_and_leave_it_unchanged() -> None:
    model = nn.Sequential(nn.Conv2d(3, 2, 3, rng=0), nn.Flatten(), nn.Linear(2, 2, rng=0),
                          nn.BatchNorm1d(2), nn.LayerNorm(2))
    with pytest.raises(ValueError, match=r"Conv2d\[0\]: expected 3 input channels, got 1 "
                                         r"\(input shape \(2, 1, 3, 3\)"):
        model(np.zeros((2, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"Conv2d\[0\]: the kernel \(3, 3\) is larger than the "
                                         r"input's \(2, 2\)"):
        model(np.zeros((2, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"Conv2d\[0\]: expected images of shape \(N, C, H, W\)"):
        model(np.zeros((3, 3, 3)))
    bn = model.layers[3]
    before = bn.state_dict()
    with pytest.raises(ValueError, match=r"BatchNorm1d\[3\]: batch statistics need more than one "
                                         r"value per channel, got input shape \(1, 2\)"):
        model(np.zeros((1, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"batch_norm: running_mean must have shape \(3,\), got "
                                         r"\(2,\)"):
        tn.functional.batch_norm(np.zeros((4, 3)), bn.running_mean, bn.running_var,
                                 training=True)
    for name, value in bn.state_dict().items():           # no statistics, no count changed
        np.testing.assert_array_equal(value, before[name])
    with pytest.raises(ValueError, match=r"BatchNorm1d\[0\]: expected inputs of shape \(N, C\) or "
                                         r"\(N, C, L\), got \(2, 2, 2, 2\)"):
        nn.Sequential(nn.BatchNorm1d(2))(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match=r"LayerNorm\[0\]: expected inputs whose last axes are "
                                         r"\(2,\), got shape \(2, 3\)"):
        nn.Sequential(nn.LayerNorm(2))(np.zeros((2, 3)))
    emb = nn.Embedding(4, 2, rng=0)
    with pytest.raises(ValueError, match=r"Embedding: indices must be in \[0, 3\] for 4 "
                                         r"embeddings, got 4"):
        emb(np.array([1, 4]))
    with pytest.raises(ValueError, match=r"got -1"):
        emb(np.array([-1]))
    with pytest.raises(TypeError, match=r"Embedding: indices must be integers, got float64"):
        emb(np.array([0.5]))
