"""``tinygrad-nn train`` and ``tinygrad-nn predict``: small runs, outputs, usage errors (exit 2)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_nn.checkpoint import load, read_metadata, save
from tinygrad_nn.cli import PIPE_CLOSED, main
from tinygrad_nn.data import load_digits

ROOT = Path(__file__).resolve().parents[1]


def _train(tmp_path: Path, *extra: str) -> int:
    return main(["train", "--out", str(tmp_path / "out"), "--no-progress", *extra])


def _accuracy(text: str) -> float:
    m = re.search(r"^accuracy: (\d+\.\d)%", text, re.M)
    assert m, text
    return float(m.group(1))


def test_train_one_epoch_writes_checkpoint_and_curve(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert _train(tmp_path, "--epochs", "1") == 0
    out = capsys.readouterr().out
    assert "digits: 1437 training / 360 test samples; network 64-20-20-10, sigmoid, mse, sgd" \
        in out
    assert 0.0 <= _accuracy(out) <= 100.0
    ckpt = tmp_path / "out" / "model.npz"
    assert f"checkpoint: {ckpt}" in out
    model = load(ckpt)
    assert [p.shape for p in model.parameters()] == [(20, 64), (20,), (20, 20), (20,), (10, 20),
                                                     (10,)]
    meta = read_metadata(ckpt)
    assert meta["dataset"] == "digits" and meta["epochs"] == 1 and meta["seed"] == 0
    assert meta["test_accuracy"] == pytest.approx(_accuracy(out) / 100, abs=5e-4)
    pytest.importorskip("matplotlib")
    assert (tmp_path / "out" / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_train_options_xor_ce_adam(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _train(tmp_path, "--dataset", "xor", "--layers", "8", "--activation", "tanh",
                  "--loss", "ce", "--optimizer", "adam", "--lr", "0.05", "--batch-size", "16",
                  "--epochs", "30", "--seed", "3")
    assert code == 0
    out = capsys.readouterr().out
    assert "network 2-8-2, tanh, ce, adam lr=0.05, batch 16, 30 epochs" in out
    assert _accuracy(out) >= 95.0
    cfg = load(tmp_path / "out" / "model.npz").config()
    assert [layer["type"] for layer in cfg["layers"]] == ["Linear", "Tanh", "Linear"]


def test_the_summary_names_the_loss_as_the_epoch_lines_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One name for one number: ``test loss`` in the epoch lines and in the summary, with
    the loss it is, so nobody reads 0.0064 as an error rate."""
    assert main(["train", "--out", str(tmp_path), "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    last_epoch = re.search(r"^epoch 2/2 .* test loss (\d\.\d{4}) ", out, re.M)
    assert last_epoch, out
    assert f"\ntest loss (MSE): {last_epoch[1]}\n" in out
    assert "error" not in out
    assert _train(tmp_path, "--dataset", "xor", "--loss", "ce", "--epochs", "1") == 0
    assert re.search(r"^test loss \(cross-entropy\): \d+\.\d{4}$", capsys.readouterr().out,
                     re.M)


def test_what_was_built_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No hidden layer, or a minibatch larger than the data, are allowed and said."""
    assert _train(tmp_path, "--layers", "", "--batch-size", "100000", "--epochs", "1") == 0
    out = capsys.readouterr().out
    assert out.startswith("digits: 1437 training / 360 test samples; network 64-10 (no hidden "
                          "layer), sigmoid, mse, sgd lr=5, batch size 100000 > 1437 samples: "
                          "full batch, 1 epochs\n")
    assert [p.shape for p in load(tmp_path / "out" / "model.npz").parameters()] == [(10, 64),
                                                                                     (10,)]
    assert _train(tmp_path, "--batch-size", "1437", "--epochs", "1") == 0
    assert ", batch 1437, 1 epochs\n" in capsys.readouterr().out


@pytest.mark.parametrize("dataset", ["moons", "spirals", "circles"])
def test_train_toy_datasets(tmp_path: Path, dataset: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert _train(tmp_path, "--dataset", dataset, "--epochs", "2", "--fast") == 0
    out = capsys.readouterr().out
    assert f"{dataset}: 320 training / 80 test samples; network 2-20-20-2" in out
    assert "3 epochs" in out                     # --fast wins over --epochs
    _accuracy(out)


def test_train_progress_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--out", str(tmp_path), "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1/2  loss " in out and "epoch 2/2  loss " in out


@pytest.mark.parametrize("umask", [0o027, 0o002])
def test_train_writes_its_files_with_the_umask(tmp_path: Path, umask: int) -> None:
    """The checkpoint and the loss curve get 0666 less the umask, as any file a user writes
    (only the checkpoint's temporary file is private while it is written)."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_nn", "train", "--dataset", "xor", "--epochs", "2",
         "--no-progress", "--out", str(out)], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: os.umask(umask))
    assert result.returncode == 0, result.stderr
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in out.iterdir()}
    assert modes == {"model.npz": oct(0o666 & ~umask), "loss_curve.png": oct(0o666 & ~umask)}


