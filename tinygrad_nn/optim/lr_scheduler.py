"""Learning-rate schedules: change each parameter group's η from epoch to epoch.

Call ``scheduler.step()`` once per epoch, after the epoch's ``optimizer.step()`` calls (and
``ReduceLROnPlateau.step(val_loss)`` with the metric it watches).  A scheduler writes the new
rate into ``group["lr"]`` of its optimizer's parameter groups; on creation it records each
group's starting rate as ``group["initial_lr"]`` (``base_lrs``).  The names, arguments and
formulas are PyTorch's ``torch.optim.lr_scheduler``; like an optimizer, a scheduler saves and
restores its position with ``state_dict()``/``load_state_dict()``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..validation import nonnegative_int, positive_int, real_number, show_value
from ..value import Value
from .optimizer import Optimizer

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "ReduceLROnPlateau", "StepLR"]


class LRScheduler:
    """Base class: links to an optimizer, counts epochs (``last_epoch``) and sets the groups' lr.

    A subclass computes the next rates in ``get_lr``; ``step()`` counts the epoch, calls it and
    writes the rates into the optimizer's groups.
    """

    choices: ClassVar[dict[str, tuple[str, ...]]] = {}
    """The allowed values of the string settings (checked again by ``load_state_dict``)."""

    def __init__(self, optimizer: Optimizer) -> None:
        """Record each group's starting rate as ``initial_lr`` (kept if already there)."""
        _check_optimizer(optimizer, type(self).__name__)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.optimizer = optimizer
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr: list[float] = [group["lr"] for group in optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of every parameter group, as the last ``step()`` left it."""
        return list(self._last_lr)

    def get_lr(self) -> list[float]:
        """The rates for epoch ``last_epoch`` (which ``step()`` has just counted); subclasses."""
        raise NotImplementedError(f"{type(self).__name__}.get_lr: not implemented")

    def step(self) -> None:
        """End an epoch: ``last_epoch += 1`` and every group's lr ← the schedule's next rate."""
        self._check_groups("step")
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _set_lrs(self, lrs: Sequence[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _check_groups(self, method: str) -> None:
        """Refuse to run when the optimizer gained parameter groups after this was made."""
        have, want = len(self.optimizer.param_groups), len(self.base_lrs)
        if have != want:
            raise ValueError(f"{type(self).__name__}.{method}: the optimizer has {have} "
                             f"parameter groups but the scheduler was made for {want}; make a "
                             f"new scheduler after add_param_group")

    # -- state -----------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Every setting and counter of the scheduler (not the optimizer), as a new dict."""
        return {key: list(value) if isinstance(value, list) else value
                for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what ``state_dict()`` returned (of a scheduler of this type).

        Every entry must be there and of the same kind as now (a count, a number, a list of one
        rate per group, one of the allowed words); nothing changes unless all of them are.
        """
        fn = f"{type(self).__name__}.load_state_dict"
        current = self.state_dict()
        if not isinstance(state_dict, Mapping) or set(state_dict) != set(current):
            got = sorted(state_dict) if isinstance(state_dict, Mapping) else type(
                state_dict).__name__
            raise ValueError(f"{fn}: expected the entries {sorted(current)}, got {got}")
        loaded = {key: _same_kind(current[key], state_dict[key], key, fn, self.choices)
                  for key in current}
        vars(self).update(loaded)


def _check_optimizer(optimizer: Any, fn: str) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{fn}: optimizer must be an Optimizer (e.g. optim.SGD), got "
                        f"{type(optimizer).__name__}")


def _same_kind(now: Any, given: Any, key: str, fn: str,
               choices: Mapping[str, tuple[str, ...]]) -> Any:
    """``given`` checked to be what ``now`` is: a bool, count, number, word or list of numbers."""
    def real(value: Any, name: str) -> float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)) or math.isnan(value):
            raise TypeError(f"{fn}: {name} must be a real number, got {show_value(value)}")
        return float(value)

    if isinstance(now, bool):
        if not isinstance(given, (bool, np.bool_)):
            raise TypeError(f"{fn}: {key} must be True or False, got {show_value(given)}")
        return bool(given)
    if isinstance(now, int):
        if isinstance(given, (bool, np.bool_)) or not isinstance(given, (int, np.integer)):
            raise TypeError(f"{fn}: {key} must be an integer, got {show_value(given)}")
        return int(given)
    if isinstance(now, float):
        return real(given, key)
    if isinstance(now, str):
        allowed = choices.get(key, ())
        if given not in allowed:
            raise ValueError(f"{fn}: {key} must be one of {list(allowed)}, got "
                             f"{show_value(given)}")
        return given
    if not isinstance(given, (list, tuple)) or len(given) != len(now):
        raise ValueError(f"{fn}: {key} must be a list of {len(now)} numbers (one per parameter "
                         f"group), got {show_value(given)}")
    return [real(value, f"{key}[{i}]") for i, value in enumerate(given)]


class StepLR(LRScheduler):
    """η ← γ·η every ``step_size`` epochs: η_e = η₀·γ^⌊e / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        """Multiply each group's rate by ``gamma`` after every ``step_size`` epochs."""
        self.step_size = positive_int(step_size, "step_size", "StepLR")
        self.gamma = real_number(gamma, "gamma", "StepLR", low_open=True)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """γ·η at the epochs that are multiples of ``step_size``, η otherwise."""
        decay = self.last_epoch % self.step_size == 0
        return [group["lr"] * self.gamma if decay else group["lr"]
                for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """η ← γ·η every epoch: η_e = η₀·γᵉ."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        """Multiply each group's rate by ``gamma`` after every epoch."""
        self.gamma = real_number(gamma, "gamma", "ExponentialLR", low_open=True)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """γ·η."""
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """η_e = η_min + ½(η₀ − η_min)(1 + cos(π·e/T_max)): half a cosine from η₀ down to η_min.

    As in PyTorch the rate is updated from the previous one (so it composes with other changes
    of ``group["lr"]``), and after ``T_max`` epochs it climbs back up along the same curve.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        """Anneal each group's rate from its starting value to ``eta_min`` over ``T_max`` epochs."""
        self.T_max = positive_int(T_max, "T_max", "CosineAnnealingLR")
        self.eta_min = real_number(eta_min, "eta_min", "CosineAnnealingLR")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """η_e − η_min = (η_{e−1} − η_min)·(1 + cos(π·e/T))/(1 + cos(π·(e−1)/T)).

        At the bottom of the curve (where that ratio is 0/0) it steps up by
        (η₀ − η_min)(1 − cos(π/T))/2 instead, as PyTorch does.
        """
        e, t, low = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if (e - 1 - t) % (2 * t) == 0:
            return [group["lr"] + (base - low) * (1 - math.cos(math.pi / t)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t))
                * (group["lr"] - low) + low for group in groups]


class ReduceLROnPlateau(LRScheduler):
    """η ← max(factor·η, min_lr) when a watched metric has not improved for ``patience`` epochs.

    ``mode="min"`` watches a quantity that should fall (a validation loss), ``"max"`` one that
    should rise (an accuracy).  A value counts as better than the best so far when it beats it
    by more than ``threshold`` (relative: best·(1 ∓ threshold); absolute: best ∓ threshold).
    After a reduction, ``cooldown`` epochs pass before bad epochs count again; a reduction
    smaller than ``eps`` is skipped.
    """

    choices: ClassVar[dict[str, tuple[str, ...]]] = {"mode": ("min", "max"),
                                                      "threshold_mode": ("rel", "abs")}

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0.0,
                 eps: float = 1e-8) -> None:
        """Watch a metric passed to ``step(metric)``; see the class docstring for the options."""
        fn = "ReduceLROnPlateau"
        _check_optimizer(optimizer, fn)
        for name, value in (("mode", mode), ("threshold_mode", threshold_mode)):
            if value not in self.choices[name]:
                raise ValueError(f"{fn}: {name} must be one of {list(self.choices[name])}, got "
                                 f"{show_value(value)}")
        self.mode = mode
        self.threshold_mode = threshold_mode
        self.factor = real_number(factor, "factor", fn, high=1.0)
        self.patience = nonnegative_int(patience, "patience", fn)
        self.threshold = real_number(threshold, "threshold", fn)
        self.cooldown = nonnegative_int(cooldown, "cooldown", fn)
        self.eps = real_number(eps, "eps", fn)
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(f"{fn}: min_lr must give one rate per parameter group "
                                 f"({groups}), got {len(min_lr)}")
            self.min_lrs = [real_number(v, f"min_lr[{i}]", fn) for i, v in enumerate(min_lr)]
        else:
            self.min_lrs = [real_number(min_lr, "min_lr", fn)] * groups
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        super().__init__(optimizer)

    def step(self, metrics: Any) -> None:  # type: ignore[override]  # PyTorch's signature
        """End an epoch with the watched value: count a bad epoch, or reset on an improvement."""
        fn = "ReduceLROnPlateau.step"
        self._check_groups("step")
        current = _metric(metrics, fn)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0                 # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._set_lrs(self._reduced_lrs())
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        else:
            self._set_lrs([group["lr"] for group in self.optimizer.param_groups])

    def _is_better(self, value: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            return value < (best * (1.0 - threshold) if self.threshold_mode == "rel"
                            else best - threshold)
        return value > (best * (1.0 + threshold) if self.threshold_mode == "rel"
                        else best + threshold)

    def _reduced_lrs(self) -> list[float]:
        """max(factor·η, min_lr) for each group, unless that changes η by no more than eps."""
        lrs = []
        for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
            old = group["lr"]
            new = max(old * self.factor, floor)
            lrs.append(new if old - new > self.eps else old)
        return lrs


def _metric(metrics: Any, fn: str) -> float:
    """The watched value as a float: a number, a one-element array or Value; not NaN."""
    data = metrics.data if isinstance(metrics, Value) else metrics
    arr = np.asarray(data) if not isinstance(data, (str, bytes)) else np.asarray(None)
    if arr.dtype.kind not in "fiu" or arr.size != 1:
        raise TypeError(f"{fn}: metrics must be one real number (e.g. the validation loss), "
                        f"got {type(metrics).__name__} {show_value(metrics)[:60]}")
    value = float(arr.reshape(()))
    if math.isnan(value):
        raise ValueError(f"{fn}: metrics is NaN; the watched quantity must be a number")
    return value
