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
from .onnx_graph import leaky_relu, linear, reduce

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


def _same_or_refuse(fn_name: str, **settings: tuple[Any, Any]) -> None:
    """ValueError naming every PyTorch setting ``name=(given, wanted)`` that differs from the only
    one tinygrad_nn's layer ``fn_name`` has."""
    different = ", ".join(f"{k}={given!r}" for k, (given, wanted) in settings.items()
                          if given != wanted)
    if different:
        wanted = ", ".join(f"{k}={w!r}" for k, (_, w) in settings.items())
        raise ValueError(f"{different} has no equivalent; tinygrad_nn's {fn_name} has {wanted}")


def _pair(value: Any) -> tuple[int, int]:
    """PyTorch keeps sizes as an int or a tuple: always an (H, W) pair here."""
    return (int(value[0]), int(value[1])) if isinstance(value, (tuple, list)) else (
        int(value), int(value))


def _conv_torch_args(layer: nn.Conv2d) -> Args:
    return {"in_channels": layer.in_channels, "out_channels": layer.out_channels,
            "kernel_size": layer.kernel_size, "stride": layer.stride, "padding": layer.padding,
            "bias": layer.bias is not None, "dtype": layer.dtype.name}


def _conv_layer_args(module: Any) -> Args:
    if isinstance(module.padding, str):
        raise ValueError(f"padding={module.padding!r} has no equivalent; give the padding as "
                         f"numbers")
    _same_or_refuse("Conv2d", dilation=(_pair(module.dilation), (1, 1)),
                    groups=(module.groups, 1), padding_mode=(module.padding_mode, "zeros"))
    return {"in_channels": module.in_channels, "out_channels": module.out_channels,
            "kernel_size": _pair(module.kernel_size), "stride": _pair(module.stride),
            "padding": _pair(module.padding), "bias": module.bias is not None,
            "dtype": _torch_dtype_name(module.weight.dtype)}


def _conv_onnx(g: OnnxGraph, layer: nn.Conv2d, x: str, example: np.ndarray) -> str:
    ph, pw = layer.padding
    inputs = [x, g.constant(layer.weight.data, "weight")]
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias.data, "bias"))
    return g.node("Conv", inputs, kernel_shape=list(layer.kernel_size),
                  strides=list(layer.stride), pads=[ph, pw, ph, pw])


def _pool(layer: type[nn.Module], torch_class: str, onnx_op: str) -> LayerMapping:
    """MaxPool2d and AvgPool2d: windows without padding, ``stride`` apart."""
    def layer_args(module: Any) -> Args:
        if onnx_op == "MaxPool":
            _same_or_refuse(layer.__name__, padding=(_pair(module.padding), (0, 0)),
                            dilation=(_pair(module.dilation), (1, 1)),
                            ceil_mode=(module.ceil_mode, False),
                            return_indices=(module.return_indices, False))
        else:
            _same_or_refuse(layer.__name__, padding=(_pair(module.padding), (0, 0)),
                            ceil_mode=(module.ceil_mode, False),
                            divisor_override=(module.divisor_override, None))
        return {"kernel_size": _pair(module.kernel_size), "stride": _pair(module.stride)}

    return LayerMapping(
        layer, torch_class,
        lambda pool: {"kernel_size": pool.kernel_size, "stride": pool.stride},
        layer_args,
        lambda g, pool, x, _example: g.node(onnx_op, [x], kernel_shape=list(pool.kernel_size),
                                            strides=list(pool.stride)))


def _flatten_onnx(g: OnnxGraph, layer: nn.Flatten, x: str, example: np.ndarray) -> str:
    """Reshape: the axes before start_dim copied (0), the merged ones inferred (−1), the rest as
    in the example (the batch axis is never a constant)."""
    ndim = example.ndim
    start, end = layer.start_dim % ndim, layer.end_dim % ndim
    shape = [0] * start + [-1] + list(example.shape[end + 1:])
    return g.node("Reshape", [x, g.constant(np.array(shape, dtype=np.int64), "shape")])


def _with_dtype(args: Args, layer: nn.Module) -> Args:
    """``args`` and the layer's dtype, if it has one (a layer without parameters or buffers
    has none: it computes in its input's)."""
    return {**args, **{k: v for k, v in layer.config().items() if k == "dtype"}}


def _dtype_of(*tensors: Any) -> Args:
    """``{"dtype": ...}`` of a PyTorch module's first parameter or buffer, {} when it has none."""
    for t in tensors:
        if t is not None:
            return {"dtype": _torch_dtype_name(t.dtype)}
    return {}


def _layer_norm_torch_args(layer: nn.LayerNorm) -> Args:
    return _with_dtype({"normalized_shape": layer.normalized_shape, "eps": layer.eps,
                        "elementwise_affine": layer.weight is not None,
                        "bias": layer.bias is not None}, layer)


def _layer_norm_layer_args(module: Any) -> Args:
    return {"normalized_shape": tuple(module.normalized_shape), "eps": float(module.eps),
            "elementwise_affine": module.elementwise_affine, "bias": module.bias is not None,
            **_dtype_of(module.weight)}


