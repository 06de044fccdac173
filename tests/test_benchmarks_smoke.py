"""Smoke test of the benchmarks: every case runs once at tiny sizes and the table has its shape.

Timings are not asserted (they depend on the machine); this only keeps ``benchmarks/`` from
rotting as the engine changes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:                 # benchmarks/ is not part of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import cases  # noqa: E402
from benchmarks.run import main, run, summarize, time_case, to_markdown  # noqa: E402


@pytest.fixture(scope="module")
def tables() -> list[cases.Table]:
    return run(cases.TINY, repeats=1, out=None, verbose=False, min_time=0.0)


def test_every_case_has_a_section(tables: list[cases.Table]) -> None:
    keys = [t.key for t in tables]
    assert keys == ["scalar_mlp", "small_step", "large_step", "epoch", "record", "chain",
                    "cnn_epoch", "cnn_epoch_float32", "jacobian_square", "jacobian_wide", "hvp",
                    "jvp", "memory"]
    for table in tables:
        for row in table.rows:
            assert len(row) == len(table.header), (table.key, row)


def test_baselines_are_present_with_ratio_one(tables: list[cases.Table]) -> None:
    by_key = {t.key: t for t in tables}
    for key in ("small_step", "large_step"):
        rows = {row[0]: row for row in by_key[key].rows}
        assert rows["numpy"][3] == "1.00"
        assert "tinygrad_nn" in rows
    assert "tinygrad_nn float32" in {row[0] for row in by_key["large_step"].rows}


def test_the_cnn_cases_compare_with_torch_on_one_thread(tables: list[cases.Table]) -> None:
    by_key = {t.key: t for t in tables}
    for key in ("cnn_epoch", "cnn_epoch_float32"):
        rows = {row[0]: row for row in by_key[key].rows}
        assert "tinygrad_nn" in rows
        if cases.peers.load("torch") is not None:
            assert rows["torch 1 thread"][3] == "1.00" and "torch" in rows


def test_transform_cases_name_their_modes_and_the_mode_auto_chose(
        tables: list[cases.Table]) -> None:
    by_key = {t.key: t for t in tables}
    for key, chosen in (("jacobian_square", "rev"), ("jacobian_wide", "rev")):
        assert [row[0] for row in by_key[key].rows] == ["auto", "rev", "fwd",
                                                        "one vjp per row"]
        assert any(f"it chose {chosen!r} mode" in note for note in by_key[key].notes)
    assert [row[0] for row in by_key["hvp"].rows] == ["tn.grad", "backward()", "tn.hvp"]
    assert [row[0] for row in by_key["jvp"].rows] == ["forward", "forward, no_grad", "tn.jvp"]


@pytest.mark.parametrize("case", [cases.case_jacobian_square, cases.case_jacobian_wide])
def test_the_jacobian_runners_compute_the_same_jacobian(case: Any) -> None:
    runners = case(cases.TINY).runners
    rev = runners["rev"]()
    for name in ("auto", "fwd", "one vjp per row"):
        np.testing.assert_allclose(runners[name](), rev, rtol=1e-13, atol=1e-15, err_msg=name)


def test_the_compiled_rows_are_timed(tables: list[cases.Table]) -> None:
    by_key = {t.key: {row[0] for row in t.rows} for t in tables}
    assert "tinygrad_nn compiled (gc off)" in by_key["scalar_mlp"]
    assert "tinygrad_nn compiled" in by_key["small_step"]
    assert "tinygrad_nn train.fit compiled" in by_key["epoch"]


@pytest.mark.filterwarnings("ignore::tinygrad_nn.errors.TrainingWarning")
def test_the_numpy_epoch_reports_what_fit_reports() -> None:
    """The hand-written epoch does fit's work: the same mean loss, training accuracy,
    validation loss and accuracy as fit's History, from the same weights and order."""
    case = cases.case_epoch(cases.TINY)
    by_hand = case.runners["numpy"]()
    history = case.runners["tinygrad_nn train.fit"]()
    assert by_hand == pytest.approx((history.loss[0], history.accuracy[0],
                                     history.val_loss[0], history.val_accuracy[0]), rel=1e-12)
    assert 0 < by_hand[1] < 1 and 0 < by_hand[3] < 1


def test_micrograd_recursion_is_reported_not_raised(tables: list[cases.Table]) -> None:
    """micrograd's recursive build_topo fails on a chain deeper than the recursion limit: the
    case reports it as a row and carries on.  The limit is set here, because the process's own
    depends on what ran before (``import IPython`` raises it from 1,000 to 3,000, deeper than
    the tiny chain of 1,500 ops)."""
    chain = next(t for t in tables if t.key == "chain")
    assert "tinygrad_nn" in {row[0] for row in chain.rows}
    if cases.peers.load("micrograd") is None:
        pytest.skip("micrograd is not installed")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000)
    try:
        case = cases.case_chain(cases.TINY)
    finally:
        sys.setrecursionlimit(limit)
    assert "micrograd" not in case.runners
    assert "RecursionError" in case.failures["micrograd"]
    table = summarize(case, time_case(case, repeats=1, min_time=0.0))
    rows = {row[0]: row for row in table.rows}
    assert rows["micrograd"][1] == "fails" and "RecursionError" in rows["micrograd"][2]
    assert rows["tinygrad_nn"][1] != "fails"


