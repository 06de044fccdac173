"""Diagnose a learner's own backprop: the first wrong quantity, and what the mistake is.

``diagnose(model, x, target, learner)`` runs the learner's function, computes the same
quantities with the engine (``engine_backprop``: forward values, E, δ via ``retain_grad()``,
∂E/∂W, ∂E/∂B; finite differences back up a wrong ∂E/∂W or ∂E/∂B), walks them in the order the
learner computed them — forward first, then backward from the output — and stops at the first
that differs: later ones usually inherit the error. It names the mistake by recomputing that
quantity under every catalogued mistake (``mistakes.KINDS``) and keeping the one that
reproduces the learner's value exactly; a constant factor (sign, scale) is found by fitting it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import engine_backprop, numeric_gradients
from .learner_output import (
    CONVENTIONS,
    LearnerOutput,
    as_rows,
    call_learner,
    convention_votes,
    numbers_of,
    read_learner_output,
)
from .mistakes import Mistake, Network, Quantities, catalogue, delta_rule, read_network
from .notation import Notation

__all__ = ["Diagnosis", "diagnose"]

Item = tuple[str, "int | None"]


@dataclass(frozen=True)
class Diagnosis:
    """What ``diagnose`` found: ``ok``, or the first wrong quantity and the mistake it shows.

    ``quantity`` is the learner's key ("net", "out", "E", "delta", "dW", "dB"), ``layer`` the
    index among the Linear layers (0 = first), ``symbol`` the tutorial's name (δ³, ∂E/∂W₂ …,
    in ``convention``). ``expected`` and ``got`` are in the learner's layout; ``kind`` is one of
    ``mistakes.KINDS``, ``factor`` the constant of "sign"/"scale". ``mistake_at`` names the step
    the mistake is in when the learner did not return it (the quantity inherits it).
    ``numeric`` holds finite differences for a wrong ∂E/∂W or ∂E/∂B. ``formula`` is the rule
    the quantity follows, ``explanation`` what the learner's value matches, ``also`` the other
    catalogued mistakes that give the same numbers. ``checked`` lists every quantity compared,
    in walk order; ``later_differing`` how many after the first wrong one differ too;
    ``convention_note`` how the convention was chosen; ``notes`` anything else worth knowing.
    """

    ok: bool
    convention: str
    convention_note: str
    checked: tuple[str, ...]
    quantity: str | None = None
    layer: int | None = None
    symbol: str | None = None
    expected: np.ndarray | float | None = None
    got: np.ndarray | float | None = None
    kind: str | None = None
    factor: float | None = None
    formula: str | None = None
    explanation: str | None = None
    mistake_at: str | None = None
    also: tuple[str, ...] = ()
    numeric: np.ndarray | None = None
    later_differing: int = 0
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        convention = (f"convention: {self.convention} ({CONVENTIONS[self.convention]}), "
                      f"{self.convention_note}")
        if self.ok:
            lines = [f"ok: all {len(self.checked)} quantities your backprop returned agree with "
                     f"the engine ({', '.join(self.checked)})", convention]
            return "\n".join([*lines, *self.notes])
        where = (f"{self.quantity!r}" if self.layer is None
                 else f"{self.quantity!r}[{self.layer}], Linear layer {self.layer}")
        lines = [f"{self.symbol} ({where}) is the first quantity that differs, walking forward "
                 f"then back from the output"]
        lines += _side_by_side(self.got, self.expected)
        lines.append(f"should be: {self.formula}")
        lines.append(f"what yours matches ({self.kind}): {self.explanation}")
        if self.also:
            lines.append(f"it also matches: {'; '.join(self.also)}")
        if self.numeric is not None and isinstance(self.expected, np.ndarray):
            gap = float(np.max(np.abs(self.numeric - self.expected)))
            lines.append(f"finite differences agree with the correct value "
                         f"(max |numeric − correct| = {gap:.1e})")
        agreed = self.checked[:self.checked.index(self.symbol)] if self.symbol else ()
        lines.append(f"agreed before it: {', '.join(agreed)}" if agreed else
                     "agreed before it: nothing (it is the first quantity you returned)")
        later = len(self.checked) - len(agreed) - 1
        if later and self.later_differing:
            lines.append(f"after it: {self.later_differing} of {later} also differ (they "
                         f"usually inherit the first error)")
        elif later:
            lines.append("after it: " + ("the one quantity left agrees" if later == 1 else
                                         f"the {later} quantities left agree"))
        return "\n".join([*lines, convention, *self.notes])


def _fmt(v: float) -> str:
    return f"{v: .6g}"


def _side_by_side(got: Any, expected: Any) -> list[str]:
    """Both values entry by entry (all of a small array; the most different of a large one)."""
    g, e = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if g.ndim == 0 and e.ndim == 0:
        return [f"  yours {_fmt(float(g))}   correct {_fmt(float(e))}"]
    if g.shape != e.shape:
        return [f"  yours, shape {g.shape}:",
                *("    " + line for line in np.array2string(g, precision=6).splitlines()),
                f"  correct, shape {e.shape}:",
                *("    " + line for line in np.array2string(e, precision=6).splitlines())]
    diff = np.abs(g - e)
    index = list(np.ndindex(*g.shape))
    shown = index if len(index) <= 24 else sorted(
        index, key=lambda i: -float(diff[i]))[:10]
    lines = [f"  {'entry':<10}{'yours':>14}{'correct':>14}"]
    for i in shown:
        lines.append(f"  {list(i)!s:<10}{_fmt(float(g[i])):>14}{_fmt(float(e[i])):>14}")
    if len(shown) < len(index):
        lines.append(f"  … the {len(shown)} most different of {len(index)} entries")
    return lines


# ----------------------------------------------------------------------------------------------
# Comparing
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tolerance:
    rtol: float
    atol: float

    def agree(self, got: np.ndarray, want: np.ndarray) -> bool:
        """Same shape and max |got − want| ≤ atol + rtol · max |want|."""
        if got.shape != want.shape:
            return False
        if not got.size:
            return True
        with np.errstate(all="ignore"):
            gap = float(np.max(np.abs(got - want)))
        return bool(np.isfinite(gap)) and gap <= self.atol + self.rtol * float(
            np.max(np.abs(want)))

    def factor(self, got: np.ndarray, want: np.ndarray) -> float | None:
        """The c with got = c · want, if there is one (least squares, then checked)."""
        if got.shape != want.shape:
            return None
        denominator = float(np.vdot(want, want))
        if denominator == 0.0:
            return None
        c = float(np.vdot(got, want)) / denominator
        return c if self.agree(got, c * want) else None


def _walk_order(n_layers: int) -> list[Item]:
    """Forward (net, out per layer), E, then backward from the output (δ, ∂E/∂W, ∂E/∂B)."""
    order: list[Item] = []
    for l in range(n_layers):
        order += [("net", l), ("out", l)]
    order.append(("E", None))
    for l in range(n_layers - 1, -1, -1):
        order += [("delta", l), ("dW", l), ("dB", l)]
    return order


# ----------------------------------------------------------------------------------------------
# Naming the mistake
# ----------------------------------------------------------------------------------------------


def _factor_reason(c: float, network: Network, key: str) -> str | None:
    """Why a quantity could be c times too large: n outputs, N samples, the 2 of the square."""
    N, n = network.D.shape
    parts: list[tuple[str, float, dict[int, str]]] = []
    if network.loss == "mse" and network.reduction == "mean" and n > 1:
        parts.append(("n", n, {
            1: f"summed over the n = {n} outputs where E takes their mean (seed 004's "
               f"C₀ = Σ(a − y)² versus seed 000's E = Σ(d − x)²/n)",
            -1: f"divided by the n = {n} outputs once too often"}))
    if N > 1:
        parts.append(("N", N, {
            1: (f"added up the N = {N} samples where E averages them (reduction='mean')"
                if network.reduction == "mean" else f"multiplied by the batch size N = {N}"),
            -1: (f"divided by the batch size N = {N} where E adds the samples "
                 f"(reduction='sum')" if network.reduction == "sum" else
                 f"divided by the batch size N = {N} twice (E's mean already does it)")}))
    if network.loss == "mse" and key != "E":
        parts.append(("2", 2.0, {
            1: "doubled it once too often",
            -1: "left out the 2 of d(a − y)²/da = 2(a − y) (the ½Σ(d − x)² convention)"}))
    explanations = []
    for exps in np.ndindex(*(3,) * len(parts)):
        powers = [e - 1 for e in exps]
        value = float(np.prod([p[1] ** k for p, k in zip(parts, powers)]))
        if powers and any(powers) and abs(abs(c) - value) <= 1e-9 * value:
            used = [i for i, k in enumerate(powers) if k]      # fewest parts, n before N before 2
            explanations.append((len(used), used, [parts[i][2][powers[i]] for i in used]))
    if not explanations:
        return None
    reasons = min(explanations)[2]
    return ("the sign is flipped and you " if c < 0 else "you ") + " and ".join(reasons)


def _sign_reason(item: Item, network: Network, notation: Notation, returned: set[Item]) -> str:
    key, layer = item
    output_layer = len(network.stages) - 1
    if key == "delta" and layer == output_layer:
        if network.loss == "ce":
            return "(d − softmax) where (softmax − d) belongs"
        if notation.column:
            return "the sign of (d − out) is flipped: ∂E/∂out = −2(d − out)/n = 2(out − d)/n"
        return "d_MSE = 2(a − y) has its sign flipped: (y − a) where (a − y) belongs"
    if key in ("dW", "dB"):
        if ("delta", layer) in returned:
            return (f"the sign is flipped in {notation.symbol(key, layer)} itself: "
                    f"−∂E/∂W is the direction gradient descent steps in "
                    f"(W ← W − η ∂E/∂W), not the gradient")
        return "a sign is flipped on the way to it: check (d − out) in ∂E/∂out"
    return "the sign is flipped"


@dataclass(frozen=True)
class _Naming:
    kind: str
    explanation: str
    factor: float | None = None
    mistake_at: str | None = None
    also: tuple[str, ...] = ()


class _Namer:
    """Recomputes the first wrong quantity under each catalogued mistake (passes are cached)."""

    def __init__(self, network: Network, tolerance: _Tolerance) -> None:
        self.network = network
        self.tolerance = tolerance
        self.mistakes = catalogue(network)
        self._passes: dict[int, Quantities] = {}

    def pass_with(self, index: int) -> Quantities:
        if index not in self._passes:
            self._passes[index] = delta_rule(self.network, self.mistakes[index])
        return self._passes[index]

    def reproducing(self, item: Item, got: np.ndarray, want: np.ndarray,
                    earlier: list[tuple[Item, np.ndarray]]) -> list[Mistake]:
        """The mistakes whose pass gives ``got`` at ``item`` and agrees on every earlier item."""
        agree = self.tolerance.agree
        found = []
        for i, mistake in enumerate(self.mistakes):
            q = self.pass_with(i)
            value = q.get(*item)
            if not agree(got, value) or agree(value, want):
                continue
            if all(agree(mine, q.get(*e)) for e, mine in earlier):
                found.append(mistake)
        return found

    def name(self, item: Item, got: np.ndarray, want: np.ndarray,
             earlier: list[tuple[Item, np.ndarray]], notation: Notation,
             returned: set[Item]) -> _Naming:
        symbol = notation.symbol(*item)
        c = self.tolerance.factor(got, want)
        if c is not None and abs(c + 1.0) <= 1e-6:
            reason = _sign_reason(item, self.network, notation, returned)
            return _Naming("sign", f"your {symbol} equals the correct {symbol} times −1: {reason}",
                           factor=-1.0)
        matches = self.reproducing(item, got, want, earlier)
        if matches:
            first = matches[0]
            text = f"your {symbol} is what you get with {notation.describe(first)}"
            at = notation.site(first)
            mistake_at = at if at != symbol else None
            if mistake_at:
                text += f" (the mistake is in {at}, which you did not return; {symbol} inherits it)"
            also = tuple(dict.fromkeys(f"{m.kind}: {notation.describe(m)}" for m in matches[1:]
                                       if notation.describe(m) != notation.describe(first)))
            return _Naming(first.kind, text, mistake_at=mistake_at, also=also[:3])
        if c is not None and abs(c - 1.0) > 1e-6:
            explained = _factor_reason(c, self.network, item[0])
            informative = int(np.count_nonzero(np.abs(want) > 1e-9 * float(np.max(np.abs(want)))))
            if explained is not None or informative >= 2:
                why = explained or "a constant factor that none of n, N or 2 explains"
                return _Naming("scale", f"your {symbol} equals the correct {symbol} times "
                                        f"{c:.6g}: {why}", factor=c)
        shape = (f"; its shape {got.shape} is not the correct {want.shape}"
                 if got.shape != want.shape else "")
        return _Naming("other", f"none of the catalogued mistakes reproduces your {symbol}"
                                f"{shape}; recheck its formula")


# ----------------------------------------------------------------------------------------------
# diagnose
# ----------------------------------------------------------------------------------------------


def _reference(model: Any, x: Any, target: Any, loss: str, reduction: str,
               n_layers: int) -> dict[Item, np.ndarray]:
    """The engine's values, samples as rows: net/out/δ (N, n), ∂E/∂W (out, in), ∂E/∂B (n,)."""
    engine = engine_backprop(model, x, target, loss, reduction)

    def rows(a: Any) -> np.ndarray:
        a = np.asarray(numbers_of(a), dtype=np.float64)
        return a.reshape(1, -1) if a.ndim == 1 else a

    ref: dict[Item, np.ndarray] = {("E", None): np.asarray(float(engine.loss.data))}
    for l in range(n_layers):
        ref[("net", l)] = rows(engine.nets[l])
        ref[("out", l)] = rows(engine.outs[l])
        ref[("delta", l)] = rows(engine.deltas[l])
        ref[("dW", l)], ref[("dB", l)] = engine.grads[l]
    return ref


