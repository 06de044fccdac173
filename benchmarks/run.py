"""Run every benchmark case side by side and print the tables (Markdown).

    python -m benchmarks.run            # the full run (a few minutes), printed
    python -m benchmarks.run --out /tmp/results.md     # also written to a file
    python -m benchmarks.run --quick    # fewer repetitions, a shorter memory-growth run
    python -m benchmarks.run --case small_step --processes 5  # one case, 5 fresh processes
    python -m benchmarks.run --clock cpu  # the process's CPU time instead of elapsed time

Within a process every implementation of a case is timed side by side, repetitions interleaved
(the order rotates every repetition), and the median of the repetitions is reported with its
ratio to the case's baseline (hand-written NumPy, or micrograd for the scalar MLP).  Small steps
also move from process to process (where the arrays land in memory, what the machine is doing),
so ``--processes N`` times each case in N fresh interpreters and reports the median of the N
per-process medians, with the lowest and highest of them as the spread.  On a shared machine
elapsed time also counts the moments the machine ran something else; ``--clock cpu`` measures
the process's CPU time instead.

Nothing is written unless ``--out`` names a file: the tracked ``benchmarks/results.md`` (the
run the docs quote) is replaced only on purpose, with ``--out benchmarks/results.md``.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from . import peers
from .cases import FULL, TIMED_CASES, Case, Sizes, Table, case_memory

COMMAND = "python -m benchmarks.run"


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
"""``--clock``: elapsed time, or the CPU time of the process (all its threads)."""

CPU_CLOCK_NOTE = ("Times are CPU time of the process (--clock cpu, time.process_time), not "
                  "elapsed time: time the machine gives to other work is left out. For "
                  "single-threaded code (NumPy with one BLAS thread, tinygrad_nn, micrograd, "
                  "autograd, 'torch 1 thread') the two agree on an idle machine; a row that "
                  "runs several threads (torch's default) counts the CPU time of all of them.")


def time_case(case: Case, repeats: int, min_time: float = 0.05,
              clock: str = "wall") -> dict[str, list[float]]:
    """Seconds per call of every runner: ``repeats`` samples each, interleaved across runners.

    Each sample runs ``number`` calls, ``number`` chosen once per runner so a sample lasts at
    least ``min_time`` seconds (a slow runner gets one call per sample).  ``clock`` is a key
    of ``CLOCKS``.
    """
    now = CLOCKS[clock]
    names = list(case.runners)
    numbers: dict[str, int] = {}
    for name in names:                        # warm-up call, and the calls per sample
        start = now()
        case.runners[name]()
        once = max(now() - start, 1e-7)
        numbers[name] = max(case.number, min(10_000, int(min_time / once) + 1))
    samples: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(repeats):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            run, number = case.runners[name], numbers[name]
            gc.collect()
            start = now()
            for _ in range(number):
                run()
            samples[name].append((now() - start) / number)
    return samples


def _time_alone(key: str, sizes: Sizes, repeats: int, min_time: float,
                blas_threads: int | None, clock: str = "wall"
                ) -> tuple[Case, dict[str, list[float]]]:
    """Build and time one case (run in a fresh interpreter); the case comes back without runners."""
    if blas_threads is not None:
        peers.limit_blas_threads(blas_threads)
    case = _MAKERS[key](sizes)
    samples = time_case(case, repeats, min_time, clock) if case.runners else {}
    return replace(case, runners={}), samples


def time_case_in_processes(key: str, processes: int, sizes: Sizes, repeats: int,
                           min_time: float = 0.05, blas_threads: int | None = None,
                           clock: str = "wall") -> tuple[Case, dict[str, list[float]]]:
    """Time case ``key`` in ``processes`` fresh interpreters, one after the other.

    Returns the case (without runners) and, per implementation, the median of each process's
    repetitions: one number per process.
    """
    context = multiprocessing.get_context("spawn")
    per_process: dict[str, list[float]] = {}
    case: Case | None = None
    with context.Pool(1, maxtasksperchild=1) as pool:      # a new interpreter for every task
        for _ in range(processes):
            case, samples = pool.apply(_time_alone,
                                       (key, sizes, repeats, min_time, blas_threads, clock))
            for name, s in samples.items():
                per_process.setdefault(name, []).append(statistics.median(s))
    assert case is not None
    case.notes.append(f"Each figure is the median over {processes} fresh processes of the "
                      f"per-process median ({repeats} interleaved repetitions each); min … max "
                      "are the lowest and highest per-process medians.")
    return case, per_process


def _fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def summarize(case: Case, samples: dict[str, list[float]]) -> Table:
    """The Markdown rows of a timed case: median, spread, ratio to the baseline, per-op time."""
    medians = {name: statistics.median(s) for name, s in samples.items()}
    base = medians.get(case.baseline)
    per_op = bool(case.ops)
    header = ["implementation", "median", "min … max", f"ratio to {case.baseline}"]
    if per_op:
        header.append("per op")
    rows = []
    for name, s in samples.items():
        ratio = f"{medians[name] / base:.2f}" if base else "—"
        row = [name, _fmt_time(medians[name]), f"{_fmt_time(min(s))} … {_fmt_time(max(s))}",
               ratio]
        if per_op:
            n = case.ops.get(name)
            row.append(f"{medians[name] / n * 1e6:.2f} µs ({n:,} ops)" if n else "—")
        rows.append(row)
    for name, why in case.failures.items():
        rows.append([name, "fails", why, "—"] + (["—"] if per_op else []))
    notes = list(case.notes)
    for name, other in case.compare:
        if name in medians and other in medians:
            notes.append(f"'{name}' takes {medians[name] / medians[other]:.3f} of the time of "
                         f"'{other}': {medians[other] / medians[name]:.1f}× faster.")
    if not samples:
        rows = []
    return Table(case.key, case.title, header, rows, notes)


def to_markdown(tables: Sequence[Table], machine: dict[str, str], command: str) -> str:
    """The results file: machine description, command, then one section per case."""
    lines = ["# Benchmark results", "",
             f"Generated by `{command}`. Times are medians of interleaved repetitions in one "
             "process (with `--processes N`, the median of N such medians, each from a fresh "
             "process); ratios are median ÷ the baseline's median (below 1 is faster).", "",
             "| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine.items()]
    for table in tables:
        lines += ["", f"## {table.title}", ""]
        if table.rows:
            lines.append("| " + " | ".join(table.header) + " |")
            lines.append("|" + "|".join("---" for _ in table.header) + "|")
            lines += ["| " + " | ".join(row) + " |" for row in table.rows]
            lines.append("")
        lines += [f"- {note}" for note in table.notes]
    return "\n".join(lines) + "\n"


_MAKERS = {make.__name__.removeprefix("case_"): make for make in TIMED_CASES}
CASE_KEYS = (*_MAKERS, "memory")
"""The names ``--case`` accepts: each timed case's key, and ``memory``."""


