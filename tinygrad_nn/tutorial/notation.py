"""The tutorials' names for backprop quantities and mistakes, in either convention.

Seed 000 (``"column"``) numbers layers from the input, layer 1: Linear ``l`` (0 = first) maps
layer l+1 to layer l+2 with W_{l+1}, so its quantities are net X_{l+2}, out X_{l+2}, δ^{l+2},
∂E/∂W_{l+1}, ∂E/∂B_{l+2}. Seed 004 (``"row"``) numbers them from the first layer of neurons,
L = l+1: z^(L), a^(L), ∂C/∂z^(L) (its ``Error_bias``), ∂C/∂w^(L) (``Error_weights``), ∂C/∂b^(L).
``Notation`` names them, writes the formula a learner should have used and describes a
catalogued mistake in words.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from .manual import ACTIVATIONS, Activation
from .mistakes import Mistake, Network

__all__ = ["Notation"]

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


def _sub(i: int) -> str:
    return str(i).translate(_SUB)


def _sup(i: int) -> str:
    return str(i).translate(_SUP)


@dataclass(frozen=True)
class Notation:
    """Symbols and formulas for one network in one convention ("column" or "row")."""

    convention: str
    network: Network

    @property
    def column(self) -> bool:
        """True for seed 000's column convention."""
        return self.convention == "column"

    # ------------------------------------------------------------------------------------------
    # symbols
    # ------------------------------------------------------------------------------------------

    def _row_layer(self, l: int) -> str:
        return f"⁽{_sup(l + 1)}⁾"

    def net(self, l: int) -> str:
        """net X_{l+2} (column) or z^(l+1) (row)."""
        return f"net X{_sub(l + 2)}" if self.column else f"z{self._row_layer(l)}"

    def output(self, l: int) -> str:
        """The output of Linear ``l``'s stage (l = −1: the input x)."""
        if self.column:
            return "X₁" if l < 0 else f"out X{_sub(l + 2)}"
        return f"a{self._row_layer(l)}"

    def weight(self, l: int) -> str:
        """W_{l+1} (column) or w^(l+1) (row)."""
        return f"W{_sub(l + 1)}" if self.column else f"w{self._row_layer(l)}"

    def bias(self, l: int) -> str:
        """B_{l+2} (column) or b^(l+1) (row)."""
        return f"B{_sub(l + 2)}" if self.column else f"b{self._row_layer(l)}"

    def delta(self, l: int) -> str:
        """δ^{l+2} (column) or ∂C/∂z^(l+1) (row)."""
        return f"δ{_sup(l + 2)}" if self.column else f"∂C/∂z{self._row_layer(l)}"

    @property
    def loss(self) -> str:
        """E (seed 000) or C (seed 004)."""
        return "E" if self.column else "C"

    def symbol(self, key: str, layer: int | None) -> str:
        """The tutorial's name of a quantity: "δ³", "∂E/∂W₂", "z⁽²⁾" …"""
        if key == "E" or layer is None:
            return self.loss
        if key == "net":
            return self.net(layer)
        if key == "out":
            return self.output(layer)
        if key == "delta":
            return self.delta(layer)
        if key == "dW":
            return f"∂{self.loss}/∂{self.weight(layer)}"
        return f"∂{self.loss}/∂{self.bias(layer)}"

    # ------------------------------------------------------------------------------------------
    # formulas
    # ------------------------------------------------------------------------------------------

    def _activation(self, l: int) -> Activation | None:
        acts = self.network.stages[l].acts
        return acts[0][0] if len(acts) == 1 else None

    def _phi(self, l: int) -> str:
        act = self._activation(l)
        return "σ" if act is ACTIVATIONS[nn.Sigmoid] and not self.column else "φ"

    def _derivative(self, l: int) -> str:
        act = self._activation(l)
        return f", {act.derivative}" if act else ""

    def _mse_divisor(self) -> str:
        N, n = self.network.D.shape
        if self.network.reduction == "sum":
            return ""
        return f"/n (n = {n})" if N == 1 else f"/(n·N) (n = {n}, N = {N})"

    def formula(self, key: str, layer: int | None) -> str:
        """The formula the quantity should follow, with this network's layers and sizes."""
        if key == "E" or layer is None:
            return self._loss_formula()
        l, L, N = layer, len(self.network.stages), self.network.n_samples
        batch = N > 1
        if key == "net":
            if self.column:
                return f"{self.net(l)} = {self.weight(l)} · {self.output(l - 1)} + {self.bias(l)}"
            return (f"{self.net(l)} = {self.output(l - 1)} · {self.weight(l)} + {self.bias(l)} "
                    f"(w of shape (n_prev, n_cur))")
        if key == "out":
            act = self._activation(l)
            if not self.network.stages[l].acts:
                return f"{self.output(l)} = {self.net(l)} (no activation)"
            name = f", {act.formula}" if act else ""
            return f"{self.output(l)} = {self._phi(l)}({self.net(l)}){name}"
        if key == "delta":
            return self._delta_formula(l, L)
        if key == "dW":
            if self.column:
                text = f"∂E/∂{self.weight(l)} = {self.delta(l)} · ({self.output(l - 1)})ᵀ"
            else:
                text = (f"∂C/∂{self.weight(l)} = {self.output(l - 1)}ᵀ · {self.delta(l)} "
                        f"(Error_weights)")
            return text + (f"; the product sums over the N = {N} samples" if batch else "")
        text = f"{self.symbol('dB', l)} = {self.delta(l)}"
        if not self.column:
            text += " (Error_bias)"
        where = "columns" if self.column else "rows"
        return text + (f", summed over the N = {N} samples (the {where})" if batch else "")

    def _loss_formula(self) -> str:
        N, n = self.network.D.shape
        over = ""
        if N > 1:
            over = (f", averaged over the N = {N} samples" if self.network.reduction == "mean"
                    else f", summed over the N = {N} samples")
        if self.network.loss == "ce":
            return f"{self.loss} = −Σⱼ dⱼ log softmax(net)ⱼ{over}"
        mean = f" / n (n = {n} outputs)" if self.network.reduction == "mean" else ""
        if self.column:
            return f"E = Σⱼ (dⱼ − xⱼ)²{mean}{over}"
        return f"C = Σⱼ (aⱼ − yⱼ)²{mean}{over}"

    def _delta_formula(self, l: int, L: int) -> str:
        d, net, phi = self.delta(l), self.net(l), self._phi(l)
        if l == L - 1:
            if self.network.loss == "ce":
                per = f" / N (N = {self.network.n_samples})" \
                    if self.network.reduction == "mean" else ""
                return f"{d} = (softmax({net}) − d){per}"
            out = self.output(l)
            if self.column:
                return (f"{d} = ∂E/∂{out} ⊙ φ′({net}) = −2(d − {out}){self._mse_divisor()} "
                        f"⊙ φ′({net}){self._derivative(l)}")
            return (f"{d} = {phi}′({net}) ⊙ d_MSE, d_MSE = 2({out} − y){self._mse_divisor()} "
                    f"(Error_bias){self._derivative(l)}")
        if self.column:
            return (f"{d} = ({self.weight(l + 1)}ᵀ · {self.delta(l + 1)}) ⊙ φ′({net})"
                    f"{self._derivative(l)}")
        return (f"{d} = ({self.delta(l + 1)} · {self.weight(l + 1)}ᵀ) ⊙ {phi}′({net}) "
                f"(Error_prev_layer ⊙ {phi}′){self._derivative(l)}")

    # ------------------------------------------------------------------------------------------
    # mistakes
    # ------------------------------------------------------------------------------------------

    def site(self, mistake: Mistake) -> str:
        """The symbol of the step the mistake is in."""
        key = {"dphi": "delta", "out": "out"}.get(mistake.site, mistake.site)
        return self.symbol(key, mistake.layer)

    def describe(self, mistake: Mistake) -> str:
        """What the learner computed instead, as a phrase: "φ′ applied to out X₂ instead of …"."""
        k, kind = mistake.layer, mistake.kind
        if kind == "missing_phi_prime":
            return f"the factor φ′({self.net(k)}) left out of {self.delta(k)}"
        if kind == "phi_prime_of_out":
            text = f"φ′ applied to {self.output(k)} instead of {self.net(k)} in {self.delta(k)}"
            if self._activation(k) is ACTIVATIONS[nn.Sigmoid]:
                text += ("; σ′(out) = σ(out)(1 − σ(out)) applies σ twice, while "
                         "φ′(net) = out(1 − out)")
            return text
        if kind == "out_formula_on_net":
            act = self._activation(k)
            formula = f" ({act.derivative})" if act else ""
            return f"φ′ written for out{formula} but given {self.net(k)}, in {self.delta(k)}"
        if kind == "transposed":
            return self._transposed(mistake)
        if kind == "wrong_layer_input":
            return self._wrong_input(mistake)
        if kind == "net_for_out":
            return self._net_for_out(mistake)
        if kind == "missing_bias":
            return f"{self.net(k)} computed without + {self.bias(k)}"
        if kind == "bias_not_summed":
            where = "columns" if self.column else "rows"
            return (f"δ kept per sample: {self.symbol('dB', k)} must be summed over the "
                    f"N = {self.network.n_samples} samples (the {where})")
        if kind == "wrong_activation":
            return self._wrong_activation(mistake)
        if kind == "printed_sum_index":
            return (f"seed 000's printed sum (Σᵢ wⱼᵢ) δⱼ in {self.delta(k)}: each neuron's own δ "
                    f"where Σᵢ wⱼᵢ δᵢ over the next layer's neurons belongs (errata: the sum in "
                    f"∂E/∂out)")
        return kind

    def _transposed(self, m: Mistake) -> str:
        k = m.layer
        if m.site == "net":
            W, x = self.weight(k), self.output(k - 1)
            if self.column:
                return f"{W}ᵀ · {x} instead of {W} · {x} in {self.net(k)}"
            return (f"{x} · {W}ᵀ instead of {x} · {W} in {self.net(k)} (Linear.weight used "
                    f"without transposing it)")
        if m.site == "delta":
            W, d = self.weight(k + 1), self.delta(k + 1)
            if self.column:
                return f"{W} · {d} instead of {W}ᵀ · {d} in {self.delta(k)}"
            return f"{d} · {W} instead of {d} · {W}ᵀ in {self.delta(k)}"
        d, x = self.delta(k), self.output(k - 1)
        if self.column:
            return (f"{x} · ({d})ᵀ, the transpose of {d} · ({x})ᵀ: seed 004's (n_prev, n_cur) "
                    f"layout, where seed 000's ∂E/∂W has the shape of W (Linear.weight)")
        return (f"({d})ᵀ · {x}, the transpose of ({x})ᵀ · {d}: seed 000's layout "
                f"(Linear.weight), where seed 004's ∂C/∂w has w's shape (n_prev, n_cur)")

    def _wrong_input(self, m: Mistake) -> str:
        k = m.layer
        if m.used == "layer_below":
            return (f"the layer below's {self.delta(k - 1)} and {self.output(k - 2)}: seed 000's "
                    f"printed ∂E/∂w^l = δ^l x^(l−1) is one layer off (errata: the layer index)")
        assert isinstance(m.used, int)
        if m.site == "net":
            return (f"{self.output(m.used)} as the input of {self.net(k)}, where "
                    f"{self.output(k - 1)} belongs")
        return f"{self.delta(k)} times {self.output(m.used)}, where {self.output(k - 1)} belongs"

    def _net_for_out(self, m: Mistake) -> str:
        k = m.layer
        if m.site == "delta":
            return (f"∂{self.loss}/∂out taken at {self.net(k)} instead of {self.output(k)}: "
                    f"2({self.net(k)} − d) where 2({self.output(k)} − d) belongs")
        before, after = self.net(k - 1), self.output(k - 1)
        into = self.net(k) if m.site == "net" else self.symbol("dW", k)
        return f"{before} (before φ) in {into}, where {after} = φ({before}) belongs"

    def _wrong_activation(self, m: Mistake) -> str:
        k, used, act = m.layer, m.used, m.activation
        if used == "softmax":
            return (f"the logits {self.net(k)} where softmax({self.net(k)}) belongs: "
                    f"(net − d) instead of (softmax(net) − d)")
        current = self._activation(k)
        layer = current.name if current else ("no activation" if not
                                              self.network.stages[k].acts else "a chain")
        assert act is not None
        if used == "forward":
            return (f"{self.output(k)} = {act.name}({self.net(k)}) ({act.formula}) where the "
                    f"layer has {layer}")
        need = f" needs {current.derivative}" if current else ""
        return (f"the derivative of {act.name} ({act.derivative}) in {self.delta(k)}, where "
                f"{layer}{need}")
