"""Hand-off to PyTorch and ONNX: ``tn.export``.

PyTorch, both ways: ``to_torch(model)`` and ``from_torch(module)`` (need PyTorch, which you
install yourself); without PyTorch, ``save_torch_state(model, path)`` writes a safetensors file
with PyTorch's key names and the source of the equivalent ``torch.nn.Sequential``, and
``load_torch_state(path)`` reads one back.  ONNX: ``to_onnx(model, path, input_shape=...)`` for
a model, ``trace_to_onnx(fn, *inputs, path=...)`` for any function of the rule table's ops
(need the onnx package: ``pip install 'tinygrad-nn[onnx]'``).  The layer types that cross are
listed in ``layer_table.LAYERS``.  Importing this package imports none of torch, onnx,
onnxruntime or safetensors: each function imports what it needs when called.
"""

from ..errors import ExportError
from .onnx_export import to_onnx
from .onnx_trace import trace_to_onnx
from .safetensors_io import read_safetensors, write_safetensors
from .torch_interop import (
    from_torch,
    load_torch_state_dict,
    to_torch,
    torch_source,
    torch_state_dict,
)
from .torch_state import load_torch_state, save_torch_state

__all__ = [
    "ExportError",
    "from_torch",
    "load_torch_state",
    "load_torch_state_dict",
    "read_safetensors",
    "save_torch_state",
    "to_onnx",
    "to_torch",
    "torch_source",
    "torch_state_dict",
    "trace_to_onnx",
    "write_safetensors",
]
