"""Checkpoints: a model's architecture and parameters in one ``.npz`` file, never pickled.

A checkpoint is a NumPy ``.npz`` archive holding

* ``__architecture__``: UTF-8 JSON as a ``uint8`` array --
  ``{"format": "tinygrad_nn.checkpoint", "version": 1, "type": <class name>,
  "config": model.config(), "metadata": {...}}``;
* one float array per parameter, named as in ``model.state_dict()``;
* with ``save(..., optimizer=opt)``, the optimizer's state as well: its type and parameter
  groups (options, and the parameters by their names in the model) under ``"optimizer"`` in the
  JSON, and its buffers (momentum, moments) as arrays named ``__optimizer__.<i>.<buffer>``.
  ``load_optimizer_state`` puts them back into an optimizer of the same type.

``save`` writes it atomically (a temporary file in the same directory, flushed and
fsync'ed, then ``os.replace``), so a crash leaves either the old checkpoint or the new one,
never a torn file.  ``load`` reads it with ``allow_pickle=False`` and rebuilds the model
through ``nn.from_config``, which only builds the project's registered layer types: a file
naming any other class is refused (a user's own Module subclass is built once registered with
``@nn.layer_type``, and ``save`` checks that the model can be rebuilt before it writes).
Anything wrong with a file raises ``CheckpointError`` saying what.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import CheckpointError

__all__ = ["FORMAT", "VERSION", "CheckpointError", "load", "load_optimizer_state",
           "load_with_metadata", "read_metadata", "save", "write_atomically"]

FORMAT = "tinygrad_nn.checkpoint"
VERSION = 1
ARCH_KEY = "__architecture__"
OPTIMIZER_PREFIX = "__optimizer__."
"""Array names that start with this hold optimizer buffers, not parameters."""

PathLike = str | os.PathLike[str]


def _write_npz(f: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` archive to the open binary file ``f``."""
    np.savez(f, **arrays)  # type: ignore[arg-type]


def _json_default(obj: Any) -> Any:
    """Turn NumPy scalars and small arrays inside config/metadata into JSON values."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} {obj!r} is not JSON-serialisable")


def save(model: Any, path: PathLike, metadata: dict[str, Any] | None = None,
         optimizer: Any = None) -> Path:
    """Write ``model``'s architecture (type + ``config()``) and ``state_dict()`` to ``path``.

    The write is atomic: a temporary file next to ``path`` is written, flushed, fsync'ed and
    renamed over ``path`` with ``os.replace``.  ``metadata`` (JSON-serialisable) is stored
    alongside, e.g. the dataset and test accuracy; ``optimizer`` (one made over the model's
    parameters) adds its state, so training can resume.  Returns the path written.
    """
    from . import nn

    kind = type(model).__name__
    if nn.LAYER_TYPES.get(kind) is not type(model):
        raise CheckpointError(f"save: {type(model).__module__}.{kind} is not a registered layer "
                              f"type (nn.LAYER_TYPES), so load() could not rebuild it; register "
                              f"your own Module subclass with the @nn.layer_type decorator; "
                              f"known types: {', '.join(sorted(nn.LAYER_TYPES))}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"save: metadata must be a dict or None, got {type(metadata).__name__}")
    header = {"format": FORMAT, "version": VERSION, "type": kind, "config": model.config(),
              "metadata": metadata or {}}
    arrays: dict[str, np.ndarray] = {}
    if optimizer is not None:
        header["optimizer"], arrays = _optimizer_entries(model, optimizer)
    try:
        text = json.dumps(header, default=_json_default, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"save: the architecture or metadata is not JSON-serialisable: "
                              f"{exc}") from None
    _check_rebuildable(model, json.loads(text)["config"])
    for name, value in model.state_dict().items():
        if name == ARCH_KEY or name.startswith(OPTIMIZER_PREFIX):
            raise CheckpointError(f"save: parameter name {name!r} is reserved")
        arrays[name] = np.asarray(value)
    arrays[ARCH_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return write_atomically(path, lambda f: _write_npz(f, arrays), "save")


def _check_rebuildable(model: Any, config: dict[str, Any]) -> None:
    """Refuse to save what ``load`` could not rebuild: the type built from the JSON ``config``
    must have the model's parameter names and shapes (every type it names registered, every
    constructor argument in ``config()``, no layer object used twice)."""
    from . import nn

    kind = type(model).__name__
    try:
        rebuilt = nn.from_config(kind, config)
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"save: load() could not rebuild this {kind} from its config(): "
                              f"{exc}; a Module subclass of your own needs @nn.layer_type, and "
                              f"config() must return its constructor's arguments") from None
    want = [(name, p.shape) for name, p in model.named_parameters()]
    got = [(name, p.shape) for name, p in rebuilt.named_parameters()]
    if got != want:
        raise CheckpointError(f"save: {kind} rebuilt from its config() would have the "
                              f"parameters {got}, not the model's {want}; load() could not "
                              f"restore it (is a layer object used twice, or does config() "
                              f"miss an argument?)")


def _optimizer_entries(model: Any, optimizer: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The optimizer's ``state_dict()`` as a JSON entry (parameters named as in the model) and
    its buffers as arrays ``__optimizer__.<i>.<buffer>``."""
    from .optim import Optimizer

    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"save: optimizer must be an optim.Optimizer (e.g. optim.SGD), got "
                        f"{type(optimizer).__name__}")
    names = {id(p): name for name, p in model.named_parameters()}
    params = optimizer.params
    for i, p in enumerate(params):
        if id(p) not in names:
            raise CheckpointError(f"save: the optimizer's parameter {i} is not a parameter of "
                                  f"the model, so it could not be matched up on load")
    state = optimizer.state_dict()
    groups = [{**{k: v for k, v in group.items() if k != "params"},
               "params": [names[id(params[i])] for i in group["params"]]}
              for group in state["param_groups"]]
    buffers: dict[str, dict[str, Any]] = {}
    arrays: dict[str, np.ndarray] = {}
    for i, entry in state["state"].items():
        saved: dict[str, Any] = {}
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                saved[key] = f"{OPTIMIZER_PREFIX}{i}.{key}"
                arrays[saved[key]] = value
            else:
                saved[key] = value
        buffers[names[id(params[i])]] = saved
    return {"type": type(optimizer).__name__, "param_groups": groups, "state": buffers}, arrays


