"""Optimizers: turn the gradients left by ``backward()`` into parameter updates.

The tutorial's update is plain gradient descent, ``W ← W − η ∂E/∂W`` and ``B ← B − η ∂E/∂B``;
with a mean loss the gradient is already averaged over the minibatch ("accumulated ... and
finally divided by the minibatch size"), so ``SGD`` with the defaults is exactly that step.
``Adam`` is the usual adaptive alternative.

Every optimizer updates ``p.data`` in place, keeps its own buffers (momentum, moments) and never
writes into ``p.grad`` (a gradient array may be shared).  Parameters whose ``grad`` is None (not
reached by the last backward) are skipped.  ``step()`` checks every gradient before touching
any parameter, so a bad gradient raises without leaving the model half-updated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .validation import finite_number
from .value import Value

__all__ = ["SGD", "Adam", "Optimizer", "grad_data"]


def grad_data(p: Value) -> Any:
    """The gradient of ``p`` as raw data (a ``create_graph`` Value unwrapped), or None."""
    g = p.grad
    if isinstance(g, Value):
        g = g.data
    return g


def _subtract(p: Value, delta: Any) -> None:
    """``p.data −= delta``: in place for arrays (the array keeps its identity), new for floats."""
    data = p.data
    if type(data) is np.ndarray:
        data -= delta
        p.data = data                         # stored back: a new version (see Value.data)
    else:
        p.data = float(data - delta)


class Optimizer:
    """Base class: holds the parameter list, ``zero_grad()`` and the shared ``step()`` loop."""

    name = "Optimizer"

    def __init__(self, params: Iterable[Value], lr: float, weight_decay: float = 0.0) -> None:
        """Collect and check the parameters and the common hyper-parameters."""
        fn = type(self).__name__
        if isinstance(params, Value):
            raise TypeError(f"{fn}: params must be an iterable of Values (e.g. "
                            f"model.parameters()), got a single Value; wrap it in a list")
        try:
            items = list(params)
        except TypeError:
            raise TypeError(f"{fn}: params must be an iterable of Values (e.g. "
                            f"model.parameters()), got {type(params).__name__}") from None
        unique: list[Value] = []
        seen: set[int] = set()
        for i, p in enumerate(items):
            if not isinstance(p, Value):
                raise TypeError(f"{fn}: params[{i}] must be a Value, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{fn}: params[{i}] is computed by an op; only leaf Values "
                                 f"(parameters) can be optimized")
            if id(p) not in seen:  # a parameter listed twice is updated once
                seen.add(id(p))
                unique.append(p)
        if not unique:
            raise ValueError(f"{fn}: got an empty parameter list; pass model.parameters() of a "
                             f"model that has parameters")
        self.params: list[Value] = unique
        self.lr = finite_number(lr, "lr", fn)
        self.weight_decay = finite_number(weight_decay, "weight_decay", fn)
        self.steps = 0

    def zero_grad(self) -> None:
        """Reset the gradients ("reset gradient matrices"): ``p.grad = None`` for every param."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient (all are checked first)."""
        self._update(self._gradients())
        self.steps += 1

    def _update(self, grads: list[Any]) -> None:
        """Subtract each parameter's delta from its data, in place (``grads`` from _gradients)."""
        decay = self.weight_decay
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if g is None:
                continue
            if decay:
                g = g + decay * p.data        # L2 penalty ½λ‖W‖² adds λW to ∂E/∂W
            _subtract(p, self._delta(i, p, g))

    def _gradients(self) -> list[Any]:
        """Each parameter's gradient as raw data of its shape, None where it has none.

        Every gradient is checked here, before ``_update`` changes any parameter.
        """
        grads: list[Any] = []
        for p in self.params:
            g = p.grad
            if g is not None:
                data = p.data
                if type(g) is not np.ndarray or type(data) is not np.ndarray \
                        or g.shape != data.shape:
                    g = self._checked_grad(len(grads), p)
            grads.append(g)
        return grads

    def _checked_grad(self, i: int, p: Value) -> Any:
        """The gradient of parameter ``i`` as raw data, or a ValueError if its shape is wrong."""
        g = grad_data(p)
        gshape = np.shape(g)
        if gshape != p.shape:
            raise ValueError(f"{type(self).__name__}.step: parameter {i} has shape "
                             f"{p.shape} but its gradient has shape {gshape}")
        return g

    def _delta(self, i: int, p: Value, g: Any) -> Any:
        """The amount subtracted from parameter ``i`` given its (decayed) gradient ``g``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} params, lr={self.lr:g})"


class SGD(Optimizer):
    """Gradient descent, W ← W − η·∂E/∂W; with momentum μ: v ← μ·v + ∂E/∂W, W ← W − η·v.

    ``weight_decay`` λ adds λ·W to the gradient first (L2 regularisation).
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        """Plain SGD by default; ``momentum`` in [0, 1) keeps a velocity buffer per parameter."""
        super().__init__(params, lr, weight_decay)
        self.momentum = finite_number(momentum, "momentum", "SGD", high=1.0)
        self.velocity: dict[int, Any] = {}

    def _delta(self, i: int, p: Value, g: Any) -> Any:
        """η·g for plain SGD, η·v with the momentum buffer v ← μ·v + g."""
        if not self.momentum:
            return self.lr * g
        v = self.velocity.get(i)
        v = np.array(g, dtype=np.float64, copy=True) if v is None else self.momentum * v + g
        self.velocity[i] = v
        return self.lr * v

    def __repr__(self) -> str:
        return (f"SGD({len(self.params)} params, lr={self.lr:g}, momentum={self.momentum:g}, "
                f"weight_decay={self.weight_decay:g})")


class Adam(Optimizer):
    """Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², W ← W − η·m̂/(√v̂ + ε).

    The moments are bias-corrected: m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).

    ``weight_decay`` λ adds λ·W to the gradient (classic L2, not AdamW); ``t`` counts the
    steps each parameter actually took (a parameter skipped for lack of a gradient keeps its t).
    """

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        """Adam with bias-corrected first and second moment estimates per parameter."""
        super().__init__(params, lr, weight_decay)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (finite_number(b1, "betas[0]", "Adam", high=1.0),
                      finite_number(b2, "betas[1]", "Adam", high=1.0))
        self.eps = finite_number(eps, "eps", "Adam", low_open=True)
        self.m: dict[int, Any] = {}
        self.v: dict[int, Any] = {}
        self.t: dict[int, int] = {}

    def _delta(self, i: int, p: Value, g: Any) -> Any:
        """η·m̂/(√v̂ + ε) from the updated moment buffers of parameter ``i``."""
        b1, b2 = self.betas
        g = np.asarray(g, dtype=np.float64)
        m = self.m.get(i)
        v = self.v.get(i)
        m = (1.0 - b1) * g if m is None else b1 * m + (1.0 - b1) * g
        v = (1.0 - b2) * g * g if v is None else b2 * v + (1.0 - b2) * g * g
        t = self.t.get(i, 0) + 1
        self.m[i], self.v[i], self.t[i] = m, v, t
        m_hat = m / (1.0 - b1 ** t)
        v_hat = v / (1.0 - b2 ** t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def __repr__(self) -> str:
        return (f"Adam({len(self.params)} params, lr={self.lr:g}, betas={self.betas}, "
                f"eps={self.eps:g}, weight_decay={self.weight_decay:g})")
