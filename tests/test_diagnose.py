"""diagnose: a learner's own backprop checked against the engine, its mistake named.

The seeded learners live in tests/diagnose_learners.py: a correct learner per convention and
one small subclass per mistake.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import diagnose_learners as DL
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_nn import Value, cli, nn
from tinygrad_nn import tutorial as T
from tinygrad_nn.tutorial import mistakes
from tinygrad_nn.tutorial.learner_output import LearnerError
from tinygrad_nn.tutorial.learners import random_problem

ROOT = Path(__file__).resolve().parents[1]
ISSUE_KINDS = ["sign", "scale", "missing_phi_prime", "phi_prime_of_out", "transposed",
               "wrong_layer_input", "bias_not_summed", "wrong_activation", "other"]


def run(case: DL.Seeded, learner: Any = None) -> T.Diagnosis:
    model, x, target = case.data()
    return T.diagnose(model, x, target, learner or case.make(), loss=case.loss,
                      reduction=case.reduction)


# ----------------------------------------------------------------------------------------------
# The seeded mistakes
# ----------------------------------------------------------------------------------------------


def test_the_seeded_catalogue_covers_every_kind_both_conventions_and_every_setting() -> None:
    cases = DL.SEEDED
    assert len(cases) >= 40
    for kind in ISSUE_KINDS:
        conventions = {c.convention for c in cases if c.expected[2] == kind}
        assert conventions == {"column", "row"}, f"{kind}: only {conventions}"
    assert {c.expected[2] for c in cases} == set(T.KINDS)
    assert {c.batch > 1 for c in cases} == {True, False}
    assert {c.loss for c in cases} == {"mse", "ce"}
    assert {c.expected[1] for c in cases} >= {0, 1, 2, None}     # first, middle, last layer, E


def test_seeded_mistakes_are_named_right() -> None:
    """At least 95% get the right quantity, layer and kind (the first wrong returned value)."""
    misses = []
    for case in DL.SEEDED:
        d = run(case)
        if (d.quantity, d.layer, d.kind) != case.expected:
            misses.append(f"{case.name}: got {(d.quantity, d.layer, d.kind)}, expected "
                          f"{case.expected}\n{d}")
    right = len(DL.SEEDED) - len(misses)
    assert right >= 0.95 * len(DL.SEEDED), "\n\n".join(misses)


@pytest.mark.parametrize("case", DL.SEEDED, ids=[c.name for c in DL.SEEDED])
def test_the_same_learner_without_its_mistake_is_ok(case: DL.Seeded) -> None:
    """The seeded mistake is the only thing wrong: the learner it extends passes."""
    base = DL.ColumnLearner if case.convention == "column" else DL.RowLearner
    correct = base(activation=case.activation, loss=case.loss, reduction=case.reduction,
                   keys=case.keys, flat=case.flat)
    assert run(case, correct).ok
    assert not run(case).ok


# ----------------------------------------------------------------------------------------------
# No false alarms
# ----------------------------------------------------------------------------------------------


@st.composite
def correct_learners(draw: st.DrawFn) -> tuple[Any, ...]:
    sizes = draw(st.lists(st.integers(1, 5), min_size=2, max_size=5))
    activation = draw(st.sampled_from(["sigmoid", "tanh", "relu"]))
    convention = draw(st.sampled_from(["column", "row"]))
    loss = draw(st.sampled_from(["mse", "ce"]))
    reduction = draw(st.sampled_from(["mean", "sum"])) if loss == "mse" else "mean"
    batch = draw(st.integers(1, 8))
    keys = tuple(draw(st.lists(st.sampled_from(DL.KEYS), min_size=1, max_size=6, unique=True)))
    flat = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return sizes, activation, convention, loss, reduction, batch, keys, flat, seed


@settings(max_examples=500, deadline=None)
@given(correct_learners())
def test_correct_learners_are_ok(drawn: tuple[Any, ...]) -> None:
    sizes, activation, convention, loss, reduction, batch, keys, flat, seed = drawn
    model, x, target = random_problem(sizes, activation, loss, batch, seed)
    learner = (DL.ColumnLearner if convention == "column" else DL.RowLearner)(
        activation=activation, loss=loss, reduction=reduction, keys=keys, flat=flat)
    d = T.diagnose(model, x, target, learner, loss=loss, reduction=reduction)
    assert d.ok, str(d)


@settings(max_examples=60, deadline=None)
@given(correct_learners())
def test_the_hand_pass_without_a_mistake_is_the_engine(drawn: tuple[Any, ...]) -> None:
    sizes, activation, _, loss, reduction, batch, _, _, seed = drawn
    model, x, target = random_problem(sizes, activation, loss, batch, seed)
    if loss == "ce":
        target = target.argmax(axis=-1)                        # class labels
    network, _ = mistakes.read_network("t", model, x, target, loss, reduction)
    q = mistakes.delta_rule(network)
    engine = T.engine_backprop(model, x, target, loss, reduction)
    assert abs(q.E - float(engine.loss.data)) <= 1e-12
    for l in range(len(network.stages)):
        assert np.allclose(q.net[l], engine.nets[l].data, rtol=1e-12, atol=1e-14)
        assert np.allclose(q.out[l], engine.outs[l], rtol=1e-12, atol=1e-14)
        assert np.allclose(q.delta[l], engine.deltas[l], rtol=1e-12, atol=1e-14)
        assert np.allclose(q.dW[l], engine.grads[l][0], rtol=1e-12, atol=1e-14)
        assert np.allclose(q.dB[l], engine.grads[l][1], rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------------------------
# What a learner reads
# ----------------------------------------------------------------------------------------------

WORKED = (T.worked_model(), np.array([0.5, 0.25]), np.array([0.0, 1.0]))


def test_flipped_sign_on_the_worked_example_reads_as_the_issue_asks() -> None:
    d = T.diagnose(*WORKED, DL.learner(DL.FlippedOutputSign, "column"))
    assert (d.ok, d.quantity, d.layer, d.symbol, d.kind, d.factor) == \
        (False, "delta", 1, "δ³", "sign", -1.0)
    text = str(d)
    assert "your δ³ equals the correct δ³ times −1: the sign of (d − out) is flipped" in text
    assert "δ³ = ∂E/∂out X₃ ⊙ φ′(net X₃) = −2(d − out X₃)/n" in text          # the formula
    assert "[0]             -0.14801       0.14801" in text                    # side by side
    assert np.allclose(d.got, -np.asarray(d.expected))
    assert "agreed before it: net X₂, out X₂, net X₃, out X₃, E" in text


def test_seed_004_C0_is_a_factor_2_under_mean_and_right_under_sum() -> None:
    c0 = DL.learner(DL.SummedSquares, "row", flat=False)          # (1, n) rows, as seed 004
    d = T.diagnose(*WORKED, c0)
    assert (d.quantity, d.kind, d.factor) == ("E", "scale", pytest.approx(2.0))
    assert "C₀ = Σ(a − y)²" in str(d) and d.convention == "row"
    assert T.diagnose(*WORKED, c0, reduction="sum").ok


def test_row_shaped_vectors_are_read() -> None:
    d = T.diagnose(*WORKED, DL.RowLearner(flat=False))
    assert d.ok and d.convention == "row"
    assert d.checked[:2] == ("z⁽¹⁾", "a⁽¹⁾") and "∂C/∂w⁽²⁾" in d.checked


def test_lists_and_engine_values_are_read_as_numbers() -> None:
    def as_lists(model: nn.Sequential, x: np.ndarray, d: np.ndarray) -> dict[str, Any]:
        found = DL.ColumnLearner()(model, x, d)
        return {"delta": [v.tolist() for v in found["delta"]],
                "dW": [Value(v) for v in found["dW"]], "E": Value(found["E"])}

    assert T.diagnose(*WORKED, as_lists).ok


def test_a_right_delta_with_a_wrong_weight_gradient_is_caught() -> None:
    """The issue's complaint about check_deltas: only δ was compared."""
    d = T.diagnose(*WORKED, DL.learner(DL.LayerIndexSlip, "column", at=1))
    assert (d.quantity, d.layer) == ("dW", 1)
    assert d.numeric is not None and np.allclose(d.numeric, d.expected, atol=1e-8)
    assert "finite differences agree with the correct value" in str(d)


