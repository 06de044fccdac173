"""One small training run, built the same way in the test process and in a fresh one.

``build(kind)`` gives the model, loss, optimizer (``"sgd"``: SGD with momentum, ``"adam"``: Adam,
``"dropout"``: SGD with momentum on a network with a Dropout layer) and a shuffling DataLoader on
300 of the embedded digits; ``python tests/resume_run.py KIND CHECKPOINT OUT EPOCHS`` builds them,
resumes from CHECKPOINT with ``fit(resume=...)``, trains EPOCHS more epochs and saves the model to
OUT, so the test can compare the parameters with one long run.
"""

from __future__ import annotations

import sys
from typing import Any

from tinygrad_nn import nn, optim, save
from tinygrad_nn.data import DataLoader, load_digits
from tinygrad_nn.train import fit


def build(kind: str) -> tuple[Any, Any, Any, Any]:
    """Model, loss, optimizer and loader: the same numbers every time they are built."""
    X, y = load_digits()
    model = nn.mlp([64, 16, 10], activation="tanh", output_activation=None, rng=1)
    if kind == "dropout":                 # masks drawn from a generator the checkpoint keeps
        model = nn.Sequential(nn.Linear(64, 16, rng=1), nn.Tanh(), nn.Dropout(0.3, rng=2),
                              nn.Linear(16, 10, rng=1))
    if kind in ("sgd", "dropout"):
        opt: optim.Optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    else:
        opt = optim.Adam(model.parameters(), lr=0.01)
    return model, nn.CrossEntropyLoss(), opt, DataLoader(X[:300], y[:300], batch_size=32, rng=3)


if __name__ == "__main__":
    kind, checkpoint, out, epochs = sys.argv[1:5]
    model, loss_fn, opt, loader = build(kind)
    fit(model, loss_fn, opt, loader, int(epochs), progress=False, resume=checkpoint)
    save(model, out)
