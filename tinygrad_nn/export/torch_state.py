"""The hand-off file for PyTorch, written without PyTorch: a safetensors file a PyTorch user loads.

``save_torch_state(model, path)`` writes the parameters under PyTorch's key names ("0.weight")
and, in the file's metadata, the Python source of the equivalent ``torch.nn.Sequential``
(``torch_source``) and this project's own description of the model, so that

* a PyTorch user builds the module from the source and calls
  ``module.load_state_dict(safetensors.torch.load_file(path), strict=True)``;
* ``load_torch_state(path)`` rebuilds the tinygrad_nn model, and
  ``load_torch_state(path, into=model)`` loads any PyTorch-keyed safetensors file (one written
  by PyTorch after more training, say) into a model of the same architecture.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .. import nn
from ..errors import ExportError
from .safetensors_io import read_safetensors, write_safetensors
from .torch_interop import load_torch_state_dict, torch_source, torch_state_dict

__all__ = ["FORMAT", "load_torch_state", "save_torch_state"]

PathLike = str | os.PathLike[str]

FORMAT = "tinygrad_nn.torch_state"
"""The ``format`` entry of the metadata of files written by ``save_torch_state``."""
VERSION = "1"


def save_torch_state(model: nn.Module, path: PathLike) -> Path:
    """Write ``model``'s parameters with PyTorch's keys, and its PyTorch source, to ``path``.

    The file is safetensors; its metadata holds ``torch_source`` (the ``torch.nn.Sequential``
    to load the weights into, with ``strict=True``) and ``tinygrad_nn`` (type and config, for
    ``load_torch_state``).  Every layer is checked first and the write is atomic, so an
    unsupported layer leaves nothing on disk.  Needs no PyTorch.
    """
    fn = "save_torch_state"
    metadata = {"format": FORMAT, "version": VERSION, "torch_source": torch_source(model, fn),
                "tinygrad_nn": json.dumps({"type": type(model).__name__,
                                           "config": model.config()}, sort_keys=True)}
    return write_safetensors(path, torch_state_dict(model, fn), metadata)


def load_torch_state(path: PathLike, into: nn.Module | None = None) -> nn.Module:
    """The model saved by ``save_torch_state``, or ``into`` with the file's PyTorch-keyed weights.

    Strict like PyTorch's ``load_state_dict``: a missing or unexpected key, or a parameter of
    the wrong shape or dtype, raises ExportError and leaves ``into`` unchanged; so does a
    truncated or corrupted file.
    """
    fn = "load_torch_state"
    tensors, metadata = read_safetensors(path)
    if into is None:
        into = _model_from_metadata(metadata, f"{fn}: {os.fspath(path)!r}")
    return load_torch_state_dict(into, tensors, fn)


def _model_from_metadata(metadata: dict[str, str], where: str) -> nn.Module:
    """Rebuild the (untrained) model described by the file's ``tinygrad_nn`` metadata entry."""
    if metadata.get("format") != FORMAT or "tinygrad_nn" not in metadata:
        raise ExportError(f"{where} was not written by save_torch_state (no {FORMAT!r} "
                          f"metadata); pass into=<a model of the same architecture>")
    if metadata.get("version") != VERSION:
        raise ExportError(f"{where}: unsupported {FORMAT} version "
                          f"{metadata.get('version')!r} (this tinygrad_nn reads {VERSION})")
    try:
        description: Any = json.loads(metadata["tinygrad_nn"])
        return nn.from_config(description["type"], description["config"])
    except (json.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
        raise ExportError(f"{where}: the model description in the metadata is not usable: "
                          f"{exc}") from None
