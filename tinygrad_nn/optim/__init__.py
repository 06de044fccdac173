"""Optimizers and learning-rate schedules: turn the gradients left by ``backward()`` into updates.

``SGD`` is the tutorial's W ← W − η ∂E/∂W (with momentum and Nesterov's variant), ``Adam`` and
``AdamW`` the adaptive alternatives; each takes parameter groups with their own options and
saves and restores its state (``state_dict``/``load_state_dict``), with PyTorch's names and
layout.  ``lr_scheduler`` changes η from epoch to epoch.

The modules: ``optimizer`` (the ``Optimizer`` base: groups, the checked step, the state),
``sgd``, ``adam`` and ``lr_scheduler``.
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer, ParamsLike, grad_data
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "ParamsLike", "grad_data",
           "lr_scheduler"]
