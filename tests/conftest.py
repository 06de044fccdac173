"""Shared test set-up: hypothesis profiles, the ``needs_dot`` marker, optional packages, and the
layer registry restored after every test.

The optional packages (PyTorch, onnx, ONNX Runtime, safetensors) come as fixtures named after
them: a test that takes ``torch`` is skipped, with the reason, where PyTorch is not installed,
and so is a Markdown file whose doctests import one that is missing.  In CI, which installs
them all, a missing one fails instead.

Graphviz's ``dot`` program is optional too: a test marked ``needs_dot`` is skipped where it is
not on PATH, and so is a doctest example of the docs whose line says ``# needs `dot```` (the
rest of its file still runs; the summary lists the examples left out).  CI never skips them.

The browser tests take the ``chromium`` fixture: Debian's Chromium driven headless by
Playwright, skipped with the reason where either is missing (failed in CI, which installs both).
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# CI: a fixed, reproducible number of examples; dev: a deeper search (HYPOTHESIS_PROFILE=dev).
settings.register_profile("ci", max_examples=300, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("quick", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

HAVE_DOT = shutil.which("dot") is not None

OPTIONAL_PACKAGES = {
    "torch": "pip install torch==2.13.0 (CI does; PyTorch is installed by hand)",
    "onnx": "pip install -e '.[onnx]'",
    "onnxruntime": "pip install -e '.[onnx]'",
    "safetensors": "pip install -e '.[torch]'",
}
"""The packages the export tests use, each with the command that installs it."""


def optional_package(name: str) -> Any:
    """Import an optional package for a test, or skip it (fail in CI, which installs them all)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        reason = f"needs {name}: {OPTIONAL_PACKAGES[name]}"
        if os.environ.get("CI"):
            pytest.fail(f"CI installs every optional package, but this test {reason}")
        pytest.skip(reason)


def _package_fixture(fixture_name: str, package: str) -> Any:
    """A fixture that gives ``package``, or skips the test that asks for it."""
    def fixture() -> Any:
        return optional_package(package)
    fixture.__doc__ = f"The {package} package, or the test is skipped."
    return pytest.fixture(name=fixture_name)(fixture)


torch = _package_fixture("torch", "torch")
onnx = _package_fixture("onnx", "onnx")
ort = _package_fixture("ort", "onnxruntime")
safetensors = _package_fixture("safetensors", "safetensors")

NEEDS_DOT = re.compile(r"#\s*needs `dot`")
"""How a doctest example in the docs says that it runs the `dot` program."""

SKIPPED_DOT_EXAMPLES: list[str] = []
"""The doctest examples skipped in this run because `dot` is missing (file:line)."""


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (``tinygrad_nn.viz.pages.browser``), one for
    the whole session; the test is skipped, with the reason, where either is missing (never in
    CI, which installs both)."""
    from tinygrad_nn.viz.pages.browser import chromium_path, launch
    missing = []
    if chromium_path() is None:
        missing.append("Chromium (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright's Python package (pip install -e '.[dev]')")
    if missing:
        reason = f"needs {' and '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"CI installs the browser, but this test {reason}")
        pytest.skip(reason)
    with launch() as browser:
        yield browser


@pytest.fixture(scope="session")
def big_stepper() -> tuple[Any, Any]:
    """The stepper of a 5,169-Value scalar MLP (the graph of benchmarks/stepper_page.py), built
    once: laying out its 79 views takes seconds."""
    import numpy as np
    from stepper_graphs import BIG_SIZES, scalar_mlp

    import tinygrad_nn as tn
    E = scalar_mlp(BIG_SIZES, np.random.default_rng(0))
    return E, tn.viz.stepper(E)


_DOCTEST_IMPORT = re.compile(r"^\s*>>> (?:import|from) (\w+)", re.M)


def missing_doctest_imports(text: str) -> list[str]:
    """The optional packages a Markdown file's ``>>>`` sessions import that are not installed."""
    return sorted({name for name in _DOCTEST_IMPORT.findall(text)
                   if name in OPTIONAL_PACKAGES and importlib.util.find_spec(name) is None})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``needs_dot`` tests and ``# needs `dot``` doctest examples where graphviz's ``dot``
    is missing, and Markdown doctests that import a missing optional package; never in CI."""
    if os.environ.get("CI"):
        return
    for item in items:
        if "needs_dot" in item.keywords and not HAVE_DOT:
            item.add_marker(pytest.mark.skip(
                reason="needs the `dot` executable (apt-get install graphviz)"))
        if item.path.suffix == ".md" and type(item).__name__ == "DoctestItem":
            if not HAVE_DOT:
                _skip_dot_examples(item)
            missing = missing_doctest_imports(item.path.read_text(encoding="utf-8"))
            if missing:
                how = "; ".join(sorted({OPTIONAL_PACKAGES[m] for m in missing}))
                item.add_marker(pytest.mark.skip(
                    reason=f"its doctests import {', '.join(missing)}, not installed ({how})"))


def _skip_dot_examples(item: Any) -> None:
    """Mark the examples of a Markdown doctest that run `dot` as skipped (the others still run)."""
    test = item.dtest
    for example in test.examples:
        if NEEDS_DOT.search(example.source):
            example.options[doctest.SKIP] = True
            SKIPPED_DOT_EXAMPLES.append(f"{item.path.name}:{test.lineno + example.lineno + 1}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name the doctest examples that were skipped because `dot` is missing."""
    if SKIPPED_DOT_EXAMPLES:
        terminalreporter.write_line(
            "doctest examples skipped, they need the `dot` executable (apt-get install "
            f"graphviz): {', '.join(SKIPPED_DOT_EXAMPLES)}")


@pytest.fixture(autouse=True)
def _restore_layer_registry() -> Iterator[None]:
    """Put ``nn.LAYER_TYPES`` back after each test: a test may register a class of its own."""
    from tinygrad_nn import nn

    saved = dict(nn.LAYER_TYPES)
    yield
    nn.LAYER_TYPES.clear()
    nn.LAYER_TYPES.update(saved)
