"""The guards of a compiled training step in its steady state: a call's checks, written out.

From the third call on, a training step (``tn.compile(f, optimizer=...)``) is bound to its
program (``compiled._Bound``): the next call has only to check that nothing the long way worked
out has changed since — the arguments' kinds, shapes and dtypes, the parameters' arrays, no
``.grad`` to add to, the optimizer's groups, options and parameters (each in its place: one
added, taken out or replaced is noticed), its state arrays — and can then hand its arrays
straight to the program.  Like ``torch.compile``'s guards, those checks are written
out for the step at hand as one small function, one test per argument, parameter and option,
with no loop and no lookup.  For ``f(x, y)`` with two parameters and plain SGD::

    def arguments(args):
        if len(args) != 2 or not STATE.grad_enabled:
            return None
        a0, a1 = args
        if type(a0) is not ndarray or a0.shape != shape0 or a0.dtype is not dtype0:
            return None
        if type(a1) is not ndarray or a1.shape != shape1 or a1.dtype is not dtype1:
            return None
        if p0._data is not array0 or p1._data is not array1:  # an array replaced
            return None
        if q0.grad is not None or q1.grad is not None:  # a .grad to add to
            return None
        groups = optimizer.param_groups
        if len(groups) != 1 or options_of(groups[0]) != options0:  # other groups or options
            return None
        members0 = groups[0]['params']
        if len(members0) != 2 or members0[0] is not q0 or members0[1] is not q1:  # moved parameters
            return None
        return [a0, a1, array0, array1, groups[0]['lr']]

(``p0``, ``p1``: the program's parameters, ``array0``, ``array1`` their arrays when bound,
``q0``, ``q1`` the optimizer's parameters, here the same two.)  ``None`` sends the call the
long way (``Compiled._arguments``), which binds again after its update.  The learning rates
and the state arrays are read at every call, as the long way reads them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..context import STATE

__all__ = ["Guards", "rebind", "write_guards"]

Guards = Callable[[Sequence[Any]], "list[Any] | None"]
"""A bound step's checks: the program's arguments for this call, or None if anything changed."""


def write_guards(specs: Sequence[tuple[tuple[int, ...], np.dtype[Any]]], params: Sequence[Any],
                 arrays: Sequence[Any], optimizer: Any, optimizer_params: Sequence[Any],
                 sizes: Sequence[int], options_of: Callable[[dict[str, Any]], Any],
                 options: Sequence[Any], rate_groups: Sequence[int],
                 state: Sequence[tuple[int, str]], draws: Sequence[Callable[[], Any]],
                 updates: Sequence[Any]) -> tuple[str, Guards]:
    """The source and the function of a bound step's checks (see the module's docstring).

    ``specs``: each argument's (shape, dtype); ``params`` and ``arrays``: the program's
    parameters and their arrays now; ``optimizer_params``: every parameter of the optimizer,
    group after group, ``sizes`` of each group (each in its place, none with a ``.grad``);
    ``options``: each group's ``options_of(group)`` now;
    ``rate_groups`` and ``state``: the groups whose rates and the (position, key) of the
    state arrays the program takes; ``draws`` and ``updates``: its masks to draw and its
    state updates, in the program's order."""
    namespace: dict[str, Any] = {"STATE": STATE, "ndarray": np.ndarray, "optimizer": optimizer,
                                 "options_of": options_of}
    lines = ["def arguments(args):"]

    def refuse_if(tests: Sequence[str], why: str = "") -> None:
        if tests:
            comment = f"  # {why}" if why else ""
            lines.append(f"    if {' or '.join(tests)}:{comment}")
            lines.append("        return None")

    refuse_if([f"len(args) != {len(specs)}", "not STATE.grad_enabled"])
    names = [f"a{i}" for i in range(len(specs))]
    if names:
        lines.append(f"    {', '.join(names)}{',' if len(names) == 1 else ''} = args")
    for i, (shape, dtype) in enumerate(specs):
        namespace[f"shape{i}"], namespace[f"dtype{i}"] = shape, dtype
        refuse_if([f"type(a{i}) is not ndarray", f"a{i}.shape != shape{i}",
                   f"a{i}.dtype is not dtype{i}"])
    for i, (p, array) in enumerate(zip(params, arrays, strict=True)):
        namespace[f"p{i}"], namespace[f"array{i}"] = p, array
    refuse_if([f"p{i}._data is not array{i}" for i in range(len(params))],
              "an array replaced")
    for i, q in enumerate(optimizer_params):
        namespace[f"q{i}"] = q
    refuse_if([f"q{i}.grad is not None" for i in range(len(optimizer_params))],
              "a .grad to add to")
    lines.append("    groups = optimizer.param_groups")
    for j, option in enumerate(options):
        namespace[f"options{j}"] = option
    refuse_if([f"len(groups) != {len(options)}",
               *(f"options_of(groups[{j}]) != options{j}" for j in range(len(options)))],
              "other groups or options")
    members = []                              # each parameter in its place in its group
    first = 0
    for j, size in enumerate(sizes):
        lines.append(f"    members{j} = groups[{j}]['params']")
        members += [f"len(members{j}) != {size}",
                    *(f"members{j}[{m}] is not q{first + m}" for m in range(size))]
        first += size
    refuse_if(members, "moved parameters")
    if state:
        lines += ["    state = optimizer.state", "    try:"]
        lines += [f"        state{n} = state[{i}][{key!r}]" for n, (i, key) in enumerate(state)]
        lines += ["    except KeyError:", "        return None  # a state array missing"]
    for i, draw in enumerate(draws):
        namespace[f"draw{i}"] = draw
    for i, update in enumerate(updates):
        namespace[f"update{i}"] = update
    values = [*names, *(f"array{i}" for i in range(len(arrays))),
              *(f"draw{i}()" for i in range(len(draws))),      # drawn last: after every test
              *(f"update{i}" for i in range(len(updates))),
              *(f"groups[{j}]['lr']" for j in rate_groups),
              *(f"state{n}" for n in range(len(state)))]
    lines.append(f"    return [{', '.join(values)}]")
    source = "\n".join(lines) + "\n"
    exec(_compiled(source), namespace)
    return source, namespace["arguments"]


def rebind(guards: Guards, args: Sequence[np.ndarray], arrays: Sequence[Any]) -> None:
    """Bind written guards to this call's arguments' dtypes and the parameters' arrays (what
    a step may change without tracing again: a parameter's array replaced by one of the same
    shape, an argument's dtype by an equal one)."""
    namespace = guards.__globals__
    for i, arg in enumerate(args):
        namespace[f"dtype{i}"] = arg.dtype
    for i, array in enumerate(arrays):
        namespace[f"array{i}"] = array


@functools.lru_cache(maxsize=32)
def _compiled(source: str) -> Any:
    """The code of the guards' source, compiled once (each program shape of a step, e.g. a
    last smaller minibatch, writes the same source)."""
    return compile(source, "<guards of a compiled step>", "exec")
