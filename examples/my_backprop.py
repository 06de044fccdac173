"""A learner's own backprop, as seed 000 derives it, ready for `python -m tinygrad_nn check`.

Copy this file, change `backprop`, and check it:

    python -m tinygrad_nn check my_backprop.py [--layers 3,4,4,2] [--batch 4]

Running this file checks itself the same way (its options go to the check):

    python examples/my_backprop.py [--layers 3,4,4,2] [--batch 4]

`backprop(model, x, d)` reads the weights from the model (`Linear.weight` is seed 000's W_l:
row j holds the weights into neuron j), works with column vectors, and returns every quantity it
computes, one array per Linear layer, first to last.
"""

from __future__ import annotations

import sys

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """φ(x) = 1 / (1 + e^−x), written so that large |x| does not overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def backprop(model, x, d):
    """Forward pass, E = Σ(d − x)²/n averaged over the samples, and the delta rule."""
    linears = model.layers[0::2]                       # Linear, Sigmoid, Linear, Sigmoid, …
    Ws = [layer.weight.data for layer in linears]      # W_l: (neurons of l+1, neurons of l)
    Bs = [layer.bias.data.reshape(-1, 1) for layer in linears]
    X = x.reshape(-1, 1) if x.ndim == 1 else x.T       # one column per sample
    D = d.reshape(-1, 1) if d.ndim == 1 else d.T

    # feed-forward: net X_{l+1} = W_l · out X_l + B_{l+1}, out X_{l+1} = φ(net X_{l+1})
    outs, nets = [X], []
    for W, B in zip(Ws, Bs):
        nets.append(W @ outs[-1] + B)
        outs.append(sigmoid(nets[-1]))

    # the error, and δ_L = ∂E/∂out ⊙ φ'(net X_L) with ∂E/∂out = −2(d − out)/n
    n_times_N = D.size
    E = float(np.sum((D - outs[-1]) ** 2) / n_times_N)
    deltas = [-2 * (D - outs[-1]) / n_times_N * outs[-1] * (1 - outs[-1])]

    # back-propagation: δ_l = (W_lᵀ δ_{l+1}) ⊙ φ'(net X_l), with φ' = out(1 − out)
    for W, out in zip(Ws[:0:-1], outs[-2:0:-1]):
        deltas.insert(0, (W.T @ deltas[0]) * out * (1 - out))

    # ∂E/∂W_l = δ_{l+1} · (out X_l)ᵀ and ∂E/∂B_{l+1} = δ_{l+1}, summed over the samples
    dW = [delta @ out.T for delta, out in zip(deltas, outs[:-1])]
    dB = [delta.sum(axis=1) for delta in deltas]
    return {"net": nets, "out": outs[1:], "E": E, "delta": deltas, "dW": dW, "dB": dB}


if __name__ == "__main__":
    from tinygrad_nn import cli

    options = [a for a in sys.argv[1:] if a != "--fast"]   # --fast: it is fast already
    sys.exit(cli.main(["check", __file__, *options]))
