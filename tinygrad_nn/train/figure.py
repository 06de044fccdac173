"""``NotebookFigure``: the matplotlib Figure ``History.plot`` returns, shown by a notebook.

A bare ``matplotlib.figure.Figure`` (made without pyplot, so no global state is touched) has no
``_repr_png_``; Jupyter then prints ``<Figure size 1000x360 with 2 Axes>`` instead of the
picture unless pyplot's inline backend happens to be active.  This subclass draws itself as a
PNG either way.  Imported only when a plot is drawn (matplotlib is optional).
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["NotebookFigure"]


class NotebookFigure(Figure):
    """A matplotlib ``Figure`` on the Agg canvas that a notebook shows as a PNG."""

    def __init__(self, **kwargs: Any) -> None:
        """A Figure (``figsize``, ``dpi``...) attached to its own Agg canvas."""
        super().__init__(**kwargs)
        FigureCanvasAgg(self)

    def _repr_png_(self) -> bytes:
        """The figure as PNG bytes, for IPython's display."""
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()
