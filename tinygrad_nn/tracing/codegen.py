"""From a Program to Python source, compiled once into a function.

Each step becomes the lines of its rule, written out by ``inline`` for the kinds and shapes the
step sees (the same lines serve every step with the same rule and the same kinds of arguments,
so they are written once per program).  A rule that cannot be written out is called instead:
``ops.<helper>(...)``.  The function takes the arguments' and the parameters' data and returns
``(outputs, gradients)``; on an all-scalar program it is straight-line float arithmetic with
``math``, with no object made per step.

Three things make the tensor programs fast, and none changes a number:

* **Buffers.**  Where a step's line makes a new array (``a - b``, ``np.negative(x)``,
  ``x.dot(w.T)``), that array is a buffer made once and reused at every call
  (``np.subtract(a, b, out=_b3)``): the same NumPy operation writing into memory that exists
  already.  Only values that stay inside the call get buffers; what it returns (outputs and
  gradients) is new at every call, as in the eager engine.
* **In-place updates.**  The rules already update their own new array in place (the logistic's
  ``d = 1.0 - ans; d *= ans; d *= g``, the affine map's ``out = x·Wᵀ; out += b``); written out,
  those lines run on the buffer, so an affine map and the logistic's VJP each touch one array.
* **Values computed once** (``cse.py``).  A line that computes what an earlier line already
  holds reads that variable instead, and may take its array over when nothing reads it again:
  the MSE's VJP ``g6 = v6 - y; g6 *= c0 * 0.00625`` becomes ``g6 = v7_d; g6 *= ...``, the
  forward pass's difference scaled where it lies.  This runs on the filled-in lines of the
  tensor programs, before the buffers are chosen; the scalar programs are left as written.

When the program is made, it runs once on the example the function was traced on: every step's
value must equal, bit for bit, the value the engine's own rule gave (``tracer.py``), and the
buffered program must return the same results as the plain one.  A step whose written-out lines
disagree is called through its rule instead (none of the table's rules does, a test checks).
"""

from __future__ import annotations

import ast
import builtins
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import ops
from ..errors import TraceError
from .cse import repeats
from .folded import Dyn, Static
from .inline import inline
from .program import Input, Program, Step
from .rules import RuleSource, helper_source, rule_source

__all__ = ["Generated", "Update", "generate", "generate_update"]

MARK = "\x00"


@dataclass
class Generated:
    """The program's source, the function compiled from it, and the buffers it reuses."""

    source: str
    function: Callable[..., Any]
    buffers: dict[str, np.ndarray] = field(default_factory=dict)
    called: list[str] = field(default_factory=list)   # steps whose rule is called, not inlined
    fresh: tuple[bool, ...] = ()              # per result: an array made by this call alone
    update: Update | None = None              # the optimizer's update, written in after backward


@dataclass
class Update:
    """An optimizer's update for ``generate_update``: per gradient ``k`` of the program, the
    lines updating its parameter, its group (whose rate is the argument ``lr<group>``) and its
    state arrays by key (the example's); the function takes the rates, then the state arrays."""

    lines: dict[int, list[str]]
    group: dict[int, int]
    lr: dict[int, float]                      # group index -> its learning rate when traced
    state: dict[int, dict[str, np.ndarray]]

    @property
    def rate_groups(self) -> list[int]:                       # in argument order
        return sorted(set(self.group.values()))

    @property
    def state_arguments(self) -> list[tuple[int, str]]:       # (k, key), in argument order
        return [(k, key) for k in sorted(self.lines) for key in sorted(self.state[k])]


