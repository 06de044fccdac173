"""Set-up for every test and doctest (tests/, README.md and docs/).

The layer registry (``nn.LAYER_TYPES``) is restored after each item, so a test or a page that
registers a Module subclass of its own with ``@nn.layer_type`` leaves nothing behind for the
tests that check what the registry holds.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tinygrad_nn import nn


@pytest.fixture(autouse=True)
def _restore_layer_registry() -> Iterator[None]:
    saved = dict(nn.LAYER_TYPES)
    yield
    nn.LAYER_TYPES.clear()
    nn.LAYER_TYPES.update(saved)