def test_inherited_mistakes_say_where_they_are() -> None:
    case = next(c for c in DL.SEEDED if c.name.endswith("missing_phi_prime/column/single/"
                                                         "inherited"))
    d = run(case)
    assert d.mistake_at == "δ³" and d.symbol == "∂E/∂W₂"
    assert "the mistake is in δ³, which you did not return" in str(d)


def test_the_convention_is_reported() -> None:
    square = T.diagnose(*WORKED, DL.ColumnLearner())
    assert "the shapes fit both" in square.convention_note
    chosen = T.diagnose(*WORKED, DL.ColumnLearner(), convention="column")
    assert chosen.convention_note == "as you chose"
    model = nn.mlp([3, 4, 2], rng=0)
    shaped = T.diagnose(model, np.ones(3), np.zeros(2), DL.RowLearner())
    assert shaped.convention == "row" and "chosen from the shapes" in shaped.convention_note
    # forcing the wrong convention makes every ∂E/∂W a transposition
    forced = T.diagnose(model, np.ones(3), np.zeros(2), DL.RowLearner(), convention="column")
    assert (forced.quantity, forced.kind) == ("dW", "transposed")


def test_a_learner_that_updates_the_weights_is_noted_and_undone() -> None:
    model, x, d = T.worked_model(), np.array([0.5, 0.25]), np.array([0.0, 1.0])
    before = [np.array(m.weight.data) for m in model.layers[::2]]

    def update_too(model: nn.Sequential, x: np.ndarray, d: np.ndarray) -> dict[str, Any]:
        found = DL.ColumnLearner()(model, x, d)
        for layer, g in zip(model.layers[::2], found["dW"]):
            layer.weight.data -= 0.5 * g                            # W ← W − η ∂E/∂W
        return found

    result = T.diagnose(model, x, d, update_too)
    assert result.ok and "changed the model's weights" in str(result)
    assert all(np.array_equal(m.weight.data, w) for m, w in zip(model.layers[::2], before))


