"""The progress display of fit: summary lines off a terminal, a bar on one (tqdm or plain)."""

from __future__ import annotations

import io
import sys

import pytest

from tinygrad_nn import nn
from tinygrad_nn.data import DataLoader, make_xor
from tinygrad_nn.optim import SGD
from tinygrad_nn.train import fit


def _xor(seed: int = 0) -> tuple[nn.Sequential, DataLoader]:
    X, y = make_xor(n=64, noise=0.1, rng=seed)
    model = nn.mlp([2, 8, 2], activation="tanh", output_activation=None, rng=seed)
    return model, DataLoader(X, y, batch_size=16, rng=seed)


def test_progress_lines_when_stdout_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    model, loader = _xor()
    fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader, epochs=2)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert out[0].startswith("epoch 1/2  loss ") and "acc " in out[0]
    model, loader = _xor()
    fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader, epochs=2,
        progress=False)
    assert capsys.readouterr().out == ""


def test_about_ten_summary_lines_per_run(capsys: pytest.CaptureFixture[str]) -> None:
    model, loader = _xor()
    fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader, epochs=25)
    epochs = [int(line.split()[1].split("/")[0]) for line in capsys.readouterr().out.splitlines()]
    assert epochs == [1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 25]


class _FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_simple_bar_on_a_terminal_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    term = _FakeTerminal()
    monkeypatch.setattr(sys, "stdout", term)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    model, loader = _xor()
    fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader, epochs=2)
    text = term.getvalue()
    assert "\repoch 1/2 [" in text and "] 4/4 loss " in text
    assert text.endswith("s\x1b[K\n") and "epoch 2/2  loss" in text


def test_tqdm_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm")
    term = _FakeTerminal()
    monkeypatch.setattr(sys, "stdout", term)
    model, loader = _xor()
    fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader, epochs=2)
    text = term.getvalue()
    assert "epoch 1/2: " in text and "batch" in text       # tqdm's own bar
    assert "epoch 2/2  loss" in text                       # our summary line
