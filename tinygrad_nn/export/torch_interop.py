"""PyTorch interop: a model as PyTorch sees it, and live conversion both ways.

Without PyTorch: ``torch_source(model)`` is the Python source of the equivalent
``torch.nn.Sequential`` and ``torch_state_dict(model)`` its parameters under PyTorch's key names
("0.weight" where tinygrad_nn says "layers.0.weight"); ``load_torch_state_dict`` is the way
back, with PyTorch's strict checks.  With PyTorch: ``to_torch(model)`` builds that module with
the same weights (same dtype, bit for bit) and ``from_torch(module)`` the tinygrad_nn model.
The layer types that cross are the ones in ``layer_table.LAYERS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import nn
from ..errors import ExportError
from .layer_table import BY_TORCH, LAYERS, LayerMapping, mapping_for, walk
from .optional import require

__all__ = ["from_torch", "load_torch_state_dict", "to_torch", "torch_source",
           "torch_state_dict"]


def torch_source(model: nn.Module, fn: str = "torch_source") -> str:
    """The Python expression that builds ``model``'s PyTorch equivalent (``import torch`` first).

    ``fn`` names the caller in errors (an unknown layer or a loss raises ExportError).

    ``nn.Sequential(nn.Linear(2, 3), nn.Tanh())`` gives::

        torch.nn.Sequential(
            torch.nn.Linear(in_features=2, out_features=3, bias=True, dtype=torch.float64),
            torch.nn.Tanh(),
        )
    """
    return _source(model, fn, "", "")


def _source(model: Any, fn: str, prefix: str, indent: str) -> str:
    if type(model) is nn.Sequential:
        inner = indent + "    "
        lines = [f"{inner}{_source(layer, fn, f'{prefix}{i}.', inner)},"
                 for i, layer in enumerate(model.layers)]
        return "\n".join(["torch.nn.Sequential(", *lines, f"{indent})"])
    [(_, _, layer, mapping)] = walk(model, fn, prefix)
    args = ", ".join(f"{k}=torch.{v}" if k == "dtype" else f"{k}={v!r}"
                     for k, v in mapping.torch_args(layer).items())
    return f"torch.nn.{mapping.torch_class}({args})"


def torch_state_dict(model: nn.Module, fn: str = "torch_state_dict") -> dict[str, np.ndarray]:
    """A copy of every parameter and buffer under PyTorch's key for it ("0.weight", "2.bias",
    "1.running_mean", ...)."""
    return {place.torch_prefix + name: array for place in walk(model, fn)
            for name, array in place.layer.state_dict().items()}


def load_torch_state_dict(model: nn.Module, state: Mapping[str, Any],
                          fn: str = "load_torch_state_dict") -> nn.Module:
    """Copy a PyTorch-keyed ``state`` into ``model`` (strict: keys, shapes, dtypes); returns it.

    Everything is checked before anything is written, so a refused state leaves the model as it
    was.  Errors list the missing and unexpected keys, or the parameter whose shape or dtype is
    wrong, with what was expected and what was given.
    """
    keys = {place.torch_prefix + name: place.prefix + name for place in walk(model, fn)
            for name in place.layer.state_dict()}
    missing = [k for k in keys if k not in state]
    unexpected = [k for k in state if k not in keys]
    if missing or unexpected:
        raise ExportError(f"{fn}: the state does not match the model: missing keys {missing}, "
                          f"unexpected keys {unexpected} (the model's PyTorch keys are "
                          f"{list(keys)})")
    own = model.state_dict()                  # a shared parameter is listed once, here too
    try:
        model.load_state_dict({keys[k]: state[k] for k in keys if keys[k] in own})
    except (TypeError, ValueError) as exc:     # checked before anything is written
        message = str(exc)
        for torch_key, key in keys.items():
            message = message.replace(f"'{key}'", f"'{torch_key}'")
        raise ExportError(f"{fn}: {message}") from None
    return model


def to_torch(model: nn.Module) -> Any:
    """The equivalent ``torch.nn`` module (``torch.nn.Sequential`` for a Sequential), same weights.

    Same dtype, parameters and buffers (BatchNorm's running statistics) copied bit for bit, in the
    same training or evaluation mode; an unknown layer or a loss raises ExportError
    naming it.  Needs PyTorch (install it yourself: it is large).
    """
    torch = require("torch", "to_torch")
    state = torch_state_dict(model, "to_torch")   # checks every layer before building any
    module = _torch_module(torch, model)
    module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()},
                           strict=True)
    return module.train(model.training)


def _torch_module(torch: Any, model: Any) -> Any:
    if type(model) is nn.Sequential:
        return torch.nn.Sequential(*[_torch_module(torch, layer) for layer in model.layers])
    mapping = mapping_for(model, "to_torch", model.name)
    args = {k: getattr(torch, v) if k == "dtype" else v
            for k, v in mapping.torch_args(model).items()}
    return getattr(torch.nn, mapping.torch_class)(**args)


def from_torch(module: Any) -> nn.Module:
    """The tinygrad_nn model equivalent to a ``torch.nn`` module, with a copy of its weights.

    ``torch.nn.Sequential`` (nested too) becomes ``nn.Sequential``; each layer must be one of
    the types in the layer table (exactly that class), otherwise ExportError names the layer.
    Buffers come along and the model is in the module's training or evaluation mode.
    """
    torch = require("torch", "from_torch")
    model = _layer_from_torch(torch, module, "")
    state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    return load_torch_state_dict(model, state, "from_torch").train(module.training)


def _layer_from_torch(torch: Any, module: Any, path: str) -> nn.Module:
    where = f"layer {path!r}" if path else "the module"
    if type(module) is torch.nn.Sequential:
        return nn.Sequential(*[_layer_from_torch(torch, child, f"{path}.{name}" if path else name)
                               for name, child in module.named_children()])
    mapping = _torch_mapping(torch, module)
    if mapping is None:
        known = ", ".join(["Sequential", *sorted(m.torch_class for m in LAYERS)])
        raise ExportError(f"from_torch: {where} is {type(module).__module__}."
                          f"{type(module).__qualname__}, which tinygrad_nn has no equivalent "
                          f"for; torch.nn layers that import: {known}")
    try:
        return mapping.layer(**mapping.layer_args(module))
    except (TypeError, ValueError) as exc:
        raise ExportError(f"from_torch: {where} (torch.nn.{mapping.torch_class}): {exc}"
                          ) from None


def _torch_mapping(torch: Any, module: Any) -> LayerMapping | None:
    """The entry whose ``torch.nn`` class is exactly ``type(module)`` (no subclasses)."""
    mapping = BY_TORCH.get(type(module).__name__)
    if mapping is None or getattr(torch.nn, mapping.torch_class, None) is not type(module):
        return None
    return mapping
