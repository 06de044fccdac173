"""Seed 000's worked example, step by step: forward pass, error E, back-propagation, update.

"Neural Networks explained in a mathematical way" uses a 2-2-2 network with the logistic φ,
inputs (0.5, 0.25), desired output (0, 1) and E = ((d1 − x1)² + (d2 − x2)²)/2. This script builds
that network with the public API, prints every number the tutorial prints (and the ones it
skips), checks the hand-derived delta rule against the engine and finite differences, and takes
a few gradient-descent steps w ← w − η ∂E/∂w.

    python examples/tutorial_000_worked_example.py [--fast]
"""

from __future__ import annotations

import argparse

import numpy as np

import tinygrad_nn as tn
from tinygrad_nn import nn
from tinygrad_nn import tutorial as T


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="take 3 descent steps instead of 20")
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate η (default 0.5)")
    args = parser.parse_args()

    # 1. The network f, φ, g, φ. Linear.weight[j, i] is the tutorial's w_ij (neuron i → j).
    f, g = nn.Linear(2, 2), nn.Linear(2, 2)
    f.weight.data = np.array([[0.25, 0.10],     # w11, w21: the weights into x1 of layer 2
                              [0.35, -0.30]])   # w12, w22: the weights into x2 of layer 2
    g.weight.data = np.array([[0.9, 0.5],
                              [-0.7, 0.3]])
    model = nn.Sequential(f, nn.Sigmoid(), g, nn.Sigmoid())
    x = np.array([0.5, 0.25])
    d = np.array([0.0, 1.0])

    # 2. Forward pass, layer by layer, keeping net and out.
    print("Forward pass")
    out = tn.Value(x, requires_grad=False)
    nets = []
    for layer in model.layers:
        out = layer(out)
        if isinstance(layer, nn.Linear):
            out.retain_grad()                   # keep δ = ∂E/∂net after backward
            nets.append(out)
            print(f"  {layer.scope_label:<13} net = {np.round(out.data, 6)}")
        else:
            print(f"  {layer.scope_label:<13} out = {np.round(out.data, 6)}")
    print("  tutorial: net x² = (0.15, 0.1), out x² = (0.53, 0.52), "
          "net x³ = (0.74, −0.21), out x³ = (0.68, 0.45)")

    # 3. The error E (nn.MSELoss averages over the n = 2 outputs).
    E = nn.MSELoss()(out, d)
    print(f"\nE = {E.item():.6f}   (tutorial: 0.38)")

    # 4. Back-propagation by the engine, then by hand (the delta rule) and numerically.
    E.backward()
    print("\nError signals δ = ∂E/∂net from the engine (retain_grad):")
    for k, net in enumerate(nets):
        print(f"  layer {k + 2}: δ = {np.round(net.grad, 6)}")
    hand = T.manual_gradients(model, x, d)
    print("\n∂E/∂W (rows: destination neuron j, columns: source neuron i) — engine | hand")
    for lin, (dW, db) in zip((f, g), hand):
        print(f"  {lin.scope_label}: {np.round(lin.weight.grad, 6).tolist()} | "
              f"{np.round(dW, 6).tolist()}")
        print(f"  {'':<12}  ∂E/∂B = {np.round(lin.bias.grad, 6).tolist()} | "
              f"{np.round(db, 6).tolist()}")
    print("  tutorial (last layer): w11² 0.078, w21² 0.077, w12² −0.07, w22² −0.07, "
          "b1³ 0.15, b2³ −0.13")

    result = T.worked_example()
    print(f"\nhand == engine to {result.max_hand_engine:.1e}, finite differences to "
          f"{result.max_numeric:.1e}; check_deltas: "
          f"{'ok' if T.check_deltas(model, x, d).ok else 'MISMATCH'}")

    # 5. Gradient descent: w ← w − η ∂E/∂w, b ← b − η ∂E/∂b.
    steps = 3 if args.fast else 20
    print(f"\n{steps} steps of gradient descent with η = {args.lr}:")
    for step in range(1, steps + 1):
        model.zero_grad()
        E = nn.MSELoss()(model(tn.Value(x, requires_grad=False)), d)
        E.backward()
        with tn.no_grad():
            for p in model.parameters():
                p.data = p.data - args.lr * p.grad
        if step == 1 or step == steps or step % 5 == 0:
            print(f"  step {step:>3}: E = {E.item():.6f} (before the update)")
    final = nn.MSELoss()(model(tn.Value(x, requires_grad=False)), d).item()
    print(f"  after {steps} steps: E = {final:.6f}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
