"""``mlp sweep``: a grid or random search over a config, here or on a cluster."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlpcli.cli.common import (
    DebugOption,
    JsonOption,
    QuietOption,
    SetOption,
    StopFlag,
    console,
    emit_json,
    reported_errors,
)
from mlpcli.cli.runs import SortOption, print_wide, ranked, runs_table, sort_column
from mlpcli.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from mlpcli.sweep.expand import Trial
    from mlpcli.sweep.runner import Sweep

ListOption = Annotated[list[str] | None, typer.Option()]


def sweep(
    config: Annotated[Path, typer.Argument(help="YAML config (may hold a sweep: section).")],
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            metavar="KEY=V1,V2",
            help="Grid values of a config field, read as YAML (repeatable): "
            "--grid train.lr=0.01,0.1 --grid model.hidden=[16],[64,64]",
        ),
    ] = None,
    random: Annotated[
        list[str] | None,
        typer.Option(
            "--random",
            metavar="KEY=DIST(ARGS)",
            help="Random values of a field: uniform(a,b), log_uniform(a,b), int(a,b), "
            "choice(x,y,...) (repeatable; needs --trials).",
        ),
    ] = None,
    trials: Annotated[
        int | None, typer.Option("--trials", min=1, help="Random draws (per grid point).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Seed of the random draws (default 0).")
    ] = None,
    set_: SetOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Sweep directory (default runs/<config>).")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Trials at once (default: cores).")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=1,
            help="BLAS threads per trial (default: $MLP_THREADS, else cores ÷ --jobs).",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the trials and exit.")] = False,
    list_: Annotated[
        bool,
        typer.Option("--list", help="Print one mlp train command per trial (for GNU parallel)."),
    ] = False,
    trial: Annotated[
        int | None,
        typer.Option("--trial", min=0, help="Run trial I only (a Slurm array task)."),
    ] = None,
    slurm: Annotated[
        Path | None,
        typer.Option("--slurm", help="Write an sbatch script running the trials as a job array."),
    ] = None,
    sbatch: Annotated[
        list[str] | None,
        typer.Option(
            "--sbatch",
            metavar="KEY=VALUE",
            help="An #SBATCH option for --slurm (repeatable): --sbatch partition=debug",
        ),
    ] = None,
    sort: SortOption = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Train one run per combination of values, in parallel, into runs/<config>/<values>.

    Finished trials are skipped when the sweep runs again and interrupted ones
    resumed; a failing or diverging trial never stops the others. Writes
    sweep.csv and sweep.jsonl in the sweep directory. Exit 0 done, 1 a trial
    failed, 2 bad config or usage, 130/143 interrupted, 129 its terminal closed
    (trials saved).

    Example:  mlp sweep configs/digits-mlp.yaml --grid train.lr=0.01,0.1 -j 2
    """
    with reported_errors(debug, json_):
        from mlpcli.sweep.expand import expand, spec_from

        modes = [
            m
            for m, on in (
                ("--dry-run", dry_run),
                ("--list", list_),
                ("--trial", trial is not None),
                ("--slurm", slurm),
            )
            if on
        ]
        if len(modes) > 1:
            raise UsageError(f"{' and '.join(modes)}: give one of them")
        if list_ and json_:
            raise UsageError("--list and --json both write stdout: give one of them")
        if sbatch and slurm is None:
            raise UsageError("--sbatch options are for --slurm FILE")
        spec = spec_from(config, grid or [], random or [], trials, seed)
        fixed = set_ or []
        all_trials = expand(spec, fixed)
        if sort is not None:  # before any trial runs: a typo must not cost a sweep
            from mlpcli.sweep.runner import possible_columns

            sort = sort_column(sort, possible_columns(all_trials))
        sweep_dir = out or Path("runs") / config.stem
        _check_sweep_dir(sweep_dir)
        out_console = console(quiet)
        if trial is not None:
            _one_trial(config, all_trials, trial, sweep_dir, out_console, json_, quiet)
            return
        configs = [_config(config, t) for t in all_trials]
        if dry_run:
            _dry_run(all_trials, sweep_dir, out_console, json_)
        elif list_:
            from mlpcli.sweep.cluster import command_lines

            sys.stdout.write(command_lines(config, all_trials, sweep_dir, threads))
        elif slurm is not None:
            _write_slurm(
                slurm,
                config,
                spec_args(grid, random, trials, seed, fixed),
                all_trials,
                sweep_dir,
                sbatch or [],
                out_console,
                json_,
            )
        else:
            _run(config, all_trials, configs, sweep_dir, jobs, threads, sort, out_console, json_)


def _check_sweep_dir(sweep_dir: Path) -> None:
    """A sweep's directory is a directory of its own: not a file, not a run's directory."""
    from mlpcli.files.atomic import is_run_dir

    if sweep_dir.exists() and not sweep_dir.is_dir():
        raise UsageError(f"--out {sweep_dir}: not a directory")
    if sweep_dir.is_dir() and is_run_dir(sweep_dir):
        raise UsageError(
            f"--out {sweep_dir}: is the directory of a run; a sweep needs one of its own"
        )


