"""One self-contained HTML file: the shell every page shares, its embedded JSON and its assets.

A page is a single ``.html`` file that works from ``file://`` with no network request of any
kind: its styles and scripts are inlined from ``assets/``, its data is one JSON document in
``<script type="application/json" id="tn-data">``, and a Content-Security-Policy forbids
every fetch (``default-src 'none'``), so a page cannot reach out even by mistake.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import IO, Any

import numpy as np

from ...checkpoint import write_atomically

__all__ = ["CSP", "asset", "html_page", "iframe", "json_number", "json_value", "save_page",
           "script_json"]

CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data:; font-src data:")
"""The page's Content-Security-Policy: inline code only, nothing fetched from anywhere."""

_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def json_number(x: float) -> float | str:
    """A float for JSON: itself when finite (Python's repr round-trips exactly through
    ``JSON.parse``), else the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else _NON_FINITE[x]


def json_value(x: Any) -> Any:
    """A number or an array as JSON: a number, or nested lists of numbers (``json_number``)."""
    if type(x) is float or np.ndim(x) == 0:
        return json_number(float(np.asarray(x)))
    arr = np.asarray(x, dtype=np.float64)
    if arr.size and np.all(np.isfinite(arr)):
        return arr.tolist()
    return np.vectorize(json_number, otypes=[object])(arr).tolist() if arr.size else arr.tolist()


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element (no ``</``, no ``<!--``)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def asset(name: str) -> str:
    """The text of ``assets/name`` (a stylesheet or a script shared by the pages)."""
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def html_page(*, title: str, body: str, data: Any, styles: Sequence[str],
              scripts: Sequence[str], data_id: str = "tn-data") -> str:
    """The whole page: ``<head>`` with the CSP and inlined ``styles`` (asset names), ``body``
    (HTML), ``data`` as ``<script type="application/json" id="tn-data">`` (or the id
    ``data_id``) and the ``scripts`` (asset names) inlined at the end, in order."""
    css = "\n".join(asset(name) for name in styles)
    js = "\n".join(asset(name) for name in scripts)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_escape(title)}</title>\n<style>\n{css}\n</style>\n</head>\n<body>\n"
        f"{body}\n"
        f"<script type=\"application/json\" id=\"{data_id}\">{script_json(data)}</script>\n"
        f"<script>\n{js}\n</script>\n</body>\n</html>\n")


def iframe(html: str, height: int = 680) -> str:
    """``html`` inside an ``<iframe srcdoc>``: how a notebook shows a page without letting its
    ids and scripts meet the notebook's own (or another page's)."""
    return (f"<iframe srcdoc=\"{_escape(html)}\" style=\"width: 100%; height: {height}px; "
            f"border: 1px solid #ccc\" sandbox=\"allow-scripts\"></iframe>")


def save_page(html: str, path: str | Path, fn: str) -> Path:
    """Write ``html`` to ``path`` atomically (a failed write leaves no half-written file)."""
    data = html.encode("utf-8")

    def write(f: IO[bytes]) -> None:
        f.write(data)
    return write_atomically(path, write, fn)


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\"", "&quot;"))
