"""tinygrad_nn: reverse-mode automatic differentiation on NumPy, built to follow the tutorials.

``import tinygrad_nn as tn`` gives the engine (``tn.Value``, ``tn.no_grad``), gradient checking
(``tn.gradcheck``, ``tn.numeric_grad``) and the submodules as attributes.
"""

from .gradcheck import GradcheckError, gradcheck, numeric_grad
from .value import Value, detect_anomaly, no_grad, scope

__version__ = "0.1.0"

__all__ = [
    "GradcheckError",
    "Value",
    "__version__",
    "detect_anomaly",
    "gradcheck",
    "no_grad",
    "numeric_grad",
    "scope",
]
