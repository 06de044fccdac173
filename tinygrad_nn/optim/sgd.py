"""``SGD``: the tutorial's gradient descent W ← W − η ∂E/∂W, with momentum and Nesterov's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..validation import flag, real_number
from ..value import Value
from .optimizer import Optimizer, ParamsLike, _option_name, _subtract

__all__ = ["SGD"]


class SGD(Optimizer):
    """Gradient descent, W ← W − η·∂E/∂W; with momentum μ: v ← μ·v + (1 − τ)·∂E/∂W, W ← W − η·v.

    ``weight_decay`` λ adds λ·W to the gradient first (L2 regularisation); ``dampening`` τ
    scales the new gradient in the velocity (the first step takes v = ∂E/∂W); ``nesterov`` uses
    the look-ahead gradient ∂E/∂W + μ·v in place of v.  PyTorch's ``torch.optim.SGD``, option
    for option, in the same order.
    """

    option_names: ClassVar[tuple[str, ...]] = ("lr", "momentum", "dampening", "weight_decay",
                                               "nesterov")

    def __init__(self, params: ParamsLike, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        """Plain SGD by default; ``momentum`` in [0, 1) keeps a velocity buffer per parameter."""
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    def _check_options(self, options: Mapping[str, Any], fn: str, where: str) -> dict[str, Any]:
        """lr, weight_decay ≥ 0; momentum in [0, 1); dampening in [0, 1]; Nesterov: μ > 0, τ = 0."""
        checked = {
            "lr": real_number(options["lr"], _option_name(where, "lr"), fn),
            "momentum": real_number(options["momentum"], _option_name(where, "momentum"), fn,
                                    high=1.0),
            "dampening": real_number(options["dampening"], _option_name(where, "dampening"), fn,
                                     high=1.0, high_open=False),
            "weight_decay": real_number(options["weight_decay"],
                                        _option_name(where, "weight_decay"), fn),
            "nesterov": flag(options["nesterov"], _option_name(where, "nesterov"), fn),
        }
        if checked["nesterov"] and (checked["momentum"] == 0 or checked["dampening"] != 0):
            raise ValueError(f"{fn}: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={checked['momentum']:g} and "
                             f"dampening={checked['dampening']:g}")
        return checked

    def _state_keys(self, group: Mapping[str, Any]) -> tuple[str, ...]:
        """The velocity v, once momentum has taken a step."""
        return ("momentum_buffer",)

    def _update_group(self, group: dict[str, Any], params: list[Value], grads: list[Any],
                      first: int) -> None:
        """W ← W − η·g, g being the (decayed) gradient, the velocity or Nesterov's look-ahead."""
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        decay, nesterov = group["weight_decay"], group["nesterov"]
        for i, (p, g) in enumerate(zip(params, grads), first):
            if g is None:
                continue
            if decay:
                g = g + decay * p.data              # L2 penalty ½λ‖W‖² adds λW to ∂E/∂W
            if momentum:
                state = self.state.get(i)
                if state is None:                   # first step: v ← g
                    velocity = np.array(g, dtype=p.dtype, copy=True)
                    self.state[i] = {"momentum_buffer": velocity}
                else:                               # v ← μ·v + (1 − τ)·g, in place
                    velocity = state["momentum_buffer"]
                    velocity *= momentum
                    velocity += (1.0 - dampening) * g if dampening else g
                g = g + momentum * velocity if nesterov else velocity
            _subtract(p, lr * g)

    def update_lines(self, group: Mapping[str, Any]) -> list[str]:
        """``_update_group`` for one parameter as program lines: g + λW, v ← μv + (1 − τ)g, …"""
        momentum, dampening = group["momentum"], group["dampening"]
        decay, nesterov = group["weight_decay"], group["nesterov"]
        lines: list[str] = []
        if decay:                                   # g + λ·W, into t
            lines += [f"np.multiply(p, {decay!r}, out=t)", "np.add(g, t, out=t)"]
            g = "t"
        else:
            g = "g"
        if not momentum:
            return [*lines, f"np.multiply({g}, lr, out=u)", "p -= u"]
        lines.append(f"momentum_buffer *= {momentum!r}")
        if dampening:                               # v += (1 − τ)·g
            lines += [f"np.multiply({g}, {1.0 - dampening!r}, out=u)", "momentum_buffer += u"]
        else:
            lines.append(f"momentum_buffer += {g}")
        if nesterov:                                # g + μ·v, then η·(g + μ·v)
            lines += [f"np.multiply(momentum_buffer, {momentum!r}, out=u)",
                      f"np.add({g}, u, out=u)", "u *= lr"]
        else:                                       # η·v
            lines.append("np.multiply(momentum_buffer, lr, out=u)")
        return [*lines, "p -= u"]

