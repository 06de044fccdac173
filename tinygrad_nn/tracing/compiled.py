"""``compile``: a function replayed from its traced program, with its backward pass fused in.

``step = tn.compile(f)`` calls like ``f``, and each call does what ``f(...)`` followed by
``E.backward()`` does in the eager engine: it returns ``f``'s results and accumulates the
gradients of the parameters (and of the argument Values that require grad) into their ``.grad``
— but by running the program traced for these argument shapes, without making a Value per op.
The results are constants (the backward pass has already run).  The numbers are the eager
engine's, bit for bit: the program runs the same NumPy operations (``codegen.py``).

As in JAX, Python control flow is fixed when the function is traced: the branch taken on the
example is the branch replayed.  On the second call with the same shapes the function runs
eagerly once more and its graph is compared with the traced one; a difference (a branch or a
constant that depends on the data) raises ``TraceError``.  A new shape or dtype of an argument,
or a call under ``no_grad()``, traces again (a small cache holds the programs).
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..context import STATE
from ..errors import TraceError
from ..value import Value, _keep_grad, _leaf, _stamp_written
from .codegen import Generated, Update, _names_in, generate, generate_update
from .guards import Guards, rebind, write_guards
from .program import Program
from .tracer import Traced, build, skip_update

__all__ = ["Compiled", "compile", "compile_value_and_grad"]


def compile(f: Callable[..., Any], *, check: bool = True, cache_size: int = 8,
            optimizer: Any = None) -> Compiled | Callable[..., Any]:
    """``f`` compiled: each call replays its traced forward and backward pass as one function.

    ``f`` takes Values (numbers and arrays are accepted and wrapped) and returns a Value or a
    tuple of Values.  Calling the result returns the same values as constants and, when the
    (first) result is a scalar that requires grad, accumulates ∂E/∂p into ``p.grad`` for every
    parameter ``p`` (a leaf Value that requires grad, which ``f`` closes over) and every
    argument Value that requires grad, as ``E.backward()`` would.  Parameters are read at every
    call (an optimizer may change them); other Values ``f`` closes over are constants of the
    program, captured when it is traced.  ``check`` compares the graph of the second call with
    the traced one (see the module docstring); ``cache_size`` programs are kept, one per
    combination of argument shapes, dtypes and ``no_grad()``.

    ``optimizer`` makes it a training step: each call also does ``optimizer.step()`` and
    ``zero_grad()``, bit for bit, with ``SGD``'s update written into the program (in place, no
    ``.grad`` kept); no update when E or a gradient is not finite (``updated`` says which).
    See "the chain rule as a program" for when a call takes the plain path instead.

    ``compile(tn.value_and_grad(f, argnums))`` and ``compile(tn.grad(f, argnums))`` compile the
    transform itself (``compile_value_and_grad``): numbers and arrays in, the value and the
    gradients out, no ``.grad`` written, as the transform does eagerly.
    """
    if not callable(f):
        raise TypeError(f"compile: expected a function, got {type(f).__name__} {f!r}")
    if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
        raise ValueError(f"compile: cache_size must be a positive integer, got {cache_size!r}")
    transformed = getattr(f, "transformed", None)       # set by tn.value_and_grad and tn.grad
    if transformed is not None:
        if optimizer is not None:
            raise TypeError("compile: optimizer= compiles a training step of a function that "
                            "returns E; a transform returns gradients, which it does not apply")
        kind, inner, argnums = transformed
        compiled = compile_value_and_grad(inner, argnums, check=check, cache_size=cache_size)
        if kind == "value_and_grad":
            return compiled

        @functools.wraps(inner)
        def grad_f(*args: Any) -> Any:
            return compiled(*args)[1]

        return grad_f
    if optimizer is not None and not (callable(getattr(optimizer, "step", None)) and
                                      callable(getattr(optimizer, "zero_grad", None)) and
                                      isinstance(getattr(optimizer, "param_groups", None), list)):
        raise TypeError(f"compile: optimizer must be an optimizer (with param_groups, step() "
                        f"and zero_grad()), got {type(optimizer).__name__}")
    return Compiled(f, check=bool(check), cache_size=cache_size, optimizer=optimizer)


def compile_value_and_grad(f: Callable[..., Any], argnums: int | tuple[int, ...] = 0,
                           *, check: bool = True, cache_size: int = 8
                           ) -> Callable[..., tuple[Any, Any]]:
    """The compiled form of the transform ``value_and_grad(f, argnums)``: numbers and arrays in,
    ``(f(*args), ∂f/∂args[argnums])`` out as a float or arrays, no ``.grad`` written anywhere.

    ``f`` must return a scalar.  The program differentiates the chosen arguments only (the
    parameters ``f`` closes over are read, not differentiated).
    """
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums or not all(isinstance(i, int) and not isinstance(i, bool) for i in nums):
        raise TypeError(f"compile_value_and_grad: argnums must be an int or a tuple of ints, "
                        f"got {argnums!r}")
    compiled = Compiled(f, check=check, cache_size=cache_size, wrt=nums)

    @functools.wraps(f)
    def value_and_grad_f(*args: Any) -> tuple[Any, Any]:
        for i in nums:
            if not -len(args) <= i < len(args):
                raise ValueError(f"compile_value_and_grad: argnums {i} is out of range for "
                                 f"{len(args)} arguments")
        outs, grads = compiled.run(args)
        value = outs[0]
        if np.size(value) != 1:
            raise ValueError(f"compile_value_and_grad: f must return a scalar, got shape "
                             f"{np.shape(value)}")
        results = tuple(_zeros_if_none(g, args[i]) for g, i in zip(grads, nums))
        return value, results[0] if isinstance(argnums, int) else results

    return value_and_grad_f


@dataclass
class _Entry:
    """One cached program: for one combination of argument shapes and dtypes."""

    traced: Traced
    generated: Generated
    arguments: list[tuple[bool, Any]]         # per argument: requires grad?, (shape, dtype)
    grad_enabled: bool
    calls: int = 0
    takes_masks_or_updates: bool = False      # each call hands it new random masks, updates
    param_data: list[Any] = field(default_factory=list)   # the parameters' arrays last seen
    step: _Step | None = None                 # the program with the optimizer's update
    bound: _Bound | None = None               # the step's steady state, once it has one

    def data_of(self, args: Sequence[Any]) -> list[Any] | None:
        """The arguments' data if they are of the kinds, shapes and dtypes this program was
        traced for (and gradients are recorded as then), else None."""
        if len(args) != len(self.arguments) or STATE.grad_enabled != self.grad_enabled:
            return None
        data = []
        for arg, (requires_grad, spec) in zip(args, self.arguments):
            d = arg
            if type(d) is np.ndarray:         # the common case first: a plain array
                if requires_grad:
                    return None
            elif isinstance(d, Value):
                if d.requires_grad is not requires_grad:
                    return None
                d = d._data
            elif requires_grad:
                return None
            if type(d) is np.ndarray:
                if spec is None or d.shape != spec[0] or d.dtype is not spec[1]:
                    return None               # (a dtype equal but not identical: the long way)
            elif type(d) is not float or spec is not None:
                return None
            data.append(d)
        return data

    def parameters(self) -> list[Any]:
        """The parameters' data, read now (an optimizer changes them), checked against the
        traced shapes and dtypes whenever an array is not the one of the last call."""
        data = list(map(_data, self.traced.program.param_values))
        if len(data) != len(self.param_data) or not all(map(operator.is_, data,
                                                            self.param_data)):
            program = self.traced.program
            for p, spec in zip(program.param_values, program.params):
                _param_data(p, spec)
            self.param_data = data
        return data


@dataclass
class _Step:
    """A program with an optimizer's update written in (``codegen.generate_update``), and what
    a call must hand it: the groups' learning rates and the parameters' state arrays."""

    generated: Generated | None               # None: this program cannot hold the update
    optimizer: Any
    options_of: Callable[[dict[str, Any]], Any]   # a group's options but its rate
    options: list[Any]                        # each group's options then
    params: list[Value]                       # the optimizer's parameters then
    sizes: list[int]                          # how many of them each group had
    state: list[tuple[int, str]] = field(default_factory=list)   # (position, key) per argument
    updated: list[Value] = field(default_factory=list)   # the parameters updated in place
    rate_groups: list[int] = field(default_factory=list)

    def still_fits(self) -> bool:
        """True while the optimizer's groups, their parameters and options are those the
        update was written for (a learning rate may change: it is read at every call)."""
        groups = self.optimizer.param_groups
        if [len(group["params"]) for group in groups] != self.sizes:    # groups, or members
            return False
        members = (p for group in groups for p in group["params"])
        if not all(map(operator.is_, members, self.params)):
            return False                      # a parameter put in another's place
        # Compared at every call: a user may assign group["momentum"] at any time.
        return list(map(self.options_of, groups)) == self.options

    def extra_arguments(self) -> list[Any] | None:
        """The learning rates and state arrays of this call (None: a state array is missing,
        as before momentum's first step, or a parameter has a ``.grad`` to add)."""
        for p in self.params:
            if p.grad is not None:
                return None
        groups, state = self.optimizer.param_groups, self.optimizer.state
        rates = [groups[j]["lr"] for j in self.rate_groups]
        if not self.state:
            return rates
        try:
            return [*rates, *(state[i][key] for i, key in self.state)]
        except KeyError:
            return None


@dataclass
class _Bound:
    """A training step bound to its program: what a call works out the long way — which
    program the arguments fit, the parameters' arrays, the optimizer's options — kept from
    the last call that updated, so that the next call only checks that nothing changed, one
    cheap test each (its ``guards``, written out for this step: ``guards.py``), before handing
    its arguments to the program.

    Each cached program keeps its own: a call the last one's guards refuse tries the other
    bound programs' guards (``Compiled._other_bound``: a last, smaller minibatch, then the
    full ones again).  Anything none can vouch for sends the call the long way
    (``Compiled._arguments``), which binds again after its update: an argument that is not a
    NumPy array of the traced shape and dtype, ``no_grad()``, a parameter whose array was
    replaced (its shape is checked then), a ``.grad`` to add to, other optimizer options or
    groups, a state array missing.
    The learning rates and the state arrays are read at every call, as the long way does."""

    generated: Generated                      # the step's program (with the update)
    arguments: Guards                         # this call's arguments for it, or None
    source: str                               # the guards' source

    @classmethod
    def of(cls, entry: _Entry, args: Sequence[Any]) -> _Bound | None:
        """The steady state after a call that updated: the entry's guards, written once,
        bound to this call's parameters' arrays (None before the second call has checked the
        graph, or while the entry has none and the arguments are not all plain arrays)."""
        step = entry.step
        if step is None or step.generated is None or entry.calls < 2:
            return None
        if not all(type(arg) is np.ndarray for arg in args):
            return entry.bound                # (its guards refuse such arguments)
        if entry.bound is not None:           # the same program and update: the arrays change
            rebind(entry.bound.arguments, args, entry.param_data)
            return entry.bound
        program = entry.traced.program
        source, arguments = write_guards(
            [(arg.shape, arg.dtype) for arg in args], program.param_values, entry.param_data,
            step.optimizer, step.params, step.sizes, step.options_of, step.options,
            step.rate_groups, step.state, program.random_draws, program.update_functions)
        return cls(step.generated, arguments, source)


class Compiled:
    """A compiled function (see ``compile``).  ``program(*args)`` traces (or finds) the
    program for these arguments without running it."""

    def __init__(self, f: Callable[..., Any], check: bool = True, cache_size: int = 8,
                 wrt: tuple[int, ...] | None = None, optimizer: Any = None) -> None:
        self.f = f
        self.check = check
        self.cache_size = cache_size
        self.wrt = wrt
        self.optimizer = optimizer
        self.updated = False                  # the last call applied the optimizer's update
        self.cache: OrderedDict[Any, _Entry] = OrderedDict()
        self.traces = 0
        self._last: _Entry | None = None      # the entry the last call ran: tried first
        functools.update_wrapper(self, f)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``f(*args)``, replayed; gradients accumulated into ``.grad`` as ``backward()`` does,
        or, with an optimizer, its update applied."""
        if kwargs:
            raise TypeError(f"compile: the compiled function takes positional arguments only, "
                            f"got {sorted(kwargs)}")
        return self._replay(args, True)

    def call_data(self, *args: Any) -> Any:
        """A call as ``compiled(*args)`` makes it, returning its results' data (arrays and
        floats) instead of Values: for a loop that only reads the numbers, as ``fit`` does."""
        return self._replay(args, False)

    def _replay(self, args: Sequence[Any], as_values: bool) -> Any:
        """The call: the program for these arguments replayed (or ``f`` run eagerly), its
        results as constant Values or as their data."""
        self.updated = False
        if STATE.anomaly:                     # detect_anomaly checks op by op: run eagerly
            return self._eager(args, as_values)
        entry = self._last
        bound = entry.bound if entry is not None else None
        arguments = bound.arguments(args) if bound is not None else None
        if arguments is None:
            entry, arguments = self._other_bound(args)
        if arguments is None:
            entry, generated, arguments = self._arguments(args)
            steady = False
        else:                                 # nothing changed since its last call: no lookup
            assert entry is not None and entry.bound is not None
            generated, steady = entry.bound.generated, True
        step = entry.step
        try:
            outs, grads = generated.function(*arguments)
        except (ZeroDivisionError, OverflowError):
            return self._eager(args, as_values)     # Python raised where IEEE gives inf/NaN
        program = entry.traced.program
        if step is not None and generated is step.generated:
            if grads is None:                 # updated in place: stamp the new versions
                _stamp_written(step.updated)
                self.updated = True
                if not steady:                # the steady state from the next call on
                    entry.bound = _Bound.of(entry, args)
                return self._results(program, generated, outs, as_values)
            fresh: tuple[bool, ...] = ()      # not finite: the gradients go to .grad instead
        else:
            fresh = generated.fresh
        offset = len(program.outputs)
        for k, ((target, _), g) in enumerate(zip(program.gradients, grads)):
            if g is None:
                continue
            leaf = args[target.index] if target.kind == "arg" else \
                program.param_values[target.index]
            _keep_grad(leaf, g, fresh[offset + k] if fresh else False)
        if self.optimizer is not None and program.root is not None:
            self._step_eagerly(outs[0], grads)
        return self._results(program, entry.generated, outs, as_values)

    def program(self, *args: Any) -> Program:
        """The program this function runs for ``args`` (traced now if it is not cached)."""
        key, _ = self._key(args)
        entry = self.cache.get(key)
        if entry is None:
            entry = self._trace(args, key)
        if entry.step is not None and entry.step.generated is not None:
            return dataclasses.replace(entry.traced.program, generated=entry.step.generated)
        return entry.traced.program

    def run(self, args: Sequence[Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The program's raw results for ``args``: ``(outputs, gradients)``, nothing written."""
        entry, data = self._entry(args)
        params = entry.parameters()
        drawn = self._random_and_updates(args, entry)
        entry.calls += 1
        outs, grads = entry.generated.function(*data, *params, *drawn)
        fresh = entry.generated.fresh
        outs = tuple(o if fresh and fresh[k] else _copy(o) for k, o in enumerate(outs))
        offset = len(outs)
        grads = tuple(g if g is None or (fresh and fresh[offset + k]) else _copy(g)
                      for k, g in enumerate(grads))
        return outs, grads

    # -- the program for these arguments --------------------------------------------------------

    def _other_bound(self, args: Sequence[Any]) -> tuple[_Entry | None, list[Any] | None]:
        """Another cached program in the steady state whose guards pass these arguments (a
        loop's last, smaller minibatch, then the full ones again), made the last one; else the
        last entry and None."""
        for key, entry in self.cache.items():
            if entry is not self._last and entry.bound is not None:
                arguments = entry.bound.arguments(args)
                if arguments is not None:
                    self.cache.move_to_end(key)
                    self._last = entry
                    return entry, arguments
        return self._last, None

    def _arguments(self, args: Sequence[Any]) -> tuple[_Entry, Generated, list[Any]]:
        """The long way to the program for these arguments and what it takes: the cached entry
        (traced now if new, or again if the optimizer's options changed), the parameters'
        arrays checked, this call's masks and state updates, the update's rates and state."""
        entry, data = self._entry(args)
        step = entry.step
        if step is not None and not step.still_fits():     # groups, members, options changed
            entry = self._last = self._trace(args, self._key(args)[0])
            step = entry.step
        params = entry.parameters()
        # From the third call on, a program without masks or updates takes no such arguments.
        drawn = (self._random_and_updates(args, entry)
                 if entry.takes_masks_or_updates or entry.calls < 2 else ())
        entry.calls += 1
        extra = step.extra_arguments() if step is not None and step.generated else None
        if extra is not None:
            assert step is not None and step.generated is not None
            return entry, step.generated, [*data, *params, *drawn, *extra]
        return entry, entry.generated, [*data, *params, *drawn]

    def _entry(self, args: Sequence[Any]) -> tuple[_Entry, list[Any]]:
        """The program for these arguments (the last call's, if they fit it) and their data."""
        entry = self._last
        data = entry.data_of(args) if entry is not None else None
        if entry is None or data is None:
            key, data = self._key(args)
            entry = self.cache.get(key)
            if entry is None:
                entry = self._trace(args, key)
            else:
                self.cache.move_to_end(key)
            self._last = entry
        return entry, data

    def _random_and_updates(self, args: Sequence[Any], entry: _Entry) -> list[Any]:
        """This call's random constants (dropout masks) and state updates (BatchNorm's running
        statistics), as a call of ``f`` makes them: the first call takes the masks its trace
        drew, the second those of the check's run of ``f``, and both skip the updates those
        runs of ``f`` made already; every later call draws new masks and makes the updates."""
        traced = entry.traced
        if entry.calls == 1 and self.check:
            traced = self._check_same_graph(args, entry)
        elif entry.calls != 0:
            program = traced.program
            return [*(draw() for draw in program.random_draws), *program.update_functions]
        program = traced.program
        return [*(traced.values[r] for r in program.randoms),
                *(skip_update for _ in program.updates)]

    def _key(self, args: Sequence[Any]) -> tuple[Any, list[Any]]:
        """The cache key of these arguments (kinds, shapes, dtypes, which require grad, and
        whether gradients are recorded), and their data."""
        data = []
        key: list[Any] = [STATE.grad_enabled]
        for i, arg in enumerate(args):
            if isinstance(arg, Value):
                d = arg.data
                key.append(arg.requires_grad)
            else:
                d = arg if type(arg) is float or type(arg) is np.ndarray else _as_data(arg, i)
                key.append(False)
            if type(d) is np.ndarray:
                if d.dtype != np.float64 and d.dtype != np.float32:
                    d = _as_data(d, i)
                key.append((d.shape, d.dtype))
            else:
                key.append(None)
            data.append(d)
        return tuple(key), data

    def _trace(self, args: Sequence[Any], key: Any) -> _Entry:
        backward = bool(STATE.grad_enabled)
        traced = build(self.f, args, "compile", backward=backward, wrt=self.wrt)
        generated = generate(traced.program, traced.values, buffers=True)
        traced.program.generated = generated
        arguments = list(zip(key[1::2], key[2::2]))     # (requires grad?, shape and dtype)
        program = traced.program
        entry = _Entry(traced, generated, arguments, bool(STATE.grad_enabled),
                       takes_masks_or_updates=bool(program.randoms or program.updates))
        if self.optimizer is not None:
            entry.step = _write_step(traced, generated, self.optimizer)
        self.traces += 1
        self.cache[key] = entry
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return entry

    def _step_eagerly(self, loss: Any, grads: Sequence[Any]) -> None:
        """The optimizer's ``step()`` and ``zero_grad()`` after a call that wrote ``.grad``; not
        when E or a gradient is not finite (the ``.grad`` are left to be looked at)."""
        if not _finite([loss, *(g for g in grads if g is not None)]):
            return
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.updated = True

    @staticmethod
    def _results(program: Program, generated: Generated, outs: Sequence[Any],
                 as_values: bool) -> Any:
        """The outputs (copied unless this call made them), as constant Values or as they are."""
        fresh = generated.fresh
        if not program.out_is_tuple:          # one output (E): no list to build
            out = outs[0] if fresh and fresh[0] else _copy(outs[0])
            return _leaf(out, False, None) if as_values else out
        owned = [o if fresh and fresh[k] else _copy(o) for k, o in enumerate(outs)]
        return tuple([_leaf(o, False, None) for o in owned] if as_values else owned)

    def _check_same_graph(self, args: Sequence[Any], entry: _Entry) -> Traced:
        """The second call: trace again and compare the graphs (branches, constants, params)."""
        again = build(self.f, args, "compile", backward=False, wrt=self.wrt)
        first, second = entry.traced.structure, again.structure
        if first == second:
            return again
        k = next((i for i, (a, b) in enumerate(zip(first, second)) if a != b),
                 min(len(first), len(second)))
        raise TraceError(
            f"compile: {getattr(self.f, '__name__', 'the function')} built a different graph "
            f"on its second call (node {k}: {_describe(first, k)} before, "
            f"{_describe(second, k)} now{_same_op_note(first, second, k)}): its Python "
            f"control flow, or a constant or op "
            f"parameter it computes outside the graph, depends on the data.  A compiled "
            f"function replays the first call's graph; pass such values as arguments, or do "
            f"not compile this function (compile(f, check=False) skips this check)")

    def _eager(self, args: Sequence[Any], as_values: bool) -> Any:
        """The eager engine's call: ``f`` on the arguments, then ``backward()``; its results
        as ``f`` returned them, or their data."""
        values = [a if isinstance(a, Value) else Value(a, requires_grad=False) for a in args]
        result = self.f(*values)
        outputs = list(result) if isinstance(result, tuple) else [result]
        root = outputs[0]
        if self.wrt is None and isinstance(root, Value) and STATE.grad_enabled \
                and root.requires_grad and root.size == 1:
            root.backward()
            if self.optimizer is not None:
                self.optimizer.step()
                self.optimizer.zero_grad()
                self.updated = True
        if as_values:
            return result
        data = [v.data if isinstance(v, Value) else v for v in outputs]
        return tuple(data) if isinstance(result, tuple) else data[0]


