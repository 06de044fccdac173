"""Small recorded training runs for the playground's tests, with a checkpoint after every epoch.

``recorded_run`` trains a tiny network with ``fit(..., record=Recorder(...))`` and saves the
model with ``tn.save`` before training (epoch 0) and after every epoch, so a test can compare a
snapshot with the checkpoint of the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_nn as tn
from tinygrad_nn.train import Recorder


@dataclass
class Run:
    """A recorded run: the recorder, the trained model and its checkpoints by epoch."""

    recorder: Recorder
    model: Any
    checkpoints: dict[int, Path]
    X_test: np.ndarray
    y_test: np.ndarray


def recorded_run(directory: Path, dataset: str = "moons", epochs: int = 12,
                 recorder: Recorder | None = None, seed: int = 0) -> Run:
    """Train on ``dataset`` ("moons": 2-8-2 tanh with cross-entropy; "digits": 64-12-10
    sigmoid with MSE on one-hot targets) and record it."""
    rng = np.random.default_rng(seed)
    if dataset == "moons":
        X, y = tn.data.make_moons(240, noise=0.15, rng=seed)
        model = tn.nn.mlp([2, 8, 2], activation="tanh", output_activation=None, rng=rng)
        loss_fn: Any = tn.nn.CrossEntropyLoss()
        lr = 0.3
    else:
        X, y = tn.data.load_digits()
        X, y = X[:600], y[:600]
        model = tn.nn.mlp([64, 12, 10], activation="sigmoid", output_activation="sigmoid",
                          rng=rng)
        loss_fn = tn.nn.MSELoss()
        lr = 5.0
    X_train, X_test, y_train, y_test = tn.data.train_test_split(X, y, test_size=0.25, rng=seed,
                                                                stratify=True)
    if dataset == "digits":
        Y_train, Y_test = tn.data.one_hot(y_train, 10), tn.data.one_hot(y_test, 10)
    else:
        Y_train, Y_test = y_train, y_test
    loader = tn.data.DataLoader(X_train, Y_train, batch_size=32, shuffle=True, rng=seed)
    optimizer = tn.optim.SGD(model.parameters(), lr=lr)
    checkpoints = {0: tn.save(model, directory / "epoch0.npz")}

    def save(epoch: int, history: Any) -> None:
        checkpoints[epoch] = tn.save(model, directory / f"epoch{epoch}.npz")

    recorder = recorder if recorder is not None else Recorder(snapshots=5)
    tn.train.fit(model, loss_fn, optimizer, loader, epochs, val_data=(X_test, Y_test),
                 callbacks=[save], progress=False, record=recorder)
    return Run(recorder, model, checkpoints, X_test, y_test)
