"""``python -m tinygrad_nn graph``: write the worked example's computation graph and network."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import GraphvizNotFoundError
from ..tutorial import worked_example_drawings
from ..viz import FORMATS, RANKDIRS, render

__all__ = ["HELP", "configure", "run"]

HELP = "render the worked example's computation graph and network drawing to files"


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``python -m tinygrad_nn graph``."""
    parser.add_argument("--out", metavar="DIR", default="out",
                        help="directory to write the pictures to (default: ./out)")
    parser.add_argument("--format", choices=(*FORMATS, "dot"), default="svg",
                        help="picture format; 'dot' writes the DOT text and needs no Graphviz "
                             "(default: svg)")
    parser.add_argument("--build", choices=("scalar", "tensor"), default="scalar",
                        help="computation graph of the scalar build (one Value per number, "
                             "edges carry numbers) or the tensor build through nn (default: "
                             "scalar)")
    parser.add_argument("--rankdir", choices=RANKDIRS, default=None,
                        help="direction of the data flow in both pictures (default: the "
                             "graph top to bottom, TB; the network left to right, LR)")


def run(args: argparse.Namespace) -> int:
    """Render the worked example's computation graph and network drawing; print their paths."""
    out_dir = Path(args.out)
    fmt = args.format
    pictures = worked_example_drawings(args.build, args.rankdir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileNotFoundError(f"graph: --out {str(out_dir)!r} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    status = 0
    for name, picture in pictures.items():
        if fmt != "dot":
            try:
                print(render(picture, out_dir / f"{name}.{fmt}", format=fmt))
                continue
            except GraphvizNotFoundError as exc:
                if status == 0:
                    print(f"graph: {exc}\nWriting the DOT text instead.", file=sys.stderr)
                status = 1
        path = out_dir / f"{name}.gv"
        path.write_text(picture.source, encoding="utf-8")
        print(path)
    return status
