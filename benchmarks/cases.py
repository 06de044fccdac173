"""The benchmark cases: every implementation of one workload, built side by side.

Each ``case_*`` function returns a :class:`Case`: a callable per implementation (one call = one
unit of work: a training step, an epoch, a chain), the name of the baseline the ratios are taken
against, and notes.  The timing loop lives in :mod:`benchmarks.run`; the memory case measures
itself and returns a ready :class:`Table`.

All implementations of a case start from the same weights and data (seeded ``np.random`` and
``random.Random`` generators) and compute the same loss, so their outputs can be compared.
"""

from __future__ import annotations

import gc
import itertools
import math
import random
import time
import tracemalloc
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tinygrad_nn as tn
from tinygrad_nn import Value
from tinygrad_nn import functional as tnf

from . import peers

Step = Callable[[], Any]


@dataclass(frozen=True)
class Sizes:
    """Problem sizes; :data:`FULL` is the real benchmark, :data:`TINY` the smoke test's."""

    scalar_points: int = 50
    scalar_net: tuple[int, ...] = (2, 16, 16, 1)
    small_net: tuple[int, ...] = (784, 20, 20, 10)
    small_batch: int = 32
    large_net: tuple[int, ...] = (784, 256, 256, 10)
    large_batch: int = 256
    chain_ops: int = 100_000
    growth_steps: tuple[int, int] = (1_000, 10_000)
    epoch_limit: int | None = None   # samples of the digits epoch (None: all of them)
    record_epochs: int = 150         # epochs of the recorded run (the train command's default)
    jacobian_square: int = 100       # (9): a map R^n -> R^n
    jacobian_wide: int = 1_000       # (10): a map R^n -> R


FULL = Sizes()
TINY = Sizes(scalar_points=2, scalar_net=(2, 4, 4, 1), small_net=(16, 5, 5, 3), small_batch=4,
             large_net=(16, 8, 8, 3), large_batch=8, chain_ops=1_500, growth_steps=(3, 10),
             epoch_limit=64, record_epochs=3, jacobian_square=6, jacobian_wide=12)


@dataclass
class Case:
    """One workload implemented by several peers, timed side by side."""

    key: str
    title: str
    baseline: str
    runners: dict[str, Step]
    number: int = 1                                    # calls per timing sample
    ops: dict[str, int] = field(default_factory=dict)  # recorded ops per call (per-op time)
    failures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    compare: list[tuple[str, str]] = field(default_factory=list)  # (row, row): a ratio note


@dataclass
class Table:
    """A finished result: a Markdown table with notes under a section title."""

    key: str
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


LR = 0.1


# ----------------------------------------------------------------------------------------------
# (1) scalar MLP, micrograd's Neuron/Layer/MLP, for any scalar Value class
# ----------------------------------------------------------------------------------------------


class Neuron:
    """micrograd's Neuron: ``act = Σ wᵢ·xᵢ + b``, then tanh unless it is the output."""

    def __init__(self, value: type, nin: int, nonlin: bool, rng: random.Random) -> None:
        self.w = [value(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = value(0.0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Any]) -> Any:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh() if self.nonlin else act

    def parameters(self) -> list[Any]:
        return [*self.w, self.b]


class Layer:
    """micrograd's Layer: ``nout`` neurons reading the same inputs."""

    def __init__(self, value: type, nin: int, nout: int, nonlin: bool, rng: random.Random) -> None:
        self.neurons = [Neuron(value, nin, nonlin, rng) for _ in range(nout)]

    def __call__(self, x: Sequence[Any]) -> Any:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Any]:
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    """micrograd's MLP: tanh hidden layers and a linear output."""

    def __init__(self, value: type, sizes: Sequence[int], seed: int = 0) -> None:
        rng = random.Random(seed)
        n = len(sizes) - 1
        self.layers = [Layer(value, sizes[i], sizes[i + 1], i != n - 1, rng) for i in range(n)]

    def __call__(self, x: Sequence[Any]) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Any]:
        return [p for layer in self.layers for p in layer.parameters()]


def _micrograd_tanh(self: Any) -> Any:
    """tanh for micrograd's Value, written as in micrograd's lecture (pip micrograd has none)."""
    from micrograd.engine import Value as MgValue

    t = math.tanh(self.data)
    out = MgValue(t, (self,), "tanh")

    def _backward() -> None:
        self.grad += (1 - t**2) * out.grad
    out._backward = _backward
    return out


def _scalar_step(model: MLP, xs: list[list[float]], ys: list[float], zero: Any) -> Step:
    params = model.parameters()

    def step() -> Any:
        for p in params:
            p.grad = zero
        loss: Any = sum(((model(x) - y) ** 2 for x, y in zip(xs, ys)), 0.0)
        loss.backward()
        return loss
    return step


def _count_ops(root: Any) -> int:
    """Nodes made by an op (not leaves) in a micrograd or tinygrad_nn graph, iteratively."""
    seen, stack, count = {id(root)}, [root], 0
    while stack:
        node = stack.pop()
        parents = node._prev if hasattr(node, "_prev") else node.parents
        count += bool(parents)
        for p in parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return count


