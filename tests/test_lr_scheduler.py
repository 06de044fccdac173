"""Learning-rate schedules: the rates they set, their state, and their argument checks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tinygrad_nn import Value
from tinygrad_nn.optim import SGD, Adam
from tinygrad_nn.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    ReduceLROnPlateau,
    StepLR,
)


def _opt(lr: float = 1.0) -> SGD:
    return SGD([{"params": [Value(1.0)]}, {"params": [Value(2.0)], "lr": 0.5}], lr=lr)


def _rates(sched: Any, epochs: int, metrics: list[float] | None = None) -> list[list[float]]:
    out = []
    for e in range(epochs):
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[e])
        out.append(sched.get_last_lr())
    return out


def test_step_lr_decays_every_step_size_epochs() -> None:
    sched = StepLR(_opt(), step_size=2, gamma=0.5)
    assert sched.get_last_lr() == [1.0, 0.5]
    assert _rates(sched, 5) == [[1.0, 0.5], [0.5, 0.25], [0.5, 0.25], [0.25, 0.125],
                                [0.25, 0.125]]
    assert sched.last_epoch == 5
    assert [g["initial_lr"] for g in sched.optimizer.param_groups] == [1.0, 0.5]


def test_exponential_lr_multiplies_every_epoch() -> None:
    sched = ExponentialLR(_opt(), gamma=0.1)
    assert _rates(sched, 2) == [[0.1, 0.05], [pytest.approx(0.01), pytest.approx(0.005)]]


def test_cosine_annealing_follows_the_closed_form_down_and_back_up() -> None:
    sched = CosineAnnealingLR(_opt(), T_max=4, eta_min=0.1)
    got = [r[0] for r in _rates(sched, 8)]
    want = [0.1 + 0.45 * (1 + math.cos(math.pi * e / 4)) for e in range(1, 9)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[3] == pytest.approx(0.1) and got[7] == pytest.approx(1.0)


def test_reduce_lr_on_plateau_waits_patience_epochs_and_cools_down() -> None:
    sched = ReduceLROnPlateau(_opt(), factor=0.5, patience=1, cooldown=1, min_lr=0.3)
    rates = _rates(sched, 7, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert [r[0] for r in rates] == [1.0, 1.0, 0.5, 0.5, 0.5, 0.3, 0.3]
    assert [r[1] for r in rates] == [0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3]
    assert sched.best == 1.0


def test_reduce_lr_on_plateau_takes_a_value_or_one_element_array() -> None:
    sched = ReduceLROnPlateau(_opt(), patience=0)
    sched.step(Value(2.0))
    sched.step(np.array([3.0]))
    assert sched.get_last_lr() == [0.1, 0.05]


def test_a_scheduler_changes_what_the_optimizer_does() -> None:
    w = Value(1.0)
    opt = SGD([w], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    sched.step()
    w.grad = 1.0
    opt.step()
    assert w.data == 0.5


@pytest.mark.parametrize("make", [
    lambda o: StepLR(o, 2, 0.5), lambda o: ExponentialLR(o, 0.7),
    lambda o: CosineAnnealingLR(o, 5, 0.01),
    lambda o: ReduceLROnPlateau(o, patience=0, cooldown=1, factor=0.5)],
    ids=["step", "exponential", "cosine", "plateau"])
def test_state_dict_round_trip_resumes_the_schedule(make: Any) -> None:
    metrics = [3.0, 2.0, 2.5, 2.6, 1.0, 1.5, 1.4, 1.3]
    plateau = "Plateau" in type(make(_opt())).__name__
    whole = make(_opt())
    straight = _rates(whole, 8, metrics if plateau else None)
    first_opt = _opt()
    first = make(first_opt)
    _rates(first, 3, metrics if plateau else None)
    opt_state, sched_state = first_opt.state_dict(), first.state_dict()
    again_opt = _opt(lr=9.0)
    again = make(again_opt)
    again_opt.load_state_dict(opt_state)
    again.load_state_dict(sched_state)
    rest = _rates(again, 5, metrics[3:] if plateau else None)
    assert rest == straight[3:]


def test_state_dict_is_a_copy_and_a_bad_one_changes_nothing() -> None:
    sched = StepLR(_opt(), step_size=2)
    state = sched.state_dict()
    state["base_lrs"].append(7.0)
    assert sched.base_lrs == [1.0, 0.5]
    before = sched.state_dict()
    for bad, message in [
        ({**before, "last_epoch": 1.5}, r"last_epoch must be an integer, got 1.5"),
        ({**before, "base_lrs": [1.0]}, r"base_lrs must be a list of 2 numbers"),
        ({**before, "gamma": "x"}, r"gamma must be a real number, got 'x'"),
        ({"last_epoch": 1}, r"expected the entries \[.*'step_size'\], got \['last_epoch'\]"),
    ]:
        with pytest.raises((TypeError, ValueError), match=r"^StepLR.load_state_dict: " + message):
            sched.load_state_dict(bad)
        assert sched.state_dict() == before
    plateau = ReduceLROnPlateau(_opt())
    with pytest.raises(ValueError, match=r"mode must be one of \['min', 'max'\], got 'up'"):
        plateau.load_state_dict({**plateau.state_dict(), "mode": "up"})


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda o: StepLR(o, 0), ValueError, r"^StepLR: step_size must be a positive integer, got 0"),
    (lambda o: StepLR(o, 2.5), TypeError, r"^StepLR: step_size must be a positive integer"),
    (lambda o: StepLR(o, 2, gamma=-0.1), ValueError, r"^StepLR: gamma must be a finite number > 0"),
    (lambda o: StepLR(o, 2, gama=0.5), TypeError, r"unexpected keyword argument 'gama'"),
    (lambda o: ExponentialLR(o, float("nan")), ValueError, r"^ExponentialLR: gamma must be"),
    (lambda o: CosineAnnealingLR(o, -3), ValueError,
     r"^CosineAnnealingLR: T_max must be a positive integer, got -3"),
    (lambda o: CosineAnnealingLR(o, 3, eta_min=-1), ValueError,
     r"^CosineAnnealingLR: eta_min must be a finite number >= 0, got -1"),
    (lambda o: ReduceLROnPlateau(o, mode="minimum"), ValueError,
     r"^ReduceLROnPlateau: mode must be one of \['min', 'max'\], got 'minimum'"),
    (lambda o: ReduceLROnPlateau(o, factor=1.0), ValueError,
     r"^ReduceLROnPlateau: factor must be a finite number >= 0 and < 1, got 1.0"),
    (lambda o: ReduceLROnPlateau(o, patience=-1), ValueError,
     r"^ReduceLROnPlateau: patience must be a non-negative integer, got -1"),
    (lambda o: ReduceLROnPlateau(o, threshold_mode="relative"), ValueError,
     r"^ReduceLROnPlateau: threshold_mode must be one of \['rel', 'abs'\]"),
    (lambda o: ReduceLROnPlateau(o, min_lr=[0.1]), ValueError,
     r"^ReduceLROnPlateau: min_lr must give one rate per parameter group \(2\), got 1"),
    (lambda o: StepLR("sgd", 2), TypeError,
     r"^StepLR: optimizer must be an Optimizer \(e.g. optim.SGD\), got str"),
])
def test_bad_arguments_name_the_scheduler_and_leave_the_optimizer_alone(
        make: Any, error: type[Exception], message: str) -> None:
    opt = _opt()
    with pytest.raises(error, match=message):
        make(opt)
    assert all("initial_lr" not in g for g in opt.param_groups)


def test_bad_metrics_are_refused_before_counting() -> None:
    sched = ReduceLROnPlateau(_opt())
    with pytest.raises(TypeError, match=r"^ReduceLROnPlateau.step: metrics must be one real "
                                        r"number .* got str '0.5'"):
        sched.step("0.5")
    with pytest.raises(ValueError, match=r"^ReduceLROnPlateau.step: metrics is NaN"):
        sched.step(float("nan"))
    with pytest.raises(TypeError, match=r"got ndarray"):
        sched.step(np.array([1.0, 2.0]))
    assert sched.last_epoch == 0 and sched.num_bad_epochs == 0


def test_a_group_added_after_the_scheduler_is_reported() -> None:
    opt = Adam([Value(1.0)], lr=0.1)
    sched = ExponentialLR(opt, 0.5)
    opt.add_param_group({"params": [Value(2.0)]})
    with pytest.raises(ValueError, match=r"^ExponentialLR.step: the optimizer has 2 parameter "
                                         r"groups but the scheduler was made for 1"):
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.1] and sched.last_epoch == 0


def test_the_base_class_needs_a_schedule() -> None:
    with pytest.raises(NotImplementedError, match=r"LRScheduler.get_lr: not implemented"):
        LRScheduler(_opt()).step()
