"""``mlp lr``: measure the curvature of E and recommend a learning rate; ``--scan`` tries a grid."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from mlpcli.cli.common import (
    DebugOption,
    JsonOption,
    QuietOption,
    SetOption,
    console,
    emit_json,
    reported_errors,
)
from mlpcli.errors import ConfigError

#: --count: rates in the scan, by default and at most (each rate is a training run).
COUNT, MAX_COUNT = 9, 100

#: --epochs: the length of each scan run, by default.
EPOCHS = 5


def lr(
    config: Annotated[Path, typer.Argument(help="YAML config file.")],
    set_: SetOption = None,
    init_from: Annotated[
        Path | None,
        typer.Option(
            "--init-from", help="Measure at the weights of a model file or run directory."
        ),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch",
            min=1,
            help="Examples E is measured on (default: the configured batch; all of the "
            "training split in batch mode).",
        ),
    ] = None,
    scan: Annotated[
        bool, typer.Option("--scan", help="Also train briefly at each η of a log-spaced grid.")
    ] = False,
    low: Annotated[
        float | None, typer.Option("--from", min=0, help="Smallest η of the scan.")
    ] = None,
    high: Annotated[
        float | None, typer.Option("--to", min=0, help="Largest η of the scan.")
    ] = None,
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            min=2,
            max=MAX_COUNT,
            help=f"Rates in the scan, 2 to {MAX_COUNT} (default {COUNT}).",
        ),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", min=1, help=f"Epochs per scan run (default {EPOCHS}).")
    ] = None,
    steps: Annotated[
        int | None, typer.Option("--steps", min=1, help="Steps per scan run (instead of epochs).")
    ] = None,
    iterations: Annotated[
        int, typer.Option("--iterations", min=1, help="Most power iterations per eigenvalue.")
    ] = 200,
    tol: Annotated[
        float, typer.Option("--tol", min=0, help="Power iteration: relative change to stop at.")
    ] = 1e-6,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Choose the learning rate from the measured curvature of the error.

    At the initial weights (or --init-from), on a batch of training data, in
    float64: η_opt = gᵀg / gᵀHg along the gradient, the largest Hessian
    eigenvalue λ_max (power iteration on exact Hessian-vector products) and the
    stability bound 2/λ_max (with train.lr_scale S: of S^½ H S^½, as the scaled
    steps see it), the same per layer, and a recommended η. With
    --scan, a few epochs at each η of a log-spaced grid from the same start, each
    judged too small, good, best, unstable or diverged.

    Example:  mlp lr configs/learning-rate-quadratic.yaml --scan --epochs 3
    """
    with reported_errors(debug, json_):
        scan_options(scan, low, high, count, epochs, steps)  # before any work
        from mlpcli.cli.render_lr import curvature_tables, scan_table
        from mlpcli.config import load_config
        from mlpcli.curvature import curvature_of, recommend

        cfg = load_config(config, set_ or [])
        exp = _prepared(cfg, init_from, float64=True)
        if batch is not None and batch > len(exp.train):
            raise ConfigError(f"--batch {batch}: the training split has {len(exp.train)} examples")
        optimizer = cfg.train.optimizer
        report = curvature_of(exp, batch, tol=tol, max_iterations=iterations,
                              adam_eps=getattr(optimizer, "eps", 1e-8))  # fmt: skip
        advice = recommend(report, optimizer)
        out = console(quiet)
        where = "--init-from weights" if init_from else "the initial weights"
        args = (config, set_ or [], cfg)
        command = None if advice.lr is None else train_command(*args, advice.lr, init_from)
        scaled = None
        if advice.lr_scale is not None:
            scaled = train_command(*args, advice.lr_with_scale, init_from, advice.lr_scale)
        curvature_tables(out, report, advice, cfg, f"{config}, {where}", command, scaled)
        document = _document(config, cfg, init_from, report, advice)
        if scan:
            result = _scan(cfg, init_from, advice, low, high, count or COUNT,
                           epochs or EPOCHS, steps)  # fmt: skip
            scan_table(out, result, report, advice)
            document["scan"] = result.as_dict()
        if json_:
            emit_json(document)


