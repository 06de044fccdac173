"""The ``step`` command: the worked example's stepper pages, scalar and tensor build."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tinygrad_nn import cli


def _data(path: Path) -> dict:
    page = path.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="tn-data">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


@pytest.mark.needs_dot
def test_step_writes_both_pages_and_prints_their_paths(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pages"
    assert cli.main(["step", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / "stepper_scalar.html"), str(out / "stepper_tensor.html")]
    scalar, tensor = (_data(Path(p)) for p in printed)
    assert (len(scalar["nodes"]), len(scalar["steps"])) == (43, 38)
    assert (len(tensor["nodes"]), len(tensor["steps"])) == (11, 9)
    assert scalar["network"] is None and tensor["network"] is not None
    assert len(scalar["numeric"]) == 12 and len(tensor["numeric"]) == 4
    assert Path(printed[0]).stat().st_size <= 1_500_000


@pytest.mark.needs_dot
def test_step_one_build_without_the_numeric_check(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["step", "--out", str(tmp_path), "--build", "tensor", "--no-numeric"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["stepper_tensor.html"]
    assert _data(tmp_path / "stepper_tensor.html")["numeric"] is None


def test_step_refuses_a_file_as_out_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert cli.main(["step", "--out", str(target)]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err


def test_step_without_dot_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))              # no dot on PATH
    assert cli.main(["step", "--out", str(tmp_path / "out")]) == 1
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
