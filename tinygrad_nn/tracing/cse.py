"""A value the program computes twice is computed once: common subexpressions, found in its lines.

The rules of the table are written one at a time, so a program can ask for the same value twice.
The MSE's forward pass computes ``d = p - t`` and its VJP computes ``p - t`` again; a value
used twice (``x * x``) gets two VJP lines ``g * x``.  ``repeats`` reads the lines of a tensor
program, top to bottom, and finds each line ``t = <expression>`` whose expression an earlier
line ``v = <the same expression>`` already computed, from the same variables, none changed
since.  Such a line becomes ``t = v``: the same NumPy operation is not run twice, so every number
stays the same, bit for bit.

Two variables then name one array, which is safe in one of two cases:

* **nothing changes it afterwards** (``a = x * y`` … ``b = a``: both only read), or
* **the earlier variable is not read again**: the line takes its array over and may change it in
  place.  That is the MSE/sigmoid tail: the VJP ``t = p - t; t *= g * 2/N`` becomes
  ``t = v_d; t *= g * 2/N`` — the forward pass's difference, scaled where it lies.

"Read again" and "changed" include every variable that may share the array's memory: one made
from it by anything but a computation that makes a new array (``v.T``, ``v[0]``, a call of a
function not known to be pure, ``out=v``) counts as the same array.  The test is on the code
alone; ``codegen`` then runs the program on the example and compares it with the engine, bit
for bit, as it does for every program.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

__all__ = ["repeats"]

MODULES = frozenset({"np", "math", "ops"})
"""Names of modules in the generated code: never variables, never changed."""

_NEW_ARRAY = frozenset({"vdot", "dot", "matmul", "where", "concatenate", "stack", "array",
                        "zeros", "ones", "full", "zeros_like", "ones_like", "full_like",
                        "empty", "empty_like", "isfinite", "isnan", "einsum"})
"""Functions of NumPy (besides its ufuncs) that return a new array or a scalar."""

_READ_ONLY = frozenset({"asarray", "broadcast_to", "reshape", "transpose", "expand_dims",
                        "squeeze", "shape", "ndim", "size", "result_type"})
"""Functions of NumPy that change none of their arguments but may return a view of one."""

_NEW_ARRAY_METHODS = frozenset({"dot", "sum", "item", "argmax", "argmin", "any", "all", "max",
                                "min", "copy", "astype", "mean", "prod"})
_VIEW_METHODS = frozenset({"reshape", "transpose", "ravel", "view"})


def repeats(lines: list[ast.stmt]) -> dict[int, str]:
    """``{index of a line: the variable that already holds its value}``, for the top-level
    ``lines`` of one function (its whole body, up to and including its ``return``)."""
    return _Scan(lines).run()


@dataclass
class _Scan:
    lines: list[ast.stmt]
    found: dict[int, str] = field(default_factory=dict)
    group: dict[str, set[str]] = field(default_factory=dict)   # may-share-memory classes

    def __post_init__(self) -> None:
        self.reads = [_reads(line) for line in self.lines]
        self.changes = [_changes(line) for line in self.lines]
        self.assigned: dict[str, int] = {}
        for line in self.lines:
            for name in _assigned(line):
                self.assigned[name] = self.assigned.get(name, 0) + 1
        self.last_read: dict[str, int] = {}
        for i, names in enumerate(self.reads):
            for name in names:
                self.last_read[name] = i
        for line in self.lines:                        # flow-insensitive: any line, any order
            for node in ast.walk(line):
                if isinstance(node, ast.Assign):
                    shared = _shares_memory_with(node.value)
                    for target in node.targets:
                        for name in _target_names(target):
                            self.join(name, *shared)

    # -- may-share-memory classes -----------------------------------------------------------------

    def join(self, *names: str) -> None:
        merged: set[str] = set()
        for name in names:
            merged |= self.group.get(name, {name})
        for name in merged:
            self.group[name] = merged

    def sharing(self, name: str) -> set[str]:
        return self.group.get(name, {name})

    # -- the scan ---------------------------------------------------------------------------------

    def run(self) -> dict[int, str]:
        available: dict[str, tuple[str, set[str]]] = {}  # ast.dump -> (holder, names read)
        for i, line in enumerate(self.lines):
            single = self.single_assignment(line)
            if single is not None:
                target, key = single
                held = available.get(key, ("", set()))[0]
                if held and held != target and self.may_share(held, target, i):
                    self.found[i] = held
                    self.join(target, held)
                    continue
            changed = set().union(*(self.sharing(n) for n in self.changes[i]),
                                  _assigned(line))
            if changed:
                available = {key: (held, names) for key, (held, names) in available.items()
                             if held not in changed and not names & changed}
            if single is not None and single[1] not in available:
                target, key = single
                names = set(_names(line.value))            # type: ignore[attr-defined]
                if target not in names:
                    available[key] = (target, names)
        return self.found

    def single_assignment(self, line: ast.stmt) -> tuple[str, str] | None:
        """``(t, key)`` for a line ``t = <pure expression>`` that assigns ``t`` once."""
        if not (isinstance(line, ast.Assign) and len(line.targets) == 1
                and isinstance(line.targets[0], ast.Name)):
            return None
        target = line.targets[0].id
        if self.assigned.get(target) != 1 or not _pure(line.value):
            return None
        return target, ast.dump(line.value, annotate_fields=False)

    def may_share(self, held: str, target: str, i: int) -> bool:
        """Whether line ``i`` may name ``held``'s array ``target``: nothing reads ``held`` (or
        a variable sharing its memory) after line ``i``, or nothing changes either after it."""
        before = self.sharing(held)
        if all(self.last_read.get(n, -1) <= i for n in before):
            return True                              # the line takes the array over
        both = before | self.sharing(target)
        return not any(both & changes for changes in self.changes[i + 1:])


# ----------------------------------------------------------------------------------------------
# What a line reads, changes and assigns
# ----------------------------------------------------------------------------------------------


def _names(node: ast.AST) -> Iterator[str]:
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id not in MODULES:
            yield n.id


def _reads(line: ast.stmt) -> set[str]:
    names = {n.id for n in ast.walk(line) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load) and n.id not in MODULES}
    for node in ast.walk(line):                      # t *= x reads t
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _assigned(line: ast.stmt) -> set[str]:
    return {name for node in ast.walk(line) if isinstance(node, ast.Assign)
            for target in node.targets for name in _target_names(target)}


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for t in target.elts for n in _target_names(t)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []                                        # x[i] = ...: a change of x, not a name


def _changes(line: ast.stmt) -> set[str]:
    """The variables whose array the line may change in place."""
    changed: set[str] = set()
    for node in ast.walk(line):
        if isinstance(node, ast.AugAssign):
            changed.update(_base_names(node.target))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, (ast.Subscript, ast.Attribute)):
                    changed.update(_base_names(target))
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "out":
                    changed.update(_names(keyword.value))
            if not _leaves_arguments(node):
                for argument in [*node.args, *(k.value for k in node.keywords)]:
                    changed.update(_names(argument))
                if isinstance(node.func, ast.Attribute):
                    changed.update(_names(node.func.value))
    return changed


def _base_names(target: ast.expr) -> set[str]:
    while isinstance(target, (ast.Subscript, ast.Attribute, ast.Starred)):
        target = target.value
    return set(_names(target))


def _numpy_function(func: ast.expr) -> str | None:
    """``name`` for ``np.name``."""
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id == "np":
        return func.attr
    return None


def _is_ufunc(name: str | None) -> bool:
    return name is not None and isinstance(getattr(np, name, None), np.ufunc)


def _leaves_arguments(call: ast.Call) -> bool:
    """True for a call known to change none of its arguments (``out=`` aside)."""
    name = _numpy_function(call.func)
    if name is not None:
        return _is_ufunc(name) or name in _NEW_ARRAY or name in _READ_ONLY
    if isinstance(call.func, ast.Attribute):
        if isinstance(call.func.value, ast.Name) and call.func.value.id == "math":
            return True
        return call.func.attr in _NEW_ARRAY_METHODS or call.func.attr in _VIEW_METHODS
    return False


def _shares_memory_with(value: ast.expr) -> set[str]:
    """The variables whose memory the value of ``value`` may share: none for an expression that
    makes a new array or a number, the ``out=`` array for a call that writes into one."""
    if isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Constant)):
        return set()
    if isinstance(value, ast.Call):
        out = [k.value for k in value.keywords if k.arg == "out"]
        if out:
            return set(_names(out[0]))
        name = _numpy_function(value.func)
        if name is not None and (_is_ufunc(name) or name in _NEW_ARRAY):
            return set()
        if isinstance(value.func, ast.Attribute) and (
                value.func.attr in _NEW_ARRAY_METHODS
                or (isinstance(value.func.value, ast.Name) and value.func.value.id == "math")):
            return set()
    return set(_names(value))


def _pure(node: ast.expr | None) -> bool:
    """True for an expression that depends on its variables alone and changes nothing:
    arithmetic and comparisons, NumPy's ufuncs (without ``out=``), ``np.vdot``, ``.dot``,
    ``.sum``, ``.T``, indexing, ``math``'s functions."""
    if node is None or isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.BinOp):
        return _pure(node.left) and _pure(node.right)
    if isinstance(node, ast.UnaryOp):
        return _pure(node.operand)
    if isinstance(node, ast.Compare):
        return _pure(node.left) and all(_pure(c) for c in node.comparators)
    if isinstance(node, ast.Tuple):
        return all(_pure(e) for e in node.elts)
    if isinstance(node, ast.Slice):
        return _pure(node.lower) and _pure(node.upper) and _pure(node.step)
    if isinstance(node, ast.Subscript):
        return _pure(node.value) and _pure(node.slice)
    if isinstance(node, ast.Attribute):                  # x.T, or a constant such as math.pi
        return (node.attr == "T" and _pure(node.value)) or (
            isinstance(node.value, ast.Name) and node.value.id in MODULES)
    if isinstance(node, ast.Call):
        if any(k.arg in ("out", None) for k in node.keywords):
            return False
        if not all(_pure(a) for a in [*node.args, *(k.value for k in node.keywords)]):
            return False
        func = node.func
        name = _numpy_function(func)
        if name is not None:
            return _is_ufunc(name) or name in ("vdot", "dot")
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name) and func.value.id == "math":
                return True
            return func.attr in ("dot", "sum") and _pure(func.value)
    return False
