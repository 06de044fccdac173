"""The package's layout: imports point down the layers of docs/architecture.md, never in a circle.

Every ``import`` statement of tinygrad_nn (module level or inside a function) is read with
``ast`` and resolved to the file it names: a module, or a package's ``__init__.py`` when the
name is the package itself (``from .. import __version__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tinygrad_nn as tn
from tinygrad_nn import cli

PACKAGE = Path(tn.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The module of ours that ``name`` is (or is inside of), None for anything else."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """The modules of tinygrad_nn that ``module`` imports, anywhere in its code."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                found.add(target)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def _reaches(start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        m = stack.pop()
        for n in GRAPH[m]:
            if n == goal:
                return True
            if n not in seen:
                seen.add(n)
                stack.append(n)
    return False


def test_the_import_reader_sees_relative_and_lazy_imports() -> None:
    assert "tinygrad_nn.value" in GRAPH["tinygrad_nn.nn.module"]         # from ..value import
    assert "tinygrad_nn.nn" in GRAPH["tinygrad_nn.checkpoint"]           # import inside save()
    assert "tinygrad_nn.functional" in GRAPH["tinygrad_nn.nn.layers"]   # from .. import functional
    assert "tinygrad_nn.version" in GRAPH["tinygrad_nn.cli"]   # from ..version import __version__


@pytest.mark.parametrize("module", ["tinygrad_nn.errors", "tinygrad_nn.validation",
                                    "tinygrad_nn.nn.registry", "tinygrad_nn.nn.by_hand"])
def test_bottom_modules_import_nothing_of_ours(module: str) -> None:
    assert GRAPH[module] == set()


def test_no_module_is_in_an_import_circle() -> None:
    circles = sorted(m for m in MODULES if _reaches(m, m))
    assert not circles, f"modules that import themselves through others: {circles}"


@pytest.mark.parametrize(("lower", "upper"), [
    ("tinygrad_nn.arguments", "tinygrad_nn.value"),
    ("tinygrad_nn.tensor_methods", "tinygrad_nn.value"),
    ("tinygrad_nn.array_like", "tinygrad_nn.value"),
    ("tinygrad_nn.array_like", "tinygrad_nn.interop"),
    ("tinygrad_nn.value", "tinygrad_nn.interop"),
    ("tinygrad_nn.data_files", "tinygrad_nn.data"),
    ("tinygrad_nn.nn", "tinygrad_nn.train"),
    ("tinygrad_nn.nn", "tinygrad_nn.tutorial"),
    ("tinygrad_nn.nn", "tinygrad_nn.viz"),
    ("tinygrad_nn.nn", "tinygrad_nn.checkpoint"),
    ("tinygrad_nn.viz", "tinygrad_nn.tutorial"),
    ("tinygrad_nn.train", "tinygrad_nn.viz"),
    ("tinygrad_nn.train", "tinygrad_nn.tutorial"),
])
def test_lower_parts_never_reach_upper_ones(lower: str, upper: str) -> None:
    sources = [m for m in MODULES if m == lower or m.startswith(lower + ".")]
    bad = [m for m in sources if any(t == upper or t.startswith(upper + ".")
                                     for t in GRAPH[m])]
    assert not bad, f"{bad} import {upper}"


def test_value_is_built_on_its_method_and_argument_modules() -> None:
    # Value inherits TensorMethods and ArrayLike; interop.py, above it, fills ArrayLike's table
    assert {"tinygrad_nn.arguments", "tinygrad_nn.tensor_methods",
            "tinygrad_nn.array_like"} <= GRAPH["tinygrad_nn.value"]
    assert "tinygrad_nn.value" in GRAPH["tinygrad_nn.interop"]
    assert "tinygrad_nn.interop" in GRAPH["tinygrad_nn"]
    assert set(tn.array_like.NUMPY_DISPATCH) == {"ufunc", "function"}


def test_only_the_entry_points_import_the_command_line() -> None:
    users = sorted(m for m, targets in GRAPH.items()
                   if not (m == "tinygrad_nn.cli" or m.startswith("tinygrad_nn.cli."))
                   and any(t == "tinygrad_nn.cli" or t.startswith("tinygrad_nn.cli.")
                           for t in targets))
    assert users == ["tinygrad_nn.__main__"]


def test_every_exception_class_lives_in_errors() -> None:
    defined = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(b, ast.Name) and b.id.endswith(("Error", "Exception"))
                    for b in node.bases):
                defined.append(f"{module}.{node.name}")
    assert all(d.startswith("tinygrad_nn.errors.") for d in defined), defined
    assert tn.GradcheckError is tn.errors.GradcheckError
    assert tn.CheckpointError is tn.errors.CheckpointError
    assert tn.train.TrainingDivergedError is tn.errors.TrainingDivergedError
    assert tn.viz.GraphvizNotFoundError is tn.errors.GraphvizNotFoundError
    assert cli.UsageError is tn.errors.UsageError
