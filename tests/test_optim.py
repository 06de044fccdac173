"""Optimizers: the tutorial's update W ← W − η ∂E/∂W, momentum and Adam against NumPy references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_nn import Value, optim
from tinygrad_nn.optim import SGD, Adam


def _params(seed: int = 0) -> list[Value]:
    rng = np.random.default_rng(seed)
    return [Value(rng.normal(size=(3, 4))), Value(rng.normal(size=(4,))), Value(0.5)]


def _set_grads(params: list[Value], seed: int) -> list[object]:
    rng = np.random.default_rng(seed)
    grads: list[object] = []
    for p in params:
        g = float(rng.normal()) if p.shape == () else rng.normal(size=p.shape)
        p.grad = g
        grads.append(g)
    return grads


def test_sgd_step_is_exactly_w_minus_eta_grad() -> None:
    params = _params()
    before = [np.array(p.data, copy=True) for p in params]
    grads = _set_grads(params, 1)
    SGD(params, lr=0.1).step()
    for p, w, g in zip(params, before, grads):
        np.testing.assert_array_equal(p.data, w - 0.1 * g)  # bit-exact, not approximately
    assert type(params[2].data) is float


def test_sgd_updates_in_place_and_never_touches_grad() -> None:
    w = Value(np.array([1.0, 2.0]))
    storage = w.data
    shared = np.array([0.5, -1.0])
    w.grad = shared
    SGD([w], lr=2.0).step()
    assert w.data is storage
    np.testing.assert_array_equal(w.data, [0.0, 4.0])
    np.testing.assert_array_equal(shared, [0.5, -1.0])
    assert w.grad is shared


def test_sgd_on_a_real_backward_pass() -> None:
    w = Value(np.array([[1.0, -2.0]]))
    x = np.array([[3.0], [4.0]])
    loss = (w @ x).sum() ** 2           # (3 - 8)^2 = 25, dE/dw = 2 * (-5) * x^T = [-30, -40]
    loss.backward()
    np.testing.assert_allclose(w.grad, [[-30.0, -40.0]])
    SGD([w], lr=0.01).step()
    np.testing.assert_allclose(w.data, [[1.3, -1.6]])


def test_sgd_momentum_matches_numpy_reference() -> None:
    params = _params()
    ref = [np.array(p.data, dtype=float, copy=True) for p in params]
    vel = [np.zeros_like(r) for r in ref]
    opt = SGD(params, lr=0.05, momentum=0.9)
    for step in range(4):
        grads = _set_grads(params, 10 + step)
        opt.step()
        for i, g in enumerate(grads):
            vel[i] = 0.9 * vel[i] + g if step else np.array(g, dtype=float)
            ref[i] = ref[i] - 0.05 * vel[i]
            np.testing.assert_allclose(params[i].data, ref[i], rtol=1e-13, atol=1e-15)


def test_sgd_weight_decay_adds_lambda_w() -> None:
    w = Value(np.array([2.0, -4.0]))
    w.grad = np.array([1.0, 1.0])
    SGD([w], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(w.data, [2.0 - 0.1 * (1 + 1.0), -4.0 - 0.1 * (1 - 2.0)])


def test_adam_matches_numpy_reference() -> None:
    params = _params(3)
    ref = [np.array(p.data, dtype=float, copy=True) for p in params]
    m = [np.zeros_like(r) for r in ref]
    v = [np.zeros_like(r) for r in ref]
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-6
    opt = Adam(params, lr=lr, betas=(b1, b2), eps=eps)
    for t in range(1, 5):
        grads = _set_grads(params, 20 + t)
        opt.step()
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * np.asarray(g)
            v[i] = b2 * v[i] + (1 - b2) * np.asarray(g) ** 2
            mh, vh = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            ref[i] = ref[i] - lr * mh / (np.sqrt(vh) + eps)
            np.testing.assert_allclose(params[i].data, ref[i], rtol=1e-12, atol=1e-14)


def test_adam_first_step_moves_each_weight_by_about_lr() -> None:
    w = Value(np.array([1.0, 1.0, 1.0]))
    w.grad = np.array([1e-3, -5.0, 200.0])
    Adam([w], lr=0.1).step()
    np.testing.assert_allclose(w.data, [0.9, 1.1, 0.9], rtol=1e-5)


def test_params_without_grad_are_skipped_and_keep_their_adam_clock() -> None:
    a, b = Value(np.array([1.0])), Value(np.array([1.0]))
    opt = Adam([a, b], lr=0.1)
    a.grad = np.array([1.0])
    opt.step()                         # b has no grad: untouched
    np.testing.assert_array_equal(b.data, [1.0])
    b.grad = np.array([1.0])
    a.grad = None
    opt.step()                         # b's first step is bias-corrected as t = 1
    np.testing.assert_allclose(b.data, [0.9])
    np.testing.assert_allclose(a.data, [0.9])
    assert [opt.state[i]["step"] for i in (0, 1)] == [1, 1]


def test_zero_grad_resets_every_param() -> None:
    params = _params()
    _set_grads(params, 0)
    opt = SGD(params, lr=0.1)
    before = [np.array(p.data, copy=True) for p in params]
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    opt.step()  # nothing to do
    for p, w in zip(params, before):
        np.testing.assert_array_equal(p.data, w)


def test_duplicate_params_are_updated_once() -> None:
    w = Value(np.array([1.0]))
    w.grad = np.array([1.0])
    opt = SGD([w, w], lr=0.5)
    assert len(opt.params) == 1
    opt.step()
    np.testing.assert_array_equal(w.data, [0.5])


def test_float32_params_stay_float32() -> None:
    w = Value(np.ones(3, dtype=np.float32))
    w.grad = np.full(3, 0.25, dtype=np.float32)
    Adam([w], lr=0.1).step()
    assert w.data.dtype == np.float32


@pytest.mark.parametrize("lr", [-0.1, math.nan, math.inf, -math.inf])
def test_bad_learning_rate(lr: float) -> None:
    with pytest.raises(ValueError, match=r"SGD: lr must be a finite number >= 0, got"):
        SGD(_params(), lr=lr)
    with pytest.raises(ValueError, match=r"Adam: lr must be a finite number >= 0"):
        Adam(_params(), lr=lr)


def test_lr_must_be_a_number() -> None:
    with pytest.raises(TypeError, match=r"SGD: lr must be a real number, got str '0.1'"):
        SGD(_params(), lr="0.1")  # type: ignore[arg-type]


def test_empty_parameter_list() -> None:
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: got an empty parameter list"):
        Adam(iter([]))


def test_non_value_params() -> None:
    with pytest.raises(TypeError, match=r"SGD: params\[1\] must be a Value, got ndarray"):
        SGD([Value(1.0), np.zeros(2)], lr=0.1)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="got a single Value; wrap it in a list"):
        SGD(Value(1.0), lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SGD: params must be an iterable of Values"):
        SGD(3, lr=0.1)  # type: ignore[arg-type]
    x = Value(2.0)
    with pytest.raises(ValueError, match=r"params\[0\] is computed by an op"):
        SGD([x * 2], lr=0.1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"momentum": 1.0}, r"SGD: momentum must be a finite number >= 0 and < 1, got 1.0"),
    ({"momentum": -0.5}, "SGD: momentum must be"),
    ({"weight_decay": -1.0}, "SGD: weight_decay must be a finite number >= 0"),
])
def test_bad_sgd_options(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SGD(_params(), lr=0.1, **kwargs)


def test_bad_adam_options() -> None:
    with pytest.raises(ValueError, match=r"Adam: betas\[1\] must be a finite number >= 0 and < 1"):
        Adam(_params(), betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="Adam: betas must be a pair"):
        Adam(_params(), betas=0.9)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Adam: eps must be a finite number > 0"):
        Adam(_params(), eps=0.0)


def test_gradient_shape_mismatch_leaves_every_param_unchanged() -> None:
    params = _params()
    before = [np.array(p.data, copy=True) for p in params]
    _set_grads(params, 2)
    params[1].grad = np.zeros(5)
    with pytest.raises(ValueError, match=r"SGD.step: parameter 1 has shape \(4,\) but its "
                                         r"gradient has shape \(5,\)"):
        SGD(params, lr=0.1).step()
    for p, w in zip(params, before):
        np.testing.assert_array_equal(p.data, w)


def test_repr() -> None:
    assert repr(SGD(_params(), lr=0.1)) == ("SGD(3 params, lr=0.1, momentum=0, dampening=0, "
                                            "weight_decay=0, nesterov=False)")
    assert repr(Adam(_params())).startswith("Adam(3 params, lr=0.001")


# -- issue 23, item 15: a bad gradient anywhere changes nothing ------------------------------


@pytest.mark.parametrize("bad", [
    [0.1, 0.2, 0.3, 0.4],
    np.array(["a", "b", "c", "d"]),
    np.array([1 + 2j, 0j, 1j, 2.0]),
    np.array([True, False, True, False]),
    "0.5",
], ids=["list", "strings", "complex", "bools", "string"])
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_a_later_bad_gradient_leaves_every_parameter_and_buffer_unchanged(
        name: str, bad: object) -> None:
    params = _params()
    opt = getattr(optim, name)(params, lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
    _set_grads(params, 1)
    opt.step()                                   # buffers exist: they must not move either
    before = [np.array(p.data, copy=True) for p in params]
    state = opt.state_dict()
    _set_grads(params, 2)
    params[1].grad = bad
    with pytest.raises(TypeError, match=rf"^{name}.step: the gradient of parameter 1 must "):
        opt.step()
    for p, w in zip(params, before):
        np.testing.assert_array_equal(p.data, w)
    after = opt.state_dict()
    for i, entry in state["state"].items():
        for key, value in entry.items():
            np.testing.assert_array_equal(after["state"][i][key], value)


def test_a_complex_gradient_of_a_scalar_parameter_is_refused() -> None:
    w = Value(1.0)
    w.grad = 1 + 1j
    with pytest.raises(TypeError, match=r"Adam.step: the gradient of parameter 0 must be a "
                                        r"NumPy array or a number, got complex"):
        optim.Adam([w]).step()
    assert w.data == 1.0


def test_an_integer_gradient_is_a_real_gradient() -> None:
    w = Value(np.array([1.0, 2.0]))
    w.grad = np.array([1, -1])
    SGD([w], lr=0.5).step()
    np.testing.assert_array_equal(w.data, [0.5, 2.5])


# -- parameter groups --------------------------------------------------------------------------


def test_groups_take_their_own_options_and_the_defaults_for_the_rest() -> None:
    a, b, c = _params()
    opt = SGD([{"params": [a, b], "lr": 0.5}, {"params": [c], "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.9]
    assert opt.params == [a, b, c]
    grads = _set_grads([a, b, c], 3)
    before = [np.array(p.data, copy=True) for p in (a, b, c)]
    opt.step()
    np.testing.assert_array_equal(a.data, before[0] - 0.5 * np.asarray(grads[0]))
    assert c.data == before[2] - 0.1 * grads[2]      # first momentum step: v = g


def test_add_param_group_extends_the_optimizer() -> None:
    a, b, c = _params()
    opt = Adam([a, b], lr=0.01)
    opt.add_param_group({"params": c, "lr": 0.1})
    assert opt.params == [a, b, c]
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    c.grad = 1.0
    opt.step()
    assert c.data == pytest.approx(0.5 - 0.1)
    assert list(opt.state) == [2]


@pytest.mark.parametrize(("groups", "error", "message"), [
    ([{"params": [Value(1.0)], "learning_rate": 0.1}], ValueError,
     r"^SGD: params\[0\] has unknown option 'learning_rate'; SGD takes lr, momentum, "
     r"dampening, weight_decay, nesterov"),
    ([{"params": [Value(1.0)], "momentum": 1.5}], ValueError,
     r"^SGD: params\[0\]\['momentum'\] must be a finite number >= 0 and < 1, got 1.5"),
    ([{"params": [Value(1.0)]}, {"lr": 0.1}], TypeError,
     r"^SGD: params\[1\] must be a dict with a 'params' entry"),
    ([{"params": {Value(1.0)}}], TypeError, r"^SGD: params\[0\]\['params'\] must be an ordered "),
    ([{"params": [3.0]}], TypeError, r"^SGD: params\[0\]\['params'\]\[0\] must be a Value"),
    ([{"params": [Value(1.0)]}, Value(2.0)], TypeError,
     r"^SGD: params must be all Values or all parameter-group dicts"),
    ({"params": [Value(1.0)]}, TypeError, r"^SGD: params must be an iterable .* got a single "
                                          r"dict; wrap it in a list"),
])
def test_bad_groups(groups: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        SGD(groups, lr=0.1)  # type: ignore[arg-type]


def test_a_parameter_in_two_groups_is_refused_and_add_param_group_changes_nothing() -> None:
    a, b, c = _params()
    with pytest.raises(ValueError, match=r"^SGD: params\[1\]\['params'\]\[0\] is already in "
                                         r"another parameter group"):
        SGD([{"params": [a, b]}, {"params": [a]}], lr=0.1)
    opt = SGD([a, b], lr=0.1)
    with pytest.raises(ValueError, match=r"^SGD.add_param_group: param_group\['params'\]\[1\] "
                                         r"is already in another parameter group"):
        opt.add_param_group({"params": [c, a]})
    with pytest.raises(ValueError, match=r"^SGD.add_param_group: param_group\['lr'\] must be"):
        opt.add_param_group({"params": [c], "lr": -1.0})
    assert opt.params == [a, b] and len(opt.param_groups) == 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"nesterov": True}, r"SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                         r"momentum=0 and dampening=0"),
    ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "dampening=0.1"),
    ({"dampening": 1.5}, r"SGD: dampening must be a finite number >= 0 and <= 1, got 1.5"),
])
def test_bad_nesterov_and_dampening(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SGD(_params(), lr=0.1, **kwargs)  # type: ignore[arg-type]


def test_nesterov_must_be_a_flag() -> None:
    with pytest.raises(TypeError, match=r"^SGD: nesterov must be True or False, got 1"):
        SGD(_params(), lr=0.1, momentum=0.9, nesterov=1)  # type: ignore[arg-type]


def test_adamw_decays_the_weights_directly() -> None:
    w = Value(np.array([2.0, -4.0]))
    w.grad = np.array([0.0, 0.0])                # no gradient: only the decay moves W
    optim.AdamW([w], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(w.data, [2.0 * 0.95, -4.0 * 0.95], rtol=1e-15)
    v = Value(np.array([2.0, -4.0]))
    v.grad = np.array([0.0, 0.0])                # Adam's L2 decay passes through the moments
    optim.Adam([v], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(v.data, [1.9, -3.9], rtol=1e-7)


# -- state_dict / load_state_dict ----------------------------------------------------------------


def _trained(name: str, seed: int = 0, **options: object) -> tuple[list[Value], optim.Optimizer]:
    params = _params(seed)
    opt = getattr(optim, name)([{"params": params[:2]}, {"params": params[2:], "lr": 0.05}],
                               lr=0.1, **options)
    for step in range(3):
        _set_grads(params, 30 + step)
        opt.step()
    return params, opt


@pytest.mark.parametrize(("name", "options"), [
    ("SGD", {"momentum": 0.9, "nesterov": True}), ("Adam", {"amsgrad": True}), ("AdamW", {})])
def test_load_state_dict_resumes_bit_for_bit(name: str, options: dict[str, object]) -> None:
    params, opt = _trained(name, **options)
    saved = opt.state_dict()
    copies = [Value(np.array(p.data, copy=True)) if p.shape else Value(p.data) for p in params]
    fresh = getattr(optim, name)([{"params": copies[:2]}, {"params": copies[2:]}], lr=0.7)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[1]["lr"] == 0.05 and fresh.param_groups[0]["lr"] == 0.1
    for step in range(3):
        _set_grads(params, 40 + step)
        _set_grads(copies, 40 + step)
        opt.step()
        fresh.step()
    for p, q in zip(params, copies):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_is_a_copy() -> None:
    _, opt = _trained("SGD", momentum=0.9)
    saved = opt.state_dict()
    saved["state"][0]["momentum_buffer"][...] = 99.0
    saved["param_groups"][0]["lr"] = 5.0
    assert not np.any(opt.state[0]["momentum_buffer"] == 99.0)
    assert opt.param_groups[0]["lr"] == 0.1


def _broken(saved: dict[str, object], change: str) -> dict[str, object]:
    groups = saved["param_groups"]
    state = saved["state"]
    assert isinstance(groups, list) and isinstance(state, dict)
    if change == "group-count":
        return {"state": state, "param_groups": groups[:1]}
    if change == "group-size":
        return {"state": state, "param_groups": [{**groups[0], "params": [0]}, groups[1]]}
    if change == "bad-lr":
        return {"state": state, "param_groups": [groups[0], {**groups[1], "lr": -2.0}]}
    if change == "unknown-option":
        return {"state": state, "param_groups": [{**groups[0], "foo": 1}, groups[1]]}
    if change == "buffer-shape":
        return {"state": {**state, 1: {"momentum_buffer": np.zeros(7)}}, "param_groups": groups}
    if change == "buffer-nan":
        return {"state": {**state, 0: {"momentum_buffer": np.full((3, 4), np.nan)}},
                "param_groups": groups}
    if change == "buffer-missing":
        return {"state": {**state, 0: {}}, "param_groups": groups}
    if change == "unknown-id":
        return {"state": {**state, 9: state[0]}, "param_groups": groups}
    raise AssertionError(change)


@pytest.mark.parametrize(("change", "message"), [
    ("group-count", r"the state has 1 parameter groups, the optimizer 2"),
    ("group-size", r"param_groups\[0\] of the state lists 1 parameters, the optimizer's 2"),
    ("bad-lr", r"param_groups\[1\]\['lr'\] must be a finite number >= 0, got -2.0"),
    ("unknown-option", r"param_groups\[0\] has unknown option 'foo'"),
    ("buffer-shape", r"state\[1\]\['momentum_buffer'\] must be a real array of the parameter's "
                     r"shape \(4,\), got dtype float64 shape \(7,\)"),
    ("buffer-nan", r"state\[0\]\['momentum_buffer'\] holds NaN or infinite values"),
    ("buffer-missing", r"state\[0\] must hold momentum_buffer, got \[\]"),
    ("unknown-id", r"the state has buffers for parameter id 9, which no parameter group lists"),
])
def test_a_bad_state_dict_is_refused_and_changes_nothing(change: str, message: str) -> None:
    _, opt = _trained("SGD", momentum=0.9)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=r"^SGD.load_state_dict: " + message):
        opt.load_state_dict(_broken(opt.state_dict(), change))
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i, entry in before["state"].items():
        np.testing.assert_array_equal(after["state"][i]["momentum_buffer"],
                                      entry["momentum_buffer"])


def test_load_state_dict_wants_the_dict_state_dict_gives() -> None:
    _, opt = _trained("Adam")
    with pytest.raises(TypeError, match=r"^Adam.load_state_dict: expected a dict with the keys "
                                        r"'param_groups' and 'state' .* got \['state'\]"):
        opt.load_state_dict({"state": {}})
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: state\[0\]\['step'\] must be a "
                                         r"non-negative integer, got -1"):
        saved = opt.state_dict()
        opt.load_state_dict({**saved, "state": {**saved["state"],
                                                 0: {**saved["state"][0], "step": -1}}})


def test_float32_buffers_stay_float32_and_load_as_the_parameters_dtype() -> None:
    w = Value(np.ones(3, dtype=np.float32))
    opt = SGD([w], lr=0.1, momentum=0.9)
    w.grad = np.full(3, 0.25, dtype=np.float32)
    opt.step()
    assert opt.state[0]["momentum_buffer"].dtype == np.float32
    opt.load_state_dict({"state": {0: {"momentum_buffer": np.ones(3)}},
                         "param_groups": opt.state_dict()["param_groups"]})
    assert opt.state[0]["momentum_buffer"].dtype == np.float32
