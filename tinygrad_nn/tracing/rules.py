"""The rule table as source text: the syntax tree of every forward map and VJP in ``ops.py``.

The tracer writes programs whose lines are the rule table's own formulas, so it reads them from
the table's source rather than from a second table: ``ops.py`` is parsed with ``ast`` once, and
every module-level ``Op(name, label, forward, *vjps, ...)`` call gives, per rule, either the
``lambda`` written in the call or the name of a helper function defined in ``ops.py``
(``PerInput(helper)`` for an op that takes any number of inputs: the helper, told the input's
position as its first argument).  A rule is
found only when the object in ``ops.TABLE`` is the one that source defines (same code object
position); anything else (a rule built at run time, a monkeypatched one) has no source here and
is called as an object instead.
"""

from __future__ import annotations

import ast
import functools
import inspect
from dataclasses import dataclass, replace
from typing import Any

from .. import ops

__all__ = ["RuleSource", "helper_source", "rule_source"]


@dataclass(frozen=True)
class RuleSource:
    """One rule's syntax: ``params`` (its parameter names, in order), ``defaults`` (the default
    values of the trailing parameters), ``vararg`` (the name of a ``*args`` parameter, which
    takes the arguments after ``params`` as a tuple), ``leading`` (arguments the table passes
    before the step's own: ``PerInput`` passes the input's position), and either ``expression``
    (a lambda's body) or ``body`` (the statements of a helper ``def``)."""

    name: str                                 # "add.forward", "sigmoid.vjp[0]", "_sigmoid_vjp"
    params: tuple[str, ...]
    defaults: tuple[Any, ...]
    expression: ast.expr | None = None
    body: tuple[ast.stmt, ...] = ()
    vararg: str | None = None
    leading: tuple[Any, ...] = ()


@functools.cache
def _op_calls() -> dict[str, list[ast.expr]]:
    """``{op name: [forward, *vjps]}``: the rule arguments of each ``Op(...)`` call in ops.py."""
    tree = ast.parse(inspect.getsource(ops))
    calls: dict[str, list[ast.expr]] = {}
    for stmt in tree.body:
        value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                and value.func.id == "Op" and len(value.args) >= 3
                and isinstance(value.args[0], ast.Constant)):
            calls[str(value.args[0].value)] = list(value.args[2:])
    return calls


@functools.cache
def _helper(name: str) -> RuleSource | None:
    """A function defined in ops.py, as a RuleSource (None if it is not a plain ``def`` there)."""
    fn = getattr(ops, name, None)
    if not inspect.isfunction(fn) or fn.__module__ != ops.__name__:
        return None
    tree = ast.parse(inspect.getsource(fn))
    definition = tree.body[0]
    if not isinstance(definition, ast.FunctionDef):
        return None
    args = definition.args
    if args.kwarg or args.kwonlyargs or args.posonlyargs:
        return None
    defaults = tuple(ast.literal_eval(d) for d in args.defaults)
    body = definition.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]                           # the docstring
    return RuleSource(name, tuple(a.arg for a in args.args), defaults, body=tuple(body),
                      vararg=args.vararg.arg if args.vararg else None)


def helper_source(name: str) -> RuleSource | None:
    """The source of the helper ``ops.<name>``, or None when ops.py does not define it."""
    return _helper(name)


def rule_source(op: ops.Op, which: int) -> RuleSource | None:
    """The source of ``op``'s forward map (``which = -1``) or of its VJP for input ``which``.

    None when ``ops.py`` has no ``Op(...)`` call that defines exactly this rule object.
    """
    label = f"{op.name}.forward" if which < 0 else f"{op.name}.vjp[{which}]"
    arguments = _op_calls().get(op.name)
    if arguments is None:
        return None
    if which >= 0 and isinstance(op.vjps, ops.PerInput):
        return _per_input_source(arguments[1] if len(arguments) > 1 else None, op.vjps, which,
                                 label)
    rule = op.forward if which < 0 else op.vjps[which]
    if which + 1 >= len(arguments):
        return None
    node = arguments[which + 1]
    if isinstance(node, ast.Name):
        source = _helper(node.id)
        return source if source is not None and getattr(ops, node.id) is rule else None
    if not isinstance(node, ast.Lambda):
        return None
    code = getattr(rule, "__code__", None)
    if (code is None or code.co_name != "<lambda>" or code.co_firstlineno != node.lineno
            or code.co_filename != inspect.getsourcefile(ops)):
        return None
    args = node.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        return None
    defaults = tuple(ast.literal_eval(d) for d in args.defaults)
    return RuleSource(label, tuple(a.arg for a in args.args), defaults, expression=node.body)


def _per_input_source(node: ast.expr | None, rules: ops.PerInput, which: int,
                      label: str) -> RuleSource | None:
    """The source of ``PerInput(helper)``'s rule for input ``which``: the helper, with
    ``which`` as its first argument (None unless the call is ``PerInput(<helper of ops.py>)``
    and the table's object is that helper)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "PerInput" and len(node.args) == 1 and not node.keywords
            and isinstance(node.args[0], ast.Name)):
        return None
    name = node.args[0].id
    source = _helper(name)
    if source is None or getattr(ops, name) is not rules.rule or not source.params:
        return None
    return replace(source, name=label, leading=(which,))
