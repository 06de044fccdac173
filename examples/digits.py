"""The 8x8 handwritten digits, two ways: the tutorial's network, then a better recipe.

1. The tutorial (seed 000): 64-20-20-10, logistic φ everywhere, squared error E on one-hot
   targets, minibatch SGD with W ← W − η ∂E/∂W.
2. Better: 64-64-64-10 with ReLU, softmax cross-entropy on the logits, Adam with a little
   L2 weight decay.

    python examples/digits.py                     # both setups, a few seconds
    python examples/digits.py --plot curve.png    # also draw the tutorial run's loss curve
    python examples/digits.py --fast              # 3 epochs each (smoke test)
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from tinygrad_nn import nn
from tinygrad_nn.data import DataLoader, load_digits, one_hot, train_test_split
from tinygrad_nn.optim import SGD, Adam
from tinygrad_nn.train import History, evaluate, fit


def tutorial_setup(seed: int) -> tuple[Any, Any, Any, bool, int]:
    """64-20-20-10 sigmoid, MSE on one-hot targets, plain SGD (η = 5, batch 32, 150 epochs)."""
    model = nn.mlp([64, 20, 20, 10], activation="sigmoid", rng=seed)
    return model, nn.MSELoss(), SGD(model.parameters(), lr=5.0), True, 150


def better_setup(seed: int) -> tuple[Any, Any, Any, bool, int]:
    """64-64-64-10 ReLU, softmax cross-entropy on logits, Adam (η = 0.003, L2 5e-4, 40 epochs)."""
    model = nn.mlp([64, 64, 64, 10], activation="relu", output_activation=None, rng=seed)
    opt = Adam(model.parameters(), lr=0.003, weight_decay=5e-4)
    return model, nn.CrossEntropyLoss(), opt, False, 40


def run(name: str, setup: Any, seed: int, fast: bool) -> tuple[History, float]:
    """Train one setup on the stratified 80/20 split of the digits; print its test figures."""
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, rng=seed,
                                                        stratify=True)
    model, loss_fn, optimizer, onehot, epochs = setup(seed)
    if fast:
        epochs = 3
    Y_train = one_hot(y_train, 10) if onehot else y_train
    Y_test = one_hot(y_test, 10) if onehot else y_test
    loader = DataLoader(X_train, Y_train, batch_size=32, rng=seed)
    start = time.perf_counter()
    history = fit(model, loss_fn, optimizer, loader, epochs, val_data=(X_test, Y_test),
                  progress=False)
    seconds = time.perf_counter() - start
    result = evaluate(model, loss_fn, X_test, Y_test)
    accuracy = result.accuracy or 0.0
    print(f"{name}: {setup.__doc__.split(',')[0]} ...")
    print(f"  {epochs} epochs in {seconds:.1f} s; test loss ({type(loss_fn).__name__}) "
          f"{result.loss:.4f}")
    print(f"  accuracy: {100 * accuracy:.1f}% on {result.n} test digits")
    return history, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="3 epochs per setup (smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="PNG", help="save the tutorial run's loss curve")
    args = parser.parse_args()
    history, _ = run("tutorial", tutorial_setup, args.seed, args.fast)
    run("better", better_setup, args.seed, args.fast)
    if args.plot:
        try:
            history.plot(args.plot, title="digits 64-20-20-10")
            print(f"loss curve: {args.plot}")
        except ImportError as exc:
            print(f"no plot: {exc}")


if __name__ == "__main__":
    main()