def test_memory_growth_is_bounded(tables: list[cases.Table]) -> None:
    """No per-step growth: at most NumPy's small-buffer cache moving (tens of bytes)."""
    memory = next(t for t in tables if t.key == "memory")
    growth = [row for row in memory.rows if row[0].startswith("growth")]
    assert growth
    for row in growth:
        assert abs(int(row[2].split()[0].replace(",", ""))) < 1024, row


def test_markdown_lists_machine_and_every_section(tables: list[cases.Table]) -> None:
    text = to_markdown(tables, cases.peers.machine(), "python -m benchmarks.run")
    assert text.startswith("# Benchmark results")
    assert "| CPU |" in text and "| NumPy |" in text
    for table in tables:
        assert f"## {table.title}" in text


def test_quick_cli_writes_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import benchmarks.run as bench_run

    monkeypatch.setattr(bench_run, "FULL", cases.TINY)
    monkeypatch.setattr(bench_run, "TIMED_CASES", (cases.case_epoch,))
    monkeypatch.setattr(bench_run, "case_memory",
                        lambda sizes: cases.Table("memory", "(6) Memory", ["a"], [["b"]]))
    out = tmp_path / "results.md"
    assert main(["--quick", "--repeats", "1", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "## (4) One epoch" in text and "## (6) Memory" in text


def test_the_tracked_results_are_not_overwritten_by_default(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m benchmarks.run`` prints; only ``--out`` writes a file, so the committed
    benchmarks/results.md changes only on purpose."""
    import benchmarks.run as bench_run

    monkeypatch.setattr(bench_run, "FULL", cases.TINY)
    monkeypatch.setattr(bench_run, "TIMED_CASES", (cases.case_epoch,))
    monkeypatch.setattr(bench_run, "case_memory",
                        lambda sizes: cases.Table("memory", "(6) Memory", ["a"], [["b"]]))
    tracked = ROOT / "benchmarks" / "results.md"
    before = tracked.read_bytes()
    try:
        assert main(["--quick", "--repeats", "1"]) == 0
        assert tracked.read_bytes() == before
    finally:                                      # never leave a clobbered file behind
        if tracked.read_bytes() != before:
            tracked.write_bytes(before)
    printed = capsys.readouterr().out
    assert printed.startswith("# Benchmark results") and "## (4) One epoch" in printed


def test_case_option_runs_only_the_named_cases(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import benchmarks.run as bench_run

    monkeypatch.setattr(bench_run, "FULL", cases.TINY)
    out = tmp_path / "results.md"
    assert main(["--case", "small_step", "--repeats", "1", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "## (2) One SGD step" in text
    assert "## (1)" not in text and "## (6)" not in text
    assert "`python -m benchmarks.run --case small_step --repeats 1`" in text
    with pytest.raises(ValueError, match="unknown case 'nope'"):
        run(cases.TINY, repeats=1, out=None, verbose=False, only=["nope"])


def test_processes_time_each_case_in_fresh_interpreters() -> None:
    """Two spawned processes: one number per process and implementation, and a note saying so."""
    import benchmarks.run as bench_run

    case, per_process = bench_run.time_case_in_processes("scalar_mlp", 2, cases.TINY, repeats=1,
                                                         min_time=0.0)
    assert case.key == "scalar_mlp" and case.runners == {}
    assert per_process and all(len(values) == 2 for values in per_process.values())
    assert all(v > 0.0 for values in per_process.values() for v in values)
    assert any("median over 2 fresh processes" in note for note in case.notes)
    table = bench_run.summarize(case, per_process)
    assert table.rows[0][0] == "tinygrad_nn"


def test_cpu_clock_counts_the_process_cpu_time_and_says_so(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """--clock cpu times with time.process_time: a sleeping runner costs (almost) nothing."""
    import time

    import benchmarks.run as bench_run

    def busy() -> None:
        end = time.process_time() + 0.002
        while time.process_time() < end:
            pass

    case = cases.Case("t", "t", "busy", {"busy": busy, "sleeps": lambda: time.sleep(0.002)})
    wall = bench_run.time_case(case, repeats=2, min_time=0.0)
    cpu = bench_run.time_case(case, repeats=2, min_time=0.0, clock="cpu")
    assert min(wall["sleeps"]) >= 0.0019 and max(cpu["sleeps"]) < 0.001
    assert min(cpu["busy"]) >= 0.0019
    monkeypatch.setattr(bench_run, "FULL", cases.TINY)
    out = tmp_path / "results.md"
    assert main(["--case", "small_step", "--repeats", "1", "--clock", "cpu",
                 "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "--clock cpu`" in text and "Times are CPU time of the process" in text
    with pytest.raises(ValueError, match="unknown clock 'gpu'"):
        run(cases.TINY, repeats=1, out=None, verbose=False, only=["small_step"], clock="gpu")
