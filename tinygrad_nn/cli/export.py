"""``tinygrad-nn export CHECKPOINT --to onnx|torch --out PATH``: a checkpoint for ONNX or PyTorch.

``--to onnx`` writes an ONNX model with a dynamic batch axis (needs the onnx package);
``--to torch`` writes the safetensors hand-off file of ``save_torch_state`` (needs nothing:
PyTorch's key names, and the ``torch.nn.Sequential`` source in its metadata).  A bad checkpoint,
an unsupported layer or a missing package exits with status 2 and says why.
"""

from __future__ import annotations

import argparse

from .. import nn
from ..checkpoint import CheckpointError, load
from ..errors import ExportError, UsageError
from ..export import save_torch_state, to_onnx
from ..export.layer_table import walk

__all__ = ["HELP", "configure", "run"]

HELP = "write a checkpoint as ONNX or for PyTorch"


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the ``export`` options."""
    parser.add_argument("checkpoint", help="a model.npz written by `train` or tinygrad_nn.save")
    parser.add_argument("--to", required=True, choices=("onnx", "torch"),
                        help="onnx: an ONNX model (needs the onnx package); torch: a "
                             "safetensors file with PyTorch's key names and the "
                             "torch.nn.Sequential source in its metadata (needs no PyTorch)")
    parser.add_argument("--out", required=True, metavar="PATH", help="the file to write")
    parser.add_argument("--opset", type=int, default=None,
                        help="ONNX opset (default: the oldest that works, 18)")


def run(args: argparse.Namespace) -> int:
    """Load the checkpoint and write it in the chosen format; prints what was written."""
    try:
        model = load(args.checkpoint)
        if args.to == "onnx":
            width = _input_width(model)
            path = to_onnx(model, args.out, input_shape=(1, width), opset=args.opset)
            print(f"wrote {path}: ONNX, input 'input' of shape (batch, {width}), output "
                  f"'output'")
        else:
            if args.opset is not None:
                raise UsageError("--opset applies to --to onnx only")
            path = save_torch_state(model, args.out)
            print(f"wrote {path}: safetensors with PyTorch's key names; the module to load "
                  f"it into (strict=True) is in its metadata 'torch_source'")
    except (CheckpointError, ExportError, ImportError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    return 0


def _input_width(model: nn.Module) -> int:
    """The number of input features: the first layer's, which must be a Linear."""
    first = next(iter(walk(model, "export"))).layer
    if not isinstance(first, nn.Linear):
        raise ExportError(f"export: the first layer is {first.name}, not a Linear, so the input "
                          f"width is unknown; use tinygrad_nn.export.to_onnx(model, path, "
                          f"input_shape=...)")
    return first.in_features