def case_scalar_mlp(sizes: Sizes = FULL) -> Case:
    """(1) forward + backward of micrograd's MLP(2, [16, 16, 1]) over a batch of points."""
    rng = np.random.default_rng(1)
    xs = rng.uniform(-1.0, 1.0, (sizes.scalar_points, sizes.scalar_net[0])).tolist()
    ys = [1.0 if a * b > 0 else -1.0 for a, b, *_ in xs]
    case = Case("scalar_mlp", f"(1) Scalar MLP{list(sizes.scalar_net)}, tanh, squared error, "
                f"forward + backward over {sizes.scalar_points} points", "micrograd", {},
                number=3)
    ours = _scalar_step(MLP(Value, sizes.scalar_net), xs, ys, None)
    case.runners["tinygrad_nn"] = ours
    case.ops["tinygrad_nn"] = _count_ops(ours())
    mg = peers.load("micrograd")
    if mg is None:
        case.baseline = "tinygrad_nn"
        case.notes.append("micrograd is not installed: no baseline peer.")
        return case
    if not hasattr(mg.Value, "tanh"):
        mg.Value.tanh = _micrograd_tanh
        case.notes.append("pip micrograd has no tanh: it gets the lecture's tanh (a closure "
                          "like its other ops), added by the benchmark.")
    theirs = _scalar_step(MLP(mg.Value, sizes.scalar_net), xs, ys, 0)
    case.runners["micrograd"] = theirs
    case.ops["micrograd"] = _count_ops(theirs())
    case.notes.append("Both run the same Neuron/Layer/MLP code (benchmarks/cases.py) with the "
                      "same weights; only the Value class differs.")
    compiled, trace_seconds = _compiled_scalar_step(MLP(Value, sizes.scalar_net), xs, ys)
    case.runners["tinygrad_nn compiled"] = compiled
    case.ops["tinygrad_nn compiled"] = case.ops["tinygrad_nn"]
    for name in ("tinygrad_nn", "micrograd", "tinygrad_nn compiled"):
        case.runners[f"{name} (gc off)"] = _gc_off(case.runners[name])
        case.ops[f"{name} (gc off)"] = case.ops[name]
    case.compare.append(("tinygrad_nn compiled (gc off)", "micrograd (gc off)"))
    case.notes.append(f"'compiled': tn.compile of the same loss (one program per step, forward "
                      f"and backward as straight-line float code); tracing it took "
                      f"{trace_seconds:.2f} s once, not counted in the row.")
    case.notes.append("'(gc off)': the cyclic garbage collector is disabled during the step "
                      "(it runs between samples): the interpreter cost alone. micrograd's "
                      "per-node closures make a reference cycle per node, so with the collector "
                      "on (the default, the first two rows) it also pays for collecting them; "
                      "tinygrad_nn's graphs are freed by reference counting.")
    return case


def _compiled_scalar_step(model: MLP, xs: list[list[float]], ys: list[float]
                          ) -> tuple[Step, float]:
    """The scalar step of ``_scalar_step``, compiled (``tn.compile``); and its trace time."""
    params = model.parameters()

    def loss() -> Any:
        return sum(((model(x) - y) ** 2 for x, y in zip(xs, ys)), 0.0)

    compiled = tn.compile(loss)
    start = time.perf_counter()
    compiled.program()
    trace_seconds = time.perf_counter() - start

    def step() -> Any:
        for p in params:
            p.grad = None
        return compiled()
    step()
    step()                                    # the second call checks the graph (not timed)
    return step, trace_seconds


def _gc_off(step: Step) -> Step:
    """Run ``step`` with the cyclic garbage collector disabled."""
    def run() -> Any:
        gc.disable()
        try:
            return step()
        finally:
            gc.enable()
    return run


# ----------------------------------------------------------------------------------------------
# (2), (3) one SGD step of a sigmoid MLP with mean squared error, every peer
# ----------------------------------------------------------------------------------------------


def init_params(net: Sequence[int], dtype: Any = np.float64, seed: int = 0) -> list[np.ndarray]:
    """[W1, b1, W2, b2, ...] with ``W: (out, in)`` ~ N(0, 1/in) and zero biases."""
    rng = np.random.default_rng(seed)
    params: list[np.ndarray] = []
    for n_in, n_out in itertools.pairwise(net):
        params.append((rng.standard_normal((n_out, n_in)) / math.sqrt(n_in)).astype(dtype))
        params.append(np.zeros(n_out, dtype=dtype))
    return params


