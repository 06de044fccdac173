"""The registry of module types: the package's own layer classes, by class name.

``LAYER_TYPES`` is the one list of what ``from_config`` (and so ``checkpoint.load``) will build:
a checkpoint can only name a registered class, never an arbitrary one.  A class joins it with
the ``layer_type`` decorator where it is defined, so adding a layer is one class (plus its test);
a user's own ``Module`` subclass joins it the same way (``@nn.layer_type``), which is what lets
``save``/``load`` keep it;
the tables other code reads (``nn.ACTIVATIONS``, ``nn.AUTO_INIT``, ``tutorial.ACTIVATIONS``)
are ``RegistryView``s computed from it and from the classes' own attributes.

This module imports nothing of the package: ``module.py`` uses it to find the container that
``f >> g`` builds, and every layer module uses it to register itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["LAYER_TYPES", "RegistryView", "from_config", "layer_type", "parameter_shapes"]

C = TypeVar("C", bound=type)
K = TypeVar("K")
V = TypeVar("V")

LAYER_TYPES: dict[str, type[Any]] = {}
"""The project's own module classes by name: the only types ``from_config`` will build."""


def layer_type(cls: C) -> C:
    """Class decorator: register ``cls`` in ``LAYER_TYPES`` under its class name.

    The class must rebuild itself from its ``config()`` with the classmethod ``from_config``
    (every ``nn.Module`` can: ``cls(**config())``, so a class whose constructor takes arguments
    returns them from ``config()``).  A second, different class with the same name is refused,
    so a name in a checkpoint always means one class; the same class defined again (a notebook
    cell run twice: same module, same qualified name) replaces the old definition.
    """
    if not isinstance(cls, type) or not (callable(getattr(cls, "config", None))
                                         and callable(getattr(cls, "from_config", None))):
        raise TypeError(f"layer_type: expected a module class with config() and from_config(), "
                        f"got {cls!r}")
    name = cls.__name__
    known = LAYER_TYPES.get(name)
    redefined = known is not None and (known.__module__, known.__qualname__) == (
        cls.__module__, cls.__qualname__)
    if known is not None and known is not cls and not redefined:
        raise ValueError(f"layer_type: a different class named {name!r} is already registered "
                         f"({known.__module__}.{known.__qualname__}); rename {cls.__qualname__}")
    LAYER_TYPES[name] = cls
    return cls


def from_config(type_name: str, config: Mapping[str, Any]) -> Any:
    """Build a registered module type from its ``config()`` (safe: unknown types are refused)."""
    return _registered(type_name, "from_config").from_config(config)


def parameter_shapes(type_name: str, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The parameter shapes ``from_config(type_name, config)`` would make, without making them
    (None when the class cannot tell)."""
    return _registered(type_name, "parameter_shapes").parameter_shapes(config)


def _registered(type_name: str, fn: str) -> type[Any]:
    if not isinstance(type_name, str) or type_name not in LAYER_TYPES:
        raise ValueError(f"{fn}: unknown module type {type_name!r}; expected one of "
                         f"{sorted(LAYER_TYPES)}")
    return LAYER_TYPES[type_name]


class RegistryView(Mapping[K, V], Generic[K, V]):
    """A read-only table computed from ``LAYER_TYPES`` at every access, so it is never stale.

    ``row(cls)`` gives a registered class's ``(key, value)`` entry, or None to leave it out;
    ``fixed`` entries come first.  Registration order is kept (class definition order).
    """

    def __init__(self, row: Callable[[type[Any]], tuple[K, V] | None],
                 fixed: Mapping[K, V] | None = None) -> None:
        self._row = row
        self._fixed = dict(fixed or {})

    def _table(self) -> dict[K, V]:
        table = dict(self._fixed)
        for cls in LAYER_TYPES.values():
            entry = self._row(cls)
            if entry is not None:
                table[entry[0]] = entry[1]
        return table

    def __getitem__(self, key: K) -> V:
        return self._table()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return repr(self._table())
