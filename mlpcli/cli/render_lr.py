"""Rich renderings of ``mlp lr``: the curvature figures, the recommendation, the scan."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlpcli.cli.render import _kv_table, num

if TYPE_CHECKING:
    from mlpcli.config import Config
    from mlpcli.curvature import Advice, CurvatureReport, PowerIteration
    from mlpcli.lrscan import Scan

VERDICT_STYLE = {
    "too small": "yellow",
    "good": "green",
    "best": "bold green",
    "unstable": "red",
    "diverged": "bold red",
}


def _power(p: PowerIteration) -> str:
    state = "converged" if p.converged else "not converged"
    shifted = (
        ", on a shifted H: a negative eigenvalue, or −λ as large as λ, dominated"
        if p.shifted
        else ""
    )
    return (
        f"{p.iterations} products, last relative change {p.relative_change:.1e}, {state}{shifted}"
    )


def curvature_tables(
    console: Console,
    report: CurvatureReport,
    advice: Advice,
    config: Config,
    where: str,
    command: str | None,
    scaled_command: str | None = None,
) -> None:
    """The whole-network figures, the per-layer table and the recommendation, with the
    ``mlp train`` ``command`` that applies it (and ``scaled_command``, per-layer rates)."""
    title = f"Curvature of E: {where} (batch of {report.batch}, float64)"
    console.print(_kv_table(title, _whole_rows(report, advice, config)))
    console.print(_layer_table(report, advice))
    if advice.lr is None:
        console.print(Text("no recommendation: ", style="bold") + Text(advice.reason))
        return
    console.print(
        Text(f"recommended η = {advice.lr:.3g}", style="bold green")
        + Text(f" ({config.train.optimizer.name}): {advice.reason}.")
    )
    console.print(f"  {command}", markup=False, highlight=False, soft_wrap=True)
    if scaled_command is not None:
        console.print(
            "or per layer, each block as curved as the most curved one, at η = "
            f"1/λ_max(S^½ H S^½) = {advice.lr_with_scale:.3g} (the blocks are coupled: "
            "compare the two with a scan):"
        )
        console.print(f"  {scaled_command}", markup=False, highlight=False, soft_wrap=True)


def _whole_rows(report: CurvatureReport, advice: Advice, config: Config) -> list[tuple]:
    """(name, value) rows of the whole network's figures."""
    w = report.whole
    standardized = " (targets standardized)" if config.data.standardize_target else ""
    rows = [("E on the batch" + standardized, num(report.loss, 6)), ("‖g‖", num(w.grad_norm))]
    if report.lr_scale is None:
        rows += [
            ("curvature along −g", f"gᵀHg / gᵀg = {num(w.curvature)}"),
            ("η_opt along −g", f"gᵀg / gᵀHg = {num(w.eta_opt)}"),
            ("λ_max", f"{num(w.lambda_max)}  ({_power(w.power)})"),
        ]
    else:  # the step is −η S g: the figures of S^½ H S^½ (curvature.py)
        scales = ", ".join(f"{s:g}" for s in report.lr_scale)
        rows += [
            ("train.lr_scale", f"[{scales}]: S = diag(lr_scale), layer i steps at η·lr_scale[i]"),
            ("curvature along −Sg", f"gᵀSHSg / gᵀSg = {num(w.curvature)}"),
            ("η_opt along −Sg", f"gᵀSg / gᵀSHSg = {num(w.eta_opt)}"),
            ("λ_max of S^½ H S^½", f"{num(w.lambda_max)}  ({_power(w.power)})"),
        ]
    rows.append(("stability bound", f"2/λ_max = {num(w.stability_bound)}"))
    if advice.bound is not None and advice.bound[1] != "2/λ_max":
        rows.append(("with momentum", f"{advice.bound[1]} = {num(advice.bound[0])}"))
    if report.adam_eta is not None and config.train.optimizer.name != "sgd":
        rows.append(("η along Adam's 1st step", num(report.adam_eta)))
    return rows


