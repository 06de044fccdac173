"""The layer table: one entry per layer type, saying how it crosses to PyTorch (both ways) and ONNX.

Adding a layer type to export is one ``LayerMapping`` in ``LAYERS`` (plus its example in the
tests): the PyTorch class name, the constructor arguments in each direction, and the ONNX nodes.
``Sequential`` is not an entry: it is the container, ``torch.nn.Sequential`` on the PyTorch
side and a chain of nodes in ONNX, and ``walk`` descends into it.  Losses (error functions E)
are not exported.

Parameter names inside a layer are the same on both sides ("weight", "bias"); a layer's
PyTorch path is its position in the Sequentials around it ("0.", "2.", "1.0."), where
tinygrad_nn says "layers.0.".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .. import nn
from ..errors import ExportError
from .onnx_graph import leaky_relu, linear

if TYPE_CHECKING:
    from .onnx_graph import OnnxGraph

__all__ = ["BY_LAYER", "BY_TORCH", "LAYERS", "LayerMapping", "Placed", "mapping_for", "walk"]

Args = dict[str, Any]


@dataclass(frozen=True)
class LayerMapping:
    """How one tinygrad_nn layer type maps to a ``torch.nn`` class and to ONNX nodes.

    ``torch_args(layer)`` gives the PyTorch constructor's keywords (a "dtype" keyword as a
    NumPy dtype name, "float64"); ``layer_args(module)`` gives the tinygrad_nn constructor's
    keywords from a PyTorch module, raising ValueError for settings that have no equivalent;
    ``onnx(graph, layer, x, example)`` appends the layer's nodes for the input value ``x``, of
    the shape and dtype of the array ``example`` (axis 0 is the batch: never bake it into a
    constant), and returns the output value.
    """

    layer: type[nn.Module]
    torch_class: str
    torch_args: Callable[[Any], Args]
    layer_args: Callable[[Any], Args]
    onnx: Callable[[OnnxGraph, Any, str, np.ndarray], str]


def _no_args(_: Any) -> Args:
    return {}


def _activation(layer: type[nn.Module], torch_class: str, onnx_op: str) -> LayerMapping:
    """A parameter-free element-wise layer that is one ONNX op of the same meaning."""
    return LayerMapping(layer, torch_class, _no_args, _no_args,
                        lambda g, _layer, x, _example: g.node(onnx_op, [x]))


def _torch_dtype_name(dtype: Any) -> str:
    """``torch.float64`` -> "float64"."""
    return str(dtype).removeprefix("torch.")


def _linear_torch_args(layer: nn.Linear) -> Args:
    return {"in_features": layer.in_features, "out_features": layer.out_features,
            "bias": layer.bias is not None, "dtype": layer.dtype.name}


def _linear_layer_args(module: Any) -> Args:
    return {"in_features": module.in_features, "out_features": module.out_features,
            "bias": module.bias is not None, "dtype": _torch_dtype_name(module.weight.dtype)}


def _linear_onnx(g: OnnxGraph, layer: nn.Linear, x: str, example: np.ndarray) -> str:
    bias = None if layer.bias is None else g.constant(layer.bias.data, "bias")
    return linear(g, x, g.constant(layer.weight.data, "weight"), bias, example.ndim)


def _softplus_layer_args(module: Any) -> Args:
    # PyTorch returns x itself where beta·x > threshold: off by log1p(e^-threshold), which
    # is below 2.1e-9 for the default 20; a smaller threshold or another beta is another map
    if module.beta != 1 or module.threshold < 20:
        raise ValueError(f"beta={module.beta}, threshold={module.threshold} is not "
                         f"log(1 + eˣ); tinygrad_nn's Softplus is beta=1 (threshold >= 20)")
    return {}


def _softmax_layer_args(module: Any) -> Args:
    if module.dim is None:
        raise ValueError("dim=None (PyTorch's legacy implicit axis) has no equivalent; "
                         "give the axis, e.g. torch.nn.Softmax(dim=-1)")
    return {"axis": int(module.dim)}


LAYERS: tuple[LayerMapping, ...] = (
    LayerMapping(nn.Linear, "Linear", _linear_torch_args, _linear_layer_args, _linear_onnx),
    _activation(nn.Sigmoid, "Sigmoid", "Sigmoid"),
    _activation(nn.Tanh, "Tanh", "Tanh"),
    _activation(nn.ReLU, "ReLU", "Relu"),
    LayerMapping(nn.LeakyReLU, "LeakyReLU",
                 lambda layer: {"negative_slope": layer.slope},
                 lambda module: {"slope": float(module.negative_slope)},
                 lambda g, layer, x, example: leaky_relu(g, x, layer.slope, example.dtype)),
    LayerMapping(nn.Softplus, "Softplus", _no_args, _softplus_layer_args,
                 lambda g, _layer, x, _example: g.node("Softplus", [x])),
    _activation(nn.Identity, "Identity", "Identity"),
    LayerMapping(nn.Softmax, "Softmax",
                 lambda layer: {"dim": layer.axis},
                 _softmax_layer_args,
                 lambda g, layer, x, _example: g.node("Softmax", [x], axis=layer.axis)),
)
"""Every exportable layer type (Sequential, the container, is handled by ``walk``)."""

BY_LAYER: dict[type[nn.Module], LayerMapping] = {m.layer: m for m in LAYERS}
BY_TORCH: dict[str, LayerMapping] = {m.torch_class: m for m in LAYERS}


def mapping_for(layer: Any, fn: str, where: str) -> LayerMapping:
    """The table entry for ``layer``'s exact type, or ExportError naming the layer."""
    found = BY_LAYER.get(type(layer))
    if found is not None:
        return found
    kind = type(layer)
    if isinstance(layer, nn.Loss):
        raise ExportError(f"{fn}: {where} is the error function {kind.__name__} (E); losses "
                          f"are not exported: export the network without it, e.g. model[:-1]")
    known = ", ".join(["Sequential", *sorted(m.layer.__name__ for m in LAYERS)])
    raise ExportError(f"{fn}: {where} is {kind.__module__}.{kind.__qualname__}, which has no "
                      f"export mapping; layers that export: {known}")


class Placed(NamedTuple):
    """A layer, its table entry, and where its parameters are: "1.0." for PyTorch and
    "layers.1.layers.0." for tinygrad_nn."""

    torch_prefix: str
    prefix: str
    layer: Any
    mapping: LayerMapping


def walk(model: Any, fn: str, torch_prefix: str = "", prefix: str = "") -> Iterator[Placed]:
    """Every layer inside the Sequentials, in order, with its entry and parameter prefixes.

    A model that is one layer gives ``Placed("", "", layer, entry)``; an unknown layer or a loss
    raises ExportError naming it (``fn`` names the caller).
    """
    if not isinstance(model, nn.Module):
        raise ExportError(f"{fn}: expected a tinygrad_nn module (nn.Sequential, nn.Linear, "
                          f"...), got {type(model).__name__}")
    if type(model) is nn.Sequential:
        for i, layer in enumerate(model.layers):
            yield from walk(layer, fn, f"{torch_prefix}{i}.", f"{prefix}layers.{i}.")
        return
    where = (f"layer {torch_prefix[:-1]} ({model.name})" if torch_prefix
             else f"the model ({model.name})")
    yield Placed(torch_prefix, prefix, model, mapping_for(model, fn, where))
