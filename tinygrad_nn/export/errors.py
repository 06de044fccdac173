"""``ExportError``: what export and import raise when a model, file or function cannot cross."""

from __future__ import annotations

__all__ = ["ExportError"]


class ExportError(ValueError):
    """A layer, op, file or state dict that cannot cross (the message says which and why)."""