def make_batch(net: Sequence[int], batch: int, dtype: Any = np.float64,
               seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Inputs in [0, 1) and one-hot targets, like the digits."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch, net[0])).astype(dtype)
    y = np.eye(net[-1], dtype=dtype)[rng.integers(0, net[-1], batch)]
    return x, y


def numpy_sgd(params: list[np.ndarray], lr: float = LR) -> Callable[[np.ndarray, np.ndarray],
                                                                     float]:
    """Hand-written backprop by the delta rule, with in-place updates: the NumPy baseline.

    Forward ``a⁽ˡ⁾ = φ(a⁽ˡ⁻¹⁾ Wᵀ + b)``, ``E = mean((a − y)²)``; backward
    ``δ⁽ᴸ⁾ = 2(a − y)/n ⊙ a(1 − a)``, ``δ⁽ˡ⁻¹⁾ = δ⁽ˡ⁾ W ⊙ a(1 − a)``, ``∂E/∂W = δᵀ a⁽ˡ⁻¹⁾``.
    Returns ``step(x, y) -> (E, a)`` updating ``params`` in place (``a``: the network's output
    for the batch, before the update).
    """
    ws, bs = params[0::2], params[1::2]
    n_layers = len(ws)

    def step(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        acts = [x]
        a = x
        with np.errstate(over="ignore"):          # exp(-z) may overflow to inf: φ = 0
            for w, b in zip(ws, bs):
                z = a @ w.T
                z += b
                np.negative(z, out=z)
                np.exp(z, out=z)
                z += 1.0
                np.reciprocal(z, out=z)           # φ(z) = 1 / (1 + e^{-z}), in place
                acts.append(z)
                a = z
        delta = a - y
        loss = float(np.vdot(delta, delta)) / delta.size
        delta *= 2.0 / delta.size
        delta *= a
        delta *= 1.0 - a
        for i in range(n_layers - 1, -1, -1):
            a_prev, w = acts[i], ws[i]
            gw = delta.T @ a_prev
            gb = delta.sum(axis=0)
            if i:
                nxt = delta @ w
                nxt *= a_prev
                nxt *= 1.0 - a_prev
                delta = nxt
            gw *= lr
            w -= gw
            gb *= lr
            bs[i] -= gb
        return loss, a
    return step


def numpy_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float = LR) -> Step:
    """One hand-written SGD step on a fixed batch (see :func:`numpy_sgd`)."""
    sgd = numpy_sgd(params, lr)
    return lambda: sgd(x, y)


def functional_loss(ps: list[Value]) -> Callable[[Any, Any], Value]:
    """E(x, y) through the functional API: ``functional.linear``, ``.sigmoid``, ``.mse_loss``."""
    def loss(x: Any, y: Any) -> Value:
        h = x
        for i in range(0, len(ps), 2):
            h = tnf.sigmoid(tnf.linear(h, ps[i], ps[i + 1]))
        return tnf.mse_loss(h, y)
    return loss


def tinygrad_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                  lr: float = LR) -> Step:
    """The functional API: ``functional.linear``, ``.sigmoid``, ``.mse_loss``; plain SGD."""
    ps = [Value(p.copy()) for p in params]
    xv, yv = Value(x, requires_grad=False), Value(y, requires_grad=False)
    loss_fn = functional_loss(ps)

    def step() -> float:
        loss = loss_fn(xv, yv)
        loss.backward()
        for p in ps:
            p.data -= lr * p.grad
            p.grad = None
        return float(loss.data)
    return step


def compiled_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                  lr: float = LR) -> tuple[Step, float]:
    """``tinygrad_step`` compiled as a training step (``tn.compile(loss, optimizer=SGD(...))``:
    forward, backward and the update W ← W − η·∂E/∂W as one program); and the time tracing
    it took."""
    from tinygrad_nn.optim import SGD

    ps = [Value(p.copy()) for p in params]
    compiled = tn.compile(functional_loss(ps), optimizer=SGD(ps, lr=lr))
    start = time.perf_counter()
    compiled.program(x, y)
    trace_seconds = time.perf_counter() - start

    def step() -> float:
        return float(compiled(x, y).data)
    step()
    step()                                    # the second call checks the graph (not timed)
    return step, trace_seconds


def nn_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
            lr: float = LR) -> Step | None:
    """The user-facing API: ``nn.mlp`` + ``nn.MSELoss`` + ``optim.SGD`` (same weights)."""
    try:
        from tinygrad_nn import nn, optim
    except ImportError:
        return None
    net = [params[0].shape[1]] + [w.shape[0] for w in params[0::2]]
    model = nn.mlp(net, activation="sigmoid", rng=0, dtype=params[0].dtype)
    model_params = model.parameters()
    for p, value in zip(model_params, params, strict=True):
        p.data = value.copy()
    loss_fn, opt = nn.MSELoss(), optim.SGD(model_params, lr=lr)

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return float(loss.data)
    return step


def torch_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
               lr: float = LR) -> Step | None:
    """PyTorch CPU: ``F.linear`` + ``torch.sigmoid``, ``F.mse_loss``, in-place SGD."""
    torch = peers.load("torch")
    if torch is None:
        return None
    import torch.nn.functional as F

    ps = [torch.tensor(p, requires_grad=True) for p in params]
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> float:
        h = xt
        for i in range(0, len(ps), 2):
            h = torch.sigmoid(F.linear(h, ps[i], ps[i + 1]))
        loss = F.mse_loss(h, yt)
        loss.backward()
        with torch.no_grad():
            for p in ps:
                p.sub_(p.grad, alpha=lr)
                p.grad = None
        return float(loss.item())
    return step


def torch_nn_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                  lr: float = LR) -> Step | None:
    """PyTorch's user-facing API: ``nn.Sequential`` + ``nn.MSELoss`` + ``optim.SGD``."""
    torch = peers.load("torch")
    if torch is None:
        return None
    layers: list[Any] = []
    for w, b in zip(params[0::2], params[1::2]):
        linear = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers)
    loss_fn = torch.nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return float(loss.item())
    return step


def autograd_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                  lr: float = LR) -> Step | None:
    """HIPS autograd: the loss written with ``autograd.numpy``, ``value_and_grad``, SGD."""
    ag = peers.load("autograd")
    if ag is None:
        return None
    import autograd.numpy as anp

    ps = [p.copy() for p in params]

    def loss_fn(ps: list[Any], x: Any, y: Any) -> Any:
        h = x
        for i in range(0, len(ps), 2):
            h = 0.5 * (anp.tanh(0.5 * (anp.dot(h, ps[i].T) + ps[i + 1])) + 1.0)
        return anp.mean((h - y) ** 2)

    value_and_grad = ag.value_and_grad(loss_fn)

    def step() -> float:
        loss, grads = value_and_grad(ps, x, y)
        for p, gp in zip(ps, grads):
            p -= lr * gp
        return float(loss)
    return step


