"""Seed 004's one-neuron-per-layer chain: ∂C₀/∂w = ∂z/∂w · ∂a/∂z · ∂C/∂a, layer by layer.

The text's picture shows an output of 0.66 against a target of 1.00 but not its weights; we use
a⁽⁰⁾ = 0.5, w = (0.6, 0.4, 0.7), b = (0.1, −0.2, 0.3), which give a⁽³⁾ = 0.6586 ≈ 0.66.
C₀ = (a⁽ᴸ⁾ − y)² is nn.MSELoss(reduction="sum").

    python examples/tutorial_004_one_neuron_chain.py [--fast]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import tinygrad_nn as tn
from tinygrad_nn import nn
from tinygrad_nn import tutorial as T


def sigma(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="take 3 descent steps instead of 20")
    args = parser.parse_args()

    a0, y = 0.5, 1.0
    ws, bs = [0.6, 0.4, 0.7], [0.1, -0.2, 0.3]

    # 1. Forward by hand: z = w·a + b, a = σ(z).
    print("Forward pass: z(L) = w(L) a(L-1) + b(L), a(L) = σ(z(L))")
    acts = [a0]
    for L, (w, b) in enumerate(zip(ws, bs), start=1):
        z = w * acts[-1] + b
        acts.append(sigma(z))
        sign = "+" if b >= 0 else "−"
        print(f"  L={L}: z = {w} · {acts[-2]:.4f} {sign} {abs(b)} = {z:.4f}, "
              f"a = σ(z) = {acts[-1]:.4f}")
    a = acts[-1]
    print(f"output a(3) = {a:.4f} ≈ {a:.2f} (the text: 0.66), C0 = (a − y)² = {(a - y) ** 2:.6f}")

    # 2. Backward by hand, with the text's three boxes.
    print("\nBackward: ∂C/∂w = ∂z/∂w · ∂a/∂z · ∂C/∂a,  ∂C/∂b = 1 · ∂a/∂z · ∂C/∂a")
    dC_da = 2 * (a - y)                                   # ∂C0/∂a(L) = 2(a(L) − y)
    hand = {}
    for L in range(3, 0, -1):
        s = acts[L]
        dz_dw, da_dz = acts[L - 1], s * (1 - s)
        hand[L] = (dz_dw * da_dz * dC_da, da_dz * dC_da)
        print(f"  L={L}: {dz_dw:.4f} · {da_dz:.4f} · {dC_da:+.4f} -> ∂C/∂w = {hand[L][0]:+.6f},"
              f" ∂C/∂b = {hand[L][1]:+.6f}")
        dC_da = ws[L - 1] * da_dz * dC_da                 # ∂C/∂a(L−1) "from previous iteration"

    # 3. The same chain as a network, differentiated by the engine.
    layers: list[nn.Module] = []
    for w, b in zip(ws, bs):
        lin = nn.Linear(1, 1)
        lin.weight.data = np.array([[w]])
        lin.bias.data = np.array([b])
        layers += [lin, nn.Sigmoid()]
    model = nn.Sequential(*layers)
    C0 = nn.MSELoss(reduction="sum")(model(tn.Value(np.array([a0]), requires_grad=False)),
                                     np.array([y]))
    C0.backward()
    print("\nEngine (backward) vs hand:")
    for L, lin in enumerate(model.layers[::2], start=1):
        print(f"  w({L}): {lin.weight.grad[0, 0]:+.6f} vs {hand[L][0]:+.6f}    "
              f"b({L}): {lin.bias.grad[0]:+.6f} vs {hand[L][1]:+.6f}")

    result = T.one_neuron_chain()
    print(f"hand == engine to {result.max_hand_engine:.1e}, finite differences to "
          f"{result.max_numeric:.1e}")

    # 4. A few steps of gradient descent push a(3) towards y = 1.
    steps = 3 if args.fast else 20
    for _ in range(steps):
        model.zero_grad()
        x = tn.Value(np.array([a0]), requires_grad=False)
        C0 = nn.MSELoss(reduction="sum")(model(x), np.array([y]))
        C0.backward()
        for p in model.parameters():
            p.data = p.data - 1.0 * p.grad
    out = model(tn.Value(np.array([a0]), requires_grad=False)).data[0]
    print(f"after {steps} steps with η = 1: a(3) = {out:.4f}, C0 = {(out - y) ** 2:.6f}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
