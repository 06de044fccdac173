"""The tutorials made executable: printed figures, errata, hand == engine == finite differences."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import nn
from tinygrad_nn import tutorial as T
from tinygrad_nn.tutorial import errata

ROOT = Path(__file__).resolve().parents[1]


def half_unit(printed: float) -> float:
    """Half a unit in the last printed decimal: 0.078 → 0.0005, 0.15 → 0.005, −0.07 → 0.005."""
    text = repr(abs(printed))
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** -decimals + 1e-12


@pytest.fixture(scope="module")
def worked() -> T.ExampleResult:
    return T.worked_example()


@pytest.fixture(scope="module")
def chain() -> T.ExampleResult:
    return T.one_neuron_chain()


# ----------------------------------------------------------------------------------------------
# Seed 000: the printed figures
# ----------------------------------------------------------------------------------------------

# Figures the exact computation reproduces within their rounding.
EXACT_WITHIN_ROUNDING = ["net x_1^2", "net x_2^2", "out x_2^2", "out x_1^3", "out x_2^3"]


@pytest.mark.parametrize("symbol", EXACT_WITHIN_ROUNDING)
def test_forward_figures_within_rounding(worked: T.ExampleResult, symbol: str) -> None:
    printed = T.TUTORIAL_000_FIGURES[symbol]
    assert abs(worked.value(symbol) - printed) <= half_unit(printed)


def test_exact_forward_values(worked: T.ExampleResult) -> None:
    v = worked.value
    assert v("net x_1^2") == pytest.approx(0.15, abs=1e-15)
    assert v("net x_2^2") == pytest.approx(0.1, abs=1e-15)
    assert v("out x_1^2") == pytest.approx(0.5374298453437496, abs=1e-15)
    assert v("out x_2^2") == pytest.approx(0.52497918747894, abs=1e-15)
    assert v("net x_1^3") == pytest.approx(0.7461764545488446, abs=1e-15)
    assert v("out x_1^3") == pytest.approx(0.6783449976116662, abs=1e-15)
    assert v("net x_2^3") == pytest.approx(-0.2187071354969427, abs=1e-15)
    assert v("out x_2^3") == pytest.approx(0.445540124009726, abs=1e-15)


def test_error_E(worked: T.ExampleResult) -> None:
    assert worked.loss == pytest.approx(0.3837888449339607, abs=1e-15)
    assert abs(worked.loss - 0.38) <= half_unit(0.38)
    # E = ((d1 − x1)² + (d2 − x2)²)/2, and the same as nn.MSELoss() (mean over the n = 2 outputs)
    x1, x2 = worked.value("out x_1^3"), worked.value("out x_2^3")
    assert worked.loss == pytest.approx(((0 - x1) ** 2 + (1 - x2) ** 2) / 2, abs=1e-15)
    out = worked.model(tn.Value(worked.x, requires_grad=False))
    assert float(nn.MSELoss()(out, worked.target).data) == pytest.approx(worked.loss, abs=1e-15)


@pytest.mark.parametrize("symbol", ["w_12^2", "w_22^2", "b_1^3"])
def test_last_layer_gradients_within_rounding(worked: T.ExampleResult, symbol: str) -> None:
    printed = T.TUTORIAL_000_FIGURES[symbol]
    assert abs(worked.gradient(symbol).engine - printed) <= half_unit(printed)


@pytest.mark.parametrize("symbol", ["net x1^3", "out x1^3", "net x2^3", "out x2^3", "E",
                                    "w11^2", "w21^2", "w12^2", "w22^2", "b1^3"])
def test_printed_figures_follow_from_printed_inputs(symbol: str) -> None:
    """Each printed figure is the text's arithmetic on its own rounded inputs, rounded."""
    row = errata.as_printed_000()[symbol]
    assert abs(row.value - row.printed) <= half_unit(row.printed)


def test_erratum_out_x1_2_is_truncated() -> None:
    """out x₁² = 0.5374 is printed 0.53 (truncated); rounded it is 0.54."""
    exact = 1 / (1 + math.exp(-0.15))
    assert exact == pytest.approx(0.5374298453437496, abs=1e-15)
    assert round(exact, 2) == 0.54
    assert math.floor(exact * 100) / 100 == 0.53


def test_erratum_net_x1_3_from_rounded_inputs(worked: T.ExampleResult) -> None:
    """0.74 is 0.53·0.9 + 0.52·0.5 = 0.737; exactly, net x₁³ = 0.7462 → 0.75."""
    assert errata.as_printed_000()["net x1^3"].value == pytest.approx(0.737, abs=1e-12)
    assert round(worked.value("net x_1^3"), 2) == 0.75
    assert abs(worked.value("net x_1^3") - 0.74) > half_unit(0.74)


def test_erratum_net_x2_3_from_rounded_inputs(worked: T.ExampleResult) -> None:
    """−0.21 is 0.53·(−0.7) + 0.52·0.3 = −0.215; exactly, net x₂³ = −0.2187 → −0.22."""
    assert errata.as_printed_000()["net x2^3"].value == pytest.approx(-0.215, abs=1e-12)
    assert round(worked.value("net x_2^3"), 2) == -0.22


