"""``mlp train``: train a network from a config file into a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from mlpcli.cli.common import (
    DebugOption,
    JsonOption,
    QuietOption,
    SetOption,
    StopFlag,
    ThreadsOption,
    console,
    emit_json,
    reported_errors,
)
from mlpcli.errors import ConfigError


def train(
    config: Annotated[
        Path | None, typer.Argument(help="YAML config file (optional with --resume).")
    ] = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default runs/<config>-<n>).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing run in --out.")
    ] = False,
    init_from: Annotated[
        Path | None,
        typer.Option(
            "--init-from", help="Start from the weights of a model file or run directory."
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue a stopped run (only train.epochs may change)."),
    ] = None,
    curve: Annotated[
        bool | None,
        typer.Option(
            "--curve/--no-curve",
            help="Draw the loss curve at the end (default: when stderr is a terminal).",
        ),
    ] = None,
    name_from_overrides: Annotated[
        bool,
        typer.Option(
            "--name-from-overrides",
            help="Name the run directory from the --set overrides: "
            "runs/<config>/hidden=64-64,lr=0.05 (sorted by key, filesystem-safe).",
        ),
    ] = False,
    threads: ThreadsOption = None,
    print_config: Annotated[
        bool,
        typer.Option(
            "--print-config",
            help="Print the resolved config (every default filled in) on stdout and exit; "
            "reads no data and creates no run directory.",
        ),
    ] = False,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Train the network a config describes, into a run directory.

    Writes config.yaml, model.safetensors, metrics.csv, summary.json and the
    state for --resume, and draws the loss curve in the terminal. Exit 0
    done, 2 bad config or data, 3 diverged, 130/143 interrupted (state saved).

    Example:  mlp train configs/quickstart.yaml --set train.epochs=50 --out runs/quick
    """
    # The stop flag first: a Ctrl-C from here on (or one that came while mlp started)
    # stops training after its current step, with the state saved.
    with StopFlag() as stop, reported_errors(debug, json_, signals=False):
        if print_config:
            _print_config(config, set_ or [], resume, json_)
            return
        from mlpcli.cli.render import TrainingDisplay
        from mlpcli.threads import blas_threads, requested

        if name_from_overrides:
            out = _named_out(config, set_ or [], out, resume)
        display = TrainingDisplay(console(quiet))
        with blas_threads(requested(threads)):
            try:
                result = _run(config, set_ or [], out, force, init_from, resume, display, stop)
            finally:
                display.stop()
        _finish(result, display, stop.exit_code, json_, curve)


def _named_out(config: Path | None, overrides: list[str], out: Path | None, resume) -> Path:
    """``runs/<config stem>/<name from the overrides>`` for --name-from-overrides."""
    from mlpcli.overrides import run_name

    if out is not None or resume is not None or config is None:
        raise ConfigError(
            "--name-from-overrides names a new run: give a CONFIG, not --out or --resume"
        )
    return Path("runs") / config.stem / run_name(overrides)


def _print_config(config: Path | None, overrides: list[str], resume: Path | None, json_: bool):
    """The config as training would use it: YAML (or one JSON document) on stdout."""
    from mlpcli.config import load_config, to_json, to_yaml

    if config is None and resume is None:
        raise ConfigError("missing CONFIG: mlp train CONFIG --print-config")
    cfg = load_config(config if config is not None else resume / "config.yaml", overrides)
    typer.echo(to_json(cfg) if json_ else to_yaml(cfg), nl=json_)


def _run(config, overrides, out, force, init_from, resume, display, stop):
    """Start a new run or resume one, reporting to ``display``; returns the RunResult."""
    from mlpcli.config import load_config
    from mlpcli.runs import train_new, train_resume

    hooks = {"on_start": display.start, "on_epoch": display.epoch, "should_stop": stop,
             "on_progress": display.within_epoch}  # fmt: skip
    if resume is not None:
        if out is not None or init_from is not None or force:
            raise ConfigError(
                "--resume continues a run in place: drop --out, --init-from and --force"
            )
        return train_resume(resume, overrides, config, **hooks)
    if config is None:
        raise ConfigError("missing CONFIG: mlp train CONFIG (or --resume RUN_DIR)")
    cfg = load_config(config, overrides)
    return train_new(
        cfg,
        config.stem,
        out=out,
        force=force,
        init=init_from,
        inputs=[config],
        overrides=overrides,
        **hooks,
    )


def _finish(result, display, interrupted_code: int, json_: bool, curve: bool | None) -> None:
    """The result table, the loss curve, the stop's message, the JSON document and the exit code."""
    display.finish(result)
    from mlpcli.cli.render import show_curve

    show_curve(display.console, result.run.path, curve)
    reason = result.state.stop_reason
    for warning in (result.summary or {}).get("warnings", []):
        display.console.print(Text("warning: ", style="bold yellow") + Text(warning["message"]))
    if reason == "diverged":  # an error, shown even with --quiet, like every other
        console().print(Text("error: ", style="bold red") + Text(result.error))
    elif reason == "interrupted":
        display.console.print(
            f"interrupted: state saved; continue with  mlp train --resume {result.run.path}"
        )
    if json_:
        error = {"error": result.error} if reason == "diverged" else {}
        emit_json({"run_dir": str(result.run.path), **result.summary, **error})
    if reason == "diverged":
        raise typer.Exit(3)
    if reason == "interrupted":
        raise typer.Exit(interrupted_code)