def _one_thread(torch: Any, step: Step) -> Step:
    """Run ``step`` with torch limited to one thread, then restore the default."""
    default = torch.get_num_threads()

    def run() -> Any:
        torch.set_num_threads(1)
        try:
            return step()
        finally:
            torch.set_num_threads(default)
    return run


def _sgd_case(key: str, title: str, net: Sequence[int], batch: int, float32: bool) -> Case:
    params, (x, y) = init_params(net), make_batch(net, batch)
    case = Case(key, title, "numpy", {})
    case.runners["numpy"] = numpy_step([p.copy() for p in params], x, y)
    if float32:
        p32 = [p.astype(np.float32) for p in params]
        x32, y32 = x.astype(np.float32), y.astype(np.float32)
        case.runners["numpy float32"] = numpy_step(p32, x32, y32)
    case.runners["tinygrad_nn"] = tinygrad_step(params, x, y)
    case.runners["tinygrad_nn compiled"], trace_seconds = compiled_step(params, x, y)
    case.notes.append(f"'compiled' is the 'tinygrad_nn' step with its loss compiled "
                      f"(tn.compile: forward and backward as one program writing into reused "
                      f"buffers); tracing it took {trace_seconds * 1e3:.1f} ms once, not counted.")
    if float32:
        case.runners["tinygrad_nn float32"] = tinygrad_step(
            [p.astype(np.float32) for p in params], x32, y32)
    nn_runner = nn_step(params, x, y)
    if nn_runner is None:
        case.notes.append("tinygrad_nn.nn is not in the tree yet: no nn+optim row.")
    else:
        case.runners["tinygrad_nn nn+optim"] = nn_runner
    for name, make in (("torch", torch_step), ("torch nn+optim", torch_nn_step),
                       ("autograd", autograd_step)):
        runner = make(params, x, y)
        if runner is None:
            case.notes.append(f"{name} is not installed: skipped.")
        else:
            case.runners[name] = runner
    if "torch" in case.runners:
        torch = peers.load("torch")
        assert torch is not None
        case.runners["torch 1 thread"] = _one_thread(torch, case.runners["torch"])
        case.runners["torch nn+optim 1 thread"] = _one_thread(torch,
                                                              case.runners["torch nn+optim"])
        case.notes.append(f"torch runs with its default {torch.get_num_threads()} threads; "
                          "'torch 1 thread' sets torch.set_num_threads(1) around each step.")
    case.notes.append("float64 unless the name says float32; E = mean((a − y)²); one step = "
                      "forward, backward and the SGD update of every weight. 'tinygrad_nn' "
                      "is the functional API (functional.linear, .sigmoid, .mse_loss, "
                      "p.data -= lr * p.grad); 'nn+optim' is nn.mlp + nn.MSELoss + optim.SGD. "
                      "'torch' is the same functional code (F.linear, torch.sigmoid, "
                      "F.mse_loss, p.sub_); 'torch nn+optim' is nn.Sequential + nn.MSELoss + "
                      "optim.SGD.")
    return case


def case_small_step(sizes: Sizes = FULL) -> Case:
    """(2) one SGD step of the tutorial's digit network 784-20-20-10, batch 32."""
    net = sizes.small_net
    return _sgd_case("small_step", f"(2) One SGD step, {'-'.join(map(str, net))} sigmoid/MSE, "
                     f"batch {sizes.small_batch}", net, sizes.small_batch, float32=False)


def case_large_step(sizes: Sizes = FULL) -> Case:
    """(3) one SGD step of 784-256-256-10, batch 256, plus float32 against float64."""
    net = sizes.large_net
    return _sgd_case("large_step", f"(3) One SGD step, {'-'.join(map(str, net))} sigmoid/MSE, "
                     f"batch {sizes.large_batch}", net, sizes.large_batch, float32=True)


# ----------------------------------------------------------------------------------------------
# (4) one epoch of the default `train`
# ----------------------------------------------------------------------------------------------


