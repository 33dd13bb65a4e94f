"""Running a sweep's trials on this machine, each an ordinary run directory.

Every trial is ``mlp train CONFIG --set ... --out SWEEP_DIR/NAME`` in its own
process (``python -m mlpcli``), so a trial that crashes, diverges or runs out
of memory ends alone, and every trial is a run ``mlp train --resume``,
``mlp eval`` and ``mlp runs`` know. At most ``jobs`` run at once, each limited
to ``threads`` BLAS threads (``--threads``), so the workers share the cores
instead of oversubscribing them.

Restart: a trial whose run finished (all planned epochs, early stopping, or
diverged) is skipped; one that was interrupted, or killed with a state file
left, is resumed with ``mlp train CONFIG --resume DIR --set ...`` (so a
changed config is refused by name, and a raised ``train.epochs`` continues a
finished run); one whose directory holds no state starts again. A directory
holding a run of another config, or one that trained more epochs than the
trial asks for, is refused (the trial fails, saying why). A trial whose run
another process holds (a ``--trial`` task, a worker a killed sweep left
running) waits, counted against ``jobs``, until its lock is free, and is then
planned like any other; every trial is planned again just before it starts.

Stopping: :meth:`Sweep.interrupt` stops dispatching and sends each running
trial one SIGINT (SIGTERM for a SIGHUP); they save their state and exit
(130), and the sweep ends with them. The workers run in their own sessions, so a Ctrl-C at the
terminal reaches the sweep alone, which forwards exactly one signal.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mlpcli import runtable
from mlpcli.config import Config, cosine_ended, load_config, training_changes
from mlpcli.errors import MlpError
from mlpcli.files import lock
from mlpcli.files.atomic import atomic_write
from mlpcli.sweep.expand import Trial

#: How a trial that already has a directory continues (OTHER: it holds another config's run).
NEW, RESUME, DONE, BUSY, OTHER = "new", "resume", "done", "busy", "other"
#: The status of a trial whose run another process holds (a ``--trial`` task, or a worker
#: a killed sweep left running): the sweep waits for it to let go, then plans it again.
WAITING = "waiting"
#: Exit codes of ``mlp train`` and what they make of a trial.
_EXIT_STATUS = {0: "finished", 3: "diverged", 130: "interrupted", 143: "interrupted"}
#: Statuses of a run directory whose training ended on its own (``runtable``).
_ENDED = ("finished", "early-stopped", "diverged")
#: How often running trials are polled (seconds).
POLL = 0.05


def _ended(run_dir: Path) -> bool:
    """Whether the run in ``run_dir`` ended on its own (finished, early-stopped, diverged)."""
    return runtable.read_run(run_dir).status in _ENDED


def plan(run_dir: Path, config: Config) -> str:
    """What a trial's directory needs: NEW, RESUME, DONE, BUSY (another process has it),
    or OTHER (it holds a run of a config that differs from the trial's; :func:`conflict`)."""
    info = runtable.read_run(run_dir, runtable.locked_files()) if run_dir.is_dir() else None
    if info is not None and info.status == "running":  # even before its config.yaml exists
        return BUSY
    if info is None or info.config is None:
        return NEW
    if conflict(run_dir, config):
        return OTHER
    s = info.summary or {}
    reason = s.get("stop_reason")
    if reason in ("early_stopping", "diverged"):
        return DONE
    if reason == "completed" and s.get("epochs_run", 0) >= config.train.epochs:
        return DONE
    return RESUME if (run_dir / "state.safetensors").exists() else NEW


def conflict(run_dir: Path, config: Config) -> str | None:
    """Why the run in ``run_dir`` is not this trial's (fields that differ), or None."""
    try:
        saved = load_config(run_dir / "config.yaml")
    except MlpError as e:
        return f"{run_dir}/config.yaml: {e}"
    changed = training_changes(saved, config)
    if not changed:
        done = _epochs_run(run_dir)  # a run longer than asked cannot be this trial's
        if done <= config.train.epochs:
            return None
        return (
            f"{run_dir} holds a run of another config (train.epochs differ: it ran {done} "
            f"epochs, the trial asks for {config.train.epochs}); remove it or choose another --out"
        )
    wasted = cosine_ended(saved, config.train.epochs) if changed == ["train.lr.period"] else None
    if wasted:  # the period followed train.epochs, which the trial raised
        return f"{run_dir}: {wasted}; remove it or choose another --out"
    return (
        f"{run_dir} holds a run of another config ({', '.join(changed[:5])} differ); "
        "remove it or choose another --out"
    )


def _epochs_run(run_dir: Path) -> int:
    """Epochs the run in ``run_dir`` has trained: its summary's count, else its metrics rows."""
    info = runtable.read_run(run_dir)
    done = (info.summary or {}).get("epochs_run", info.epochs_done)
    return done if isinstance(done, int) else 0


def train_args(
    config: Path,
    trial: Trial,
    run_dir: Path,
    *,
    action: str = NEW,
    threads: int | None = None,
    machine: bool = True,
) -> list[str]:
    """The arguments of ``mlp train`` for one trial (after ``mlp``).

    ``machine``: quiet, one JSON document on stdout (for workers and lists).
    """
    args = ["train", str(config)]
    if action == RESUME:
        args += ["--resume", str(run_dir)]
    for o in trial.overrides:
        args += ["--set", o]
    if action != RESUME:
        args += ["--out", str(run_dir)]
        if run_dir.is_dir() and (run_dir / "config.yaml").exists():
            args.append("--force")  # a start that died before its first save
    if threads is not None:
        args += ["--threads", str(threads)]
    if machine:
        args += ["--quiet", "--json"]
    return args


def python_mlp() -> list[str]:
    """How to run this mlpcli in a new process, whatever PATH holds."""
    return [sys.executable, "-m", "mlpcli"]


@dataclass
class TrialRun:
    """One trial's place in a sweep: its status and, once it ended, its row."""

    trial: Trial
    run_dir: Path
    planned: int  # epochs the trial's config asks for
    config: Config
    status: str = "queued"  # queued, running or waiting, then a runtable status or "failed"
    action: str = NEW
    holder: str | None = None  # while waiting: the pid holding the run
    error: str | None = None
    started: float | None = None
    seconds: float | None = None
    epochs_done: int | None = None
    row: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    output: tuple[IO[bytes], IO[bytes]] | None = None


class Sweep:
    """Runs trials in at most ``jobs`` worker processes; ``on_change(sweep)`` after
    every change of state (and about twice a second while trials run)."""

    def __init__(
        self,
        config: Path,
        trials: Sequence[Trial],
        sweep_dir: Path,
        configs: Sequence[Config],
        *,
        jobs: int,
        threads: int | None,
        on_change: Callable[[Sweep], None] | None = None,
    ) -> None:
        self.config, self.sweep_dir = Path(config).resolve(), Path(sweep_dir)
        self.jobs, self.threads = jobs, threads
        self.runs = [
            TrialRun(t, self.sweep_dir / t.name, c.train.epochs, c) for t, c in zip(trials, configs)
        ]
        self.on_change = on_change or (lambda sweep: None)
        self.stopping: int | None = None

    # -- running -----------------------------------------------------------------------
    def run(self, should_stop: Callable[[], int | None] | None = None) -> list[TrialRun]:
        """Run every trial that needs it; returns them all (see ``status``).

        ``should_stop`` is polled: once it returns a signal number, the sweep
        :meth:`interrupt` s itself with that signal.
        """
        should_stop = should_stop or (lambda: None)
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        queue = [r for r in self.runs if self._settle(r)]
        waiting = [r for r in self.runs if r.action == BUSY]
        self.on_change(self)
        queue.reverse()
        running: list[TrialRun] = []
        last_update = time.monotonic()
        try:
            while running or (self.stopping is None and (queue or waiting)):
                if self.stopping is None and (signum := should_stop()):
                    self.interrupt(signum)
                queue += self._released(waiting)
                # A trial another process holds counts against the jobs: a killed sweep's
                # orphaned workers still use the cores.
                while queue and len(running) + len(waiting) < self.jobs and not self.stopping:
                    r = queue.pop()  # planned again: another process may have taken it since
                    if self._settle(r):
                        running.append(self._start(r))
                    elif r.action == BUSY:
                        waiting.append(r)
                    self.on_change(self)
                ended = [r for r in running if r.process.poll() is not None]
                for r in ended:
                    running.remove(r)
                    if self._finish(r):  # it lost the run's lock to another process
                        waiting.append(r)
                    self.write_results()
                    self.on_change(self)
                if not ended:
                    time.sleep(POLL)
                    if time.monotonic() - last_update > 0.5:
                        self._progress([*running, *waiting])
                        self.on_change(self)
                        last_update = time.monotonic()
        finally:
            for r in running:  # only on an exception of our own: let them save and go
                with contextlib.suppress(ProcessLookupError):
                    r.process.send_signal(signal.SIGTERM)
                r.process.wait()
                self._read(r, None)
            for r in waiting:  # stopped before the other process let go: as they are now
                self._read(r, None)
            self.write_results()
        return self.runs

    def _settle(self, r: TrialRun) -> bool:
        """Plan trial ``r`` from its directory now; True when it needs a worker. A
        finished one is read, one of another config fails, one that another process
        holds (BUSY) waits."""
        r.action = plan(r.run_dir, r.config)
        if r.action == DONE:
            self._read(r, None)
        elif r.action == OTHER:
            r.status, r.error = "failed", conflict(r.run_dir, r.config)
        elif r.action == BUSY:
            r.status, r.error, r.holder = WAITING, None, lock.holder(r.run_dir / ".lock")
        else:
            r.status = "queued"
        return r.action in (NEW, RESUME)

    def _released(self, waiting: list[TrialRun]) -> list[TrialRun]:
        """The waiting trials whose holder let go, planned again (removed from ``waiting``);
        those that still need a worker are returned."""
        if not waiting:
            return []
        locks = runtable.locked_files()
        free = [r for r in waiting if not runtable.is_locked(r.run_dir / ".lock", locks)]
        for r in free:
            waiting.remove(r)
        again = [r for r in free if self._settle(r)]
        waiting += [r for r in free if r.action == BUSY]  # taken again meanwhile
        if free:
            self.on_change(self)
        return again

    def interrupt(self, signum: int = signal.SIGINT) -> None:
        """Stop dispatching; ask every running trial (once) to save and stop."""
        self.stopping = signum
        # SIGHUP means the sweep's terminal closed; the trials have none (their own
        # sessions), and SIGTERM is how they are told to save and stop.
        forward = signal.SIGTERM if signum == signal.SIGHUP else signum
        for r in self.runs:
            if r.process is not None and r.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    r.process.send_signal(forward)

    def _start(self, r: TrialRun) -> TrialRun:
        argv = [*python_mlp(), *self.args(r)]
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        r.process = subprocess.Popen(
            argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )
        r.output, r.status, r.started = (out, err), "running", time.monotonic()
        return r

    def args(self, r: TrialRun) -> list[str]:
        return train_args(self.config, r.trial, r.run_dir, action=r.action, threads=self.threads)

    def _finish(self, r: TrialRun) -> bool:
        """Record how ``r``'s worker ended; True when it failed because another process
        holds the trial's run (it took it after ``_settle``): ``r`` then waits for it."""
        code = r.process.returncode
        out, err = r.output
        r.seconds = time.monotonic() - r.started
        if code < 0 and (r.run_dir / "summary.json").exists() and _ended(r.run_dir):
            code = 0  # killed after it had saved how it ended: the directory says it finished
        r.error = None if code in (0, 130, 143) else _error_of(out, err, code)
        r.process = r.output = None
        out.close()
        err.close()
        lock = r.run_dir / ".lock"
        if code not in _EXIT_STATUS and runtable.is_locked(lock, runtable.locked_files()):
            r.status, r.error, r.holder = WAITING, None, lock.holder(r.run_dir / ".lock")
            return True
        self._read(r, None if code in _EXIT_STATUS else "failed")
        return False

    def _read(self, r: TrialRun, status: str | None) -> None:
        """The trial's row from its run directory; ``status`` overrides the directory's."""
        info = runtable.read_run(r.run_dir) if (r.run_dir / "config.yaml").exists() else None
        r.row = runtable.row(info, []) if info is not None else {}
        r.status = status or (info.status if info is not None else "failed")

    def _progress(self, running: list[TrialRun]) -> None:
        for r in running:
            r.epochs_done = runtable.read_run(r.run_dir).epochs_done if r.run_dir.is_dir() else 0

    # -- results -----------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """One row per trial: index, run, the swept values, status, metrics, error."""
        out = []
        for r in self.runs:
            metrics = {k: v for k, v in r.row.items() if k not in ("run", "status")}
            out.append(
                {
                    "trial": r.trial.index,
                    "run": r.trial.name,
                    **r.trial.values,
                    "status": r.status,
                    **metrics,
                    "error": r.error,
                }
            )
        return out

    def columns(self) -> list[str]:
        rows = self.rows()
        present = {k for row in rows for k, v in row.items() if v not in (None, "")}
        swept = list(self.runs[0].trial.values) if self.runs else []
        metrics = [c for c in runtable.METRIC_COLUMNS if c in present]
        tail = [c for c in ("warnings", "error") if c in present]
        return ["trial", "run", *swept, "status", *metrics, *tail]

    def write_results(self) -> None:
        """sweep.jsonl (one JSON object per trial) and sweep.csv, atomically."""
        rows, columns = self.rows(), self.columns()
        jsonl = "".join(json.dumps(row, default=str) + "\n" for row in rows)
        atomic_write(self.sweep_dir / "sweep.jsonl", jsonl.encode())
        atomic_write(self.sweep_dir / "sweep.csv", runtable.to_csv(columns, rows).encode())


def _error_of(out: IO[bytes], err: IO[bytes], code: int) -> str:
    """The one-line error of a failed trial: its JSON error, else its last stderr line."""
    if code < 0:
        return f"killed by signal {signal.Signals(-code).name}"
    out.seek(0)
    try:
        doc = json.loads(out.read().decode(errors="replace") or "null")
        if isinstance(doc, dict) and doc.get("error"):
            return str(doc["error"])
    except ValueError:
        pass
    err.seek(0)
    lines = [ln for ln in err.read().decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else f"exit code {code}"


def possible_columns(trials: Sequence[Trial]) -> list[str]:
    """Every column a sweep's results can have (:meth:`Sweep.columns` keeps those present)."""
    swept = list(trials[0].values) if trials else []
    return ["trial", "run", *swept, "status", *runtable.METRIC_COLUMNS, "warnings", "error"]


def default_threads(jobs: int, cores: int) -> int:
    """BLAS threads per worker so that jobs × threads does not exceed the cores."""
    return max(1, cores // max(1, jobs))


__all__ = [
    "BUSY",
    "DONE",
    "NEW",
    "OTHER",
    "RESUME",
    "WAITING",
    "Sweep",
    "TrialRun",
    "default_threads",
    "plan",
]
