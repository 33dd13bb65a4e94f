"""Many run directories as one table: ``mlp runs`` and the results of ``mlp sweep``.

A run directory is any directory holding a ``config.yaml`` (docs/design.md,
"Run directory"); directories are searched recursively, and not below a run
nor through a symlink to a directory (a link to a parent would loop forever).
Each run becomes one flat row: the config fields that differ between the runs
shown (dotted paths, :func:`mlpcli.config.differing_fields`), its status, and
its final, best and test metrics from ``summary.json``.

A run's status:

============== ============================================================
finished       trained every planned epoch
early-stopped  stopped by early stopping
diverged       a non-finite loss stopped it, or its loss ended far above its
               start (``loss_rose`` in :mod:`mlpcli.health`)
interrupted    stopped by a signal with its state saved, or killed with a
               state file left (``mlp train --resume`` continues it)
running        a process holds its lock (``.lock``) now
failed         neither finished nor resumable: no summary, no state, no lock
damaged        a file it is read from cannot be read: ``summary.json`` is
               there but not a JSON object (truncated, empty, nested past
               the parser's depth), or, without a summary, ``config.yaml``
               is not a YAML mapping; the row's warnings name the file
============== ============================================================

Reading is meant to be fast (a thousand runs in well under a second): one
JSON file per finished run (``summary.json`` carries the resolved config;
``config.yaml`` is read, through libyaml, only for runs without a summary),
and the kernel's table of ``flock`` locks read once instead of probing each
lock file.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlpcli.config import comparable, differing_fields, read_saved_tree, value_at
from mlpcli.errors import MlpError
from mlpcli.paths import read_regular

STATUSES = ("finished", "early-stopped", "diverged", "interrupted", "running", "failed", "damaged")
_BY_STOP_REASON = {
    "completed": "finished",
    "early_stopping": "early-stopped",
    "diverged": "diverged",
    "interrupted": "interrupted",
}
#: Metric columns, in table order; those no run has are left out.
METRIC_COLUMNS = (
    "epochs",
    "time",
    "train_loss",
    "val_loss",
    "val_accuracy",
    "val_mse",
    "best_epoch",
    "best_value",
    "test_loss",
    "test_accuracy",
    "test_mse",
)
#: Columns where higher is better; everything else sorts ascending.
HIGHER_IS_BETTER = {"val_accuracy", "test_accuracy", "train_accuracy"}


@dataclass
class RunInfo:
    """One run directory as read: its status, summary and resolved config (raw mapping)."""

    path: Path
    status: str
    summary: dict | None
    config: dict | None
    epochs_done: int | None = None  # for a running run: rows of metrics.csv so far
    damage: tuple[str, ...] = ()  # "summary.json unreadable (...)": files present, unreadable


def find_runs(roots: Iterable[Path]) -> list[Path]:
    """Every run directory at or below the roots, sorted; hidden directories skipped."""
    found: list[Path] = []
    stack = [Path(r) for r in roots]
    while stack:
        d = stack.pop()
        if (d / "config.yaml").is_file():
            found.append(d)
            continue
        try:
            entries = list(os.scandir(d))
        except OSError:  # not a directory, gone, no permission, a symlink loop given as root
            continue
        stack.extend(
            Path(e.path)
            for e in entries
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
        )
    return sorted(set(found))


def locked_files() -> set[tuple[int, int, int]] | None:
    """(major, minor, inode) of every file someone holds a ``flock`` on, from
    ``/proc/locks``; None where the kernel does not publish it."""
    try:
        text = Path("/proc/locks").read_text()
    except OSError:
        return None
    out = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 5 and parts[1] == "FLOCK" and parts[0] != "->":  # "->": waiting
            try:
                major, minor, inode = parts[5].split(":")
                out.add((int(major, 16), int(minor, 16), int(inode)))
            except ValueError:
                continue
    return out


def is_locked(lock: Path, table: set[tuple[int, int, int]] | None) -> bool:
    """Whether a process holds the run's lock (``runs.RunDir.lock``) now."""
    try:
        st = os.stat(lock)
    except OSError:
        return False  # released locks are unlinked
    if table is not None:
        return (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in table
    try:  # no /proc/locks: probe (a shared lock, dropped at once)
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def read_run(path: Path, locks: set[tuple[int, int, int]] | None = None) -> RunInfo:
    """Read one run directory (``locks``: :func:`locked_files`, read once for many runs)."""
    path = Path(path)
    if is_locked(path / ".lock", locks):
        config, damage = _config(path)
        rows = _rows_so_far(path / "metrics.csv")
        return RunInfo(path, "running", None, config, rows, damage)
    summary, damage = _read_summary(path / "summary.json")
    config = summary.get("config") if summary is not None else None
    if not isinstance(config, dict):
        config, config_damage = _config(path)
        damage += config_damage
    if summary is not None and summary.get("stop_reason") in _BY_STOP_REASON:
        status = _BY_STOP_REASON[summary["stop_reason"]]
        if any(w.get("kind") == "loss_rose" for w in _warnings(summary)):
            status = "diverged"
        return RunInfo(path, status, summary, config, damage=damage)
    if damage:
        status = "damaged"
    else:
        status = "interrupted" if (path / "state.safetensors").exists() else "failed"
    return RunInfo(path, status, summary, config, _rows_so_far(path / "metrics.csv"), damage)


def _config(path: Path) -> tuple[dict | None, tuple[str, ...]]:
    """config.yaml as a mapping (for runs whose summary does not carry the config), and
    what is wrong with it when it is not one."""
    try:
        config = read_saved_tree(path / "config.yaml")
    except RecursionError:  # nested past the YAML constructor's depth
        config = None
    if isinstance(config, dict):
        return config, ()
    return None, ("config.yaml unreadable (not a YAML mapping)",)


def read_runs(roots: Iterable[Path]) -> list[RunInfo]:
    locks = locked_files()
    return [read_run(p, locks) for p in find_runs(roots)]


def _read_summary(path: Path) -> tuple[dict | None, tuple[str, ...]]:
    """summary.json as a mapping, or None: absent (no damage) or unreadable (said why)."""
    if not os.path.lexists(path):
        return None, ()
    try:
        value = json.loads(read_regular(path, "a JSON file", 2**26))
    except (OSError, MlpError):
        return None, ("summary.json unreadable (cannot be read)",)
    except (ValueError, RecursionError):  # truncated, empty, or nested past the parser
        return None, ("summary.json unreadable (not valid JSON)",)
    if not isinstance(value, dict):
        return None, ("summary.json unreadable (not a JSON object)",)
    return value, ()


def _warnings(summary: dict) -> list[dict]:
    w = summary.get("warnings")
    return [x for x in w if isinstance(x, dict)] if isinstance(w, list) else []


def _rows_so_far(metrics: Path) -> int | None:
    try:
        with open(metrics, "rb") as f:
            return max(0, sum(1 for _ in f) - 1)
    except OSError:
        return None


# -- rows --------------------------------------------------------------------------------


def fields_of(runs: Sequence[RunInfo]) -> list[str]:
    """The config fields that differ between the runs (runs without a config are skipped)."""
    return differing_fields([r.config for r in runs if r.config is not None])


def row(run: RunInfo, fields: Sequence[str], label: str | None = None) -> dict[str, Any]:
    """One flat row: run, the differing fields, status, metrics, warnings."""
    s = run.summary or {}
    out: dict[str, Any] = {"run": label if label is not None else str(run.path)}
    for f in fields:
        out[f] = value_at(run.config, f)
    out["status"] = run.status
    epochs = s.get("epochs_run", run.epochs_done)
    out["epochs"] = epochs
    out["time"] = s.get("wall_time")
    metric = s.get("metric")
    final = _section(s, "final")
    out["train_loss"] = final.get("train_loss")
    out["val_loss"] = final.get("val_loss")
    if metric:
        out[f"val_{metric}"] = final.get(f"val_{metric}")
    best = _section(s, "best")
    out["best_epoch"], out["best_value"] = best.get("epoch"), best.get("value")
    test = _section(s, "test")
    out["test_loss"] = test.get("loss")
    if metric:
        out[f"test_{metric}"] = test.get(metric)
    out["warnings"] = "; ".join([*run.damage, *(w.get("kind", "") for w in _warnings(s))])
    return out


def _section(summary: dict, key: str) -> dict:
    """``summary[key]`` when it is a mapping, else empty (a hand-edited summary)."""
    value = summary.get(key)
    return value if isinstance(value, dict) else {}


def table(runs: Sequence[RunInfo], base: Path | None = None) -> tuple[list[str], list[dict]]:
    """(columns, rows) for the runs: run, differing fields, status, the metrics any run has.

    ``base``: runs are labelled by their path relative to it when they lie below it.
    """
    runs = [replace(r, config=None if r.config is None else comparable(r.config)) for r in runs]
    fields = fields_of(runs)
    rows = [row(r, fields, _label(r.path, base)) for r in runs]
    present = {k for r in rows for k, v in r.items() if v not in (None, "")}
    columns = ["run", *fields, "status"]
    columns += [c for c in METRIC_COLUMNS if c in present]
    if "warnings" in present:
        columns.append("warnings")
    return columns, [{c: r.get(c) for c in columns} for r in rows]


def _label(path: Path, base: Path | None) -> str:
    """The path below ``base``; the run's directory name when it is ``base`` itself."""
    if base is not None:
        try:
            below = path.relative_to(base)
        except ValueError:
            return str(path)
        return str(below) if below.parts else path.resolve().name
    return str(path)


def default_sort(columns: Sequence[str]) -> str | None:
    """What to rank by when not told: validation accuracy/MSE, else test, else the loss."""
    for c in ("val_accuracy", "val_mse", "val_loss", "test_accuracy", "test_mse", "train_loss"):
        if c in columns:
            return c
    return None


#: Statuses ranked after the others whatever their numbers: their metrics mean little.
RANKED_LAST = {"diverged", "failed", "damaged"}


def sort_rows(rows: list[dict], key: str) -> list[dict]:
    """Best first for ``key`` (accuracies descending, everything else ascending; ties by
    validation loss); diverged, failed and damaged runs after the others, and rows without a
    value last."""

    def rank(r: dict) -> tuple:
        v = r.get(key)
        last = r.get("status") in RANKED_LAST
        tie = r.get("val_loss")  # equal accuracies: the lower validation loss first
        tie = tie if isinstance(tie, (int, float)) and math.isfinite(tie) else math.inf
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return (last, 1, 0, "", tie)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return (last, 0, -v if key in HIGHER_IS_BETTER else v, "", tie)
        return (last, 0, 0, cell(v), tie)  # text and lists: in text order

    return sorted(rows, key=rank)


def cell(value: Any) -> str:
    """A value as a CSV cell: lists and mappings as compact JSON, None empty."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def to_csv(columns: Sequence[str], rows: Sequence[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([cell(r.get(c)) for c in columns])
    return out.getvalue()