def test_train_mnist_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 10
    pixels = rng.integers(0, 256, size=(40, 784))
    csv = tmp_path / "mnist.csv"
    np.savetxt(csv, np.column_stack([labels, pixels]), fmt="%d", delimiter=",")
    assert _train(tmp_path, "--dataset", "mnist", "--data", str(csv), "--epochs", "1") == 0
    out = capsys.readouterr().out
    assert "mnist: 32 training / 8 test samples; network 784-20-20-10" in out


@pytest.mark.slow
def test_default_run_reaches_95_percent(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The documented default: the tutorial net on the digits reaches >= 95 % (its time is
    measured by the benchmarks' case 4, not here)."""
    assert main(["train", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert _accuracy(out) >= 95.0


# ---------------------------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trained")
    assert main(["train", "--out", str(out), "--no-progress", "--epochs", "20"]) == 0
    return out / "model.npz"


def test_predict_on_the_digits_test_split(trained: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["predict", str(trained), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "predicting digits test split (360 samples)"
    assert re.fullmatch(r"\s+0  prediction \d  label \d  (ok|WRONG)", lines[1])
    assert "... (357 more; use --limit)" in out
    assert _accuracy(out) == pytest.approx(100 * read_metadata(trained)["test_accuracy"],
                                           abs=0.051)


def test_predict_npy_and_csv(trained: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    X, y = load_digits()
    np.save(tmp_path / "x.npy", X[:5])
    assert main(["predict", str(trained), "--data", str(tmp_path / "x.npy")]) == 0
    out = capsys.readouterr().out
    assert out.count("prediction") == 5 and "accuracy" not in out
    np.savetxt(tmp_path / "xy.csv", np.column_stack([y[:6], X[:6]]), delimiter=",")
    assert main(["predict", str(trained), "--data", str(tmp_path / "xy.csv"), "--limit",
                 "0"]) == 0
    out = capsys.readouterr().out
    assert "labelled samples" in out and re.search(r"accuracy: \d+\.\d% \(\d/6\)", out)


# ---------------------------------------------------------------------------------------------
# usage errors: exit 2, a usage line, no traceback
# ---------------------------------------------------------------------------------------------


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:           # argparse's own errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "usage: tinygrad-nn" in err
    assert message in err
    assert "Traceback" not in err


def test_unknown_option(capsys: pytest.CaptureFixture[str]) -> None:
    _usage_error(capsys, ["train", "--bogus"], "unrecognized arguments: --bogus")


def test_bad_choices_and_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path)
    _usage_error(capsys, ["train", "--dataset", "cifar"], "invalid choice: 'cifar'")
    _usage_error(capsys, ["train", "--out", out, "--layers", "20,x"],
                 "--layers must be comma-separated positive integers")
    _usage_error(capsys, ["train", "--out", out, "--lr", "-1"],
                 "--lr must be a positive finite number, got -1.0")
    _usage_error(capsys, ["train", "--out", out, "--epochs", "0"], "--epochs must be a positive")
    _usage_error(capsys, ["train", "--out", out, "--activation", "swish"],
                 "--activation: mlp: activation must be one of")
    _usage_error(capsys, ["train", "--out", out, "--dataset", "mnist"],
                 "--dataset mnist needs --data PATH")
    _usage_error(capsys, ["train", "--out", out, "--data", "x.csv"],
                 "--data is only used with --dataset mnist")


def test_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _usage_error(capsys, ["train", "--out", str(tmp_path), "--dataset", "mnist", "--data",
                          str(tmp_path / "nope")], "no such file or directory")
    _usage_error(capsys, ["predict", str(tmp_path / "nope.npz")], "no such checkpoint file")


def test_predict_bad_inputs(trained: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    _usage_error(capsys, ["predict", str(bad)], "is not a checkpoint")
    np.save(tmp_path / "wide.npy", np.zeros((2, 10)))
    _usage_error(capsys, ["predict", str(trained), "--data", str(tmp_path / "wide.npy")],
                 "the model takes 64 features per sample, the file has 10 columns")
    _usage_error(capsys, ["predict", str(trained), "--data", str(tmp_path / "x.npy")],
                 "no such file")
    (tmp_path / "x.txt").write_text("1,2")
    _usage_error(capsys, ["predict", str(trained), "--data", str(tmp_path / "x.txt")],
                 "--data must be 'digits', a .npy or a .csv file")
    _usage_error(capsys, ["predict", str(trained), "--limit", "-1"], "--limit must be >= 0")


def test_predict_a_directory_says_it_is_one(trained: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    _usage_error(capsys, ["predict", str(tmp_path)],
                 f"load: {str(tmp_path)!r} is a directory, not a checkpoint file\n")
    _usage_error(capsys, ["predict", str(trained.parent)],       # train's --out directory
                 f"is a directory, not a checkpoint file; did you mean {str(trained)!r}?")
    _usage_error(capsys, ["export", str(trained.parent), "--to", "torch", "--out",
                          str(tmp_path / "m.safetensors")], "is a directory, not a checkpoint")


@pytest.mark.parametrize(("content", "what"), [
    (b"\x89PNG\r\n\x1a\n" + bytes(40), "a PNG image"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "an SVG image"),
    (b"# tinygrad_nn\nReverse-mode automatic differentiation\n", "text"),
    (b"", "an empty file"),
    (b"\x93NUMPY\x01\x00", "a single .npy array"),
    (b"\x80\x04\x95\x10\x00", "pickled data, which is never loaded"),
])
def test_predict_a_file_that_is_no_archive_says_what_it_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, what: str) -> None:
    path = tmp_path / "file"
    path.write_bytes(content)
    _usage_error(capsys, ["predict", str(path)],
                 f"is not a checkpoint: it is not an .npz (zip) archive; it looks like {what}\n")


def _with_closed_stdout(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the command with stdout a pipe whose reader has gone (``... | head`` after head
    exits)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "tinygrad_nn", *argv], cwd=cwd,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        os.close(write_end)


@pytest.mark.parametrize("progress", [[], ["--no-progress"]], ids=["progress", "no-progress"])
def test_train_into_a_closed_pipe_ends_quietly(tmp_path: Path, progress: list[str]) -> None:
    result = _with_closed_stdout(["train", "--dataset", "xor", "--epochs", "3", "--out",
                                  str(tmp_path), *progress], tmp_path)
    assert result.stderr == ""
    assert result.returncode == PIPE_CLOSED == 141


def test_predict_into_a_closed_pipe_ends_quietly(trained: Path, tmp_path: Path) -> None:
    result = _with_closed_stdout(["predict", str(trained), "--limit", "360"], tmp_path)
    assert result.stderr == ""
    assert result.returncode == 141


def test_predict_digits_with_a_model_of_another_width(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert _train(tmp_path, "--dataset", "xor", "--epochs", "1") == 0
    _usage_error(capsys, ["predict", str(tmp_path / "out" / "model.npz")],
                 "--data digits: the model takes 2 features per sample, the digits have 64")


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_trains_on_to_the_parameters_of_one_longer_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], optimizer: str) -> None:
    common = ["--no-progress", "--optimizer", optimizer, "--loss", "ce", "--layers", "12",
              "--activation", "tanh", "--seed", "4", "--batch-size", "64"]
    assert main(["train", "--out", str(tmp_path / "long"), "--epochs", "4", *common]) == 0
    assert main(["train", "--out", str(tmp_path / "part"), "--epochs", "2", *common]) == 0
    capsys.readouterr()
    part = tmp_path / "part" / "model.npz"
    assert main(["train", "--resume", str(part), "--out", str(tmp_path / "part"),
                 "--epochs", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert (f"network 64-12-10, tanh, ce, {optimizer} lr=" in out
            and f"batch 64, 2 epochs (resuming {part} after epoch 2)" in out)
    long, resumed = load(tmp_path / "long" / "model.npz"), load(part)
    for p, q in zip(long.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(q.data, p.data)
    meta = read_metadata(part)
    assert (meta["epochs"], meta["seed"], meta["activation"]) == (4, 4, "tanh")


def test_resume_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _train(tmp_path, "--epochs", "1", "--seed", "2") == 0
    ckpt = str(tmp_path / "out" / "model.npz")
    _usage_error(capsys, ["train", "--resume", ckpt, "--out", str(tmp_path), "--seed", "3"],
                 "--seed 3 differs from the checkpoint's 2; a resumed run keeps the settings "
                 "it was made with")
    _usage_error(capsys, ["train", "--resume", ckpt, "--out", str(tmp_path), "--layers", "5"],
                 "--layers 5 differs from the checkpoint's 20,20")
    plain = tmp_path / "plain.npz"
    save(load(ckpt), plain)
    _usage_error(capsys, ["train", "--resume", str(plain), "--out", str(tmp_path)],
                 "was not written by the train command (its metadata lacks dataset, data, ")
    _usage_error(capsys, ["train", "--resume", str(tmp_path / "nope.npz"), "--out",
                          str(tmp_path)], "no such checkpoint file")