def _layer_norm_onnx(g: OnnxGraph, layer: nn.LayerNorm, x: str, example: np.ndarray) -> str:
    """LayerNormalization over the last axes; the scale is ones without an affine map."""
    scale = layer.weight.data if layer.weight is not None else np.ones(layer.normalized_shape,
                                                                        dtype=example.dtype)
    inputs = [x, g.constant(scale, "scale")]
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias.data, "bias"))
    return g.node("LayerNormalization", inputs, axis=-len(layer.normalized_shape),
                  epsilon=layer.eps)


def _batch_norm_torch_args(layer: nn.BatchNorm1d) -> Args:
    return _with_dtype({"num_features": layer.num_features, "eps": layer.eps,
                        "momentum": layer.momentum, "affine": layer.weight is not None,
                        "track_running_stats": layer.track_running_stats}, layer)


def _batch_norm_layer_args(module: Any) -> Args:
    return {"num_features": module.num_features, "eps": float(module.eps),
            "momentum": module.momentum, "affine": module.affine,
            "track_running_stats": module.track_running_stats,
            **_dtype_of(module.weight, module.running_mean)}


def _batch_norm_onnx(g: OnnxGraph, layer: nn.BatchNorm1d, x: str, example: np.ndarray) -> str:
    """Evaluation mode: BatchNormalization with the running statistics (or, without them, the
    batch's: ReduceMean and the variance written out)."""
    c, dtype = layer.num_features, example.dtype
    scale = g.constant(layer.weight.data if layer.weight is not None else np.ones(c, dtype),
                       "scale")
    shift = g.constant(layer.bias.data if layer.bias is not None else np.zeros(c, dtype),
                       "bias")
    if layer.track_running_stats:
        return g.node("BatchNormalization", [x, scale, shift,
                                             g.constant(layer.running_mean, "mean"),
                                             g.constant(layer.running_var, "var")],
                      epsilon=layer.eps)
    axes = [0] if example.ndim == 2 else [0, 2]
    per_channel = [1, c] if example.ndim == 2 else [1, c, 1]
    d = g.node("Sub", [x, reduce(g, "ReduceMean", x, axes, True)])
    var = reduce(g, "ReduceMean", g.node("Mul", [d, d]), axes, True)
    std = g.node("Sqrt", [g.node("Add", [var, g.constant(np.asarray(layer.eps, dtype), "eps")])])
    shape = g.constant(np.array(per_channel, dtype=np.int64), "shape")
    y = g.node("Mul", [g.node("Div", [d, std]), g.node("Reshape", [scale, shape])])
    return g.node("Add", [y, g.node("Reshape", [shift, shape])])


def _embedding_layer_args(module: Any) -> Args:
    _same_or_refuse("Embedding", padding_idx=(module.padding_idx, None),
                    max_norm=(module.max_norm, None),
                    scale_grad_by_freq=(module.scale_grad_by_freq, False),
                    sparse=(module.sparse, False))
    return {"num_embeddings": module.num_embeddings, "embedding_dim": module.embedding_dim,
            "dtype": _torch_dtype_name(module.weight.dtype)}


def _embedding_onnx(g: OnnxGraph, layer: nn.Embedding, x: str, example: np.ndarray) -> str:
    """Gather rows of the table; the input (the model's float type) is cast to int64 first."""
    index = g.node("Cast", [x], to=g.onnx.TensorProto.INT64)
    return g.node("Gather", [g.constant(layer.weight.data, "weight"), index], axis=0)


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
    LayerMapping(nn.Conv2d, "Conv2d", _conv_torch_args, _conv_layer_args, _conv_onnx),
    _pool(nn.MaxPool2d, "MaxPool2d", "MaxPool"),
    _pool(nn.AvgPool2d, "AvgPool2d", "AveragePool"),
    LayerMapping(nn.Flatten, "Flatten",
                 lambda layer: {"start_dim": layer.start_dim, "end_dim": layer.end_dim},
                 lambda module: {"start_dim": module.start_dim, "end_dim": module.end_dim},
                 _flatten_onnx),
    LayerMapping(nn.Dropout, "Dropout",                  # exported as it evaluates: the identity
                 lambda layer: {"p": layer.p}, lambda module: {"p": float(module.p)},
                 lambda g, _layer, x, _example: g.node("Identity", [x])),
    LayerMapping(nn.LayerNorm, "LayerNorm", _layer_norm_torch_args, _layer_norm_layer_args,
                 _layer_norm_onnx),
    LayerMapping(nn.BatchNorm1d, "BatchNorm1d", _batch_norm_torch_args, _batch_norm_layer_args,
                 _batch_norm_onnx),
    LayerMapping(nn.Embedding, "Embedding",
                 lambda layer: {"num_embeddings": layer.num_embeddings,
                                "embedding_dim": layer.embedding_dim,
                                "dtype": layer.weight.dtype.name},
                 _embedding_layer_args, _embedding_onnx),
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
