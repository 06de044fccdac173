"""The tutorials made executable: the delta rule by hand, next to the engine and finite differences.

* ``manual_gradients`` / ``manual_deltas`` / ``manual_backprop`` — backpropagation
  in plain NumPy, as seed 000 derives it (``convention="column"``) or as seed 004's row-vector
  pseudo-code does (``convention="row"``);
* ``engine_backprop``, ``numeric_gradients`` — the same quantities from ``backward()``
  (δ via ``retain_grad()``) and from central differences;
* ``check_deltas`` — compares δ_l = ∂E/∂net_l layer by layer and names the wrong layer;
* ``worked_example``, ``one_neuron_chain`` — the tutorials' numeric examples, three ways;
* ``jacobian_chain`` — seed 000's chain rule as a product of per-map Jacobians,
  ∂E/∂X₁ = J_E · J_φ · J_g · J_φ · J_f, each by ``tn.jacobian``, against the engine;
* ``worked_example_scalar`` / ``worked_example_tensor`` / ``worked_example_drawings`` — the
  worked example's computation graph and network drawing (``python -m tinygrad_nn graph``);
* ``worked_example_program`` — its forward and backward pass as a program
  (``python -m tinygrad_nn trace``);
* ``diagnose`` — runs a learner's own backprop and names its first wrong quantity and the
  mistake (``KINDS`` is the catalogue; ``python -m tinygrad_nn check my_backprop.py``);
* ``format_report`` — the text report ``python -m tinygrad_nn demo`` prints;
* ``.errata`` — the tutorials' own arithmetic and pseudo-code, transcribed, for the errata.
"""

from .checks import (
    DeltaCheck,
    EngineBackprop,
    LayerDelta,
    check_deltas,
    engine_backprop,
    numeric_gradients,
)
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
from .jacobians import ChainFactor, JacobianChain, WeightGradient, jacobian_chain
from .learner_output import LearnerError
from .learners import load_learner, random_problem
from .manual import (
    ACTIVATIONS,
    Activation,
    ManualBackprop,
    manual_backprop,
    manual_deltas,
    manual_gradients,
)
from .mistakes import KINDS
from .pictures import worked_example_drawings, worked_example_scalar, worked_example_tensor
from .programs import worked_example_program
from .report import format_report

__all__ = [
    "ACTIVATIONS",
    "CHAIN_VALUES",
    "KINDS",
    "TUTORIAL_000_FIGURES",
    "Activation",
    "ChainFactor",
    "ChainFactors",
    "DeltaCheck",
    "DeltaRow",
    "Diagnosis",
    "EngineBackprop",
    "ExampleResult",
    "ForwardRow",
    "GradientRow",
    "JacobianChain",
    "LayerDelta",
    "LearnerError",
    "ManualBackprop",
    "WeightGradient",
    "as_printed_000",
    "chain_model",
    "check_deltas",
    "diagnose",
    "engine_backprop",
    "format_report",
    "jacobian_chain",
    "load_learner",
    "manual_backprop",
    "manual_deltas",
    "manual_gradients",
    "numeric_gradients",
    "one_neuron_chain",
    "random_problem",
    "seed004_pseudocode",
    "worked_example",
    "worked_example_drawings",
    "worked_example_program",
    "worked_example_scalar",
    "worked_example_tensor",
    "worked_model",
]