def train_command(
    path: Path,
    overrides: list[str],
    cfg,
    lr: float,
    init_from: Path | None = None,
    lr_scale: list[float] | None = None,
) -> str:
    """The ``mlp train`` command for the measured config at initial rate ``lr``, all else kept.

    A schedule (or a warmup) is kept by setting ``train.lr.initial``; only a plain
    constant rate, which a number means, is replaced by ``train.lr=η``. The
    ``--set`` overrides the curvature was measured with come along (but one for
    the same key, which the new rate replaces), and so does ``--init-from``: the
    rate was measured at those weights. ``lr_scale`` sets ``train.lr_scale`` too.
    """
    import shlex

    section = cfg.train.lr
    plain = section.schedule == "constant" and section == type(section)(
        schedule="constant", initial=section.initial
    )
    key = "train.lr" if plain else "train.lr.initial"
    replaced = {key} | ({"train.lr_scale"} if lr_scale is not None else set())
    kept = [o for o in overrides if o.partition("=")[0].strip() not in replaced]
    assignments = [*kept, f"{key}={lr:.3g}"]
    if lr_scale is not None:
        assignments.append(f"train.lr_scale=[{','.join(f'{s:g}' for s in lr_scale)}]")
    words = ["mlp", "train", str(path)]
    for assignment in assignments:
        words += ["--set", assignment]
    if init_from is not None:
        words += ["--init-from", str(init_from)]
    return shlex.join(words)


def _prepared(cfg, init_from: Path | None, float64: bool):
    """The experiment at its initial weights, or at those of ``init_from``."""
    import numpy as np

    from mlpcli.files.model import init_from as load_weights
    from mlpcli.prepare import prepare

    exp = prepare(cfg, dtype=np.float64 if float64 else None)
    if init_from is not None:
        load_weights(exp.model, Path(init_from))
    return exp


def scan_options(scan, low, high, count, epochs, steps) -> None:
    """Refuse scan options that cannot work, or are given without ``--scan``, by name."""
    given = {"--from": low, "--to": high, "--count": count, "--epochs": epochs, "--steps": steps}
    given = [name for name, value in given.items() if value is not None]
    if given and not scan:
        raise ConfigError(f"{', '.join(given)}: only with --scan")
    if epochs is not None and steps is not None:
        raise ConfigError("--epochs and --steps both bound a scan run: give one")
    if (low is None) != (high is None):
        raise ConfigError("--from and --to go together (or leave both out for the default grid)")
    for name, value in (("--from", low), ("--to", high)):
        if value is not None and not math.isfinite(value):
            raise ConfigError(f"{name} {value:g}: not a finite number")
    if low is not None and not 0 < low < high:
        raise ConfigError(f"--from {low:g} must be > 0 and below --to {high:g}")


def _scan(cfg, init_from, advice, low, high, count, epochs, steps):
    from mlpcli.lrscan import default_grid, grid, scan

    if low is not None:
        rates = grid(low, high, count)
    else:
        rates = default_grid(advice.lr if advice.lr else cfg.train.lr.initial, count)
    exp = _prepared(cfg, init_from, float64=False)  # train as configured (its dtype)
    return scan(exp, rates, epochs=epochs, steps=steps)


def _document(path, cfg, init_from, report, advice) -> dict:
    """The --json document: stable keys, documented in README ("Choosing the learning rate")."""
    whole = report.whole.as_dict()
    return {
        "config": str(path),
        "init_from": None if init_from is None else str(Path(init_from).resolve()),
        "optimizer": cfg.train.optimizer.name,
        "batch": report.batch,
        "dtype": "float64",
        "lr_scale": report.lr_scale,
        "loss": report.loss,
        "grad_norm": whole["grad_norm"],
        "curvature": whole["curvature"],
        "eta_opt": whole["eta_opt"],
        "lambda_max": whole["lambda_max"],
        "stability_bound": whole["stability_bound"],
        "power_iteration": whole["power_iteration"],
        "per_layer": [layer.as_dict() for layer in report.layers],
        "adam_eta": report.adam_eta,
        "recommended_lr": advice.lr,
        "reason": advice.reason,
        "suggested_lr_scale": advice.lr_scale,
        "lr_with_suggested_scale": advice.lr_with_scale,
        "scan": None,
    }