def test_erratum_w_2_gradients_from_rounded_inputs(worked: T.ExampleResult) -> None:
    """0.078 and 0.077 come from 0.68, 0.53, 0.52; exactly they are 0.0795 and 0.0777."""
    w11, w21 = worked.gradient("w_11^2").engine, worked.gradient("w_21^2").engine
    assert w11 == pytest.approx(0.07954508384932932, abs=1e-14)
    assert w21 == pytest.approx(0.07770225983719779, abs=1e-14)
    assert round(w11, 3) == 0.080 and round(w21, 3) == 0.078
    assert errata.as_printed_000()["w11^2"].value == pytest.approx(0.07842304, abs=1e-12)
    assert errata.as_printed_000()["w21^2"].value == pytest.approx(0.07694336, abs=1e-12)


def test_erratum_w12_w22_exact(worked: T.ExampleResult) -> None:
    """Both print −0.07; to three decimals they are −0.074 and −0.072 (printed inputs: −0.072,
    −0.071)."""
    w12, w22 = worked.gradient("w_12^2").engine, worked.gradient("w_22^2").engine
    assert w12 == pytest.approx(-0.0736120392524726, abs=1e-14)
    assert w22 == pytest.approx(-0.07190666631235007, abs=1e-14)
    assert (round(w12, 3), round(w22, 3)) == (-0.074, -0.072)
    assert errata.as_printed_000()["w12^2"].value == pytest.approx(-0.07214625, abs=1e-12)
    assert errata.as_printed_000()["w22^2"].value == pytest.approx(-0.070785, abs=1e-12)


def test_erratum_b2_3_needs_d2_equal_1(worked: T.ExampleResult) -> None:
    """The line writes (0 − 0.45), which gives +0.111; −0.13 needs d₂ = 1 (exact −0.1370)."""
    rows = errata.as_printed_000()
    assert rows["b2^3"].value == pytest.approx(0.111375, abs=1e-12)        # as written: positive
    assert rows["b2^3 with d2=1"].value == pytest.approx(-0.136125, abs=1e-12)
    exact = worked.gradient("b_2^3").engine
    assert exact == pytest.approx(-0.1369705085979902, abs=1e-14)
    assert round(exact, 2) == -0.14                 # −0.13 is truncated, not rounded
    assert math.ceil(exact * 100) / 100 == -0.13
    d = worked.target
    assert d[1] == 1.0


def test_one_truncation_explains_074_021_0078(worked: T.ExampleResult) -> None:
    """With out x₁² rounded to 0.54, the text's own two-decimal arithmetic gives the exact
    values' figures .75, −.22 and .080: the truncated 0.53 alone causes .74, −.21 and .078."""
    rounded = errata.as_printed_000(out_x1_2=0.54)
    for key, symbol, decimals in [("net x1^3", "net x_1^3", 2), ("net x2^3", "net x_2^3", 2)]:
        assert round(rounded[key].value, decimals) == round(worked.value(symbol), decimals)
    assert round(rounded["w11^2"].value, 3) == round(worked.gradient("w_11^2").engine, 3) == 0.080
    assert (round(rounded["net x1^3"].value, 2), round(rounded["net x2^3"].value, 2)) == \
        (0.75, -0.22)
    # 0.077 is different: rounding 0.678 to 0.68 gives it, with 0.53 or 0.54 alike
    assert round(rounded["w21^2"].value, 3) == 0.077 != round(worked.gradient("w_21^2").engine, 3)


EXPECTED_VERDICTS = {
    "net x_1^2": "exact", "out x_1^2": "mistake", "net x_2^2": "exact", "out x_2^2": "exact",
    "net x_1^3": "mistake", "out x_1^3": "exact", "net x_2^3": "mistake", "out x_2^3": "exact",
    "E": "exact", "w_11^2": "mistake", "w_21^2": "rounding", "w_12^2": "exact",
    "w_22^2": "exact", "b_1^3": "exact", "b_2^3": "mistake",
}


def test_every_printed_figure_is_judged(worked: T.ExampleResult) -> None:
    rows = {r.symbol: r.verdict for r in worked.forward if r.printed is not None}
    rows |= {r.symbol: r.verdict for r in worked.gradients if r.printed is not None}
    rows["E"] = worked.loss_verdict
    assert {s: v.verdict for s, v in rows.items() if v} == EXPECTED_VERDICTS
    assert str(rows["out x_1^2"]) == "mistake: 0.537430 truncated, not rounded (erratum 1)"
    assert str(rows["net x_1^3"]) == "mistake: 0.737000 from the truncated 0.53 (erratum 2)"
    assert str(rows["w_11^2"]) == "mistake: 0.078423 from the truncated 0.53 (erratum 3)"
    assert str(rows["w_21^2"]) == "rounding: 0.076943 from two-decimal steps"
    assert str(rows["b_2^3"]) == "mistake: -0.136125 truncated, not rounded (erratum 5)"


def test_judge_figure_rules() -> None:
    assert errata.judge_figure(0.54, 0.5374).verdict == "exact"
    assert errata.judge_figure(0.53, 0.5374).reason == "0.537400 truncated, not rounded"
    assert errata.judge_figure(0.3, 0.5374).verdict == "mistake"
    assert str(errata.judge_figure(0.077, 0.0777, rounded_steps=0.0769)) == \
        "rounding: 0.076900 from two-decimal steps"
    with pytest.raises(KeyError, match=r"judge_printed_000: no printed figure 'w_11\^1'"):
        errata.judge_printed_000("w_11^1", 0.028)


def test_erratum_error_matrix_form() -> None:
    """E = (1/n)(Y − X)·(Y − X)ᵗ with column vectors is an n×n matrix; (Y − X)ᵗ(Y − X) is E."""
    Y = np.array([[0.0], [1.0]])
    X = np.array([[0.6783449976116662], [0.445540124009726]])
    as_written = (Y - X) @ (Y - X).T / 2
    assert as_written.shape == (2, 2)
    assert float(((Y - X).T @ (Y - X) / 2).item()) == pytest.approx(0.3837888449339607,
                                                                      abs=1e-15)