def generate(program: Program, values: dict[Any, Any] | None = None,
             buffers: bool = False) -> Generated:
    """Write ``program`` as Python and compile it.

    With ``values`` (the example's value of every step, from the tracer) the function is run on
    the example and must return the engine's results bit for bit (a step whose written-out
    lines disagree is found and called through its rule instead); with ``buffers`` as well,
    the arrays that stay inside a call are reused across calls.
    """
    writer = _Writer(program)
    plain = writer.compile(buffered=set())
    if values is None:
        return plain
    expected = [values.get(v) if v is not None else None for v in writer.result_values()]
    got = writer.call(plain.function, values)
    if got is not None and not _all_same(_flat(got), expected):
        wrong = writer.mismatches(writer.run_for_locals(values), values)
        writer.opaque.update(wrong)           # call those rules rather than write them out
        plain = writer.compile(buffered=set())
        got = writer.call(plain.function, values)
        if got is not None and not _all_same(_flat(got), expected):
            raise TraceError(f"compile: the code written for {program.function_name} does not "
                             f"reproduce the engine's results (steps {[s.name for s in wrong]})")
    plain.called = [s.name for s in program.steps if s in writer.opaque]
    if got is None:                           # the example raised where IEEE gives inf/NaN
        return plain
    plain.fresh = writer.fresh(_flat(got), [*writer.inputs(values),
                                            *writer.namespace.values()])
    if not buffers or not any(s.facts is not None and s.facts.kind == "array"
                              for s in program.steps):
        return plain
    local = writer.run_for_locals(values)
    chosen = writer.bufferable(local, [None if v is None else local.get(writer.ref(v))
                                       for v in writer.result_values()])
    if not chosen:
        return plain
    buffered = writer.compile(buffered=chosen, example=local)
    again = writer.call(buffered.function, values)
    if again is None or not _all_same(_flat(again), _flat(got)):
        return plain                          # (never seen) keep the plain program
    buffered.called, buffered.fresh = plain.called, plain.fresh
    return buffered


def generate_update(program: Program, values: dict[Any, Any], update: Update,
                    called: list[str]) -> Generated:
    """The program with an optimizer's update after its backward pass, which returns
    ``(outputs, None)``, or ``(outputs, gradients)`` when E or a gradient is not finite (then
    nothing is updated); checked with buffers and without on copies of the parameters."""
    writer = _Writer(program, update)
    writer.opaque.update(s for s in program.steps if s.name in called)
    local = writer.run_for_locals(values)
    outputs = [local.get(writer.ref(o)) for o in program.outputs]
    chosen = writer.bufferable(local, outputs) if local else set()
    results = []
    for buffered in (set(), chosen):
        generated = writer.compile(buffered, example=local if buffered else None, update=update)
        params = [np.array(values[p], copy=True) for p in program.params]
        states = [np.array(update.state[k][key], copy=True) for k, key in update.state_arguments]
        rates = [update.lr[j] for j in update.rate_groups]
        args = [values[a] for a in program.args]
        drawn = [values[a] for a in (*program.randoms, *(u for u, _ in program.updates))]
        with np.errstate(all="ignore"):
            outs, grads = generated.function(*args, *params, *drawn, *rates, *states)
        results.append([*outs, *params, *states, grads is None])
        held = [*args, *params, *states, *writer.namespace.values()]
        generated.fresh = writer.fresh(list(outs), held)
    if not _all_same(results[1], results[0]):
        raise TraceError(f"compile: the buffered update of {program.function_name} does not "
                         f"reproduce the plain one")      # (never seen)
    used = _names_in(generated.source)        # the plain program's scratch arrays go, unless
    for name in [n for n in writer.namespace if re.fullmatch(r"_[tu]\d+", n) and n not in used]:
        del writer.namespace[name]            # the buffered one reads them too
    generated.called = called
    generated.update = update
    return generated


# ----------------------------------------------------------------------------------------------
# Templates: one rule, written out once for one kind of arguments
# ----------------------------------------------------------------------------------------------


@dataclass
class _Template:
    """A step's lines with holes: ``parts`` alternates text and hole names ("a0", "t")."""

    parts: list[str]
    alias: int | None = None                  # the lines are just ``t = a<k>``

    def fill(self, holes: dict[str, str]) -> str:
        return "".join(holes[p] if i % 2 else p for i, p in enumerate(self.parts))


