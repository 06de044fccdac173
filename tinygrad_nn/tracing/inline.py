"""One rule of the table written out as straight-line code, for arguments known at trace time.

A rule serves three kinds of arguments (floats, arrays, Values), so its source is full of tests
such as ``type(x) is float``, ``g.ndim != 2`` or ``is_value(g)``.  At trace time the kind, shape
and dtype of every argument are known, so those tests have one answer: ``inline`` substitutes the
arguments into the rule's syntax tree (``rules.py``), evaluates what it can (the tests, the shapes,
``_mse_scale(p, "mean")`` → ``0.00625``), keeps the branch taken and drops the others, and turns
``return`` into an assignment.  What is left is the formula itself, e.g. for the logistic's VJP::

    g3 = 1.0 - v4
    g3 *= v4
    g3 *= g4

Tests on the data (``if zero.any()``) stay in the code.  A rule that cannot be written out (a
loop, a ``with`` block, a return on only some paths) gives ``None``, and the program calls it.

The rules of an op of any number of inputs (``concatenate``, ``stack``) take them as ``*args``
(``*inputs, axis = inputs_and_axis``): their number is known at trace time, so ``inputs`` is a
list whose entries are known one by one, ``inputs[i]`` is that input itself and a generator
over them is unrolled; ``concatenate``'s VJP for input 1 becomes ``g1[:, 2:3]``.

What is known of each value (``Static``, ``Dyn`` and its ``Facts``) and how a known value is
written back as code are in ``folded.py``.  Nothing here decides a derivative: every line comes
from ``ops.py``; only the answers to the tests that do not depend on the data are filled in.
"""

from __future__ import annotations

import ast
import builtins
import math
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops
from ..errors import CannotInline
from .folded import (
    BOOL,
    Dyn,
    Folded,
    Static,
    array_facts,
    elementwise_facts,
    entries,
    foldable,
    index_code,
    literal_code,
    try_static,
)
from .rules import RuleSource, helper_source

__all__ = ["inline"]


# ----------------------------------------------------------------------------------------------
# Names the rules use besides their arguments
# ----------------------------------------------------------------------------------------------


def _global(name: str) -> Static | None:
    """A name of ops.py's module scope or a builtin, with the code that reaches it."""
    if name in ("np", "math"):
        return Static(np if name == "np" else math, ast.Name(name, ast.Load()))
    if hasattr(ops, name):
        return Static(getattr(ops, name), ast.Attribute(ast.Name("ops", ast.Load()), name,
                                                        ast.Load()))
    if hasattr(builtins, name):
        return Static(getattr(builtins, name), ast.Name(name, ast.Load()))
    return None


_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b, ast.Mod: lambda a, b: a % b,
    ast.FloorDiv: lambda a, b: a // b, ast.BitOr: lambda a, b: a | b,
    ast.BitAnd: lambda a, b: a & b, ast.BitXor: lambda a, b: a ^ b,
}
_BITWISE = (ast.BitOr, ast.BitAnd, ast.BitXor)
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


# ----------------------------------------------------------------------------------------------
# Inlining
# ----------------------------------------------------------------------------------------------


def inline(source: RuleSource, args: list[Folded], target: str,
           bind: Callable[[Any], ast.expr]) -> list[ast.stmt] | None:
    """The statements that compute ``rule(*args)`` into the variable ``target``, or None.

    ``args`` are the rule's arguments in order (``Dyn`` for runtime values, ``Static`` for
    parameters known at trace time); missing trailing ones take the rule's defaults.  ``bind``
    gives a name for a trace-time value that has no literal form (an index array).  Locals of the
    rule become ``<target>_<name>``; the returned one becomes ``target`` itself.
    """
    try:
        return _Inliner(target, bind).rule(source, args)
    except (CannotInline, RecursionError):
        return None


