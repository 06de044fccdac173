"""tinygrad_nn.nn: modules, parameters, checkpoints, composition, initialisers and losses."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from tinygrad_nn import Value, gradcheck, nn, optim, scope
from tinygrad_nn.nn import init


def tutorial_net() -> nn.Sequential:
    """Seed 000's 2-2-2 example network (weights from its worked example, zero biases)."""
    f, g = nn.Linear(2, 2), nn.Linear(2, 2)
    f.weight.data[...] = [[0.25, 0.1], [0.35, -0.3]]
    g.weight.data[...] = [[0.9, 0.5], [-0.7, 0.3]]
    return nn.Sequential(f, nn.Sigmoid(), g, nn.Sigmoid())


# ----------------------------------------------------------------------------------------------
# Linear
# ----------------------------------------------------------------------------------------------


def test_linear_forward_equals_numpy() -> None:
    layer = nn.Linear(3, 4, rng=0)
    x = np.random.default_rng(1).normal(size=(5, 3))
    assert layer.weight.shape == (4, 3) and layer.bias is not None and layer.bias.shape == (4,)
    layer.bias.data[...] = [0.1, -0.2, 0.3, 0.0]
    y = layer(x)
    np.testing.assert_allclose(y.data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-14)
    assert y.op is not None and y.op.name == "linear"
    assert layer.in_features == 3 and layer.out_features == 4


def test_linear_without_bias_and_gradients() -> None:
    layer = nn.Linear(3, 2, bias=False, rng=0)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    x = np.random.default_rng(2).normal(size=(4, 3))
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, np.tile(x.sum(axis=0), (2, 1)))
    full = nn.Linear(3, 2, rng=0)
    xv = Value(x)
    assert gradcheck(lambda v, W, b: (full(v) ** 2).sum(), [xv, full.weight, full.bias])


def test_linear_weight_layout_matches_seed_000() -> None:
    """Seed 000's w_ij (neuron i of layer l → neuron j of layer l+1) is weight[j, i]."""
    layer = nn.Linear(2, 2)
    layer.weight.data[...] = [[0.25, 0.1], [0.35, -0.3]]     # w11, w21 / w12, w22
    np.testing.assert_allclose(layer(np.array([[0.5, 0.25]])).data, [[0.15, 0.1]])
    # seed 004's row convention z = a·W' + b: W' = weight.T
    a = np.array([[0.5, 0.25]])
    np.testing.assert_allclose(layer(a).data, a @ layer.weight.data.T)


def test_linear_input_validation_names_the_layer() -> None:
    model = nn.mlp([784, 20, 10], rng=0)
    with pytest.raises(ValueError, match=r"^Linear\[0\]: expected 784 features, got 64 "
                                         r"\(input shape \(32, 64\)\)$"):
        model(np.zeros((32, 64)))
    with pytest.raises(ValueError, match=r"Linear: expected 3 features, got a scalar"):
        nn.Linear(3, 1)(Value(1.0))