def _hole(name: str) -> ast.Name:
    return ast.Name(f"{MARK}{name}{MARK}", ast.Load())


def _template(code: list[ast.stmt]) -> _Template:
    text = ast.unparse(ast.fix_missing_locations(ast.Module(code, [])))
    text = "\n".join("    " + line for line in text.splitlines())
    parts = text.split(MARK)
    alias = None
    if len(code) == 1 and isinstance(code[0], ast.Assign) and isinstance(code[0].value, ast.Name):
        name = code[0].value.id
        if name.startswith(MARK + "a"):
            alias = int(name.strip(MARK)[1:])
    return _Template(parts, alias)


_BINARY_UFUNCS: dict[type[ast.operator], str] = {
    ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide",
    ast.MatMult: "matmul", ast.Pow: "power",
}


def _write_into_buffers(code: list[ast.stmt], first: int) -> tuple[list[ast.stmt], list[str]]:
    """Make each top-level line of a step that creates its result or one of its locals (a
    variable the step assigns once) write into a buffer instead (``out=``), the buffers named
    ``_b<first>``, ``_b<first + 1>``...  Returns the new lines and those variables, in order."""
    counts: dict[str, int] = {}
    for stmt in code:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        counts[t.id] = counts.get(t.id, 0) + 1
    out: list[ast.stmt] = []
    variables: list[str] = []
    for stmt in code:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name) and counts[stmt.targets[0].id] == 1):
            value = _with_out(stmt.value, ast.Name(f"_b{first + len(variables)}", ast.Load()))
            if value is not None:
                variables.append(stmt.targets[0].id)
                stmt = ast.Assign(stmt.targets, value)
        out.append(stmt)
    return out, variables


def _with_out(value: ast.expr, buffer: ast.expr) -> ast.expr | None:
    """The same computation written into ``buffer`` (None if it has no ``out=`` form)."""
    np_name = ast.Name("np", ast.Load())
    if isinstance(value, ast.BinOp) and type(value.op) in _BINARY_UFUNCS:
        ufunc = ast.Attribute(np_name, _BINARY_UFUNCS[type(value.op)], ast.Load())
        return ast.Call(ufunc, [value.left, value.right], [ast.keyword("out", buffer)])
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        ufunc = ast.Attribute(np_name, "negative", ast.Load())
        return ast.Call(ufunc, [value.operand], [ast.keyword("out", buffer)])
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
            and not any(k.arg == "out" for k in value.keywords):
        func = value.func
        is_ufunc = (isinstance(func.value, ast.Name) and func.value.id == "np"
                    and isinstance(getattr(np, func.attr, None), np.ufunc)
                    and len(value.args) == getattr(np, func.attr).nin and not value.keywords)
        is_dot = func.attr == "dot" and len(value.args) == 1 and not value.keywords
        is_sum = (func.attr == "sum" and not value.args
                  and [k.arg for k in value.keywords] == ["axis"])
        if is_ufunc or is_dot or is_sum:
            return ast.Call(func, value.args, [*value.keywords, ast.keyword("out", buffer)])
    return None


# ----------------------------------------------------------------------------------------------
# The writer
# ----------------------------------------------------------------------------------------------