def _present(item: Item, value: np.ndarray, convention: str, like: np.ndarray | None,
             n_samples: int) -> np.ndarray | float:
    """A samples-as-rows value in the learner's layout (shaped like ``like`` where it fits)."""
    key = item[0]
    if key == "E":
        return float(value)
    if key == "dW":
        out = value if convention == "column" else value.T
    elif key == "dB" or n_samples == 1:
        out = value.reshape(-1)
    else:
        out = value.T if convention == "column" else value
    if like is not None and like.size == out.size and (out.ndim == 1 or like.ndim == 1):
        out = out.reshape(like.shape)
    return out


@dataclass(frozen=True)
class _Inputs:
    network: Network
    notation_of: dict[str, Notation]
    output: LearnerOutput
    reference: dict[Item, np.ndarray]
    tolerance: _Tolerance
    model: Any
    x: Any
    target: Any


def _walk(inp: _Inputs, convention: str, note: str, notes: tuple[str, ...]) -> Diagnosis:
    """Compare in walk order under one convention and name the first difference."""
    network, notation = inp.network, inp.notation_of[convention]
    sizes, N = network.sizes, network.n_samples
    mine = as_rows(inp.output, convention, sizes, N)
    items = [i for i in _walk_order(len(network.stages)) if i in mine]
    checked = tuple(notation.symbol(*i) for i in items)
    agree = inp.tolerance.agree
    first = next((k for k, i in enumerate(items) if not agree(mine[i], inp.reference[i])), None)
    if first is None:
        return Diagnosis(True, convention, note, checked, notes=notes)
    item = items[first]
    earlier = [(i, mine[i]) for i in items[:first]]
    naming = _Namer(network, inp.tolerance).name(item, mine[item], inp.reference[item], earlier,
                                                  notation, set(items))
    key, layer = item
    got: np.ndarray | float
    if key == "E":
        got = float(mine[item])
    else:
        assert layer is not None
        got = inp.output.lists[key][layer]
    like = got if isinstance(got, np.ndarray) else None
    numeric = None
    if key in ("dW", "dB"):
        assert layer is not None
        fd = numeric_gradients(inp.model, inp.x, inp.target, network.loss, network.reduction)
        numeric = np.asarray(_present(item, fd[layer][0 if key == "dW" else 1], convention,
                                      like, N))
    later = sum(not agree(mine[i], inp.reference[i]) for i in items[first + 1:])
    return Diagnosis(
        ok=False, convention=convention, convention_note=note, checked=checked,
        quantity=key, layer=layer, symbol=notation.symbol(*item),
        expected=_present(item, inp.reference[item], convention, like, N), got=got,
        kind=naming.kind, factor=naming.factor, formula=notation.formula(*item),
        explanation=naming.explanation, mistake_at=naming.mistake_at, also=naming.also,
        numeric=numeric, later_differing=later, notes=notes)