def test_linear_constructor_errors() -> None:
    with pytest.raises(ValueError, match="Linear: in_features must be a positive integer, got 0"):
        nn.Linear(0, 3)
    with pytest.raises(TypeError, match="Linear: out_features must be a positive integer"):
        nn.Linear(3, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Linear: unknown init 'glorious'"):
        nn.Linear(3, 2, init="glorious")
    with pytest.raises(TypeError, match="Linear: dtype must be float64 or float32, got int32"):
        nn.Linear(3, 2, dtype=np.int32)
    with pytest.raises(TypeError, match="Linear: rng must be an int seed"):
        nn.Linear(3, 2, rng="seed")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Linear: init returned shape \(2,\), expected \(2, 3\)"):
        nn.Linear(3, 2, init=lambda shape, rng: np.zeros(2))


def test_linear_float32() -> None:
    layer = nn.Linear(3, 2, rng=0, dtype=np.float32)
    assert layer.weight.dtype == np.float32 and layer.dtype == np.float32
    y = layer(np.ones((4, 3)))                       # float64 input is converted for the layer
    assert y.dtype == np.float32
    assert layer.config()["dtype"] == "float32"
    assert "dtype=float32" in repr(layer)


def test_linear_default_init_is_xavier_and_biases_start_at_zero() -> None:
    layer = nn.Linear(784, 20, rng=7)
    np.testing.assert_array_equal(layer.weight.data, init.xavier_uniform((20, 784), 7))
    assert layer.bias is not None
    np.testing.assert_array_equal(layer.bias.data, np.zeros(20))


def test_init_choice_keeps_784_input_sigmoid_units_unsaturated() -> None:
    """What the Linear docstring claims: uniform[−1, 1] saturates 784-input logistic units."""
    x = np.random.default_rng(0).random((256, 784)) * 0.6      # pixel-like inputs in [0, 0.6]
    xavier = nn.Linear(784, 20, rng=1)(x).data
    tutorial = nn.Linear(784, 20, init="uniform", rng=1)(x).data
    assert xavier.std() < 1.0
    assert np.mean(np.abs(xavier) > 4) == 0.0
    assert tutorial.std() > 4.0 and np.mean(np.abs(tutorial) > 4) > 0.4


# ----------------------------------------------------------------------------------------------
# Parameters and checkpoints
# ----------------------------------------------------------------------------------------------


def test_named_parameters_names_and_order() -> None:
    model = nn.mlp([4, 3, 2], rng=0)
    names = [n for n, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert model.parameters()[0] is model.layers[0].weight
    assert model.parameters()[3] is model[2].bias
    assert model.num_parameters() == 4 * 3 + 3 + 3 * 2 + 2
    assert model.layers[0].weight.name == "Linear[0].weight"


def test_shared_parameter_is_listed_once() -> None:
    f = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(f, nn.Tanh(), f)
    assert [n for n, _ in model.named_parameters()] == ["layers.0.weight", "layers.0.bias"]


def test_zero_grad() -> None:
    model = nn.mlp([3, 2, 1], rng=0)
    model(np.ones((2, 3))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_is_a_copy_and_round_trips() -> None:
    model = nn.mlp([4, 3, 2], rng=0)
    state = model.state_dict()
    assert list(state) == [n for n, _ in model.named_parameters()]
    state["layers.0.weight"][...] = 0.0                    # a copy: the model is untouched
    assert np.any(model.layers[0].weight.data != 0.0)
    other = nn.mlp([4, 3, 2], rng=1)
    x = np.random.default_rng(5).normal(size=(6, 4))
    assert not np.allclose(other(x).data, model(x).data)
    weight_array = other.layers[0].weight.data
    other.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(other(x).data, model(x).data)
    assert other.layers[0].weight.data is weight_array     # loaded in place
    np.savez(buf := __import__("io").BytesIO(), **model.state_dict())
    buf.seek(0)
    with np.load(buf) as loaded:
        other.load_state_dict(dict(loaded))


def _snapshot(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize(("edit", "match"), [
    (lambda s: s.pop("layers.2.bias"), r"missing parameters \['layers.2.bias'\]"),
    (lambda s: s.update(extra=np.zeros(1)), r"unexpected keys \['extra'\]"),
    (lambda s: s.update({"layers.2.weight": np.zeros((3, 2))}),
     r"parameter 'layers.2.weight' has shape \(2, 3\), but the state holds shape \(3, 2\)"),
    (lambda s: s.update({"layers.2.bias": np.zeros(2, dtype=np.float32)}),
     r"parameter 'layers.2.bias' has dtype float64, but the state holds dtype float32"),
    (lambda s: s.update({"layers.2.bias": np.array(["a", "b"])}),
     r"parameter 'layers.2.bias' has dtype float64, but the state holds dtype <U1"),
])
def test_failed_load_raises_and_changes_nothing(edit: object, match: str) -> None:
    model = nn.mlp([4, 3, 2], rng=0)
    before = _snapshot(model)
    state = {k: np.full_like(v, 9.0) for k, v in model.state_dict().items()}
    edit(state)  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"Sequential.load_state_dict: " + match):
        model.load_state_dict(state)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)   # nothing was written


def test_load_state_dict_requires_a_mapping() -> None:
    with pytest.raises(TypeError, match="load_state_dict: expected a mapping"):
        nn.Linear(2, 2).load_state_dict([("weight", np.zeros((2, 2)))])  # type: ignore[arg-type]


def test_config_is_json_and_rebuilds_an_equal_architecture() -> None:
    model = nn.Sequential(nn.Linear(4, 3, rng=0), nn.LeakyReLU(0.2), nn.Linear(3, 3, bias=False),
                          nn.Softmax(axis=-1))
    cfg = json.loads(json.dumps(model.config()))
    assert cfg["layers"][0] == {"type": "Linear", "config": {
        "in_features": 4, "out_features": 3, "bias": True, "dtype": "float64"}}
    assert cfg["layers"][1] == {"type": "LeakyReLU", "config": {"slope": 0.2}}
    rebuilt = nn.from_config("Sequential", cfg)
    assert isinstance(rebuilt, nn.Sequential)
    assert repr(rebuilt) == repr(model)
    assert rebuilt.config() == model.config()
    rebuilt.load_state_dict(model.state_dict())
    x = np.random.default_rng(0).normal(size=(2, 4))
    np.testing.assert_array_equal(rebuilt(x).data, model(x).data)
    assert nn.from_config("MSELoss", {"reduction": "sum"}).config() == {"reduction": "sum"}
    nested = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Tanh(), nn.Linear(2, 1)))
    again = nn.from_config("Sequential", json.loads(json.dumps(nested.config())))
    assert repr(again) == repr(nested)
    assert [n for n, _ in again.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.layers.1.weight", "layers.1.layers.1.bias"]


def test_from_config_only_builds_registered_types() -> None:
    own = {name for name, cls in nn.LAYER_TYPES.items()
           if cls.__module__.startswith("tinygrad_nn.")}      # a docs page registers a user's
    assert own == {"Linear", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softplus", "Identity",
                   "Softmax", "Sequential", "MSELoss", "CrossEntropyLoss"}
    assert all(issubclass(cls, nn.Module) for cls in nn.LAYER_TYPES.values())
    with pytest.raises(ValueError, match=r"from_config: unknown module type 'os\.system'"):
        nn.from_config("os.system", {})
    bad = {"layers": [{"type": "Module", "config": {}}]}
    with pytest.raises(ValueError, match="unknown module type 'Module'"):
        nn.from_config("Sequential", bad)
    with pytest.raises(ValueError, match=r"Linear\.from_config: invalid config"):
        nn.from_config("Linear", {"in_features": 3, "outs": 2})
    with pytest.raises(ValueError, match=r"Sequential.from_config: expected \{'layers'"):
        nn.from_config("Sequential", {"layer": []})


def test_a_registered_activation_is_offered_everywhere_at_once() -> None:
    from tinygrad_nn import tutorial
    from tinygrad_nn.nn.by_hand import PhiByHand
    from tinygrad_nn.nn.registry import layer_type

    @layer_type
    class Cube(nn.Activation):
        """φ(x) = x³; φ' = 3x²."""

        mlp_name = "cube"
        init_before = "he"
        by_hand = PhiByHand("cube", "φ(x) = x³", "φ'(net) = 3 net²",
                            lambda x, k: x ** 3, lambda net, out, k: 3.0 * net * net)

        def forward(self, x: Value) -> Value:
            return x ** 3

    assert nn.LAYER_TYPES["Cube"] is Cube
    assert nn.ACTIVATIONS["cube"] is Cube and nn.AUTO_INIT["cube"] == "he"
    assert tutorial.ACTIVATIONS[Cube] is Cube.by_hand
    model = nn.mlp([2, 3, 1], activation="cube", output_activation=None, rng=0)
    assert type(model[1]) is Cube
    rebuilt = nn.from_config("Sequential", model.config())
    assert [type(m) for m in rebuilt] == [nn.Linear, Cube, nn.Linear]
    x, d = np.array([[0.5, -0.25]]), np.array([[1.0]])
    by_hand = tutorial.manual_gradients(model, x, d)
    by_engine = tutorial.engine_backprop(model, x, d).grads
    for (hw, hb), (ew, eb) in zip(by_hand, by_engine, strict=True):
        np.testing.assert_allclose(hw, ew, rtol=1e-12)
        np.testing.assert_allclose(hb, eb, rtol=1e-12)


def test_layer_type_refuses_a_second_class_of_the_same_name() -> None:
    from tinygrad_nn.nn.registry import layer_type

    class Sigmoid(nn.Activation):                  # not the registered nn.Sigmoid
        pass

    with pytest.raises(ValueError, match=r"layer_type: a different class named 'Sigmoid' is "
                                         r"already registered \(tinygrad_nn\.nn\.layers\."
                                         r"Sigmoid\)"):
        layer_type(Sigmoid)
    class Plain:                                   # no config() / from_config()
        pass

    with pytest.raises(TypeError, match=r"layer_type: expected a module class with config\(\) "
                                        r"and from_config\(\), got <class '.*Plain'>"):
        layer_type(Plain)
    assert nn.LAYER_TYPES["Sigmoid"] is nn.Sigmoid


def test_a_class_defined_again_replaces_its_registration() -> None:
    def define() -> type[nn.Module]:
        @nn.layer_type
        class Again(nn.Module):                    # the same qualified name every time
            def forward(self, x: Value) -> Value:
                return x

        return Again

    first, second = define(), define()             # a notebook cell run twice
    assert first is not second and nn.LAYER_TYPES["Again"] is second


# -- every sub-module and parameter at once ------------------------------------------------------


def _nested() -> nn.Sequential:
    inner = nn.Sequential(nn.Linear(3, 3, rng=1), nn.Tanh())
    return nn.Sequential(nn.Linear(2, 3, rng=0), inner, nn.Linear(3, 1, rng=2))


def test_named_modules_walks_depth_first_and_lists_a_shared_module_once() -> None:
    model = _nested()
    assert [(name, type(m).__name__) for name, m in model.named_modules()] == [
        ("", "Sequential"), ("layers.0", "Linear"), ("layers.1", "Sequential"),
        ("layers.1.layers.0", "Linear"), ("layers.1.layers.1", "Tanh"), ("layers.2", "Linear")]
    assert list(model.modules()) == [m for _, m in model.named_modules()]

    class Twice(nn.Module):
        def __init__(self) -> None:
            self.first = self.second = nn.Linear(2, 2, rng=0)

    assert [name for name, _ in Twice().named_modules(prefix="net")] == ["net", "net.first"]


def test_apply_visits_children_before_their_parent_and_returns_the_module() -> None:
    model = _nested()
    seen: list[str] = []
    assert model.apply(lambda m: seen.append(m.name)) is model
    assert seen == ["Linear[0]", "Linear[0]", "Tanh[1]", "Sequential[1]", "Linear[2]",
                    "Sequential"]

    def zero_biases(m: nn.Module) -> None:
        if isinstance(m, nn.Linear) and m.bias is not None:
            m.bias.data[...] = 0.5

    model.apply(zero_biases)
    assert all(np.all(m.bias.data == 0.5) for m in model.modules() if isinstance(m, nn.Linear))
    with pytest.raises(TypeError, match=r"^Sequential.apply: fn must be a function of a module, "
                                        r"got int"):
        model.apply(3)  # type: ignore[arg-type]


def test_to_converts_every_parameter_and_gradient_in_place() -> None:
    model = _nested()
    params = model.parameters()
    before = [np.array(p.data, copy=True) for p in params]
    opt = optim.SGD(params, lr=0.1)
    loss = model(np.ones((4, 2))).sum()
    loss.backward()
    assert model.to(np.float32) is model
    assert model.parameters() == params                        # the same Value objects
    for p, w in zip(params, before):
        assert p.dtype == np.float32 and p.grad.dtype == np.float32
        np.testing.assert_array_equal(p.data, w.astype(np.float32))
    assert model[0].config()["dtype"] == "float32"
    opt.step()                                                 # the optimizer still holds them
    assert params[0].data.dtype == np.float32
    out = model(np.ones((4, 2), dtype=np.float32))
    assert out.data.dtype == np.float32
    model.to("float64")
    assert {p.dtype for p in params} == {np.dtype(np.float64)}


def test_to_a_scalar_parameter_and_back() -> None:
    class Gain(nn.Module):
        def __init__(self) -> None:
            self.k = Value(2.0)

    g = Gain().to(np.float32)
    assert g.k.dtype == np.float32 and g.k.shape == ()
    assert float(Gain().to(np.float64).k.data) == 2.0


@pytest.mark.parametrize("dtype", ["int32", np.complex128, "float16", "banana"])
def test_to_refuses_other_dtypes_and_changes_nothing(dtype: object) -> None:
    model = _nested()
    with pytest.raises(TypeError, match=r"^Sequential.to: dtype must be float64 or float32, got"):
        model.to(dtype)
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}


