"""Bad input gets a clear error: one catalogue of (id, call, exception type, message pattern).

Every message must name the function that refused the input and what it was given (the value,
the shape or the dtype).  To cover a new refusal, add one ``Case`` to ``CATALOGUE``.  Command-line
cases run ``tinygrad_nn.cli.main`` and expect exit status 2, a usage line on stderr and no
traceback; their pattern is matched against stderr.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, checkpoint, nn
from tinygrad_nn import functional as F
from tinygrad_nn.cli import main as cli_main
from tinygrad_nn.data import DataLoader, one_hot, train_test_split
from tinygrad_nn.nn.utils import clip_grad_norm_
from tinygrad_nn.optim import SGD, Adam, AdamW
from tinygrad_nn.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from tinygrad_nn.train import evaluate, fit, predict
from tinygrad_nn.value import linear
from tinygrad_nn.viz import draw_graph


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[], Any]
    exc: type[BaseException]
    pattern: str                      # re.search-ed in the message (stderr for CLI cases)

    def __repr__(self) -> str:
        return self.id


def untyped(x: object) -> Any:
    """Pass a deliberately wrong-typed argument without a type-checker complaint."""
    return x


def cli(*argv: str) -> Callable[[], Any]:
    """Run the CLI; a returned status becomes SystemExit, like the console script."""
    def run() -> None:
        raise SystemExit(cli_main(list(argv)))
    return run


M34 = np.ones((3, 4))
P = [Value(np.ones(3))]
NET = nn.mlp([2, 3, 1], rng=0)
MISSING = str(Path("/nonexistent-dir") / "model.npz")

CATALOGUE: list[Case] = [
    # -- Value construction
    Case("value-str", lambda: Value(untyped("abc")), TypeError,
         r"^Value: expected a number, .* got str 'abc'"),
    Case("value-none", lambda: Value(untyped(None)), TypeError,
         r"^Value: expected a number, .* got NoneType None"),
    Case("value-dict", lambda: Value(untyped({"a": 1})), TypeError,
         r"^Value: expected a number, .* got dict \{'a': 1\}"),
    Case("value-ragged", lambda: Value([[1, 2], [3]]), ValueError,
         r"^Value: expected a rectangular .*nested list, got \[\[1, 2\], \[3\]\]"),
    Case("value-complex", lambda: Value(1 + 2j), TypeError,
         r"^Value: complex numbers are not supported, got \(1\+2j\)"),
    Case("value-complex-list", lambda: Value([1 + 2j]), TypeError,
         r"^Value: expected numbers, got \[\(1\+2j\)\] \(dtype complex128\)"),
    Case("value-complex-array", lambda: Value(np.array([1j])), TypeError,
         r"^Value: expected a real numeric array, got an array of dtype complex128"),
    Case("value-string-list", lambda: Value(["a", "b"]), TypeError,
         r"^Value: expected numbers, got \['a', 'b'\]"),
    Case("value-object-array", lambda: Value(np.array([1, "a"], dtype=object)), TypeError,
         r"^Value: expected a real numeric array, got an array of dtype object"),
    Case("value-of-value", lambda: Value(untyped(Value(1.0))), TypeError,
         r"^Value: expected a number or an array, got a Value \(use \.detach\(\)\)"),
    # -- element-wise ops on shapes that do not broadcast, and bad operands
    Case("add-shapes", lambda: Value(M34) + Value(np.ones(5)), ValueError,
         r"^add: shapes \(3, 4\) and \(5,\) cannot be broadcast together"),
    Case("mul-ndarray-shapes", lambda: Value(M34) * np.ones((2, 4)), ValueError,
         r"^mul: shapes \(3, 4\) and \(2, 4\) cannot be broadcast together"),
    Case("rsub-ndarray-shapes", lambda: np.ones((2, 3)) - Value(np.ones(4)), ValueError,
         r"^sub: shapes \(2, 3\) and \(4,\) cannot be broadcast together"),
    Case("div-shapes", lambda: Value(np.ones((2, 3))) / Value(np.ones((3, 2))), ValueError,
         r"^div: shapes \(2, 3\) and \(3, 2\) cannot be broadcast together"),
    Case("pow-shapes", lambda: Value(np.ones(2)) ** Value(np.ones(3)), ValueError,
         r"^pow: shapes \(2,\) and \(3,\) cannot be broadcast together"),
    Case("add-str", lambda: Value(1.0) + untyped("a"), TypeError,
         r"^add: expected a number, .* got str 'a'"),
    Case("mul-none", lambda: Value(1.0) * untyped(None), TypeError,
         r"^mul: expected a number, .* got NoneType None"),
    Case("broadcast-to", lambda: Value(M34).broadcast_to((2, 4)), ValueError,
         r"^broadcast_to: cannot broadcast shape \(3, 4\) to \(2, 4\)"),
    # -- matmul
    Case("matmul-inner", lambda: Value(M34) @ Value(np.ones((5, 2))), ValueError,
         r"^matmul: \(3, 4\) @ \(5, 2\): inner dimensions 4 and 5 differ"),
    Case("matmul-vectors", lambda: Value(np.ones(3)) @ Value(np.ones(4)), ValueError,
         r"^matmul: \(3,\) @ \(4,\): inner dimensions 3 and 4 differ"),
    Case("matmul-batch", lambda: Value(np.ones((2, 3, 4))) @ Value(np.ones((3, 4, 5))),
         ValueError, r"^matmul: \(2, 3, 4\) @ \(3, 4, 5\): batch dimensions cannot be broadcast"),
    Case("matmul-0d-right", lambda: Value(M34) @ Value(2.0), ValueError,
         r"^matmul: operands must have at least 1 dimension, got shapes \(3, 4\) @ \(\)"),
    Case("matmul-0d-left", lambda: np.array(2.0) @ Value(M34), ValueError,
         r"^matmul: operands must have at least 1 dimension, got shapes \(\) @ \(3, 4\)"),
    Case("linear-features", lambda: linear(Value(np.ones((5, 3))), Value(np.ones((2, 4)))),
         ValueError, r"^linear: expected 4 features, got 3 \(input shape \(5, 3\)"),
    # -- shape ops
    Case("reshape-size", lambda: Value(M34).reshape(5, 2), ValueError,
         r"^reshape: cannot reshape a Value of shape \(3, 4\) \(12 entries\) into \(5, 2\)"),
    Case("reshape-infer", lambda: Value(M34).reshape(5, -1), ValueError,
         r"^reshape: cannot reshape a Value of shape \(3, 4\) .* into \(5, -1\)"),
    Case("reshape-two-unknowns", lambda: Value(M34).reshape(-1, -1), ValueError,
         r"^reshape: invalid target shape \(-1, -1\)"),
    Case("reshape-not-int", lambda: Value(M34).reshape(untyped("a"), 2), TypeError,
         r"^reshape: expected integer dimensions, got \('a', 2\)"),
    Case("transpose-axes", lambda: Value(M34).transpose(0, 0), ValueError,
         r"^transpose: axes \(0, 0\) are not a permutation of the 2 axes .* shape \(3, 4\)"),
    Case("getitem-out-of-range", lambda: Value(M34)[5], IndexError,
         r"^getitem: index 5 is invalid for a Value of shape \(3, 4\)"),
    Case("getitem-float", lambda: Value(M34)[untyped(1.5)], IndexError,
         r"^getitem: index 1.5 is invalid for a Value of shape \(3, 4\)"),
    Case("getitem-float-array", lambda: Value(M34)[np.array([0.5])], IndexError,
         r"^getitem: index arrays must hold integers"),
    # -- reductions and softmax with a bad axis
    Case("sum-axis", lambda: Value(M34).sum(axis=2), ValueError,
         r"^sum: axis 2 is out of range for a Value with 2 dimensions"),
    Case("mean-axis-negative", lambda: Value(M34).mean(axis=-3), ValueError,
         r"^mean: axis -3 is out of range for a Value with 2 dimensions"),
    Case("max-axis-tuple", lambda: Value(M34).max(axis=(0, 5)), ValueError,
         r"^max: axis 5 is out of range for a Value with 2 dimensions"),
    Case("sum-axis-repeated", lambda: Value(M34).sum(axis=(1, -1)), ValueError,
         r"^sum: repeated axis in \(1, -1\)"),
    Case("sum-axis-float", lambda: Value(M34).sum(axis=untyped(1.0)), TypeError,
         r"^sum: axis must be an int or a tuple of ints, got 1.0"),
    Case("mean-axis-str", lambda: Value(M34).mean(axis=untyped(("a",))), TypeError,
         r"^mean: axis must be an int or a tuple of ints, got \('a',\)"),
    Case("sum-axis-of-scalar", lambda: Value(1.5).sum(axis=0), ValueError,
         r"^sum: axis 0 is out of range for a Value with 0 dimensions"),
    Case("max-empty", lambda: Value(np.ones(0)).max(), ValueError,
         r"^max: cannot take the maximum of an empty Value"),
    Case("softmax-axis", lambda: Value(M34).softmax(axis=2), ValueError,
         r"^softmax: axis 2 is out of range for a Value with 2 dimensions"),
    Case("log-softmax-axis-type", lambda: Value(M34).log_softmax(axis=untyped(None)), TypeError,
         r"^log_softmax: axis must be an int, got None"),
    Case("item-of-array", lambda: Value(M34).item(), ValueError,
         r"^item: expected a Value with one entry, got shape \(3, 4\)"),
    # -- backward
    Case("backward-non-scalar", lambda: (Value(M34) * 2.0).backward(), ValueError,
         r"^backward: the root has shape \(3, 4\); pass grad="),
    Case("backward-no-grad", lambda: Value(1.0, requires_grad=False).backward(), ValueError,
         r"^backward: this Value does not require grad"),
    Case("backward-under-no-grad", lambda: _under_no_grad().backward(), ValueError,
         r"^backward: this Value does not require grad .*no_grad\(\)"),
    Case("backward-seed-shape", lambda: (Value(M34) * 2.0).backward(np.ones(3)), ValueError,
         r"^backward: grad has shape \(3,\) but the root has shape \(3, 4\)"),
    Case("backward-seed-for-scalar", lambda: (Value(2.0) * 2.0).backward(np.ones(2)), ValueError,
         r"^backward: grad must be a number for a scalar root, got shape \(2,\)"),
    Case("requires-grad-off-non-leaf", lambda: (Value(1.0) * 2.0).requires_grad_(False),
         ValueError, r"^requires_grad_: only leaves can be switched off"),
    Case("scope-label", lambda: tn.scope("").__enter__(), TypeError,
         r"^scope: expected a non-empty string label, got ''"),
    # -- gradcheck
    Case("gradcheck-not-callable", lambda: tn.gradcheck(untyped(3), [Value(1.0)]), TypeError,
         r"^gradcheck: fn must be callable, got int"),
    Case("gradcheck-non-scalar", lambda: tn.gradcheck(lambda a: a * 2.0, [Value(M34)]),
         ValueError, r"^gradcheck: fn must return a scalar Value, got shape \(3, 4\)"),
    Case("numeric-grad-input", lambda: tn.numeric_grad(lambda a: a, [untyped(1.0)]), TypeError,
         r"^numeric_grad: inputs\[0\] must be a Value, got float"),
    # -- nn
    Case("linear-module-features", lambda: nn.Linear(784, 10)(np.ones((5, 64))), ValueError,
         r"^Linear: expected 784 features, got 64 \(input shape \(5, 64\)\)"),
    Case("linear-module-size", lambda: nn.Linear(0, 10), ValueError,
         r"^Linear: in_features must be a positive integer, got 0"),
    Case("mse-shapes", lambda: nn.MSELoss()(Value(np.ones((4, 10))), np.ones(4)), ValueError,
         r"^mse_loss: prediction and target must have the same shape, got prediction "
         r"\(4, 10\) and target \(4,\)"),
    Case("mse-reduction", lambda: nn.MSELoss(reduction="avg"), ValueError,
         r"^MSELoss: reduction must be 'mean' or 'sum', got 'avg'"),
    Case("cross-entropy-label-range", lambda: nn.CrossEntropyLoss()(Value(np.ones((3, 10))),
                                                                    np.array([1, 2, 10])),
         ValueError, r"^cross_entropy: labels must be in \[0, 9\] for 10 classes, got 10"),
    Case("cross-entropy-negative-label", lambda: nn.CrossEntropyLoss()(Value(np.ones((3, 10))),
                                                                       np.array([1, -1, 2])),
         ValueError, r"^cross_entropy: labels must be in \[0, 9\] for 10 classes, got -1"),
    Case("cross-entropy-non-integer", lambda: nn.CrossEntropyLoss()(Value(np.ones((3, 10))),
                                                                    np.array([1, 2.5, 3])),
         ValueError, r"^cross_entropy: labels must be integers, got 2.5"),
    Case("cross-entropy-label-count", lambda: nn.CrossEntropyLoss()(Value(np.ones((3, 10))),
                                                                    np.array([1, 2])),
         ValueError, r"^cross_entropy: expected a target of shape \(3,\) .* got \(2,\)"),
    Case("cross-entropy-logits-1d", lambda: nn.CrossEntropyLoss()(Value(np.ones(10)), [1]),
         ValueError, r"^cross_entropy: expected logits of shape \(N, C\), got shape \(10,\)"),
    # -- data
    Case("loader-lengths", lambda: DataLoader(np.ones((10, 2)), np.ones(9), batch_size=2),
         ValueError, r"^DataLoader: X has 10 samples but Y has 9"),
    Case("loader-batch-zero", lambda: DataLoader(np.ones((10, 2)), np.ones(10), batch_size=0),
         ValueError, r"^DataLoader: batch_size must be a positive integer, got 0"),
    Case("loader-batch-negative", lambda: DataLoader(np.ones(4), np.ones(4), batch_size=-1),
         ValueError, r"^DataLoader: batch_size must be a positive integer, got -1"),
    # -- optimizers
    Case("sgd-negative-lr", lambda: SGD(P, lr=-0.1), ValueError,
         r"^SGD: lr must be a finite number >= 0, got -0.1"),
    Case("sgd-nan-lr", lambda: SGD(P, lr=float("nan")), ValueError,
         r"^SGD: lr must be a finite number >= 0, got nan"),
    Case("sgd-empty", lambda: SGD([], lr=0.1), ValueError, r"^SGD: got an empty parameter list"),
    Case("sgd-not-values", lambda: SGD(untyped([np.ones(3)]), lr=0.1), TypeError,
         r"^SGD: params\[0\] must be a Value, got ndarray"),
    Case("adam-negative-lr", lambda: Adam(P, lr=-1), ValueError,
         r"^Adam: lr must be a finite number >= 0, got -1"),
    Case("adam-empty", lambda: Adam([], lr=0.1), ValueError,
         r"^Adam: got an empty parameter list"),
    Case("adam-betas", lambda: Adam(P, lr=0.1, betas=(1.5, 0.9)), ValueError,
         r"^Adam: betas\[0\] must be a finite number >= 0 and < 1, got 1.5"),
    Case("adamw-weight-decay", lambda: AdamW(P, weight_decay=-0.1), ValueError,
         r"^AdamW: weight_decay must be a finite number >= 0, got -0.1"),
    Case("sgd-nesterov-without-momentum", lambda: SGD(P, lr=0.1, nesterov=True), ValueError,
         r"^SGD: nesterov=True needs momentum > 0 and dampening = 0, got momentum=0"),
    Case("sgd-group-typo", lambda: SGD([{"params": P, "lr_": 0.1}]), ValueError,
         r"^SGD: params\[0\] has unknown option 'lr_'"),
    Case("step-lr-step-size", lambda: StepLR(SGD(P), step_size=0), ValueError,
         r"^StepLR: step_size must be a positive integer, got 0"),
    Case("plateau-mode", lambda: ReduceLROnPlateau(SGD(P), mode="lower"), ValueError,
         r"^ReduceLROnPlateau: mode must be one of \['min', 'max'\], got 'lower'"),
    Case("clip-grad-norm", lambda: clip_grad_norm_(P, max_norm=-1), ValueError,
         r"^clip_grad_norm_: max_norm must be a finite number >= 0, got -1"),
    Case("module-to-int", lambda: nn.mlp([2, 1], rng=0).to(np.int64), TypeError,
         r"^Sequential.to: dtype must be float64 or float32, got int64"),
    # -- model building, data helpers and checkpoints
    Case("mlp-sizes", lambda: nn.mlp([784]), ValueError,
         r"^mlp: sizes must list at least the input and output sizes, .* got \[784\]"),
    Case("mlp-activation", lambda: nn.mlp([4, 3], activation="swish"), ValueError,
         r"^mlp: activation must be one of \[.*'sigmoid'.*\], got 'swish'"),
    Case("sequential-not-module", lambda: nn.Sequential(untyped(3)), TypeError,
         r"^Sequential: layer 0 must be a Module, got int 3"),
    Case("one-hot-range", lambda: one_hot(np.array([0, 5]), 3), ValueError,
         r"^one_hot: labels must be integers in \[0, 3\), got 5 at index 1"),
    Case("one-hot-float", lambda: one_hot(np.array([0.5]), 3), ValueError,
         r"^one_hot: labels must be integers, got 0.5 at index 0"),
    Case("split-fraction", lambda: train_test_split(np.ones((10, 2)), np.ones(10), test_size=1.5),
         ValueError, r"^train_test_split: test_size as a fraction must be in \(0, 1\), got 1.5"),
    Case("load-missing-file", lambda: checkpoint.load(MISSING), FileNotFoundError,
         r"^load: no such checkpoint file: '" + re.escape(MISSING)),
    # -- training helpers, functional, graph pictures
    Case("fit-loader-int", lambda: fit(NET, nn.MSELoss(), SGD(NET.parameters(), lr=0.1),
                                       untyped(3), 1), TypeError,
         r"^fit: loader must be an iterable of \(xb, yb\) minibatches .*got int 3"),
    Case("iterate-scalar", lambda: list(Value(1.0)), TypeError,
         r"^iter: cannot iterate over a scalar Value \(shape \(\)\)"),
    Case("fit-epochs", lambda: fit(NET, nn.MSELoss(), SGD(NET.parameters(), lr=0.1),
                                   DataLoader(np.ones((4, 2)), np.ones((4, 1)), batch_size=2),
                                   epochs=0),
         ValueError, r"^fit: epochs must be a positive integer, got 0"),
    Case("evaluate-lengths", lambda: evaluate(NET, nn.MSELoss(), np.ones((4, 2)), np.ones((3, 1))),
         ValueError, r"^evaluate: X has 4 samples but Y has 3"),
    Case("predict-features", lambda: predict(NET, np.ones((4, 5))), ValueError,
         r"Linear\[0\]: expected 2 features, got 5 \(input shape \(4, 5\)\)"),
    Case("functional-leaky-slope", lambda: F.leaky_relu(np.ones(3), slope=untyped("a")),
         TypeError, r"^leaky_relu: slope must be a real number, got str 'a'"),
    Case("draw-graph-root", lambda: draw_graph(untyped(3)), TypeError,
         r"^draw_graph: expected a Value as root, got int"),
    # -- issue 23: raw Python/NumPy errors and silent truncations found by fuzzing
    Case("value-huge-int", lambda: Value(10**400), ValueError,
         r"^Value: the integer 1000.* \(401 digits\) is too large for a float64"),
    Case("transpose-not-int", lambda: Value(M34).transpose(untyped("a"), 1), TypeError,
         r"^transpose: expected integer axes, got \('a', 1\)"),
    Case("transpose-float-axis", lambda: Value(M34).transpose(untyped(1.9), 0), TypeError,
         r"^transpose: expected integer axes, got \(1.9, 0\)"),
    Case("reshape-float", lambda: Value(M34).reshape(untyped(2.7), 6), TypeError,
         r"^reshape: expected integer dimensions, got \(2.7, 6\)"),
    Case("broadcast-to-str", lambda: Value(M34).broadcast_to(untyped("ab")), TypeError,
         r"^broadcast_to: dimensions must be a sequence of integers, got str 'ab'"),
    Case("broadcast-to-float", lambda: Value(M34).broadcast_to(untyped((2.9, 3, 4))), TypeError,
         r"^broadcast_to: expected integer dimensions, got \(2.9, 3, 4\)"),
    Case("leaky-relu-method-str", lambda: Value(M34).leaky_relu(untyped("a")), TypeError,
         r"^leaky_relu: slope must be a real number, got str 'a'"),
    Case("leaky-relu-module-nan", lambda: nn.LeakyReLU(float("nan")), ValueError,
         r"^LeakyReLU: slope must be a finite number, got nan"),
    Case("leaky-relu-functional-inf", lambda: F.leaky_relu(M34, float("inf")), ValueError,
         r"^leaky_relu: slope must be a finite number, got inf"),
    Case("backward-grad-strings", lambda: Value(np.ones(2)).exp().backward(["a", "b"]),
         TypeError, r"^backward: expected numbers, got \['a', 'b'\]"),
    Case("backward-grad-string", lambda: Value(2.0).exp().backward("2.5"), TypeError,
         r"^backward: expected a number, .* got str '2.5'"),
    Case("backward-grad-ragged", lambda: Value(np.ones(2)).exp().backward([[1], [1, 2]]),
         ValueError, r"^backward: expected a rectangular \(non-ragged\) nested list"),
    Case("backward-grad-nones", lambda: Value(np.ones(2)).exp().backward([None, None]),
         ValueError, r"^backward: expected a rectangular nested list of numbers, got "
         r"\[None, None\]"),
    Case("linear-ragged", lambda: nn.Linear(2, 2, rng=0)([[1, 2], [3]]), ValueError,
         r"^Linear: expected a rectangular \(non-ragged\) nested list, got \[\[1, 2\], \[3\]\]"),
    Case("predict-ragged", lambda: predict(NET, [[1, 2], [3]]), ValueError,
         r"^predict: expected a rectangular \(non-ragged\) nested list"),
    Case("predict-str", lambda: predict(NET, [[1, "a"]]), TypeError,
         r"^predict: expected numbers, got \[\[1, 'a'\]\]"),
    Case("predict-complex", lambda: predict(NET, np.array([[1 + 1j, 2.0]])), TypeError,
         r"^predict: expected a real numeric array, got an array of dtype complex128"),
    Case("evaluate-ragged", lambda: evaluate(NET, nn.MSELoss(), [[1, 2], [3]], np.ones((2, 1))),
         ValueError, r"^evaluate: expected a rectangular \(non-ragged\) nested list"),
    Case("evaluate-ragged-targets", lambda: evaluate(NET, nn.MSELoss(), np.ones((2, 2)),
                                                     [[1], [2, 3]]),
         ValueError, r"^evaluate: Y must be a rectangular array of targets, got a ragged list"),
    Case("cross-entropy-huge-label", lambda: F.cross_entropy(np.zeros((1, 3)), np.array([1e30])),
         ValueError, r"^cross_entropy: labels must be in \[0, 2\] for 3 classes, got 1e\+30"),
    Case("gradcheck-eps-str", lambda: tn.gradcheck(lambda a: a * 2.0, [Value(1.0)],
                                                   eps=untyped("a")),
         TypeError, r"^gradcheck: eps must be a real number, got str 'a'"),
    # -- command line: exit status 2, a usage line, no traceback (pattern matched on stderr)
    Case("cli-unknown-option", cli("--bogus"), SystemExit,
         r"tinygrad-nn: error: unrecognized arguments: --bogus"),
    Case("cli-unknown-train-option", cli("train", "--bogus"), SystemExit,
         r"(?s)^usage: tinygrad-nn train .*tinygrad-nn train: error: unrecognized arguments: "
         r"--bogus"),
    Case("cli-unknown-command", cli("nosuchcmd"), SystemExit,
         r"error: argument COMMAND: invalid choice: 'nosuchcmd'"),
    Case("cli-bad-int", cli("train", "--epochs", "abc"), SystemExit,
         r"tinygrad-nn train: error: argument --epochs: invalid int value: 'abc'"),
    Case("cli-negative-epochs", cli("train", "--epochs", "-1"), SystemExit,
         r"tinygrad-nn train: error: --epochs must be a positive integer, got -1"),
    Case("cli-missing-data-file", cli("train", "--dataset", "mnist", "--data", MISSING),
         SystemExit, r"tinygrad-nn train: error: --data: no such file or directory: '"
         + re.escape(MISSING)),
    Case("cli-bad-layers", cli("train", "--layers", "64,abc,10"), SystemExit,
         r"tinygrad-nn train: error: --layers must be comma-separated positive integers "
         r".*got '64,abc,10'"),
    Case("cli-negative-lr", cli("train", "--lr", "-1"), SystemExit,
         r"tinygrad-nn train: error: --lr must be a positive finite number, got -1"),
    Case("cli-zero-batch", cli("train", "--batch-size", "0"), SystemExit,
         r"tinygrad-nn train: error: --batch-size must be a positive integer, got 0"),
    Case("cli-negative-limit", cli("predict", MISSING, "--limit", "-1"), SystemExit,
         r"tinygrad-nn predict: error: --limit must be >= 0, got -1"),
    Case("cli-missing-checkpoint", cli("predict", MISSING), SystemExit,
         r"tinygrad-nn predict: error: .*no such checkpoint file: '" + re.escape(MISSING)),
]


def _under_no_grad() -> Value:
    with tn.no_grad():
        return Value(1.0) * 2.0


def test_catalogue_ids_are_unique() -> None:
    ids = [case.id for case in CATALOGUE]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CATALOGUE, ids=repr)
def test_bad_input_gets_a_clear_error(case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(case.exc) as info:
        case.call()
    if case.exc is SystemExit:
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert re.search(r"^usage: tinygrad-nn", err, re.MULTILINE), err
        message = err
    else:
        message = str(info.value)
    assert re.search(case.pattern, message, re.MULTILINE), (
        f"\nexpected /{case.pattern}/\n     got {message!r}")