def spec_args(grid, random, trials, seed, fixed) -> list[str]:
    """The options that expand the same trials again (for the sbatch script)."""
    args = []
    for option, values in (("--grid", grid), ("--random", random), ("--set", fixed)):
        for v in values or []:
            args += [option, v]
    for option, value in (("--trials", trials), ("--seed", seed)):
        if value is not None:
            args += [option, str(value)]
    return args


def _config(config: Path, t: Trial):
    """The trial's resolved config (errors name the trial)."""
    from mlpcli.config import load_config

    try:
        return load_config(config, t.overrides)
    except ConfigError as e:
        raise ConfigError(f"trial {t.index} ({t.name}): {e}") from None


def _dry_run(trials: list[Trial], sweep_dir: Path, out: Console, json_: bool) -> None:
    from rich.table import Table

    if json_:
        emit_json(
            [
                {
                    "trial": t.index,
                    "run": str(sweep_dir / t.name),
                    "overrides": t.overrides,
                    "values": t.values,
                }
                for t in trials
            ]
        )
    from mlpcli.cli.runs import show

    keys = list(trials[0].values) if trials else []
    table = Table(title=f"{len(trials)} trials in {sweep_dir}", title_justify="left")
    for c in ("trial", *keys, "run"):
        table.add_column(c, justify="left" if c == "run" else "right")
    for t in trials:
        table.add_row(str(t.index), *(show(k, t.values[k]) for k in keys), t.name)
    print_wide(out, table)


def _write_slurm(path, config, args, trials, sweep_dir, options, out, json_: bool) -> None:
    from mlpcli.files.atomic import write_output
    from mlpcli.sweep.cluster import slurm_script

    sweep_args = [str(config.resolve()), *args, "--out", str(sweep_dir.resolve())]
    text = slurm_script(sweep_args, len(trials), sweep_dir, config.stem, options)
    sweep_dir.mkdir(parents=True, exist_ok=True)  # sbatch writes the task logs there
    write_output(path, text.encode(), inputs=[config])
    submit = shlex.quote(str(path))
    out.print(f"wrote {path}: {len(trials)} array tasks; submit with  sbatch {submit}")
    if json_:
        emit_json(
            {"slurm_script": str(path), "array_tasks": len(trials), "sweep_dir": str(sweep_dir)}
        )


def _one_trial(config, trials, index, sweep_dir, out: Console, json_: bool, quiet: bool) -> None:
    """Run trial ``index`` in this process (replaced by ``mlp train``), or say it is done."""
    from mlpcli.sweep.runner import BUSY, DONE, OTHER, conflict, plan, python_mlp, train_args

    if index >= len(trials):
        raise UsageError(
            f"--trial {index}: the sweep has {len(trials)} trials (0–{len(trials) - 1})"
        )
    t = trials[index]
    run_dir = sweep_dir / t.name
    trial_config = _config(config, t)
    action = plan(run_dir, trial_config)
    if action == OTHER:
        raise ConfigError(conflict(run_dir, trial_config))
    if action in (DONE, BUSY):
        what = "finished already" if action == DONE else "running in another process"
        out.print(f"trial {index} ({run_dir}): {what}")
        if json_:
            emit_json({"trial": index, "run_dir": str(run_dir), "skipped": what})
        return
    argv = [*python_mlp(), *train_args(config, t, run_dir, action=action, machine=False)]
    argv += ["--json"] * json_ + ["--quiet"] * quiet
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)  # the trial is an ordinary `mlp train`: its output, its exit code


class _SweepStop(StopFlag):
    """The first signal stops the sweep (trials save); a second passes on to the trials,
    which then exit at once, and the sweep still writes its results; a third exits at
    once. SIGHUP (the terminal closed) stops it as SIGTERM does, exit 129, and silences
    ``out`` on a terminal: writing to one that is gone would fail."""

    sweep: Sweep | None = None
    out: Console | None = None
    forced = False

    def __enter__(self) -> _SweepStop:
        super().__enter__()
        if signal.getsignal(signal.SIGHUP) != signal.SIG_IGN:  # nohup: keep running
            self.previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if signum == signal.SIGHUP and self.out is not None and self.out.is_terminal:
            self.out.quiet = True
        if self.signum is None:
            self.signum = signum  # the run loop takes it up
        elif self.sweep is not None and not self.forced:
            self.forced = True
            self.sweep.interrupt(signum)
        else:
            os._exit(128 + signum)