def run(sizes: Sizes = FULL, repeats: int = 9, out: Path | None = None,
        command: str = COMMAND, verbose: bool = True, min_time: float = 0.05,
        only: Sequence[str] | None = None, processes: int = 1,
        blas_threads: int | None = None, clock: str = "wall") -> list[Table]:
    """Build, time and summarize every case (or the ``only`` ones); print the Markdown
    (``verbose``) and write it to ``out`` when given.

    ``processes > 1`` times each case in that many fresh interpreters (see
    ``time_case_in_processes``); ``blas_threads`` is applied in each of them; ``clock`` is
    ``"wall"`` (elapsed time) or ``"cpu"`` (the process's CPU time).
    """
    if clock not in CLOCKS:
        raise ValueError(f"run: unknown clock {clock!r}; expected one of {list(CLOCKS)}")
    unknown = sorted(set(only or ()) - set(CASE_KEYS))
    if unknown:
        raise ValueError(f"run: unknown case {unknown[0]!r}; expected one of {list(CASE_KEYS)}")
    tables = []
    for key, make in _MAKERS.items():
        if only and key not in only:
            continue
        if verbose:
            print(f"{key} ...", file=sys.stderr, flush=True)
        if processes > 1:
            case, samples = time_case_in_processes(key, processes, sizes, repeats, min_time,
                                                   blas_threads, clock)
        else:
            case = make(sizes)
            samples = time_case(case, repeats, min_time, clock) if case.runners else {}
        if clock == "cpu" and samples:
            case.notes.append(CPU_CLOCK_NOTE)
        tables.append(summarize(case, samples))
        del case
        gc.collect()
    if not only or "memory" in only:
        if verbose:
            print("(6) memory ...", file=sys.stderr, flush=True)
        tables.append(case_memory(sizes))
    text = to_markdown(tables, peers.machine(), command)
    if out is not None:
        out.write_text(text, encoding="utf-8")
    if verbose:
        print(text)
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.run [--quick] [--repeats N] [--case NAME] [--processes N] ...``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="3 repetitions and a 100 → 1,000 step memory-growth run")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repetitions per implementation (default 9, 3 with --quick)")
    parser.add_argument("--case", action="append", choices=CASE_KEYS, dest="cases",
                        metavar="NAME", help=f"run only this case (repeatable): "
                                             f"{', '.join(CASE_KEYS)}")
    parser.add_argument("--processes", type=int, default=1, metavar="N",
                        help="time each case in N fresh interpreters and report the median of "
                             "their medians (default 1: everything in this process)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="also write the Markdown to FILE (default: only print it; "
                             "--out benchmarks/results.md replaces the tracked results)")
    parser.add_argument("--blas-threads", type=int, default=None, metavar="N",
                        help="limit NumPy's BLAS to N threads (needs threadpoolctl); torch "
                             "keeps its default")
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall",
                        help="wall: elapsed time (default); cpu: the process's CPU time, "
                             "which leaves out time the machine gives to other work")
    args = parser.parse_args(argv)
    sizes = replace(FULL, growth_steps=(100, 1_000)) if args.quick else FULL
    repeats = args.repeats or (3 if args.quick else 9)
    command = COMMAND + (" --quick" if args.quick else "")
    command += "".join(f" --case {key}" for key in args.cases or ())
    command += f" --repeats {args.repeats}" if args.repeats else ""
    command += f" --processes {args.processes}" if args.processes > 1 else ""
    command += f" --clock {args.clock}" if args.clock != "wall" else ""
    if args.processes < 1:
        parser.error(f"--processes must be at least 1, got {args.processes}")
    if args.blas_threads is not None:
        if not peers.limit_blas_threads(args.blas_threads):
            parser.error("--blas-threads needs threadpoolctl (pip install -e \".[bench]\")")
        command += f" --blas-threads {args.blas_threads}"
    run(sizes, repeats, args.out, command, only=args.cases, processes=args.processes,
        blas_threads=args.blas_threads, clock=args.clock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
