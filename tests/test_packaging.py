"""What a fresh clone shows before any code runs: the licence, the packaging metadata, the
files git keeps out."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:                                                  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")


def test_the_mit_licence_is_declared_and_shipped() -> None:
    """``license`` is the SPDX expression (PEP 639), and the LICENSE file it names is there."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]   # PEP 639
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) ")
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


@pytest.mark.parametrize("path", ["venv/bin/python", ".venv/bin/python", "build/lib/x.py",
                                  "tinygrad_nn/__pycache__/value.cpython-311.pyc"])
def test_git_ignores_virtual_environments_and_build_output(path: str) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    result = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT)
    assert result.returncode == 0, f"git does not ignore {path}"