def test_tolerance_is_relative() -> None:
    def off(rel: float) -> Any:
        def learner(model: nn.Sequential, x: np.ndarray, d: np.ndarray) -> dict[str, Any]:
            found = DL.ColumnLearner(keys=("delta",))(model, x, d)
            found["delta"][0] = found["delta"][0] * (1 + rel)
            return found
        return learner

    assert T.diagnose(*WORKED, off(1e-9)).ok
    assert not T.diagnose(*WORKED, off(1e-3)).ok
    assert T.diagnose(*WORKED, off(1e-3), rtol=1e-2).ok


# ----------------------------------------------------------------------------------------------
# Bad input: a clear message naming the key and the layer
# ----------------------------------------------------------------------------------------------

A_MODEL = (nn.mlp([3, 4, 5, 2], rng=0), np.array([0.1, 0.2, 0.3]), np.array([0.0, 1.0]))


def returning(change: Any) -> Any:
    def learner(model: nn.Sequential, x: np.ndarray, d: np.ndarray) -> Any:
        return change(DL.ColumnLearner()(model, x, d))
    return learner


def replaced(key: str, layer: int, value: Any) -> Any:
    def change(found: dict[str, Any]) -> dict[str, Any]:
        found[key][layer] = value
        return found
    return change


@pytest.mark.parametrize("change, message", [
    (lambda f: {**f, "delta": f["delta"][:2]},
     r"diagnose: 'delta' must be a list of 3 arrays, one per Linear layer \(first to last\), "
     r"got 2 entries"),
    (replaced("dW", 1, np.zeros((7, 7))),
     r"'dW'\[1\] \(∂E/∂W₂\) has shape \(7, 7\); expected \(5, 4\) \(column, like "
     r"Linear.weight\) or \(4, 5\) \(row\)"),
    (replaced("net", 2, np.zeros(3)),
     r"'net'\[2\] \(net X₄\) has shape \(3,\); expected \(2,\) or \(2, 1\) \(column\) or "
     r"\(1, 2\) \(row\)"),
    (replaced("delta", 0, np.array([0.1, np.nan, 0.0, 0.2])),
     r"'delta'\[0\] \(δ²\) contains nan at index \[1\]; expected finite numbers"),
    (replaced("out", 1, "0.5"), r"'out'\[1\] \(out X₃\) must be an array of numbers, got str"),
    (replaced("dB", 0, None), r"'dB'\[0\] \(∂E/∂B₂\) must be an array of numbers, got NoneType"),
    (replaced("dB", 1, np.ones(5, dtype=complex)),
     r"'dB'\[1\] \(∂E/∂B₃\) must be an array of numbers, got ndarray \(complex numbers\)"),
    (replaced("dB", 2, [[1.0, 2.0], [3.0]]),
     r"'dB'\[2\] \(∂E/∂B₄\) must be an array of numbers, got list"),
    (lambda f: {**f, "E": np.ones(3)}, r"'E' must be one number .* shape \(3,\)"),
    (lambda f: {**f, "dw": f["dW"]}, r"unknown key 'dw' \(did you mean 'dW'\?\)"),
    (lambda f: list(f.values()), r"expected your backprop to return a dict .* got list"),
    (lambda f: {}, r"returned an empty dict"),
    (lambda f: {**f, "dW": 3.0}, r"'dW' must be a list of 3 arrays, .* got float"),
])
def test_bad_learner_output(change: Any, message: str) -> None:
    with pytest.raises(LearnerError, match=message):
        T.diagnose(*A_MODEL, returning(change))


