"""History.plot: the loss (and accuracy) curve of a fit run as a PNG."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tinygrad_nn.train import History


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    h = History(loss=[1.0, 0.5, 0.25], accuracy=[0.5, 0.7, 0.9], val_loss=[1.1, 0.6, 0.4],
                val_accuracy=[0.4, 0.6, 0.8], seconds=[0.1] * 3)
    path = h.plot(tmp_path / "curve.png", title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000
    History(loss=[2.0, 1.0]).plot(tmp_path / "loss_only.png")
    assert (tmp_path / "loss_only.png").exists()


def test_plot_without_matplotlib_says_how_to_install(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad-nn\[plot\]"'):
        History(loss=[1.0]).plot(tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_plot_errors(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match=r"History\.plot: no completed epochs"):
        History().plot(tmp_path / "x.png")
