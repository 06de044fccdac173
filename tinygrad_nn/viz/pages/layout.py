"""Graphviz's layout of a drawing, as the small JSON a page draws from.

``layout(digraph)`` runs ``dot -Tjson0`` once and keeps what a page needs to draw the graph
itself (so it can change text and colours as it runs): every node's centre, size and label
lines, every edge's path as an SVG path string with its label and the label's position, and
every cluster's box, label and label position, all in SVG coordinates (y grows downwards)
rounded to 0.1 pt.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import graphviz

from ..render import _missing_dot

__all__ = ["layout"]


def layout(digraph: graphviz.Digraph, fn: str = "layout") -> dict[str, Any]:
    """Lay ``digraph`` out with Graphviz's ``dot``: ``{"width", "height", "nodes": {name: [x, y,
    w, h, lines]}, "edges": [[tail, head, path, label_x, label_y, label, color]], "clusters":
    {name: [x0, y0, x1, y1, label_x, label_y, label, fill]}}`` in points, y downwards; a label is
    the list of its lines, ``color`` and ``fill`` the ``color`` and ``fillcolor`` attributes (or
    None). Raises ``GraphvizNotFoundError`` without ``dot``.
    """
    if shutil.which("dot") is None:
        raise _missing_dot(fn)
    try:
        raw = json.loads(digraph.pipe(format="json0"))
    except graphviz.ExecutableNotFound as exc:
        raise _missing_dot(fn) from exc
    x0, y0, x1, y1 = (float(v) for v in raw["bb"].split(","))
    height = y1 - y0

    def point(text: str) -> tuple[float, float]:
        x, y = text.split(",")[:2]
        return round(float(x) - x0, 1), round(height - (float(y) - y0), 1)

    nodes: dict[str, list[Any]] = {}
    clusters: dict[str, list[Any]] = {}
    names: dict[int, str] = {}
    for obj in raw.get("objects", []):
        if "nodes" in obj or "bb" in obj:              # a subgraph (cluster)
            if obj["name"].startswith("cluster") and "bb" in obj:
                a, b, c, d = (float(v) for v in obj["bb"].split(","))
                lx, ly = point(obj["lp"]) if "lp" in obj else (round(a - x0, 1), 0.0)
                clusters[obj["name"]] = [round(a - x0, 1), round(height - (d - y0), 1),
                                         round(c - x0, 1), round(height - (b - y0), 1), lx, ly,
                                         _lines(obj.get("label", ""), obj["name"]),
                                         obj.get("fillcolor")]
            continue
        names[obj["_gvid"]] = obj["name"]
        x, y = point(obj["pos"])
        nodes[obj["name"]] = [x, y, round(float(obj["width"]) * 72, 1),
                              round(float(obj["height"]) * 72, 1),
                              _lines(obj.get("label", "\\N"), obj["name"])]
    edges: list[list[Any]] = []
    for edge in raw.get("edges", []):
        if edge.get("style") == "invis":
            continue
        path = _spline_path(edge["pos"], point)
        at: tuple[float | None, float | None] = point(edge["lp"]) if "lp" in edge else (None, None)
        edges.append([names[edge["tail"]], names[edge["head"]], path, at[0], at[1],
                      _lines(edge.get("label", ""), ""), edge.get("color")])
    return {"width": round(x1 - x0, 1), "height": round(height, 1), "nodes": nodes,
            "edges": edges, "clusters": clusters}


def _lines(text: str, name: str) -> list[str]:
    """A DOT label's lines as plain text (``\\N`` is the object's name)."""
    if not text:
        return []
    out: list[str] = []
    line: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in "nlr":
                out.append("".join(line))
                line = []
            elif nxt == "N":
                line.append(name)
            else:
                line.append(nxt)
            i += 2
            continue
        line.append(ch)
        i += 1
    if line:
        out.append("".join(line))
    return out


def _spline_path(pos: str, point: Any) -> str:
    """Graphviz's edge spline (``e,x,y`` arrow end, then 1 + 3n B-spline points) as SVG ``d``."""
    end = None
    points = []
    for part in pos.split(";")[0].split():
        if part.startswith("e,"):
            end = point(part[2:])
        elif part.startswith("s,"):
            continue
        else:
            points.append(point(part))
    if not points:
        return ""
    d = [f"M{points[0][0]},{points[0][1]}"]
    for i in range(1, len(points) - 2, 3):
        (ax, ay), (bx, by), (cx, cy) = points[i], points[i + 1], points[i + 2]
        d.append(f"C{ax},{ay} {bx},{by} {cx},{cy}")
    if end is not None:
        d.append(f"L{end[0]},{end[1]}")
    return "".join(d)