_UPDATE_NAMES = {"p", "g", "lr", "t", "u", "np", "math"}


def _write_step(traced: Traced, generated: Generated, optimizer: Any) -> _Step:
    """The program with ``optimizer``'s update written in, when it can hold it: every gradient
    the program computes is that of an array parameter the optimizer updates, in its dtype,
    and the optimizer writes its update as lines (``update_lines``).  Otherwise the step has
    no program, and each call writes ``.grad`` and calls ``optimizer.step()``."""
    program = traced.program
    groups = optimizer.param_groups
    params = [p for group in groups for p in group["params"]]
    options_of = _options_getter(optimizer)
    cannot = _Step(None, optimizer, options_of, list(map(options_of, groups)), params,
                   [len(group["params"]) for group in groups])
    write = getattr(optimizer, "update_lines", None)
    if program.root is None or not callable(write):
        return cannot
    position = {id(p): i for i, p in enumerate(params)}
    group_of = [j for j, group in enumerate(groups) for _ in group["params"]]
    lines: dict[int, list[str]] = {}
    group: dict[int, int] = {}
    state: dict[int, dict[str, np.ndarray]] = {}
    updated: list[tuple[int, Value]] = []
    for k, (target, gradient) in enumerate(program.gradients):
        if target.kind != "param":
            return cannot                     # an argument's gradient: it goes to .grad
        p = program.param_values[target.index]
        if id(p) not in position:
            return cannot                     # a parameter the optimizer does not update
        if gradient is None:
            continue                          # no gradient reaches it: step() skips it too
        facts = target.facts
        if facts is None or facts.kind != "array" or gradient.facts is not facts:
            return cannot                     # a float, or a gradient step() would convert
        i = position[id(p)]
        code = write(groups[group_of[i]])
        if code is None:
            return cannot
        keys = sorted(set().union(*map(_names_in, code)) - _UPDATE_NAMES)
        saved = optimizer.state.get(i, {})
        lines[k], group[k] = code, group_of[i]
        state[k] = {key: saved.get(key, np.zeros(facts.shape, facts.dtype)) for key in keys}
        updated.append((i, p))
    if not lines:
        return cannot
    rates = {j: groups[j]["lr"] for j in set(group.values())}
    update = Update(lines, group, rates, state)
    step_program = generate_update(program, traced.values, update, generated.called)
    index_of = {k: position[id(program.param_values[program.gradients[k][0].index])]
                for k in lines}
    return dataclasses.replace(
        cannot, generated=step_program,
        state=[(index_of[k], key) for k, key in update.state_arguments],
        updated=[p for _, p in sorted(updated, key=operator.itemgetter(0))],
        rate_groups=update.rate_groups)


