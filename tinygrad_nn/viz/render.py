"""``render``: a drawing to an svg, png or pdf file with Graphviz's ``dot`` executable.

Drawing needs no executable (a Digraph's ``.source`` is the DOT text); rendering does, and says
how to install it when it is missing (``GraphvizNotFoundError``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import graphviz

from ..errors import GraphvizNotFoundError

__all__ = ["FORMATS", "GraphvizNotFoundError", "render"]

FORMATS = ("svg", "png", "pdf")


def _missing_dot(fn: str) -> GraphvizNotFoundError:
    return GraphvizNotFoundError(
        f"{fn}: Graphviz's `dot` executable was not found on PATH, so the picture cannot be "
        f"rendered. Install it with `apt-get install graphviz` (Debian/Ubuntu; see "
        f"https://graphviz.org/download/ elsewhere). Drawing needs no executable: the Digraph's "
        f"`.source` is the DOT text, and `.save(path)` writes it to a file.")


def render(digraph: graphviz.Digraph, path: str | Path, format: str = "svg") -> Path:
    """Render ``digraph`` to ``path`` as svg, png or pdf with Graphviz's ``dot``; returns the path.

    The format's suffix is appended unless ``path`` already ends in it. Raises
    ``GraphvizNotFoundError`` (a ``RuntimeError``) if ``dot`` is not installed.
    """
    if not isinstance(digraph, (graphviz.Digraph, graphviz.Graph)):
        raise TypeError(f"render: expected a graphviz.Digraph (from draw_graph or draw_network), "
                        f"got {type(digraph).__name__}")
    if format not in FORMATS:
        raise ValueError(f"render: format must be one of {FORMATS}, got {format!r}")
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix != f".{format}":
        if suffix in {".svg", ".png", ".pdf", ".gv", ".dot"}:
            raise ValueError(f"render: path {str(out)!r} ends in {out.suffix} but format is "
                             f"{format!r}; pass format={suffix[1:]!r} or change the suffix")
        out = out.with_name(f"{out.name}.{format}")
    if shutil.which("dot") is None:
        raise _missing_dot("render")
    try:
        data = digraph.pipe(format=format)
    except graphviz.ExecutableNotFound as exc:
        raise _missing_dot("render") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out
