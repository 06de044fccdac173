"""The tutorials made executable: the delta rule by hand, next to the engine and finite differences.

* ``manual_gradients`` / ``manual_deltas`` / ``manual_backprop`` — backpropagation
  in plain NumPy, as seed 000 derives it (``convention="column"``) or as seed 004's row-vector
  pseudo-code does (``convention="row"``);
* ``engine_backprop``, ``numeric_gradients`` — the same quantities from ``backward()``
  (δ via ``retain_grad()``) and from central differences;
* ``check_deltas`` — compares δ_l = ∂E/∂net_l layer by layer and names the wrong layer;
* ``worked_example``, ``one_neuron_chain`` — the tutorials' numeric examples, three ways;
* ``diagnose`` — runs a learner's own backprop and names its first wrong quantity and the
  mistake (``KINDS`` is the catalogue); ``configure_check`` / ``run_check`` —
  ``python -m tinygrad_nn check my_backprop.py``;
* ``format_report``, ``configure_demo`` / ``run_demo`` — ``python -m tinygrad_nn demo``;
* ``.errata`` — the tutorials' own arithmetic and pseudo-code, transcribed, for the errata.
"""

from .check_command import configure_check, run_check
from .checks import (
    DeltaCheck,
    EngineBackprop,
    LayerDelta,
    check_deltas,
    engine_backprop,
    numeric_gradients,
)
from .demo import configure_demo, run_demo
from .diagnose import Diagnosis, diagnose
from .errata import as_printed_000, seed004_pseudocode
from .examples import (
    CHAIN_VALUES,
    TUTORIAL_000_FIGURES,
    ChainFactors,
    DeltaRow,
    ExampleResult,
    ForwardRow,
    GradientRow,
    chain_model,
    one_neuron_chain,
    worked_example,
    worked_model,
)
from .learner_output import LearnerError
from .manual import (
    ACTIVATIONS,
    Activation,
    ManualBackprop,
    manual_backprop,
    manual_deltas,
    manual_gradients,
)
from .mistakes import KINDS
from .report import format_report

__all__ = [
    "ACTIVATIONS",
    "CHAIN_VALUES",
    "KINDS",
    "TUTORIAL_000_FIGURES",
    "Activation",
    "ChainFactors",
    "DeltaCheck",
    "DeltaRow",
    "Diagnosis",
    "EngineBackprop",
    "ExampleResult",
    "ForwardRow",
    "GradientRow",
    "LayerDelta",
    "LearnerError",
    "ManualBackprop",
    "as_printed_000",
    "chain_model",
    "check_deltas",
    "configure_check",
    "configure_demo",
    "diagnose",
    "engine_backprop",
    "format_report",
    "manual_backprop",
    "manual_deltas",
    "manual_gradients",
    "numeric_gradients",
    "one_neuron_chain",
    "run_check",
    "run_demo",
    "seed004_pseudocode",
    "worked_example",
    "worked_model",
]
