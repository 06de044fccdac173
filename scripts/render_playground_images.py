"""Regenerate the playground screenshots of the README and docs/training.md: the moons run and
the default digits run, each recorded by ``python -m tinygrad_nn train --record``.

    python scripts/render_playground_images.py [--out docs/img] [--epochs N]

Needs Debian's ``chromium`` with Playwright's Python package (``pip install -e ".[dev]"``). Each
page is the one the command writes; the screenshot shows its last snapshot with the mouse on a
hidden neuron, so the formula out = φ(Σ w·x + b) is on it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

from tinygrad_nn.cli import main as cli

DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
RUNS = {
    "playground_moons": ["--dataset", "moons", "--layers", "8,8", "--activation", "tanh",
                         "--loss", "ce"],
    "playground_digits": [],                      # the defaults: the tutorial's digit network
}
"""Each screenshot's ``train`` options (besides --record, --out and --no-progress)."""
HOVER = {"playground_moons": (2, 3), "playground_digits": (1, 4)}
"""The neuron (layer, index) under the mouse in each screenshot."""


def main(argv: list[str] | None = None) -> int:
    """Train and record each run, then write ``<out>/<name>.png``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS_IMG,
                        help=f"directory to write to (default: {DOCS_IMG})")
    parser.add_argument("--epochs", type=int, default=150,
                        help="epochs of each run (default 150, the train command's)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in RUNS.items():
            page = Path(tmp) / f"{name}.html"
            with contextlib.redirect_stdout(io.StringIO()):
                status = cli(["train", *options, "--epochs", str(args.epochs), "--record",
                              str(page), "--out", tmp, "--no-progress"])
            if status != 0:
                print(f"render_playground_images: train {' '.join(options)} failed",
                      file=sys.stderr)
                return 1
            print(screenshot(page, args.out / f"{name}.png", HOVER[name]))
    return 0


def screenshot(page: Path, path: Path, hover: tuple[int, int]) -> Path:
    """A PNG of the whole ``page`` at its last snapshot, the mouse on neuron ``hover``."""
    from tinygrad_nn.viz.pages.browser import open_page

    with open_page(page, width=1400, height=1000) as session:
        session.page.evaluate("tn.goto(tn.snapshots() - 1)")
        layer, neuron = hover
        session.page.locator(f"#tn-net circle[data-layer='{layer}'][data-neuron='{neuron}']"
                             ).hover()
        session.page.screenshot(path=str(path), full_page=True)
        session.check("screenshot")
    return path


if __name__ == "__main__":
    sys.exit(main())