def test_requires_grad_freezes_a_module() -> None:
    model = _nested()
    assert model[0].requires_grad_(False) is model[0]
    model(np.ones((2, 2))).sum().backward()
    assert model[0].weight.grad is None and model[0].bias.grad is None
    assert model[2].weight.grad is not None
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(TypeError, match=r"^Sequential.requires_grad_: requires_grad must be True "
                                        r"or False, got 'no'"):
        model.requires_grad_("no")  # type: ignore[arg-type]
    assert all(p.requires_grad for p in model.parameters())


def test_every_activation_mlp_offers_has_a_hand_written_derivative() -> None:
    from tinygrad_nn import tutorial

    assert set(nn.ACTIVATIONS) == {"sigmoid", "tanh", "relu", "leaky_relu", "softplus",
                                   "identity"}
    assert set(tutorial.ACTIVATIONS) == set(nn.ACTIVATIONS.values())
    assert dict(nn.AUTO_INIT) == {"sigmoid": "xavier_sigmoid", "tanh": "xavier",
                                  "identity": "xavier", None: "xavier", "relu": "he",
                                  "leaky_relu": "he", "softplus": "he"}


# ----------------------------------------------------------------------------------------------
# Names, roles and scopes
# ----------------------------------------------------------------------------------------------


def test_sequential_names_and_roles() -> None:
    model = nn.mlp([784, 20, 20, 10], rng=0)
    assert [m.role for m in model] == ["f", "φ", "g", "φ", "h", "φ"]
    assert [m.scope_label for m in model][:4] == ["f: Linear[0]", "φ: Sigmoid[1]",
                                                  "g: Linear[2]", "φ: Sigmoid[3]"]
    many = nn.Sequential(*[nn.Linear(2, 2) for _ in range(14)])
    assert [m.role for m in many] == ["f", "g", "h", "k", "p", "q", "r", "s", "t", "u", "v", "w",
                                      "f13", "f14"]
    assert nn.MSELoss().scope_label == "E: MSELoss"
    assert nn.Linear(2, 2).scope_label == "f: Linear"
    assert nn.Sequential().scope_label == "Sequential"
    layer = nn.Linear(2, 2)
    layer.role = None
    layer.name = "encoder"
    assert layer.scope_label == "encoder" and layer.weight.name == "encoder.weight"
    with pytest.raises(TypeError, match=r"Linear\.name: expected a non-empty string"):
        layer.name = ""