def _run(config, trials, configs, sweep_dir, jobs, threads, sort, out: Console, json_) -> None:
    """Run the trials here; ``sort``: a column of the results (``sort_column``) or None."""
    from mlpcli import runtable
    from mlpcli import threads as blas
    from mlpcli.files import lock
    from mlpcli.sweep.runner import Sweep, default_threads

    jobs = jobs or blas.cores()
    per_trial = blas.requested(threads) or default_threads(jobs, blas.cores())
    display = SweepDisplay(out, len(trials), sweep_dir, sort)
    runner = Sweep(
        config, trials, sweep_dir, configs, jobs=jobs, threads=per_trial, on_change=display.update
    )
    out.print(
        f"{len(trials)} trials in {sweep_dir}: {jobs} at a time, {per_trial} BLAS "
        f"thread{'s' * (per_trial > 1)} each"
    )
    sweep_dir.mkdir(parents=True, exist_ok=True)
    # One sweep at a time in a directory: two would race on sweep.csv and on each
    # other's trials (a cluster's --trial tasks share it by design and take no lock).
    with lock.held(sweep_dir / ".sweep.lock", UsageError), _SweepStop() as stop:
        stop.sweep, stop.out = runner, out
        try:
            runner.run(should_stop=lambda: stop.signum)
        finally:
            display.stop()
    columns, rows = runner.columns(), runner.rows()
    rows = ranked(rows, columns, None) if sort is None else runtable.sort_rows(rows, sort)
    print_wide(out, runs_table(columns, rows, f"Sweep {sweep_dir}: {display.counts()}"))
    out.print(f"results: {sweep_dir / 'sweep.csv'}, {sweep_dir / 'sweep.jsonl'}")
    if json_:
        emit_json(rows)
    if runner.stopping is not None:
        out.print("interrupted: trials saved; run the same command again to continue")
        raise typer.Exit(128 + runner.stopping)
    if any(r["status"] == "failed" for r in rows):
        raise typer.Exit(1)


class SweepDisplay:
    """The trials as they run: a live table on a terminal, a line per ended trial elsewhere."""

    def __init__(self, out: Console, total: int, sweep_dir: Path, sort: str | None) -> None:
        self.out, self.total, self.sweep_dir, self.sort = out, total, sweep_dir, sort
        self.live = None
        self.reported: set[int] = set()
        self.waits: set[int] = set()  # trials said to wait for another process
        self.sweep: Sweep | None = None

    def counts(self) -> str:
        from collections import Counter

        c = Counter(r.status for r in self.sweep.runs) if self.sweep else Counter()
        return ", ".join(f"{n} {s}" for s, n in sorted(c.items()))

    def update(self, sweep: Sweep) -> None:
        self.sweep = sweep
        if self.out.quiet:
            return
        if self.out.is_terminal:
            self._live()
            return
        for r in sweep.runs:  # plain lines: one per trial that ended, or that waits
            if r.status == "waiting" and r.trial.index not in self.waits:
                self.waits.add(r.trial.index)
                self.out.print(self._line(r))
            elif r.status not in ("queued", "running", "waiting"):
                if r.trial.index not in self.reported:
                    self.reported.add(r.trial.index)
                    self.out.print(self._line(r))

    def _line(self, r) -> str:
        from mlpcli.cli.runs import show

        if r.status == "waiting":
            return f"waiting for {r.trial.name}: another mlp process (pid {r.holder}) has it"
        done = len(self.reported)
        metric = next(
            (k for k in ("val_accuracy", "val_mse", "val_loss") if r.row.get(k) is not None), None
        )
        result = f", {metric} {show(metric, r.row[metric])}" if metric else ""
        why = (
            f": {r.error}"
            if r.error
            else f" ({r.row['warnings']})"
            if r.row.get("warnings")
            else ""
        )
        return f"[{done}/{self.total}] {r.status} {r.trial.name}{result}{why}"

    def _live(self) -> None:
        from rich.live import Live

        if self.live is None:
            self.live = Live(console=self.out, auto_refresh=False, transient=True)
            self.live.start()
        self.live.update(self._table(), refresh=True)

    def _table(self):
        from rich.table import Table

        from mlpcli import runtable
        from mlpcli.cli.runs import STATUS_STYLE, show

        sweep = self.sweep
        columns, rows = sweep.columns(), sweep.rows()
        key = self.sort or next(
            (c for c in ("val_accuracy", "val_mse", "val_loss") if c in columns), None
        )
        finished = [r for r in rows if r["status"] in ("finished", "early-stopped")]
        best = runtable.sort_rows(finished, key)[0] if finished and key else None
        title = f"{self.counts()}" + (
            f" · best {best['run']}: {key} {show(key, best.get(key))}" if best else ""
        )
        held = [r for r in sweep.runs if r.status == "waiting"]
        if held:
            pids = ", ".join(sorted({r.holder or "unknown" for r in held}))
            title += f" · waiting for other mlp processes (pid {pids}) to let go of {len(held)}"
        table = Table(title=title, title_justify="left")
        for c in ("trial", "run", "status", "epochs", key or "val_loss", "time"):
            table.add_column(c, justify="left" if c in ("run", "status") else "right")
        shown = [r for r in sweep.runs if r.status != "queued"][-20:]  # the latest
        now = time.monotonic()
        for r in shown:
            running = r.status == "running" and r.started is not None
            live = running or r.status == "waiting"  # the other process's progress
            epochs = f"{r.epochs_done or 0}/{r.planned}" if live else show("", r.row.get("epochs"))
            seconds = now - r.started if running else r.row.get("time")
            table.add_row(
                str(r.trial.index),
                r.trial.name,
                f"[{STATUS_STYLE.get(r.status, '')}]{r.status}",
                epochs,
                show(key or "", r.row.get(key or "val_loss")),
                show("time", seconds),
            )
        return table

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
