"""The ``Optimizer`` base: parameter groups, the checked update loop, and the state as a dict.

The tutorial's update is plain gradient descent, ``W ← W − η ∂E/∂W`` and ``B ← B − η ∂E/∂B``;
with a mean loss the gradient is already averaged over the minibatch ("accumulated ... and
finally divided by the minibatch size"), so ``SGD`` with the defaults is exactly that step.

An optimizer holds ``param_groups``, a list of dicts as in PyTorch: each has ``"params"`` (its
Values) and the optimizer's options (``"lr"``, ``"momentum"``...), so the layers of one model can
train with different options; a group that does not name an option takes the constructor's
(``defaults``).  ``state`` keeps each parameter's buffers (momentum, moments), keyed by the
parameter's position in ``params`` (every group's parameters, in order), and ``state_dict()`` /
``load_state_dict()`` save and restore all of it with PyTorch's layout.

Every optimizer updates ``p.data`` in place and never writes into ``p.grad`` (a gradient array
may be shared).  Parameters whose ``grad`` is None (not reached by the last backward) are
skipped.  ``step()`` checks every gradient (a real number or array of the parameter's shape)
before it touches any parameter, so a bad gradient raises without leaving the model half-updated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..validation import nonnegative_int, real_number, show_value
from ..value import Value

__all__ = ["Optimizer", "ParamsLike", "checked_grad", "grad_data"]

ParamsLike = Iterable[Value] | Iterable[Mapping[str, Any]]
"""What an optimizer takes: Values (e.g. ``model.parameters()``) or parameter-group dicts."""

_SCHEDULER_KEYS = ("initial_lr",)
"""Group keys a learning-rate scheduler adds (its starting lr); kept, checked, saved."""


def grad_data(p: Value) -> Any:
    """The gradient of ``p`` as raw data (a ``create_graph`` Value unwrapped), or None."""
    g = p.grad
    if isinstance(g, Value):
        g = g.data
    return g


def checked_grad(p: Value, i: int, fn: str) -> Any:
    """The gradient of ``p`` (parameter ``i`` of function ``fn``): a real array of its shape.

    A number is accepted for a one-number parameter (and returned as a float).  Anything else
    (a list, a string or complex array, a wrong shape) raises, naming ``fn`` and the parameter.
    """
    g = grad_data(p)
    if isinstance(g, (float, int, np.floating, np.integer)) and not isinstance(
            g, (bool, np.bool_)):
        g = np.asarray(g)
    if not isinstance(g, np.ndarray):
        raise TypeError(f"{fn}: the gradient of {_param_label(i, p)} must be a NumPy array or "
                        f"a number, got {type(g).__name__} {show_value(g)[:60]}")
    if g.dtype.kind not in "fiu":
        raise TypeError(f"{fn}: the gradient of {_param_label(i, p)} must hold real numbers, "
                        f"got dtype {g.dtype}")
    if g.shape != p.shape:
        raise ValueError(f"{fn}: {_param_label(i, p)} has shape {p.shape} but its gradient "
                         f"has shape {g.shape}")
    return g if g.ndim else g.item()


def _subtract(p: Value, delta: Any) -> None:
    """``p.data −= delta``: in place for arrays (the array keeps its identity), new for floats."""
    data = p.data
    if type(data) is np.ndarray:
        data -= delta
        p.data = data                         # stored back: a new version (see Value.data)
    else:
        p.data = float(data - delta)


def _scale(p: Value, factor: float) -> None:
    """``p.data ·= factor``: in place for arrays, new for floats (AdamW's decoupled decay)."""
    data = p.data
    if type(data) is np.ndarray:
        data *= factor
        p.data = data                         # stored back: a new version (see Value.data)
    else:
        p.data = float(data * factor)


def _param_label(i: int, p: Value) -> str:
    """``parameter 3`` or ``parameter 3 ('Linear[2].weight')`` for error messages."""
    return f"parameter {i}" + (f" ({p.name!r})" if p.name else "")


def _listed(items: Any, named: str, fn: str) -> list[Any]:
    """``list(items)``, or a TypeError saying that ``named`` must be an iterable of Values."""
    try:
        return list(items)
    except TypeError:
        raise TypeError(f"{fn}: {named} must be an iterable of Values (e.g. "
                        f"model.parameters()), got {type(items).__name__}") from None


def _option_name(where: str, key: str) -> str:
    """How an error names an option: ``lr`` for the constructor's, ``param_groups[1]['lr']``."""
    return f"{where}[{key!r}]" if where else key


class Optimizer:
    """Base class: parameter groups, ``zero_grad()``, the checked ``step()``, ``state_dict()``.

    A subclass names its per-group options (``option_names``) and the per-parameter state it
    keeps, checks option values in ``_check_options`` and updates one group in ``_update_group``.
    """

    option_names: ClassVar[tuple[str, ...]] = ()
    """The per-group options, in the constructor's order (``lr`` first)."""
    state_counters: ClassVar[tuple[str, ...]] = ()
    """Per-parameter state entries that are step counts (integers), not arrays."""

    def __init__(self, params: ParamsLike, defaults: Mapping[str, Any]) -> None:
        """Check the options (``defaults``) and the parameters, plain or in groups."""
        fn = type(self).__name__
        self.defaults: dict[str, Any] = self._check_options(defaults, fn, "")
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        if isinstance(params, Value):
            raise TypeError(f"{fn}: params must be an iterable of Values (e.g. "
                            f"model.parameters()), got a single Value; wrap it in a list")
        if isinstance(params, (Mapping, str)):
            raise TypeError(f"{fn}: params must be an iterable of Values or of parameter-group "
                            f"dicts, got a single {type(params).__name__}; wrap it in a list")
        items = _listed(params, "params", fn)
        if not items:
            raise ValueError(f"{fn}: got an empty parameter list; pass model.parameters() of a "
                             f"model that has parameters")
        if all(isinstance(item, Mapping) for item in items):
            groups = [(item, f"params[{k}]") for k, item in enumerate(items)]
        elif any(isinstance(item, Mapping) for item in items):
            raise TypeError(f"{fn}: params must be all Values or all parameter-group dicts, "
                            f"not a mix")
        else:
            groups = [({"params": items}, "")]
        checked: list[dict[str, Any]] = []
        seen: set[int] = set()
        for group, where in groups:
            checked.append(self._checked_group(group, fn, where, seen))
        self.param_groups = checked

    # -- groups and options ------------------------------------------------------------------

    @property
    def params(self) -> list[Value]:
        """Every group's parameters in order; a parameter's position is its ``state`` key."""
        return [p for group in self.param_groups for p in group["params"]]

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group ``{"params": [...], option: value, ...}``; missing options are the defaults.

        Everything is checked first: a parameter already in another group, an unknown option
        or a bad value raises and leaves the optimizer as it was.
        """
        fn = f"{type(self).__name__}.add_param_group"
        seen = {id(p) for p in self.params}
        self.param_groups.append(self._checked_group(param_group, fn, "param_group", seen))

    def _checked_group(self, group: Any, fn: str, where: str, seen: set[int]) -> dict[str, Any]:
        """One group as a new dict: its parameters checked and listed once, options completed.

        ``seen`` holds the ids of the parameters of the groups before it (updated here).
        """
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"{fn}: {where or 'a parameter group'} must be a dict with a "
                            f"'params' entry, got {type(group).__name__}")
        named = f"{where}['params']" if where else "params"
        raw = group["params"]
        if isinstance(raw, Value):
            raw = [raw]
        elif isinstance(raw, (set, frozenset)):
            raise TypeError(f"{fn}: {named} must be an ordered sequence (a list), not a set: "
                            f"the order of a set changes from run to run")
        items = _listed(raw, named, fn)
        params: list[Value] = []
        mine: set[int] = set()
        for i, p in enumerate(items):
            if not isinstance(p, Value):
                raise TypeError(f"{fn}: {named}[{i}] must be a Value, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{fn}: {named}[{i}] is computed by an op; only leaf Values "
                                 f"(parameters) can be optimized")
            if id(p) in seen:
                raise ValueError(f"{fn}: {named}[{i}] is already in another parameter group; "
                                 f"a parameter can be in one group only")
            if id(p) not in mine:  # a parameter listed twice in a group is updated once
                mine.add(id(p))
                params.append(p)
        options = self._group_options(group, self.defaults, fn, where)
        seen.update(mine)
        return {"params": params, **options}

    def _group_options(self, group: Mapping[str, Any], base: Mapping[str, Any], fn: str,
                       where: str) -> dict[str, Any]:
        """A group's options: ``base`` overridden by the group's own, all checked.

        Only the optimizer's options, "params" and a scheduler's "initial_lr" may appear.
        """
        known = (*self.option_names, *_SCHEDULER_KEYS, "params")
        unknown = [key for key in group if key not in known]
        if unknown:
            raise ValueError(f"{fn}: {where or 'the group'} has unknown option"
                             f"{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
                             f"; {type(self).__name__} takes {', '.join(self.option_names)}")
        merged = {**base, **{k: v for k, v in group.items() if k != "params"}}
        missing = [name for name in self.option_names if name not in merged]
        if missing:
            raise ValueError(f"{fn}: {where or 'the group'} is missing option"
                             f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        options = self._check_options(merged, fn, where)
        for key in _SCHEDULER_KEYS:
            if key in merged:
                options[key] = real_number(merged[key], _option_name(where, key), fn)
        return options

    def _check_options(self, options: Mapping[str, Any], fn: str, where: str) -> dict[str, Any]:
        """The values of ``option_names`` in ``options``, checked and converted (subclasses)."""
        raise NotImplementedError(f"{type(self).__name__}._check_options: not implemented")

    def _state_keys(self, group: Mapping[str, Any]) -> tuple[str, ...]:
        """The entries a parameter's ``state`` holds under ``group``'s options (subclasses)."""
        raise NotImplementedError(f"{type(self).__name__}._state_keys: not implemented")

    # -- the update ----------------------------------------------------------------------------

    def zero_grad(self) -> None:
        """Reset the gradients ("reset gradient matrices"): ``p.grad = None`` for every param."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient (all are checked first)."""
        grads = self._gradients()
        first = 0
        for group in self.param_groups:
            params = group["params"]
            last = first + len(params)
            self._update_group(group, params, grads[first:last], first)
            first = last

    def _update_group(self, group: dict[str, Any], params: list[Value], grads: list[Any],
                      first: int) -> None:
        """Update ``params`` (``state`` keys ``first``, ``first + 1``...) from checked ``grads``."""
        raise NotImplementedError(f"{type(self).__name__}._update_group: not implemented")

    def update_lines(self, group: Mapping[str, Any]) -> list[str] | None:
        """One parameter's update as lines of a compiled program (``tn.compile(f, optimizer=)``),
        or None: then the program is followed by ``step()``.  The lines run ``_update_group``'s
        NumPy operations in its order on ``p`` (updated in place), ``g`` (read only), ``lr``,
        scratch arrays ``t`` and ``u``, and the parameter's ``state`` entries by key.  The first
        line naming ``u`` writes it; when no later line reads ``g``, ``u`` may be ``g``'s own
        buffer (the program's gradient, scaled in place as a hand-written step does)."""
        return None

    def _gradients(self) -> list[Any]:
        """Each parameter's gradient as raw data of its shape, None where it has none.

        Every gradient is checked here, before ``_update_group`` changes any parameter: the
        common case (a float array of the parameter's shape) is tested inline.
        """
        grads: list[Any] = []
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is not None:
                    data = p.data
                    if type(g) is not np.ndarray or type(data) is not np.ndarray \
                            or g.dtype.kind != "f" or g.shape != data.shape:
                        g = checked_grad(p, len(grads), f"{type(self).__name__}.step")
                grads.append(g)
        return grads

    # -- state -----------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The options and buffers as PyTorch lays them out (copies; changing them changes nothing).

        ``{"state": {i: {name: array or count}}, "param_groups": [{option: value, ...,
        "params": [i, ...]}]}``, where ``i`` is a parameter's position in ``params``.
        """
        groups: list[dict[str, Any]] = []
        first = 0
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = list(range(first, first + len(group["params"])))
            first += len(group["params"])
            groups.append(packed)
        state = {i: {key: np.array(value, copy=True) if isinstance(value, np.ndarray) else value
                     for key, value in entry.items()}
                 for i, entry in sorted(self.state.items())}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore options and buffers saved by ``state_dict()`` (of an optimizer of this type).

        The groups must hold as many parameters as this optimizer's, in the same order, and
        every buffer must have its parameter's shape.  Everything is checked before anything
        changes, so a failed load leaves the optimizer as it was.
        """
        fn = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or set(state_dict) != {"state", "param_groups"}:
            got = sorted(state_dict) if isinstance(state_dict, Mapping) else type(
                state_dict).__name__
            raise TypeError(f"{fn}: expected a dict with the keys 'param_groups' and 'state' "
                            f"(from state_dict()), got {got}")
        saved_groups = state_dict["param_groups"]
        if not isinstance(saved_groups, Sequence) or isinstance(saved_groups, str) \
                or len(saved_groups) != len(self.param_groups):
            count = len(saved_groups) if isinstance(saved_groups, Sequence) else "no list of"
            raise ValueError(f"{fn}: the state has {count} parameter groups, the optimizer "
                             f"{len(self.param_groups)}")
        groups: list[dict[str, Any]] = []
        position: dict[int, int] = {}        # a saved parameter id -> its position in params
        for k, (saved, current) in enumerate(zip(saved_groups, self.param_groups)):
            where = f"param_groups[{k}]"
            ids = saved.get("params") if isinstance(saved, Mapping) else None
            if not isinstance(ids, Sequence) or len(ids) != len(current["params"]):
                raise ValueError(f"{fn}: {where} of the state lists "
                                 f"{len(ids) if isinstance(ids, Sequence) else 'no'} "
                                 f"parameters, the optimizer's {len(current['params'])}")
            for saved_id in ids:
                if isinstance(saved_id, (bool, np.bool_)) or not isinstance(
                        saved_id, (int, np.integer)) or saved_id in position:
                    raise ValueError(f"{fn}: {where}['params'] must be distinct parameter ids "
                                     f"(ints), got {list(ids)!r}")
                position[int(saved_id)] = len(position)
            options = self._group_options(saved, {}, fn, where)
            groups.append({"params": current["params"], **options})
        params = self.params
        group_of = [group for group in groups for _ in group["params"]]
        saved_state = state_dict["state"]
        if not isinstance(saved_state, Mapping):
            raise TypeError(f"{fn}: 'state' must be a dict of parameter id -> buffers, got "
                            f"{type(saved_state).__name__}")
        state: dict[int, dict[str, Any]] = {}
        for saved_id, entry in saved_state.items():
            if saved_id not in position:
                raise ValueError(f"{fn}: the state has buffers for parameter id {saved_id!r}, "
                                 f"which no parameter group lists")
            i = position[saved_id]
            state[i] = self._checked_state(entry, params[i], group_of[i], fn,
                                           f"state[{saved_id!r}]")
        self.param_groups = groups
        self.state = state

    def _checked_state(self, entry: Any, p: Value, group: Mapping[str, Any], fn: str,
                       where: str) -> dict[str, Any]:
        """One parameter's saved buffers, checked against ``p`` and copied in its dtype."""
        keys = self._state_keys(group)
        if not isinstance(entry, Mapping) or set(entry) != set(keys):
            got = sorted(entry) if isinstance(entry, Mapping) else type(entry).__name__
            raise ValueError(f"{fn}: {where} must hold {', '.join(keys)}, got {got}")
        out: dict[str, Any] = {}
        for key in keys:
            value = entry[key]
            if key in self.state_counters:
                out[key] = nonnegative_int(value, f"{where}[{key!r}]", fn)
                continue
            arr = np.asarray(value)
            if arr.dtype.kind not in "fiu" or arr.shape != p.shape:
                raise ValueError(f"{fn}: {where}[{key!r}] must be a real array of the "
                                 f"parameter's shape {p.shape}, got dtype {arr.dtype} shape "
                                 f"{arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{fn}: {where}[{key!r}] holds NaN or infinite values")
            out[key] = arr.astype(p.dtype, copy=True)
        return out

    # -- display -------------------------------------------------------------------------------

    def _options_repr(self, group: Mapping[str, Any]) -> str:
        shown = []
        for name in self.option_names:
            value = group[name]
            if isinstance(value, float):
                shown.append(f"{name}={value:g}")
            elif isinstance(value, tuple):
                shown.append(f"{name}=({', '.join(f'{v:g}' for v in value)})")
            else:
                shown.append(f"{name}={value!r}")
        return ", ".join(shown)

    def __repr__(self) -> str:
        parts = [f"{len(g['params'])} params, {self._options_repr(g)}" for g in self.param_groups]
        if len(parts) == 1:
            return f"{type(self).__name__}({parts[0]})"
        return f"{type(self).__name__}({'; '.join(f'group {k}: {p}' for k, p in enumerate(parts))})"