def test_nodes_carry_the_scope_of_their_layer() -> None:
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.Sigmoid(), nn.MSELoss())
    net = model[0](np.ones((1, 3)))
    assert net.scope is not None and net.scope.label == "f: Linear[0]"
    assert net.scope.module is model[0]
    out = model[1](net)
    assert out.scope is not None and out.scope.label == "φ: Sigmoid[1]"
    E = model(np.ones((1, 3)), np.zeros((1, 2)))
    assert E.scope is not None and E.scope.path() == ("Sequential", "E: MSELoss[2]")
    assert E.parents[0].scope is not None
    assert E.parents[0].scope.path() == ("Sequential", "φ: Sigmoid[1]")
    with scope("outer"):
        inner = model[0](np.ones((1, 3)))
    assert inner.scope is not None and inner.scope.path() == ("outer", "f: Linear[0]")


class Square(nn.Module):
    """A user's own map with a role declared in the class body."""

    role = "ψ"

    def forward(self, x: Value) -> Value:
        return x * x


def test_each_call_is_labelled_with_the_role_and_name_the_module_has_then() -> None:
    layer, x = nn.Linear(2, 2, rng=0), np.ones((1, 2))
    assert layer(x).scope.label == "f: Linear"
    layer.name = "encoder"
    assert layer(x).scope.label == "f: encoder"
    layer.role = None
    assert layer(x).scope.label == "encoder"
    del layer.role                            # the class's role again
    assert layer(x).scope.label == "f: encoder"
    assert Square()(Value(2.0)).scope.label == "ψ: Square"
    out = nn.Sequential(layer, Square())(x)   # Sequential renames both
    assert out.scope.path() == ("Sequential", "ψ: Square[1]")
    assert out.scope.module is not None and out.parents[0].scope.path() == ("Sequential",
                                                                             "f: Linear[0]")


