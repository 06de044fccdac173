"""Checkpoints: a model's architecture and parameters in one ``.npz`` file, never pickled.

A checkpoint is a NumPy ``.npz`` archive holding

* ``__architecture__``: UTF-8 JSON as a ``uint8`` array --
  ``{"format": "tinygrad_nn.checkpoint", "version": 1, "type": <class name>,
  "config": model.config(), "metadata": {...}}``;
* one array per parameter and buffer (BatchNorm's running statistics), named as in
  ``model.state_dict()``;
* with ``save(..., optimizer=opt)``, the optimizer's state as well: its type and parameter
  groups (options, and the parameters by their names in the model) under ``"optimizer"`` in the
  JSON, and its buffers (momentum, moments) as arrays named ``__optimizer__.<i>.<buffer>``.
  ``load_optimizer_state`` puts them back into an optimizer of the same type.
* ``"shared"`` in the header (only when there are any): the names under which a parameter
  reached twice (a layer used twice) appears again, each with the name it is stored under.
* ``"rng"`` in the header (only when there are any): where each random layer's generator
  stands (``Dropout``'s masks), by the layer's name: its ``rng_state()``, put back with
  ``load_rng_state`` so that a resumed run draws what it would have drawn.  A file without it
  (written before) loads as before, its random layers drawing from fresh entropy.

``save`` writes it atomically (a temporary file in the same directory, flushed and
fsync'ed, then ``os.replace``), so a crash leaves either the old checkpoint or the new one,
never a torn file.  ``load`` never unpickles and never trusts the file: it reads the zip
archive itself, and each array's ``.npy`` header is checked against the member's real size
before a byte is allocated (members must be stored uncompressed, so no array can be larger than
the file); the JSON header may nest at most ``MAX_CONFIG_DEPTH`` deep; the parameter shapes the
architecture implies are compared with the stored arrays *before* the model is built, so a tiny
file cannot ask for a huge network.  Only the project's registered layer types are built (a file
naming any other class is refused; a user's own Module subclass is built once registered with
``@nn.layer_type``, and ``save`` checks that the model can be rebuilt before it writes).
Anything wrong with a file raises ``CheckpointError`` saying what.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from .errors import CheckpointError

__all__ = ["FORMAT", "MAX_CONFIG_DEPTH", "VERSION", "CheckpointError", "load",
           "load_optimizer_state", "load_rng_states", "load_with_metadata", "read_metadata",
           "rng_states", "save", "write_atomically"]

FORMAT = "tinygrad_nn.checkpoint"
VERSION = 1
ARCH_KEY = "__architecture__"
OPTIMIZER_PREFIX = "__optimizer__."
"""Array names that start with this hold optimizer buffers, not parameters."""
SHARED_KEY = "shared"
RNG_KEY = "rng"

MAX_CONFIG_DEPTH = 64
"""How deeply a checkpoint's JSON header may nest (a Sequential in a Sequential is 4 levels)."""

PathLike = str | os.PathLike[str]


def _checked_path(path: Any, fn: str) -> Path:
    """``path`` as a Path, or a TypeError naming ``fn`` for anything that is not a path."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{fn}: path must be a str or os.PathLike, got {type(path).__name__} "
                        f"{path!r}")
    return Path(path)


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

    _checked_path(path, "save")
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
    shared = _shared_names(model)
    if shared:
        header[SHARED_KEY] = shared
    generators = rng_states(model)
    if generators:
        header[RNG_KEY] = generators
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
    must have the model's parameter and buffer names and shapes, one reached twice (a layer
    used twice) counted under each of its names (every type it names registered, every
    constructor argument in ``config()``)."""
    from . import nn

    kind = type(model).__name__
    try:
        rebuilt = nn.from_config(kind, config)
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"save: load() could not rebuild this {kind} from its config(): "
                              f"{exc}; a Module subclass of your own needs @nn.layer_type, and "
                              f"config() must return its constructor's arguments") from None
    want = [(name, p.shape) for name, p in _named_arrays(model, remove_duplicate=False)]
    got = [(name, p.shape) for name, p in _named_arrays(rebuilt, remove_duplicate=False)]
    if got != want:
        raise CheckpointError(f"save: {kind} rebuilt from its config() would have the "
                              f"parameters {got}, not the model's {want}; load() could not "
                              f"restore it (does config() miss an argument?)")


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