def test_weight_orientation(worked: T.ExampleResult) -> None:
    """w_ij (neuron i → neuron j) is Linear.weight[j, i]: row j holds the weights into neuron j."""
    W1 = worked.model.layers[0].weight.data
    assert W1[0, 0] == 0.25 and W1[0, 1] == 0.1      # w11, w21 → net x1² = 0.15
    assert W1[1, 0] == 0.35 and W1[1, 1] == -0.3     # w12, w22 → net x2² = 0.1
    assert (W1 @ worked.x).tolist() == pytest.approx([0.15, 0.1], abs=1e-15)
    # the other orientation gives the wrong net values
    assert (W1.T @ worked.x).tolist() != pytest.approx([0.15, 0.1], abs=1e-3)


def test_erratum_backprop_sum_index() -> None:
    """The text's Σ w_ji δ_j (index j, layer l) is not ∂E/∂out; Σ_i w_ji δ_i^{l+1} is."""
    model = T.worked_model()
    x, d = np.array([0.5, 0.25]), np.array([0.0, 1.0])
    W2 = model.layers[2].weight.data                 # W2[i, j] = w_ji (j → i)
    ref = T.manual_backprop(model, x, d)
    d3 = ref.deltas[1]
    literal = W2.sum(axis=0) * d3                    # Σ_i w_ji · δ_j  (as printed)
    correct = W2.T @ d3                              # Σ_i w_ji · δ_i
    assert not np.allclose(literal, correct)
    out = ref.outs[1]
    assert np.allclose(correct * out * (1 - out), ref.deltas[0], atol=1e-15)


def test_erratum_dw_layer_index(worked: T.ExampleResult) -> None:
    """∂E/∂w_ij^l = δ_j^{l+1} out x_i^l for both layers (l = L−1 is the last-layer formula);
    the printed δ_j^l x_i^{l−1} pairs W_2 with layer 1's δ and the input instead."""
    outs = {1: worked.x, 2: np.array([worked.value("out x_1^2"), worked.value("out x_2^2")])}
    deltas = {2: worked.deltas[0].engine, 3: worked.deltas[1].engine}
    for l in (1, 2):
        for i in (1, 2):
            for j in (1, 2):
                grad = worked.gradient(f"w_{i}{j}^{l}").engine
                assert grad == pytest.approx(deltas[l + 1][j - 1] * outs[l][i - 1], abs=1e-15)
    printed = [deltas[2][j] * worked.x[i] for j in (0, 1) for i in (0, 1)]     # δ_j^2 x_i^1
    assert not np.allclose(printed, [worked.gradient(f"w_{i}{j}^2").engine
                                     for j in (1, 2) for i in (1, 2)], atol=1e-3)


# ----------------------------------------------------------------------------------------------
# Seed 000: all 12 gradients three ways
# ----------------------------------------------------------------------------------------------


def test_worked_example_all_twelve_three_ways(worked: T.ExampleResult) -> None:
    assert len(worked.gradients) == 12
    assert {r.symbol for r in worked.gradients} == {
        "w_11^1", "w_12^1", "w_21^1", "w_22^1", "b_1^2", "b_2^2",
        "w_11^2", "w_12^2", "w_21^2", "w_22^2", "b_1^3", "b_2^3"}
    for r in worked.gradients:
        assert r.hand_engine <= 1e-10, r
        assert r.engine_numeric <= 1e-6, r
    assert worked.ok


def test_worked_example_first_layer_values(worked: T.ExampleResult) -> None:
    """The layer the tutorial skips: δ² = (W₂ᵀ δ³) ⊙ out(1 − out), ∂E/∂w_ij¹ = δ_j² x_i."""
    g = {r.symbol: r.engine for r in worked.gradients}
    assert g["b_1^2"] == pytest.approx(0.05695117623160055, abs=1e-14)
    assert g["b_2^2"] == pytest.approx(0.008207946384082135, abs=1e-14)
    assert g["w_11^1"] == pytest.approx(0.5 * g["b_1^2"], abs=1e-15)
    assert g["w_21^1"] == pytest.approx(0.25 * g["b_1^2"], abs=1e-15)
    assert g["w_12^1"] == pytest.approx(0.5 * g["b_2^2"], abs=1e-15)
    assert g["w_22^1"] == pytest.approx(0.25 * g["b_2^2"], abs=1e-15)
    assert g["w_11^1"] == pytest.approx(0.028475588115800275, abs=1e-14)


def test_worked_example_deltas(worked: T.ExampleResult) -> None:
    d2, d3 = worked.deltas
    assert d3.engine == pytest.approx([0.14801017200384708, -0.1369705085979902], abs=1e-14)
    assert np.max(np.abs(d2.hand - d2.engine)) <= 1e-15
    assert d2.layer == "f: Linear[0]" and d3.layer == "g: Linear[2]"


def test_worked_example_graph_root(worked: T.ExampleResult) -> None:
    assert isinstance(worked.graph, tn.Value)
    assert float(worked.graph.data) == pytest.approx(worked.loss, abs=1e-15)


# ----------------------------------------------------------------------------------------------
# Random networks: hand-derived == engine == finite differences
# ----------------------------------------------------------------------------------------------

ACTS: dict[str, Any] = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
    "leaky": lambda: nn.LeakyReLU(0.1), "softplus": nn.Softplus, "identity": nn.Identity,
}