def test_a_class_role_set_later_labels_the_next_call() -> None:
    class Doubler(nn.Module):
        role = "d"

        def forward(self, x: Value) -> Value:
            return x * 2.0

    layer = Doubler()
    assert layer(Value(1.0)).scope.label == "d: Doubler"
    Doubler.role = "ψ"                        # the label is made at each call, never cached
    assert layer(Value(1.0)).scope.label == "ψ: Doubler"
    Doubler.role = None
    assert layer(Value(1.0)).scope.label == "Doubler"


def test_sequential_calls_a_layer_through_its_own_call_method() -> None:
    calls = []

    class Logged(nn.Sigmoid):
        def __call__(self, *args: object, **kwargs: object) -> Value:
            calls.append(args)
            return super().__call__(*args, **kwargs)

    model = nn.Sequential(nn.Linear(2, 2, rng=0), Logged())
    out = model(np.ones((1, 2)))
    assert len(calls) == 1 and calls[0][0] is out.parents[0]
    assert out.scope.path() == ("Sequential", "φ: Logged[1]")
    assert out.scope.module is model[1]


def test_a_layer_that_raises_leaves_no_scope_behind() -> None:
    class Broken(nn.Module):
        def forward(self, x: Value) -> Value:
            raise RuntimeError("Broken.forward: no")

    model = nn.Sequential(nn.Linear(2, 2, rng=0), Broken())
    with pytest.raises(RuntimeError, match=r"Broken\.forward: no"):
        model(np.ones((1, 2)))
    with pytest.raises(RuntimeError, match=r"Broken\.forward: no"):
        model.forward(np.ones((1, 2)))        # not through the Sequential's own call
    with pytest.raises(RuntimeError, match=r"Broken\.forward: no"):
        model[1](Value(1.0))
    assert (Value(1.0) + 1.0).scope is None


def test_repr_is_nested_with_roles() -> None:
    model = nn.Sequential(nn.Linear(784, 20), nn.Sigmoid(), nn.Sequential(nn.Linear(20, 10)),
                          nn.MSELoss(reduction="sum"))
    assert repr(model) == (
        "Sequential(\n"
        "  f: Linear[0](in_features=784, out_features=20, bias=True)\n"
        "  φ: Sigmoid[1]()\n"
        "  Sequential[2](\n"
        "    f: Linear[0](in_features=20, out_features=10, bias=True)\n"
        "  )\n"
        "  E: MSELoss[3](reduction='sum')\n"
        ")")
    assert repr(nn.LeakyReLU(0.1)) == "φ: LeakyReLU(slope=0.1)"