def _named_arrays(model: Any, remove_duplicate: bool = True) -> list[tuple[str, Any]]:
    """Every parameter (a Value) and buffer (an array) by its dotted name, as ``state_dict``
    names them; one reached twice under its first name only, unless ``remove_duplicate=False``."""
    return [*model.named_parameters(remove_duplicate), *model.named_buffers(remove_duplicate)]


def _shared_names(model: Any) -> dict[str, str]:
    """Every further name of a parameter or buffer reached more than once, with the name it is
    saved under (``{"layers.2.weight": "layers.0.weight"}`` for ``Sequential(lin, φ, lin)``)."""
    first: dict[int, str] = {}
    shared = {}
    for name, p in _named_arrays(model, remove_duplicate=False):
        if id(p) in first:
            shared[name] = first[id(p)]
        else:
            first[id(p)] = name
    return shared


def write_atomically(path: PathLike, write: Callable[[IO[bytes]], None], fn: str) -> Path:
    """Call ``write(f)`` on a temporary file next to ``path``, fsync it, then rename it to ``path``.

    A crash or an exception inside ``write`` leaves the old file (or none), never a torn one, and
    no temporary file behind.  ``fn`` names the calling function in errors.  Returns the path.
    """
    target = _checked_path(path, fn)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"{fn}: directory {str(directory)!r} does not exist")
    if target.is_dir():
        raise IsADirectoryError(f"{fn}: {str(target)!r} is a directory; give a file path such as "
                                f"{str(target / 'model.npz')!r}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:                    # a read-only directory: name the user's path
        raise _cannot_write(exc, fn, target) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.chmod(tmp, _new_file_mode())     # mkstemp gives 0600; open() would give this
            os.fsync(f.fileno())
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise _cannot_write(exc, fn, target) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)
    return target


def _cannot_write(exc: OSError, fn: str, target: Path) -> OSError:
    """The same kind of OSError, about the user's path instead of the temporary file."""
    return type(exc)(exc.errno, f"{fn}: cannot write {str(target)!r}: {exc.strerror}")


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


ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
"""How a zip archive (and so an .npz file) starts: a first entry, or an empty archive."""
_SIGNATURES = ((b"\x89PNG", "a PNG image"), (b"%PDF", "a PDF document"),
               (b"<?xml", "an XML or SVG file"), (b"<svg", "an SVG image"),
               (b"\x1f\x8b", "a gzip file"), (b"\x93NUMPY", "a single .npy array"))


def _what_it_is(head: bytes) -> str:
    """What a file that is not a zip archive looks like, from its first bytes."""
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if not head:
        return "an empty file"
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:    # pickle protocol 2 to 5
        return "pickled data, which is never loaded"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return f"binary data starting with {head[:8]!r}"
    return "text"


def _check_is_archive(path: PathLike) -> Path:
    """``path`` as a Path if it is a file that starts like a zip (.npz) archive; a directory, a
    missing file or another kind of file is refused, saying what it is instead."""
    p = _checked_path(path, "load")
    if p.is_dir():
        inside = p / "model.npz"
        hint = f"; did you mean {os.fspath(inside)!r}?" if inside.is_file() else ""
        raise IsADirectoryError(f"load: {os.fspath(path)!r} is a directory, not a checkpoint "
                                f"file{hint}")
    if not p.is_file():
        raise FileNotFoundError(f"load: no such checkpoint file: {os.fspath(path)!r}")
    with open(p, "rb") as f:
        head = f.read(64)
    if not head.startswith(ZIP_SIGNATURES):
        raise CheckpointError(f"load: {os.fspath(path)!r} is not a checkpoint: it is not an .npz "
                              f"(zip) archive; it looks like {_what_it_is(head)}")
    return p