def case_epoch(sizes: Sizes = FULL) -> Case:
    """(4) one epoch of ``python -m tinygrad_nn train`` (defaults) on the embedded digits.

    The same pieces the ``train`` command builds (split, ``nn.mlp``, ``nn.MSELoss``, ``SGD``
    with the default learning rate, a shuffling ``DataLoader``) and one epoch of ``fit`` with the
    test set as validation data, against a hand-written NumPy epoch over the same minibatches
    that reports the same numbers (mean loss, accuracy, validation loss and accuracy).
    """
    case = Case("epoch", "(4) One epoch of the default `train` on the embedded digits", "numpy",
                {})
    try:
        from tinygrad_nn import nn, train
        from tinygrad_nn.cli import inputs
        from tinygrad_nn.cli import train as train_command
        from tinygrad_nn.data import DataLoader, one_hot
        from tinygrad_nn.optim import SGD
    except ImportError as exc:
        case.notes.append(f"Skipped: {exc}.")
        return case
    # Each timed call is a one-epoch fit, which has not learned yet and would say so each time.
    warnings.filterwarnings("ignore", category=train.TrainingWarning)
    x_train, x_test, y_train, y_test = inputs.load_dataset("digits", None, 0)
    if sizes.epoch_limit is not None:
        x_train, y_train = x_train[:sizes.epoch_limit], y_train[:sizes.epoch_limit]
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    hidden = [20, 20]
    model = train_command.build_model(x_train.shape[1], hidden, n_classes, "sigmoid", "mse", 0)
    lr = train_command.DEFAULT_LR[("sgd", "mse")]
    batch = train_command.DEFAULT_BATCH
    yt_train, yt_test = one_hot(y_train, n_classes), one_hot(y_test, n_classes)
    weights = [p.data.copy() for p in model.parameters()]
    loss_fn, opt = nn.MSELoss(), SGD(model.parameters(), lr=lr)
    loader = DataLoader(x_train, yt_train, batch_size=batch, shuffle=True, rng=0)

    def ours() -> Any:
        return train.fit(model, loss_fn, opt, loader, 1, val_data=(x_test, yt_test),
                         progress=False)

    sgd = numpy_sgd(weights, lr)
    rng = np.random.default_rng(0)

    def numpy_epoch() -> tuple[float, float, float, float]:
        """An epoch by hand, reporting what fit's History does: the mean training loss and
        the training accuracy (of each minibatch's output before its update), then the
        validation loss and accuracy."""
        order = rng.permutation(len(x_train))
        total = 0.0
        correct = 0
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            loss, out = sgd(x_train[idx], yt_train[idx])
            total += loss * len(idx)
            correct += int(np.count_nonzero(out.argmax(axis=1) == y_train[idx]))
        out = _numpy_forward(weights, x_test)        # the validation pass of fit
        d = out - yt_test
        val_loss = float(np.vdot(d, d)) / d.size
        val_correct = int(np.count_nonzero(out.argmax(axis=1) == y_test))
        return total / len(order), correct / len(order), val_loss, val_correct / len(y_test)

    case.runners["numpy"] = numpy_epoch
    case.runners["tinygrad_nn train.fit"] = ours
    compiled_model = train_command.build_model(x_train.shape[1], hidden, n_classes, "sigmoid",
                                               "mse", 0)
    compiled_loss, compiled_opt = nn.MSELoss(), SGD(compiled_model.parameters(), lr=lr)
    compiled_loader = DataLoader(x_train, yt_train, batch_size=batch, shuffle=True, rng=0)
    step = train.training_step(compiled_model, compiled_loss, compiled_opt)
    start = time.perf_counter()
    for size in sorted({batch, len(x_train) % batch} - {0}):
        step.program(Value(x_train[:size], requires_grad=False), yt_train[:size])
    trace_seconds = time.perf_counter() - start

    def compiled_epoch() -> Any:
        return train.fit(compiled_model, compiled_loss, compiled_opt, compiled_loader, 1,
                         val_data=(x_test, yt_test), progress=False, compile=step)

    compiled_epoch()
    compiled_epoch()                          # second calls check the graphs (not timed)
    case.runners["tinygrad_nn train.fit compiled"] = compiled_epoch
    case.notes.append(f"'compiled': fit(..., compile=step) with step = "
                      f"train.training_step(model, loss, optimizer), each minibatch's forward, "
                      f"backward and SGD update one program; tracing its two minibatch shapes took "
                      f"{trace_seconds * 1e3:.0f} ms once, not counted.")
    arch = "-".join(map(str, [x_train.shape[1], *hidden, n_classes]))
    case.notes.append("'numpy' is the epoch written by hand with the step of (2) (numpy_sgd), "
                      "reporting what fit's History holds: the mean training loss and accuracy, "
                      "the validation loss and accuracy (the same numbers, "
                      "tests/test_benchmarks_smoke.py).")
    case.notes.append(f"{len(x_train)} training samples, network {arch} sigmoid/MSE, SGD "
                      f"lr={lr:g}, batch {batch}, validation on {len(x_test)} test samples "
                      "(as `python -m tinygrad_nn train`, one epoch instead of "
                      f"{train_command.DEFAULT_EPOCHS}).")
    return case


# ----------------------------------------------------------------------------------------------
# (4b) the default `train` run, recorded for the playground page
# ----------------------------------------------------------------------------------------------


def case_record(sizes: Sizes = FULL) -> Case:
    """(4b) the whole default ``train`` run (150 epochs on the digits) with and without
    ``fit(record=Recorder())`` (20 snapshots): the recorder's cost, and the page's size."""
    case = Case("record", "(4b) The default `train` run, recorded (`--record run.html`)", "fit",
                {})
    try:
        from tinygrad_nn import nn, train, viz
        from tinygrad_nn.cli import inputs
        from tinygrad_nn.cli import train as train_command
        from tinygrad_nn.data import DataLoader, one_hot
        from tinygrad_nn.optim import SGD
    except ImportError as exc:
        case.notes.append(f"Skipped: {exc}.")
        return case
    warnings.filterwarnings("ignore", category=train.TrainingWarning)   # the tiny smoke run
    x_train, x_test, y_train, y_test = inputs.load_dataset("digits", None, 0)
    if sizes.epoch_limit is not None:
        x_train, y_train = x_train[:sizes.epoch_limit], y_train[:sizes.epoch_limit]
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    yt_train, yt_test = one_hot(y_train, n_classes), one_hot(y_test, n_classes)
    lr = train_command.DEFAULT_LR[("sgd", "mse")]
    epochs = sizes.record_epochs
    last: list[Any] = []

    def fit(record: Any) -> Any:
        model = train_command.build_model(x_train.shape[1], [20, 20], n_classes, "sigmoid",
                                          "mse", 0)
        loader = DataLoader(x_train, yt_train, batch_size=train_command.DEFAULT_BATCH,
                            shuffle=True, rng=0)
        return train.fit(model, nn.MSELoss(), SGD(model.parameters(), lr=lr), loader, epochs,
                         val_data=(x_test, yt_test), progress=False, record=record)

    def recorded() -> Any:
        recorder = train.Recorder()
        last[:] = [recorder]
        return fit(recorder)

    case.runners["fit"] = lambda: fit(None)
    case.runners["fit + Recorder() (20 snapshots)"] = recorded
    recorded()
    page = viz.playground(last[0])
    size = len(page.html().encode("utf-8"))
    case.notes.append(f"{len(x_train)} training samples, network {x_train.shape[1]}-20-20-"
                      f"{n_classes} sigmoid/MSE, SGD lr={lr:g}, {epochs} epochs, validation on "
                      f"{len(x_test)} test samples: one call is the whole run. The recorded "
                      f"run's page (viz.playground): {len(page)} snapshots, {size:,} bytes "
                      f"(limit 5,000,000"
                      f"{', thinned' if page.data['thinned'] else ''}).")
    return case


