"""Run directories: creating, locking, checkpointing and resuming a training run.

A run directory holds (docs/design.md, "Run directory") ``config.yaml``,
``model.safetensors``, ``metrics.csv``, ``summary.json`` and
``state.safetensors``, each written atomically. While a process trains into
it, it holds an exclusive ``flock`` on ``.lock`` (which names its pid): a
second process is refused, and the lock of a process that died is free.

:func:`train_new` and :func:`train_resume` are the library's "mlp train":
prepare the experiment, claim the directory, run the :class:`Trainer` with a
:class:`Checkpointer` as its save callback.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpcli import threads
from mlpcli.config import (
    Config,
    cosine_ended,
    fingerprint,
    load_config,
    to_yaml,
    training_changes,
)
from mlpcli.diagnose import divergence_hint
from mlpcli.errors import ConfigError, DivergedError, MlpError, ModelFileError
from mlpcli.experiment import Experiment
from mlpcli.files import RUN_FILES, lock
from mlpcli.files.atomic import atomic_write, remove_stale_temporaries
from mlpcli.files.model import SavedModel, init_from, save_model
from mlpcli.files.state import load_state, save_state
from mlpcli.health import loss_warnings
from mlpcli.metrics import METRIC
from mlpcli.overrides import resolved_values
from mlpcli.paths import check_name, read_regular
from mlpcli.prepare import prepare
from mlpcli.train import EpochRecord, Trainer, TrainState, evaluate


class RunDirError(MlpError):
    """The run directory cannot be used (exists, locked, not a run)."""


class RunDir:
    """One run's directory and its files."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    # -- creation and locking ---------------------------------------------------------
    @classmethod
    def next_free(cls, base: Path, name: str) -> Path:
        """``base/name-n`` for the smallest n above every existing one."""
        pattern = re.compile(re.escape(name) + r"-(\d+)$")  # not glob: names may hold [ or *
        taken = [int(m.group(1)) for p in base.iterdir() if (m := pattern.match(p.name))]
        return base / f"{name}-{max(taken, default=0) + 1}"

    @classmethod
    def create(
        cls, out: Path | None, name: str, force: bool, inputs: Sequence[Path] = ()
    ) -> RunDir:
        """A locked, empty-of-run-files directory for a new run.

        ``out=None`` picks ``runs/<name>-<n>``. An existing run is refused
        unless ``force``, which deletes its files first, but never a file the
        run reads (``inputs``: a config.yaml in ``out`` that is the config itself).
        """
        if out is None:
            base = Path("runs")
            base.mkdir(parents=True, exist_ok=True)
            for _ in range(1000):  # runs starting together race for the same n: losers retry
                candidate = cls.next_free(base, name)
                try:
                    candidate.mkdir()
                    break
                except FileExistsError:
                    continue
            else:
                raise RunDirError(f"{base}: could not claim a new run directory for {name!r}")
            run = cls(candidate)
            run.lock()
            return run
        out = check_name(out, RunDirError)
        if out.is_symlink() and not out.exists():  # dangling, or a loop
            raise RunDirError(f"{out}: is a symlink to nothing; give a directory")
        if out.exists() and not out.is_dir():
            raise RunDirError(f"{out}: exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        run = cls(out)
        run.lock()
        existing = [f for f in RUN_FILES if (out / f).exists()]
        if existing and not force:
            run.unlock()
            raise RunDirError(
                f"{out}: holds a run already ({', '.join(existing)}); pass --force to overwrite "
                "it, or --resume to continue it"
            )
        for f in existing:
            read = next((i for i in inputs if _same_file(out / f, i)), None)
            if read is not None:
                run.unlock()
                raise RunDirError(
                    f"{out}: its {f} is {read}, which this run reads; --force would delete it. "
                    "Choose another --out"
                )
        for f in existing:
            (out / f).unlink()
        remove_stale_temporaries(out)
        return run

    def lock(self) -> None:
        """Hold an exclusive lock on ``.lock`` (which names our pid) or refuse
        (:mod:`mlpcli.files.lock`: free again when the process dies, however it dies)."""
        self._lock_fd = lock.take(self.path / ".lock", RunDirError)

    def unlock(self) -> None:
        if self._lock_fd is not None:
            lock.release(self.path / ".lock", self._lock_fd)
            self._lock_fd = None

    # -- files ---------------------------------------------------------------------------
    def write_config(self, config: Config) -> None:
        atomic_write(self.path / "config.yaml", to_yaml(config).encode())

    def write_metrics(self, history: list[EpochRecord], task: str) -> None:
        atomic_write(self.path / "metrics.csv", metrics_csv(history, task).encode())

    def write_summary(self, summary: dict) -> None:
        atomic_write(self.path / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())


def metrics_csv(history: list[EpochRecord], task: str) -> str:
    """metrics.csv: one row per epoch; floats in shortest round-trip form, blank when absent."""
    m = METRIC[task]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "epoch",
            "step",
            "train_loss",
            "val_loss",
            f"train_{m}",
            f"val_{m}",
            "lr",
            "batch_size",
            "seconds",
        ]
    )

    def number(x: float | None) -> str:
        return "" if x is None else repr(x)

    for r in history:
        writer.writerow(
            [
                r.epoch,
                r.step,
                number(r.train_loss),
                number(r.val_loss),
                number(r.train_metric),
                number(r.val_metric),
                number(r.lr),
                r.batch_size,
                f"{r.seconds:.6f}",
            ]
        )
    return out.getvalue()


