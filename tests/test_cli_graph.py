"""The ``graph`` command: the worked example's computation graph and network drawing as files."""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tinygrad_nn import cli
from tinygrad_nn.cli import graph
from tinygrad_nn.tutorial import worked_example_drawings

SVG = "{http://www.w3.org/2000/svg}"


def _svg_nodes(path: Path) -> int:
    tree = ET.parse(path)
    return sum(1 for g in tree.iter(f"{SVG}g") if g.get("class") == "node")


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    graph.configure(parser)
    return parser.parse_args(list(argv))


@pytest.mark.needs_dot
def test_run_graph_writes_pictures_and_prints_paths(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pics"
    assert graph.run(_args("--out", str(out))) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / "worked_example_graph.svg"),
                       str(out / "worked_example_network.svg")]
    assert _svg_nodes(out / "worked_example_graph.svg") == 69
    assert _svg_nodes(out / "worked_example_network.svg") == 8     # 6 neurons + 2 bias neurons
    assert graph.run(_args("--out", str(out), "--format", "png", "--build", "tensor")) == 0
    assert (out / "worked_example_graph.png").read_bytes()[:4] == b"\x89PNG"


def test_run_graph_dot_format_needs_no_graphviz(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert graph.run(_args("--out", str(tmp_path), "--format", "dot")) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "worked_example_graph.gv"),
                       str(tmp_path / "worked_example_network.gv")]
    text = (tmp_path / "worked_example_graph.gv").read_text(encoding="utf-8")
    assert text == worked_example_drawings()["worked_example_graph"].source
    assert "rankdir=TB" in text                  # the default: tall and narrow, readable


def test_run_graph_without_dot_falls_back_to_dot_text(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert graph.run(_args("--out", str(tmp_path / "o"))) == 1
    captured = capsys.readouterr()
    assert "apt-get install graphviz" in captured.err
    assert captured.out.split() == [str(tmp_path / "o" / "worked_example_graph.gv"),
                                    str(tmp_path / "o" / "worked_example_network.gv")]


def test_run_graph_out_must_be_a_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        graph.run(_args("--out", str(blocker), "--format", "dot"))


def test_graph_command_is_wired_into_the_cli(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["graph", "--out", str(tmp_path), "--format", "dot"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "worked_example_graph.gv"),
                                               str(tmp_path / "worked_example_network.gv")]
    with pytest.raises(SystemExit) as info:
        cli.main(["graph", "--format", "jpg"])
    assert info.value.code == 2
