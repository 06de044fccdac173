"""``python -m tinygrad_nn train``: train a network, print its test accuracy, save it.

The defaults are the tutorial's: a 64-20-20-10 logistic network with MSE on one-hot targets and
plain minibatch SGD, on the 8x8 digits shipped with the package.  The checkpoint (model.npz)
and the loss curve (loss_curve.png) are written to ``--out``.  The checkpoint holds the
optimizer's state and the shuffling state too, so ``--resume out/model.npz`` trains on from it:
``--epochs`` more epochs, with the network, data, loss, optimizer, batch size and seed it was
made with, giving the parameters a single longer run would have.

``--data my.csv --target label`` trains on the user's own table (a CSV with a header, numeric
features, the classes in column ``label``), and ``--record run.html`` writes the playground
page of the run (``viz.playground``): the network, the curves, the gradients and the decision
boundary or the test images, snapshot by snapshot.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn
from ..checkpoint import load_with_metadata
from ..data import DataLoader, one_hot
from ..errors import CheckpointError, TrainingDivergedError, TrainingWarning, UsageError
from ..optim import SGD, Adam
from ..train import Recorder, evaluate, fit
from ..train.resume import save_training
from ..viz.playground import playground
from .inputs import DATASETS, TEST_SIZE, load_dataset, load_table

__all__ = ["DEFAULT_BATCH", "DEFAULT_EPOCHS", "DEFAULT_LR", "FAST_EPOCHS", "HELP", "LOSS_NAMES",
           "build_model", "configure", "run"]

HELP = ("train a network (default: the tutorial's 64-20-20-10 sigmoid/MSE/SGD net on the "
        "embedded digits)")
# Tuned on the digits (64-20-20-10, batch 32): MSELoss "mean" divides by the 10 outputs as well
# as the batch, so plain SGD on MSE needs a large η.
DEFAULT_LR = {("sgd", "mse"): 5.0, ("sgd", "ce"): 0.5, ("adam", "mse"): 0.01,
              ("adam", "ce"): 0.003}
LOSS_NAMES = {"mse": "MSE", "ce": "cross-entropy"}
"""How the summary names each ``--loss``: ``test loss (MSE): 0.0064``."""
DEFAULT_EPOCHS = 150
DEFAULT_BATCH = 32
FAST_EPOCHS = 3


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the ``train`` options (defaults: the tutorial's 64-20-20-10 sigmoid/MSE/SGD net)."""
    parser.add_argument("--dataset", choices=DATASETS, default=None,
                        help="training data (default: the embedded 8x8 digits; csv: your own "
                             "table, see --target)")
    parser.add_argument("--data", metavar="PATH",
                        help="MNIST directory of IDX files or CSV file (for --dataset mnist), "
                             "or your own CSV table with --target")
    parser.add_argument("--target", metavar="COLUMN",
                        help="train on your own CSV (--data my.csv): a header line, numeric "
                             "feature columns, and COLUMN holding each row's class")
    parser.add_argument("--layers", default="20,20", metavar="N,N,...",
                        help="hidden layer sizes (default: 20,20 as in the tutorial)")
    parser.add_argument("--activation", default="sigmoid",
                        help="hidden activation φ: sigmoid (logistic, default), tanh, relu, ...")
    parser.add_argument("--loss", choices=("mse", "ce"), default="mse",
                        help="mse on one-hot targets (tutorial, default) or softmax "
                             "cross-entropy")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                        help="minibatch SGD (default) or Adam")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate η (default: tuned per optimizer and loss, "
                             "5 for sgd+mse)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                        help=f"minibatch size (default {DEFAULT_BATCH})")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                        help=f"passes over the training set (default {DEFAULT_EPOCHS})")
    parser.add_argument("--seed", type=int, default=0, help="seed for split, init, shuffling")
    parser.add_argument("--fast", action="store_true",
                        help=f"a quick smoke run: {FAST_EPOCHS} epochs (overrides --epochs)")
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    parser.add_argument("--compile", action="store_true",
                        help="run each minibatch's forward and backward pass as one compiled "
                             "program (tn.compile): the same numbers, faster; mse loss only")
    parser.add_argument("--out", default="out", metavar="DIR",
                        help="directory for model.npz and loss_curve.png (default ./out)")
    parser.add_argument("--resume", metavar="CHECKPOINT",
                        help="train on from a model.npz this command wrote: --epochs more "
                             "epochs with its network, data, loss, optimizer state, lr, batch "
                             "size and seed")
    parser.add_argument("--record", metavar="PAGE.html",
                        help="record the run and write it as one offline page: the network, "
                             "loss, accuracy and gradients, the decision boundary or test "
                             "images, snapshot by snapshot")
    parser.add_argument("--record-every", type=int, default=None, metavar="N",
                        help="with --record: a snapshot every N epochs (default: 20 snapshots "
                             "over the run)")


def _parse_layers(text: str) -> list[int]:
    """'20,20' -> [20, 20]; '' or 'none' -> [] (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(f"--layers must be comma-separated positive integers like 20,20, "
                         f"got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise UsageError(f"--layers sizes must be positive, got {text!r}")
    return sizes


def build_model(n_in: int, hidden: Sequence[int], n_out: int, activation: str, loss: str,
                seed: int) -> Any:
    """The CLI's network: ``n_in``-hidden...-``n_out``; logistic outputs for MSE, logits for CE."""
    sizes = [n_in, *hidden, n_out]
    out_act = activation if loss == "mse" else None
    try:
        return nn.mlp(sizes, activation=activation, output_activation=out_act,
                      rng=np.random.default_rng(seed))
    except (ValueError, KeyError) as exc:
        raise UsageError(f"--activation: {exc}") from None


RESUMED = (("dataset", "--dataset"), ("data", "--data"), ("target", "--target"),
           ("layers", "--layers"),
           ("activation", "--activation"), ("loss", "--loss"), ("optimizer", "--optimizer"),
           ("lr", "--lr"), ("batch_size", "--batch-size"), ("seed", "--seed"))
"""The settings ``--resume`` takes from the checkpoint's metadata (``dest``, option)."""
OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def _resume_settings(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The model and metadata of ``--resume``'s checkpoint; its settings replace ``args``'.

    An option given with a value that is neither its default nor the checkpoint's is refused:
    a resumed run trains the saved network with the saved settings.
    """
    try:
        model, meta = load_with_metadata(args.resume)
    except CheckpointError as exc:
        raise UsageError(f"--resume: {exc}") from None
    meta.setdefault("target", None)            # written before --target existed
    missing = [dest for dest, _ in RESUMED if dest not in meta] + [
        key for key in ("epochs", "steps", "loader") if key not in meta]
    if missing:
        raise UsageError(f"--resume: {args.resume!r} was not written by the train command "
                         f"(its metadata lacks {', '.join(missing)})")
    defaults = argparse.ArgumentParser()
    configure(defaults)
    for dest, flag in RESUMED:
        given = getattr(args, dest)
        if given not in (defaults.get_default(dest), meta[dest]):
            raise UsageError(f"{flag} {given} differs from the checkpoint's {meta[dest]}; "
                             f"a resumed run keeps the settings it was made with")
        setattr(args, dest, meta[dest])
    return model, meta


def _batch(size: int, samples: int) -> str:
    """The minibatch size as run: a size beyond the data is one full batch, said so."""
    if size > samples:
        return f"batch size {size} > {samples} samples: full batch"
    return f"batch {size}"


def _report(caught: list[warnings.WarningMessage]) -> None:
    """Print fit's TrainingWarnings as ``warning: ...`` lines; show any other warning as usual."""
    for w in caught:
        if issubclass(w.category, TrainingWarning):
            print(f"warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _dataset(args: argparse.Namespace) -> str:
    """The dataset's name: ``--dataset``, or "csv" for ``--data my.csv --target COLUMN``."""
    if args.target is not None:
        if args.dataset not in (None, "csv"):
            raise UsageError(f"--target is for a CSV table of your own (--data my.csv --target "
                             f"COLUMN), not for --dataset {args.dataset}")
        if not args.data:
            raise UsageError("--target COLUMN needs --data my.csv: a CSV file with a header "
                             "line naming the columns")
        return "csv"
    if args.dataset == "csv":
        raise UsageError("--dataset csv needs --data my.csv and --target COLUMN (the column "
                         "that holds each row's class)")
    return str(args.dataset or "digits")


def _recorder(args: argparse.Namespace) -> Recorder | None:
    """The Recorder of ``--record PAGE.html`` (checked before training), or None."""
    if args.record is None:
        if args.record_every is not None:
            raise UsageError("--record-every N needs --record PAGE.html")
        return None
    page = Path(args.record)
    if page.is_dir():
        raise UsageError(f"--record {args.record!r} is a directory; expected a file name such "
                         f"as run.html")
    if str(page.parent) and not page.parent.is_dir():
        raise UsageError(f"--record {args.record!r}: the directory {str(page.parent)!r} does "
                         f"not exist")
    if args.record_every is not None and args.record_every < 1:
        raise UsageError(f"--record-every must be a positive integer, got {args.record_every}")
    return Recorder(every=args.record_every)


def run(args: argparse.Namespace) -> int:
    """Train, print progress and ``accuracy: NN.N%``, write the loss curve and the checkpoint."""
    resumed = _resume_settings(args) if args.resume else None
    hidden = _parse_layers(args.layers)
    if args.fast:
        args.epochs = FAST_EPOCHS
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size)):
        if value < 1:
            raise UsageError(f"{flag} must be a positive integer, got {value}")
    if args.seed < 0:
        raise UsageError(f"--seed must be non-negative, got {args.seed}")
    if args.compile and args.loss != "mse":
        raise UsageError("--compile needs --loss mse: cross-entropy takes its target rows as a "
                         "parameter of its op, computed from the labels outside the graph, so "
                         "a compiled program cannot take new labels")
    lr = args.lr if args.lr is not None else DEFAULT_LR[(args.optimizer, args.loss)]
    if not (math.isfinite(lr) and lr > 0):
        raise UsageError(f"--lr must be a positive finite number, got {lr}")
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {args.out!r} exists and is not a directory")
    recorder = _recorder(args)
    args.dataset = _dataset(args)

    features = classes = None
    if args.dataset == "csv":
        X_train, X_test, y_train, y_test, features, classes = load_table(args.data, args.target,
                                                                         args.seed)
    else:
        X_train, X_test, y_train, y_test = load_dataset(args.dataset, args.data, args.seed)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    model = resumed[0] if resumed else build_model(X_train.shape[1], hidden, n_classes,
                                                   args.activation, args.loss, args.seed)
    if args.loss == "mse":
        loss_fn: Any = nn.MSELoss()
        Y_train, Y_test = one_hot(y_train, n_classes), one_hot(y_test, n_classes)
    else:
        loss_fn = nn.CrossEntropyLoss()
        Y_train, Y_test = y_train, y_test
    opt = OPTIMIZERS[args.optimizer](model.parameters(), lr=lr)
    loader = DataLoader(X_train, Y_train, batch_size=args.batch_size, shuffle=True,
                        rng=args.seed)
    widths = [m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
    arch = "-".join(str(s) for s in [X_train.shape[1], *widths])
    done = (resumed[1]["epochs"], resumed[1]["steps"]) if resumed else (0, 0)
    print(f"{args.dataset}: {len(X_train)} training / {len(X_test)} test samples; network "
          f"{arch}{'' if hidden else ' (no hidden layer)'}, {args.activation}, {args.loss}, "
          f"{args.optimizer} lr={lr:g}, {_batch(args.batch_size, len(X_train))}, "
          f"{args.epochs} epochs"
          + (f" (resuming {args.resume} after epoch {done[0]})" if resumed else ""))
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = out_dir / "model.npz"
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TrainingWarning)
            history = fit(model, loss_fn, opt, loader, args.epochs, val_data=(X_test, Y_test),
                          progress=not args.no_progress, resume=args.resume,
                          compile=args.compile, record=recorder)
    except CheckpointError as exc:
        raise UsageError(f"--resume: {exc}") from None
    except TrainingDivergedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    result = evaluate(model, loss_fn, X_test, Y_test)
    if history.interrupted:
        print(f"interrupted after {history.epochs} epoch(s)")
    acc = result.accuracy if result.accuracy is not None else float("nan")
    print(f"test loss ({LOSS_NAMES[args.loss]}): {result.loss:.4f}")
    print(f"accuracy: {100 * acc:.1f}%")
    print(f"training time: {elapsed:.1f}s")
    save_training(ckpt, model, opt, loader, done[0] + history.epochs, done[1] + history.steps,
                  metadata={"dataset": args.dataset, "data": args.data, "target": args.target,
                            "classes": classes, "seed": args.seed,
                            "test_size": TEST_SIZE, "layers": args.layers,
                            "activation": args.activation, "loss": args.loss,
                            "optimizer": args.optimizer, "lr": lr,
                            "batch_size": args.batch_size, "test_accuracy": result.accuracy,
                            "test_loss": result.loss, "interrupted": history.interrupted})
    print(f"checkpoint: {ckpt}")
    if history.epochs:
        try:
            curve = out_dir / "loss_curve.png"
            history.plot(curve, title=f"{args.dataset}: {arch} {args.activation}, {args.loss}, "
                                      f"{args.optimizer} η={lr:g}, batch {args.batch_size}")
            print(f"loss curve: {curve}")
        except ImportError as exc:
            print(f"loss curve skipped: {exc}")
    if recorder is not None:
        page = playground(recorder, title=f"{args.dataset}: {arch} {args.activation}, "
                                          f"{args.loss}, {args.optimizer} η={lr:g}",
                          class_names=classes, feature_names=features)
        print(f"playground: {page.save(args.record)} ({len(page)} snapshots)")
    _report(caught)                             # last, where a reader sees it
    return 130 if history.interrupted else 0