def summary_of(
    exp: Experiment,
    state: TrainState,
    held_out: dict[str, dict] | None = None,
    init_from: str | None = None,
) -> dict:
    """summary.json: how the run ended, final and best metrics, wall time.

    ``held_out`` maps "validation" and "test" to reports of the released
    weights on those splits (``train.evaluate``: loss and accuracy, or loss,
    MSE, MAE and R²). ``init_from`` records where the initial weights came
    from when they were not drawn from the seed (``--init-from``): config.yaml
    cannot say it.
    ``warnings`` are :func:`mlpcli.health.loss_warnings` of the training loss;
    ``threads`` the BLAS threads the run used; ``config`` the resolved config as
    trained (what config.yaml holds, as JSON: ``mlp runs`` reads a thousand of
    these in a fraction of the time the YAML would take).
    """
    m = METRIC[exp.task]
    held_out = held_out or {}
    return {
        "task": exp.task,
        "metric": m,
        "stop_reason": state.stop_reason,
        "epochs_run": state.epoch,
        "epochs_planned": exp.config.train.epochs,
        "steps": state.step,
        "wall_time": round(state.elapsed, 6),
        "n_train": len(exp.train),
        "n_validation": len(exp.validation) if exp.validation is not None else 0,
        "n_parameters": sum(p.value.size for p in exp.model.parameters()),
        "final": _final(state, m),
        "best": _best(exp, state),
        "validation": held_out.get("validation"),
        "test": held_out.get("test"),
        "target_scale": _target_scale(exp),
        "init_from": init_from,
        "warnings": loss_warnings([r.train_loss for r in state.history]),
        "threads": threads.in_effect(),
        "config": exp.config.model_dump(mode="json", by_alias=True),
        "class_weight": None
        if exp.class_weight is None
        else dict(zip(map(str, exp.classes.tolist()), exp.class_weight.tolist())),
    }


def _target_scale(exp: Experiment) -> dict | None:
    """The standardization of regression targets (None: trained in the targets' own units)."""
    scale = exp.model.target_scale
    if scale is None:
        return None
    return {"mean": scale.mean.tolist(), "std": scale.std.tolist()}


def _final(state: TrainState, m: str) -> dict | None:
    """The last epoch's row, by summary.json's names."""
    if not state.history:
        return None
    last = state.history[-1]
    return {
        "epoch": last.epoch,
        "train_loss": last.train_loss,
        "val_loss": last.val_loss,
        f"train_{m}": last.train_metric,
        f"val_{m}": last.val_metric,
    }


