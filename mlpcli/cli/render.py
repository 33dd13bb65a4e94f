"""Rich renderings for humans, on stderr: config summary, epoch rows, result tables."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlpcli.metrics import METRIC

if TYPE_CHECKING:
    from mlpcli.experiment import Experiment
    from mlpcli.gradcheck import TensorCheck
    from mlpcli.runs import RunDir, RunResult
    from mlpcli.train import EpochRecord

#: Epoch rows shown for a long run (plus the first and the last).
ROWS = 20


def num(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f}ms" if seconds < 1 else f"{seconds:.2f}s"


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _kv_table(title: str, rows: list[tuple[str, str]]) -> Text:
    """A title, then one ``key  value`` line per row. Plain lines, not a table: a table
    would break a long value mid-phrase to fit a narrow terminal, and the console's
    soft wrap leaves a long line whole (the terminal wraps it; a pipe keeps it)."""
    width = max((len(k) for k, _ in rows), default=0)
    text = Text(title, style="italic")
    for k, v in rows:
        text.append("\n" + k.ljust(width), style="bold").append("  " + v)
    return text


def describe_lr(exp: Experiment) -> str:
    train = exp.config.train
    lr = train.lr
    hidden = {"schedule", "initial", "warmup"} | ({"unit"} if lr.schedule == "constant" else set())
    extra = {k: v for k, v in lr.model_dump().items() if k not in hidden}
    text = f"{lr.initial:g}"
    if lr.schedule != "constant":
        text += f", {lr.schedule} " + ", ".join(f"{k}={v}" for k, v in extra.items())
    if lr.warmup:
        text += f", warmup {lr.warmup} {getattr(lr, 'unit', 'epoch')}s"
    if train.lr_scale is not None:
        text += ", per layer ×[" + ", ".join(f"{s:g}" for s in train.lr_scale) + "]"
    if train.clip_norm is not None:
        text += f"; gradient norm clipped at {train.clip_norm:g}"
    return text


def describe_optimizer(exp: Experiment) -> str:
    opt = exp.config.train.optimizer
    if opt.name == "sgd":
        text = "SGD" + (f", momentum {opt.momentum:g}" if opt.momentum else "")
        return text + (", Nesterov" if opt.nesterov else "")
    text = {"adam": "Adam", "adamw": "AdamW"}[opt.name]
    text += f" (β₁ {opt.beta1:g}, β₂ {opt.beta2:g}, ε {opt.eps:g}"
    return text + (f", weight decay {opt.weight_decay:g})" if opt.name == "adamw" else ")")


def describe_batch(exp: Experiment) -> str:
    b = exp.config.train.batch
    if b.mode == "batch":
        return f"batch (all {len(exp.train)} examples, 1 step/epoch)"
    if b.mode == "stochastic":
        return f"stochastic (1 example, {len(exp.train)} steps/epoch)"
    text = f"minibatch of {b.size}"
    if b.growth:
        g = b.growth
        text += f", ×{g.factor:g} every {g.every} epochs up to {g.max or len(exp.train)}"
    return text


def describe_regularizer(exp: Experiment) -> str:
    r = exp.config.regularizer
    if r.type == "none":
        return "none"
    lams = f"λ₁={r.lambda_l1:g}, λ₂={r.lambda_l2:g}" if r.type == "elastic" else f"λ={r.lam:g}"
    return f"{r.type} ({lams}{', biases too' if r.include_bias else ''})"


def describe_inputs(exp: Experiment) -> list[tuple[str, str]]:
    """The 'inputs' row: the columns treated as categorical and how missing values are
    filled (none for all-numeric data without imputation)."""
    encoder = exp.model.inputs.encoder
    if encoder is None:
        return []
    return [("inputs", f"{encoder.describe()} → {encoder.n_outputs} columns")]


def describe_class_weight(exp: Experiment) -> str:
    """', class weights a 0.62, b 2.6' (the weights the loss uses), or ''."""
    if exp.class_weight is None:
        return ""
    pairs = zip(exp.classes.tolist()[:10], exp.class_weight.tolist())
    more = ", …" if len(exp.classes) > 10 else ""
    return ", class weights " + ", ".join(f"{c} {w:.3g}" for c, w in pairs) + more


def network_table(exp: Experiment) -> Table:
    model = exp.model
    table = Table(title="Network", title_justify="left")
    for name, justify in (
        ("layer", "left"),
        ("W shape", "right"),
        ("activation", "left"),
        ("parameters", "right"),
    ):
        table.add_column(name, justify=justify)
    basis = model.inputs.basis
    if basis is not None:
        table.add_row(
            f"φ {basis.name}",
            f"{model.n_inputs} → {model.layers[0].in_features}",
            "fixed",
            "0",
        )
    for layer, act in zip(model.layers, model.activations):
        n = layer.weight.value.size + layer.bias.value.size
        table.add_row(
            layer.weight.name.rsplit(".", 1)[0],
            f"{layer.out_features} × {layer.in_features}",
            act,
            f"{n:,}",
        )
    total = sum(p.value.size for p in model.parameters())
    table.add_row("total", "", "", f"{total:,}", style="bold")
    return table


class TrainingDisplay:
    """Prints the run summary, one row per (selected) epoch, and the result table."""

    #: An epoch this long (seconds) gets a progress bar of its own, on a terminal.
    LONG_EPOCH = 2.0

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = None
        self.task = None
        self.rows_task = None  # the bar within a long epoch
        self.epoch_started: float | None = None
        self.every = 1
        self.metric = "accuracy"
        self.last_printed = 0

    def start(self, exp: Experiment, run: RunDir) -> None:
        c = self.console
        d = exp.config.data
        self.metric = METRIC[exp.task]
        epochs = exp.config.train.epochs
        self.every = max(1, math.ceil(epochs / ROWS))
        sizes = f"{len(exp.train)} train"
        if exp.validation is not None:
            sizes += f", {len(exp.validation)} validation"
        if exp.test is not None:
            sizes += f", {len(exp.test)} test"
        task = exp.task
        if exp.classes is not None:
            task += f", {len(exp.classes)} classes"
        rows = [
            ("run", str(run.path)),
            (
                "data",
                f"{sizes}; {exp.model.n_inputs} features; {task}"
                + ("; standardized" if d.standardize else "")
                + ("; targets standardized" if d.standardize_target else ""),
            ),
            *describe_inputs(exp),
            ("loss", exp.config.loss + describe_class_weight(exp)),
            ("regularizer", describe_regularizer(exp)),
            ("optimizer", describe_optimizer(exp)),
            ("batches", describe_batch(exp)),
            ("learning rate", describe_lr(exp)),
            ("epochs", str(epochs)),
            ("dtype / seed", f"{exp.config.dtype} / {exp.config.seed}"),
        ]
        c.print(_kv_table("Training", rows))
        c.print(network_table(exp))
        header = (
            f"{'epoch':>7} {'train loss':>11} {'val loss':>11} {'train ' + self.metric[:3]:>10} "
            f"{'val ' + self.metric[:3]:>10} {'lr':>9} {'batch':>7} {'time':>8}"
        )
        c.print(Text(header, style="bold"))
        if c.is_terminal and not c.quiet:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("{task.description} {task.completed}/{task.total}"),
                BarColumn(),
                TimeRemainingColumn(),
                console=c,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("epoch", total=epochs)
        self.epoch_started = time.monotonic()

    def _row(self, r: EpochRecord) -> Text:
        value = pct if self.metric == "accuracy" else num
        return Text(
            f"{r.epoch:>7} {num(r.train_loss):>11} {num(r.val_loss):>11} "
            f"{value(r.train_metric):>10} {value(r.val_metric):>10} {r.lr:>9.3g} "
            f"{r.batch_size:>7} {duration(r.seconds):>8}"
        )

    def within_epoch(self, done: int, total: int) -> None:
        """Examples done in the current epoch: a bar of their own once the epoch has
        lasted :attr:`LONG_EPOCH` seconds (only on a terminal)."""
        if self.progress is None:
            return
        if self.rows_task is None:
            if time.monotonic() - (self.epoch_started or 0.0) < self.LONG_EPOCH:
                return
            self.rows_task = self.progress.add_task("examples", total=total)
        self.progress.update(self.rows_task, completed=done, total=total)

    def epoch(self, record: EpochRecord) -> None:
        self.epoch_started = time.monotonic()  # the next one starts now
        if self.progress is not None:
            if self.rows_task is not None:
                self.progress.remove_task(self.rows_task)
                self.rows_task = None
            self.progress.update(self.task, completed=record.epoch)
        if record.epoch == 1 or record.epoch % self.every == 0:
            self.console.print(self._row(record))
            self.last_printed = record.epoch

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def finish(self, result: RunResult) -> None:
        self.stop()
        st = result.state
        if st.history and st.history[-1].epoch != self.last_printed:
            self.console.print(self._row(st.history[-1]))
        s = result.summary or {}
        m = s.get("metric", self.metric)
        value = pct if m == "accuracy" else num
        rows = [
            (
                "stopped",
                {
                    "completed": "completed all epochs",
                    "early_stopping": "early stopping",
                    "interrupted": "interrupted",
                    "diverged": "diverged",
                }.get(st.stop_reason, str(st.stop_reason)),
            ),
            ("epochs / steps", f"{st.epoch} / {st.step}"),
            ("wall time", duration(st.elapsed)),
        ]
        final = s.get("final") or {}
        if final:
            rows.append(
                ("train loss / " + m, f"{num(final['train_loss'])} / {value(final['train_' + m])}")
            )
            if final.get("val_loss") is not None:
                rows.append(
                    ("val loss / " + m, f"{num(final['val_loss'])} / {value(final['val_' + m])}")
                )
        best = s.get("best")
        if best and best.get("restored"):
            rows.append(
                (
                    "best epoch",
                    f"{best['epoch']} ({best['metric']} {num(best['value'])}), weights restored",
                )
            )
        if s.get("test"):
            rows.append(("test loss / " + m, f"{num(s['test']['loss'])} / {value(s['test'][m])}"))
        report = s.get("test") or s.get("validation")
        if report and "r2" in report:
            which = "test" if s.get("test") else "validation"
            rows.append((f"{which} R² / MAE", f"{num(report['r2'])} / {num(report['mae'])}"))
        rows.append(("saved", str(result.run.path)))
        self.console.print(_kv_table("Result", rows))


#: Classes shown one per row in the per-class table; beyond, the worst by F1.
CLASS_ROWS = 30
#: Classes up to which the confusion matrix is drawn whole; beyond, its largest errors.
MATRIX_CLASSES = 20


def eval_tables(console: Console, report: dict) -> None:
    """The evaluation report as tables. Nothing is built when the console is quiet, and
    nothing grows with K² (a report may have thousands of classes)."""
    if console.quiet:
        return
    rows = [
        ("data", str(report["data"])),
        ("examples", str(report["n"])),
        ("loss", num(report["loss"], 6)),
    ]
    if "accuracy" in report:
        rows.append(("accuracy", pct(report["accuracy"])))
        macro = report["macro"]
        rows.append(("macro P / R / F1", " / ".join(f"{macro[k]:.3f}" for k in macro)))
    else:
        rows += [
            ("MSE", num(report["mse"], 6)),
            ("MAE", num(report["mae"], 6)),
            ("R²", num(report["r2"], 6)),
        ]
    console.print(_kv_table("Evaluation", rows))
    if "per_class" in report:
        console.print(_per_class_table(report["per_class"]))
        console.print(_confusion_table(report))


def _per_class_table(per_class: list[dict]) -> Table:
    shown = per_class
    title = "Per class"
    if len(per_class) > CLASS_ROWS:
        shown = sorted(per_class, key=lambda c: (c["f1"], -c["support"]))[:CLASS_ROWS]
        title = f"Per class: the {CLASS_ROWS} lowest F1 of {len(per_class)} classes"
    table = Table(title=title, title_justify="left")
    for col in ("class", "precision", "recall", "F1", "support"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for c in shown:
        table.add_row(
            str(c["class"]),
            f"{c['precision']:.3f}",
            f"{c['recall']:.3f}",
            f"{c['f1']:.3f}",
            str(c["support"]),
        )
    return table


def _confusion_table(report: dict) -> Table:
    names = [str(c["class"]) for c in report["per_class"]]
    if len(names) <= MATRIX_CLASSES:
        table = Table(
            title="Confusion matrix (rows: true class, columns: predicted)", title_justify="left"
        )
        table.add_column("")
        for name in names:
            table.add_column(name, justify="right")
        for name, row in zip(names, report["confusion_matrix"]):
            table.add_row(name, *(str(v) for v in row))
        return table
    pairs = report.get("confusion_pairs") or [
        [i, j, n]
        for i, row in enumerate(report["confusion_matrix"])
        for j, n in enumerate(row)
        if n
    ]
    errors = sorted((p for p in pairs if p[0] != p[1]), key=lambda p: -p[2])[:10]
    table = Table(title=f"Most frequent confusions ({len(names)} classes)", title_justify="left")
    for col in ("true class", "predicted", "count"):
        table.add_column(col, justify="right" if col == "count" else "left")
    for i, j, n in errors:
        table.add_row(names[i], names[j], str(n))
    return table


def gradcheck_table(console: Console, results: list[TensorCheck], source: str) -> None:
    table = Table(title=f"Gradient check: {source}", title_justify="left")
    for col, justify in (
        ("tensor", "left"),
        ("shape", "right"),
        ("checked", "right"),
        ("max abs err", "right"),
        ("max rel err", "right"),
        ("pass", "center"),
    ):
        table.add_column(col, justify=justify)
    for r in results:
        mark = Text("✓", style="green") if r.passed else Text("✗", style="bold red")
        table.add_row(
            r.name,
            "×".join(map(str, r.shape)) or "scalar",
            f"{r.checked}/{r.size}",
            f"{r.max_abs_error:.2e}",
            f"{r.max_rel_error:.2e}",
            mark,
        )
    console.print(table)


def show_curve(console: Console, run_path: Path, curve: bool | None) -> None:
    """The run's loss curve on ``console``: when it is a terminal, or when asked (``--curve``)."""
    wanted = console.is_terminal if curve is None else curve
    if console.quiet or not wanted or not (run_path / "metrics.csv").exists():
        return
    from mlpcli.history import read_history
    from mlpcli.plots.terminal import loss_curve

    text = loss_curve(read_history(run_path), width=min(console.width, 100) - 2)
    if text:
        console.print(Text.from_ansi(text))
