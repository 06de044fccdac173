"""``tn.compile(f, optimizer=...)``: a training step whose program holds the optimizer's update.

After N steps the parameters (and momentum buffers) are bit for bit those of the eager
``E.backward(); optimizer.step(); optimizer.zero_grad()``; ``.grad`` is never written by a step
that updated; each updated parameter's version is stamped (an eager graph recorded before the
step refuses to differentiate, as after ``p.data -= ...``); a non-finite E or gradient updates
nothing; everything the program cannot hold (Adam, a ``.grad`` already there, momentum's
first step) takes the plain path with the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_tracing import bits, mlp_loss, mlp_params

import tinygrad_nn as tn
from tinygrad_nn import Value
from tinygrad_nn.optim import SGD, Adam


def batches(n: int, dtype: Any = np.float64) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)
    return [(rng.random((8, 6)).astype(dtype), rng.random((8, 3)).astype(dtype))
            for _ in range(n)]


def eager_step(loss: Any, opt: Any, x: np.ndarray, y: np.ndarray) -> None:
    """The eager engine's training step: E.backward(), opt.step(), opt.zero_grad()."""
    loss(Value(x, requires_grad=False), Value(y, requires_grad=False)).backward()
    opt.step()
    opt.zero_grad()


def train(compiled: bool, make_opt: Any, steps: int = 6, dtype: Any = np.float64
          ) -> tuple[list[Value], Any, Any]:
    params = mlp_params((6, 5, 3), dtype=dtype)
    opt = make_opt(params)
    loss = mlp_loss(params)
    step = tn.compile(loss, optimizer=opt) if compiled else None
    for x, y in batches(steps, dtype):
        if step is not None:
            step(x, y)
            assert step.updated and all(p.grad is None for p in params)
        else:
            eager_step(loss, opt, x, y)
    return params, opt, step


OPTIONS = [dict(lr=0.5), dict(lr=0.5, momentum=0.9), dict(lr=0.3, momentum=0.8, dampening=0.25),
           dict(lr=0.3, momentum=0.9, nesterov=True, weight_decay=0.01),
           dict(lr=0.3, momentum=0.9, nesterov=True), dict(lr=0.2, weight_decay=0.1)]


def reads_g_after_u(options: dict[str, Any]) -> bool:
    """Nesterov's g + μ·v reads the gradient after u = μ·v (with weight decay it reads t)."""
    return bool(options.get("nesterov")) and not options.get("weight_decay")


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_step_trains_bit_for_bit_as_backward_step_zero_grad(options: dict[str, Any],
                                                                  dtype: Any) -> None:
    eager, eager_opt, _ = train(False, lambda ps: SGD(ps, **options), dtype=dtype)
    compiled, compiled_opt, step = train(True, lambda ps: SGD(ps, **options), dtype=dtype)
    for a, b in zip(eager, compiled, strict=True):
        assert b.data.dtype == dtype and bits(a.data) == bits(b.data)
    for i, state in eager_opt.state.items():
        assert bits(state["momentum_buffer"]) == bits(compiled_opt.state[i]["momentum_buffer"])
    # The gradient is scaled in place unless the update reads it again after writing u.
    scratch = "u_p0" if reads_g_after_u(options) else "g_p0"
    assert f"p0 -= {scratch}" in step.program(*batches(1, dtype)[0]).source


@pytest.mark.parametrize("options", OPTIONS)
def test_a_gradient_not_read_again_is_scaled_in_place_without_a_scratch_array(
        options: dict[str, Any]) -> None:
    params = mlp_params((6, 5, 3))
    step = tn.compile(mlp_loss(params), optimizer=SGD(params, **options))
    x, y = batches(1)[0]
    for _ in range(3):                        # the steady state, with momentum's buffers
        step(x, y)
    generated = step.program(x, y).generated
    assert generated is not None
    if reads_g_after_u(options):              # u = μ·v, then g + u: g is read after u is written
        assert "np.add(g_p0, u_p0, out=u_p0)" in generated.source
    else:
        assert "u_p" not in generated.source
        # plain SGD scales every gradient in one pass over their array; the others their own
        scaled = ("np.multiply(_grads, lr0, out=_grads)" if set(options) == {"lr"} else
                  "out=g_p0)")
        assert scaled in generated.source
        # no scratch array is kept for it (the plain program checked against it had one)
        assert not any(name.startswith("_u") for name in generated.function.__globals__)