def _options_getter(optimizer: Any) -> Callable[[dict[str, Any]], Any]:
    """A function giving a group's options but its learning rate (which a compiled step reads
    at every call)."""
    names = [name for name in getattr(optimizer, "option_names", ()) if name != "lr"]
    return operator.itemgetter(*names) if names else lambda group: ()


_data = operator.attrgetter("_data")         # Value.data without the property's call


def _finite(values: Sequence[Any]) -> bool:
    """True when every number in ``values`` (floats and arrays) is finite."""
    return all(bool(np.isfinite(v).all()) for v in values)


def _describe(structure: list[Any], k: int) -> str:
    if k >= len(structure):
        return "nothing"
    item = structure[k]
    if item[0] == "const":
        return "a constant"
    if item[0] in ("arg", "param"):
        return f"{item[0]} {item[1]}"
    return f"op {item[0]!r}"


def _same_op_note(first: list[Any], second: list[Any], k: int) -> str:
    """", the same op with other parameters" where node ``k`` is one op both times, fed the same
    way (e.g. cross_entropy's target rows, computed outside the graph), else nothing."""
    if k >= min(len(first), len(second)) or first[k][0] in ("const", "arg", "param"):
        return ""
    a, b = first[k], second[k]
    return ", the same op with other parameters" if a[:2] == b[:2] else ""


def _param_data(param: Value, spec: Any) -> Any:
    """A parameter's data, read now, checked against the traced kind and shape."""
    data = param.data
    facts = spec.facts
    if facts is None:
        return data
    if facts.kind == "array":
        same = type(data) is np.ndarray and data.shape == facts.shape and \
            data.dtype == facts.dtype
    else:
        same = type(data) is float
    if not same:
        raise TraceError(f"compile: parameter {param.name or spec.name} changed its shape or "
                         f"dtype since the function was traced (now "
                         f"{np.shape(data)} {np.asarray(data).dtype}); compile it again")
    return data


def _as_data(arg: Any, i: int) -> Any:
    try:
        return Value(arg, requires_grad=False).data
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"compile: argument {i}: {exc}") from None


def _copy(value: Any) -> Any:
    return np.array(value) if isinstance(value, np.ndarray) else value


def _zeros_if_none(g: Any, arg: Any) -> Any:
    if g is not None:
        return g
    data = arg.data if isinstance(arg, Value) else arg
    return 0.0 if isinstance(data, (float, int)) else np.zeros(np.shape(data))
