"""``History``: the per-epoch record of a ``fit`` run, and its loss curve (a figure, or a PNG)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .figure import NotebookFigure

__all__ = ["History"]


@dataclass
class History:
    """Per-epoch record of a ``fit`` run (only completed epochs are recorded).

    ``loss``: mean training error of the epoch (batch losses weighted by batch size);
    ``accuracy``: training accuracy while the epoch ran (empty unless the targets are classes);
    ``val_loss``/``val_accuracy``: ``evaluate`` on ``val_data`` after each epoch;
    ``seconds``: wall time per epoch; ``steps``: optimizer steps completed;
    ``interrupted``: True when Ctrl-C stopped the run.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    steps: int = 0
    interrupted: bool = False

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.loss)

    def to_dict(self) -> dict[str, Any]:
        """The history as plain lists and numbers (JSON-serialisable)."""
        return asdict(self)

    def plot(self, path: str | os.PathLike[str] | None = None,
             title: str | None = None) -> NotebookFigure:
        """The error per epoch (and accuracy, when recorded) as a matplotlib Figure, also
        written to the PNG file ``path`` when one is given.

        In a notebook the returned figure shows itself.  Needs matplotlib (the ``plot``
        extra); uses the Agg canvas, so no display is needed and pyplot's global state is
        untouched.
        """
        try:
            from .figure import NotebookFigure
        except ImportError:
            raise ImportError('History.plot: matplotlib is needed to draw the loss curve; '
                              'install it with pip install "tinygrad-nn[plot]"') from None
        if not self.loss:
            raise ValueError("History.plot: no completed epochs to plot")
        out = None if path is None else Path(path)
        if out is not None and not out.parent.is_dir():
            raise FileNotFoundError(f"History.plot: directory {str(out.parent)!r} does not exist")
        panels = 2 if (self.accuracy or self.val_accuracy) else 1
        fig = NotebookFigure(figsize=(5.0 * panels, 3.6), dpi=100)
        epochs = np.arange(1, self.epochs + 1)
        marker = "." if self.epochs <= 40 else None
        ax = fig.add_subplot(1, panels, 1)
        ax.plot(epochs, self.loss, marker=marker, label="train")
        if self.val_loss:
            ax.plot(epochs[:len(self.val_loss)], self.val_loss, marker=marker, label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel("error E (mean loss)")
        ax.set_title("error per epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        if panels == 2:
            ax2 = fig.add_subplot(1, 2, 2)
            if self.accuracy:
                ax2.plot(epochs[:len(self.accuracy)], 100 * np.asarray(self.accuracy),
                         marker=marker, label="train")
            if self.val_accuracy:
                ax2.plot(epochs[:len(self.val_accuracy)], 100 * np.asarray(self.val_accuracy),
                         marker=marker, label="test")
            ax2.set_xlabel("epoch")
            ax2.set_ylabel("accuracy (%)")
            ax2.set_title("accuracy per epoch")
            ax2.grid(alpha=0.3)
            ax2.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        if out is not None:
            fig.savefig(out, format="png")
        return fig
