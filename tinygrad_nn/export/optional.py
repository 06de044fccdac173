"""Optional dependencies (onnx, torch): imported when an export function needs them, never before.

``import tinygrad_nn`` imports none of them; each function that needs one calls ``require``.
The module is returned untyped (``Any``) on purpose, so type checking gives the same result
whether or not the package is installed.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["INSTALL", "require"]

INSTALL = {
    "onnx": "pip install 'tinygrad-nn[onnx]'",
    "torch": "install PyTorch yourself, e.g. pip install torch (see pytorch.org)",
}
"""How to install each optional dependency, as the error message says it."""


def require(module: str, fn: str) -> Any:
    """Import ``module`` for the function ``fn``, or raise ImportError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        how = INSTALL.get(module, f"pip install {module}")
        raise ImportError(f"{fn}: needs the {module!r} package, which is not installed "
                          f"({how})", name=module) from exc