def random_net(seed: int, sizes: list[int], act: str) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(itertools.pairwise(sizes)):
        lin = nn.Linear(a, b, rng=rng)
        assert lin.bias is not None
        lin.bias.data = rng.normal(scale=0.5, size=b)   # non-zero biases exercise ∂E/∂B
        layers.append(lin)
        if k < len(sizes) - 2:
            layers.append(ACTS[act]())
    layers.append(ACTS[act]())
    return nn.Sequential(*layers)


def case(seed: int, sizes: list[int], act: str, loss: str,
         batch: int | None) -> tuple[nn.Sequential, np.ndarray, np.ndarray]:
    model = random_net(seed, sizes, act)
    if loss == "ce":
        model = nn.Sequential(*model.layers[:-1])      # logits: end with the Linear
    rng = np.random.default_rng(seed + 1000)
    shape = (sizes[0],) if batch is None else (batch, sizes[0])
    x = rng.normal(size=shape)
    if loss == "mse":
        t = rng.uniform(-1, 1, size=shape[:-1] + (sizes[-1],))
    else:
        t = rng.integers(0, sizes[-1], size=() if batch is None else (batch,))
    return model, x, t


SHAPES = [[2, 2, 2], [3, 5, 4, 2], [4, 3, 6, 5, 3], [1, 1], [6, 7, 3]]
CASES = [(seed, sizes, act, loss, batch)
         for seed, sizes in enumerate(SHAPES)
         for act in ACTS
         for loss in ("mse", "ce")
         for batch in (None, 5)]


@pytest.mark.parametrize("seed,sizes,act,loss,batch", CASES,
                         ids=[f"{s}-{'x'.join(map(str, z))}-{a}-{l}-{'N' + str(b) if b else '1'}"
                              for s, z, a, l, b in CASES])
def test_hand_equals_engine(seed: int, sizes: list[int], act: str, loss: str,
                            batch: int | None) -> None:
    model, x, t = case(seed, sizes, act, loss, batch)
    eng = T.engine_backprop(model, x, t, loss)
    col = T.manual_backprop(model, x, t, loss, "column")
    row = T.manual_backprop(model, x, t, loss, "row")
    assert col.loss == pytest.approx(float(eng.loss.data), abs=1e-12)
    assert row.loss == pytest.approx(float(eng.loss.data), abs=1e-12)
    for (dW, db), (rW, rb), (eW, eb), lin in zip(col.grads, row.grads, eng.grads,
                                               [m for m in model.layers
                                                if isinstance(m, nn.Linear)]):
        assert dW.shape == lin.weight.shape and rW.shape == lin.weight.shape[::-1]
        assert np.max(np.abs(dW - eW)) <= 1e-10
        assert np.max(np.abs(rW.T - eW)) <= 1e-10
        assert np.max(np.abs(db - eb)) <= 1e-10 and np.max(np.abs(rb - eb)) <= 1e-10
    for hd, rd, ed in zip(col.deltas, row.deltas, eng.deltas):
        assert hd.shape == ed.shape == rd.shape
        assert np.max(np.abs(hd - ed)) <= 1e-10 and np.max(np.abs(rd - ed)) <= 1e-10


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_engine_equals_finite_differences(act: str, loss: str) -> None:
    model, x, t = case(7, [3, 4, 3], act, loss, 4)
    eng = T.engine_backprop(model, x, t, loss)
    num = T.numeric_gradients(model, x, t, loss)
    for (eW, eb), (nW, nb) in zip(eng.grads, num):
        assert np.max(np.abs(eW - nW)) <= 1e-6
        assert np.max(np.abs(eb - nb)) <= 1e-6


def test_sum_reduction_is_seed_004_C0() -> None:
    model, x, t = case(3, [3, 4, 2], "sigmoid", "mse", 4)
    hand = T.manual_backprop(model, x, t, "mse", "row", reduction="sum")
    eng = T.engine_backprop(model, x, t, "mse", reduction="sum")
    out = model(tn.Value(x, requires_grad=False)).data
    assert hand.loss == pytest.approx(float(np.sum((out - t) ** 2)), abs=1e-12)
    for (rW, rb), (eW, eb) in zip(hand.grads, eng.grads):
        assert np.max(np.abs(rW.T - eW)) <= 1e-10 and np.max(np.abs(rb - eb)) <= 1e-10


def test_ce_with_one_hot_target_equals_labels() -> None:
    model, x, labels = case(4, [3, 4, 3], "tanh", "ce", 5)
    onehot = np.eye(3)[labels]
    a = T.manual_gradients(model, x, labels, loss="ce")
    b = T.manual_gradients(model, x, onehot, loss="ce")
    for (aw, ab), (bw, bb) in zip(a, b):
        assert np.array_equal(aw, bw) and np.array_equal(ab, bb)


def test_trailing_loss_layer_is_ignored() -> None:
    model, x, t = case(2, [3, 4, 2], "sigmoid", "mse", None)
    with_loss = nn.Sequential(*model.layers, nn.MSELoss())
    a = T.manual_gradients(model, x, t)
    b = T.manual_gradients(with_loss, x, t)
    assert all(np.array_equal(p, q) for (p, _), (q, _) in zip(a, b))
    assert T.check_deltas(with_loss, x, t).ok


def test_manual_does_not_touch_parameter_grads() -> None:
    model, x, t = case(1, [3, 4, 2], "sigmoid", "mse", 3)
    marker = np.full(model.layers[0].weight.shape, 7.0)
    model.layers[0].weight.grad = marker
    T.engine_backprop(model, x, t)
    T.manual_gradients(model, x, t)
    assert model.layers[0].weight.grad is marker


