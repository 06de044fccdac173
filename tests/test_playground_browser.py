"""The playground page in a real browser: headless Debian Chromium, driven through Playwright.

Each page is a recorded run saved to a file and opened from ``file://``: it loads with no
console error and no request but its own file; ``window.tn`` gives every snapshot's parameters
bit for bit as the checkpoint written at that epoch (float64 through JSON and back); the slider
and the play button change what is drawn; the digits page shows its images, their labels and
the confusion matrix; hovering a neuron shows out = φ(Σ w·x + b) with the numbers.  Skipped,
with the reason, where Chromium or Playwright is missing (never in CI).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playground_runs import Run, recorded_run

import tinygrad_nn as tn
from tinygrad_nn.train import Recorder
from tinygrad_nn.viz.pages.browser import Chromium, PageSession


@pytest.fixture(scope="module")
def moons(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    directory = tmp_path_factory.mktemp("moons")
    run = recorded_run(directory, "moons", epochs=12)
    return run, tn.viz.playground(run.recorder, title="moons").save(directory / "run.html")


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    directory = tmp_path_factory.mktemp("digits")
    run = recorded_run(directory, "digits", epochs=6, recorder=Recorder(every=3))
    return run, tn.viz.playground(run.recorder, title="digits").save(directory / "run.html")


@pytest.fixture
def opened(chromium: Chromium) -> Iterator[Any]:
    """Open pages with ``opened(path)``; after the test, none logged an error or made a request."""
    sessions: list[PageSession] = []

    def open_(path: Path) -> PageSession:
        session = chromium.open(path, width=1400, height=1000)
        sessions.append(session)
        return session
    yield open_
    for session in sessions:
        assert session.console_errors == [] and session.page_errors == []
        assert session.requests == []
        session.page.context.close()


def page_params(session: PageSession, k: int) -> dict[str, np.ndarray]:
    state = json.loads(session.page.evaluate(f"JSON.stringify((tn.goto({k}), tn.state()))"))
    assert state["snapshot"] == k
    return {name: np.array(value, dtype=np.float64) for name, value in state["params"].items()}


def assert_bit_identical(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name].shape == expected[name].shape
        assert got[name].tobytes() == np.asarray(expected[name], np.float64).tobytes(), name


def test_every_snapshot_is_the_checkpoint_of_its_epoch_bit_for_bit(
        moons: tuple[Run, Path], opened: Any) -> None:
    run, path = moons
    session = opened(path)
    n = session.page.evaluate("tn.snapshots()")
    assert n == len(run.recorder) == 5
    final = tn.load(run.checkpoints[12]).state_dict()
    assert_bit_identical(page_params(session, n - 1), final)
    assert_bit_identical(page_params(session, n - 1), run.model.state_dict())
    for k, snapshot in enumerate(run.recorder.snapshots):
        state = json.loads(session.page.evaluate(f"JSON.stringify((tn.goto({k}), tn.state()))"))
        assert state["epoch"] == snapshot.epoch
        assert state["loss"] == snapshot.loss and state["accuracy"] == snapshot.accuracy
        assert_bit_identical(page_params(session, k),
                             tn.load(run.checkpoints[snapshot.epoch]).state_dict())
    with pytest.raises(Exception, match=r"goto: k must be an integer in 0\.\.4"):
        session.page.evaluate("tn.goto(5)")
    session.page_errors.clear()


def test_the_slider_changes_the_drawing(moons: tuple[Run, Path], opened: Any) -> None:
    _, path = moons
    session = opened(path)
    page = session.page
    slider = page.locator("#tn-slider")
    slider.fill("0")
    assert page.evaluate("tn.state().snapshot") == 0
    assert "snapshot 1 of 5 · epoch 0" in page.locator("#tn-counter").inner_text()
    net_before = page.locator("#tn-net").screenshot()
    boundary_before = page.locator("#tn-boundary").screenshot()
    slider.fill("4")
    assert page.evaluate("tn.state().snapshot") == 4
    assert "snapshot 5 of 5 · epoch 12" in page.locator("#tn-counter").inner_text()
    assert page.locator("#tn-net").screenshot() != net_before
    assert page.locator("#tn-boundary").screenshot() != boundary_before
    page.locator("body").press("ArrowLeft")                 # the keys step through too
    assert page.evaluate("tn.state().snapshot") == 3
    page.locator("body").press("ArrowRight")
    assert page.evaluate("tn.state().snapshot") == 4


def test_play_runs_to_the_last_snapshot(moons: tuple[Run, Path], opened: Any) -> None:
    _, path = moons
    page = opened(path).page
    page.evaluate("tn.goto(0)")
    page.locator("#tn-play").click()
    assert "pause" in page.locator("#tn-play").inner_text()
    page.wait_for_function("() => tn.state().snapshot === 4", timeout=10_000)
    page.wait_for_function("() => document.getElementById('tn-play').textContent.includes('play')")


def test_hovering_a_neuron_shows_its_formula_with_the_numbers(
        digits: tuple[Run, Path], opened: Any) -> None:
    run, path = digits
    page = opened(path).page
    page.evaluate("tn.goto(tn.snapshots() - 1)")
    page.locator("#tn-net circle[data-layer='1'][data-neuron='2']").hover()
    text = page.locator("#tn-tip").inner_text()
    params = run.model.state_dict()
    x = run.X_test[0]
    net = float(params["layers.0.weight"][2] @ x + params["layers.0.bias"][2])
    assert text.startswith("hidden layer 1, neuron 3\nsample: test #1, label "
                           f"{run.y_test[0]}\nout = σ(Σ w·x + b)")
    assert "(58 more)" in text                                        # 64 inputs, 6 written
    formula = text.splitlines()[4]
    assert re.fullmatch(r"    = σ\(-?[\d.]+\) = [\d.]+(e-\d+)?", formula), formula
    shown_net, shown_out = (float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", formula))
    assert shown_net == pytest.approx(net, rel=1e-4)
    assert shown_out == pytest.approx(1 / (1 + np.exp(-net)), rel=1e-4)
    page.mouse.move(0, 0)
    assert page.locator("#tn-tip").is_hidden()


def test_the_digits_page_shows_images_labels_and_the_confusion_matrix(
        digits: tuple[Run, Path], opened: Any) -> None:
    run, path = digits
    page = opened(path).page
    data = json.loads(page.evaluate("JSON.stringify(tn.state())"))
    assert data["epoch"] == 6
    predictions = np.argmax(tn.train.predict(run.model, run.X_test), axis=1)
    cells = page.locator("#tn-images .tn-image")
    assert cells.count() == 40
    captions = [c.split("\n")[-1] for c in cells.all_inner_texts()]
    assert captions == [f"{p} / {t}" for p, t in zip(predictions[:40], run.y_test[:40])]
    wrong = int(np.count_nonzero(predictions[:40] != run.y_test[:40]))
    assert page.locator("#tn-images .tn-wrong").count() == wrong
    rows = page.locator("#tn-confusion tr")
    assert rows.count() == 11
    matrix = np.array([[int(v) for v in rows.nth(i).inner_text().split()[1:]]
                       for i in range(1, 11)])
    expected = np.zeros((10, 10), dtype=int)
    np.add.at(expected, (run.y_test, predictions), 1)
    np.testing.assert_array_equal(matrix, expected)
    cells.nth(3).click()                                              # another sample
    assert "test #4" in page.locator("#tn-sample").inner_text()


def test_a_thinned_page_says_so(moons: tuple[Run, Path], opened: Any, tmp_path: Path) -> None:
    run, _ = moons
    full = len(tn.viz.playground(run.recorder).html().encode())
    page = tn.viz.playground(run.recorder, max_bytes=full - 1)
    session = opened(page.save(tmp_path / "thin.html"))
    banner = session.page.locator("#tn-thinned")
    assert banner.is_visible()
    assert banner.inner_text() == (f"This page shows {len(page)} of the 5 recorded snapshots, "
                                   f"evenly spaced (with the first and the last), to stay under "
                                   f"{(full - 1) / 1e6:.1f} MB.")
    assert session.page.locator("#tn-thinned").count() == 1
    assert opened(moons[1]).page.locator("#tn-thinned").is_hidden()


class TwoLayers(tn.nn.Module):
    """A model that is not a Sequential: no G(V, A), no δ, the rest of the page as usual."""

    def __init__(self) -> None:
        super().__init__()
        self.first = tn.nn.Linear(3, 4, rng=0)
        self.second = tn.nn.Linear(4, 2, rng=1)

    def forward(self, x: Any) -> Any:
        return self.second(self.first(x).tanh())


def test_a_model_of_ones_own_on_a_table_still_gets_a_page(opened: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = TwoLayers()
    recorder = Recorder(every=2)
    tn.train.fit(model, tn.nn.CrossEntropyLoss(), tn.optim.SGD(model.parameters(), lr=0.5),
                 tn.data.DataLoader(X[:45], y[:45], batch_size=15, rng=0), 4,
                 val_data=(X[45:], y[45:]), progress=False, record=recorder)
    page = tn.viz.playground(recorder)
    assert page.data["network"] is None and page.data["data"]["kind"] == "table"
    session = opened(page.save(tmp_path / "own.html"))
    assert "not a Sequential" in session.page.locator("#tn-net").inner_text()
    assert session.page.locator("#tn-confusion tr").count() == 3
    state = json.loads(session.page.evaluate("JSON.stringify(tn.state())"))
    assert state["epoch"] == 4 and set(state["params"]) == set(model.state_dict())


def test_the_docs_screenshots_script(tmp_path: Path) -> None:
    """scripts/render_playground_images.py (which made docs/img/playground_*.png), on 2 epochs."""
    script = Path(__file__).resolve().parents[1] / "scripts" / "render_playground_images.py"
    env = dict(os.environ, PYTHONPATH=str(script.parents[1]), PYTHONIOENCODING="utf-8")
    result = subprocess.run([sys.executable, str(script), "--out", str(tmp_path), "--epochs",
                             "2"], capture_output=True, text=True, check=True, env=env)
    names = ["playground_moons.png", "playground_digits.png"]
    assert result.stdout.split() == [str(tmp_path / name) for name in names]
    for name in names:
        header = (tmp_path / name).read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(header[16:20], "big") == 1400                  # the width