def _best(exp: Experiment, state: TrainState) -> dict | None:
    """The early-stopping best, or else the epoch of the lowest validation (or training) loss."""
    stop = exp.config.train.early_stopping
    if state.best_epoch is not None and stop is not None:
        return {
            "epoch": state.best_epoch,
            "metric": stop.metric,
            "value": state.best_value,
            # an interrupted run keeps its last weights, to continue from them
            "restored": stop.restore_best and state.stop_reason != "interrupted",
        }
    if not state.history:
        return None
    name = "val_loss" if state.history[-1].val_loss is not None else "train_loss"
    b = min(state.history, key=lambda r: getattr(r, name))
    return {"epoch": b.epoch, "metric": name, "value": getattr(b, name), "restored": False}


@dataclass
class RunResult:
    run: RunDir
    experiment: Experiment
    state: TrainState
    summary: dict
    error: str | None = None  # the divergence message when stop_reason is "diverged"


class Checkpointer:
    """The trainer's ``on_checkpoint``: writes model, state, metrics and, at the end, summary."""

    def __init__(
        self,
        run: RunDir,
        exp: Experiment,
        init_from: str | None = None,
        extra: dict | None = None,
    ) -> None:
        self.run, self.exp, self.init_from = run, exp, init_from
        self.extra = extra or {}  # more summary.json fields (the overrides)
        self.seconds = exp.config.train.checkpoint_seconds
        self.fingerprint = fingerprint(exp.config)
        self.saved = SavedModel(
            exp.model,
            exp.config,
            exp.classes,
            exp.feature_names,
            exp.target_names,
            class_weight=exp.class_weight,
        )  # the model's parameters are read at each save
        self.last_write = time.monotonic()
        self.summary: dict | None = None

    def __call__(self, trainer: Trainer, final: bool) -> None:
        if not final and time.monotonic() - self.last_write < self.seconds:
            return
        exp, st = self.exp, trainer.state
        run = self.run
        run.write_metrics(st.history, exp.task)
        diverged = st.stop_reason == "diverged"
        if not diverged:  # a diverged run keeps its last state file, from a finite point
            state, arrays = trainer.snapshot()
            save_state(run.path / "state.safetensors", state, arrays, self.fingerprint)
        if final:  # the state holds the last weights; the model file what the run releases
            trainer.release()
        save_model(run.path / "model.safetensors", self.saved)
        if final:
            splits = {"validation": exp.validation, "test": exp.test}
            held_out = {} if diverged else {
                name: evaluate(exp, split) for name, split in splits.items() if split is not None
            }  # fmt: skip
            self.summary = {**summary_of(exp, st, held_out, self.init_from), **self.extra}
            run.write_summary(self.summary)
        self.last_write = time.monotonic()


