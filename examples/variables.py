"""Which variables matter for good predictions?  A measured answer on the 8x8 digits.

Seed 004 ends: "You won't probably always make good predictions, so we are going to analyze all
variables involved in network training and how to approach the best possible predictions."
This script starts from the tutorial's set-up -- 64-20-20-10, logistic φ, squared error on
one-hot targets, minibatch SGD -- and changes one variable at a time: the learning rate η, the
minibatch size, the weight initialisation, the hidden activation, the error function and the
optimizer.  Every row is trained for the same number of epochs on the same stratified 80/20
split, with several seeds, and reports the test accuracy (mean and range over the seeds).

    python examples/variables.py              # the full table, about a minute
    python examples/variables.py --fast       # 2 epochs, one seed (smoke test)
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tinygrad_nn import nn
from tinygrad_nn.data import DataLoader, load_digits, one_hot, train_test_split
from tinygrad_nn.optim import SGD, Adam
from tinygrad_nn.train import TrainingDivergedError, evaluate, fit


@dataclass(frozen=True)
class Setup:
    """One training configuration; the defaults are the tutorial's."""

    lr: float = 5.0
    batch_size: int = 32
    init: str = "auto"            # "auto": Glorot with gain 4 before the logistic
    activation: str = "sigmoid"   # hidden layers; the output stays logistic for MSE
    loss: str = "mse"             # "mse" on one-hot targets, or "ce" on logits
    optimizer: str = "sgd"


BASE = Setup()
ROWS: list[tuple[str, str, Setup]] = [
    ("baseline", "tutorial set-up", BASE),
    ("learning rate η", "0.05", replace(BASE, lr=0.05)),
    ("learning rate η", "0.5", replace(BASE, lr=0.5)),
    ("learning rate η", "50", replace(BASE, lr=50.0)),
    ("minibatch size", "8", replace(BASE, batch_size=8)),
    ("minibatch size", "128", replace(BASE, batch_size=128)),
    ("minibatch size", "1437 (full batch)", replace(BASE, batch_size=1437)),
    ("initialisation", "uniform [-1, 1] (tutorial, k = 1)", replace(BASE, init="uniform")),
    ("initialisation", "normal N(0, 1)", replace(BASE, init="normal")),
    ("initialisation", "Glorot, gain 1", replace(BASE, init="xavier")),
    ("initialisation", "all zeros", replace(BASE, init="zeros")),
    ("hidden activation", "tanh", replace(BASE, activation="tanh")),
    ("hidden activation", "relu", replace(BASE, activation="relu")),
    ("error function", "cross-entropy, η = 5", replace(BASE, loss="ce")),
    ("error function", "cross-entropy, η = 0.5", replace(BASE, loss="ce", lr=0.5)),
    ("optimizer", "Adam, η = 0.003", replace(BASE, optimizer="adam", lr=0.003)),
]


def build(setup: Setup, seed: int) -> tuple[Any, Any, Any]:
    """Model, error function and optimizer for one row."""
    out_act = "sigmoid" if setup.loss == "mse" else None
    init = setup.init
    model = nn.mlp([64, 20, 20, 10], activation=setup.activation, output_activation=out_act,
                   init=init, rng=seed)
    loss_fn = nn.MSELoss() if setup.loss == "mse" else nn.CrossEntropyLoss()
    opt: Any = (SGD(model.parameters(), lr=setup.lr) if setup.optimizer == "sgd"
                else Adam(model.parameters(), lr=setup.lr))
    return model, loss_fn, opt


def measure(setup: Setup, seed: int, epochs: int) -> tuple[float | None, float]:
    """Test accuracy (None if training diverged) and seconds for one seed."""
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, rng=seed,
                                                        stratify=True)
    model, loss_fn, opt = build(setup, seed)
    onehot = setup.loss == "mse"
    Y_train = one_hot(y_train, 10) if onehot else y_train
    Y_test = one_hot(y_test, 10) if onehot else y_test
    loader = DataLoader(X_train, Y_train, batch_size=setup.batch_size, rng=seed)
    start = time.perf_counter()
    try:
        fit(model, loss_fn, opt, loader, epochs, progress=False)
    except TrainingDivergedError:
        return None, time.perf_counter() - start
    return evaluate(model, loss_fn, X_test, Y_test).accuracy, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="2 epochs, 1 seed (smoke test)")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per row")
    args = parser.parse_args()
    epochs, seeds = (2, 1) if args.fast else (args.epochs, args.seeds)
    print(f"digits, 1437 training / 360 test samples, {epochs} epochs, seeds 0..{seeds - 1}")
    print()
    print("| variable | value | test accuracy: mean (min–max) | s per run |")
    print("|---|---|---|---|")
    for variable, value, setup in ROWS:
        results = [measure(setup, seed, epochs) for seed in range(seeds)]
        accs = [a for a, _ in results if a is not None]
        secs = float(np.mean([s for _, s in results]))
        diverged = len(results) - len(accs)
        if not accs:
            cell = "diverged (NaN/inf error)"
        else:
            cell = f"{100 * np.mean(accs):.1f}%"
            if len(accs) > 1:
                cell += f" ({100 * min(accs):.1f}–{100 * max(accs):.1f})"
            if diverged:
                cell += f", {diverged} of {len(results)} diverged"
        print(f"| {variable} | {value} | {cell} | {secs:.1f} |", flush=True)


if __name__ == "__main__":
    main()