class _Writer:
    """Writes a program's source, compiles it, runs it on the example."""

    def __init__(self, program: Program, update: Update | None = None) -> None:
        self.program = program
        self.update = update                  # the update the program will have, if any
        self.fusing = any(s.facts is not None and s.facts.kind == "array" for s in program.steps)
        self._shared: tuple[set[Step], dict[Step, list[_Line]]] | None = None
        self.namespace: dict[str, Any] = {"np": np, "math": math, "ops": ops,
                                          "__builtins__": builtins}
        self.bound: dict[int, str] = {}
        self.templates: dict[Any, _Template] = {}
        self.opaque: set[Step] = set()
        self.alias: dict[Step, str] = {}
        for const in program.constants:       # a finite float is written as its literal
            if not (type(const.value) is float and math.isfinite(const.value)):
                self.namespace[const.name] = const.value

    # -- names ---------------------------------------------------------------------------------

    def bind(self, value: Any) -> ast.expr:
        """A name for a trace-time object without a literal form (an index array)."""
        name = self.bound.get(id(value))
        if name is None:
            name = f"k{len(self.bound)}"
            self.bound[id(value)] = name
            self.namespace[name] = value
        return ast.Name(name, ast.Load())

    def ref(self, value: Any) -> str:
        """How the code reads a value: its name (or the name it is an alias of)."""
        if isinstance(value, Step):
            return self.alias.get(value, value.name)
        return str(value.name)

    # -- one step ------------------------------------------------------------------------------

    def step_template(self, step: Step) -> _Template:
        signature = tuple(_signature(a, self.program) for a in step.args)
        key = (step.rule, step.op.name if step.op else "", signature, step in self.opaque)
        template = self.templates.get(key)
        if template is None:
            template = _template(self._lines(step))
            self.templates[key] = template
        return template

    def step_texts(self) -> list[tuple[Step, str]]:
        """Each step's lines, its template filled in, for the steps that have lines (a step
        whose lines would only rename a value is an alias: ``ref`` reads the value instead)."""
        self.alias = {}
        texts = []
        for step in self.program.steps:
            template = self.step_template(step)
            holes = {"t": step.name}
            for k, arg in enumerate(step.args):
                if not isinstance(arg, Static):
                    holes[f"a{k}"] = self.ref(arg)
            if template.alias is not None:
                self.alias[step] = holes[f"a{template.alias}"]
            else:
                texts.append((step, template.fill(holes)))
        return texts

    def shared(self) -> dict[Step, list[_Line]]:
        """Each step's lines as statements, where a line that computes a value an earlier line
        already holds reads that variable instead (``cse.repeats``, over the whole function
        with its update and its return, so that every later reader is seen)."""
        if self._shared is not None and self._shared[0] == self.opaque:
            return self._shared[1]
        texts = self.step_texts()
        source = [f"def {self.program.function_name}():"]
        spans = []
        for step, text in texts:
            start = len(source) + 1               # ast's line numbers start at 1
            source.extend(text.splitlines())
            spans.append((step, start, len(source)))
        source.extend(self.tail(self.update, set()))
        body = ast.parse("\n".join(source)).body[0].body      # type: ignore[attr-defined]
        found = repeats(body)
        by_line = {stmt.lineno: (i, stmt) for i, stmt in enumerate(body)}
        owner = {name: step.name for step, start, end in spans
                 for number in range(start, end + 1) if number in by_line
                 for name in _assigned_names(by_line[number][1])}
        shared: dict[Step, list[_Line]] = {}
        for step, start, end in spans:
            lines = []
            for number in range(start, end + 1):
                if number not in by_line:
                    continue
                i, stmt = by_line[number]
                held = found.get(i)
                if held is not None:
                    assert isinstance(stmt, ast.Assign)
                    lines.append(_Line(ast.Assign(stmt.targets, ast.Name(held, ast.Load())),
                                       f"{ast.unparse(stmt.value)}, computed for {owner[held]}"))
                else:
                    lines.append(_Line(stmt))
            shared[step] = lines
        self._shared = (set(self.opaque), shared)
        return shared

    def _lines(self, step: Step) -> list[ast.stmt]:
        target = f"{MARK}t{MARK}"
        holes: list[Any] = []
        for k, arg in enumerate(step.args):
            if isinstance(arg, Static):
                holes.append(arg)
            else:
                holes.append(Dyn(_hole(f"a{k}"), arg.facts))
        if step.rule == "accumulate":
            total: ast.expr = holes[0].code
            for hole in holes[1:]:
                total = ast.BinOp(total, ast.Add(), hole.code)
            return [ast.Assign([ast.Name(target, ast.Store())], total)]
        source = self._source(step)
        code = None
        if source is not None and step not in self.opaque:
            code = inline(source, holes, target, self.bind)
        if code is None:
            code = [ast.Assign([ast.Name(target, ast.Store())], self._call(step, holes))]
        facts = step.facts
        if not step.backward and facts is not None and facts.kind == "array" and not facts.shape \
                and not _ends_in_asarray(code, target):
            # as value._record does: a NumPy scalar result is stored as a 0-d array
            asarray = ast.Attribute(ast.Name("np", ast.Load()), "asarray", ast.Load())
            code.append(ast.Assign([ast.Name(target, ast.Store())],
                                   ast.Call(asarray, [ast.Name(target, ast.Load())], [])))
        return code

    def _source(self, step: Step) -> RuleSource | None:
        if step.rule == "sum_to":
            return helper_source("sum_to")
        assert step.op is not None
        return rule_source(step.op, step.which)

    def _call(self, step: Step, holes: list[Any]) -> ast.expr:
        """``rule(*args)``: the rule object itself, for a rule not written out."""
        if step.rule == "sum_to":
            func: Any = ops.sum_to
        else:
            assert step.op is not None
            func = step.op.forward if step.which < 0 else step.op.vjps[step.which]
        name = getattr(func, "__name__", "")
        if getattr(ops, name, None) is func:
            callee: ast.expr = ast.Attribute(ast.Name("ops", ast.Load()), name, ast.Load())
        else:
            callee = self.bind(func)
        args = [h.code if isinstance(h, Dyn) else _static_code(h, self.bind) for h in holes]
        return ast.Call(callee, args, [])

    # -- the function --------------------------------------------------------------------------

    def lines(self, buffered: set[Step], example: dict[str, Any] | None,
              update: Update | None = None) -> list[str]:
        """The function's source lines: a comment and the rule's lines per step (and the
        optimizer's update after them)."""
        program = self.program
        updates = [u for u, _ in program.updates]
        names = [a.name for a in (*program.args, *program.params, *program.randoms, *updates)]
        if update is not None:
            names += [f"lr{j}" for j in update.rate_groups]
            names += [_state_name(program, k, key) for k, key in update.state_arguments]
        out = [f"def {program.function_name}({', '.join(names)}):"]
        shared = self.shared() if self.fusing else None
        arena: list[tuple[Step, str, np.ndarray]] = []   # the updated gradients' buffers
        updated = {program.gradients[k][1] for k in update.lines} if update else set()
        buffer_count = 0
        phase = None
        for step, text in self.step_texts():
            if step.backward != phase:
                phase = step.backward
                out.append("    # backward: the chain rule, from E to the parameters"
                           if phase else "    # forward")
            note = "  ".join(p for p in (step.rule, step.where, step.meaning) if p)
            out.append(f"    # {step.name} = {note}")
            if shared is None:
                out.append(text)
                continue
            lines = shared[step]
            if step in buffered:
                code, variables = _write_into_buffers([line.code for line in lines],
                                                      buffer_count)
                lines = [_Line(c, line.comment) for c, line in zip(code, lines)]
                for variable in variables:
                    name = f"_b{buffer_count}"
                    buffer_count += 1
                    if example is None:
                        continue
                    value = example[variable]
                    if step in updated and variable == step.name:
                        arena.append((step, name, value))
                    else:
                        self.namespace[name] = _buffer_like(value)
            out.extend(line.text() for line in lines)
        in_arena = self.place_in_arena(arena) if update is not None else set()
        return out + self.tail(update, in_arena)

    def tail(self, update: Update | None, in_arena: set[Step]) -> list[str]:
        """The lines after the steps: the changes of state, then the optimizer's update or the
        return."""
        out = []
        for change, values in self.program.updates:   # changes of state, from the values above
            out.append(f"    # {change.name}: {change.label}  {change.meaning}".rstrip())
            out.append(f"    {change.name}({', '.join(self.ref(v) for v in values)})")
        if update is not None:
            return out + self.update_lines(update, in_arena)
        out.append(f"    return {self.returns()}")
        return out

    def place_in_arena(self, arena: list[tuple[Step, str, np.ndarray]]) -> set[Step]:
        """Allocate the updated gradients' buffers as parts of one array, ``_grads`` (those of
        the first one's dtype; any other on its own); returns the steps so placed."""
        if not arena:
            return set()
        dtype = arena[0][2].dtype
        placed = [(step, name, value) for step, name, value in arena if value.dtype == dtype]
        flat = np.empty(sum(value.size for _, _, value in placed), dtype)
        self.namespace["_grads"] = flat
        start = 0
        for _, name, value in placed:
            self.namespace[name] = flat[start:start + value.size].reshape(value.shape)
            start += value.size
        for _, name, value in arena:
            if value.dtype != dtype:
                self.namespace[name] = _buffer_like(value)
        return {step for step, _, _ in placed}

    def update_lines(self, update: Update, in_arena: set[Step]) -> list[str]:
        """The optimizer's update after the backward pass, applied only when E and every
        gradient it reads are finite (else the gradients are returned and nothing changes)."""
        program = self.program
        assert program.root is not None, "update_lines: a program without a backward pass"
        tests = [f"math.isfinite({self.ref(program.root)})"]
        if in_arena:
            tests.append("math.isfinite(np.dot(_grads, _grads))")   # Σg²: NaN or ±inf if one is
        for k in sorted(update.lines):
            gradient = program.gradients[k][1]
            if gradient not in in_arena:
                tests.append(f"math.isfinite(np.vdot({self.ref(gradient)}, {self.ref(gradient)}))")
        out = ["    # update: the optimizer's step, only when E and every gradient are finite",
               f"    if not ({' and '.join(tests)}):",
               f"        return {self.returns()}"]
        returned = {self.ref(o) for o in program.outputs}
        readers = Counter(self.ref(program.gradients[k][1]) for k in update.lines)
        names_of: dict[int, dict[str, str]] = {}
        for k in sorted(update.lines):
            target, gradient = program.gradients[k]
            names = {"p": target.name, "g": self.ref(gradient), "lr": f"lr{update.group[k]}"}
            names.update({key: _state_name(program, k, key) for key in update.state[k]})
            # A gradient this call wrote into its own buffer, that nothing reads after this
            # update: its update may scale it in place (no scratch array) when done with it.
            if gradient in in_arena and readers[names["g"]] == 1 and \
                    names["g"] not in returned and _done_with_g(update.lines[k]):
                names["u"] = names["g"]
            names_of[k] = names
        # When every gradient in the arena starts its update with g ← η·g in place (plain SGD)
        # at one rate, that line runs once over the whole arena instead of once per gradient.
        scaled = {k for k, names in names_of.items() if names.get("u") == names["g"]
                  and update.lines[k][0] == "np.multiply(g, lr, out=u)"}
        rates = {names_of[k]["lr"] for k in scaled}
        at_once = bool(in_arena) and len(rates) == 1 and \
            {program.gradients[k][1] for k in scaled} == in_arena
        if at_once:
            out += ["    # ∂E/∂W ← η ∂E/∂W for every parameter at once: their gradients are one "
                    "array", f"    np.multiply(_grads, {rates.pop()}, out=_grads)"]
        for k in sorted(update.lines):
            target = program.gradients[k][0]
            facts = target.facts
            assert facts is not None
            names = names_of[k]
            lines = update.lines[k][1:] if at_once and k in scaled else update.lines[k]
            out.append(f"    # {target.name} ← the optimizer's step with {names['g']}  "
                       f"{target.meaning}")
            for scratch in ("t", "u"):        # scratch arrays, made once
                if scratch not in names and any(scratch in _names_in(line) for line in lines):
                    names[scratch] = f"{scratch}_{target.name}"
                    self.namespace[f"_{scratch}{k}"] = np.empty(facts.shape, facts.dtype)
                    out.append(f"    {scratch}_{target.name} = _{scratch}{k}")
            out += ["    " + _renamed(line, names) for line in lines]
        out.append(f"    return ({', '.join(self.ref(o) for o in program.outputs)},), None")
        return out

    def returns(self) -> str:
        program = self.program
        outs = ", ".join(self.ref(o) for o in program.outputs)
        grads = ", ".join("None" if g is None else self.ref(g) for _, g in program.gradients)
        return f"({outs},), ({grads}{',' if program.gradients else ''})"

    def compile(self, buffered: set[Step], example: dict[str, Any] | None = None,
                update: Update | None = None) -> Generated:
        source = "\n".join(self.lines(buffered, example, update)) + "\n"
        function = self._exec(source)
        buffers = {k: v for k, v in self.namespace.items()
                   if k.startswith("_b") and k in source}
        return Generated(source, function, buffers)

    def _exec(self, source: str) -> Callable[..., Any]:
        scope: dict[str, Any] = {}
        code = builtins.compile(source, f"<program {self.program.function_name}>", "exec")
        exec(code, self.namespace, scope)
        return scope[self.program.function_name]

    # -- checking it on the example ------------------------------------------------------------

    def inputs(self, values: dict[Any, Any]) -> list[Any]:
        program = self.program
        updates = [u for u, _ in program.updates]
        return [values[a] for a in (*program.args, *program.params, *program.randoms, *updates)]

    def call(self, function: Callable[..., Any], values: dict[Any, Any]) -> Any:
        """The function's results on the example (None where Python raised on a float: the
        engine reran that rule on NumPy floats, and so will a compiled call, eagerly)."""
        try:
            with np.errstate(all="ignore"):
                return function(*self.inputs(values))
        except (ZeroDivisionError, OverflowError):
            return None

    def run_for_locals(self, values: dict[Any, Any]) -> dict[str, Any]:
        """Every variable of the plain program after one run on the example."""
        source = "\n".join(self.lines(set(), None)[:-1] + ["    return locals()"]) + "\n"
        return self.call(self._exec(source), values) or {}

    def mismatches(self, local: dict[str, Any], values: dict[Any, Any]) -> list[Step]:
        """The steps whose written-out value differs from the engine's (bit for bit)."""
        wrong = []
        for step in self.program.steps:
            expected = values.get(step)
            name = self.ref(step)
            if expected is None or name not in local:
                continue
            if not _same(local[name], expected):
                wrong.append(step)
        return wrong

    def result_values(self) -> list[Any]:
        """What the program returns: its outputs, then its gradients (None: no gradient)."""
        program = self.program
        return [*program.outputs, *(g for _, g in program.gradients)]

    @staticmethod
    def fresh(results: list[Any], held: list[Any]) -> tuple[bool, ...]:
        """Per result: True for an array this call made that nothing else (``held``: the
        inputs, the buffers) holds: it can be handed out without a copy, as the engine hands
        out an array a rule made."""
        flags = []
        for i, r in enumerate(results):
            own = (type(r) is np.ndarray and r.base is None and r.flags.writeable
                   and not any(r is x for x in held)
                   and not any(r is other for j, other in enumerate(results) if j != i))
            flags.append(own)
        return tuple(flags)

    def bufferable(self, local: dict[str, Any], results: list[Any]) -> set[Step]:
        """The steps whose values stay inside the call: they may write into reused buffers.

        ``local`` holds every variable of one run, ``results`` what that run returned."""
        if not local or not self.fusing:
            return set()
        escaping = [r for r in results if isinstance(r, np.ndarray)]
        chosen = set()
        for step, lines in self.shared().items():
            _, variables = _write_into_buffers([line.code for line in lines], 0)
            examples = [local.get(v) for v in variables]
            if not examples or any(type(e) is not np.ndarray or e.ndim == 0 or e.base is not None
                                   for e in examples):
                continue
            if any(np.may_share_memory(e, r) for e in examples for r in escaping):
                continue
            chosen.add(step)
        return chosen