@pytest.mark.parametrize("groups", [1, 2])
def test_plain_sgd_scales_the_gradients_in_one_pass_when_they_share_one_rate(groups: int) -> None:
    """g ← η·g runs once over the array holding every gradient when all have one η; with two
    rates each gradient is scaled by its own.  Either way the steps are the eager ones."""
    def make_opt(params: list[Value]) -> SGD:
        if groups == 1:
            return SGD(params, lr=0.5)
        return SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.125}], lr=0.5)

    eager, _, _ = train(False, make_opt)
    compiled, _, step = train(True, make_opt)
    for a, b in zip(eager, compiled, strict=True):
        assert bits(a.data) == bits(b.data)
    source = step.program(*batches(1)[0]).source
    update = source[source.index("# update"):]
    if groups == 1:
        assert update.count("np.multiply(") == 1
        assert "np.multiply(_grads, lr0, out=_grads)" in update
    else:
        assert "_grads, lr" not in update
        assert "np.multiply(g_p0, lr0, out=g_p0)" in update
        assert "np.multiply(g_p3, lr1, out=g_p3)" in update
    assert [line.strip() for line in update.splitlines() if "-=" in line] == \
        [f"p{i} -= g_p{i}" for i in range(4)]


def test_a_gradient_two_parameters_share_keeps_its_scratch_arrays() -> None:
    p, q = Value(np.ones((3, 4))), Value(np.full((3, 4), 2.0))
    x = np.arange(12.0).reshape(3, 4)
    step = tn.compile(lambda x: ((p + q) * x).sum(), optimizer=SGD([p, q], lr=0.1))
    for _ in range(3):
        step(x)
    source = step.program(x).source
    assert "p0 -= u_p0" in source and "p1 -= u_p1" in source
    expected = [np.ones((3, 4)) - 0.3 * x, np.full((3, 4), 2.0) - 0.3 * x]
    for v, e in zip((p, q), expected):        # each took three steps of the one gradient x
        np.testing.assert_allclose(v.data, e, rtol=0, atol=1e-15)


@pytest.mark.parametrize("f", [lambda p, x: (p + x).sum(), lambda p, x: p.sum() * 3.0,
                               lambda p, x: (p * x).sum()],
                         ids=["a broadcast view", "a constant", "a product"])
def test_a_gradient_that_is_not_this_calls_own_array_is_not_scaled_in_place(f: Any) -> None:
    """∂E/∂p may be a view of a constant of the program (read-only, or read again next call):
    only a gradient the call wrote into its own buffer is scaled in place."""
    x = np.arange(12.0).reshape(3, 4)
    p, q = Value(np.ones((3, 4))), Value(np.ones((3, 4)))
    step, opt = tn.compile(lambda x: f(p, x), optimizer=SGD([p], lr=0.1)), SGD([q], lr=0.1)
    for _ in range(4):
        step(x)
        f(q, Value(x, requires_grad=False)).backward()
        opt.step()
        opt.zero_grad()
        assert bits(p.data) == bits(q.data)


@pytest.mark.parametrize(("lines", "done"), [
    (["np.multiply(g, lr, out=u)", "p -= u"], True),
    (["momentum_buffer *= 0.9", "momentum_buffer += g", "np.multiply(momentum_buffer, lr, "
      "out=u)", "p -= u"], True),
    (["np.multiply(momentum_buffer, 0.9, out=u)", "np.add(g, u, out=u)", "u *= lr",
      "p -= u"], False),
    (["np.multiply(g, lr, out=t)", "p -= t"], False),     # no u at all: nothing to share
])
def test_done_with_g_tells_when_u_may_be_the_gradients_buffer(lines: list[str],
                                                               done: bool) -> None:
    from tinygrad_nn.tracing.codegen import _done_with_g
    assert _done_with_g(lines) is done


def test_the_update_is_in_the_program_not_in_optimizer_step(monkeypatch: Any) -> None:
    params = mlp_params((6, 5, 3))
    opt = SGD(params, lr=0.5, momentum=0.9)
    step = tn.compile(mlp_loss(params), optimizer=opt)
    data = batches(3)
    step(*data[0])                            # momentum's first step creates v: step() does it
    monkeypatch.setattr(opt, "step", lambda: pytest.fail("optimizer.step() was called"))
    arrays = [p.data for p in params]
    for x, y in data[1:]:
        step(x, y)
    assert all(p.data is a for p, a in zip(params, arrays))    # updated in place


