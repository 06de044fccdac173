"""A small convolutional network on the 8×8 digits: two convolutions, pooling, a linear head.

The MLP of examples/digits.py reads each image as 64 unrelated numbers; a convolution reads it
as a picture: a 3×3 kernel slides over the image and responds to the same stroke wherever it
is.  The network here is

    Conv2d(1 → 16, 3×3) · ReLU · Conv2d(16 → 32, 3×3) · ReLU · MaxPool2d(2) · Flatten ·
    Dropout(0.25) · Linear(512 → 10)

trained with softmax cross-entropy and Adam on the same stratified 80/20 split as the MLPs.

    python examples/digits_cnn.py           # 20 epochs, a few seconds per epoch at most
    python examples/digits_cnn.py --fast    # 2 epochs (smoke test)

benchmarks/ times one epoch of this network against the same network in PyTorch
(``python -m benchmarks.run --case cnn_epoch``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tinygrad_nn import nn, no_grad
from tinygrad_nn.data import DataLoader, load_digits, train_test_split
from tinygrad_nn.optim import Adam
from tinygrad_nn.train import evaluate, fit


def small_cnn(seed: int) -> nn.Sequential:
    """Two 3×3 convolutions ("same" padding keeps 8×8), 2×2 max pooling to 4×4, a linear head."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, init="he", rng=seed), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, init="he", rng=seed + 1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25, rng=seed),
        nn.Linear(32 * 4 * 4, 10, rng=seed + 2))


def show_shapes(model: nn.Sequential, image: np.ndarray) -> None:
    """One image through the network, layer by layer: what each map does to the shape."""
    x = image[None]                                   # a batch of one: (1, 1, 8, 8)
    print(f"  input {tuple(x.shape)}")
    model.eval()                                      # (fit switches to training mode)
    with no_grad():
        for layer in model:
            x = layer(x)
            print(f"  {layer.scope_label:<22} -> {tuple(x.shape)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="2 epochs (smoke test)")
    args = parser.parse_args()
    epochs = 2 if args.fast else args.epochs

    images, labels = load_digits(flatten=False)       # (1797, 8, 8) in [0, 1]
    X = images[:, None]                               # one channel: (1797, 1, 8, 8)
    X_train, X_test, y_train, y_test = train_test_split(X, labels, test_size=0.2,
                                                        rng=args.seed, stratify=True)
    model = small_cnn(args.seed)
    print(f"digits: {len(X_train)} training / {len(X_test)} test images of 1×8×8; "
          f"{model.num_parameters():,} parameters")
    show_shapes(model, X_train[0])

    loss_fn = nn.CrossEntropyLoss()
    optimizer = Adam(model.parameters(), lr=0.002, weight_decay=1e-4)
    loader = DataLoader(X_train, y_train, batch_size=32, rng=args.seed)
    start = time.perf_counter()
    history = fit(model, loss_fn, optimizer, loader, epochs, val_data=(X_test, y_test),
                  progress=False)
    seconds = time.perf_counter() - start
    result = evaluate(model, loss_fn, X_test, y_test)     # evaluation mode: no dropout
    accuracy = result.accuracy or 0.0
    print(f"{epochs} epochs in {seconds:.1f} s ({seconds / epochs:.2f} s per epoch, "
          f"validation included)")
    print(f"training loss {history.loss[0]:.4f} -> {history.loss[-1]:.4f}")
    print(f"test error {result.loss:.4f}")
    print(f"accuracy: {100 * accuracy:.1f}% on {result.n} test digits "
          f"({round((1 - accuracy) * result.n)} wrong)")


if __name__ == "__main__":
    main()