def _read(path: PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and check the header and every array of a checkpoint (no pickles, no trust)."""
    p = _check_is_archive(path)
    where = f"load: {os.fspath(path)!r}"
    try:
        with zipfile.ZipFile(p) as archive:
            arrays = _read_members(archive, p.stat().st_size, where)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError,
            NotImplementedError, OverflowError) as exc:
        raise CheckpointError(f"{where} is corrupted or truncated: {exc}") from None
    if ARCH_KEY not in arrays:
        raise CheckpointError(f"{where} has no {ARCH_KEY!r} entry; it is an .npz archive but "
                              f"not a tinygrad_nn checkpoint")
    return _parse_header(arrays.pop(ARCH_KEY), where), arrays


_ENCRYPTED_OR_PATCHED = 0x1 | 0x20 | 0x40
"""Zip flag bits (encrypted, compressed patched data, strong encryption) the zip module would
refuse with RuntimeError or NotImplementedError."""


def _read_members(archive: zipfile.ZipFile, file_size: int, where: str) -> dict[str, np.ndarray]:
    """Every member of the archive as an array, each checked before anything is allocated."""
    arrays: dict[str, np.ndarray] = {}
    for info in archive.infolist():
        key = info.filename[:-len(".npy")] if info.filename.endswith(".npy") else None
        if key is None:
            raise CheckpointError(f"{where}: entry {info.filename!r} is not a .npy array")
        if key in arrays:
            raise CheckpointError(f"{where}: entry {key!r} appears twice")
        if info.flag_bits & _ENCRYPTED_OR_PATCHED:
            raise CheckpointError(f"{where}: entry {key!r} is marked encrypted or patched; "
                                  f"checkpoints are plain archives")
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise CheckpointError(f"{where}: entry {key!r} is compressed; checkpoints are stored "
                                  f"uncompressed, so no array can be larger than the file")
        if info.file_size > file_size:
            raise CheckpointError(f"{where}: entry {key!r} claims {info.file_size} bytes, more "
                                  f"than the whole file ({file_size})")
        arrays[key] = _read_array(archive, info, key, where)
    return arrays


def _read_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str,
                where: str) -> np.ndarray:
    """One ``.npy`` member: its header checked (real numbers only; the shape must account for
    exactly the member's bytes), then the data read and checked against the archive's CRC."""
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise CheckpointError(f"{where}: entry {key!r} has .npy format version {version}")
        if dtype.hasobject:
            raise CheckpointError(f"{where}: entry {key!r} is a pickled object array; "
                                  f"checkpoints hold numbers only and are never unpickled")
        if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
            raise CheckpointError(f"{where}: entry {key!r} has dtype {dtype}; checkpoints hold "
                                  f"real numbers only")
        if any(n < 0 for n in shape):
            raise CheckpointError(f"{where}: entry {key!r} has a negative dimension: {shape}")
        size = math.prod(shape) * dtype.itemsize
        stored = info.file_size - f.tell()
        if size != stored:
            raise CheckpointError(f"{where}: entry {key!r} claims shape {shape} ({size} bytes) "
                                  f"but holds {stored} bytes")
        data = f.read(size)
        f.read()                               # to the end: the CRC is checked there
    order: Literal["C", "F"] = "F" if fortran_order else "C"
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()


def _parse_header(raw: np.ndarray, where: str) -> dict[str, Any]:
    """The JSON header: UTF-8, nested at most ``MAX_CONFIG_DEPTH`` deep, of the right form."""
    try:
        if raw.dtype == np.uint8 and raw.ndim == 1:
            text = raw.tobytes().decode("utf-8")
        else:
            raise CheckpointError(f"{where}: {ARCH_KEY!r} must be UTF-8 JSON bytes (uint8), "
                                  f"got dtype {raw.dtype} shape {raw.shape}")
        header = json.loads(text)
    except RecursionError:
        raise CheckpointError(f"{where}: the architecture entry nests deeper than "
                              f"{MAX_CONFIG_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:    # JSONDecodeError is a ValueError
        raise CheckpointError(f"{where}: the architecture entry is not valid JSON: {exc}"
                              ) from None
    if _depth(header) > MAX_CONFIG_DEPTH:
        raise CheckpointError(f"{where}: the architecture entry nests deeper than "
                              f"{MAX_CONFIG_DEPTH} levels")
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
    shared = header.get(SHARED_KEY, {})
    if not isinstance(shared, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in shared.items()):
        raise CheckpointError(f"{where}: {SHARED_KEY!r} must map parameter names to names")
    return header


def _depth(obj: Any) -> int:
    """How deeply JSON lists and objects nest in ``obj`` (walked without recursion)."""
    deepest = 0
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_CONFIG_DEPTH:
                stack.extend((child, depth + 1) for child in
                             (item.values() if isinstance(item, dict) else item))
    return deepest


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
    shared = header.get(SHARED_KEY, {})
    try:
        shapes = nn.parameter_shapes(kind, header["config"])
        if shapes is not None:                 # before building: nothing is allocated yet
            _check_shapes(shapes, shared, arrays, kind, where)
        model = nn.from_config(kind, header["config"])
    except CheckpointError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{where}: cannot rebuild {kind} from its config: {exc}") from None
    _share_parameters(model, shared, where)
    expected = dict(_named_arrays(model))    # names, shapes and dtypes: no copies needed
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
        if current.dtype.kind in "iu" and not _whole_numbers(arr, current.dtype):
            raise CheckpointError(f"{where}: buffer {name!r} counts in {current.dtype}, but the "
                                  f"file holds {arr.dtype} values that are not such integers")
        state[name] = arr.astype(current.dtype, copy=True)
    try:
        model.load_state_dict(state)
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{where}: {exc}") from None
    load_rng_states(model, header.get(RNG_KEY, {}), where)
    return model, _metadata(header)


def rng_states(model: Any) -> dict[str, dict[str, Any]]:
    """Where each random layer of ``model`` stands: ``{layer name: layer.rng_state()}``."""
    return {name: module.rng_state() for name, module in model.named_modules()
            if callable(getattr(module, "rng_state", None))}


def load_rng_states(model: Any, states: Any, where: str) -> None:
    """Put ``rng_states``' result back into the random layers of ``model`` (checked first: on a
    name that is no random layer, or a state that does not fit, nothing changes)."""
    layers = {name: module for name, module in model.named_modules()
              if callable(getattr(module, "load_rng_state", None))}
    if not isinstance(states, dict) or any(name not in layers for name in states):
        raise CheckpointError(f"{where}: the random generators' states {str(states)[:80]} do "
                              f"not name random layers of the model ({', '.join(layers)})")
    before = rng_states(model)
    try:
        for name, state in states.items():
            layers[name].load_rng_state(state)
    except ValueError as exc:
        for name, state in before.items():
            layers[name].load_rng_state(state)
        raise CheckpointError(f"{where}: layer {name!r}: {exc}") from None


def _whole_numbers(arr: np.ndarray, dtype: np.dtype[Any]) -> bool:
    """Whether every entry of ``arr`` (finite) is an integer that ``dtype`` holds exactly."""
    info = np.iinfo(dtype)
    if arr.dtype.kind in "iu":
        return arr.size == 0 or bool(info.min <= arr.min() and arr.max() <= info.max)
    return bool(np.all((arr == np.round(arr)) & (arr >= info.min) & (arr < info.max)))


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


def _check_shapes(shapes: dict[str, tuple[int, ...]], shared: dict[str, str],
                  arrays: dict[str, np.ndarray], kind: str, where: str) -> None:
    """The stored arrays are exactly the parameters the architecture implies, shape for shape
    (a shared name takes the shape of the name it is stored under): checked before building,
    so a small file cannot make ``load`` allocate a large model."""
    stored = {name: shape for name, shape in shapes.items() if name not in shared}
    for alias, name in shared.items():
        if alias not in shapes or name not in stored or shapes[alias] != stored[name]:
            raise CheckpointError(f"{where}: shared parameter {alias!r} -> {name!r} does not "
                                  f"match {kind}'s parameters")
    missing = [k for k in stored if k not in arrays]
    if missing:
        raise CheckpointError(f"{where}: missing parameter{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(missing)} for {kind}")
    for name, shape in stored.items():
        if arrays[name].shape != shape:
            raise CheckpointError(f"{where}: parameter {name!r} has shape {arrays[name].shape} "
                                  f"in the file but the architecture expects {shape}")


def _share_parameters(model: Any, shared: dict[str, str], where: str) -> None:
    """Make each shared name refer to the same Value (or buffer array) as the name it is stored
    under again; a parameter never stands for a buffer or the other way round."""
    if not shared:
        return
    params = dict(_named_arrays(model, remove_duplicate=False))
    for alias, name in shared.items():
        if alias not in params or name not in params or alias == name or name in shared \
                or type(params[alias]) is not type(params[name]) \
                or params[alias].shape != params[name].shape \
                or params[alias].dtype != params[name].dtype:
            raise CheckpointError(f"{where}: shared parameter {alias!r} -> {name!r} does not "
                                  f"match the model's parameters")
        owner_path, _, attribute = alias.rpartition(".")
        owner = _submodule(model, owner_path)
        setattr(owner, attribute, params[name])


def _submodule(model: Any, path: str) -> Any:
    """The module at a dotted path of attribute names and list indices ("layers.2")."""
    module = model
    for part in path.split(".") if path else []:
        module = module[int(part)] if isinstance(module, (list, tuple)) else getattr(module, part)
    return module