def train_new(
    config: Config,
    name: str,
    *,
    out: Path | None = None,
    force: bool = False,
    init: Path | None = None,
    inputs: Sequence[Path] = (),
    overrides: Sequence[str] = (),
    on_start: Callable[[Experiment, RunDir], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Build, create the run directory, train and save. Data problems leave no directory behind.

    ``inputs``: files the caller read for this run besides its data (the config file);
    ``--force`` will not delete them. ``overrides``: the ``--set`` assignments that
    made ``config``, recorded in summary.json with the values they resolved to.
    """
    exp = prepare(config)
    if init is not None:
        init_from(exp.model, Path(init))
    reads = [*inputs, *source_paths(config), *([Path(init)] if init is not None else [])]
    run = RunDir.create(out, name, force, reads)
    try:
        run.write_config(config)
        if on_start:
            on_start(exp, run)
        source = None if init is None else str(Path(init).resolve())
        extra = made_by(config, overrides)
        hooks = {"on_epoch": on_epoch, "should_stop": should_stop, "on_progress": on_progress}
        return _train(exp, run, TrainState(), hooks, None, source, extra)
    finally:
        run.unlock()


def train_resume(
    run_path: Path,
    overrides: list[str],
    config_path: Path | None = None,
    *,
    on_start: Callable[[Experiment, RunDir], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Continue a run from its state file; only ``train.epochs`` may change."""
    run_path = Path(run_path)
    saved_config = run_path / "config.yaml"
    if not (run_path / "state.safetensors").exists():
        what = "not a run directory" if not saved_config.exists() else "has no state.safetensors"
        raise RunDirError(f"{run_path}: {what}; nothing to resume")
    original = load_config(saved_config)
    config = load_config(config_path or saved_config, overrides)
    changed = training_changes(original, config)
    if changed:
        raise ConfigError(
            f"{run_path}: cannot resume with a different config ({', '.join(changed)} "
            "changed); only train.epochs may change"
        )
    run = RunDir(run_path)
    run.lock()
    try:
        remove_stale_temporaries(run_path)
        state_dict, arrays, saved_fingerprint = load_state(run_path / "state.safetensors")
        exp = prepare(config)
        if saved_fingerprint != fingerprint(original):
            raise ConfigError(f"{run_path}: state.safetensors belongs to a different config")
        state = _state_to_continue(run_path, state_dict, arrays, original, config.train.epochs)
        run.write_config(config)
        if on_start:
            on_start(exp, run)
        before = previous_summary(run_path)
        extra = {k: before[k] for k in ("overrides", "overridden") if k in before}
        init = before.get("init_from")
        hooks = {"on_epoch": on_epoch, "should_stop": should_stop, "on_progress": on_progress}
        return _train(exp, run, state, hooks, arrays, init, extra)
    finally:
        run.unlock()


def _state_to_continue(
    run_path: Path, state_dict: dict, arrays: dict, original: Config, epochs: int
) -> TrainState:
    """The saved state, ready to train on to ``epochs``, or why the run cannot continue."""
    try:
        state = TrainState.from_saved(state_dict, arrays["history"])
    except (KeyError, ValueError, TypeError, IndexError) as e:
        raise ModelFileError(
            f"{run_path}/state.safetensors: not a state this version wrote ({e!r})"
        ) from None
    if epochs < state.epoch:
        raise ConfigError(
            f"{run_path}: train.epochs {epochs} is fewer than the {state.epoch} epochs it "
            f"has already run; resume with train.epochs ≥ {state.epoch}"
        )
    if state.stop_reason == "early_stopping":
        raise RunDirError(
            f"{run_path}: stopped early at epoch {state.epoch} (no improvement for "
            f"{state.bad_epochs} epochs); there is nothing to resume"
        )
    wasted = cosine_ended(original, epochs, state.step)
    if wasted and epochs > state.epoch:
        raise ConfigError(f"{run_path}: {wasted}")
    state.stop_reason = None  # interrupted, or completed with fewer epochs than now asked
    return state


def source_paths(config: Config) -> list[Path]:
    """Every file the config's data sources name."""
    out = []
    for source in (config.data.train, config.data.validation, config.data.test):
        for key in ("path", "images", "labels"):
            if hasattr(source, key):
                out.append(Path(getattr(source, key)))
    return out


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def previous_summary(run_path: Path) -> dict:
    """A run's earlier summary (``{}`` if none), whose ``init_from`` and overrides a
    resumption carries over."""
    try:
        summary = json.loads(read_regular(run_path / "summary.json", "a summary", 2**26))
    except (OSError, ValueError, MlpError):
        return {}
    return summary if isinstance(summary, dict) else {}


def made_by(config: Config, overrides: Sequence[str]) -> dict:
    """summary.json's record of the overrides: as given, and the values they resolved to."""
    return {"overrides": list(overrides), "overridden": resolved_values(config, overrides)}


def _train(
    exp: Experiment,
    run: RunDir,
    state: TrainState,
    hooks: dict[str, Callable | None],
    arrays: dict[str, np.ndarray] | None = None,
    init_from: str | None = None,
    extra: dict | None = None,
) -> RunResult:
    checkpointer = Checkpointer(run, exp, init_from, extra)
    trainer = Trainer(exp, on_checkpoint=checkpointer, **hooks)
    if arrays is not None:
        try:
            trainer.restore(state, arrays)
        except (KeyError, ValueError, TypeError, IndexError) as e:
            raise ModelFileError(
                f"{run.path}/state.safetensors: does not fit this network ({e!r})"
            ) from None
    error = None
    try:
        trainer.run()
    except DivergedError as e:  # saved already (last finite weights); the caller reports it
        error = f"{e}. {divergence_hint(exp, e.lr, str(run.path / 'config.yaml'))}"
    return RunResult(run, exp, trainer.state, checkpointer.summary, error)
