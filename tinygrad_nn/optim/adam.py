"""``Adam`` and ``AdamW``: gradient descent with per-weight step sizes from running moments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..validation import flag, real_number
from ..value import Value
from .optimizer import Optimizer, ParamsLike, _option_name, _scale, _subtract

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², W ← W − η·m̂/(√v̂ + ε).

    The moments are bias-corrected: m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ), where ``t`` counts the steps
    each parameter actually took (a parameter skipped for lack of a gradient keeps its t).
    ``weight_decay`` λ adds λ·W to the gradient (classic L2; ``AdamW`` decouples it);
    ``amsgrad`` divides by the largest v̂ seen so far.  PyTorch's ``torch.optim.Adam``, option for
    option, with the same state entries (``step``, ``exp_avg``, ``exp_avg_sq``).
    """

    option_names: ClassVar[tuple[str, ...]] = ("lr", "betas", "eps", "weight_decay", "amsgrad")
    state_counters: ClassVar[tuple[str, ...]] = ("step",)
    decoupled_weight_decay: ClassVar[bool] = False
    """True for AdamW: W ← W·(1 − ηλ) before the step, instead of λW added to the gradient."""

    def __init__(self, params: ParamsLike, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        """Adam with bias-corrected first and second moment estimates per parameter."""
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad})

    def _check_options(self, options: Mapping[str, Any], fn: str, where: str) -> dict[str, Any]:
        """lr, weight_decay ≥ 0; betas a pair in [0, 1); eps > 0; amsgrad True or False."""
        betas = options["betas"]
        name = _option_name(where, "betas")
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"{fn}: {name} must be a pair (beta1, beta2), got {betas!r}"
                            ) from None
        return {
            "lr": real_number(options["lr"], _option_name(where, "lr"), fn),
            "betas": (real_number(b1, f"{name}[0]", fn, high=1.0),
                      real_number(b2, f"{name}[1]", fn, high=1.0)),
            "eps": real_number(options["eps"], _option_name(where, "eps"), fn, low_open=True),
            "weight_decay": real_number(options["weight_decay"],
                                        _option_name(where, "weight_decay"), fn),
            "amsgrad": flag(options["amsgrad"], _option_name(where, "amsgrad"), fn),
        }

    def _state_keys(self, group: Mapping[str, Any]) -> tuple[str, ...]:
        """The step count t and the moments m and v (and the largest v with amsgrad)."""
        keys = ("step", "exp_avg", "exp_avg_sq")
        return (*keys, "max_exp_avg_sq") if group["amsgrad"] else keys

    def _update_group(self, group: dict[str, Any], params: list[Value], grads: list[Any],
                      first: int) -> None:
        """Update the moments of each parameter in place, then W ← W − η·m̂/(√v̂ + ε)."""
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        decay, amsgrad = group["weight_decay"], group["amsgrad"]
        for i, (p, g) in enumerate(zip(params, grads), first):
            if g is None:
                continue
            state = self.state.get(i)
            if state is None:
                state = self.state[i] = {"step": 0, "exp_avg": np.zeros(p.shape, p.dtype),
                                         "exp_avg_sq": np.zeros(p.shape, p.dtype)}
            if amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = np.zeros(p.shape, p.dtype)
            t = state["step"] = state["step"] + 1
            if decay and self.decoupled_weight_decay:
                _scale(p, 1.0 - lr * decay)         # AdamW: W ← W·(1 − ηλ)
            elif decay:
                g = g + decay * p.data              # L2 penalty ½λ‖W‖² adds λW to ∂E/∂W
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m *= b1
            m += (1.0 - b1) * g                     # m ← β₁m + (1−β₁)g
            v *= b2
            v += (1.0 - b2) * g * g                 # v ← β₂v + (1−β₂)g²
            if amsgrad:
                v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            m_hat = m / (1.0 - b1 ** t)
            v_hat = v / (1.0 - b2 ** t)
            _subtract(p, lr * m_hat / (np.sqrt(v_hat) + eps))


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, W ← W·(1 − ηλ), then the Adam step.

    The decay does not pass through the moments, so every weight shrinks at the same rate
    whatever its gradient history (Loshchilov & Hutter).  PyTorch's ``torch.optim.AdamW``:
    the same options as ``Adam``, with ``weight_decay`` 0.01 by default.
    """

    decoupled_weight_decay: ClassVar[bool] = True

    def __init__(self, params: ParamsLike, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        """AdamW: as ``Adam``, with the weight decay λ applied to the weights directly."""
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
