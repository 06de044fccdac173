"""The tutorials' two numeric examples, computed three ways: by hand, by the engine, numerically.

* ``worked_example`` — seed 000's 2-2-2 logistic network (inputs 0.5, 0.25; target (0, 1);
  E = Σ (d_j − x_j)² / 2), all 8 weight and 4 bias gradients (the tutorial works out only the
  last layer's 4 + 2).
* ``one_neuron_chain`` — seed 004's one-neuron-per-layer chain, C₀ = (a^{(L)} − y)², with
  the chain-rule factors ∂z/∂w · ∂a/∂z · ∂C/∂a written out layer by layer.

Both return an ``ExampleResult``, which ``tinygrad_nn.tutorial.format_report``
prints, docs/worked-example.md shows and the graph renderer can draw (``result.graph`` is the
engine's loss Value, ``result.model`` the network).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import nn
from ..value import Value
from .checks import engine_backprop, numeric_gradients
from .errata import (
    TUTORIAL_000_FIGURES,
    FigureVerdict,
    as_printed_000,
    judge_figure,
    judge_printed_000,
    sigma,
)
from .manual import manual_backprop

__all__ = [
    "CHAIN_VALUES",
    "TUTORIAL_000_FIGURES",
    "ChainFactors",
    "DeltaRow",
    "ExampleResult",
    "ForwardRow",
    "GradientRow",
    "chain_model",
    "one_neuron_chain",
    "worked_example",
    "worked_model",
]

HAND_ENGINE_TOL = 1e-10
"""Largest |hand-derived − engine| accepted: both are exact formulas in float64."""
NUMERIC_TOL = 1e-6
"""Largest |engine − finite differences| accepted (central differences, ε = 1e-6)."""



@dataclass(frozen=True)
class ForwardRow:
    """One forward-pass quantity: its value, and the tutorial's printed figure if it gives one."""

    symbol: str
    value: float
    printed: float | None = None
    as_printed: float | None = None   # the tutorial's arithmetic on its own rounded inputs
    verdict: FigureVerdict | None = None   # the printed figure: exact, rounding or a mistake


@dataclass(frozen=True)
class GradientRow:
    """∂E/∂p for one parameter, three ways, next to the tutorial's printed figure."""

    symbol: str          # the tutorial's name: "w_12^2" (seed 000) or "w^(3)" (seed 004)
    parameter: str       # where it lives: "layers.2.weight[1, 0]"
    hand: float
    engine: float
    numeric: float
    printed: float | None = None
    verdict: FigureVerdict | None = None   # the printed figure: exact, rounding or a mistake

    @property
    def hand_engine(self) -> float:
        """|hand-derived − engine|."""
        return abs(self.hand - self.engine)

    @property
    def engine_numeric(self) -> float:
        """|engine − finite differences|."""
        return abs(self.engine - self.numeric)

    @property
    def hand_numeric(self) -> float:
        """|hand-derived − finite differences|."""
        return abs(self.hand - self.numeric)


@dataclass(frozen=True)
class DeltaRow:
    """One layer's error signal δ = ∂E/∂net, by hand and from the engine (``net.grad``)."""

    layer: str
    hand: np.ndarray
    engine: np.ndarray


@dataclass(frozen=True)
class ChainFactors:
    """Seed 004's three boxes for one layer: ∂C/∂w = ∂z/∂w · ∂a/∂z · ∂C/∂a (∂z/∂b = 1)."""

    layer: int            # 1..3, the layer L of w^(L)
    dz_dw: float          # a^(L−1)
    da_dz: float          # σ'(z^(L))
    dC_da: float          # 2(a^(L) − y) at the output, else ∂C/∂a^(L) from the layer above
    dz_da_prev: float     # w^(L): carries ∂C/∂a^(L−1) = w^(L) σ'(z^(L)) ∂C/∂a^(L) down

    @property
    def dC_dw(self) -> float:
        """∂C₀/∂w^(L) = ∂z/∂w · ∂a/∂z · ∂C/∂a."""
        return self.dz_dw * self.da_dz * self.dC_da

    @property
    def dC_db(self) -> float:
        """∂C₀/∂b^(L) = 1 · ∂a/∂z · ∂C/∂a."""
        return 1.0 * self.da_dz * self.dC_da

    @property
    def dC_da_prev(self) -> float:
        """∂C₀/∂a^(L−1) = ∂z/∂a^(L−1) · ∂a/∂z · ∂C/∂a."""
        return self.dz_da_prev * self.da_dz * self.dC_da


