"""Composition: ``Sequential`` (data order), ``compose`` (mathematical order) and the pipe ``>>``.

A network is a composition of layer maps; ``Sequential(f, φ, g, φ)`` lists them in data order and
``compose(φ, g, φ, f)`` in mathematical order (φ∘g∘φ∘f), the same network either way, and
``f >> φ >> g`` pipes them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any, overload

import numpy as np

from .layers import Linear
from .module import Module
from .registry import from_config, layer_type, parameter_shapes

__all__ = ["ROLE_LETTERS", "Sequential", "compose"]

ROLE_LETTERS = ("f", "g", "h", "k", "p", "q", "r", "s", "t", "u", "v", "w")
"""Roles Sequential gives its successive affine maps (then "f13", "f14"...): the tutorials' f, g."""


@layer_type
class Sequential(Module):
    """Layers applied in data order: ``Sequential(f, φ, g, φ)(x) = φ(g(φ(f(x))))``.

    Each layer is named f"{Class}[{i}]" by its position i, successive Linear layers get the roles
    "f", "g", "h", "k", "p", "q"... (activations keep "φ", losses "E").  A module therefore
    takes the name and role of the last Sequential it was put in.  A module object listed twice
    (``compose(φ, g, φ, f)`` with one φ) is stored the second time as a shallow copy, so each
    position has its own name; a repeated Linear still shares its weight and bias Values.
    Extra call arguments go to the error function(s):
    ``Sequential(f, φ, MSELoss())(x, target)`` = E(φ(f(x)), target).
    Parameter names are "layers.{i}.weight", "layers.{i}.bias".
    """

    def __init__(self, *layers: Module) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} must be a Module, got "
                                f"{type(layer).__name__} {layer!r}")
        self.layers: list[Module] = []
        for layer in layers:
            self._add(layer)
        self._number()

    def _add(self, layer: Module) -> None:
        """Append ``layer``, or a shallow copy if this object is already in the list."""
        if any(m is layer for m in self.layers):
            layer = copy.copy(layer)
        self.layers.append(layer)

    def _number(self) -> None:
        affine = 0
        for i, layer in enumerate(self.layers):
            layer.name = f"{type(layer).__name__}[{i}]"
            if isinstance(layer, Linear):
                layer.role = (ROLE_LETTERS[affine] if affine < len(ROLE_LETTERS)
                              else f"f{affine + 1}")
                affine += 1

    def forward(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """Apply the layers in order; extra arguments (the target) go to the error functions."""
        target = bool(args or kwargs)
        if target and not any(layer.is_loss for layer in self.layers):
            raise TypeError(f"{self.name}: got extra arguments for an error function, but the "
                            f"Sequential has no loss layer")
        for layer in self.layers:
            if not layer.is_loss:
                x = layer(x)
            elif target:
                x = layer(x, *args, **kwargs)
            else:
                raise TypeError(f"{self.name}: layer {layer.name} is an error function E and "
                                f"needs the target: call the Sequential as model(x, target)")
        return x

    @classmethod
    def pipe(cls, left: Module, right: Module) -> Sequential:
        """``left >> right``: one Sequential of the layers of both.

        A plain Sequential on either side is flattened into its layers, so ``f >> φ >> g`` is
        ``Sequential(f, φ, g)``.
        """
        parts = [list(m.layers) if type(m) is Sequential else [m] for m in (left, right)]
        return cls(*parts[0], *parts[1])

    def __copy__(self) -> Sequential:
        """A shallow copy with its own list of (the same) layers."""
        new = Sequential.__new__(Sequential)
        new.__dict__.update(self.__dict__)
        new.layers = list(self.layers)
        return new

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end (named and given a role like the others); returns self."""
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.append: expected a Module, got {type(layer).__name__}")
        self._add(layer)
        self._number()
        return self

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module:
        """``seq[i]`` is a layer; ``seq[a:b]`` a new Sequential of the same layer objects."""
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"Sequential: index must be an int or a slice, got {index!r}")
        if not -len(self.layers) <= index < len(self.layers):
            raise IndexError(f"Sequential: index {index} is out of range for "
                             f"{len(self.layers)} layers")
        return self.layers[index]

    def config(self) -> dict[str, Any]:
        """``{"layers": [{"type": "Linear", "config": {...}}, ...]}``."""
        return {"layers": [{"type": type(m).__name__, "config": m.config()}
                           for m in self.layers]}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sequential:
        """Rebuild the layers with ``tinygrad_nn.nn.from_config`` (registered types only)."""
        return cls(*[from_config(kind, sub) for kind, sub in _layer_entries(config, "from_config")])

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]] | None:
        """Each layer's parameter shapes under ``layers.{i}.``, or None if a layer cannot tell."""
        shapes: dict[str, tuple[int, ...]] = {}
        for i, (kind, sub) in enumerate(_layer_entries(config, "parameter_shapes")):
            layer = parameter_shapes(kind, sub)
            if layer is None:
                return None
            shapes.update({f"layers.{i}.{name}": shape for name, shape in layer.items()})
        return shapes


def _layer_entries(config: Mapping[str, Any], fn: str) -> list[tuple[str, Any]]:
    """``(type, config)`` of each layer in a Sequential's config, checked for its form."""
    if not isinstance(config, Mapping) or set(config) != {"layers"} \
            or not isinstance(config["layers"], (list, tuple)):
        raise ValueError(f"Sequential.{fn}: expected {{'layers': [...]}}, got {config!r}")
    entries = []
    for i, entry in enumerate(config["layers"]):
        if not isinstance(entry, Mapping) or set(entry) != {"type", "config"}:
            raise ValueError(f"Sequential.{fn}: layer {i} must be "
                             f"{{'type': ..., 'config': {{...}}}}, got {entry!r}")
        entries.append((entry["type"], entry["config"]))
    return entries


def compose(*fns: Module) -> Sequential:
    """Mathematical order: ``compose(φ, g, φ, f)`` = φ∘g∘φ∘f = ``Sequential(f, φ, g, φ)``."""
    for i, fn in enumerate(fns):
        if not isinstance(fn, Module):
            raise TypeError(f"compose: argument {i} must be a Module, got {type(fn).__name__}")
    return Sequential(*reversed(fns))
