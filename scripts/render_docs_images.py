"""Regenerate the pictures of docs/graphs.md: the worked example's graph and network as SVG, and
the stepper mid-backward as a PNG screenshot.

    python scripts/render_docs_images.py [--out docs/img] [--no-screenshot]

Needs Graphviz's ``dot`` (Debian/Ubuntu: ``apt-get install graphviz``), and for the screenshot
Debian's ``chromium`` with Playwright's Python package (``pip install -e ".[dev]"``). The
drawings are the ones ``python -m tinygrad_nn graph`` makes by default
(tinygrad_nn.tutorial.worked_example_drawings: the computation graph top to bottom, the network
left to right), so the docs and the command line show the same pictures. The screenshot is the
page ``python -m tinygrad_nn step`` writes for the scalar build, at the step where the hidden
neuron out x₁² sums its two children's contributions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tinygrad_nn.tutorial import worked_example_drawings, worked_example_scalar
from tinygrad_nn.viz import GraphvizNotFoundError, render, stepper

DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"


def main(argv: list[str] | None = None) -> int:
    """Render docs/img/worked_example_graph.svg, docs/img/worked_example_network.svg and
    docs/img/stepper.png."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS_IMG,
                        help=f"directory to write to (default: {DOCS_IMG})")
    parser.add_argument("--no-screenshot", dest="screenshot", action="store_false",
                        help="skip the stepper's screenshot (needs chromium and playwright)")
    args = parser.parse_args(argv)
    try:
        for stem, drawing in worked_example_drawings().items():
            print(render(drawing, args.out / f"{stem}.svg", format="svg"))
        if args.screenshot:
            print(stepper_screenshot(args.out / "stepper.png"))
    except GraphvizNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def stepper_screenshot(path: Path, node: str = "out x₁²") -> Path:
    """A PNG of the worked example's stepper at the step that makes ``node``'s gradient final."""
    from tinygrad_nn.viz.pages.browser import open_page

    E = worked_example_scalar(backward=False)
    page = stepper(E, numeric=True)
    k = next(i for i, s in enumerate(page.steps, 1) if s.node.name == node)
    with tempfile.TemporaryDirectory() as tmp, \
            open_page(page.save(Path(tmp) / "stepper.html"), width=1360, height=760) as session:
        session.page.evaluate(f"tn.goto({k})")
        session.page.wait_for_timeout(100)               # the scroll to the current node
        session.page.screenshot(path=str(path))
        session.check("stepper_screenshot")
    return path


if __name__ == "__main__":
    sys.exit(main())