@dataclass
class ExampleResult:
    """A tutorial example computed three ways, with the tutorial's printed figures alongside.

    ``forward`` lists net/out per neuron, ``gradients`` one row per weight and bias,
    ``deltas`` δ per layer; ``loss`` is E (seed 000) or C₀ (seed 004). ``graph`` is the engine's
    loss Value (draw it with the graph renderer), ``model``/``x``/``target`` rebuild it.
    """

    title: str
    source: str
    loss_symbol: str
    loss: float
    loss_printed: float | None
    forward: list[ForwardRow]
    gradients: list[GradientRow]
    deltas: list[DeltaRow]
    model: nn.Sequential
    x: np.ndarray
    target: np.ndarray
    graph: Value
    reduction: str = "mean"
    loss_verdict: FigureVerdict | None = None
    chain: list[ChainFactors] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def max_hand_engine(self) -> float:
        """Largest |hand-derived − engine| over the gradients and the δ of every layer."""
        g = max((r.hand_engine for r in self.gradients), default=0.0)
        d = max((float(np.max(np.abs(r.hand - r.engine))) for r in self.deltas), default=0.0)
        return max(g, d)

    @property
    def max_numeric(self) -> float:
        """Largest |finite differences − (engine or hand-derived)| over the gradients."""
        return max((max(r.engine_numeric, r.hand_numeric) for r in self.gradients),
                   default=0.0)

    @property
    def ok(self) -> bool:
        """hand == engine to 1e-10 and both == finite differences to 1e-6."""
        return self.max_hand_engine <= HAND_ENGINE_TOL and self.max_numeric <= NUMERIC_TOL

    def gradient(self, symbol: str) -> GradientRow:
        """The row of one parameter by its tutorial symbol, e.g. ``"w_12^2"``."""
        for r in self.gradients:
            if r.symbol == symbol:
                return r
        raise KeyError(f"gradient: no parameter {symbol!r}; expected one of "
                       f"{[r.symbol for r in self.gradients]}")

    def value(self, symbol: str) -> float:
        """A forward-pass quantity by its symbol (``"out x_1^2"``) or the loss symbol."""
        if symbol == self.loss_symbol:
            return self.loss
        for r in self.forward:
            if r.symbol == symbol:
                return r.value
        raise KeyError(f"value: no quantity {symbol!r}; expected {self.loss_symbol!r} or one "
                       f"of {[r.symbol for r in self.forward]}")


# ----------------------------------------------------------------------------------------------
# Seed 000
# ----------------------------------------------------------------------------------------------


WORKED_X = (0.5, 0.25)
WORKED_TARGET = (0.0, 1.0)
# w11=0.25 (x1→x1'), w21=0.1 (x2→x1'), w12=0.35 (x1→x2'), w22=−0.3: row j = weights into j
WORKED_W1 = ((0.25, 0.1), (0.35, -0.3))
WORKED_W2 = ((0.9, 0.5), (-0.7, 0.3))
"""Seed 000's example: input, target and the two weight matrices (out, in), ``W[j][i] = w_{ij}``."""


def worked_model() -> nn.Sequential:
    """Seed 000's network f, φ, g, φ with its weights: ``weight[j, i] = w_{ij}`` (i → j)."""
    f, g = nn.Linear(2, 2), nn.Linear(2, 2)
    f.weight.data = np.array(WORKED_W1)
    g.weight.data = np.array(WORKED_W2)
    for m in (f, g):
        assert m.bias is not None
        m.bias.data = np.zeros(2)
    return nn.Sequential(f, nn.Sigmoid(), g, nn.Sigmoid())


