"""``trace``: run a function once on Values and record what it computes as a ``Program``.

The forward pass is the recorded graph in topological order (``graph.toposort``), one step per
op.  The backward pass is the engine's own reverse pass written down instead of run: the same
loop as ``value.backpropagate`` over ``reversed(toposort(E))``, one step per chain-rule step
``chain_rule_step(node, i, rule_args(node, g))`` (the rule's VJP, then ``sum_to`` where the op
broadcast), and one ``accumulate`` step where a node receives gradients from several children,
summed in the order the engine sums them.  A gradient is handed only to the nodes that lead to
a gradient the program returns (where ``backward`` hands one to every node that requires grad):
an argument given as data, say, gets none, and no step is computed for it.  The engine also
runs each step once here, on the example's data: those values give every step its shape and
dtype, and ``codegen`` checks the program it writes against them.  No mask is frozen: a step is
a rule of the table, evaluated again on the data of every call (``relu``'s ``x > 0``, ``max``'s
ties).  A dropout mask is the one random constant: an input of the program (``randoms``), drawn
anew at every call by the function the layer noted it with (``context.random_constant``).  A
change of state made from values of the graph (BatchNorm's running statistics, noted by
``context.state_update``) is an input too (``updates``), which the program calls last with its
own values of those nodes.
"""

from __future__ import annotations

import functools
import inspect
import keyword
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..context import STATE, TraceNotes
from ..errors import TraceError
from ..graph import toposort
from ..value import Value, chain_rule_step, rule_args
from .codegen import generate
from .folded import Facts, Static
from .program import Input, Program, Step

__all__ = ["Traced", "build", "skip_update", "trace"]


def trace(f: Callable[..., Any], *example_args: Any) -> Program:
    """Run ``f(*example_args)`` once and return its forward and backward pass as a Program.

    ``f`` takes Values (numbers and arrays are wrapped for it) and returns a Value or a tuple of
    Values.  When the (first) result has one entry and depends on a parameter (a leaf Value
    that requires grad, which ``f`` closes over) or on an argument that requires grad, the
    program also holds the backward pass ``E.backward()`` would run, ending in the gradients of
    those leaves.  ``str(program)`` shows it; ``program.source`` is its Python code.
    """
    traced = build(f, example_args, "trace")
    traced.program.generated = generate(traced.program, traced.values, buffers=True)
    return traced.program


@dataclass
class Traced:
    """A program with the values its steps took on the example (for checking the code written
    for it), and the structure of the forward graph (for spotting data-dependent control flow)."""

    program: Program
    values: dict[Any, Any]                    # Step or Input -> its value on the example
    structure: list[tuple[Any, ...]]


def build(f: Callable[..., Any], args: Sequence[Any], fn: str, backward: bool = True,
          wrt: tuple[int, ...] | None = None) -> Traced:
    """Trace ``f`` on ``args``.  ``backward``: record the backward pass (when the result allows
    it).  ``wrt``: the positions of the arguments to differentiate (the function transforms'
    ``argnums``; parameters then get no gradient); None: eager ``backward()``'s choice, every
    parameter and every argument Value that requires grad.  ``fn`` names the caller in errors.
    """
    if not callable(f):
        raise TypeError(f"{fn}: expected a function, got {type(f).__name__} {f!r}")
    names = _argument_names(f, len(args))
    leaves, wants = _argument_leaves(args, names, fn)
    recording, noting = STATE.grad_enabled, STATE.trace_notes
    notes = TraceNotes(fn)
    STATE.grad_enabled = True                 # record the graph even inside no_grad()
    STATE.trace_notes = notes                 # random constants (dropout masks) are noted
    try:
        result = f(*leaves)
    finally:
        STATE.grad_enabled, STATE.trace_notes = recording, noting
    outputs, is_tuple = _outputs(result, fn)
    wanted = [i for i, want in enumerate(wants) if want] if wrt is None else list(wrt)
    builder = _Builder(leaves, names, wanted, differentiate_params=wrt is None,
                       random=notes.random)
    builder.forward(outputs)
    root = outputs[0]
    if backward and root.requires_grad and root.size == 1:
        builder.backward(root)
    builder.state_updates(notes.updates, fn)
    program = builder.finish(outputs, is_tuple, getattr(f, "__name__", "program"))
    return Traced(program, builder.values, builder.structure)