def test_a_learning_rate_changed_between_steps_is_read_and_new_options_trace_again() -> None:
    runs = []
    for compiled in (False, True):
        params = mlp_params((6, 5, 3))
        opt = SGD(params, lr=0.5)
        loss = mlp_loss(params)
        step = tn.compile(loss, optimizer=opt)
        for k, (x, y) in enumerate(batches(6)):
            opt.param_groups[0]["lr"] = 0.5 / (k + 1)
            if k == 3:
                opt.param_groups[0]["momentum"] = 0.5
            if compiled:
                step(x, y)
            else:
                eager_step(loss, opt, x, y)
        runs.append(params)
    assert step.traces == 2
    for a, b in zip(*runs, strict=True):
        assert bits(a.data) == bits(b.data)


def test_an_updated_parameter_invalidates_an_older_eager_graph() -> None:
    params = mlp_params((6, 5, 3))
    loss = mlp_loss(params)
    step = tn.compile(loss, optimizer=SGD(params, lr=0.5))
    (x, y), = batches(1)
    step(x, y)
    old = loss(Value(x, requires_grad=False), Value(y, requires_grad=False))
    versions = [p.version for p in params]
    step(x, y)
    assert all(p.version > v for p, v in zip(params, versions))
    with pytest.raises(RuntimeError, match="was assigned after the forward pass"):
        old.backward()


def test_a_gradient_already_in_grad_is_added_as_backward_would() -> None:
    runs = []
    for compiled in (False, True):
        params = mlp_params((6, 5, 3))
        opt = SGD(params, lr=0.5)
        loss = mlp_loss(params)
        (x, y), (x2, y2) = batches(2)
        loss(Value(x, requires_grad=False), Value(y, requires_grad=False)).backward()
        if compiled:
            tn.compile(loss, optimizer=opt)(x2, y2)
        else:
            eager_step(loss, opt, x2, y2)
        assert all(p.grad is None for p in params)
        runs.append(params)
    for a, b in zip(*runs, strict=True):
        assert bits(a.data) == bits(b.data)


def test_another_optimizer_is_called_after_the_program() -> None:
    eager, _, _ = train(False, lambda ps: Adam(ps, lr=0.01), steps=4)
    compiled, _, step = train(True, lambda ps: Adam(ps, lr=0.01), steps=4)
    for a, b in zip(eager, compiled, strict=True):
        assert bits(a.data) == bits(b.data)
    assert "p0 -=" not in step.program(*batches(1)[0]).source


def test_a_non_finite_gradient_updates_nothing_and_is_left_in_grad() -> None:
    params = mlp_params((6, 5, 3))
    step = tn.compile(mlp_loss(params), optimizer=SGD(params, lr=0.5))
    (x, y), = batches(1)
    step(x, y)
    before = [p.data.copy() for p in params]
    bad = x.copy()
    bad[0, 0] = np.nan
    with np.errstate(all="ignore"):
        loss = step(bad, y)
    assert not np.isfinite(loss.data) and not step.updated
    assert all(bits(p.data) == bits(b) for p, b in zip(params, before))
    assert np.isnan(params[0].grad).any()


def test_an_optimizer_must_be_an_optimizer_and_a_transform_takes_none() -> None:
    with pytest.raises(TypeError, match="compile: optimizer must be an optimizer"):
        tn.compile(lambda x: x, optimizer=object())
    params = mlp_params((6, 5, 3))
    with pytest.raises(TypeError, match="a transform returns gradients"):
        tn.compile(tn.value_and_grad(mlp_loss(params)), optimizer=SGD(params, lr=0.5))


def test_under_no_grad_the_step_runs_forward_only_and_updates_nothing() -> None:
    params = mlp_params((6, 5, 3))
    step = tn.compile(mlp_loss(params), optimizer=SGD(params, lr=0.5))
    before = [p.data.copy() for p in params]
    with tn.no_grad():
        step(*batches(1)[0])
    assert not step.updated and all(bits(p.data) == bits(b) for p, b in zip(params, before))