def _rows(model: nn.Sequential, names: list[list[tuple[str, str]]],
          hand: list[tuple[np.ndarray, np.ndarray]],
          engine: list[tuple[np.ndarray, np.ndarray]],
          numeric: list[tuple[np.ndarray, np.ndarray]],
          printed: dict[str, float]) -> list[GradientRow]:
    def judge(sym: str, exact: float) -> FigureVerdict | None:
        return judge_printed_000(sym, exact) if sym in printed else None

    rows = []
    linear_pos = [i for i, m in enumerate(model.layers) if isinstance(m, nn.Linear)]
    for k, pos in enumerate(linear_pos):
        w_shape = hand[k][0].shape
        for which, arrays in (("weight", 0), ("bias", 1)):
            shape = w_shape if which == "weight" else hand[k][1].shape
            for idx in np.ndindex(*shape):
                sym = dict(names[k])[f"{which}{list(idx)}"]
                rows.append(GradientRow(
                    symbol=sym,
                    parameter=f"layers.{pos}.{which}[{', '.join(map(str, idx))}]",
                    hand=float(hand[k][arrays][idx]),
                    engine=float(engine[k][arrays][idx]),
                    numeric=float(numeric[k][arrays][idx]),
                    printed=printed.get(sym),
                    verdict=judge(sym, float(engine[k][arrays][idx]))))
    return rows


def worked_example() -> ExampleResult:
    """Seed 000's example: forward pass, E = ((d₁−x₁³)² + (d₂−x₂³)²)/2 and ∂E/∂p three ways.

    Hand-derived by the delta rule (δ_L = −2(d − x)/n ⊙ φ'(net_L), ∂E/∂W = δ·Xᵀ,
    δ_l = (Wᵀδ_{l+1}) ⊙ φ'(net_l)), by the engine (``E.backward()``) and by central differences.
    """
    model = worked_model()
    x = np.array(WORKED_X)
    d = np.array(WORKED_TARGET)
    hand = manual_backprop(model, x, d, "mse", "column")
    eng = engine_backprop(model, x, d, "mse")
    num = numeric_gradients(model, x, d, "mse")
    printed = as_printed_000()
    forward = []
    for layer, (net, out) in enumerate(zip(hand.nets, hand.outs[1:]), start=2):
        for j in range(2):
            for kind, arr in (("net", net), ("out", out)):
                sym = f"{kind} x_{j + 1}^{layer}"
                ap = printed.get(sym.replace("x_", "x"))     # "net x1^2" in as_printed_000
                forward.append(ForwardRow(sym, float(arr[j]), TUTORIAL_000_FIGURES.get(sym),
                                          ap.value if ap else None,
                                          judge_printed_000(sym, float(arr[j]))))
    # w_ij^l = weight[j, i]; biases b_j^{l+1} belong to the neurons the layer feeds.
    names = [[(f"weight{[j, i]}", f"w_{i + 1}{j + 1}^{l}") for j in range(2) for i in range(2)]
             + [(f"bias{[j]}", f"b_{j + 1}^{l + 1}") for j in range(2)] for l in (1, 2)]
    rows = _rows(model, names, hand.grads, eng.grads, num, TUTORIAL_000_FIGURES)
    order = [s for l in (1, 2) for s in [f"w_{i}{j}^{l}" for i in (1, 2) for j in (1, 2)]
             + [f"b_{j}^{l + 1}" for j in (1, 2)]]
    rows.sort(key=lambda r: order.index(r.symbol))
    deltas = [DeltaRow(label, h, e) for label, h, e in zip(eng.labels, hand.deltas, eng.deltas)]
    return ExampleResult(
        title="Seed 000 worked example: 2-2-2 logistic network, inputs (0.5, 0.25), "
              "target (0, 1)",
        source="Neural Networks explained in a mathematical way (seed 000)",
        loss_symbol="E", loss=hand.loss, loss_printed=TUTORIAL_000_FIGURES["E"],
        forward=forward, gradients=rows, deltas=deltas, model=model, x=x, target=d,
        graph=eng.loss, loss_verdict=judge_printed_000("E", hand.loss),
        notes=["w_ij^l connects neuron i of layer l to neuron j of layer l+1: it is "
               "Linear.weight[j, i]; b_j^l is the bias of neuron j of layer l.",
               "verdict on a printed figure: exact = the exact value to its decimals; rounding "
               "= what the text's arithmetic on rounded two-decimal steps gives; mistake = "
               "neither (see docs/tutorial-errata.md)."])


# ----------------------------------------------------------------------------------------------
# Seed 004
# ----------------------------------------------------------------------------------------------

CHAIN_VALUES: dict[str, tuple[float, ...]] = {
    "a0": (0.5,), "w": (0.6, 0.4, 0.7), "b": (0.1, -0.2, 0.3), "y": (1.0,),
}
"""Our choice for seed 004's chain (its picture's numbers are not in the text): input
a^(0) = 0.5, w^(1..3) = 0.6, 0.4, 0.7, b^(1..3) = 0.1, −0.2, 0.3, target y = 1.00; the output
a^(3) = 0.6586 reproduces the text's 0.66."""


