"""``Module``: a layer as a function that builds graph nodes, plus its parameters and a checkpoint.

A module's parameters are the ``Value`` attributes it holds; its children are the ``Module``
attributes (and lists/tuples of Modules).  Calling a module runs ``forward`` inside
``tinygrad_nn.scope(module.scope_label, module=module)``, so every node it creates knows which
layer of E∘φ∘g∘φ∘f it belongs to (``out.scope.label == "f: Linear[0]"``).

Parameter names (``named_parameters``, ``state_dict``) are dotted attribute paths in attribute
definition order, depth first: ``weight``, ``bias`` for a Linear; ``layers.0.weight``,
``layers.0.bias``, ``layers.2.weight``... for a Sequential (the index is the layer's position).
A Value reachable twice (a shared parameter) is listed once, under its first name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import numpy as np

from ..validation import flag, float_dtype
from ..value import Value, scope
from .registry import LAYER_TYPES

__all__ = ["Module"]

M = TypeVar("M", bound="Module")


def _as_dtype(data: Any, dtype: np.dtype[Any]) -> Any:
    """``data`` in ``dtype``: float64 scalars stay Python floats, arrays are converted (copied)."""
    if data is None or isinstance(data, Value):
        return data
    if type(data) is float and dtype == np.float64:
        return data
    return np.asarray(data).astype(dtype)


class Module:
    """Base class of layers: ``__call__`` runs ``forward`` in the module's scope.

    ``role`` is the letter the tutorials give the map ("f", "g"... for affine maps, "φ" for
    activations, "E" for error functions); ``name`` defaults to the class name ("Linear[0]" once a
    Sequential has numbered it); ``scope_label`` is "role: name" ("f: Linear[0]").
    """

    role: str | None = None
    is_loss: ClassVar[bool] = False
    """True for the error functions E: a Sequential hands them the target, ``model(x, target)``."""
    _name: str | None = None

    # -- identity ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The module's name in graphs and errors ("Linear[0]"); defaults to the class name."""
        return self._name if self._name is not None else type(self).__name__

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise TypeError(f"{type(self).__name__}.name: expected a non-empty string, got "
                            f"{value!r}")
        self._name = value
        self._renamed()

    def _renamed(self) -> None:
        """Hook for subclasses that label their parameters with the module name."""

    @property
    def scope_label(self) -> str:
        """``f"{role}: {name}"`` when a role is set ("φ: Sigmoid[1]"), else just the name."""
        return f"{self.role}: {self.name}" if self.role else self.name

    # -- calling -----------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The map itself; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__}.forward: not implemented")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` inside ``scope(self.scope_label, module=self)``."""
        with scope(self.scope_label, module=self):
            return self.forward(*args, **kwargs)

    def __rshift__(self, other: Module) -> Module:
        """``f >> phi``: the data-order pipe, a Sequential (chains flatten: f >> phi >> g).

        Sequential is built on this class, so it is looked up in the registry it joins
        (``nn/sequential.py``) rather than imported here.
        """
        if not isinstance(other, Module):
            return NotImplemented
        return LAYER_TYPES["Sequential"].pipe(self, other)

    # -- parameters --------------------------------------------------------------------------

    def children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names ("layers.0", "layers.1", ...)."""
        for key, value in vars(self).items():
            if isinstance(value, Module):
                yield key, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{key}.{i}", item

    def named_parameters(self, remove_duplicate: bool = True) -> list[tuple[str, Value]]:
        """``(dotted name, Value)`` for every parameter, depth first in attribute order.

        A Value reachable by several names (a layer used twice) is listed under its first name
        only, unless ``remove_duplicate=False``.
        """
        out: list[tuple[str, Value]] = []
        self._collect("", out, set() if remove_duplicate else None)
        return out

    def _collect(self, prefix: str, out: list[tuple[str, Value]], seen: set[int] | None) -> None:
        for key, value in vars(self).items():
            if isinstance(value, Value):
                if seen is None or id(value) not in seen:
                    if seen is not None:
                        seen.add(id(value))
                    out.append((prefix + key, value))
            elif isinstance(value, Module):
                value._collect(f"{prefix}{key}.", out, seen)
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        item._collect(f"{prefix}{key}.{i}.", out, seen)

    def parameters(self) -> list[Value]:
        """Every parameter Value, in the order of ``named_parameters()``."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Forget every parameter's accumulated gradient (``.grad = None``)."""
        for p in self.parameters():
            p.grad = None

    def num_parameters(self) -> int:
        """How many numbers the parameters hold (weights and biases)."""
        return sum(p.size for p in self.parameters())

    # -- every sub-module or parameter at once -------------------------------------------------

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module ("") and every sub-module, depth first.

        A module reachable twice (a shared layer) is listed once, under its first name.
        """
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            kids = [(f"{name}.{key}" if name else key, child)
                    for key, child in module.children()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module, depth first, each once."""
        for _, module in self.named_modules():
            yield module

    def apply(self: M, fn: Callable[[Module], Any]) -> M:
        """Call ``fn(module)`` on every sub-module (children first), then on this one; return self.

        E.g. ``model.apply(init_weights)`` to re-initialise every Linear the same way.
        """
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}.apply: fn must be a function of a module, "
                            f"got {type(fn).__name__}")
        for _, child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self: M, dtype: Any) -> M:
        """Convert every parameter (and its gradient) to ``dtype``, float32 or float64; return self.

        The parameters stay the same Value objects (an optimizer made before keeps working);
        their ``data`` become new arrays.  One device only: there is nothing else to move to.
        """
        dt = float_dtype(dtype, f"{type(self).__name__}.to")
        converted = [(p, _as_dtype(p.data, dt), _as_dtype(p.grad, dt))
                     for p in self.parameters()]
        for p, data, grad in converted:    # every conversion made before any is kept
            p.data, p.grad = data, grad
        return self

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        """Set ``requires_grad`` on every parameter (False freezes the module); return self."""
        on = flag(requires_grad, "requires_grad", f"{type(self).__name__}.requires_grad_")
        for p in self.parameters():
            p.requires_grad = on
        return self

    # -- checkpoints ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's data by its dotted name (changing it changes nothing)."""
        return {name: np.array(p.data, copy=True) for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy ``state``'s arrays into the parameters, after checking keys, shapes and dtypes.

        Every key must name a parameter and every parameter must be present, with the same shape
        and the same dtype.  Everything is checked before anything is written, so a failed load
        leaves the module unchanged.
        """
        fn = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, Mapping):
            raise TypeError(f"{fn}: expected a mapping of parameter names to arrays, got "
                            f"{type(state).__name__}")
        params = dict(self.named_parameters())
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing parameters {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise ValueError(f"{fn}: {'; '.join(parts)} (the module has parameters "
                           f"{list(params)})")
        arrays: list[tuple[Value, np.ndarray]] = []
        for key, p in params.items():
            given = state[key]
            if isinstance(given, Value):
                given = given.data
            arr = np.asarray(given)
            if arr.shape != tuple(p.shape):
                raise ValueError(f"{fn}: parameter {key!r} has shape {tuple(p.shape)}, but the "
                                 f"state holds shape {arr.shape}")
            if arr.dtype != p.dtype:
                raise ValueError(f"{fn}: parameter {key!r} has dtype {p.dtype}, but the state "
                                 f"holds dtype {arr.dtype}")
            arrays.append((p, arr))
        for p, arr in arrays:
            if type(p.data) is float:
                p.data = float(arr)
            elif isinstance(p.data, np.ndarray) and p.data.flags.writeable:
                data = p.data
                np.copyto(data, arr)
                p.data = data                 # stored back: a new version (see Value.data)
            else:
                p.data = np.array(arr, copy=True)

    def config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments: ``type(self)(**config())`` rebuilds it."""
        return {}

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]] | None:
        """The shapes ``from_config(config)`` would give the parameters, by dotted name, worked out
        without making them (``checkpoint.load`` compares them with the file first); None when
        the class cannot tell, as here: a subclass with parameters overrides it."""
        return None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        """Build the module from ``config()``'s output (parameters come from a state dict)."""
        if not isinstance(config, Mapping):
            raise TypeError(f"{cls.__name__}.from_config: expected a dict, got "
                            f"{type(config).__name__}")
        try:
            return cls(**config)
        except TypeError as exc:
            raise ValueError(f"{cls.__name__}.from_config: invalid config {dict(config)!r}: "
                             f"{exc}") from None

    # -- display -------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The constructor arguments shown inside the parentheses of ``repr``."""
        return ""

    def __repr__(self) -> str:
        kids = list(self.children())
        if not kids:
            return f"{self.scope_label}({self.extra_repr()})"
        lines = [f"{self.scope_label}("]
        for _, child in kids:
            lines.extend("  " + line for line in repr(child).splitlines())
        lines.append(")")
        return "\n".join(lines)
