"""Optional peers (micrograd, PyTorch, HIPS autograd, MyGrad) and the machine description.

A peer is used only when it imports; none of them is a dependency of tinygrad_nn.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.metadata
import os
import platform
import sys
from types import ModuleType

import numpy as np

# peer -> (module to import, distribution name for the version)
PEERS: dict[str, tuple[str, str]] = {
    "micrograd": ("micrograd.engine", "micrograd"),
    "torch": ("torch", "torch"),
    "autograd": ("autograd", "autograd"),
    "mygrad": ("mygrad", "mygrad"),
}


def load(peer: str) -> ModuleType | None:
    """The peer's module, or None when it is not installed (or fails to import)."""
    module_name = PEERS[peer][0]
    try:
        return importlib.import_module(module_name)
    except Exception:  # an optional peer that is broken is treated as absent
        return None


def version(peer: str) -> str | None:
    """The installed version of a peer, or None."""
    if load(peer) is None:
        return None
    try:
        return importlib.metadata.version(PEERS[peer][1])
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, str]:
    """What the numbers were measured on: CPU, cores, Python, NumPy, peers, date."""
    info = {
        "date (UTC)": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "OS": platform.platform(),
        "Python": sys.version.split()[0],
        "NumPy": np.__version__,
    }
    for peer in PEERS:
        v = version(peer)
        info[peer] = v if v is not None else "not installed"
    info["NumPy BLAS threads"] = blas_threads()
    torch = load("torch")
    if torch is not None:
        info["torch threads"] = f"{torch.get_num_threads()} (default, not changed)"
    return info


def blas_threads() -> str:
    """NumPy's BLAS library and its thread count, as threadpoolctl reports them (if installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl is not installed)"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return ", ".join(f"{p['num_threads']} ({p.get('internal_api')})" for p in pools) or "none"


def limit_blas_threads(n: int) -> bool:
    """Limit the BLAS under NumPy (hence numpy, tinygrad_nn, autograd) to ``n`` threads."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=n, user_api="blas")
    return True