# ----------------------------------------------------------------------------------------------
# Composition
# ----------------------------------------------------------------------------------------------


def test_compose_is_sequential_in_mathematical_order() -> None:
    f1, g1 = nn.Linear(3, 4, rng=0), nn.Linear(4, 2, rng=1)
    f2, g2 = nn.Linear(3, 4, rng=0), nn.Linear(4, 2, rng=1)
    composed = nn.compose(nn.Sigmoid(), g1, nn.Tanh(), f1)          # φ∘g∘tanh∘f
    sequential = nn.Sequential(f2, nn.Tanh(), g2, nn.Sigmoid())
    assert [type(m) for m in composed] == [type(m) for m in sequential]
    x = np.random.default_rng(3).normal(size=(5, 3))
    a, b = composed(x), sequential(x)
    np.testing.assert_array_equal(a.data, b.data)
    expected = 1 / (1 + np.exp(-(np.tanh(x @ f1.weight.data.T) @ g1.weight.data.T)))
    np.testing.assert_allclose(a.data, expected, rtol=1e-12)
    t = np.zeros((5, 2))
    nn.MSELoss()(a, t).backward()
    nn.MSELoss()(b, t).backward()
    for p, q in zip(composed.parameters(), sequential.parameters()):
        assert p.grad is not None and q.grad is not None
        np.testing.assert_array_equal(p.grad, q.grad)
    with pytest.raises(TypeError, match="compose: argument 1 must be a Module"):
        nn.compose(nn.Sigmoid(), np.tanh)  # type: ignore[arg-type]


def test_compose_with_one_activation_object_used_twice() -> None:
    """compose(φ, g, φ, f) with a single φ: each position gets its own name and scope."""
    phi, f, g = nn.Sigmoid(), nn.Linear(2, 3, rng=0), nn.Linear(3, 2, rng=1)
    model = nn.compose(phi, g, phi, f)
    assert [m.scope_label for m in model] == ["f: Linear[0]", "φ: Sigmoid[1]", "g: Linear[2]",
                                              "φ: Sigmoid[3]"]
    assert model[1] is phi and model[3] is not phi
    square = nn.Linear(3, 3, rng=2)
    shared = nn.Sequential(square, nn.Tanh(), square)
    assert shared[2] is not square and shared[2].weight is square.weight   # weights stay shared
    assert [m.role for m in shared] == ["f", "φ", "g"]
    assert len(shared.parameters()) == 2
    x = np.array([[0.3, -0.1, 0.2]])
    W = square.weight.data
    shared(x).sum().backward()
    h = np.tanh(x @ W.T)
    expected = np.ones((3, 1)) @ h + ((np.ones((1, 3)) @ W) * (1 - h**2)).T @ x   # both uses
    np.testing.assert_allclose(square.weight.grad, expected, rtol=1e-12)


def test_pipe_operator_flattens() -> None:
    f, phi, g = nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)
    pipe = f >> phi >> g
    assert isinstance(pipe, nn.Sequential) and pipe.layers == [f, phi, g]
    assert [m.scope_label for m in pipe] == ["f: Linear[0]", "φ: Sigmoid[1]", "g: Linear[2]"]
    longer = pipe >> nn.Sigmoid()
    assert len(longer) == 4 and longer[:3].layers == [f, phi, g]
    with pytest.raises(TypeError):
        f >> np.tanh  # type: ignore[operator]


def test_sequential_with_error_function_takes_the_target() -> None:
    net = tutorial_net()
    with_loss = nn.compose(nn.MSELoss(), *reversed(net.layers))          # E∘φ∘g∘φ∘f
    E = with_loss(np.array([[0.5, 0.25]]), np.array([[0.0, 1.0]]))
    assert E.item() == pytest.approx(0.38, abs=5e-3)
    with pytest.raises(TypeError, match="Sequential: got extra arguments"):
        net(np.ones((1, 2)), np.ones((1, 2)))
    with pytest.raises(TypeError, match=r"layer MSELoss\[4\] is an error function E and needs "
                                        r"the target"):
        with_loss(np.array([[0.5, 0.25]]))


