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
    path = tmp_path / "curve.png"
    h.plot(path, title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000
    History(loss=[2.0, 1.0]).plot(tmp_path / "loss_only.png")
    assert (tmp_path / "loss_only.png").exists()


def test_plot_returns_the_figure_with_the_history_in_it(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    h = History(loss=[1.0, 0.5, 0.25], accuracy=[0.5, 0.7, 0.9], val_loss=[1.1, 0.6, 0.4],
                val_accuracy=[0.4, 0.6, 0.8], seconds=[0.1] * 3)
    fig = h.plot()                                   # no file: a figure, as in a notebook
    assert list(tmp_path.iterdir()) == []
    error, accuracy = fig.axes
    assert [list(line.get_ydata()) for line in error.lines] == [[1.0, 0.5, 0.25],
                                                                [1.1, 0.6, 0.4]]
    assert [list(line.get_ydata()) for line in accuracy.lines] == [[50.0, 70.0, 90.0],
                                                                   [40.0, 60.0, 80.0]]
    assert len(History(loss=[2.0, 1.0]).plot().axes) == 1


def test_the_figure_shows_itself_in_a_notebook() -> None:
    """Without pyplot's inline backend a bare Figure prints as ``<Figure size ...>``; ours is
    a PNG for IPython's display."""
    pytest.importorskip("matplotlib")
    fig = History(loss=[1.0, 0.5]).plot()
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    IPython = pytest.importorskip("IPython")
    data, _ = IPython.core.formatters.DisplayFormatter().format(fig)
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg",
                 "tinygrad_nn.train.figure"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad-nn\[plot\]"'):
        History(loss=[1.0]).plot(tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_plot_errors(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match=r"History\.plot: no completed epochs"):
        History().plot(tmp_path / "x.png")