def write_atomically(path: PathLike, write: Callable[[IO[bytes]], None], fn: str) -> Path:
    """Call ``write(f)`` on a temporary file next to ``path``, fsync it, then rename it to ``path``.

    A crash or an exception inside ``write`` leaves the old file (or none), never a torn one, and
    no temporary file behind.  ``fn`` names the calling function in errors.  Returns the path.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"{fn}: directory {str(directory)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.chmod(tmp, _new_file_mode())     # mkstemp gives 0600; open() would give this
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)
    return target


def _new_file_mode() -> int:
    """The permissions ``open()`` gives a new file: 0o666 less the process's umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable where the platform allows fsync on a directory (POSIX)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read(path: PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and check the header and every array of a checkpoint (no pickles allowed)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"load: no such checkpoint file: {os.fspath(path)!r}")
    where = f"load: {os.fspath(path)!r}"
    arrays: dict[str, np.ndarray] = {}
    try:
        loaded = np.load(p, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{where} is a single .npy array, not a checkpoint "
                                  f"(.npz archive)")
        with loaded as npz:
            for key in npz.files:
                try:
                    arrays[key] = npz[key]
                except ValueError as exc:
                    if "pickle" in str(exc):
                        raise CheckpointError(f"{where}: entry {key!r} is a pickled object "
                                              f"array; checkpoints hold numbers only and are "
                                              f"never unpickled") from None
                    raise
    except CheckpointError:
        raise
    except AttributeError:
        raise CheckpointError(f"{where} is not a checkpoint (.npz archive)") from None
    except ValueError as exc:
        if "pickle" in str(exc):
            raise CheckpointError(f"{where} is not a checkpoint: it is not a .npz archive "
                                  f"(it looks like pickled data, which is never loaded)"
                                  ) from None
        raise CheckpointError(f"{where} is corrupted: {exc}") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise CheckpointError(f"{where} is corrupted or truncated: {exc}") from None
    if ARCH_KEY not in arrays:
        raise CheckpointError(f"{where} has no {ARCH_KEY!r} entry; it is an .npz archive but "
                              f"not a tinygrad_nn checkpoint")
    raw = arrays.pop(ARCH_KEY)
    try:
        if raw.dtype == np.uint8 and raw.ndim == 1:
            text = raw.tobytes().decode("utf-8")
        elif raw.dtype.kind == "U" and raw.ndim == 0:
            text = str(raw)
        else:
            raise CheckpointError(f"{where}: {ARCH_KEY!r} must be UTF-8 JSON bytes (uint8), "
                                  f"got dtype {raw.dtype} shape {raw.shape}")
        header = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{where}: the architecture entry is not valid JSON: {exc}"
                              ) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{where}: the architecture entry is not a {FORMAT} header")
    if header.get("version") != VERSION:
        raise CheckpointError(f"{where}: unsupported checkpoint version "
                              f"{header.get('version')!r} (this tinygrad_nn reads {VERSION})")
    if not isinstance(header.get("type"), str) or not isinstance(header.get("config"), dict):
        raise CheckpointError(f"{where}: the header must name a layer 'type' (string) and "
                              f"its 'config' (object)")
    if not isinstance(header.get("metadata", {}), dict):
        raise CheckpointError(f"{where}: 'metadata' must be a JSON object")
    return header, arrays


def _metadata(header: dict[str, Any]) -> dict[str, Any]:
    return dict(header.get("metadata") or {})


def read_metadata(path: PathLike) -> dict[str, Any]:
    """The ``metadata`` dict stored by ``save`` (checked like ``load``)."""
    header, _ = _read(path)
    return _metadata(header)


