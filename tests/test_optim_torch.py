"""Optimizers and schedulers against PyTorch: 20 steps on one problem, the same trajectory.

Both sides start from the same float64 weights and compute their own gradients of the same loss
(tanh layer, a scalar gain, MSE), so each step compares the whole update, state included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tinygrad_nn import Value, optim
from tinygrad_nn.nn.utils import clip_grad_norm_, clip_grad_value_
from tinygrad_nn.optim import lr_scheduler

torch = pytest.importorskip("torch", reason="PyTorch is a development peer for these comparisons")

STEPS = 20
TOL = 1e-10
RNG = np.random.default_rng(7)
X = RNG.normal(size=(8, 4))
Y = RNG.normal(size=(8, 2))
START = [RNG.normal(size=(3, 4)), RNG.normal(size=(3,)), RNG.normal(size=(2, 3)), 0.7]


def _ours() -> list[Value]:
    return [Value(np.array(w, copy=True)) if isinstance(w, np.ndarray) else Value(w)
            for w in START]


def _theirs() -> list[Any]:
    return [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in START]


def _loss_ours(p: list[Value]) -> Value:
    hidden = (Value(X, requires_grad=False) @ p[0].T + p[1]).tanh()
    return (((hidden @ p[2].T) * p[3] - Y) ** 2).mean()


def _loss_theirs(p: list[Any]) -> Any:
    hidden = torch.tanh(torch.from_numpy(X) @ p[0].T + p[1])
    return (((hidden @ p[2].T) * p[3] - torch.from_numpy(Y)) ** 2).mean()


def _groups(params: list[Any], split: dict[str, Any] | None) -> Any:
    """All parameters in one list, or two groups: the first layer with ``split``'s options."""
    if split is None:
        return params
    return [{"params": params[:2], **split}, {"params": params[2:]}]


def _compare(ours: list[Value], theirs: list[Any], step: int) -> None:
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(np.asarray(a.data), b.detach().numpy(), rtol=0, atol=TOL,
                                   err_msg=f"parameter {i} after step {step}")


def _run(make_ours: Callable[[Any], Any], make_theirs: Callable[[Any], Any],
         split: dict[str, Any] | None = None,
         between: Callable[[list[Value], list[Any]], None] | None = None) -> None:
    ours, theirs = _ours(), _theirs()
    opt, ref = make_ours(_groups(ours, split)), make_theirs(_groups(theirs, split))
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        ref.zero_grad()
        _loss_ours(ours).backward()
        _loss_theirs(theirs).backward()
        if between is not None:
            between(ours, theirs)
        opt.step()
        ref.step()
        _compare(ours, theirs, step)


SGD_CASES = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.8, "dampening": 0.3},
    {"momentum": 0.9, "nesterov": True},
    {"momentum": 0.5, "weight_decay": 0.1},
    {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
]


@pytest.mark.parametrize("options", SGD_CASES, ids=lambda o: ",".join(o) or "plain")
def test_sgd_trajectory_matches_pytorch(options: dict[str, Any]) -> None:
    _run(lambda p: optim.SGD(p, lr=0.05, **options),
         lambda p: torch.optim.SGD(p, lr=0.05, **options))


ADAM_CASES = [
    {},
    {"betas": (0.8, 0.99), "eps": 1e-6},
    {"weight_decay": 0.05},
    {"amsgrad": True, "weight_decay": 0.01},
]


@pytest.mark.parametrize("options", ADAM_CASES, ids=lambda o: ",".join(o) or "default")
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_and_adamw_trajectories_match_pytorch(name: str, options: dict[str, Any]) -> None:
    _run(lambda p: getattr(optim, name)(p, lr=0.01, **options),
         lambda p: getattr(torch.optim, name)(p, lr=0.01, **options))


@pytest.mark.parametrize(("name", "defaults", "split"), [
    ("SGD", {"lr": 0.05, "momentum": 0.9}, {"lr": 0.2, "nesterov": True}),
    ("SGD", {"lr": 0.05}, {"momentum": 0.7, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01}, {"lr": 0.003, "betas": (0.5, 0.9), "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}, {"weight_decay": 0.0}),
])
def test_parameter_groups_with_their_own_options_match_pytorch(
        name: str, defaults: dict[str, Any], split: dict[str, Any]) -> None:
    _run(lambda p: getattr(optim, name)(p, **defaults),
         lambda p: getattr(torch.optim, name)(p, **defaults), split=split)


SCHEDULERS = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 6, "eta_min": 0.001}),     # 20 steps: down, up, down
    ("CosineAnnealingLR", {"T_max": 20}),
]


