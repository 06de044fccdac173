"""Regenerate the pictures of docs/graphs.md: the worked example's graph and network as SVG.

    python scripts/render_docs_images.py [--out docs/img]

Needs Graphviz's ``dot`` (Debian/Ubuntu: ``apt-get install graphviz``). The drawings are the ones
``python -m tinygrad_nn graph`` makes by default (tinygrad_nn.tutorial.worked_example_drawings:
the computation graph top to bottom, the network left to right), so the docs and the command
line show the same pictures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinygrad_nn.tutorial import worked_example_drawings
from tinygrad_nn.viz import GraphvizNotFoundError, render

DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"


def main(argv: list[str] | None = None) -> int:
    """Render docs/img/worked_example_graph.svg and docs/img/worked_example_network.svg."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS_IMG,
                        help=f"directory to write to (default: {DOCS_IMG})")
    args = parser.parse_args(argv)
    try:
        for stem, drawing in worked_example_drawings().items():
            print(render(drawing, args.out / f"{stem}.svg", format="svg"))
    except GraphvizNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
