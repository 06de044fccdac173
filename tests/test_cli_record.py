"""``train --data my.csv --target label`` and ``train --record run.html``: the user's own table,
its errors, and the recorded run's page (data.load_csv and the playground underneath)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn.checkpoint import read_metadata
from tinygrad_nn.cli import main
from tinygrad_nn.data import load_csv, load_csv_inputs


def write_blobs(path: Path, n: int = 90, seed: int = 1) -> Path:
    """Three classes named by words, two numeric features."""
    rng = np.random.default_rng(seed)
    centres = [(0.0, 0.0), (2.0, 2.0), (0.0, 3.0)]
    rows = ["width,height,kind"]
    for i in range(n):
        x = rng.normal(centres[i % 3], 0.4)
        rows.append(f"{x[0]:.4f},{x[1]:.4f},{['plum', 'apple', 'pear'][i % 3]}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def usage_error(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "usage: tinygrad-nn" in err and "Traceback" not in err
    assert message in err, err


def test_load_csv_reads_a_header_numeric_features_and_named_classes(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,label,b\n1,10,0.5\n\n2,9,1e3\n3,10,-2\n", encoding="utf-8")
    table = load_csv(path, "label")
    np.testing.assert_array_equal(table.X, [[1, 0.5], [2, 1000], [3, -2]])
    assert table.y.tolist() == [1, 0, 1] and table.classes == ["9", "10"]   # numeric order
    assert table.features == ["a", "b"]
    words = load_csv(write_blobs(tmp_path / "b.csv"), "kind")
    assert words.classes == ["apple", "pear", "plum"] and words.y[:3].tolist() == [2, 0, 1]


@pytest.mark.parametrize(("text", "message"), [
    ("", "is empty; expected a header line naming the columns"),
    ("\n\n", "is empty; expected a header line naming the columns"),
    ("x,y,label\n", "has a header but no rows of data"),
    ("x,y,kind\n1,2,a\n", "has no column 'label'; its header names 'x', 'y', 'kind'"),
    ("x,y,label\n1,2,a\n3,red,b\n", "line 3, column 'y': 'red' is not a number; feature "
                                    "columns must be numeric"),
    ("x,y,label\n1,nan,a\n", "line 2, column 'y' is 'nan'; features must be finite numbers"),
    ("x,y,label\n1,inf,a\n", "line 2, column 'y' is 'inf'"),
    ("x,y,label\n1,,a\n", "line 2, column 'y' is empty; every feature must be a number"),
    ("x,y,label\n1,2,\n", "line 2: the target column 'label' is empty"),
    ("x,y,label\n1,2\n", "line 2 has 2 fields, the header 3"),
    ("label\na\nb\n", "has only the column 'label'"),
    ("x,label\n1,a\n2,a\n", "holds one class only ('a')"),
    ("x,label,label\n1,a,b\n", "has 2 columns named 'label'"),
    # load_csv_inputs (predict's samples): the same reader, the target and the header optional
    ("", "load_csv_inputs: {path} is empty; expected one sample per line"),
    ("x,y\n", "load_csv_inputs: {path} has a header but no rows of data"),
    ("x,y\n1,red\n", "load_csv_inputs: {path} line 2, column 'y': 'red' is not a number"),
    ("1,2\n3\n", "load_csv_inputs: {path} line 2 has 1 fields, the first line 2"),
    ("1,2\n3,nan\n", "load_csv_inputs: {path} line 2, column '2' is 'nan'"),
])
def test_bad_csvs_are_refused_with_the_line_and_column(tmp_path: Path, text: str,
                                                       message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    read = load_csv_inputs if message.startswith("load_csv_inputs") else load_csv
    with pytest.raises(ValueError, match=re.escape(message.format(path=path))):
        read(path, "label")


def test_train_on_a_csv_of_ones_own_with_a_recorded_page(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_blobs(tmp_path / "fruit.csv")
    page = tmp_path / "run.html"
    out_dir = tmp_path / "out"
    assert main(["train", "--data", str(csv), "--target", "kind", "--layers", "6",
                 "--activation", "tanh", "--loss", "ce", "--epochs", "12", "--record", str(page),
                 "--record-every", "4", "--out", str(out_dir), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "csv: 72 training / 18 test samples; network 2-6-3, tanh, ce" in out
    assert f"playground: {page} (4 snapshots)" in out
    html = page.read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="tn-run">(.*?)</script>',
                                html, re.S).group(1))
    assert [s["epoch"] for s in data["snapshots"]] == [0, 4, 8, 12]
    assert data["data"]["kind"] == "plane"
    assert data["data"]["classes"] == ["apple", "pear", "plum"]
    assert data["data"]["feature_names"] == ["width", "height"]
    final = tn.load(out_dir / "model.npz").state_dict()
    for name, value in final.items():                 # the page's last snapshot is the model
        np.testing.assert_array_equal(np.array(data["snapshots"][-1]["params"][name]), value)
    meta = read_metadata(out_dir / "model.npz")
    assert meta["dataset"] == "csv" and meta["target"] == "kind" and meta["data"] == str(csv)


def test_resume_keeps_the_csv_and_its_target(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_blobs(tmp_path / "fruit.csv")
    out_dir = tmp_path / "out"
    args = ["--out", str(out_dir), "--no-progress", "--layers", "4", "--loss", "ce"]
    assert main(["train", "--data", str(csv), "--target", "kind", "--epochs", "2", *args]) == 0
    assert main(["train", "--resume", str(out_dir / "model.npz"), "--epochs", "1",
                 "--record", str(tmp_path / "more.html"), *args]) == 0
    out = capsys.readouterr().out
    assert "(resuming" in out and "playground:" in out
    assert read_metadata(out_dir / "model.npz")["epochs"] == 3


def test_bad_csv_options_are_usage_errors(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--out", str(tmp_path / "out")]
    csv = write_blobs(tmp_path / "fruit.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,kind\n1,red,a\n2,3,b\n", encoding="utf-8")
    usage_error(capsys, ["train", *out, "--data", str(bad), "--target", "kind"],
                "--data: load_csv: " + str(bad) + " line 2, column 'y': 'red' is not a number")
    usage_error(capsys, ["train", *out, "--data", str(csv), "--target", "label"],
                "has no column 'label'; its header names 'width', 'height', 'kind'")
    usage_error(capsys, ["train", *out, "--target", "kind"],
                "--target COLUMN needs --data my.csv")
    usage_error(capsys, ["train", *out, "--dataset", "moons", "--data", str(csv), "--target",
                         "kind"], "--target is for a CSV table of your own")
    usage_error(capsys, ["train", *out, "--dataset", "csv"],
                "--dataset csv needs --data my.csv and --target COLUMN")
    usage_error(capsys, ["train", *out, "--data", str(csv)],
                "or with --target COLUMN for a CSV table of your own")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    usage_error(capsys, ["train", *out, "--data", str(empty), "--target", "kind"], "is empty")
    usage_error(capsys, ["train", *out, "--data", str(tmp_path / "nope.csv"), "--target",
                         "kind"], "load_csv: no such file")


def test_load_csv_inputs_reads_train_s_form_with_or_without_the_target(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,label,b\n1,10,0.5\n\n2,9,1e3\n", encoding="utf-8")
    with_target = load_csv_inputs(path, "label")
    np.testing.assert_array_equal(with_target.X, [[1, 0.5], [2, 1000]])
    assert with_target.features == ["a", "b"] and with_target.labels == ["10", "9"]
    without = load_csv_inputs(path)                   # no target: every column is a feature
    np.testing.assert_array_equal(without.X, [[1, 10, 0.5], [2, 9, 1000]])
    assert without.features == ["a", "label", "b"] and without.labels is None
    path.write_text("1,2\n3,4.5\n", encoding="utf-8")  # no header: numbers alone
    plain = load_csv_inputs(path, "label")
    np.testing.assert_array_equal(plain.X, [[1, 2], [3, 4.5]])
    assert plain.features is None and plain.labels is None


def test_predict_reads_the_csv_that_train_reads(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_blobs(tmp_path / "fruit.csv", n=30)
    out_dir = tmp_path / "out"
    assert main(["train", "--data", str(csv), "--target", "kind", "--layers", "4", "--epochs",
                 "3", "--out", str(out_dir), "--no-progress"]) == 0
    model = str(out_dir / "model.npz")
    assert read_metadata(model)["classes"] == ["apple", "pear", "plum"]
    capsys.readouterr()
    assert main(["predict", model, "--data", str(csv), "--limit", "2"]) == 0   # with its header
    out = capsys.readouterr().out
    assert f"predicting {csv} (30 labelled samples)" in out
    assert re.search(r"\n\s+0  prediction \d  label 2  (ok|WRONG)\n", out)     # 'plum' is 2
    assert re.search(r"accuracy: \d+\.\d% \(\d+/30\)", out)
    new = tmp_path / "new.csv"                        # new samples: the features alone
    new.write_text("width,height\n0.1,0.2\n2.1,1.9\n0,3\n", encoding="utf-8")
    assert main(["predict", model, "--data", str(new)]) == 0
    out = capsys.readouterr().out
    assert f"predicting {new} (3 samples)" in out and out.count("prediction") == 3
    assert "label" not in out and "accuracy" not in out
    wide = tmp_path / "wide.csv"
    wide.write_text("width,height,depth\n1,2,3\n", encoding="utf-8")
    usage_error(capsys, ["predict", model, "--data", str(wide)],
                "the model takes 2 features per sample, the file has 3 feature columns "
                "(width, height, depth)")
    odd = tmp_path / "odd.csv"
    odd.write_text("width,height,kind\n1,2,fig\n", encoding="utf-8")
    usage_error(capsys, ["predict", model, "--data", str(odd)],
                "column 'kind' holds 'fig', not among the classes the model was trained on")


def test_bad_record_options_are_refused_before_training(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--out", str(tmp_path / "out"), "--dataset", "xor"]
    usage_error(capsys, ["train", *out, "--record-every", "2"],
                "--record-every N needs --record PAGE.html")
    usage_error(capsys, ["train", *out, "--record", str(tmp_path)], "is a directory")
    usage_error(capsys, ["train", *out, "--record", str(tmp_path / "no" / "run.html")],
                "the directory")
    usage_error(capsys, ["train", *out, "--record", str(tmp_path / "r.html"),
                         "--record-every", "0"], "--record-every must be a positive integer")
    assert not (tmp_path / "out").exists()             # nothing trained, nothing written