@pytest.mark.parametrize("bad,match", [
    ({"convention": "diagonal"}, "convention must be 'column'"),
    ({"loss": "hinge"}, "loss must be 'mse' or 'ce'"),
    ({"reduction": "max"}, "reduction must be 'mean' or 'sum'"),
])
def test_manual_argument_errors(bad: dict[str, str], match: str) -> None:
    model, x, t = case(0, [2, 2, 2], "sigmoid", "mse", None)
    with pytest.raises(ValueError, match=match):
        T.manual_gradients(model, x, t, **bad)


def test_manual_shape_errors_name_function_expected_given() -> None:
    model, x, t = case(0, [2, 2, 2], "sigmoid", "mse", None)
    with pytest.raises(ValueError, match=r"manual_backprop: expected x of shape \(2,\) or "
                                         r"\(N, 2\).*got shape \(3,\)"):
        T.manual_gradients(model, np.zeros(3), t)
    with pytest.raises(ValueError, match=r"manual_backprop: expected target.*\(2,\), got shape"):
        T.manual_gradients(model, x, np.zeros(3))
    with pytest.raises(ValueError, match=r"nn\.Softmax at position 1 is not element-wise"):
        T.manual_gradients(nn.Sequential(nn.Linear(2, 2), nn.Softmax()), x, t)

    class Square(nn.Module):
        def forward(self, x: Any) -> Any:
            return x * x

    with pytest.raises(TypeError, match="no hand-written φ' for layer Square at position 1"):
        T.manual_gradients(nn.Sequential(nn.Linear(2, 2), Square()), x, t)
    with pytest.raises(ValueError, match=r"first layer to be nn\.Linear"):
        T.manual_gradients(nn.Sequential(nn.Sigmoid(), nn.Linear(2, 2)), x, t)
    with pytest.raises(ValueError, match=r"loss='ce' expects the model to end with nn\.Linear"):
        T.manual_gradients(model, x, np.int64(1), loss="ce")


def test_activation_table_derivatives_match_finite_differences() -> None:
    z = np.linspace(-3, 3, 13) + 0.05                  # avoid the kink of relu at 0
    for cls, act in T.ACTIVATIONS.items():
        k = 0.1 if cls is nn.LeakyReLU else 0.0
        out = act.phi(z, k)
        num = (act.phi(z + 1e-6, k) - act.phi(z - 1e-6, k)) / 2e-6
        assert np.max(np.abs(act.dphi(z, out, k) - num)) <= 1e-8, act.name


def test_logistic_is_warning_free_for_large_inputs() -> None:
    act = T.ACTIVATIONS[nn.Sigmoid]
    out = act.phi(np.array([-1000.0, 0.0, 1000.0]), 0.0)
    assert out.tolist() == [0.0, 0.5, 1.0]


# ----------------------------------------------------------------------------------------------
# check_deltas
# ----------------------------------------------------------------------------------------------


def student_forgets_phi_prime_in_layer_1(model: Any, x: Any, target: Any) -> list[np.ndarray]:
    """A learner's backprop that drops φ'(net) when it passes δ down into Linear #1."""
    ref = T.manual_backprop(model, x, target)
    W = [m.weight.data for m in model.layers if isinstance(m, nn.Linear)]
    deltas = list(ref.deltas)
    deltas[1] = deltas[2] @ W[2]                      # (W₃ᵀ δ₃) without ⊙ φ'(net₂)
    out = ref.outs[1]
    deltas[0] = (deltas[1] @ W[1]) * out * (1 - out)  # layer 0 itself is right
    return deltas


def test_check_deltas_finds_the_broken_layer() -> None:
    model, x, t = case(11, [3, 4, 4, 2], "sigmoid", "mse", 3)
    verdict = T.check_deltas(model, x, t, manual=student_forgets_phi_prime_in_layer_1)
    assert not verdict.ok
    assert verdict.first_divergent == 1
    assert [d.ok for d in verdict.layers] == [False, False, True]   # layer 0 inherits it
    text = str(verdict)
    assert "first divergence, walking back from the output: g: Linear[2] (Linear #1)" in text
    assert "f: Linear[0]" in text and "inherit" in text


def test_check_deltas_accepts_a_correct_student() -> None:
    model, x, t = case(11, [3, 4, 4, 2], "tanh", "mse", None)

    def student(model: Any, x: Any, target: Any) -> Any:
        return T.manual_backprop(model, x, target, convention="row")   # .deltas is used

    verdict = T.check_deltas(model, x, t, manual=student)
    assert verdict.ok and verdict.first_divergent is None
    assert "agrees" in str(verdict)
    assert T.check_deltas(model, x, t).ok


def test_check_deltas_catches_the_printed_sum_index() -> None:
    """A student coding seed 000's Σ w_ji δ_j^{l+1} literally is caught at the hidden layer."""
    model = T.worked_model()
    x, d = np.array([0.5, 0.25]), np.array([0.0, 1.0])

    def literal(model: Any, x: Any, target: Any) -> list[np.ndarray]:
        ref = T.manual_backprop(model, x, target)
        W2 = model.layers[2].weight.data
        out = ref.outs[1]
        return [W2.sum(axis=0) * ref.deltas[1] * out * (1 - out), ref.deltas[1]]

    verdict = T.check_deltas(model, x, d, manual=literal)
    assert verdict.first_divergent == 0