def test_sequential_container_protocol() -> None:
    seq = nn.Sequential([nn.Linear(2, 2), nn.ReLU()])
    assert len(seq) == 2 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.ReLU)
    seq.append(nn.Linear(2, 1))
    assert seq[2].scope_label == "g: Linear[2]"
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range for 3 layers"):
        seq[3]
    with pytest.raises(TypeError, match="Sequential: layer 1 must be a Module"):
        nn.Sequential(nn.Linear(2, 2), "relu")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Sequential\.append: expected a Module"):
        seq.append(np.tanh)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# Activations and losses as modules
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("module", "expected"), [
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.Identity(), lambda x: x),
    (nn.Softmax(), lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)),
])
def test_activation_modules(module: nn.Module, expected: object) -> None:
    x = np.array([[-3.0, -0.5, 0.1], [0.25, 1.0, 4.0]])            # no kink at 0 for gradcheck
    np.testing.assert_allclose(module(x).data, expected(x), rtol=1e-12)  # type: ignore[operator]
    assert module.role == "φ"
    assert nn.from_config(type(module).__name__, module.config()).config() == module.config()
    v = Value(x.copy())
    np.testing.assert_array_equal(module(v).data, module(x).data)   # a Value takes the method
    if not isinstance(module, nn.Identity):
        assert gradcheck(lambda z: (module(z) * np.arange(6.0).reshape(2, 3)).sum(), [v])


def test_activation_modules_at_extremes_raise_no_warnings() -> None:
    x = Value(np.array([-1000.0, 1000.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, cls in nn.ACTIVATIONS.items():
            y = cls()(x)
            y.backward(np.ones(2))
            assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad)), name
            x.grad = None


def test_loss_modules() -> None:
    p = Value(np.array([[0.68, 0.45]]))
    assert nn.MSELoss()(p, np.array([[0.0, 1.0]])).item() == pytest.approx(0.38245)
    assert nn.MSELoss("sum")(p, np.array([[0.0, 1.0]])).item() == pytest.approx(0.7649)
    assert nn.MSELoss().role == "E" and nn.CrossEntropyLoss().role == "E"
    z = Value(np.array([[2.0, 0.0, -1.0]]))
    expected = -(2.0 - math.log(math.exp(2.0) + 1.0 + math.exp(-1.0)))
    assert nn.CrossEntropyLoss()(z, [0]).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="MSELoss: reduction must be 'mean' or 'sum'"):
        nn.MSELoss("none")
    with pytest.raises(ValueError, match=r"prediction \(2, 10\) and target \(2,\)"):
        nn.MSELoss()(Value(np.zeros((2, 10))), np.zeros(2))


# ----------------------------------------------------------------------------------------------
# init
# ----------------------------------------------------------------------------------------------


def test_init_statistics() -> None:
    u = init.uniform((400, 500), 0, k=0.5)
    assert u.min() >= -0.5 and u.max() <= 0.5
    assert abs(u.mean()) < 0.005 and u.std() == pytest.approx(0.5 / math.sqrt(3), rel=0.01)
    n = init.normal((400, 500), 0, std=2.0)
    assert abs(n.mean()) < 0.02 and n.std() == pytest.approx(2.0, rel=0.01)
    x = init.xavier_uniform((300, 500), 0)
    a = math.sqrt(6 / 800)
    assert x.min() >= -a and x.max() <= a and x.max() > 0.99 * a
    assert x.std() == pytest.approx(math.sqrt(2 / 800), rel=0.01)
    assert init.xavier_sigmoid((300, 500), 0).std() == pytest.approx(4 * math.sqrt(2 / 800),
                                                                     rel=0.01)
    h = init.he_normal((300, 500), 0)
    assert abs(h.mean()) < 0.002 and h.std() == pytest.approx(math.sqrt(2 / 500), rel=0.01)
    assert init.glorot is init.xavier_uniform and init.kaiming is init.he_normal
    np.testing.assert_array_equal(init.zeros((2, 3)), np.zeros((2, 3)))
    assert init.uniform(5, 0).shape == (5,)


def test_init_is_deterministic_for_a_seed() -> None:
    for fn in (init.uniform, init.normal, init.xavier_uniform, init.he_normal):
        np.testing.assert_array_equal(fn((3, 4), 42), fn((3, 4), 42))
        np.testing.assert_array_equal(fn((3, 4), 42), fn((3, 4), np.random.default_rng(42)))
        assert not np.array_equal(fn((3, 4), 42), fn((3, 4), 43))
    a, b = nn.mlp([5, 4, 3], rng=9), nn.mlp([5, 4, 3], rng=9)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    first, second = a.layers[0].weight.data, a.layers[2].weight.data
    assert not np.array_equal(first[:3, :4], second[:3, :4])   # layers draw different numbers


def test_init_does_not_touch_the_global_rng() -> None:
    state = np.random.get_state()
    nn.mlp([6, 5, 4], rng=None)
    init.normal((3, 3), None)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1])  # type: ignore[index]