# ----------------------------------------------------------------------------------------------
# Arguments and results
# ----------------------------------------------------------------------------------------------


_RESERVED = re.compile(r"^([vgpcbrku]\d|g_|_)")
_NAMESPACE = {"np", "math", "ops"}


def _argument_names(f: Callable[..., Any], n: int) -> list[str]:
    """The names of ``f``'s first ``n`` parameters where they can name program variables, else
    ``x0``, ``x1``... (a name that looks like the program's own ``v3`` or ``g_x`` is not used)."""
    try:
        params = [p for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = []
    for i in range(n):
        name = params[i].name if i < len(params) else ""
        if (not name.isidentifier() or keyword.iskeyword(name) or _RESERVED.match(name)
                or name in _NAMESPACE or name in names):
            name = f"x{i}"
        names.append(name)
    return names


def _argument_leaves(args: Sequence[Any], names: list[str], fn: str
                     ) -> tuple[list[Value], list[bool]]:
    """A new leaf per argument for ``f`` to run on (recorded, so every op that reads it is
    seen), and whether each argument asks for a gradient (a Value that requires grad)."""
    leaves, wants = [], []
    for i, (arg, name) in enumerate(zip(args, names)):
        if isinstance(arg, Value):
            data, want = arg.data, arg.requires_grad
        else:
            data, want = arg, False
        try:
            leaves.append(Value(data, requires_grad=True, name=name))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{fn}: argument {i} ({name}): {exc}") from None
        wants.append(want)
    return leaves, wants


def _outputs(result: Any, fn: str) -> tuple[list[Value], bool]:
    if isinstance(result, Value):
        return [result], False
    if isinstance(result, tuple) and result and all(isinstance(r, Value) for r in result):
        return list(result), True
    got = type(result).__name__
    if isinstance(result, tuple):
        got = "a tuple of " + ", ".join(type(r).__name__ for r in result) if result else \
            "an empty tuple"
    raise TraceError(f"{fn}: the function must return a Value or a tuple of Values, got {got}")


# ----------------------------------------------------------------------------------------------
# Building the steps
# ----------------------------------------------------------------------------------------------


_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_ACTIVATIONS = {"sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax", "log_softmax"}


class _Builder:
    """Turns the recorded graph into steps, with the example's value of each."""

    def __init__(self, leaves: list[Value], names: list[str], wanted_args: list[int],
                 differentiate_params: bool, random: list[tuple[Any, Any, str]]) -> None:
        self.values: dict[Any, Any] = {}
        self.draws = {id(note[0]): note for note in random}
        self.randoms: list[Input] = []                # random constants, drawn at every call
        self.random_draws: list[Any] = []
        self.updates: list[tuple[Input, list[Any]]] = []   # state updates, made after a call
        self.update_functions: list[Any] = []
        self.args = [Input("arg", i, Facts.of(leaf.data), label=name)
                     for i, (leaf, name) in enumerate(zip(leaves, names))]
        for leaf, arg in zip(leaves, self.args):
            self.values[arg] = leaf.data
        self.arg_of = {leaf: arg for leaf, arg in zip(leaves, self.args)}
        self.wanted: dict[Any, None] = {self.args[i]: None for i in wanted_args}
        self.params_differentiated = differentiate_params
        self.params: list[Input] = []
        self.param_values: list[Value] = []
        self.constants: list[Input] = []
        self.of: dict[Value, Input | Step] = {}       # graph node -> what holds its value
        self.steps: list[Step] = []
        self.structure: list[tuple[Any, ...]] = []
        self.symbol: dict[Value, str] = {}
        self.grads: dict[Any, Any] = {}               # wanted Input -> value of its gradient
        self.root: Any = None
        self.root_order: list[Value] = []             # toposort of the (first) result
        self.reaches: set[Value] = set()              # nodes that lead to a wanted gradient
        self.layers = 0

    # -- forward -----------------------------------------------------------------------------

    def forward(self, outputs: list[Value]) -> None:
        order = toposort(outputs[0])
        self.root_order = list(order)                 # what backward walks, reversed
        seen = set(order)
        for out in outputs[1:]:
            for node in toposort(out):
                if node not in seen:
                    seen.add(node)
                    order.append(node)
        position = {node: k for k, node in enumerate(order)}
        for node in order:
            if node.op is None:
                self.of[node] = held = self._leaf(node)
                self.structure.append(self._leaf_structure(node))
                if held in self.wanted:
                    self.reaches.add(node)
                continue
            if not self.reaches.isdisjoint(node.parents):
                self.reaches.add(node)
            for v in (node, *node.parents):           # data assigned since the op ran
                if v.version > node.recorded_at:      # (the stamps backward checks too)
                    raise TraceError(
                        f"trace: the function replaces the data of a Value "
                        f"{_describe(v)} after an op has read it (p.data = ..., "
                        f"p.data += ...); a program reads each input once per call, so such "
                        f"changes must happen outside it")
            args: tuple[Any, ...] = tuple([self.of[p] for p in node.parents])
            if node.params:
                args += tuple(map(Static, node.params))
            step = Step(node.op.name, args, Facts.of(node.data), False, node.op,
                        where=_where(node), meaning=self._forward_symbol(node))
            self.steps.append(step)
            self.of[node] = step
            self.values[step] = node.data
            self.structure.append((node.op.name, tuple([position[p] for p in node.parents]),
                                   _comparable(node.params) if node.params else ()))

    def _leaf(self, node: Value) -> Input:
        if node in self.arg_of:
            return self.arg_of[node]
        if node.requires_grad:
            param = Input("param", len(self.params), Facts.of(node.data), label=node.name or "")
            self.params.append(param)
            self.param_values.append(node)
            if self.params_differentiated:
                self.wanted[param] = None
            self.values[param] = node.data
            return param
        random = self.draws.get(id(node.data))
        if random is not None and random[0] is node.data:     # a dropout mask: a new one per call
            held = Input("random", len(self.randoms), Facts.of(node.data),
                         label=node.name or "", meaning=random[2])
            self.randoms.append(held)
            self.random_draws.append(random[1])
            self.values[held] = node.data
            return held
        const = Input("const", len(self.constants), Facts.of(node.data), value=node.data,
                      label=node.name or "")
        self.constants.append(const)
        self.values[const] = node.data
        return const

    def _leaf_structure(self, node: Value) -> tuple[Any, ...]:
        held = self.of[node]
        assert isinstance(held, Input)
        if held.kind == "const":                      # its value is part of the program
            return ("const", _comparable(node.data))
        return (held.kind, held.index)

    def _forward_symbol(self, node: Value) -> str:
        """The tutorial's name for a value (seed 000): net X_j, out X_j, E; W_l, B_j for the
        parameters of the l-th affine map."""
        symbol = node.name or ""
        assert node.op is not None
        if node.op.name == "linear":
            self.layers += 1
            k = self.layers
            symbol = symbol or f"net X{str(k + 1).translate(_SUB)}"
            inputs = list(node.parents)
            for parent, text in zip(inputs[1:], (f"W{str(k).translate(_SUB)}",
                                                 f"B{str(k + 1).translate(_SUB)}")):
                self.symbol.setdefault(parent, text)
            if k == 1:
                self.symbol.setdefault(inputs[0], inputs[0].name or "X₁")
        elif node.op.name in _ACTIVATIONS and not symbol:
            parent_symbol = self.symbol.get(node.parents[0], "")
            if parent_symbol.startswith("net "):
                symbol = "out " + parent_symbol[4:]
        self.symbol[node] = symbol
        return symbol

    def state_updates(self, updates: list[tuple[Any, tuple[Any, ...], str, str]],
                      fn: str) -> None:
        """The changes of state the function made from values of its graph (BatchNorm's running
        statistics): inputs of the program, called with the program's values of those nodes."""
        for update, values, meaning, where in updates:
            if not all(v in self.of for v in values):
                raise TraceError(f"{fn}: {where or 'the function'} updates state from a value "
                                 f"the result does not depend on, which the program does not "
                                 f"compute; use that value in the result, or do not compile "
                                 f"this function")
            held = Input("update", len(self.updates), None, label=where, meaning=meaning)
            self.updates.append((held, [self.of[v] for v in values]))
            self.update_functions.append(update)
            self.values[held] = skip_update           # the example's run made it already

    # -- backward: value.backpropagate's loop, written down ------------------------------------

    def backward(self, root: Value) -> None:
        seed = root._seed(None)
        if type(seed) is np.ndarray:
            seed.flags.writeable = False              # a constant of the program: never written
        seed_input = Input("const", len(self.constants), Facts.of(seed), value=seed,
                           meaning="∂E/∂E = 1")
        self.constants.append(seed_input)
        self.values[seed_input] = seed
        self.root = self.of[root]
        if not self.root.meaning:
            self.root.meaning = "E"
        received: dict[Value, list[Any]] = {root: [seed_input]}
        for node in reversed(self.root_order):        # toposort(root), as backpropagate walks it
            parts = received.pop(node, None)
            if not parts:                             # a constant: no gradient flows into it
                continue
            g = self._accumulate(node, parts)
            held = self.of[node]
            if held in self.wanted:
                self.grads[held] = g
            if node.op is None:
                continue
            args = rule_args(node, self.values[g])
            assert isinstance(held, Step)
            step_args = (g, held, *held.args)         # g, ans, the inputs, the op's parameters
            for i, parent in enumerate(node.parents):
                if parent in self.reaches:            # (backward: parent.requires_grad)
                    step = self._chain_rule_step(node, i, args, step_args, held.where)
                    received.setdefault(parent, []).append(step)

    def _accumulate(self, node: Value, parts: list[Any]) -> Any:
        """∂E/∂node: the one gradient it received, or the sum of several, in arrival order."""
        held = self.of[node]
        for part in parts:
            if isinstance(part, Step):
                part.grad_of = held
        if len(parts) == 1:
            return parts[0]
        total = functools.reduce(lambda a, b: a + b, [self.values[p] for p in parts])
        step = Step("accumulate", tuple(parts), Facts.of(total), True, where=_where(node),
                    grad_of=held, total=True)
        self.steps.append(step)
        self.values[step] = total
        return step

    def _chain_rule_step(self, node: Value, i: int, args: tuple[Any, ...],
                         step_args: tuple[Any, ...], where: str) -> Step:
        """The step for edge (node, input i): the rule's VJP, summed back where it broadcast."""
        op = node.op
        assert op is not None
        local = chain_rule_step(node, i, args)        # the engine's own step, as backward runs it
        parent_data, data = node.parents[i].data, node.data
        # a broadcasting op's VJP has the output's shape: summed back where the input's differs
        summed = op.broadcasts and type(data) is not float and (
            type(parent_data) is float or parent_data.shape != data.shape)
        raw: Any = local
        if summed:
            try:
                raw = op.vjps[i](*args)               # the VJP before its sum over broadcast axes
            except (ZeroDivisionError, OverflowError):
                raw = None
        vjp = Step(f"{op.name}.vjp[{i}]", step_args, Facts.of(local if raw is None else raw),
                   True, op, i, where=where)
        self.steps.append(vjp)
        self.values[vjp] = raw
        if summed and raw is not None:
            step = Step("sum_to", (vjp, step_args[2 + i]), Facts.of(local), True, where=where)
            self.steps.append(step)
            self.values[step] = local
            return step
        return vjp

    # -- the program ---------------------------------------------------------------------------

    def finish(self, outputs: list[Value], is_tuple: bool, function_name: str) -> Program:
        for node, held in self.of.items():            # symbols the forward pass gave leaves
            if isinstance(held, Input) and not held.meaning:
                held.meaning = self.symbol.get(node, "") or (
                    held.label if held.kind == "param" else "")
        gradients = [(target, self.grads.get(target)) for target in self.wanted]
        name = function_name if function_name.isidentifier() else "program"
        program = Program(self.args, self.params, self.param_values, self.constants, self.steps,
                          [self.of[o] for o in outputs], is_tuple, gradients, self.root,
                          function_name="program" if name == "<lambda>" else name,
                          randoms=self.randoms, random_draws=self.random_draws,
                          updates=self.updates, update_functions=self.update_functions)
        _name_values(program)
        return program


def skip_update(*values: Any) -> None:
    """A state update not made: on the calls where the function itself ran (and made it)."""


_FROM_SUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def _name_values(program: Program) -> None:
    """Give every value its name: arguments keep theirs, p0.. parameters, c0.. constants (a
    finite float constant is its own literal), v1.. forward values, g.. their gradients."""
    for arg in program.args:
        arg.name = arg.label
    for k, param in enumerate(program.params):
        param.name = f"p{k}"
    for k, random in enumerate(program.randoms):
        random.name = f"r{k}"
    for k, (update, _) in enumerate(program.updates):
        update.name = f"u{k}"
    count = 0
    for const in program.constants:
        value = const.value
        if type(value) is float and math.isfinite(value):
            const.name = repr(value)
        else:
            const.name = f"c{count}"
            count += 1
    forward = [s for s in program.steps if not s.backward]
    for k, step in enumerate(forward, 1):
        step.name = f"v{k}"
    parts: dict[Any, list[Step]] = {}           # value -> the gradients it received
    totals: dict[Any, Step] = {}                # value -> their sum, where there are several
    for step in program.steps:
        if step.total:
            totals[step.grad_of] = step
        elif step.grad_of is not None:
            parts.setdefault(step.grad_of, []).append(step)
    for target, received in parts.items():
        base = _gradient_name(target)
        meaning = gradient_meaning(target.meaning or target.name)
        total = totals.get(target)
        if total is None:                       # one gradient: it is the whole of ∂E/∂target
            received[0].name, received[0].meaning = base, meaning
        else:
            total.name, total.meaning = base, meaning
            for k, part in enumerate(received, 1):
                part.name, part.meaning = f"{base}_{k}", f"part of {meaning}"
        for part in received:                   # a VJP before its sum over broadcast axes
            if part.rule == "sum_to":
                vjp = part.args[0]
                vjp.name = f"{part.name}_0"
                vjp.meaning = f"{part.meaning}, before the sum over the broadcast axes"


def gradient_meaning(symbol: str) -> str:
    """What the gradient of a value named ``symbol`` is called: δ for ∂E/∂net, else ∂E/∂x."""
    if symbol.startswith("net X"):
        return f"δ{symbol[5:].translate(_FROM_SUB).translate(_SUP)} = ∂E/∂{symbol}"
    if symbol.startswith("net "):
        return f"δ = ∂E/∂{symbol}"
    return f"∂E/∂{symbol}"


def _gradient_name(target: Any) -> str:
    if isinstance(target, Input):
        return f"g_{target.name}"
    return "g" + target.name[1:]                  # v3 -> g3


def _where(node: Value) -> str:
    """The module call (or scope block) a node was made in: "f: Linear[0]", "φ"."""
    return node.scope.label if node.scope is not None else ""


def _describe(node: Value) -> str:
    return repr(node.name) if node.name else f"of shape {tuple(node.shape)}"


def _comparable(value: Any) -> Any:
    """A form of a parameter or constant that ``==`` compares by content (arrays as bytes)."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, (tuple, list)):
        return tuple(_comparable(v) for v in value)
    if isinstance(value, slice):
        return ("slice", value.start, value.stop, value.step)
    if isinstance(value, float) and value != value:
        return ("nan",)
    return value