def load(path: PathLike) -> Any:
    """Rebuild the model saved at ``path``: ``nn.from_config(type, config)``, then its parameters.

    Only the project's registered layer types are built.  Missing or unexpected parameters,
    shape mismatches, non-float arrays, unknown types, pickled entries and corrupted or
    truncated files raise ``CheckpointError``; a missing file raises FileNotFoundError.
    """
    return load_with_metadata(path)[0]


def load_with_metadata(path: PathLike) -> tuple[Any, dict[str, Any]]:
    """``(load(path), read_metadata(path))`` from one read of the file."""
    from . import nn

    header, arrays = _read(path)
    arrays = {k: v for k, v in arrays.items()
              if not (k.startswith(OPTIMIZER_PREFIX) and "optimizer" in header)}
    where = f"load: {os.fspath(path)!r}"
    kind = header["type"]
    if kind not in nn.LAYER_TYPES:
        raise CheckpointError(f"{where} names an unknown layer type {kind!r}; only registered "
                              f"types are built: {', '.join(sorted(nn.LAYER_TYPES))} (a Module "
                              f"subclass of your own: import the code that defines it, with "
                              f"@nn.layer_type, before load)")
    try:
        model = nn.from_config(kind, header["config"])
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{where}: cannot rebuild {kind} from its config: {exc}") from None
    expected = dict(model.named_parameters())    # names, shapes and dtypes: no copies needed
    missing = [k for k in expected if k not in arrays]
    extra = [k for k in arrays if k not in expected]
    if missing:
        raise CheckpointError(f"{where}: missing parameter{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(missing)} for {kind}")
    if extra:
        raise CheckpointError(f"{where}: unexpected entr{'ies' if len(extra) > 1 else 'y'} "
                              f"{', '.join(extra)} not in {kind}'s parameters")
    state: dict[str, np.ndarray] = {}
    for name, current in expected.items():
        arr = arrays[name]
        want = current.shape
        if arr.shape != want:
            raise CheckpointError(f"{where}: parameter {name!r} has shape {arr.shape} in the "
                                  f"file but the architecture expects {want}")
        if arr.dtype.kind not in "fiu":
            raise CheckpointError(f"{where}: parameter {name!r} has dtype {arr.dtype}; "
                                  f"expected floating-point numbers")
        if not np.all(np.isfinite(arr)):
            raise CheckpointError(f"{where}: parameter {name!r} holds NaN or infinite values")
        state[name] = arr.astype(current.dtype, copy=True)
    try:
        model.load_state_dict(state)
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{where}: {exc}") from None
    return model, _metadata(header)


def load_optimizer_state(path: PathLike, optimizer: Any, model: Any) -> None:
    """Restore the optimizer state saved by ``save(model, path, optimizer=...)`` into ``optimizer``.

    ``optimizer`` must be of the saved type and made over ``model``'s parameters with the same
    groups (the file names each parameter by its name in the model); its options and buffers
    become the saved ones.  Everything is checked first: a mismatch raises CheckpointError and
    leaves the optimizer as it was.
    """
    from .optim import Optimizer

    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"load_optimizer_state: optimizer must be an optim.Optimizer, got "
                        f"{type(optimizer).__name__}")
    header, arrays = _read(path)
    where = f"load_optimizer_state: {os.fspath(path)!r}"
    saved = header.get("optimizer")
    if saved is None:
        raise CheckpointError(f"{where} holds no optimizer state; save it with "
                              f"save(model, path, optimizer=optimizer)")
    if not isinstance(saved, dict) or set(saved) != {"type", "param_groups", "state"} \
            or not isinstance(saved["param_groups"], list) \
            or not isinstance(saved["state"], dict):
        raise CheckpointError(f"{where}: the optimizer entry must hold 'type', 'param_groups' "
                              f"(a list) and 'state' (an object)")
    if saved["type"] != type(optimizer).__name__:
        raise CheckpointError(f"{where} holds the state of a {saved['type']!r} optimizer, not "
                              f"of a {type(optimizer).__name__}")
    names = {id(p): name for name, p in model.named_parameters()}
    position = {names.get(id(p)): i for i, p in enumerate(optimizer.params)}
    groups = []
    for k, (group, mine) in enumerate(zip(saved["param_groups"], optimizer.param_groups)):
        listed = group.get("params") if isinstance(group, dict) else None
        have = [names.get(id(p)) for p in mine["params"]]
        if listed != have:
            raise CheckpointError(f"{where}: parameter group {k} of the file holds {listed}, "
                                  f"the optimizer's {have}")
        groups.append({**group, "params": [position[name] for name in have]})
    groups += saved["param_groups"][len(groups):]   # a count mismatch is load_state_dict's to say
    state: dict[int, dict[str, Any]] = {}
    for name, entry in saved["state"].items():
        if name not in position or not isinstance(entry, dict):
            raise CheckpointError(f"{where}: optimizer buffers for {name!r}, which is not one "
                                  f"of the optimizer's parameters")
        state[position[name]] = {key: arrays.get(value, value) if isinstance(value, str)
                                 else value for key, value in entry.items()}
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: {exc}") from None
