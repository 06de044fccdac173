"""Training: ``fit``, ``evaluate`` and ``predict``, the tutorial's training and test process.

``loop`` holds the three (with the divergence checks and the Ctrl-C deferral), ``health`` the
warnings for a run that has not learned, ``resume`` the checkpoint that lets ``fit`` continue a
run (model, optimizer state, shuffling state), ``progress`` the display while ``fit`` runs,
``history`` the ``History`` it returns and its loss-curve plot, ``record`` the ``Recorder`` that
``fit(record=...)`` fills with snapshots for the playground page, and ``targets`` the target
kinds and accuracy the loop and the recorder share.
The ``train`` and ``predict`` commands of ``python -m tinygrad_nn`` live in ``tinygrad_nn.cli``.
"""

from ..errors import TrainingDivergedError, TrainingWarning
from .history import History
from .loop import Callback, EpochCallback, Evaluation, evaluate, fit, predict, training_step
from .record import Recorder, Snapshot

__all__ = [
    "Callback",
    "EpochCallback",
    "Evaluation",
    "History",
    "Recorder",
    "Snapshot",
    "TrainingDivergedError",
    "TrainingWarning",
    "evaluate",
    "fit",
    "predict",
    "training_step",
]