@pytest.mark.filterwarnings("ignore::tinygrad_nn.errors.TrainingWarning")
def test_fit_compiled_updates_inside_the_program_and_trains_as_eager(monkeypatch: Any) -> None:
    from tinygrad_nn import nn
    from tinygrad_nn.data import DataLoader, load_digits, one_hot
    from tinygrad_nn.train import fit

    X, y = load_digits()
    X, Y = X[:200], one_hot(y[:200], 10)
    runs = []
    calls: list[int] = []
    for compile in (False, True):
        model = nn.mlp([64, 12, 10], activation="sigmoid", rng=np.random.default_rng(0))
        opt = SGD(model.parameters(), lr=2.0, momentum=0.5)
        if compile:                           # after momentum's first step: the program alone
            def counted_step(opt: SGD = opt) -> None:
                calls.append(1)
                SGD.step(opt)
            monkeypatch.setattr(opt, "step", counted_step)
        history = fit(model, nn.MSELoss(), opt, DataLoader(X, Y, batch_size=32, rng=0), 3,
                      progress=False, compile=compile)
        runs.append((model, history))
    (eager, h_eager), (compiled, h_compiled) = runs
    assert calls == [1]                       # momentum's first step, which creates v
    for a, b in zip(eager.parameters(), compiled.parameters(), strict=True):
        assert bits(a.data) == bits(b.data)
    assert h_eager.loss == h_compiled.loss and h_eager.accuracy == h_compiled.accuracy
    assert h_eager.steps == h_compiled.steps == 21


def test_each_steady_call_returns_its_own_e_and_stamps_each_parameter_once() -> None:
    params = mlp_params((6, 5, 3))
    loss = mlp_loss(params)
    step = tn.compile(loss, optimizer=SGD(params, lr=0.5))
    (x, y), = batches(1)
    results, stamps = [], []
    for _ in range(5):                        # the trace, the check, then three steady calls
        before = [p.version for p in params]
        results.append(step(x, y))
        stamps.append([p.version - v for p, v in zip(params, before)])
    values = [float(e.data) for e in results]
    assert values == sorted(set(values), reverse=True)       # training on one batch
    assert len({id(e.data) for e in results}) == 5           # no E shares another's array
    assert all(s == [len(params)] * len(params) for s in stamps[2:])   # one tick per parameter
    assert len({p.version for p in params}) == len(params)


# -- the steady state: a step bound to its program --------------------------------------------
#
# From the third call on, a call whose arguments, parameters and optimizer are as before skips
# the lookup and hands its arrays straight to the program (``_Bound``).  Each event below
# changes one thing it must notice; the run is compared bit for bit with the eager engine's.

def _replace_parameter(params: list[Value], opt: Any, extra: Value, x: np.ndarray,
                       y: np.ndarray) -> tuple[Any, Any]:
    params[0].data = params[0].data * 0.5     # another array of the same shape
    return x, y


def _gradient_present(params: list[Value], opt: Any, extra: Value, x: np.ndarray,
                      y: np.ndarray) -> tuple[Any, Any]:
    params[1].grad = np.full(params[1].shape, 0.25)
    return x, y


