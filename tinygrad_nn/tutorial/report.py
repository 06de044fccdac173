"""A text report of an example: forward pass, the loss, and every gradient three ways."""

from __future__ import annotations

from .errata import FigureVerdict
from .examples import HAND_ENGINE_TOL, NUMERIC_TOL, ExampleResult

__all__ = ["format_report"]


def _fig(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _verdict(verdict: FigureVerdict | None) -> str:
    return "" if verdict is None else f"  {verdict}"


def format_report(result: ExampleResult, digits: int = 6) -> str:
    """The forward pass, the loss and a table per parameter: tutorial | hand | engine | numeric.

    "max |Δ|" is the largest of |hand − engine|, |engine − numeric| and |hand − numeric|;
    "verdict" marks each printed figure exact, rounding or a mistake (``errata.judge_figure``).
    The last line says whether hand == engine to 1e-10 and both == finite differences to 1e-6.
    """
    w = digits + 7
    lines = [result.title, f"source: {result.source}", "", "Forward pass"]
    lines.append(f"  {'quantity':<12}{'tutorial':>10}{'computed':>{w}}  verdict")
    for r in result.forward:
        lines.append(f"  {r.symbol:<12}{_fig(r.printed):>10}{r.value:>{w}.{digits}f}"
                     f"{_verdict(r.verdict)}")
    lines.append(f"  {result.loss_symbol:<12}{_fig(result.loss_printed):>10}"
                 f"{result.loss:>{w}.{digits}f}{_verdict(result.loss_verdict)}")
    lines += ["", f"Gradients ∂{result.loss_symbol}/∂p: hand-derived (delta rule), engine "
              "(backward), numeric (central differences)"]
    lines.append(f"  {'p':<8}{'entry':<24}{'tutorial':>9}{'hand':>{w}}{'engine':>{w}}"
                 f"{'numeric':>{w}}{'max |Δ|':>11}  verdict")
    for g in result.gradients:
        worst = max(g.hand_engine, g.engine_numeric, g.hand_numeric)
        lines.append(f"  {g.symbol:<8}{g.parameter:<24}{_fig(g.printed):>9}"
                     f"{g.hand:>{w}.{digits}f}{g.engine:>{w}.{digits}f}"
                     f"{g.numeric:>{w}.{digits}f}{worst:>11.1e}{_verdict(g.verdict)}")
    lines += ["", "Error signals δ = ∂E/∂net per layer (hand | engine via retain_grad)"]
    for d in result.deltas:
        hand = ", ".join(f"{v:.{digits}f}" for v in d.hand.ravel())
        eng = ", ".join(f"{v:.{digits}f}" for v in d.engine.ravel())
        lines.append(f"  {d.layer:<14} [{hand}] | [{eng}]")
    if result.chain:
        lines += ["", "Chain-rule factors (seed 004): ∂C/∂w = ∂z/∂w · ∂a/∂z · ∂C/∂a"]
        lines.append(f"  {'L':<3}{'∂z/∂w=a(L-1)':>15}{'∂a/∂z=σ′(z)':>15}{'∂C/∂a':>15}"
                     f"{'∂C/∂w':>15}{'∂C/∂b':>15}")
        for f in result.chain:
            lines.append(f"  {f.layer:<3}{f.dz_dw:>15.{digits}f}{f.da_dz:>15.{digits}f}"
                         f"{f.dC_da:>15.{digits}f}{f.dC_dw:>15.{digits}f}"
                         f"{f.dC_db:>15.{digits}f}")
    if result.notes:
        lines += [""] + [f"note: {n}" for n in result.notes]
    verdict = "OK" if result.ok else "MISMATCH"
    lines += ["", f"{verdict}: max |hand − engine| = {result.max_hand_engine:.1e} "
              f"(limit {HAND_ENGINE_TOL:.0e}), max |numeric − analytic| = "
              f"{result.max_numeric:.1e} (limit {NUMERIC_TOL:.0e})"]
    return "\n".join(lines)
