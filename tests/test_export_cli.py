"""``tinygrad-nn export``, and ``import tinygrad_nn`` importing none of the optional packages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import nn
from tinygrad_nn.cli import main
from tinygrad_nn.export import load_torch_state

ROOT = Path(__file__).resolve().parents[1]


def test_import_tinygrad_nn_imports_no_optional_package() -> None:
    code = ("import sys, tinygrad_nn as tn\n"
            "assert tn.export.to_onnx and tn.export.to_torch\n"
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'safetensors') "
            "if m in sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return tn.save(nn.mlp([64, 20, 20, 10], rng=0), tmp_path / "model.npz")


def test_export_to_torch_needs_nothing(checkpoint: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model.safetensors"
    assert main(["export", str(checkpoint), "--to", "torch", "--out", str(out)]) == 0
    assert f"wrote {out}: safetensors with PyTorch's key names" in capsys.readouterr().out
    model, back = tn.load(checkpoint), load_torch_state(out)
    for a, b in zip(model.state_dict().values(), back.state_dict().values(), strict=True):
        assert a.tobytes() == b.tobytes()


def test_export_to_onnx_runs_in_onnx_runtime(checkpoint: Path, tmp_path: Path, onnx: Any,
                                             ort: Any,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model.onnx"
    assert main(["export", str(checkpoint), "--to", "onnx", "--out", str(out)]) == 0
    assert "input 'input' of shape (batch, 64)" in capsys.readouterr().out
    x = np.random.default_rng(0).normal(size=(5, 64))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], tn.load(checkpoint)(x).data,
                               rtol=0, atol=1e-12)


def test_bad_usage_exits_2_says_why_and_writes_nothing(checkpoint: Path, tmp_path: Path,
                                                       onnx: Any,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with_loss = tn.save(nn.Sequential(nn.Linear(3, 2), nn.MSELoss()), tmp_path / "loss.npz")
    activation_first = tn.save(nn.Sequential(nn.Tanh(), nn.Linear(3, 2)), tmp_path / "act.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a checkpoint")
    out = str(tmp_path / "out" / "x")
    cases = [
        ([str(with_loss), "--to", "onnx", "--out", out], "error function MSELoss"),
        ([str(with_loss), "--to", "torch", "--out", out], "error function MSELoss"),
        ([str(activation_first), "--to", "onnx", "--out", out],
         "the first layer is Tanh[0], not a Linear"),
        ([str(checkpoint), "--to", "torch", "--out", out, "--opset", "18"],
         "--opset applies to --to onnx only"),
        ([str(checkpoint), "--to", "onnx", "--out", out, "--opset", "3"],
         "opset must be an integer from 18"),
        ([str(garbage), "--to", "onnx", "--out", out], "is not a checkpoint"),
        ([str(tmp_path / "missing.npz"), "--to", "onnx", "--out", out],
         "no such checkpoint file"),
        ([str(checkpoint), "--to", "onnx", "--out", str(tmp_path / "no" / "dir.onnx")],
         "directory"),
    ]
    (tmp_path / "out").mkdir()
    for argv, message in cases:
        assert main(["export", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert "usage: tinygrad-nn export" in err and message in err, (argv, err)
        assert os.listdir(tmp_path / "out") == [], argv