@pytest.mark.parametrize(("name", "options"), SCHEDULERS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_schedulers_give_pytorchs_rates_and_trajectory(name: str, options: dict[str, Any]) -> None:
    ours, theirs = _ours(), _theirs()
    opt = optim.SGD(_groups(ours, {"lr": 0.2}), lr=0.05, momentum=0.9)
    ref = torch.optim.SGD(_groups(theirs, {"lr": 0.2}), lr=0.05, momentum=0.9)
    sched = getattr(lr_scheduler, name)(opt, **options)
    ref_sched = getattr(torch.optim.lr_scheduler, name)(ref, **options)
    assert sched.get_last_lr() == ref_sched.get_last_lr() == [0.2, 0.05]
    for step in range(1, STEPS + 1):
        for o, loss in ((opt, _loss_ours(ours)), (ref, _loss_theirs(theirs))):
            o.zero_grad()
            loss.backward()
            o.step()
        sched.step()
        ref_sched.step()
        np.testing.assert_allclose(sched.get_last_lr(), ref_sched.get_last_lr(), rtol=0,
                                   atol=TOL, err_msg=f"learning rates after epoch {step}")
        _compare(ours, theirs, step)


@pytest.mark.parametrize("options", [
    {"patience": 2},
    {"mode": "max", "factor": 0.5, "patience": 1, "cooldown": 1},
    {"threshold_mode": "abs", "threshold": 0.05, "patience": 0, "min_lr": [0.01, 0.004]},
])
def test_reduce_lr_on_plateau_reduces_when_pytorch_does(options: dict[str, Any]) -> None:
    metrics = [1.0, 0.9, 0.95, 0.95, 0.94, 0.96, 0.5, 0.51, 0.52, 0.53, 0.5, 0.499, 0.6, 0.6,
               0.6, 0.45, 0.46, 0.47, 0.47, 0.47]
    opt = optim.SGD(_groups(_ours(), {"lr": 0.2}), lr=0.05)
    ref = torch.optim.SGD(_groups(_theirs(), {"lr": 0.2}), lr=0.05)
    sched = lr_scheduler.ReduceLROnPlateau(opt, **options)
    ref_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(ref, **options)
    seen = []
    for metric in metrics:
        sched.step(metric)
        ref_sched.step(metric)
        assert sched.get_last_lr() == ref_sched.get_last_lr()
        seen.append(tuple(sched.get_last_lr()))
    assert len(set(seen)) >= 3                         # it did reduce, more than once


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_pytorch(norm_type: float) -> None:
    def clip(ours: list[Value], theirs: list[Any]) -> None:
        total = clip_grad_norm_(ours, max_norm=0.5, norm_type=norm_type)
        ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm=0.5, norm_type=norm_type)
        assert total == pytest.approx(float(ref), rel=1e-12)

    _run(lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), between=clip)


def test_clip_grad_value_matches_pytorch() -> None:
    def clip(ours: list[Value], theirs: list[Any]) -> None:
        clip_grad_value_(ours, 0.05)
        torch.nn.utils.clip_grad_value_(theirs, 0.05)

    _run(lambda p: optim.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01), between=clip)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_state_dict_has_pytorchs_layout_and_values(name: str) -> None:
    options = {"lr": 0.01, "momentum": 0.9} if name == "SGD" else {"lr": 0.01}
    ours, theirs = _ours(), _theirs()
    opt = getattr(optim, name)(_groups(ours, {"lr": 0.02}), **options)
    ref = getattr(torch.optim, name)(_groups(theirs, {"lr": 0.02}), **options)
    for _ in range(3):
        for o, loss in ((opt, _loss_ours(ours)), (ref, _loss_theirs(theirs))):
            o.zero_grad()
            loss.backward()
            o.step()
    mine, theirs_state = opt.state_dict(), ref.state_dict()
    assert [g["params"] for g in mine["param_groups"]] == \
        [g["params"] for g in theirs_state["param_groups"]]
    for g, h in zip(mine["param_groups"], theirs_state["param_groups"]):
        for key, value in g.items():
            assert h[key] == (list(value) if isinstance(value, tuple) and
                              isinstance(h[key], list) else value), key
    assert sorted(mine["state"]) == sorted(theirs_state["state"])
    for i, entry in mine["state"].items():
        assert set(entry) == set(theirs_state["state"][i])
        for key, value in entry.items():
            np.testing.assert_allclose(value, np.asarray(theirs_state["state"][i][key]),
                                       rtol=0, atol=TOL)
