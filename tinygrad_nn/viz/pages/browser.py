"""Headless Chromium for the pages: open a page file, watch its console and its requests.

Used by the tests and by ``scripts/render_docs_images.py`` (the screenshots in docs/img).  It
drives Debian's ``chromium`` through Playwright's Python package (a development dependency,
imported only here and only when called); it never downloads a browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM_ARGS", "Chromium", "PageSession", "chromium_path", "launch", "open_page"]

CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run")
"""Chromium's switches: headless, and no background traffic (updates, metrics, first run)."""


def chromium_path() -> str | None:
    """The Chromium executable: ``$TN_CHROMIUM``, else ``chromium`` on PATH; None if absent."""
    explicit = os.environ.get("TN_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageSession:
    """An open page: ``page`` (Playwright's Page), the console's errors and warnings, uncaught
    exceptions, and every request the page made other than for its own file."""

    page: Any
    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def check(self, fn: str) -> None:
        """Raise ``RuntimeError`` naming ``fn`` if the page logged an error or a warning, threw,
        or requested anything but its own file."""
        if self.console_errors or self.page_errors or self.requests:
            raise RuntimeError(f"{fn}: the page reported "
                               f"{self.console_errors + self.page_errors} and requested "
                               f"{self.requests}")


class Chromium:
    """A running headless Chromium (from ``launch()``): ``open(path)`` opens a page file in a new
    tab with its console and requests watched."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def open(self, path: str | Path, *, width: int = 1400, height: int = 900) -> PageSession:
        """Open the HTML file ``path`` (``file://``) and wait until its script has run."""
        url = Path(path).resolve().as_uri()
        context = self.browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        session = PageSession(page=page, url=url)
        page.on("console", lambda msg: session.console_errors.append(msg.text)
                if msg.type in ("error", "warning") else None)
        page.on("pageerror", lambda exc: session.page_errors.append(str(exc)))
        page.on("request", lambda req: session.requests.append(req.url)
                if req.url != url else None)
        page.goto(url)
        page.wait_for_function("() => window.tn !== undefined")
        return session


@contextmanager
def launch() -> Iterator[Chromium]:
    """Start headless Chromium (``CHROMIUM_ARGS``) through Playwright; stop it on exit.

    Raises ``RuntimeError`` when Chromium or Playwright's Python package is missing.
    """
    executable = chromium_path()
    if executable is None:
        raise RuntimeError("launch: no Chromium found (Debian: apt-get install chromium; or "
                           "set TN_CHROMIUM to the executable)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise RuntimeError("launch: needs Playwright's Python package (pip install -e "
                           "'.[dev]'); it drives the system Chromium, no browser download")\
            from exc
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            yield Chromium(browser)
        finally:
            browser.close()


@contextmanager
def open_page(path: str | Path, *, width: int = 1400, height: int = 900) -> Iterator[PageSession]:
    """Open the HTML file ``path`` in a Chromium of its own and yield a ``PageSession``."""
    with launch() as chromium:
        yield chromium.open(path, width=width, height=height)
