"""Training that diverges or stalls without a NaN: ``health.training_problems`` and the
``TrainingWarning`` that ``fit`` and the ``train`` command give, with the likely cause."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from tinygrad_nn import nn
from tinygrad_nn.cli import main
from tinygrad_nn.data import DataLoader, load_digits, one_hot, train_test_split
from tinygrad_nn.errors import TrainingWarning
from tinygrad_nn.optim import SGD
from tinygrad_nn.train import fit
from tinygrad_nn.train.health import training_problems

# ---------------------------------------------------------------------------------------------
# training_problems: the rules, on numbers
# ---------------------------------------------------------------------------------------------


def test_a_loss_grown_a_hundredfold_is_divergence() -> None:
    problems = training_problems([5.0, 230.0], first_loss=2.3, accuracies=[0.1, 0.1],
                                 chance=0.1, lr=1e4)
    assert problems == [
        "fit: training diverged: the loss grew from 2.3 (first minibatch) to 230 (last epoch), "
        "2.0 orders of magnitude. The learning rate (η = 10000) is probably too large; try one "
        "10 times smaller."]
    assert training_problems([5.0, 229.0], 2.3, [0.9, 0.9], chance=0.1) == []


@pytest.mark.parametrize(("moved", "cause"), [
    (4090.0, "The parameters moved 4.09e+03 times their initial size: the learning rate "
             "(η = 1e+06) is probably too large"),
    (0.0019, "The parameters moved only 0.19% of their initial size: the learning rate "
             "(η = 1e+06) is probably too small, or the run too short"),
    (0.9, "Try the learning rate (η = 1e+06) 10 times smaller and 10 times larger"),
    (None, "Try the learning rate (η = 1e+06) 10 times smaller and 10 times larger"),
])
def test_accuracy_at_chance_names_the_cause_from_how_far_the_parameters_moved(
        moved: float | None, cause: str) -> None:
    [problem] = training_problems([0.3, 0.26], 0.41, [0.1, 0.12], chance=0.103, moved=moved,
                                  lr=1e6, what="test accuracy")
    assert problem.startswith(
        "fit: the network has not learned: test accuracy 12.0% after 2 epochs is no better "
        "than chance (10.3%, always guessing the most common class). " + cause)


def test_accuracy_above_chance_or_no_classes_is_no_problem() -> None:
    assert training_problems([0.3, 0.2], 0.4, [0.1, 0.124], chance=0.103) == []   # 2.1 points
    assert training_problems([0.3, 0.2], 0.4, [0.1, 0.122], chance=0.103) != []
    assert training_problems([0.3, 0.2], 0.4, [], chance=None) == []
    assert training_problems([], 0.4, [], chance=0.5) == []


# ---------------------------------------------------------------------------------------------
# fit: the warning
# ---------------------------------------------------------------------------------------------


def _digits_run(lr: float, epochs: int, val: bool = True) -> list[str]:
    """Train the tutorial's sigmoid/MSE net on 400 digits; the TrainingWarnings it gave."""
    X, y = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(X[:400], y[:400], test_size=0.25, rng=0,
                                              stratify=True)
    model = nn.mlp([64, 20, 10], activation="sigmoid", rng=0)
    loader = DataLoader(X_tr, one_hot(y_tr, 10), batch_size=32, rng=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(model, nn.MSELoss(), SGD(model.parameters(), lr=lr), loader, epochs,
            val_data=(X_te, one_hot(y_te, 10)) if val else None, progress=False)
    return [str(w.message) for w in caught if w.category is TrainingWarning]


def test_fit_warns_when_a_huge_learning_rate_saturates_the_network() -> None:
    [message] = _digits_run(lr=1e6, epochs=3)
    assert message.startswith("fit: the network has not learned: test accuracy ")
    assert "the learning rate (η = 1e+06) is probably too large" in message


def test_fit_warns_when_a_tiny_learning_rate_barely_moves_the_network() -> None:
    [message] = _digits_run(lr=1e-3, epochs=3, val=False)
    assert message.startswith("fit: the network has not learned: training accuracy ")
    assert "the learning rate (η = 0.001) is probably too small, or the run too short" in message


def test_fit_warns_when_the_loss_grows_by_orders_of_magnitude() -> None:
    X, y = load_digits()
    model = nn.mlp([64, 20, 10], activation="relu", output_activation=None, rng=0)
    loader = DataLoader(X[:400], y[:400], batch_size=32, rng=0)
    with pytest.warns(TrainingWarning, match=r"^fit: training diverged: the loss grew from "
                      r"\S+ \(first minibatch\) to \S+ \(last epoch\), [\d.]+ orders of "
                      r"magnitude\. The learning rate \(η = 10000\) is probably too large"):
        fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=1e4), loader, 5,
            progress=False)


def test_fit_that_learns_gives_no_warning() -> None:
    assert _digits_run(lr=5.0, epochs=15) == []


# ---------------------------------------------------------------------------------------------
# the train command: the warning on stderr, last
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "warning"), [
    (["--lr", "1e6", "--epochs", "3"],
     "warning: fit: the network has not learned: test accuracy 10.0% after 3 epochs is no "
     "better than chance (10.3%, always guessing the most common class). The parameters moved "
     "4.09e+03 times their initial size: the learning rate (η = 1e+06) is probably too large"),
    (["--activation", "relu", "--loss", "ce", "--lr", "1e4", "--epochs", "5"],
     "warning: fit: training diverged: the loss grew from 2.258 (first minibatch) to "),
])
def test_train_command_warns_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       argv: list[str], warning: str) -> None:
    assert main(["train", "--out", str(tmp_path), "--no-progress", *argv]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith(warning), captured.err
    assert "warning" not in captured.out


def test_train_command_that_learns_gives_no_warning(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--out", str(tmp_path), "--no-progress", "--epochs", "10"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert float(captured.out.split("accuracy: ")[1].split("%")[0]) > 50.0
    assert np.isfinite(float(captured.out.split("test loss (MSE): ")[1].split()[0]))