def test_check_deltas_ce_passes_loss_through() -> None:
    model, x, t = case(5, [3, 4, 3], "relu", "ce", 4)
    seen = {}

    def student(model: Any, x: Any, target: Any, loss: str = "mse") -> list[np.ndarray]:
        seen["loss"] = loss
        return T.manual_deltas(model, x, target, loss=loss)

    assert T.check_deltas(model, x, t, manual=student, loss="ce").ok
    assert seen["loss"] == "ce"


def test_check_deltas_errors() -> None:
    model, x, t = case(11, [3, 4, 2], "sigmoid", "mse", None)
    with pytest.raises(ValueError, match="expected the manual function to return 2 deltas"):
        T.check_deltas(model, x, t, manual=lambda m, x, t: [np.zeros(4)])
    with pytest.raises(ValueError, match=r"δ of g: Linear\[2\].*\(2,\), got \(3,\)"):
        T.check_deltas(model, x, t, manual=lambda m, x, t: [np.zeros(4), np.zeros(3)])


# ----------------------------------------------------------------------------------------------
# Seed 004: the one-neuron chain and the pseudo-code
# ----------------------------------------------------------------------------------------------


def test_chain_reproduces_0_66(chain: T.ExampleResult) -> None:
    out = chain.value("a^(3)")
    assert round(out, 2) == 0.66
    assert out == pytest.approx(0.6585653008419545, abs=1e-13)
    assert chain.loss == pytest.approx((out - 1.0) ** 2, abs=1e-15)
    model_out = chain.model(tn.Value(chain.x, requires_grad=False)).data
    assert float(model_out[0]) == pytest.approx(out, abs=1e-15)


def test_chain_three_ways(chain: T.ExampleResult) -> None:
    assert [r.symbol for r in chain.gradients] == ["w^(1)", "b^(1)", "w^(2)", "b^(2)", "w^(3)",
                                                    "b^(3)"]
    assert chain.ok
    for r in chain.gradients:
        assert r.hand_engine <= 1e-10 and r.engine_numeric <= 1e-6


def test_chain_factors_are_the_texts_boxes(chain: T.ExampleResult) -> None:
    top = chain.chain[-1]
    a2, a3 = chain.value("a^(2)"), chain.value("a^(3)")
    assert top.dz_dw == a2                             # ∂z/∂w = a^(L−1)
    assert top.da_dz == pytest.approx(a3 * (1 - a3), abs=1e-15)   # σ'(z) = σ(1 − σ)
    assert top.dC_da == pytest.approx(2 * (a3 - 1.0), abs=1e-15)  # 2(a − y)
    assert chain.gradient("w^(3)").hand == pytest.approx(a2 * a3 * (1 - a3) * 2 * (a3 - 1),
                                                         abs=1e-15)
    # "from previous iteration": ∂C/∂a^(2) = w^(3) σ'(z^(3)) 2(a^(3) − y)
    assert chain.chain[1].dC_da == pytest.approx(0.7 * top.da_dz * top.dC_da, abs=1e-15)
    rows = T.manual_gradients(chain.model, chain.x, chain.target, convention="row",
                              reduction="sum")
    for f, (dW, db) in zip(chain.chain, rows):
        assert dW[0, 0] == pytest.approx(f.dC_dw, abs=1e-15)
        assert db[0] == pytest.approx(f.dC_db, abs=1e-15)


def seed004_net() -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray]:
    """A 4-5-3-2 network in seed 004's layout: Layers_weights 4x5, 5x3, 3x2."""
    rng = np.random.default_rng(4)
    weights = [rng.uniform(-1, 1, size=s) for s in [(4, 5), (5, 3), (3, 2)]]
    biases = [rng.uniform(-0.5, 0.5, size=n) for n in (5, 3, 2)]
    return weights, biases, rng.uniform(size=4), np.array([0.0, 1.0])


def seed004_model(weights: list[np.ndarray], biases: list[np.ndarray]) -> nn.Sequential:
    """The network of seed 004's lists: Linear.weight is Layers_weights[L].T (n_cur, n_prev)."""
    layers: list[nn.Module] = []
    for W, b in zip(weights, biases):
        lin = nn.Linear(*W.shape)
        lin.weight.data = W.T.copy()
        assert lin.bias is not None
        lin.bias.data = b.copy()
        layers += [lin, nn.Sigmoid()]
    return nn.Sequential(*layers)