def chain_model() -> nn.Sequential:
    """Seed 004's chain: three one-neuron layers, each z = w·a + b, a = σ(z) (CHAIN_VALUES)."""
    layers: list[nn.Module] = []
    for w, b in zip(CHAIN_VALUES["w"], CHAIN_VALUES["b"]):
        lin = nn.Linear(1, 1)
        lin.weight.data = np.array([[w]])
        assert lin.bias is not None
        lin.bias.data = np.array([b])
        layers += [lin, nn.Sigmoid()]
    return nn.Sequential(*layers)


def one_neuron_chain() -> ExampleResult:
    """Seed 004's chain with C₀ = (a^(L) − y)²: ∂C₀/∂w^(L) = ∂z/∂w · ∂a/∂z · ∂C/∂a, three ways.

    The text gives only the output 0.66 and the target 1.00; the weights and biases are ours
    (``CHAIN_VALUES``), chosen so that a^(3) = 0.6586 ≈ 0.66. By hand the factors are
    a^(L−1), σ'(z^(L)) = σ(1 − σ) and 2(a^(L) − y) at the output, and below it
    ∂C/∂a^(L−1) = w^(L) σ'(z^(L)) ∂C/∂a^(L) "from previous iteration".
    """
    a0, y = CHAIN_VALUES["a0"][0], CHAIN_VALUES["y"][0]
    ws, bs = CHAIN_VALUES["w"], CHAIN_VALUES["b"]
    a, zs, acts = a0, [], [a0]
    forward = []
    for L, (w, b) in enumerate(zip(ws, bs), start=1):
        z = w * a + b                       # z^(L) = w^(L) a^(L−1) + b^(L)
        a = sigma(z)                         # a^(L) = σ(z^(L))
        zs.append(z)
        acts.append(a)
        printed = 0.66 if len(ws) == L else None
        forward += [ForwardRow(f"z^({L})", z),
                    ForwardRow(f"a^({L})", a, printed,
                               verdict=None if printed is None else judge_figure(printed, a))]
    C0 = (a - y) ** 2                       # C₀ = (a^(L) − y)²
    chain: list[ChainFactors] = []
    dC_da = 2.0 * (a - y)                   # ∂C₀/∂a^(L) = 2(a^(L) − y)
    for L in range(len(ws), 0, -1):
        s = acts[L]
        f = ChainFactors(L, dz_dw=acts[L - 1], da_dz=s * (1.0 - s), dC_da=dC_da,
                         dz_da_prev=ws[L - 1])
        chain.insert(0, f)
        dC_da = f.dC_da_prev                # "from previous iteration"
    model = chain_model()
    x, t = np.array([a0]), np.array([y])
    eng = engine_backprop(model, x, t, "mse", "sum")
    num = numeric_gradients(model, x, t, "mse", "sum")
    hand_grads = [(np.array([[f.dC_dw]]), np.array([f.dC_db])) for f in chain]
    names = [[("weight[0, 0]", f"w^({L})"), ("bias[0]", f"b^({L})")] for L in (1, 2, 3)]
    rows = _rows(model, names, hand_grads, eng.grads, num, {})
    # δ^(L) = ∂C/∂z^(L) = σ'(z^(L)) · ∂C/∂a^(L): the second and third boxes
    deltas = [DeltaRow(label, np.array([f.da_dz * f.dC_da]), e)
              for label, f, e in zip(eng.labels, chain, eng.deltas)]
    return ExampleResult(
        title="Seed 004 one-neuron chain: three layers of one logistic neuron, C0 = (a - y)^2",
        source="1.0 Main concepts, one-neuron-per-layer example (seed 004)",
        loss_symbol="C_0", loss=C0, loss_printed=None,
        forward=forward, gradients=rows, deltas=deltas, model=model, x=x, target=t,
        graph=eng.loss, reduction="sum", chain=chain,
        notes=["The text shows only the output 0.66 and the target 1.00; a^(0) = 0.5, "
               "w = (0.6, 0.4, 0.7), b = (0.1, -0.2, 0.3) are our choice and give "
               f"a^(3) = {a:.4f}.",
               "C_0 = (a - y)^2 is the squared error of one output: nn.MSELoss('sum')."])