class _Inliner:
    """Writes out one rule: folds the arguments in, keeps the branches taken."""

    def __init__(self, target: str, bind: Callable[[Any], ast.expr], depth: int = 0) -> None:
        self.target = target
        self.bind = bind
        self.depth = depth                    # helpers inlined into expressions so far

    # -- the entry point -------------------------------------------------------------------------

    def rule(self, source: RuleSource, args: list[Folded]) -> list[ast.stmt]:
        env = self._bind_params(source, args)
        if source.expression is not None:
            value = self.expr(source.expression, env)
            return [_assign(self.target, self.code(value))]
        out, returns = self.block(list(source.body), env, branch=False)
        if not returns:
            raise CannotInline("a path of the rule returns nothing")
        return _rename_result(out, self.target)

    def _bind_params(self, source: RuleSource, args: list[Folded]) -> dict[str, Any]:
        args = [*map(Static, source.leading), *args]
        n = len(source.params)
        extra = args[n:]
        if extra and source.vararg is None:
            raise CannotInline("too many arguments")
        missing = n - len(args)
        if missing > len(source.defaults):
            raise CannotInline("missing arguments")
        defaults = source.defaults[len(source.defaults) - missing:] if missing > 0 else ()
        env: dict[str, Any] = dict(zip(source.params, [*args[:n], *map(Static, defaults)]))
        if source.vararg is not None:             # *args: a tuple of the arguments left over
            env[source.vararg] = self.sequence(extra, ast.Tuple)
        return env

    # -- statements ------------------------------------------------------------------------------

    def block(self, stmts: list[ast.stmt], env: dict[str, Any], branch: bool
              ) -> tuple[list[ast.stmt], bool]:
        """Lower ``stmts``: the code, and whether every path through it returns."""
        out: list[ast.stmt] = []
        for i, stmt in enumerate(stmts):
            rest = stmts[i + 1:]
            if isinstance(stmt, ast.Return):
                if stmt.value is None:
                    raise CannotInline("a bare return")
                out.append(_assign(_RESULT, self.code(self.expr(stmt.value, env))))
                return out, True
            if isinstance(stmt, ast.If):
                test = self.expr(stmt.test, env)
                if isinstance(test, Static):
                    chosen = stmt.body if test.value else stmt.orelse
                    code, returns = self.block(list(chosen) + rest, env, branch)
                    return out + code, returns
                return self._dynamic_if(out, test, stmt, rest, env)
            if isinstance(stmt, ast.Try):
                return self._try(out, stmt, rest, env)
            out.extend(self.simple(stmt, env, branch))
        return out, False

    def _dynamic_if(self, out: list[ast.stmt], test: Dyn, stmt: ast.If, rest: list[ast.stmt],
                    env: dict[str, Any]) -> tuple[list[ast.stmt], bool]:
        body_env, else_env = dict(env), dict(env)
        body, body_returns = self.block(list(stmt.body), body_env, branch=True)
        if body_returns:                      # if test: ...; return a   /   the rest: return b
            orelse, else_returns = self.block(list(stmt.orelse) + rest, else_env, branch=True)
            if not else_returns:
                raise CannotInline("a return on only some paths")
            return out + [ast.If(test.code, body, orelse)], True
        orelse, else_returns = self.block(list(stmt.orelse), else_env, branch=True)
        if else_returns:
            raise CannotInline("a return on only some paths")
        self._after_branches(env, [*stmt.body, *stmt.orelse])
        code, returns = self.block(rest, env, branch=False)
        return out + [ast.If(test.code, body, orelse or [ast.Pass()])] + code, returns

    def _try(self, out: list[ast.stmt], stmt: ast.Try, rest: list[ast.stmt],
             env: dict[str, Any]) -> tuple[list[ast.stmt], bool]:
        if stmt.orelse or stmt.finalbody:
            raise CannotInline("try with else or finally")
        body, body_returns = self.block(list(stmt.body), dict(env), branch=True)
        handlers = []
        returns = [body_returns]
        for handler in stmt.handlers:
            if handler.name is not None or handler.type is None:
                raise CannotInline("an except clause that names the exception")
            kind = handler.type               # builtin exception names, as written
            if not all(isinstance(n, (ast.Name, ast.Tuple, ast.Load)) for n in ast.walk(kind)):
                raise CannotInline("an except clause with a computed type")
            code, handler_returns = self.block(list(handler.body), dict(env), branch=True)
            handlers.append(ast.ExceptHandler(kind, None, code))
            returns.append(handler_returns)
        new = ast.Try(body, handlers, [], [])
        if all(returns):
            return out + [new], True
        if any(returns):
            raise CannotInline("a return on only some paths")
        self._after_branches(env, [*stmt.body, *[s for h in stmt.handlers for s in h.body]])
        code, after = self.block(rest, env, branch=False)
        return out + [new] + code, after

    def _after_branches(self, env: dict[str, Any], source: list[ast.stmt]) -> None:
        """After a branch chosen at run time, a variable it assigns holds one of two values:
        its local, with nothing known about it.  A variable that was folded away before the
        branch (a known value, another name) cannot be one of two: the rule is not inlined."""
        for name in _assigned_names(source):
            current = env.get(name)
            if current is not None and not (isinstance(current, Dyn)
                                            and _is_local(current, self.target)):
                raise CannotInline(f"{name!r} is changed in a branch taken at run time")
            env[name] = Dyn(ast.Name(f"{self.target}_{name}", ast.Load()))

    def simple(self, stmt: ast.stmt, env: dict[str, Any], branch: bool) -> list[ast.stmt]:
        """An assignment, an augmented assignment or an expression statement."""
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            return self._assign(stmt.targets[0], stmt.value, env, branch)
        if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            current = env.get(stmt.target.id)
            if not (isinstance(current, Dyn) and isinstance(current.code, ast.Name)
                    and _is_local(current, self.target)):
                raise CannotInline("an augmented assignment to an argument")
            value = self.code(self.expr(stmt.value, env))
            return [ast.AugAssign(ast.Name(current.code.id, ast.Store()), stmt.op, value)]
        if isinstance(stmt, ast.Expr):
            return [ast.Expr(self.code(self.expr(stmt.value, env)))]
        if isinstance(stmt, ast.Pass):
            return []
        raise CannotInline(type(stmt).__name__)

    def _assign(self, target: ast.expr, value_node: ast.expr, env: dict[str, Any],
                branch: bool) -> list[ast.stmt]:
        if isinstance(target, ast.Name):
            value = self.expr(value_node, env)
            if not branch and (isinstance(value, Static) or _is_name(value)
                               or entries(value) is not None):
                env[target.id] = value        # known, another name, or names: no code
                return []
            name = f"{self.target}_{target.id}"
            env[target.id] = Dyn(ast.Name(name, ast.Load()),
                                 value.facts if isinstance(value, Dyn) else None)
            return [_assign(name, self.code(value))]
        if isinstance(target, ast.Tuple) and any(isinstance(t, ast.Starred) for t in target.elts):
            return self._assign_starred(target, self.expr(value_node, env), env, branch)
        if isinstance(target, ast.Tuple) and all(isinstance(t, ast.Name) for t in target.elts):
            value = self.expr(value_node, env)
            if isinstance(value, Static) and type(value.value) is tuple \
                    and len(value.value) == len(target.elts):
                return [s for t, v in zip(target.elts, value.value)
                        for s in self._assign(t, _literal_node(v), env, branch)]
            if isinstance(value_node, ast.Tuple) and len(value_node.elts) == len(target.elts):
                values = [self.expr(v, env) for v in value_node.elts]   # all read first
                out: list[ast.stmt] = []
                for t, v in zip(target.elts, values):
                    out += self._assign(t, _Folded(v), env, branch)
                return out
            raise CannotInline("a tuple assignment from a runtime value")
        if isinstance(target, ast.Subscript):
            store = ast.Subscript(self.code(self.expr(target.value, env)),
                                  self.code(self.expr(target.slice, env)), ast.Store())
            return [ast.Assign([store], self.code(self.expr(value_node, env)))]
        raise CannotInline("an assignment to " + type(target).__name__)

    def _assign_starred(self, target: ast.Tuple, value: Folded, env: dict[str, Any],
                        branch: bool) -> list[ast.stmt]:
        """``first, *rest, last = value`` for a value whose entries are known one by one (a
        tuple known now, or ``*args``): each name gets its entries, the starred one a list."""
        items = entries(value)
        if items is None:
            raise CannotInline("a starred assignment from a runtime value")
        star = next(k for k, t in enumerate(target.elts) if isinstance(t, ast.Starred))
        after = len(target.elts) - star - 1
        if len(items) < star + after:
            raise CannotInline("a starred assignment from too few values")
        starred = self.sequence(list(items[star:len(items) - after]), ast.List)
        parts: list[Folded] = [*items[:star], starred, *items[len(items) - after:]]
        out: list[ast.stmt] = []
        for t, part in zip(target.elts, parts):
            name = t.value if isinstance(t, ast.Starred) else t
            out += self._assign(name, _Folded(part), env, branch)
        return out

    # -- expressions -----------------------------------------------------------------------------

    def code(self, value: Folded) -> ast.expr:
        """The code that produces ``value`` when the program runs."""
        if isinstance(value, Dyn):
            return value.code
        if value.ref is not None:
            return value.ref
        return literal_code(value.value, self.bind)

    def sequence(self, items: list[Folded], kind: type[ast.Tuple] | type[ast.List]) -> Folded:
        """A tuple (or list) of ``items``: known now when they all are, else written out."""
        if all(isinstance(i, Static) for i in items):
            return Static(tuple(i.value for i in items))     # type: ignore[union-attr]
        return Dyn(kind([self.code(i) for i in items], ast.Load()), None, tuple(items))

    def expr(self, node: ast.expr, env: dict[str, Any]) -> Folded:
        """Fold ``node``: a Static when its value is known now, else the code for it."""
        if isinstance(node, _Folded):
            return node.folded
        if isinstance(node, ast.Constant):
            return Static(node.value)
        if isinstance(node, ast.Name):
            return self._name(node.id, env)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, env)
        if isinstance(node, ast.Call):
            return self._call(node, env)
        if isinstance(node, ast.BinOp):
            return self._binop(node, env)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node, env)
        if isinstance(node, ast.BoolOp):
            return self._boolop(node, env)
        if isinstance(node, ast.Compare):
            return self._compare(node, env)
        if isinstance(node, ast.IfExp):
            test = self.expr(node.test, env)
            if isinstance(test, Static):
                return self.expr(node.body if test.value else node.orelse, env)
            body, orelse = self.expr(node.body, env), self.expr(node.orelse, env)
            return Dyn(ast.IfExp(test.code, self.code(body), self.code(orelse)))
        if isinstance(node, ast.Tuple):
            items = [self.expr(e, env) for e in node.elts]
            if all(isinstance(i, Static) for i in items):
                return Static(tuple(i.value for i in items))   # type: ignore[union-attr]
            return Dyn(ast.Tuple([self.code(i) for i in items], ast.Load()))
        if isinstance(node, ast.Subscript):
            return self._subscript(node, env)
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.expr(p, env)
                     for p in (node.lower, node.upper, node.step)]
            known = [p.value for p in parts if isinstance(p, Static)]
            if len(known) == sum(p is not None for p in parts):
                it = iter(known)
                return Static(slice(*[None if p is None else next(it) for p in parts]))
            return Dyn(ast.Slice(*[None if p is None else self.code(p) for p in parts]))
        if isinstance(node, ast.GeneratorExp):
            return self._comprehension(node, env)
        raise CannotInline(type(node).__name__)

    def _subscript(self, node: ast.Subscript, env: dict[str, Any]) -> Folded:
        value, index = self.expr(node.value, env), self.expr(node.slice, env)
        if isinstance(value, Static) and isinstance(index, Static):
            result = try_static(lambda: value.value[index.value])
            if result is not None:
                return result
        if isinstance(value, Dyn) and value.items is not None and isinstance(index, Static):
            items = value.items
            if type(index.value) is int and -len(items) <= index.value < len(items):
                return items[index.value]             # inputs[i]: that input itself
            if type(index.value) is slice:            # inputs[:i]: those inputs
                kind = ast.List if isinstance(value.code, ast.List) else ast.Tuple
                return self.sequence(list(items[index.value]), kind)
        code = index_code(index.value) if isinstance(index, Static) else None
        return Dyn(ast.Subscript(self.code(value), code or self.code(index), ast.Load()))

    def _name(self, name: str, env: dict[str, Any]) -> Folded:
        if name in env:
            return env[name]
        known = _global(name)
        if known is None:
            raise CannotInline(f"an unknown name {name!r}")
        return known

    def _attribute(self, node: ast.Attribute, env: dict[str, Any]) -> Folded:
        value = self.expr(node.value, env)
        if isinstance(value, Static):
            try:
                attribute = getattr(value.value, node.attr)
            except AttributeError:
                raise CannotInline(f"no attribute {node.attr!r}") from None
            if foldable(attribute) and not isinstance(value.value, types.ModuleType):
                return Static(attribute)
            return Static(attribute, ast.Attribute(self.code(value), node.attr, ast.Load()))
        facts = value.facts
        if facts is not None and facts.kind == "array":
            if node.attr in ("ndim", "shape", "size", "dtype"):
                return Static(getattr(facts.example(), node.attr))
            if node.attr == "T":
                return Dyn(ast.Attribute(value.code, "T", ast.Load()),
                           array_facts(facts.shape[::-1], facts.dtype))
        return Dyn(ast.Attribute(value.code, node.attr, ast.Load()))

    def _call(self, node: ast.Call, env: dict[str, Any]) -> Folded:
        func = self.expr(node.func, env)
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise CannotInline("a starred argument")
        args = [self.expr(a, env) for a in node.args]
        if any(k.arg is None for k in node.keywords):
            raise CannotInline("a ** argument")
        kwargs = {str(k.arg): self.expr(k.value, env) for k in node.keywords}
        if isinstance(func, Static):
            special = self._known_call(func.value, args)
            if special is not None:
                return special
            static_args = [a.value for a in args if isinstance(a, Static)]
            static_kwargs = {k: v.value for k, v in kwargs.items() if isinstance(v, Static)}
            if len(static_args) == len(args) and len(static_kwargs) == len(kwargs):
                result = try_static(lambda: func.value(*static_args, **static_kwargs))
                if result is not None:
                    return result
            elif not kwargs:
                inlined = self._helper_expression(func.value, args)
                if inlined is not None:
                    return inlined
        code = ast.Call(self.code(func), [self.code(a) for a in args],
                        [ast.keyword(k, self.code(v)) for k, v in kwargs.items()])
        facts = None
        if isinstance(func, Static) and isinstance(func.value, np.ufunc) and "out" not in kwargs:
            facts = elementwise_facts(args, "ufunc")
        return Dyn(code, facts)

    def _known_call(self, func: Any, args: list[Folded]) -> Folded | None:
        """The calls answered by the facts alone: ``type(x)``, ``shape_of(x)``, ``data(x)``..."""
        if len(args) != 1 and func is not hasattr:
            return None
        x = args[0]
        if not isinstance(x, Dyn):
            return None
        if func is ops.data:
            return x                          # the program holds data, never Values
        if func is ops.is_value:
            return Static(False)
        if func is len and x.items is not None:
            return Static(len(x.items))
        if x.facts is None:
            return None
        if func is type:
            return Static(type(x.facts.example()))
        if func is ops.shape_of:
            return Static(x.facts.shape)
        if func is len and x.facts.shape:
            return Static(x.facts.shape[0])
        if func is hasattr and len(args) == 2 and isinstance(args[1], Static):
            return Static(hasattr(x.facts.example(), args[1].value))
        return None

    def _helper_expression(self, func: Any, args: list[Folded]) -> Folded | None:
        """A call of an ops.py helper whose body folds to one expression, inlined as it."""
        name = getattr(func, "__name__", "")
        if self.depth > 4 or getattr(ops, name, None) is not func:
            return None
        source = helper_source(name)
        if source is None:
            return None
        inner = _Inliner(_RESULT, self.bind, self.depth + 1)
        try:
            env = inner._bind_params(source, args)
            code, returns = inner.block(list(source.body), env, branch=False)
        except CannotInline:
            return None
        if not returns or len(code) != 1 or not isinstance(code[0], ast.Assign):
            return None
        value = code[0].value
        if isinstance(value, ast.Constant) and getattr(value, "folded", False):
            return Static(value.value)
        return Dyn(value)

    def _binop(self, node: ast.BinOp, env: dict[str, Any]) -> Folded:
        left, right = self.expr(node.left, env), self.expr(node.right, env)
        if isinstance(left, Static) and isinstance(right, Static):
            fold = _ARITHMETIC.get(type(node.op))
            if fold is not None:
                result = try_static(lambda: fold(left.value, right.value))
                if result is not None:
                    return result
        facts = None if isinstance(node.op, ast.MatMult) else elementwise_facts(
            [left, right], "bitwise" if isinstance(node.op, _BITWISE) else "arithmetic")
        return Dyn(ast.BinOp(self.code(left), node.op, self.code(right)), facts)

    def _unary(self, node: ast.UnaryOp, env: dict[str, Any]) -> Folded:
        operand = self.expr(node.operand, env)
        if isinstance(operand, Static):
            result = try_static(lambda: {ast.USub: lambda v: -v, ast.UAdd: lambda v: +v,
                                          ast.Not: lambda v: not v,
                                          ast.Invert: lambda v: ~v}[type(node.op)](operand.value))
            if result is not None:
                return result
        facts = elementwise_facts([operand]) if isinstance(node.op, ast.USub) else None
        return Dyn(ast.UnaryOp(node.op, self.code(operand)), facts)

    def _boolop(self, node: ast.BoolOp, env: dict[str, Any]) -> Folded:
        is_and = isinstance(node.op, ast.And)
        kept: list[Folded] = []
        for value_node in node.values:
            value = self.expr(value_node, env)
            if isinstance(value, Static) and not kept:
                if bool(value.value) != is_and:   # decides the whole expression
                    return value
                continue                          # True in an `and`: look at the next one
            kept.append(value)
        if not kept:
            return Static(is_and)
        if len(kept) == 1:
            return kept[0]
        return Dyn(ast.BoolOp(node.op, [self.code(v) for v in kept]))

    def _compare(self, node: ast.Compare, env: dict[str, Any]) -> Folded:
        left = self.expr(node.left, env)
        rights = [self.expr(c, env) for c in node.comparators]
        if len(rights) == 1 and isinstance(node.ops[0], (ast.Is, ast.IsNot)):
            right = rights[0]
            if isinstance(left, Dyn) and isinstance(right, Static) and right.value is None:
                return Static(isinstance(node.ops[0], ast.IsNot))   # a runtime value is no None
        values = [left, *rights]
        if all(isinstance(v, Static) for v in values):
            def evaluate() -> Any:
                for op, a, b in zip(node.ops, values, values[1:]):
                    if not _COMPARE[type(op)](a.value, b.value):        # type: ignore[union-attr]
                        return False
                return True
            result = try_static(evaluate)
            if result is not None:
                return result
        facts = None
        if len(rights) == 1 and not isinstance(node.ops[0], (ast.Is, ast.IsNot, ast.In,
                                                             ast.NotIn)):
            facts = elementwise_facts([left, rights[0]])
            if facts is not None:             # a comparison gives booleans of the same shape
                facts = BOOL if facts.kind != "array" else \
                    array_facts(facts.shape, np.dtype(np.bool_))
        code = ast.Compare(self.code(left), node.ops, [self.code(r) for r in rights])
        return Dyn(code, facts)

    def _comprehension(self, node: ast.GeneratorExp, env: dict[str, Any]) -> Folded:
        """A generator expression over trace-time values only (``shape[i] for i in axis``),
        kept as a generator for the call around it to consume."""
        unrolled = self._unrolled(node, env)
        if unrolled is not None:
            return unrolled
        bound = {t.id for gen in node.generators for t in ast.walk(gen.target)
                 if isinstance(t, ast.Name)}
        free = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - bound
        scope: dict[str, Any] = {}
        for name in free:
            value = self._name(name, env)
            if not isinstance(value, Static):
                raise CannotInline("a generator over runtime values")
            scope[name] = value.value
        code = builtins.compile(ast.Expression(node), "<rule>", "eval")
        try:                                  # (a generator reads free names as globals)
            items = tuple(eval(code, {"__builtins__": builtins, **scope}))
        except Exception as exc:
            raise CannotInline(f"a generator that raises {type(exc).__name__}") from None
        return Static(items)                  # consumed the same way by the call around it

    def _unrolled(self, node: ast.GeneratorExp, env: dict[str, Any]) -> Folded | None:
        """``(e for x in inputs)`` over entries known one by one (``*args``, a slice of it):
        ``e`` folded once per entry, a tuple of the results when all are known now."""
        if len(node.generators) != 1:
            return None
        generator = node.generators[0]
        if not isinstance(generator.target, ast.Name) or generator.ifs or generator.is_async:
            return None
        items = entries(self.expr(generator.iter, env))
        if items is None:
            return None
        results = []
        for item in items:
            result = self.expr(node.elt, {**env, generator.target.id: item})
            if not isinstance(result, Static):
                raise CannotInline("a generator whose entries are runtime values")
            results.append(result.value)
        return Static(tuple(results))


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