def assert_matches_the_engine(run: errata.Seed004Run, weights: list[np.ndarray],
                              biases: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
    """Every z, a, Error_weights and Error_bias of the transcription equals the engine's."""
    engine = T.engine_backprop(seed004_model(weights, biases), x, y, "mse", "sum")
    for z, a, net, out in zip(run.Layers_values_zl, run.Layers_values_al, engine.nets,
                              engine.outs):
        assert np.max(np.abs(z[0] - net.data)) <= 1e-12 and np.max(np.abs(a[0] - out)) <= 1e-12
    assert len(run.Layers_error_weights) == len(engine.grads)
    for (dW, db), eW, eb in zip(engine.grads, run.Layers_error_weights, run.Layers_error_bias):
        assert eW.shape == dW.T.shape                      # seed 004's (n_prev, n_cur)
        assert np.max(np.abs(eW - dW.T)) <= 1e-12 and np.max(np.abs(eb[0] - db)) <= 1e-12


def test_seed004_pseudocode_corrected_matches_the_engine() -> None:
    weights, biases, x, y = seed004_net()
    run = errata.seed004_pseudocode(x, y, weights, biases)
    assert run.visited == [2, 1, 0]
    assert_matches_the_engine(run, weights, biases, x, y)
    # and the hand-derived row convention agrees too
    rows = T.manual_gradients(seed004_model(weights, biases), x, y, convention="row",
                              reduction="sum")
    for (rW, _), eW in zip(rows, run.Layers_error_weights):
        assert np.max(np.abs(eW - rW)) <= 1e-12


def test_seed004_erratum_forward_loop_as_printed_overruns() -> None:
    weights, biases, x, y = seed004_net()
    with pytest.raises(IndexError, match=r"reads Layers_weights\[3\] of 3 matrices"):
        errata.seed004_pseudocode(x, y, weights, biases, forward_range=False)


def test_seed004_erratum_error_bias_prev_as_printed() -> None:
    """As printed, Error_bias_prev needs equal widths; then δ below loses the weights."""
    weights, biases, x, y = seed004_net()                  # 4-5-3-2: widths 2 and 3 differ
    with pytest.raises(ValueError, match=r"Error_bias \(2 entries, layer 3\) by "
                                         r"d_ActiveFunc\(zl_1\) \(3 entries, layer 2\)"):
        errata.seed004_pseudocode(x, y, weights, biases, error_prev_layer=False)
    rng = np.random.default_rng(5)                          # 3-3-3-3: the line runs silently
    weights = [rng.uniform(-1, 1, size=(3, 3)) for _ in range(3)]
    biases = [rng.uniform(-0.5, 0.5, size=3) for _ in range(3)]
    x, y = rng.uniform(size=3), np.array([0.0, 1.0, 0.0])
    printed = errata.seed004_pseudocode(x, y, weights, biases, error_prev_layer=False)
    fixed = errata.seed004_pseudocode(x, y, weights, biases)
    assert_matches_the_engine(fixed, weights, biases, x, y)
    assert np.allclose(printed.Layers_error_weights[2], fixed.Layers_error_weights[2])
    assert not np.allclose(printed.Layers_error_weights[1], fixed.Layers_error_weights[1])
    top, z_below = fixed.Layers_error_bias[2][0], fixed.Layers_values_zl[1][0]
    s = 1 / (1 + np.exp(-z_below))
    assert np.allclose(printed.Layers_error_bias[1][0], top * s * (1 - s), atol=1e-15)


def test_seed004_erratum_range_is_empty() -> None:
    number_layers = 4
    assert list(range(number_layers - 2, 0)) == []
    weights, biases, x, y = seed004_net()
    run = errata.seed004_pseudocode(x, y, weights, biases, step_minus_one=False)
    assert run.visited == [] and run.Layers_error_weights == []


def test_seed004_erratum_first_layer_never_stored() -> None:
    weights, biases, x, y = seed004_net()
    run = errata.seed004_pseudocode(x, y, weights, biases, first_layer=False)
    assert run.visited == [2, 1]
    assert [w.shape for w in run.Layers_error_weights] == [(5, 3), (3, 2)]   # no 4x5
    # at L = 0 the printed index al[L-1] is al[-1]: the output row, not the input
    assert run.Layers_values_al[-1].shape == (1, 2)


def test_seed004_erratum_d_mse_subtracts_the_output_itself() -> None:
    weights, biases, x, y = seed004_net()
    run = errata.seed004_pseudocode(x, y, weights, biases, subtract_expected=False)
    assert all(np.all(w == 0.0) for w in run.Layers_error_weights)
    assert all(np.all(b == 0.0) for b in run.Layers_error_bias)


def test_seed004_erratum_forward_without_bias() -> None:
    weights, biases, x, y = seed004_net()
    fixed = errata.seed004_pseudocode(x, y, weights, biases)
    printed = errata.seed004_pseudocode(x, y, weights, biases, add_bias=False)
    assert not np.allclose(printed.Layers_values_al[-1], fixed.Layers_values_al[-1])
    with_bias = x @ weights[0] + biases[0]
    assert np.allclose(fixed.Layers_values_zl[0][0], with_bias, atol=1e-15)


def test_seed004_erratum_forward_loop_overruns() -> None:
    """`for L in range(number_layers-1)` reads Layers_weights[L+1] up to index 3 of 3 matrices."""
    weights = seed004_net()[0]
    number_layers = len(weights) + 1          # what the backward code's indices need
    assert max(L + 1 for L in range(number_layers - 1)) == len(weights)   # IndexError
    number_layers = len(weights)              # what the forward loop needs
    # ... but then d_MSE's Layers_values_al[number_layers-2] is the hidden 1x3 layer
    assert number_layers - 2 == 1


def test_seed004_pseudocode_shape_errors() -> None:
    weights, biases, x, y = seed004_net()
    with pytest.raises(ValueError, match=r"seed004_pseudocode: Layers_weights\[1\] must be "
                                         r"\(5, n_cur\)"):
        errata.seed004_pseudocode(x, y, [weights[0], weights[2]], biases[:2])
    with pytest.raises(ValueError, match="expected_output must have 2 entries"):
        errata.seed004_pseudocode(x, [1.0], weights, biases)
    with pytest.raises(ValueError, match="one bias row per weight matrix"):
        errata.seed004_pseudocode(x, y, weights, biases[:2])


def test_seed004_literal_code_as_printed() -> None:
    weights, biases, x, y = seed004_net()
    run = errata.seed004_pseudocode(x, y, weights, biases, add_bias=False,
                                    subtract_expected=False, step_minus_one=False,
                                    first_layer=False, error_prev_layer=False)
    assert run.Layers_error_bias == [] and run.Layers_error_weights == []


# ----------------------------------------------------------------------------------------------
# Report, pictures, examples
# ----------------------------------------------------------------------------------------------


def test_format_report(worked: T.ExampleResult) -> None:
    text = T.format_report(worked)
    assert "net x_1^3         0.74     0.746176" in text
    assert "E                 0.38     0.383789" in text
    assert "b_2^3   layers.2.bias[1]            -0.13    -0.136971    -0.136971    -0.136971" \
        in text
    assert text.count("layers.") == 12
    assert text.rstrip().splitlines()[-1].startswith("OK: max |hand − engine|")
    assert "0.53     0.537430  mistake: 0.537430 truncated, not rounded (erratum 1)" in text
    assert "0.077     0.077702     0.077702     0.077702" in text
    assert text.count("  exact") == 9 and text.count("  rounding: ") == 1
    assert text.count("  mistake: ") == 5


def test_worked_example_builds_agree() -> None:
    scalar = T.worked_example_scalar()
    tensor = T.worked_example_tensor()
    assert scalar.data == pytest.approx(float(tensor.data), rel=1e-12)
    assert scalar.data == pytest.approx(0.3838, abs=1e-4)     # seed 000: E = 0.38


@pytest.mark.parametrize("script", ["tutorial_000_worked_example.py",
                                    "tutorial_004_one_neuron_chain.py"])
def test_example_scripts_run(script: str) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--fast"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert "0.66" in result.stdout or "0.38" in result.stdout
    assert "Traceback" not in result.stderr


# -- the chain rule as a product of per-layer Jacobians ------------------------------------------


def test_jacobian_chain_of_the_worked_example() -> None:
    """J_E · J_φ · J_g · J_φ · J_f, each factor by tn.jacobian, equals backward()'s ∂E/∂X₁, and
    each factor is the formula seed 000 derives for its map."""
    chain = T.jacobian_chain()
    assert chain.formula == "J_E · J_φ · J_g · J_φ · J_f"
    assert [f.at for f in chain.factors] == ["X₁", "net X₂", "out X₂", "net X₃", "out X₃"]
    assert [f.layer for f in chain.factors] == ["f: Linear[0]", "φ: Sigmoid[1]", "g: Linear[2]",
                                               "φ: Sigmoid[3]", "E: MSELoss"]
    J_f, J_phi2, J_g, J_phi3, J_E = (f.matrix for f in chain.factors)
    model = T.worked_model()
    np.testing.assert_array_equal(J_f, model[0].weight.data)          # ∂net X₂/∂X₁ = W₁
    np.testing.assert_array_equal(J_g, model[2].weight.data)          # ∂net X₃/∂out X₂ = W₂
    for J_phi, net in ((J_phi2, chain.factors[1].point), (J_phi3, chain.factors[3].point)):
        out = 1 / (1 + np.exp(-net))
        np.testing.assert_allclose(J_phi, np.diag(out * (1 - out)), rtol=1e-15)   # φ' = φ(1 − φ)
    d, out3 = np.array([0.0, 1.0]), chain.factors[4].point
    np.testing.assert_allclose(J_E, [-2 * (d - out3) / 2], rtol=1e-15)  # ∂E/∂x_j = −2(d_j − x_j)/n
    product = J_E @ J_phi3 @ J_g @ J_phi2 @ J_f
    np.testing.assert_allclose(chain.product, product, rtol=1e-15)
    x = tn.Value(np.array([0.5, 0.25]))
    nn.MSELoss()(model(x), d).backward()
    np.testing.assert_allclose(chain.product[0], x.grad, rtol=1e-13)
    np.testing.assert_allclose(chain.engine, x.grad, rtol=1e-15)
    assert chain.ok


def test_jacobian_chain_gives_the_weight_gradients_and_the_deltas() -> None:
    """∂E/∂W_l = (the Jacobians after the layer) · ∂net/∂W_l, where the first factor is δᵀ."""
    chain = T.jacobian_chain()
    worked = T.worked_example()
    by_symbol = {r.symbol: r.engine for r in worked.gradients}
    (w1, w2) = chain.weights
    assert (w1.symbol, w2.symbol) == ("∂E/∂W₁", "∂E/∂W₂")
    np.testing.assert_allclose(w2.upstream[0], worked.deltas[1].engine, rtol=1e-13)   # δ³
    np.testing.assert_allclose(w1.upstream[0], worked.deltas[0].engine, rtol=1e-13)   # δ²
    for grad, layer in ((w1, 1), (w2, 2)):
        for i, j in itertools.product((0, 1), repeat=2):                # w_ij^l = W_l[j, i]
            assert grad.by_jacobians[j, i] == pytest.approx(by_symbol[f"w_{i + 1}{j + 1}^{layer}"],
                                                            rel=1e-13)
        np.testing.assert_allclose(grad.by_jacobians, grad.engine, rtol=1e-13)


def test_jacobian_chain_of_another_network_leaves_its_grads_alone() -> None:
    model = nn.mlp([3, 4, 2], activation="tanh", output_activation="sigmoid", rng=1)
    for p in model.parameters():
        p.grad = np.full(p.shape, 7.0)
    chain = T.jacobian_chain(model, np.array([0.3, -0.2, 0.9]), np.array([1.0, 0.0]),
                             nn.MSELoss("sum"))
    assert chain.formula == "J_E · J_φ · J_g · J_φ · J_f" and chain.ok
    assert [f.matrix.shape for f in chain.factors] == [(4, 3), (4, 4), (2, 4), (2, 2), (1, 2)]
    assert all(np.all(p.grad == 7.0) for p in model.parameters())