@dataclass
class _Line:
    """One top-level statement of a step, and a comment to print after it."""

    code: ast.stmt
    comment: str = ""

    def text(self) -> str:
        code = ast.fix_missing_locations(ast.Module([self.code], []))
        lines = ["    " + line for line in ast.unparse(code).splitlines()]
        if self.comment:
            lines[0] += f"  # {self.comment}"
        return "\n".join(lines)


def _ends_in_asarray(code: list[ast.stmt], target: str) -> bool:
    """True when the lines already end in ``target = np.asarray(...)``."""
    last = code[-1]
    return (isinstance(last, ast.Assign) and isinstance(last.targets[0], ast.Name)
            and last.targets[0].id == target and isinstance(last.value, ast.Call)
            and isinstance(last.value.func, ast.Attribute) and last.value.func.attr == "asarray")


def _assigned_names(stmt: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(stmt)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _buffer_like(example: Any) -> np.ndarray:
    return np.empty_like(example, order="C") if example.flags.c_contiguous else \
        np.empty_like(example)


def _signature(arg: Any, program: Program) -> Any:
    """What a step's template depends on for one argument: its facts, or a parameter's value."""
    if isinstance(arg, Static):
        return ("static", _hashable(arg.value))
    if isinstance(arg, Input) and arg.kind == "const" and type(arg.value) is float \
            and math.isfinite(arg.value):
        return ("float literal",)
    return ("value", id(arg.facts)) if arg.facts is not None else ("value", None)


def _hashable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, *(_hashable(v) for v in value))
    if isinstance(value, slice):
        return ("slice", value.start, value.stop, value.step)
    try:
        hash(value)
    except TypeError:
        return ("object", id(value))
    return value