_RESULT = "\x00result\x00"
"""The variable a ``return`` assigns to, until ``_rename_result`` names it."""


class _Folded(ast.expr):
    """An already folded value, handed back to ``_Inliner.expr`` (for tuple assignments)."""

    def __init__(self, folded: Folded) -> None:
        super().__init__()
        self.folded = folded


def _literal_node(value: Any) -> ast.expr:
    return _Folded(Static(value))


def _is_name(value: Folded) -> bool:
    return isinstance(value, Dyn) and isinstance(value.code, ast.Name)


def _is_local(value: Dyn, target: str) -> bool:
    """True for a variable the rule itself assigned (``<target>_<name>``)."""
    return isinstance(value.code, ast.Name) and value.code.id.startswith(f"{target}_")


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign([ast.Name(name, ast.Store())], value)


def _assigned_names(stmts: list[ast.stmt]) -> set[str]:
    """The variables the statements assign (as written in the rule)."""
    names: set[str] = set()
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return names


def _rename_result(code: list[ast.stmt], target: str) -> list[ast.stmt]:
    """Name the result ``target``: the returned local itself when every return returns it,
    else an assignment ``target = ...`` at each return."""
    returned = {_returned_name(s) for s in ast.walk(ast.Module(code, []))
                if isinstance(s, ast.Assign) and _targets_result(s)}
    local = next(iter(returned)) if len(returned) == 1 else None
    if local is not None and local.startswith(f"{target}_"):
        code = [s for s in code if not _is_result_alias(s, local)]
        renamed = {local: target}
    else:
        renamed = {}
    renamed[_RESULT] = target
    return [_Rename(renamed).visit(s) for s in code]


def _targets_result(stmt: ast.Assign) -> bool:
    t = stmt.targets[0]
    return isinstance(t, ast.Name) and t.id == _RESULT


def _returned_name(stmt: ast.Assign) -> str | None:
    return stmt.value.id if isinstance(stmt.value, ast.Name) else None


def _is_result_alias(stmt: ast.stmt, local: str) -> bool:
    return (isinstance(stmt, ast.Assign) and _targets_result(stmt)
            and isinstance(stmt.value, ast.Name) and stmt.value.id == local)


class _Rename(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(self.names.get(node.id, node.id), node.ctx)

    def generic_visit(self, node: ast.AST) -> ast.AST:
        node = super().generic_visit(node)
        if isinstance(node, (ast.If, ast.Try)) and not node.body:
            node.body = [ast.Pass()]              # its only line was the alias just removed
        return node