def _layer_table(report: CurvatureReport, advice: Advice) -> Table:
    """One row per layer: the figures of the Hessian block of its W and b."""
    table = Table(
        title="Per layer: the Hessian block of its W and b"
        + ("" if report.lr_scale is None else " (without lr_scale: to choose it)"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    columns = ["layer", "params", "gᵀHg/gᵀg", "η_opt", "λ_max", "2/λ_max", "iters"]
    if advice.lr_scale is not None:
        columns.append("lr_scale")
    for col in columns:
        table.add_column(col, justify="left" if col == "layer" else "right")
    for i, b in enumerate(report.layers):
        cells = [b.name, f"{b.parameters:,}", _short(b.curvature),
                 _short(b.eta_opt), _short(b.lambda_max), _short(b.stability_bound),
                 f"{b.power.iterations}{'' if b.power.converged else '*'}"]  # fmt: skip
        if advice.lr_scale is not None:
            cells.append(f"{advice.lr_scale[i]:g}")
        table.add_row(*cells)
    return table


def _short(value: float | None) -> str:
    """:func:`num` with the exponent unpadded (1.309e5, 7.641e-6): eight columns of the
    per-layer table then fit in 80 characters (a pipe, a log) without cutting a number."""
    return re.sub(r"e([+-])0*(\d)", lambda m: f"e{'-' if m[1] == '-' else ''}{m[2]}", num(value))


def scan_table(console: Console, scan: Scan, report: CurvatureReport, advice: Advice) -> None:
    """One row per η, with η_opt, the recommendation and 2/λ_max inserted where they fall."""
    length = f"{scan.steps} steps" if scan.steps is not None else f"{scan.epochs} epochs"
    table = Table(
        title=f"Learning-rate scan: {length} at each η from the same start "
        f"(training loss at the start {num(scan.initial_loss)})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    has_val = any(p.val_loss is not None for p in scan.points)
    for col in ("η", "training loss after", *(("val loss",) if has_val else ()), "verdict"):
        table.add_column(col, justify="left" if col == "verdict" else "right")
    marks = _marks(
        [
            (
                report.whole.eta_opt,
                "η_opt = gᵀg/gᵀHg" if report.lr_scale is None else "η_opt = gᵀSg/gᵀSHSg",
            ),
            (advice.lr, "recommended"),
            (report.whole.stability_bound, "2/λ_max"),
            advice.bound if advice.bound and advice.bound[1] != "2/λ_max" else (None, ""),
        ]
    )
    width = 3 if has_val else 2
    for p in scan.points:
        while marks and marks[0][0] <= p.lr:
            _mark(table, *marks.pop(0), width)
        verdict = Text(p.verdict, style=VERDICT_STYLE.get(p.verdict, ""))
        cells = [f"{p.lr:.3g}", num(p.loss)]
        if has_val:
            cells.append(num(p.val_loss))
        table.add_row(*cells, verdict)
    for mark in marks:
        _mark(table, *mark, width)
    console.print(table)
    edge = {scan.points[0].lr: ("smallest", "--from"), scan.points[-1].lr: ("largest", "--to")}
    if scan.best is not None and scan.best.lr in edge:
        which, option = edge[scan.best.lr]
        console.print(
            f"The best η is the {which} scanned: widen the grid ({option}) to see past it."
        )


def _marks(marks: list[tuple[float | None, str]]) -> list[tuple[float, str]]:
    """The marks that have a value, sorted, those within 10⁻⁹ of each other on one line."""
    out: list[tuple[float, str]] = []
    for value, label in sorted((v, label) for v, label in marks if v is not None):
        if out and abs(value - out[-1][0]) <= 1e-9 * value:
            out[-1] = (out[-1][0], f"{out[-1][1]}, {label}")
        else:
            out.append((value, label))
    return out


def _mark(table: Table, value: float, label: str, width: int) -> None:
    table.add_row(f"── {value:.3g}", *([""] * (width - 1)), Text(f"◀ {label}", style="cyan"))