@st.composite
def scrambled_outputs(draw: st.DrawFn) -> tuple[Any, ...]:
    """A correct learner's output with one entry replaced by an array of a random shape."""
    batch = draw(st.sampled_from([1, 3, 4]))
    key = draw(st.sampled_from(["net", "out", "delta", "dW", "dB"]))
    layer = draw(st.integers(0, 2))
    shape = tuple(draw(st.lists(st.sampled_from([1, 2, 3, 4, 5, 12]), min_size=0, max_size=3)))
    convention = draw(st.sampled_from(["column", "row"]))
    return batch, key, layer, shape, convention, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=200, deadline=None)
@given(scrambled_outputs())
def test_any_output_is_a_diagnosis_or_a_learner_error(drawn: tuple[Any, ...]) -> None:
    """Never a NumPy error: whatever the shape, diagnose answers or names the key and layer."""
    batch, key, layer, shape, convention, seed = drawn
    model, x, target = random_problem([3, 4, 5, 2], batch=batch, rng=seed)
    rng = np.random.default_rng(seed)

    def scrambled(model: nn.Sequential, x: np.ndarray, d: np.ndarray) -> dict[str, Any]:
        base = DL.ColumnLearner if convention == "column" else DL.RowLearner
        found = base()(model, x, d)
        found[key][layer] = rng.normal(size=shape)
        return found

    try:
        d = T.diagnose(model, x, target, scrambled)
    except LearnerError as exc:
        assert f"'{key}'[{layer}]" in str(exc)
    else:
        assert isinstance(str(d), str)


def test_an_exception_in_the_learner_says_where() -> None:
    def broken(model: nn.Sequential, x: np.ndarray, d: np.ndarray) -> dict[str, Any]:
        W = model.layers[0].weight.data      # (4, 3) times a row (1, 3): a shape error
        return {"net": [W @ x.reshape(1, -1)]}

    with pytest.raises(LearnerError, match=r"diagnose: your backprop raised ValueError: .*"
                                           r"\(at test_diagnose.py:\d+, in broken: "
                                           r"`return \{\"net\": \[W @ x.reshape\(1, -1\)\]\}`\)"):
        T.diagnose(*A_MODEL, broken)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="diagnose: convention must be 'auto', 'column'"):
        T.diagnose(*A_MODEL, DL.ColumnLearner(), convention="columns")
    with pytest.raises(TypeError, match="diagnose: expected learner to be a function"):
        T.diagnose(*A_MODEL, "backprop")
    with pytest.raises(ValueError, match=r"diagnose: expected x of shape \(3,\) or \(N, 3\)"):
        T.diagnose(A_MODEL[0], np.ones(4), A_MODEL[2], DL.ColumnLearner())
    with pytest.raises(ValueError, match="diagnose: rtol must be a number ≥ 0, got -1"):
        T.diagnose(*A_MODEL, DL.ColumnLearner(), rtol=-1)