def _numpy_forward(params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The forward pass alone (for the validation pass of the NumPy epoch)."""
    a = x
    with np.errstate(over="ignore"):
        for w, b in zip(params[0::2], params[1::2]):
            a = 1.0 / (1.0 + np.exp(-(a @ w.T + b)))
    return a


# ----------------------------------------------------------------------------------------------
# (5) a long scalar chain
# ----------------------------------------------------------------------------------------------


def _chain(value: Callable[[float], Any], n_ops: int) -> Any:
    """``n_ops`` alternating ``y * 1.0001`` and ``y + 0.0001`` from x = 0.5; returns dy/dx."""
    x = value(0.5)
    y = x
    for _ in range(n_ops // 2):
        y = y * 1.0001
        y = y + 0.0001
    y.backward()
    return x.grad


def case_chain(sizes: Sizes = FULL) -> Case:
    """(5) forward + backward through a chain of 100,000 scalar ops."""
    n = sizes.chain_ops
    case = Case("chain", f"(5) Scalar chain of {n:,} ops, forward + backward", "tinygrad_nn", {})
    case.runners["tinygrad_nn"] = lambda: _chain(Value, n)
    case.ops["tinygrad_nn"] = n
    mg = peers.load("micrograd")
    if mg is not None:
        try:
            _chain(mg.Value, n)
            case.runners["micrograd"] = lambda: _chain(mg.Value, n)
            case.ops["micrograd"] = n
        except RecursionError as exc:
            case.failures["micrograd"] = f"RecursionError ({exc}) in its recursive build_topo"
        gc.collect()
    torch = peers.load("torch")
    if torch is not None:
        case.runners["torch"] = lambda: _chain(
            lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True), n)
        case.ops["torch"] = n
    ag = peers.load("autograd")
    if ag is not None:
        def chain_fn(x: Any) -> Any:
            y = x
            for _ in range(n // 2):
                y = y * 1.0001
                y = y + 0.0001
            return y
        d_chain = ag.grad(chain_fn)
        case.runners["autograd"] = lambda: d_chain(0.5)
        case.ops["autograd"] = n
    case.notes.append("The time is per chain (build + backward); the ratio is to tinygrad_nn.")
    return case


# ----------------------------------------------------------------------------------------------
# (6) memory: peak of one step, growth over many steps
# ----------------------------------------------------------------------------------------------


def peak_bytes(step: Step) -> int:
    """Peak of traced allocations during one call of ``step`` (after a warm-up call)."""
    step()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def growth_bytes(step: Step, first: int, last: int) -> tuple[int, int]:
    """Traced memory after ``first`` and after ``last`` calls of ``step`` (garbage collected)."""
    tracemalloc.start()
    try:
        for _ in range(first):
            step()
        gc.collect()
        after_first = tracemalloc.get_traced_memory()[0]
        for _ in range(last - first):
            step()
        gc.collect()
        return after_first, tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def _kib(n: int) -> str:
    return f"{n / 1024:,.1f} KiB"


def case_memory(sizes: Sizes = FULL) -> Table:
    """(6) tracemalloc peak of one step of (2) and (3); growth over many steps of (2)."""
    rows: list[list[str]] = []
    for label, net, batch in (("(2)", sizes.small_net, sizes.small_batch),
                              ("(3)", sizes.large_net, sizes.large_batch)):
        params, (x, y) = init_params(net), make_batch(net, batch)
        base = peak_bytes(numpy_step([p.copy() for p in params], x, y))
        peak = peak_bytes(tinygrad_step(params, x, y))
        rows.append([f"peak of one step {label}", "numpy", _kib(base), "1.00"])
        rows.append([f"peak of one step {label}", "tinygrad_nn", _kib(peak), f"{peak / base:.2f}"])
    first, last = sizes.growth_steps
    params, (x, y) = init_params(sizes.small_net), make_batch(sizes.small_net, sizes.small_batch)
    for name, make in (("tinygrad_nn", tinygrad_step), ("tinygrad_nn nn+optim", nn_step)):
        step = make(params, x, y)
        if step is None:
            continue
        m1, m2 = growth_bytes(step, first, last)
        rows.append([f"growth (2), steps {first:,} → {last:,}", name, f"{m2 - m1:+,} B",
                     f"{(m2 - m1) / (last - first):+.4f} B/step"])
    return Table("memory", "(6) Memory (tracemalloc)", ["measure", "implementation", "bytes",
                 "ratio to numpy, or per step"], rows,
                 ["tracemalloc sees NumPy and Python allocations (not torch's allocator), so "
                  "only numpy and tinygrad_nn are compared.",
                  "Growth is the traced memory after the last step minus after the first "
                  "block, both after gc.collect() (the last column divides it by the steps "
                  "between). A leak would grow with the steps; a few tens of bytes either way "
                  "are NumPy's small-buffer cache holding a different number of blocks."])


# ----------------------------------------------------------------------------------------------
# (7) one epoch of the small CNN of examples/digits_cnn.py, against the same network in PyTorch
# ----------------------------------------------------------------------------------------------


def digits_images(sizes: Sizes) -> tuple[np.ndarray, ...]:
    """The digits as images (N, 1, 8, 8) in [0, 1], split 80/20 (stratified, seed 0) as in
    examples/digits_cnn.py; ``(x_train, x_test, y_train, y_test)``."""
    from tinygrad_nn.data import load_digits, train_test_split

    images, labels = load_digits(flatten=False)
    x_train, x_test, y_train, y_test = train_test_split(images[:, None], labels, test_size=0.2,
                                                        rng=0, stratify=True)
    if sizes.epoch_limit is not None:
        x_train, y_train = x_train[:sizes.epoch_limit], y_train[:sizes.epoch_limit]
    return x_train, x_test, y_train, y_test


def small_cnn(dtype: str, seed: int = 0) -> Any:
    """examples/digits_cnn.py's network: two 3×3 convolutions (16 and 32 channels, ReLU),
    2×2 max pooling, a linear head on the 32·4·4 features."""
    from tinygrad_nn import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, init="he", rng=seed, dtype=dtype), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, init="he", rng=seed + 1, dtype=dtype), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 10, rng=seed + 2, dtype=dtype))


CNN_LR = 0.002
CNN_BATCH = 32


def _cnn_case(key: str, dtype: str, sizes: Sizes) -> Case:
    case = Case(key, f"({'7' if dtype == 'float64' else '8'}) One epoch of the small CNN on the "
                f"embedded digits, {dtype}", "torch 1 thread", {})
    try:
        from tinygrad_nn import nn, optim, train
        from tinygrad_nn.data import DataLoader
        from tinygrad_nn.export import to_torch
    except ImportError as exc:
        case.notes.append(f"Skipped: {exc}.")
        return case
    x_train, x_test, y_train, y_test = (a.astype(dtype) if a.dtype.kind == "f" else a
                                        for a in digits_images(sizes))
    model = small_cnn(dtype)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=CNN_LR)
    loader = DataLoader(x_train, y_train, batch_size=CNN_BATCH, rng=0)

    def ours() -> float:
        history = train.fit(model, loss_fn, opt, loader, 1, val_data=(x_test, y_test),
                            progress=False)
        return history.loss[-1]

    case.runners["tinygrad_nn"] = ours
    torch = peers.load("torch")
    if torch is None:
        case.baseline = "tinygrad_nn"
        case.notes.append("torch is not installed: no baseline peer.")
        return case
    twin = to_torch(small_cnn(dtype))                 # the same network, the same weights
    twin_opt = torch.optim.Adam(twin.parameters(), lr=CNN_LR)
    twin_loss = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    xt_test, yt_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
    order_rng = np.random.default_rng(0)

    def theirs() -> float:
        twin.train()
        order = torch.from_numpy(order_rng.permutation(len(x_train)))
        loss = twin_loss(twin(xt[:1]), yt[:1])
        for start in range(0, len(order), CNN_BATCH):
            idx = order[start:start + CNN_BATCH]
            twin_opt.zero_grad()
            loss = twin_loss(twin(xt[idx]), yt[idx])
            loss.backward()
            twin_opt.step()
        twin.eval()
        with torch.no_grad():                         # the validation pass of fit
            twin_loss(twin(xt_test), yt_test)
        return float(loss.item())

    case.runners["torch"] = theirs
    case.runners["torch 1 thread"] = _one_thread(torch, theirs)
    case.notes.append(
        f"{len(x_train)} training images (1×8×8), batch {CNN_BATCH}, Adam lr={CNN_LR:g}, "
        f"cross-entropy, then the validation pass over {len(x_test)} test images; the network "
        "of examples/digits_cnn.py (Conv2d 1→16, ReLU, Conv2d 16→32, ReLU, MaxPool2d 2, "
        "Flatten, Linear 512→10). 'tinygrad_nn' is train.fit with a DataLoader; 'torch' is "
        "the same network built by export.to_torch (same weights) with the usual PyTorch "
        "loop. The baseline is torch on one thread, as NumPy's BLAS is with --blas-threads 1; "
        f"'torch' keeps its default {torch.get_num_threads()} threads.")
    return case


def case_cnn_epoch(sizes: Sizes = FULL) -> Case:
    """(7) one epoch (training and validation) of the digits CNN, float64, against PyTorch."""
    return _cnn_case("cnn_epoch", "float64", sizes)


def case_cnn_epoch_float32(sizes: Sizes = FULL) -> Case:
    """(8) the same in float32, where PyTorch's convolution kernels are fastest."""
    return _cnn_case("cnn_epoch_float32", "float32", sizes)


# ----------------------------------------------------------------------------------------------
# (9)–(12) the function transforms: jacobian in both modes, hvp, jvp
# ----------------------------------------------------------------------------------------------


def _jacobian_case(key: str, title: str, f: Callable[[Any], Any], x: np.ndarray) -> Case:
    """``tn.jacobian(f)`` at ``x`` in each mode; the note says which mode ``auto`` ran (by
    counting the calls of ``f``: one for reverse mode, one per input entry more for forward)."""
    calls = [0]

    def counted(v: Any) -> Any:
        calls[0] += 1
        return f(v)

    def one_vjp_per_row() -> np.ndarray:
        out, vjp_fn = tn.vjp(f, x)
        units = np.eye(np.size(out)).reshape((np.size(out),) + np.shape(out))
        return np.stack([vjp_fn(u)[0] for u in units]).reshape(np.shape(out) + x.shape)

    case = Case(key, title, "auto", {})
    for mode in ("auto", "rev", "fwd"):
        jac = tn.jacobian(counted, mode=mode)
        case.runners[mode] = lambda jac=jac: jac(x)
    case.runners["one vjp per row"] = one_vjp_per_row
    calls[0] = 0
    case.runners["auto"]()
    picked = "rev" if calls[0] == 1 else "fwd"
    case.notes.append(f"auto ran f {calls[0]} time{'s' if calls[0] != 1 else ''} for "
                      f"{x.size} input entries: it chose {picked!r} mode. 'rev' is one reverse "
                      "walk of one recorded forward pass carrying every output entry's unit "
                      "cotangent at once (tinygrad_nn.batched); 'fwd' one forward-mode pass per "
                      "input entry; 'one vjp per row' the reverse mode before the stack: "
                      "tn.vjp's function called once per output entry, a reverse pass each.")
    return case


def case_jacobian_square(sizes: Sizes = FULL) -> Case:
    """(9) the Jacobian of x ↦ tanh(W₂ tanh(W₁x)), ℝⁿ → ℝⁿ, n = 100, in each mode."""
    n = sizes.jacobian_square
    rng = np.random.default_rng(7)
    w1, w2 = rng.standard_normal((n, n)) / math.sqrt(n), rng.standard_normal((n, n)) / math.sqrt(n)
    return _jacobian_case("jacobian_square", f"(9) jacobian of x ↦ tanh(W₂ tanh(W₁x)), "
                          f"ℝ^{n} → ℝ^{n}", lambda x: (w2 @ (w1 @ x).tanh()).tanh(),
                          rng.standard_normal(n))


def case_jacobian_wide(sizes: Sizes = FULL) -> Case:
    """(10) the Jacobian (the gradient) of x ↦ Σ tanh(Ax)², ℝⁿ → ℝ, n = 1000, in each mode."""
    n = sizes.jacobian_wide
    rng = np.random.default_rng(8)
    a = rng.standard_normal((50, n)) / math.sqrt(n)
    return _jacobian_case("jacobian_wide", f"(10) jacobian of x ↦ Σ tanh(Ax)², ℝ^{n} → ℝ",
                          lambda x: ((a @ x).tanh() ** 2).sum(), rng.standard_normal(n))


def _network_loss(sizes: Sizes) -> tuple[Callable[..., Any], list[np.ndarray], list[np.ndarray]]:
    """(2)'s network as a function of its parameters, E(W₁, b₁, ...) = mean((a − y)²), with
    its parameters and a random direction for each of them."""
    params = init_params(sizes.small_net)
    x, y = make_batch(sizes.small_net, sizes.small_batch)

    def loss(*ps: Any) -> Any:
        return functional_loss(list(ps))(x, y)

    rng = np.random.default_rng(9)
    return loss, params, [rng.standard_normal(p.shape) for p in params]


def case_hvp(sizes: Sizes = FULL) -> Case:
    """(11) a Hessian-vector product against one gradient, (2)'s network and batch."""
    loss, params, vectors = _network_loss(sizes)
    every = tuple(range(len(params)))
    gradient = tn.grad(loss, argnums=every)
    values = [Value(p) for p in params]

    def backward() -> None:
        for v in values:
            v.grad = None
        loss(*values).backward()

    net = "-".join(map(str, sizes.small_net))
    case = Case("hvp", f"(11) Hessian-vector product vs one gradient, {net} sigmoid/MSE, batch "
                f"{sizes.small_batch}", "tn.grad", {})
    case.runners["tn.grad"] = lambda: gradient(*params)
    case.runners["backward()"] = backward
    case.runners["tn.hvp"] = lambda: tn.hvp(loss, params, vectors)
    case.notes.append("H·v with respect to all the weights and biases, by forward over reverse "
                      "(the JVP of tn.grad). 'tn.grad' is the gradient by the transform, "
                      "'backward()' the same gradient by loss.backward() on Values.")
    return case


def case_jvp(sizes: Sizes = FULL) -> Case:
    """(12) a Jacobian-vector product against one forward pass, (2)'s network and batch."""
    loss, params, vectors = _network_loss(sizes)
    values = [Value(p) for p in params]

    def forward_no_grad() -> Any:
        with tn.no_grad():
            return loss(*values)

    net = "-".join(map(str, sizes.small_net))
    case = Case("jvp", f"(12) Jacobian-vector product vs one forward pass, {net} sigmoid/MSE, "
                f"batch {sizes.small_batch}", "forward", {})
    case.runners["forward"] = lambda: loss(*values)
    case.runners["forward, no_grad"] = forward_no_grad
    case.runners["tn.jvp"] = lambda: tn.jvp(loss, params, vectors)
    case.notes.append("The derivative of the loss along a random direction of all the weights "
                      "and biases, by forward mode (one pass, nothing recorded). 'forward' "
                      "records the graph as training does; 'forward, no_grad' records nothing.")
    return case


TIMED_CASES: tuple[Callable[[Sizes], Case], ...] = (
    case_scalar_mlp, case_small_step, case_large_step, case_epoch, case_record, case_chain,
    case_cnn_epoch, case_cnn_epoch_float32, case_jacobian_square, case_jacobian_wide, case_hvp,
    case_jvp)
