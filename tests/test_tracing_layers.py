"""Compiling models whose layers behave differently while training: Dropout and BatchNorm1d.

Dropout's mask is a random input of the program: each compiled call draws a new one from the
layer's own Generator, in the order the eager call draws it, so eager and compiled training with
the same seeds end with the same parameters, bit for bit.  BatchNorm1d in training mode updates
its running statistics outside the graph: the program calls the same update last, with its own
values of the batch's mean and variance, so the statistics too end bit for bit as eager's (a
momentum that changes at every call, ``momentum=None``, is refused before anything changes).
In evaluation mode both compile and give the eager results.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, nn
from tinygrad_nn import functional as F
from tinygrad_nn.context import state_update
from tinygrad_nn.data import DataLoader, load_digits, one_hot
from tinygrad_nn.optim import SGD
from tinygrad_nn.tracing import TraceError
from tinygrad_nn.train import fit


def bits(x: Any) -> bytes:
    return np.ascontiguousarray(x).tobytes()


def dropout_net(seed: int = 5) -> nn.Sequential:
    return nn.Sequential(nn.Linear(6, 8, rng=0), nn.Tanh(), nn.Dropout(0.4, rng=seed),
                         nn.Linear(8, 3, rng=1), nn.Dropout(0.2, rng=seed + 1))


def batches(n: int = 6) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    return [(rng.normal(size=(5, 6)), rng.normal(size=(5, 3))) for _ in range(n)]


def grads(model: nn.Module) -> list[bytes]:
    return [bits(p.grad) for p in model.parameters()]


@pytest.mark.parametrize("check", [True, False])
def test_dropout_draws_a_new_mask_per_compiled_call_as_eager_does(check: bool) -> None:
    eager, compiled = dropout_net(), dropout_net()
    loss_fn = nn.MSELoss()
    step = tn.compile(lambda x, y: loss_fn(compiled(x), y), check=check)
    seen = set()
    for x, y in batches():                    # call 1: the trace's masks, 2: the check's, then new
        eager.zero_grad()
        compiled.zero_grad()
        want = loss_fn(eager(x), y)
        want.backward()
        got = step(x, y)
        assert bits(got.data) == bits(want.data)
        assert grads(compiled) == grads(eager)
        seen.add(bits(compiled[0].weight.grad))
    assert len(seen) == len(batches())        # the masks differ from call to call
    assert step.traces == 1
    for a, b in ((eager[2], compiled[2]), (eager[4], compiled[4])):   # the same draws, in order
        assert a.rng.bit_generator.state == b.rng.bit_generator.state


def test_a_traced_program_shows_the_mask_as_a_random_input() -> None:
    model = dropout_net()
    program = tn.trace(lambda x: model(x).sum(), np.ones((5, 6)))
    text = str(program)
    assert "random (drawn anew at every call):" in text
    assert re.search(r"r0: f64\[5,8\] = random +dropout mask, 1/\(1 − p\) or 0\n", text)
    assert re.search(r"r1: f64\[5,3\] = random +dropout mask", text)
    assert "mul v2 r0" in text
    assert program.source.startswith("def program(x, p0, p1, p2, p3, r0, r1):")
    model.eval()
    assert tn.trace(lambda x: model(x).sum(), np.ones((5, 6))).randoms == []


def test_the_first_call_after_program_uses_the_traced_masks() -> None:
    eager, compiled = dropout_net(), dropout_net()
    loss_fn = nn.MSELoss()
    step = tn.compile(lambda x, y: loss_fn(compiled(x), y))
    (x, y), *_ = batches()
    step.program(x, y)                        # traced (one draw per layer), not yet run
    for _ in range(3):
        eager.zero_grad()
        compiled.zero_grad()
        loss_fn(eager(x), y).backward()
        step(x, y)
        assert grads(compiled) == grads(eager)


def batch_norm_net(momentum: float | None = 0.1) -> nn.Sequential:
    return nn.Sequential(nn.Linear(6, 4, rng=0), nn.BatchNorm1d(4, momentum=momentum),
                         nn.Tanh(), nn.Linear(4, 3, rng=1))


def statistics(model: nn.Module) -> list[bytes]:
    norm = model[1]
    return [bits(norm.running_mean), bits(norm.running_var), bits(norm.num_batches_tracked)]


@pytest.mark.parametrize("check", [True, False])
def test_batch_norm_training_updates_its_statistics_compiled_as_eager(check: bool) -> None:
    eager, compiled = batch_norm_net(), batch_norm_net()
    loss_fn = nn.MSELoss()
    step = tn.compile(lambda x, y: loss_fn(compiled(x), y), check=check)
    for x, y in batches():                    # call 1: the trace updated, 2: the check's run
        eager.zero_grad()
        compiled.zero_grad()
        want = loss_fn(eager(x), y)
        want.backward()
        got = step(x, y)
        assert bits(got.data) == bits(want.data) and grads(compiled) == grads(eager)
        assert statistics(compiled) == statistics(eager)
    assert int(compiled[1].num_batches_tracked) == len(batches()) and step.traces == 1
    text = str(step.program(*batches(1)[0]))
    assert re.search(r"then, outside the graph \(state the program changes\):\n"
                     r" +u0\(v2, v4\) +BatchNorm1d\[1\] +running_mean, running_var ← "
                     r"\(1 − momentum\)·r \+ momentum·batch\n"
                     r" +u1\(\) +BatchNorm1d\[1\] +num_batches_tracked \+= 1\n", text)


def test_batch_norm_with_a_changing_momentum_is_refused_before_anything_changes() -> None:
    model = batch_norm_net(momentum=None)     # the average of all batches: momentum 1/n
    step = tn.compile(lambda x, y: nn.MSELoss()(model(x), y))
    (x, y), *_ = batches()
    with pytest.raises(TraceError) as caught:
        step(x, y)
    message = str(caught.value)
    for part in ("compile: BatchNorm1d[1] in training mode with momentum=None averages every "
                 "batch so far", "outside the graph", "give it a momentum", "model.eval()",
                 "compile=False"):
        assert part in message
    assert statistics(model) == statistics(batch_norm_net(momentum=None))
    assert all(p.grad is None for p in model.parameters())


def _normalised_digits_run(compile: bool) -> tuple[nn.Module, Any]:
    X, y = load_digits()
    X, Y = X[:100], one_hot(y[:100], 10)
    model = nn.Sequential(nn.Linear(64, 16, rng=0), nn.BatchNorm1d(16), nn.Sigmoid(),
                          nn.Dropout(0.2, rng=3), nn.Linear(16, 10, rng=1))
    loader = DataLoader(X, Y, batch_size=32, shuffle=True, rng=0)   # 32, 32, 32 and 4
    history = fit(model, nn.MSELoss(), SGD(model.parameters(), lr=1.0), loader, 3,
                  val_data=(X[:40], Y[:40]), progress=False, compile=compile)
    return model, history


@pytest.mark.filterwarnings("ignore::tinygrad_nn.errors.TrainingWarning")
def test_fit_compiled_with_batch_norm_and_dropout_trains_exactly_as_eager() -> None:
    eager, h_eager = _normalised_digits_run(False)
    compiled, h_compiled = _normalised_digits_run(True)
    for a, b in zip(eager.parameters(), compiled.parameters(), strict=True):
        assert bits(a.data) == bits(b.data)
    assert statistics(compiled) == statistics(eager)
    assert int(compiled[1].num_batches_tracked) == 3 * 4
    assert compiled[3].rng.bit_generator.state == eager[3].rng.bit_generator.state
    assert h_eager.loss == h_compiled.loss and h_eager.val_loss == h_compiled.val_loss


def test_functional_batch_norm_updates_the_arrays_it_is_given_compiled_as_eager() -> None:
    compiled_stats, eager_stats = (np.zeros(3), np.ones(3)), (np.zeros(3), np.ones(3))
    step = tn.compile(lambda x: F.batch_norm(x, *compiled_stats, training=True).sum())
    rng = np.random.default_rng(2)
    for _ in range(4):
        x = rng.normal(size=(4, 3))
        want = F.batch_norm(x, *eager_stats, training=True).sum()
        assert bits(step(x).data) == bits(want.data)
        assert [bits(a) for a in compiled_stats] == [bits(a) for a in eager_stats]


def test_a_state_update_from_a_value_outside_the_result_is_refused() -> None:
    seen = []

    def f(x: Value) -> Value:
        state_update(seen.append, "notes the mean", x.mean())   # not used by the result
        return (x * 2.0).sum()

    with pytest.raises(TraceError, match=r"compile: the function updates state from a value the "
                                         r"result does not depend on"):
        tn.compile(f)(np.ones(3))


def test_batch_norm_without_running_statistics_compiles_in_training_mode() -> None:
    eager = nn.Sequential(nn.Linear(6, 4, rng=0), nn.BatchNorm1d(4, track_running_stats=False))
    compiled = nn.Sequential(nn.Linear(6, 4, rng=0),
                             nn.BatchNorm1d(4, track_running_stats=False))
    step = tn.compile(lambda x: (compiled(x) ** 2).sum())
    for x, _ in batches(3):
        eager.zero_grad()
        compiled.zero_grad()
        want = (eager(x) ** 2).sum()
        want.backward()
        assert bits(step(x).data) == bits(want.data) and grads(compiled) == grads(eager)


def test_evaluation_mode_compiles_batch_norm_and_dropout() -> None:
    """Evaluation mode: no random input, no state update; the running statistics are constants."""
    trained = nn.Sequential(nn.Linear(6, 4, rng=0), nn.BatchNorm1d(4), nn.Tanh(),
                            nn.Dropout(0.5, rng=2), nn.Linear(4, 3, rng=1))
    for x, _ in batches(3):                   # eager training moves the running statistics
        trained(x)
    trained.eval()
    loss_fn = nn.MSELoss()
    step = tn.compile(lambda x, y: loss_fn(trained(x), y))
    for x, y in batches(4):
        got = step(x, y)
        compiled_grads = [p.grad.copy() for p in trained.parameters()]
        trained.zero_grad()
        want = loss_fn(trained(x), y)
        want.backward()
        assert bits(got.data) == bits(want.data)
        assert [bits(g) for g in compiled_grads] == grads(trained)
        trained.zero_grad()
    program = step.program(*batches(1)[0])
    assert step.traces == 1 and program.randoms == [] and program.updates == []
    assert int(trained[1].num_batches_tracked) == 3


def test_a_value_graph_made_with_dropout_in_a_transform_compiles() -> None:
    w = Value(np.linspace(-1, 1, 6))
    drop = nn.Dropout(0.5, rng=4)
    eager_drop = nn.Dropout(0.5, rng=4)
    compiled = tn.compile(tn.value_and_grad(lambda x: (drop(x * w) ** 2).sum()))
    for k in range(4):
        x = np.full(6, 0.5 + k)
        value, grad = compiled(x)
        want_value, want_grad = tn.value_and_grad(lambda x: (eager_drop(x * w) ** 2).sum())(x)
        assert bits(value) == bits(want_value) and bits(grad) == bits(want_grad)