# ----------------------------------------------------------------------------------------------
# python -m tinygrad_nn check
# ----------------------------------------------------------------------------------------------

LEARNER_FILE = '''
import numpy as np


def sigmoid(x):
    return 0.5 * (1 + np.tanh(x / 2))


def backprop(model, x, d):
    Ws = [layer.weight.data for layer in model.layers[0::2]]
    Bs = [layer.bias.data.reshape(-1, 1) for layer in model.layers[0::2]]
    X = x.reshape(-1, 1) if x.ndim == 1 else x.T          # samples as columns
    D = d.reshape(-1, 1) if d.ndim == 1 else d.T
    outs, nets = [X], []
    for W, B in zip(Ws, Bs):
        nets.append(W @ outs[-1] + B)
        outs.append(sigmoid(nets[-1]))
    delta = SIGN * 2 * (outs[-1] - D) / D.size * outs[-1] * (1 - outs[-1])
    deltas = [delta]
    for W, out in zip(Ws[:0:-1], outs[-2:0:-1]):
        deltas.insert(0, (W.T @ deltas[0]) * out * (1 - out))
    dW = [dl @ o.T for dl, o in zip(deltas, outs[:-1])]
    dB = [dl.sum(axis=1) for dl in deltas]
    return {"delta": deltas, "dW": dW, "dB": dB}
'''


def write(tmp_path: Path, text: str, name: str = "my_backprop.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_check_a_correct_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "SIGN = 1\n" + LEARNER_FILE)
    assert cli.main(["check", path]) == 0
    out = capsys.readouterr().out
    assert "== the worked example (seed 000: 2-2-2 logistic" in out
    assert "== a random 2-2-2 network (sigmoid, seed 0, one sample)" in out
    assert "check: 2 of 2 networks agree with the engine" in out
    assert cli.main(["check", path, "--layers", "3,4,4,2", "--batch", "5"]) == 0
    assert "a random 3-4-4-2 network (sigmoid, seed 0, a batch of 5 rows)" in \
        capsys.readouterr().out


def test_check_a_wrong_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "SIGN = -1\n" + LEARNER_FILE)
    assert cli.main(["check", path, "--layers", "3,4,2"]) == 1
    out = capsys.readouterr().out
    assert out.count("what yours matches (sign)") == 2
    assert "check: 0 of 2 networks agree with the engine" in out


def test_check_reports_the_learners_own_errors(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    crashing = write(tmp_path, "def backprop(model, x, d):\n    return 1 / 0\n")
    assert cli.main(["check", crashing]) == 1
    out = capsys.readouterr().out
    assert "error: diagnose: your backprop raised ZeroDivisionError: division by zero (at " \
           "my_backprop.py:2, in backprop: `return 1 / 0`)" in out
    assert "Traceback" not in out
    bad_syntax = write(tmp_path, "def backprop(model, x, d)\n    pass\n", "syntax.py")
    assert cli.main(["check", bad_syntax]) == 1
    assert "error: check: syntax.py line 1: SyntaxError" in capsys.readouterr().out


def test_check_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", str(tmp_path / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    other = write(tmp_path, "def forward(model, x, d):\n    return {}\n")
    assert cli.main(["check", other]) == 2
    assert "my_backprop.py defines no function backprop(model, x, target)" in \
        capsys.readouterr().err
    assert cli.main(["check", other, "--layers", "3"]) == 2
    assert "--layers must be two or more sizes" in capsys.readouterr().err
    assert cli.main(["check", other, "--batch", "0"]) == 2
    assert "--batch must be between 1 and 1000, got 0" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------
# The catalogue is documented
# ----------------------------------------------------------------------------------------------


def test_every_kind_is_on_the_docs_page() -> None:
    page = (ROOT / "docs" / "checking-your-backprop.md").read_text(encoding="utf-8")
    missing = [k for k in T.KINDS if f"`{k}`" not in page]
    assert not missing, f"docs/checking-your-backprop.md does not describe {missing}"
