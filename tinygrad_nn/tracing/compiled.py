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

import functools
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..context import STATE
from ..errors import TraceError
from ..value import Value, _keep_grad, _leaf
from .codegen import Generated, generate
from .program import Program
from .tracer import Traced, build, skip_update

__all__ = ["Compiled", "compile", "compile_value_and_grad"]


def compile(f: Callable[..., Any], *, check: bool = True,
            cache_size: int = 8) -> Compiled | Callable[..., Any]:
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
        kind, inner, argnums = transformed
        compiled = compile_value_and_grad(inner, argnums, check=check, cache_size=cache_size)
        if kind == "value_and_grad":
            return compiled

        @functools.wraps(inner)
        def grad_f(*args: Any) -> Any:
            return compiled(*args)[1]

        return grad_f
    return Compiled(f, check=bool(check), cache_size=cache_size)


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
    calls: int = 0
    param_specs: list[tuple[Any, ...]] | None = None   # (shape, dtype) of array parameters

    def __post_init__(self) -> None:
        facts = [p.facts for p in self.traced.program.params]
        if facts and all(f is not None and f.kind == "array" for f in facts):
            self.param_specs = [(f.shape, f.dtype) for f in facts]   # type: ignore[union-attr]


class Compiled:
    """A compiled function (see ``compile``).  ``program(*args)`` traces (or finds) the
    program for these arguments without running it."""

    def __init__(self, f: Callable[..., Any], check: bool = True, cache_size: int = 8,
                 wrt: tuple[int, ...] | None = None) -> None:
        self.f = f
        self.check = check
        self.cache_size = cache_size
        self.wrt = wrt
        self.cache: OrderedDict[Any, _Entry] = OrderedDict()
        self.traces = 0
        functools.update_wrapper(self, f)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``f(*args)``, replayed; gradients accumulated into ``.grad`` as ``backward()`` does."""
        if kwargs:
            raise TypeError(f"compile: the compiled function takes positional arguments only, "
                            f"got {sorted(kwargs)}")
        if STATE.anomaly:                     # detect_anomaly checks op by op: run eagerly
            return self._eager(args)
        try:
            outs, grads, entry = self._run(args)
        except (ZeroDivisionError, OverflowError):
            return self._eager(args)          # Python raised where IEEE gives inf/NaN
        program = entry.traced.program
        fresh = entry.generated.fresh
        offset = len(program.outputs)
        for k, ((target, _), g) in enumerate(zip(program.gradients, grads)):
            if g is None:
                continue
            leaf = args[target.index] if target.kind == "arg" else \
                program.param_values[target.index]
            _keep_grad(leaf, g, fresh[offset + k] if fresh else False)
        results = [_leaf(o if fresh and fresh[k] else _copy(o), False, None)
                   for k, o in enumerate(outs)]
        return tuple(results) if program.out_is_tuple else results[0]

    def program(self, *args: Any) -> Program:
        """The program this function runs for ``args`` (traced now if it is not cached)."""
        key, _ = self._key(args)
        entry = self.cache.get(key)
        if entry is None:
            entry = self._trace(args, key)
        return entry.traced.program

    def run(self, args: Sequence[Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The program's raw results for ``args``: ``(outputs, gradients)``, nothing written."""
        outs, grads, entry = self._run(args)
        fresh = entry.generated.fresh
        outs = tuple(o if fresh and fresh[k] else _copy(o) for k, o in enumerate(outs))
        offset = len(outs)
        grads = tuple(g if g is None or (fresh and fresh[offset + k]) else _copy(g)
                      for k, g in enumerate(grads))
        return outs, grads

    # -- the program for these arguments --------------------------------------------------------

    def _run(self, args: Sequence[Any]) -> tuple[Any, Any, _Entry]:
        key, data = self._key(args)
        entry = self.cache.get(key)
        if entry is None:
            entry = self._trace(args, key)
        else:
            self.cache.move_to_end(key)
        program = entry.traced.program
        params = [p.data for p in program.param_values]   # read now: an optimizer changes them
        if entry.param_specs is not None:
            try:
                same = [(d.shape, d.dtype) for d in params] == entry.param_specs
            except AttributeError:            # a parameter became a float
                same = False
            if not same:
                _changed_parameter(program)
        else:
            for p, spec in zip(program.param_values, program.params):
                _param_data(p, spec)
        extra = self._random_and_updates(args, entry)
        entry.calls += 1
        outs, grads = entry.generated.function(*data, *params, *extra)
        return outs, grads, entry

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
        entry = _Entry(traced, generated)
        self.traces += 1
        self.cache[key] = entry
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return entry

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
            f"{_describe(second, k)} now): its Python control flow, or a constant or op "
            f"parameter it computes outside the graph, depends on the data.  A compiled "
            f"function replays the first call's graph; pass such values as arguments, or do "
            f"not compile this function (compile(f, check=False) skips this check)")

    def _eager(self, args: Sequence[Any]) -> Any:
        """The eager engine's call: ``f`` on the arguments, then ``backward()``."""
        values = [a if isinstance(a, Value) else Value(a, requires_grad=False) for a in args]
        result = self.f(*values)
        outputs = list(result) if isinstance(result, tuple) else [result]
        root = outputs[0]
        if self.wrt is None and isinstance(root, Value) and STATE.grad_enabled \
                and root.requires_grad and root.size == 1:
            root.backward()
        return result


def _describe(structure: list[Any], k: int) -> str:
    if k >= len(structure):
        return "nothing"
    item = structure[k]
    if item[0] == "const":
        return "a constant"
    if item[0] in ("arg", "param"):
        return f"{item[0]} {item[1]}"
    return f"op {item[0]!r}"


def _changed_parameter(program: Program) -> None:
    """Raise naming the first parameter whose shape or dtype is not the traced one."""
    for p, spec in zip(program.param_values, program.params):
        _param_data(p, spec)


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
