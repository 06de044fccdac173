"""What both drawings share: fonts, the data-flow directions, DOT-safe labels and numbers.

Labels are plain text: ``label`` escapes backslashes, quotes and ``<...>`` so that a Value's name
is drawn as written.  ``subscript`` and ``superscript`` write the tutorials' indices (w¹₁₂).
"""

from __future__ import annotations

from typing import Any

import graphviz

from ..value import Value
from .render import Drawing

__all__ = ["FONT", "RANKDIRS", "label", "module_parameters", "new_digraph", "number",
           "subscript", "superscript"]

RANKDIRS = ("LR", "RL", "TB", "BT")
"""The directions the data may flow in a drawing (Graphviz's ``rankdir``): LR = left to right."""
FONT = "Helvetica,Arial,sans-serif"

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def label(*lines: str) -> str:
    """A DOT label from plain text lines: backslashes, quotes and ``<...>`` are taken literally."""
    parts = [graphviz.escape(" ".join(line.splitlines())) for line in lines]
    return graphviz.nohtml("\\n".join(parts))


def number(x: Any, precision: int) -> str:
    """A number for a label: ``precision`` significant digits, no ``-0``."""
    x = float(x)
    if x == 0.0:
        return "0"
    return f"{x:.{precision}g}"


def subscript(i: int) -> str:
    """``12`` as ``₁₂``."""
    return str(i).translate(_SUB)


def superscript(i: int) -> str:
    """``12`` as ``¹²``."""
    return str(i).translate(_SUP)


def new_digraph(name: str, rankdir: str, caption: str | None = None) -> graphviz.Digraph:
    """An empty ``Drawing`` with the drawings' fonts and sizes, titled ``caption`` if given."""
    graph_attr = {"rankdir": rankdir, "fontname": FONT, "newrank": "true"}
    if caption:
        graph_attr.update(label=label(caption), labelloc="t")
    return Drawing(name=name, graph_attr=graph_attr,
                   node_attr={"fontname": FONT, "fontsize": "10"},
                   edge_attr={"fontname": FONT, "fontsize": "9", "arrowsize": "0.6"})


def module_parameters(module: Any) -> list[Value]:
    """The parameter Values of a module (``module.parameters()``); none for anything else."""
    params = getattr(module, "parameters", None)
    if not callable(params):
        return []
    try:
        return [p for p in params() if isinstance(p, Value)]
    except Exception:                                  # a foreign object with parameters()
        return []
