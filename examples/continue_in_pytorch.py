"""Train the digits network here, then continue in PyTorch on two processes with DDP.

1. Here: the tutorial's 64-20-20-10 logistic network, squared error on one-hot targets, minibatch
   SGD (η = 5, batch 32), for a few epochs.
2. Export: ``tn.export.save_torch_state`` writes the weights with PyTorch's key names to a
   safetensors file.
3. PyTorch: two CPU processes (gloo backend, localhost) each read the file, build the same
   network as a ``torch.nn.Sequential`` with ``tn.export.to_torch`` (float64, the same bits),
   wrap it in DistributedDataParallel and train on, each on its half of every minibatch of 32,
   with the same η.

The loss on the training set is printed where this project stopped and where PyTorch starts:
PyTorch must continue from there (|Δ| ≤ 1e-6; the two processes each compute their half and
add them up), and the test accuracy must not drop.  The script exits with status 1 otherwise.

    python examples/continue_in_pytorch.py            # 20 epochs here, 20 in PyTorch
    python examples/continue_in_pytorch.py --fast     # 5 and 3
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_nn as tn
from tinygrad_nn import nn
from tinygrad_nn.data import DataLoader, load_digits, one_hot, train_test_split
from tinygrad_nn.optim import SGD
from tinygrad_nn.train import evaluate, fit

try:
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader as TorchLoader
    from torch.utils.data import TensorDataset
    from torch.utils.data.distributed import DistributedSampler
except ImportError:
    sys.exit("continue_in_pytorch.py: needs the 'torch' package, which is not installed "
             "(install PyTorch yourself, e.g. pip install torch)")

LR, BATCH, PROCESSES, SEED = 5.0, 32, 2, 0
TOLERANCE = 1e-6


def digits() -> tuple[np.ndarray, ...]:
    """The stratified 80/20 split of the 8x8 digits, targets one-hot for the squared error."""
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, rng=SEED,
                                                        stratify=True)
    return X_train, one_hot(y_train, 10), X_test, y_test


def train_here(epochs: int) -> tuple[nn.Module, float, float]:
    """The tutorial's network trained here; returns it, its training loss and test accuracy."""
    X_train, Y_train, X_test, y_test = digits()
    model = nn.mlp([64, 20, 20, 10], activation="sigmoid", rng=SEED)
    loss_fn = nn.MSELoss()
    start = time.perf_counter()
    fit(model, loss_fn, SGD(model.parameters(), lr=LR),
        DataLoader(X_train, Y_train, batch_size=BATCH, rng=SEED), epochs, progress=False)
    print(f"tinygrad_nn: 64-20-20-10 sigmoid, MSE, SGD η={LR:g}, batch {BATCH}: {epochs} epochs "
          f"in {time.perf_counter() - start:.1f} s")
    loss = evaluate(model, loss_fn, X_train, Y_train).loss
    accuracy = evaluate(model, loss_fn, X_test, one_hot(y_test, 10)).accuracy or 0.0
    print(f"tinygrad_nn stopped at: loss {loss:.12f} on the {len(X_train)} training digits, "
          f"test accuracy {100 * accuracy:.1f}%")
    return model, loss, accuracy


def training_loss(model: Any, X: np.ndarray, Y: np.ndarray, rank: int) -> float:
    """The mean squared error on all of X: each process sums its share, all_reduce adds them."""
    with torch.no_grad():
        mine = model(torch.from_numpy(X[rank::PROCESSES])) - torch.from_numpy(Y[rank::PROCESSES])
        total = (mine * mine).sum()
    dist.all_reduce(total)
    return total.item() / Y.size


def continue_in_pytorch(rank: int, path: str, loss_here: float, epochs: int,
                        results: Any) -> None:
    """One of the two processes: DDP over gloo, the same SGD, the loss before and after.

    Each process builds its own module from the file: a module passed to ``mp.spawn`` would
    have its tensors moved to shared memory, and the two optimizers would update one copy.
    """
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=PROCESSES)
    X_train, Y_train, X_test, y_test = digits()
    model = DistributedDataParallel(tn.export.to_torch(tn.export.load_torch_state(path)))
    start_loss = training_loss(model, X_train, Y_train, rank)
    data = TensorDataset(torch.from_numpy(X_train), torch.from_numpy(Y_train))
    sampler = DistributedSampler(data, num_replicas=PROCESSES, rank=rank, seed=SEED)
    loader = TorchLoader(data, batch_size=BATCH // PROCESSES, sampler=sampler)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.MSELoss()
    if rank == 0:
        print(f"PyTorch DDP ({PROCESSES} CPU processes, gloo) starts at: loss "
              f"{start_loss:.12f} on the same digits (|Δ| = {abs(start_loss - loss_here):.1g})")
    for epoch in range(1, epochs + 1):
        sampler.set_epoch(epoch)
        for x, target in loader:
            optimizer.zero_grad()
            loss_fn(model(x), target).backward()    # DDP averages the two halves' gradients
            optimizer.step()
        loss = training_loss(model, X_train, Y_train, rank)
        if rank == 0:
            print(f"  PyTorch epoch {epoch}: loss {loss:.6f}")
    if rank == 0:
        with torch.no_grad():
            guesses = model(torch.from_numpy(X_test)).argmax(dim=1).numpy()
        results.put((start_loss, loss, float(np.mean(guesses == y_test))))
    dist.barrier()            # both ranks leave together: a rank that tears the group down while
    dist.destroy_process_group()   # the other still works can kill it ("terminate called...")


def free_port() -> int:
    """A TCP port on localhost that nothing listens on (for the process group's rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="5 epochs here, 3 in PyTorch")
    args = parser.parse_args()
    epochs_here, epochs_torch = (5, 3) if args.fast else (20, 20)

    model, loss_here, accuracy_here = train_here(epochs_here)
    with tempfile.TemporaryDirectory() as tmp:
        path = tn.export.save_torch_state(model, Path(tmp) / "digits.safetensors")
        print(f"exported with tn.export.save_torch_state: {path.name}, "
              f"{len(model.state_dict())} tensors under PyTorch's names")
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        results = mp.get_context("spawn").SimpleQueue()
        mp.spawn(continue_in_pytorch, args=(str(path), loss_here, epochs_torch, results),
                 nprocs=PROCESSES)
        start_loss, loss_torch, accuracy_torch = results.get()

    gap = abs(start_loss - loss_here)
    print(f"PyTorch stopped at: loss {loss_torch:.6f}, test accuracy {100 * accuracy_torch:.1f}% "
          f"(was {100 * accuracy_here:.1f}% here)")
    if gap > TOLERANCE or accuracy_torch < accuracy_here:
        print(f"FAILED: |Δ loss| at the hand-off = {gap:.2g} (limit {TOLERANCE:g}); accuracy "
              f"{100 * accuracy_here:.1f}% -> {100 * accuracy_torch:.1f}%")
        return 1
    print("OK: PyTorch continued where tinygrad_nn stopped and the accuracy did not drop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
