"""Checkpoints: a model's architecture and parameters in one ``.npz`` file, never pickled.

A checkpoint is a NumPy ``.npz`` archive holding

* ``__architecture__``: UTF-8 JSON as a ``uint8`` array --
  ``{"format": "tinygrad_nn.checkpoint", "version": 1, "type": <class name>,
  "config": model.config(), "metadata": {...}}``;
* one float array per parameter, named as in ``model.state_dict()``;
* ``"shared"`` in the header (only when there are any): the names under which a parameter
  reached twice (a layer used twice) appears again, each with the name it is stored under.

``save`` writes it atomically (a temporary file in the same directory, flushed and
fsync'ed, then ``os.replace``), so a crash leaves either the old checkpoint or the new one,
never a torn file.  ``load`` never unpickles and never trusts the file: it reads the zip
archive itself, and each array's ``.npy`` header is checked against the member's real size
before a byte is allocated (members must be stored uncompressed, so no array can be larger than
the file); the JSON header may nest at most ``MAX_CONFIG_DEPTH`` deep; the parameter shapes the
architecture implies are compared with the stored arrays *before* the model is built, so a tiny
file cannot ask for a huge network.  Only the project's registered layer types are built (a file
naming any other class is refused).  Anything wrong with a file raises ``CheckpointError``
saying what.
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
           "load_with_metadata", "read_metadata", "save", "write_atomically"]

FORMAT = "tinygrad_nn.checkpoint"
VERSION = 1
ARCH_KEY = "__architecture__"
SHARED_KEY = "shared"

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


def save(model: Any, path: PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s architecture (type + ``config()``) and ``state_dict()`` to ``path``.

    The write is atomic: a temporary file next to ``path`` is written, flushed, fsync'ed and
    renamed over ``path`` with ``os.replace``.  ``metadata`` (JSON-serialisable) is stored
    alongside, e.g. the dataset and test accuracy.  Returns the path written.
    """
    from . import nn

    _checked_path(path, "save")
    kind = type(model).__name__
    if nn.LAYER_TYPES.get(kind) is not type(model):
        raise CheckpointError(f"save: {type(model).__module__}.{kind} is not a registered layer "
                              f"type (nn.LAYER_TYPES), so load() could not rebuild it; known "
                              f"types: {', '.join(sorted(nn.LAYER_TYPES))}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"save: metadata must be a dict or None, got {type(metadata).__name__}")
    header = {"format": FORMAT, "version": VERSION, "type": kind, "config": model.config(),
              "metadata": metadata or {}}
    shared = _shared_names(model)
    if shared:
        header[SHARED_KEY] = shared
    try:
        text = json.dumps(header, default=_json_default, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"save: the architecture or metadata is not JSON-serialisable: "
                              f"{exc}") from None
    arrays: dict[str, np.ndarray] = {}
    for name, value in model.state_dict().items():
        if name == ARCH_KEY:
            raise CheckpointError(f"save: parameter name {ARCH_KEY!r} is reserved")
        arrays[name] = np.asarray(value)
    arrays[ARCH_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return write_atomically(path, lambda f: _write_npz(f, arrays), "save")


def _shared_names(model: Any) -> dict[str, str]:
    """Every further name of a parameter reached more than once, with the name it is saved under
    (``{"layers.2.weight": "layers.0.weight"}`` for ``Sequential(lin, φ, lin)``)."""
    first: dict[int, str] = {}
    shared = {}
    for name, p in model.named_parameters(remove_duplicate=False):
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


def _read(path: PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and check the header and every array of a checkpoint (no pickles, no trust)."""
    p = _checked_path(path, "load")
    if not p.is_file():
        raise FileNotFoundError(f"load: no such checkpoint file: {os.fspath(path)!r}")
    where = f"load: {os.fspath(path)!r}"
    with open(p, "rb") as f:
        magic = f.read(6)
    if magic == b"\x93NUMPY":
        raise CheckpointError(f"{where} is a single .npy array, not a checkpoint (.npz archive)")
    if magic[:1] == b"\x80":                   # the first byte of a pickle (protocol 2 and up)
        raise CheckpointError(f"{where} is not a checkpoint: it is not a .npz archive (it looks "
                              f"like pickled data, which is never loaded)")
    if magic[:2] != b"PK":
        raise CheckpointError(f"{where} is not a checkpoint (.npz archive)")
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
    where = f"load: {os.fspath(path)!r}"
    kind = header["type"]
    if kind not in nn.LAYER_TYPES:
        raise CheckpointError(f"{where} names an unknown layer type {kind!r}; only registered "
                              f"types are built: {', '.join(sorted(nn.LAYER_TYPES))}")
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
    """Make each shared name refer to the same Value as the name it is stored under again."""
    if not shared:
        return
    params = dict(model.named_parameters(remove_duplicate=False))
    for alias, name in shared.items():
        if alias not in params or name not in params or alias == name or name in shared \
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
