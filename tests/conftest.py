"""Shared test set-up: hypothesis profiles and the ``needs_dot`` marker."""

from __future__ import annotations

import os
import shutil

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``needs_dot`` tests where graphviz's ``dot`` is missing, but never in CI."""
    if HAVE_DOT or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="needs the `dot` executable (apt-get install graphviz)")
    for item in items:
        if "needs_dot" in item.keywords:
            item.add_marker(skip)