def test_init_errors() -> None:
    with pytest.raises(ValueError, match="uniform: k must be a positive number, got -1"):
        init.uniform((2, 2), 0, k=-1)
    with pytest.raises(ValueError, match=r"xavier_uniform: expected a non-empty weight shape "
                                         r"\(out_features, in_features\), got \(3,\)"):
        init.xavier_uniform(3, 0)
    with pytest.raises(ValueError, match="make_rng: rng seed must be a non-negative integer"):
        init.make_rng(-1)
    with pytest.raises(ValueError, match="get_init: unknown init 'nope'"):
        init.get_init("nope")


# ----------------------------------------------------------------------------------------------
# mlp
# ----------------------------------------------------------------------------------------------


def test_mlp_structure() -> None:
    model = nn.mlp([784, 20, 20, 10])
    assert [type(m) for m in model] == [nn.Linear, nn.Sigmoid] * 3
    assert [(m.in_features, m.out_features) for m in model if isinstance(m, nn.Linear)] == [
        (784, 20), (20, 20), (20, 10)]
    logits = nn.mlp([64, 20, 10], activation="relu", output_activation=None, rng=0)
    assert [type(m) for m in logits] == [nn.Linear, nn.ReLU, nn.Linear]
    mixed = nn.mlp([4, 3, 2], activation="tanh", output_activation="softplus", rng=0)
    assert [type(m) for m in mixed] == [nn.Linear, nn.Tanh, nn.Linear, nn.Softplus]
    for name, cls in nn.ACTIVATIONS.items():
        assert type(nn.mlp([2, 2], activation=name)[1]) is cls
    assert len(nn.mlp(np.array([3, 2, 1]), rng=0)) == 4
    with pytest.raises(ValueError, match="mlp: activation must be one of"):
        nn.mlp([2, 2], activation="swish")
    with pytest.raises(ValueError, match="mlp: sizes must list at least"):
        nn.mlp([2])
    with pytest.raises(ValueError, match="mlp: every size must be a positive integer, got 0"):
        nn.mlp([2, 0, 1])


def test_mlp_auto_init_follows_the_activation() -> None:
    sig = nn.mlp([50, 30, 10], rng=3)
    gen = np.random.default_rng(3)
    np.testing.assert_array_equal(sig[0].weight.data, init.xavier_sigmoid((30, 50), gen))
    np.testing.assert_array_equal(sig[2].weight.data, init.xavier_sigmoid((10, 30), gen))
    relu = nn.mlp([50, 30, 10], activation="relu", output_activation=None, rng=3)
    gen = np.random.default_rng(3)
    np.testing.assert_array_equal(relu[0].weight.data, init.he_normal((30, 50), gen))
    np.testing.assert_array_equal(relu[2].weight.data, init.xavier_uniform((10, 30), gen))
    plain = nn.mlp([50, 30], init="uniform", rng=3)
    assert plain[0].weight.data.max() > 0.9


def test_mlp_learns_xor() -> None:
    """The composition trains: plain gradient descent on E∘φ∘g∘φ∘f fits XOR."""
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    d = np.array([[0.0], [1.0], [1.0], [0.0]])
    model = nn.mlp([2, 4, 1], rng=0)
    E = nn.MSELoss()
    for _ in range(2000):
        model.zero_grad()
        E(model(x), d).backward()
        for p in model.parameters():
            p.data -= 2.0 * p.grad
    np.testing.assert_array_equal(model(x).data > 0.5, d > 0.5)
    assert E(model(x), d).item() < 0.02


@pytest.mark.parametrize("build", [
    lambda: nn.mlp([4, 5, 3], rng=0),
    lambda: nn.Linear(3, 2, bias=False, rng=0),
    lambda: nn.Sequential(nn.Linear(2, 2, rng=0), nn.LeakyReLU(0.2), nn.Softmax(), nn.MSELoss()),
    lambda: nn.Sequential(nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh()), nn.Linear(3, 1)),
], ids=["mlp", "linear-no-bias", "activations-and-loss", "nested"])
def test_parameter_shapes_come_from_the_config_alone(build: Callable[[], nn.Module]) -> None:
    """checkpoint.load compares them with the file before building anything (issue 23, #12)."""
    model = build()
    shapes = nn.parameter_shapes(type(model).__name__, model.config())
    assert shapes == {name: p.shape for name, p in model.named_parameters(remove_duplicate=False)}


def test_named_parameters_lists_a_shared_value_once_unless_asked_for_every_name() -> None:
    lin = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(lin, nn.Tanh(), lin)
    assert [n for n, _ in model.named_parameters()] == ["layers.0.weight", "layers.0.bias"]
    every = model.named_parameters(remove_duplicate=False)
    assert [n for n, _ in every] == ["layers.0.weight", "layers.0.bias", "layers.2.weight",
                                     "layers.2.bias"]
    assert every[2][1] is every[0][1]
