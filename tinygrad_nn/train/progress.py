"""The progress display of ``fit``: a bar per epoch on a terminal, about ten summary lines a run.

``make_progress`` picks the display: nothing (``progress=False``), summary lines when stdout is
not a terminal, a tqdm bar per epoch on a terminal when tqdm is installed, else a one-line text
bar.  ``epoch_summary`` writes the line each epoch ends with.
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["EpochLines", "LineBar", "Progress", "TqdmBar", "epoch_summary", "keeps_summary",
           "make_progress"]


class Progress:
    """What ``fit`` tells its display; this base class shows nothing (``progress=False``)."""

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        """A new epoch begins."""

    def update(self, batch: int, loss: float) -> None:
        """A step finished with this minibatch loss."""

    def end_epoch(self, summary: str) -> None:
        """The epoch finished; ``summary`` is its one-line report."""

    def close(self) -> None:
        """Release the display."""


def keeps_summary(epoch: int, epochs: int) -> bool:
    """Whether an epoch's summary line is kept: the first, the last and every tenth of the run."""
    return epoch in (1, epochs) or epoch % max(1, epochs // 10) == 0


class EpochLines(Progress):
    """Epoch summary lines, about ten per run (used when stdout is not a terminal)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.epoch = 0
        self.epochs = 0

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        """Remember where we are."""
        self.epoch, self.epochs = epoch, epochs

    def end_epoch(self, summary: str) -> None:
        """Print the summary of the first and last epoch and of every tenth of the run."""
        if keeps_summary(self.epoch, self.epochs):
            print(summary, file=self.stream, flush=True)


class LineBar(Progress):
    """A one-line text bar redrawn with carriage returns (no tqdm)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.head = ""
        self.batches: int | None = None
        self.last = 0.0
        self.epoch = 0
        self.epochs = 0

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        """Remember the epoch label and the number of batches."""
        self.epoch, self.epochs = epoch, epochs
        width = len(str(epochs))
        self.head = f"epoch {epoch:{width}d}/{epochs}"
        self.batches = batches
        self.last = 0.0

    def update(self, batch: int, loss: float) -> None:
        """Redraw the bar at most ten times a second."""
        now = time.monotonic()
        if now - self.last < 0.1 and batch != self.batches:
            return
        self.last = now
        if self.batches:
            filled = int(20 * batch / self.batches)
            bar = f"[{'#' * filled}{'.' * (20 - filled)}] {batch}/{self.batches}"
        else:
            bar = f"batch {batch}"
        self.stream.write(f"\r{self.head} {bar} loss {loss:.4f}\x1b[K")
        self.stream.flush()

    def end_epoch(self, summary: str) -> None:
        """Replace the bar by the epoch's summary line (about ten are kept per run)."""
        if keeps_summary(self.epoch, self.epochs):
            self.stream.write(f"\r{summary}\x1b[K\n")
            self.stream.flush()


class TqdmBar(Progress):
    """A tqdm bar per epoch."""

    def __init__(self, tqdm: Any, stream: Any) -> None:
        self.tqdm = tqdm
        self.stream = stream
        self.bar: Any = None
        self.epoch = 0
        self.epochs = 0

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        """Open a bar for this epoch."""
        self.epoch, self.epochs = epoch, epochs
        self.bar = self.tqdm(total=batches, desc=f"epoch {epoch}/{epochs}", file=self.stream,
                             leave=False, unit="batch", dynamic_ncols=True)

    def update(self, batch: int, loss: float) -> None:
        """Advance by one batch and show the loss."""
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def end_epoch(self, summary: str) -> None:
        """Close the bar and print the summary line (about ten are kept per run)."""
        self.close()
        if keeps_summary(self.epoch, self.epochs):
            print(summary, file=self.stream, flush=True)

    def close(self) -> None:
        """Close the current bar if open."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def make_progress(enabled: bool) -> Progress:
    """tqdm on a terminal when installed, else a simple bar; epoch lines when not a terminal."""
    if not enabled:
        return Progress()
    stream = sys.stdout
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()):
        return EpochLines(stream)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return LineBar(stream)
    return TqdmBar(tqdm, stream)


def epoch_summary(epoch: int, epochs: int, record: dict[str, float]) -> str:
    """One line: epoch, loss, accuracy, validation figures and time."""
    width = len(str(epochs))
    parts = [f"epoch {epoch:{width}d}/{epochs}", f"loss {record['loss']:.4f}"]
    if "accuracy" in record:
        parts.append(f"acc {100 * record['accuracy']:.1f}%")
    if "val_loss" in record:
        parts.append(f"test loss {record['val_loss']:.4f}")
    if "val_accuracy" in record:
        parts.append(f"test acc {100 * record['val_accuracy']:.1f}%")
    parts.append(f"{record['seconds']:.2f}s")
    return "  ".join(parts)