def _static_code(static: Static, bind: Callable[[Any], ast.expr]) -> ast.expr:
    value = static.value
    if type(value) in (int, float, str, bool, type(None)) and not (
            type(value) is float and not math.isfinite(value)):
        return ast.Constant(value)
    if type(value) is tuple and all(type(v) in (int, bool, type(None)) for v in value):
        return ast.Tuple([ast.Constant(v) for v in value], ast.Load())
    return bind(value)


def _same(a: Any, b: Any) -> bool:
    """Bit for bit the same value, of the same type (a float is not a NumPy float)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return bool(a.shape == b.shape and a.dtype == b.dtype and
                    np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes())
    if isinstance(a, (float, np.floating)):
        return bool(np.asarray(a).tobytes() == np.asarray(b).tobytes())
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _flat(result: Any) -> list[Any]:
    outs, grads = result
    return [*outs, *grads]


def _all_same(got: list[Any], expected: list[Any]) -> bool:
    return len(got) == len(expected) and all(
        e is None or _same(g, e) for g, e in zip(got, expected))


def _state_name(program: Program, k: int, key: str) -> str:
    """The argument holding state entry ``key`` of the parameter of gradient ``k``."""
    return f"{key}_{program.gradients[k][0].name}"


def _names_in(line: str) -> set[str]:
    """The names a line of code reads or writes."""
    return {node.id for node in ast.walk(ast.parse(line)) if isinstance(node, ast.Name)}


def _done_with_g(lines: list[str]) -> bool:
    """True when an update's lines read the gradient ``g`` no more once they write the scratch
    array ``u`` (its first line naming ``u`` writes it, reading ``g`` at most elementwise): then
    ``u`` may be the gradient's own buffer, scaled in place as a hand-written step does."""
    first = next((i for i, line in enumerate(lines) if "u" in _names_in(line)), None)
    return first is not None and not any("g" in _names_in(line) for line in lines[first + 1:])


def _renamed(line: str, names: dict[str, str]) -> str:
    """One line of an optimizer's update with its names (p, g, lr...) replaced."""
    tree = ast.parse(line)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in names:
            node.id = names[node.id]
    return ast.unparse(tree)
