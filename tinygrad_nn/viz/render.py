"""``render``: a drawing to an svg, png or pdf file with Graphviz's ``dot`` executable.

Drawing needs no executable (a Digraph's ``.source`` is the DOT text); rendering does, and says
how to install it when it is missing (``GraphvizNotFoundError``).  The drawings are
``Drawing``s, Digraphs that say the same in a notebook instead of showing graphviz's
``ExecutableNotFound`` traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import graphviz

from ..errors import GraphvizNotFoundError

__all__ = ["FORMATS", "Drawing", "GraphvizNotFoundError", "render"]

FORMATS = ("svg", "png", "pdf")


def _missing_dot(fn: str) -> GraphvizNotFoundError:
    return GraphvizNotFoundError(
        f"{fn}: Graphviz's `dot` executable was not found on PATH, so the picture cannot be "
        f"rendered. Install it with `apt-get install graphviz` (Debian/Ubuntu; see "
        f"https://graphviz.org/download/ elsewhere). Drawing needs no executable: the Digraph's "
        f"`.source` is the DOT text, and `.save(path)` writes it to a file.")


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` (what ``draw_graph`` and ``draw_network`` return) that, shown in a
    notebook where ``dot`` is missing, says how to install it instead of raising."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **kwargs: Any) -> dict[str, Any]:
        """The picture for Jupyter (SVG by default); without ``dot``, the install hint as text."""
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            return {"text/plain": str(_missing_dot("display"))}


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
