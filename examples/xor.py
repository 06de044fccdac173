"""XOR: the smallest problem a single layer cannot solve, learned by a 2-8-2 network.

Follows seed 000's training process: create the architecture, initialise it, load the data,
then per epoch shuffle and per minibatch feed-forward, error, back-propagation, update, reset.

    python examples/xor.py            # 200 epochs, about a second
    python examples/xor.py --fast     # a 3-epoch smoke run
"""

from __future__ import annotations

import argparse

import numpy as np

from tinygrad_nn import nn
from tinygrad_nn.data import DataLoader, make_xor, one_hot
from tinygrad_nn.optim import SGD
from tinygrad_nn.train import evaluate, fit, predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="3 epochs only (smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    epochs = 3 if args.fast else 200

    # Create the architecture and initialise it: 2 inputs, 8 tanh neurons, 2 logistic outputs.
    model = nn.mlp([2, 8, 2], activation="tanh", output_activation="sigmoid", rng=args.seed)
    # Load the dataset: noisy points around the four corners, labels a XOR b.
    X, y = make_xor(n=200, noise=0.1, rng=args.seed)
    X_test, y_test = make_xor(n=100, noise=0.1, rng=args.seed + 1)
    loader = DataLoader(X, one_hot(y, 2), batch_size=20, rng=args.seed)

    history = fit(model, nn.MSELoss(), SGD(model.parameters(), lr=5.0), loader, epochs,
                  progress=False)
    print(f"training loss (MSE): {history.loss[0]:.4f} (epoch 1) -> {history.loss[-1]:.4f} "
          f"(epoch {history.epochs})")

    # Test process on fresh samples, then use the network on the exact truth table.
    result = evaluate(model, nn.MSELoss(), X_test, one_hot(y_test, 2))
    print(f"test loss (MSE): {result.loss:.4f}")
    print(f"accuracy: {100 * (result.accuracy or 0.0):.1f}%")
    table, truth = make_xor(n=4, noise=0.0)
    out = predict(model, table)
    for (a, b), o, t in zip(table, out, truth):
        print(f"  {int(a)} XOR {int(b)} = {int(np.argmax(o))}   (outputs {o[0]:.3f} {o[1]:.3f}, "
              f"expected {t})")


if __name__ == "__main__":
    main()