def _agreeing(d: Diagnosis) -> tuple[int, int, int]:
    """How good a convention's reading is: ok, then agreed before the first difference, then
    fewer later differences."""
    if d.ok:
        return (1, len(d.checked), 0)
    before = d.checked.index(d.symbol) if d.symbol else 0
    return (0, before, -d.later_differing)


def diagnose(model: Any, x: Any, target: Any, learner: Callable[..., Any], *,
             convention: str = "auto", loss: str = "mse", reduction: str = "mean",
             rtol: float = 1e-6, atol: float = 1e-12) -> Diagnosis:
    """Run ``learner(model, x, target)`` and report its first wrong quantity and the mistake.

    ``learner`` returns a dict with any of "net", "out", "E", "delta", "dW", "dB" (one array
    per Linear, first to last; "E" a number), in seed 000's column or seed 004's row convention
    (``convention="auto"`` decides from the shapes and says so when they fit both). A value
    agrees when max |yours − engine| ≤ atol + rtol · max |engine|. ``x`` and ``target`` are
    passed as given (a batch as rows, the dataset layout); ``loss``/``reduction`` as in
    ``engine_backprop``. Raises ``LearnerError`` if the learner fails or returns something that
    is not a backprop quantity.
    """
    fn = "diagnose"
    if convention not in ("auto", *CONVENTIONS):
        raise ValueError(f"{fn}: convention must be 'auto', 'column' (seed 000) or 'row' "
                         f"(seed 004), got {convention!r}")
    if not callable(learner):
        raise TypeError(f"{fn}: expected learner to be a function (model, x, target) -> dict, "
                        f"got {type(learner).__name__}")
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"{fn}: {name} must be a number ≥ 0, got {value!r}")
    network, _ = read_network(fn, model, x, target, loss, reduction)
    reference = _reference(model, x, target, loss, reduction, len(network.stages))
    notation_of = {c: Notation(c, network) for c in CONVENTIONS}
    names = {(k, l): notation_of["column"].symbol(k, l)
             for k in ("net", "out", "delta", "dW", "dB") for l in range(len(network.stages))}
    returned, changed = call_learner(fn, learner, model, x, target)
    output = read_learner_output(fn, returned, network.sizes, network.n_samples, names)
    notes = ("note: your backprop changed the model's weights (an update step?); they were "
             "restored, and the diagnosis uses the weights before the call",) if changed else ()
    inp = _Inputs(network, notation_of, output, reference, _Tolerance(float(rtol), float(atol)),
                  model, x, target)
    if convention != "auto":
        return _walk(inp, convention, "as you chose", notes)
    votes = convention_votes(output, network.sizes, network.n_samples)
    if votes["column"] != votes["row"]:
        chosen = max(votes, key=lambda c: votes[c])
        return _walk(inp, chosen, f"chosen from the shapes you returned ({votes[chosen]} of "
                                  f"{sum(votes.values())} arrays say so)", notes)
    column = _walk(inp, "column", "", notes)
    row = _walk(inp, "row", "", notes)
    best = row if _agreeing(row) > _agreeing(column) else column
    why = ("your values agree equally under both, so seed 000's by default"
           if _agreeing(row) == _agreeing(column) else "more of your values agree under it")
    note = f"the shapes fit both (square layers, 1-D vectors): {why}"
    return dataclasses.replace(best, convention_note=note)
