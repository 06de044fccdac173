"""Resumable training: a checkpoint holding the model, its optimizer and where training stands.

``save_training`` writes ``checkpoint.save(model, path, metadata, optimizer=optimizer)`` (which
keeps where each dropout layer's generator stands) with three more metadata entries: ``epochs`` and
``steps`` completed so far and ``loader``, the minibatch loader's shuffling state
(``DataLoader.state_dict()``). ``resume_training`` puts all of it back into a model, optimizer and
loader built the same way, so that training 5 epochs, saving, and training 5 more in a new process
gives the same parameters, bit for bit, as training 10 epochs straight.
``fit(..., checkpoint=path)`` saves this way after every epoch, and ``fit(..., resume=path)``
starts from such a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from ..checkpoint import (
    load_optimizer_state,
    load_rng_states,
    load_with_metadata,
    rng_states,
    save,
)
from ..errors import CheckpointError
from ..optim import Optimizer
from ..validation import nonnegative_int

__all__ = ["Resumed", "resume_training", "save_training"]

PathLike = str | os.PathLike[str]


class Resumed(NamedTuple):
    """Where a resumed run starts: epochs and optimizer steps completed before it."""

    epochs: int
    steps: int


def save_training(path: PathLike, model: Any, optimizer: Any, loader: Any, epochs: int,
                  steps: int, metadata: dict[str, Any] | None = None) -> Path:
    """Save model, optimizer state, ``epochs``/``steps`` done and the loader's shuffling state.

    An optimizer that is not an ``optim.Optimizer`` (no ``state_dict``) and a loader without
    ``state_dict()`` (a plain list of batches) are left out.  Atomic, like ``checkpoint.save``.
    """
    training: dict[str, Any] = {**(metadata or {}), "epochs": epochs, "steps": steps}
    if callable(getattr(loader, "state_dict", None)):
        training["loader"] = loader.state_dict()
    return save(model, path, metadata=training,
                optimizer=optimizer if isinstance(optimizer, Optimizer) else None)


def resume_training(path: PathLike, model: Any, optimizer: Any, loader: Any) -> Resumed:
    """Put the parameters, the optimizer's state and the loader's shuffling state saved at
    ``path`` (by ``save_training``) back into ``model``, ``optimizer`` and ``loader``.

    The model must have the saved architecture and the optimizer the saved type and groups.
    Everything is checked, and on any error the three are put back as they were.  Returns the
    epochs and steps completed before.
    """
    where = f"resume: {os.fspath(path)!r}"
    saved, metadata = load_with_metadata(path)
    if type(saved) is not type(model) or saved.config() != model.config():
        raise CheckpointError(f"{where} holds a different network than the model: "
                              f"{type(saved).__name__} {saved.config()} against "
                              f"{type(model).__name__} {model.config()}")
    try:
        epochs = nonnegative_int(metadata.get("epochs"), "metadata 'epochs'", where)
        steps = nonnegative_int(metadata.get("steps"), "metadata 'steps'", where)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{exc}: it does not say how far training got; write it with "
                              f"fit(checkpoint=...) or save_training") from None
    restores_order = callable(getattr(loader, "load_state_dict", None))
    if restores_order and "loader" not in metadata:
        raise CheckpointError(f"{where} does not hold the loader's shuffling state, so the "
                              f"epochs would not come in the order they would have")
    before = (model.state_dict(), optimizer.state_dict() if isinstance(optimizer, Optimizer)
              else None, loader.state_dict() if restores_order else None, rng_states(model))
    try:
        model.load_state_dict(saved.state_dict())
        load_rng_states(model, rng_states(saved), where)     # dropout's masks go on as they were
        if isinstance(optimizer, Optimizer):
            load_optimizer_state(path, optimizer, model)
        if restores_order:
            try:
                loader.load_state_dict(metadata["loader"])
            except (TypeError, ValueError) as exc:
                raise CheckpointError(f"{where}: {exc}") from None
    except BaseException:
        model.load_state_dict(before[0])
        load_rng_states(model, before[3], where)
        if before[1] is not None:
            optimizer.load_state_dict(before[1])
        if before[2] is not None:
            loader.load_state_dict(before[2])
        raise
    return Resumed(epochs, steps)
