"""``Program``: a traced function as a flat list of steps in SSA form, and how it prints.

Every value a program computes has one name, given once: ``v3`` for a value of the forward pass,
``g3`` for ∂E/∂v3, ``gp0`` for the gradient of parameter ``p0``.  A step names the rule of the
table it runs (``sigmoid`` for a forward map, ``sigmoid.vjp[0]`` for the chain rule's step into
input 0), its arguments, and the shape and dtype of its result; where the graph was built by
``nn`` layers it also carries the layer function it belongs to (f, φ, g, E) and the tutorial's
symbol for what it computes (net X₂, δ³, ∂E/∂W₁).  ``str(program)`` prints it in the manner of
a jaxpr; ``program.source`` is the Python/NumPy code that runs it (``codegen.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ops import Op
from .folded import Facts, Static

__all__ = ["Input", "Program", "Step"]


@dataclass(eq=False)
class Input:
    """A value the program reads rather than computes: an argument, a parameter (read live at
    every call), a constant (captured when the function was traced), a random constant (a
    dropout mask: drawn anew at every call, as the function itself would draw it) or a state
    update (called last, with values of the program: BatchNorm's running statistics)."""

    kind: str                                 # "arg", "param", "const", "random" or "update"
    index: int                                # position among the inputs of its kind
    facts: Facts | None
    label: str = ""                           # the argument's or parameter's own name
    meaning: str = ""                         # the tutorial's symbol for it (W₁, X₁...)
    value: Any = None                         # a constant's data
    name: str = ""                            # its name in the program (set by naming)


@dataclass(eq=False)
class Step:
    """One line of the program: ``name = rule(*args)``.

    ``rule`` is ``"<op>"`` (a forward map), ``"<op>.vjp[i]"`` (the chain rule's step into input
    i), ``"sum_to"`` (a VJP summed back over broadcast axes) or ``"accumulate"`` (the sum of the
    gradients a node receives from its several children).  ``args`` are Inputs, Steps and
    ``Static`` parameters, in the rule's order.
    """

    rule: str
    args: tuple[Any, ...]
    facts: Facts | None
    backward: bool
    op: Op | None = None
    which: int = -1                           # -1: the forward map; i: the VJP for input i
    where: str = ""                           # the module call: "f: Linear[0]"
    meaning: str = ""                         # "net X₂", "δ³", "∂E/∂W₁"
    name: str = ""
    grad_of: Any = None                       # backward: the value whose gradient this is
    total: bool = False                       # an "accumulate" step: the whole gradient


Value = Input | Step
"""Anything a step can read that the program computes or reads at run time."""


@dataclass(eq=False)
class Program:
    """A traced function: forward steps, then (for a scalar result) the backward steps.

    ``gradients`` pairs every input that receives a gradient (parameters, and the arguments
    that require one) with the value holding it (None when no gradient reaches it).
    """

    args: list[Input]
    params: list[Input]
    param_values: list[Any]                   # the parameters' Values, read at every call
    constants: list[Input]
    steps: list[Step]
    outputs: list[Value]
    out_is_tuple: bool
    gradients: list[tuple[Input, Value | None]]
    root: Value | None = None                 # E, where the backward pass starts
    function_name: str = "program"
    generated: Any = field(default=None, repr=False)   # codegen.Generated, set by the tracer
    randoms: list[Input] = field(default_factory=list)  # random constants, after the params
    random_draws: list[Any] = field(default_factory=list, repr=False)  # each one's next draw
    # changes of state outside the graph, made last from the program's values: (input, values)
    updates: list[tuple[Input, list[Value]]] = field(default_factory=list)
    update_functions: list[Any] = field(default_factory=list, repr=False)

    # -- reading it ------------------------------------------------------------------------------

    @property
    def forward_steps(self) -> list[Step]:
        """The steps of the forward pass."""
        return [s for s in self.steps if not s.backward]

    @property
    def backward_steps(self) -> list[Step]:
        """The steps of the backward pass (the chain rule, as the rule table computes it)."""
        return [s for s in self.steps if s.backward]

    @property
    def source(self) -> str:
        """The Python/NumPy source the program runs (``def program(...)``), each line from the
        rule table; a compiled function executes exactly this text (written by ``trace`` and
        ``compile``, which check it against the engine)."""
        return str(self.generated.source)

    def __str__(self) -> str:
        return format_program(self)

    def __repr__(self) -> str:
        return (f"Program({len(self.args)} args, {len(self.params)} params, "
                f"{len(self.forward_steps)} forward steps, {len(self.backward_steps)} backward "
                f"steps)")


# ----------------------------------------------------------------------------------------------
# Printing
# ----------------------------------------------------------------------------------------------


_DTYPE_NAMES = {"float64": "f64", "float32": "f32", "bool": "bool", "int64": "i64"}


def type_text(facts: Facts | None) -> str:
    """``f64[32,20]`` for an array, ``float`` for a Python float, ``?`` if unknown."""
    if facts is None:
        return "?"
    if facts.kind != "array":
        return facts.kind
    dtype = _DTYPE_NAMES.get(facts.dtype.name, facts.dtype.name)
    return f"{dtype}[{','.join(map(str, facts.shape))}]"


def argument_text(arg: Any) -> str:
    """How an argument of a step prints: its name, or a parameter's value."""
    if isinstance(arg, (Input, Step)):
        return arg.name
    value = arg.value if isinstance(arg, Static) else arg
    if isinstance(value, np.ndarray):
        return f"<{type_text(Facts.of(value))}>"
    return repr(value)


def _value_text(value: Any) -> str:
    """A constant's value, short: the number for one entry, else its type."""
    if isinstance(value, np.ndarray) and value.size == 1:
        return repr(float(value.reshape(())))
    if isinstance(value, np.ndarray):
        return f"<{type_text(Facts.of(value))} array>"
    return repr(value)


def format_program(program: Program) -> str:
    """The program as text: inputs, forward lines, backward lines, what it returns.  Each line
    reads ``name: type = rule arguments``, then the module call it belongs to and the
    tutorial's symbol for the value."""
    head = ", ".join(f"{a.name}: {type_text(a.facts)}" for a in program.args)
    lines = [f"{program.function_name}({head})"]
    rows: list[tuple[str, str, str, str]] = []       # (title, line, where, meaning)
    if program.params:
        rows.append(("parameters (read at every call):", "", "", ""))
        for p in program.params:
            rows.append(("", f"{p.name}: {type_text(p.facts)} = {p.label or 'parameter'}", "",
                         p.meaning if p.meaning != p.label else ""))
    if program.randoms:
        rows.append(("random (drawn anew at every call):", "", "", ""))
        for r in program.randoms:
            rows.append(("", f"{r.name}: {type_text(r.facts)} = random", "", r.meaning))
    named = [c for c in program.constants if not c.name[:1].isdigit() and c.name[:1] != "-"]
    if named:
        rows.append(("constants:", "", "", ""))
        for c in named:
            rows.append(("", f"{c.name}: {type_text(c.facts)} = {_value_text(c.value)}", "",
                         c.meaning))
    for title, backward in (("forward:", False), ("backward:", True)):
        steps = [s for s in program.steps if s.backward == backward]
        if not steps:
            continue
        if backward and program.root is not None:
            title = "backward, from ∂E/∂E = 1 (the chain rule, one line per rule of the table):"
        rows.append((title, "", "", ""))
        for step in steps:
            rhs = " ".join([step.rule, *(argument_text(a) for a in step.args)])
            rows.append(("", f"{step.name}: {type_text(step.facts)} = {rhs}", step.where,
                         step.meaning))
    if program.updates:
        rows.append(("then, outside the graph (state the program changes):", "", "", ""))
        for update, values in program.updates:
            call = f"{update.name}({', '.join(v.name for v in values)})"
            rows.append(("", call, update.label, update.meaning))
    width = max([len(r[1]) for r in rows if not r[0]] + [0])
    where_width = max([len(r[2]) for r in rows if not r[0]] + [0])
    for title, line, where, meaning in rows:
        if title:
            lines.append(f"  {title}")
        elif where or meaning:
            lines.append(f"    {line:<{width}}   {where:<{where_width}}  {meaning}".rstrip())
        else:
            lines.append(f"    {line}")
    if program.gradients:
        pairs = [f"{target.name} ← {'0' if value is None else value.name}"
                 for target, value in program.gradients]
        lines.append(f"  gradients: {', '.join(pairs)}")
    outs = ", ".join(o.name for o in program.outputs)
    lines.append(f"  returns: ({outs})" if program.out_is_tuple else f"  returns: {outs}")
    return "\n".join(lines)