def _gradient_on_another_parameter(params: list[Value], opt: Any, extra: Value,
                                   x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
    extra.grad = np.full(extra.shape, 0.25)   # the optimizer's, not the program's
    return x, y


def _momentum_changed(params: list[Value], opt: Any, extra: Value, x: np.ndarray,
                      y: np.ndarray) -> tuple[Any, Any]:
    opt.param_groups[0]["momentum"] = 0.5
    return x, y


def _rate_changed(params: list[Value], opt: Any, extra: Value, x: np.ndarray,
                  y: np.ndarray) -> tuple[Any, Any]:
    opt.param_groups[0]["lr"] = 0.125
    return x, y


def _state_loaded(params: list[Value], opt: Any, extra: Value, x: np.ndarray,
                  y: np.ndarray) -> tuple[Any, Any]:
    saved = opt.state_dict()
    for entry in saved["state"].values():
        entry["momentum_buffer"] = entry["momentum_buffer"] * 0.5
    opt.load_state_dict(saved)                # new velocity arrays
    return x, y


def _state_cleared(params: list[Value], opt: Any, extra: Value, x: np.ndarray,
                   y: np.ndarray) -> tuple[Any, Any]:
    opt.state.clear()                         # momentum's first step again: v ← g
    return x, y


def _group_added(params: list[Value], opt: Any, extra: Value, x: np.ndarray,
                 y: np.ndarray) -> tuple[Any, Any]:
    moved = opt.param_groups[0]["params"].pop(3)     # group 0's options stay as they were
    assert moved is params[3]
    opt.add_param_group({"params": [moved], "lr": 0.125})
    return x, y


STEADY_EVENTS = {
    "a smaller batch": lambda params, opt, extra, x, y: (x[:5], y[:5]),
    "float32 inputs": lambda params, opt, extra, x, y: (x.astype(np.float32),
                                                        y.astype(np.float32)),
    "Value arguments": lambda params, opt, extra, x, y: (Value(x, requires_grad=False),
                                                         Value(y, requires_grad=False)),
    "a parameter's array replaced": _replace_parameter,
    "a .grad to add to": _gradient_present,
    "a .grad on a parameter the program does not use": _gradient_on_another_parameter,
    "momentum changed": _momentum_changed,
    "the learning rate changed": _rate_changed,
    "the velocity arrays loaded": _state_loaded,
    "the optimizer's state cleared": _state_cleared,
    "a new group": _group_added,
}


@pytest.mark.parametrize("event", list(STEADY_EVENTS))
def test_the_steady_state_notices_every_change_and_trains_as_eager(event: str) -> None:
    runs = []
    for compiled in (False, True):
        params = mlp_params((6, 5, 3))
        extra = Value(np.ones(4))
        opt = SGD([*params, extra], lr=0.5, momentum=0.9)
        loss = mlp_loss(params)
        step = tn.compile(loss, optimizer=opt) if compiled else None
        for k, (x, y) in enumerate(batches(7)):
            if k == 4:                        # after two steady calls
                x, y = STEADY_EVENTS[event](params, opt, extra, x, y)
            if step is not None:
                step(x, y)
            else:
                eager_step(loss, opt, x.data if isinstance(x, Value) else x,
                           y.data if isinstance(y, Value) else y)
        runs.append(([*params, extra], opt))
    (eager, eager_opt), (compiled_params, compiled_opt) = runs
    for a, b in zip(eager, compiled_params, strict=True):
        assert a.grad is None and b.grad is None
        assert b.data.dtype == a.data.dtype and bits(a.data) == bits(b.data)
    assert eager_opt.state.keys() == compiled_opt.state.keys()
    for i, state in eager_opt.state.items():
        assert bits(state["momentum_buffer"]) == bits(compiled_opt.state[i]["momentum_buffer"])


def count_long_way(monkeypatch: Any) -> list[int]:
    """A list that grows by one at each call that takes the long way (``_arguments``)."""
    long_way: list[int] = []
    arguments = tn.tracing.Compiled._arguments

    def counted(self: Any, args: Any) -> Any:
        long_way.append(1)
        return arguments(self, args)

    monkeypatch.setattr(tn.tracing.Compiled, "_arguments", counted)
    return long_way


def test_steady_calls_skip_the_lookup_and_a_change_takes_the_long_way(monkeypatch: Any) -> None:
    params = mlp_params((6, 5, 3))
    opt = SGD(params, lr=0.5)
    step = tn.compile(mlp_loss(params), optimizer=opt)
    long_way = count_long_way(monkeypatch)
    data = batches(7)
    for x, y in data[:2]:                     # the trace, then the check
        step(x, y)
    assert len(long_way) == 2
    for x, y in data[2:5]:
        step(x, y)
        assert step.updated
    assert len(long_way) == 2                 # bound: no lookup, no rebuilt options
    params[2].data = params[2].data.copy()
    step(*data[5])
    step(*data[6])
    assert len(long_way) == 3                 # the replaced array once, then bound again


def test_a_loop_whose_last_minibatch_is_smaller_stays_bound_to_both_programs(
        monkeypatch: Any) -> None:
    """Minibatches of 8 rows, then a last one of 5, epoch after epoch: once each shape's program
    is bound, a switch tries the other program's guards, not the long way."""
    params, eager_params = mlp_params((6, 5, 3)), mlp_params((6, 5, 3))
    step = tn.compile(mlp_loss(params), optimizer=SGD(params, lr=0.5))
    eager_opt, eager_loss = SGD(eager_params, lr=0.5), mlp_loss(eager_params)
    long_way = count_long_way(monkeypatch)
    epoch = [*batches(2), tuple(a[:5] for a in batches(1)[0])]
    for n in range(5):
        for x, y in epoch:
            step(x, y)
            eager_step(eager_loss, eager_opt, x, y)
            assert step.updated
        if n == 1:                            # each shape traced, checked and bound
            settled = len(long_way)
    assert len(long_way) == settled and step.traces == 2
    for a, b in zip(params, eager_params, strict=True):
        assert bits(a.data) == bits(b.data)
    params[0].data = params[0].data.copy()    # a replaced array: neither program's guards pass
    step(*epoch[0])
    assert len(long_way) == settled + 1


def bound_step() -> tuple[list[Value], Any, list[tuple[np.ndarray, np.ndarray]]]:
    """A training step past its trace, its check and one steady call; and a fourth batch."""
    params = mlp_params((6, 5, 3))
    step = tn.compile(mlp_loss(params), optimizer=SGD(params, lr=0.5))
    data = batches(4)
    for x, y in data[:3]:
        step(x, y)
    return params, step, data


def test_a_parameter_reshaped_in_the_steady_state_is_refused() -> None:
    params, step, _ = bound_step()
    params[0].data = np.zeros((5, 7))
    with pytest.raises(tn.tracing.TraceError, match="changed its shape or dtype"):
        step(*batches(1)[0])


def test_under_no_grad_a_bound_step_runs_forward_only_then_trains_on() -> None:
    params, step, data = bound_step()
    before = [p.data.copy() for p in params]
    with tn.no_grad():
        e = step(*data[3])
    assert not step.updated and all(bits(p.data) == bits(b) for p, b in zip(params, before))
    assert not e.requires_grad
    step(*data[3])
    assert step.updated and not all(bits(p.data) == bits(b) for p, b in zip(params, before))


def test_inputs_of_another_dtype_in_the_steady_state_trace_again() -> None:
    _, step, data = bound_step()
    x, y = (a.astype(np.float32) for a in data[3])
    step(x, y)
    assert step.traces == 2                   # its own program, not the float64 one
    assert step.program(x, y).args[0].facts.dtype == np.float32


@pytest.mark.filterwarnings("ignore::tinygrad_nn.errors.TrainingWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_compiled_validates_with_the_eager_numbers(dtype: Any) -> None:
    from tinygrad_nn import nn
    from tinygrad_nn.data import DataLoader, load_digits, one_hot
    from tinygrad_nn.train import evaluate, fit, training_step

    X, y = load_digits()
    X, Y = X[:150], one_hot(y[:150], 10)
    X_val, Y_val = X[:70], Y[:70]
    runs = []
    for compile in (False, True):
        model = nn.Sequential(nn.Linear(64, 12, rng=0, dtype=dtype), nn.BatchNorm1d(12),
                              nn.Sigmoid(), nn.Dropout(0.2, rng=3),
                              nn.Linear(12, 10, rng=1, dtype=dtype))
        opt = SGD(model.parameters(), lr=2.0)
        step = training_step(model, nn.MSELoss(), opt) if compile else False
        history = fit(model, nn.MSELoss(), opt, DataLoader(X, Y, batch_size=32, rng=0), 3,
                      val_data=(X_val, Y_val), progress=False, compile=step)
        runs.append((model, history, step))
    (eager, h_eager, _), (compiled, h_compiled, step) = runs
    assert h_eager.val_loss == h_compiled.val_loss
    assert h_eager.val_accuracy == h_compiled.val_accuracy
    assert h_eager.loss == h_compiled.loss and h_eager.accuracy == h_compiled.accuracy
    for a, b in zip(eager.parameters(), compiled.parameters(), strict=True):
        assert bits(a.data) == bits(b.data)
    # Validation runs eagerly: a program would hold BatchNorm's running statistics, which
    # each epoch changes, as constants.
    assert step.traces == 2                   # 32 and 22 rows
    assert compiled.training                  # fit left it in training mode
    assert h_compiled.val_loss[-1] == evaluate(eager, nn.MSELoss(), X_val, Y_val).loss


def test_the_guards_are_written_as_the_module_shows() -> None:
    from tinygrad_nn.tracing import guards

    w, b = Value(np.ones(3)), Value(np.zeros(3))
    step = tn.compile(lambda x, y: ((x * w + b - y) ** 2).sum(), optimizer=SGD([w, b], lr=0.1))
    x, y = np.ones((4, 3)), np.zeros((4, 3))
    for _ in range(3):
        step(x, y)
    shown = guards.__doc__.split("::\n\n")[1].split("\n\n")[0]
    assert step._last.bound.source == "\n".join(line[4:] for line in shown.splitlines()) + "\n"
    assert step._last.bound.arguments((x, y)) == [x, y, w.data, b.data, 0.1]


def test_inputs_whose_dtype_is_equal_but_not_identical_bind_again_once(
        monkeypatch: Any) -> None:
    _, step, data = bound_step()
    same = np.dtype(np.float64).newbyteorder("=")      # == float64, another object
    x, y = (a.view(same) for a in data[3])
    assert x.dtype == np.float64 and x.dtype is not data[3][0].dtype
    long_way = count_long_way(monkeypatch)
    for _ in range(4):
        step(x, y)
        assert step.updated
    assert len(long_way) == 1 and step.traces == 1     # the same program, bound to the new dtype


@pytest.mark.parametrize("anomaly", [False, True], ids=["replayed", "eager under detect_anomaly"])
def test_call_data_makes_the_call_and_returns_the_results_data(anomaly: bool) -> None:
    """``call_data`` is a call (the same update, bit for bit) whose results are arrays, not
    Values; an output a replayed program does not make itself (here the argument) is a copy
    (run eagerly, it is the argument's array, as the eager Value's data is)."""
    def loss_and_input(params: list[Value]) -> Any:
        loss = mlp_loss(params)
        return lambda x, y: (loss(x, y), x)

    runs = []
    for data in (False, True):
        params = mlp_params((6, 5, 3))
        step = tn.compile(loss_and_input(params), optimizer=SGD(params, lr=0.5))
        results = []
        for x, y in batches(4):
            if anomaly:
                with tn.detect_anomaly():
                    got = step.call_data(x, y) if data else step(x, y)
            else:
                got = step.call_data(x, y) if data else step(x, y)
            assert step.updated
            if data:
                assert all(type(r) is np.ndarray for r in got)
                assert (got[1] is x) == anomaly and bits(got[1]) == bits(x)
            else:
                got = tuple(v.data for v in got)
            results.append(got)
        runs.append((params, results))
    (values_params, from_values), (data_params, from_data) = runs
    for a, b in zip(values_params, data_params, strict=True):
        assert bits(a.data) == bits(b.data)
    assert [(bits(e), bits(x)) for e, x in from_values] == \
        [(bits(e), bits(x)) for e, x in from_data]


def test_call_data_of_one_output_is_its_array() -> None:
    params = mlp_params((6, 5, 3))
    step = tn.compile(mlp_loss(params))
    x, y = batches(1)[0]
    for _ in range(3):                        # traced, checked, then replayed
        e = step.call_data(x, y)
        assert type(e) is np.ndarray and e.shape == ()
        assert params[0].grad is not None     # the gradients accumulated as a call does
    expected = mlp_loss(mlp_params((6, 5, 3)))(Value(x, requires_grad=False),
                                              Value(y, requires_grad=False))
    assert bits(e) == bits(expected.data)


@pytest.mark.parametrize("change", ["taken out", "put back in another's place"])
def test_a_parameter_taken_from_its_group_is_not_updated_again(change: str) -> None:
    """The optimizer's parameters, each in its place, are part of what a bound step checks: a
    parameter taken out of its group is no longer updated (its ``.grad`` accumulates, as after
    eager ``backward()`` calls), whether or not its place is taken by another."""
    runs = []
    for compiled in (False, True):
        params, extra = mlp_params((6, 5, 3)), Value(np.ones(4))
        opt = SGD(params, lr=0.5)
        loss = mlp_loss(params)
        step = tn.compile(loss, optimizer=opt) if compiled else None
        for k, (x, y) in enumerate(batches(7)):
            if k == 4:                        # after two steady calls
                members = opt.param_groups[0]["params"]
                if change == "taken out":
                    members.pop(3)
                else:
                    members[3] = extra        # as many parameters as before
            if step is not None:
                step(x, y)
            else:
                eager_step(loss, opt, x, y)
        runs.append(params)
    eager, compiled_params = runs
    for a, b in zip(eager, compiled_params, strict=True):
        assert bits(a.data) == bits(b.data)
    assert eager[3].grad is not None and bits(eager[3].grad) == bits(compiled_params[3].grad)
