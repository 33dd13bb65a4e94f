"""What every workload shares: datasets on disk, configs, timing, subprocesses, tables."""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SEED = 0


@dataclass
class Context:
    """Settings of one benchmark run, and results later workloads may reuse."""

    quick: bool
    repeats: int | None  # --repeats: overrides every workload's default
    workdir: Path
    results: dict[str, Any] = field(default_factory=dict)

    def n_repeats(self, full: int, quick: int) -> int:
        if self.repeats is not None:
            return self.repeats
        return quick if self.quick else full


@dataclass
class Target:
    workload: str
    what: str  # "mlpcli ≤ 1.0 × torch"
    measured: str  # "0.83 ×"
    passed: bool | None  # None: not measurable here (a reference not installed)


@dataclass
class Section:
    """One workload's part of RESULTS.md."""

    key: str
    title: str
    intro: str
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # raw numbers, for --json

    def table(self, caption: str, headers: list[str], rows: list[list[Any]]) -> None:
        self.tables.append((caption, headers, [[str(c) for c in r] for r in rows]))

    def markdown(self) -> str:
        out = [f"## {self.key} — {self.title}", "", self.intro, ""]
        for caption, headers, rows in self.tables:
            if caption:
                out += [caption, ""]
            out += [md_table(headers, rows), ""]
        for note in self.notes:
            out.append(f"- {note}")
        if self.notes:
            out.append("")
        return "\n".join(out)


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- formatting ---------------------------------------------------------------------------


def verdict(passed: bool | None) -> str:
    return {True: "PASS", False: "**FAIL**", None: "n/a"}[passed]


def fmt_ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}×"


def fmt_s(x: float) -> str:
    return f"{x:.3f}"


def spread(times: list[float]) -> float:
    """max/min − 1: how far apart the repeats were."""
    return max(times) / min(times) - 1 if times else float("nan")


# -- timing -------------------------------------------------------------------------------


@dataclass
class Timing:
    times: list[float]
    output: Any = None  # what the last run returned

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        return min(self.times)


def noise_probe(runs: int = 5) -> list[float]:
    """Seconds of a fixed BLAS loop (200 products of 128×784 by 784×256, float32), ``runs`` times.

    The same work every time: its spread shows how steady the machine was
    (on a shared VM a busy neighbour can slow a multi-threaded BLAS several-fold).
    """
    rng = np.random.default_rng(0)
    a = rng.random((128, 784), dtype=np.float32)
    w = rng.random((256, 784), dtype=np.float32)
    out = np.empty((128, 256), dtype=np.float32)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(200):
            np.matmul(a, w.T, out=out)
        times.append(time.perf_counter() - start)
    return times


_PROBE = {}
GATE = {"runs": 0, "waited": 0, "seconds": 0.0, "gave_up": 0}


def _small_probe() -> float:
    """~10 ms of two-threaded BLAS: 30 products of 128×784 by 784×256."""
    if not _PROBE:
        rng = np.random.default_rng(1)
        _PROBE["a"] = rng.random((128, 784), dtype=np.float32)
        _PROBE["w"] = rng.random((256, 784), dtype=np.float32)
        _PROBE["out"] = np.empty((128, 256), dtype=np.float32)
    a, w, out = _PROBE["a"], _PROBE["w"], _PROBE["out"]
    start = time.perf_counter()
    for _ in range(30):
        np.matmul(a, w.T, out=out)
    return time.perf_counter() - start


def wait_quiet(tolerance: float = 1.3, max_wait: float = 15.0) -> None:
    """Before a timed run, wait (up to ``max_wait`` s) until the small probe runs at full speed.

    On this kind of shared VM the second core disappears for seconds at a
    time and a two-threaded BLAS then crawls; starting every timed run in a
    quiet moment keeps most repeats clean. "Full speed" is within
    ``tolerance`` of the fastest probe seen so far.
    """
    GATE["runs"] += 1
    best = _PROBE.get("best")
    if best is None:
        best = _PROBE["best"] = min(_small_probe() for _ in range(7))
    start = time.perf_counter()
    first = True
    while True:
        t = _small_probe()
        _PROBE["best"] = best = min(best, t)
        if t <= tolerance * best:
            break
        if first:
            GATE["waited"] += 1
            first = False
        if time.perf_counter() - start > max_wait:
            GATE["gave_up"] += 1
            break
        time.sleep(0.1)
    if not first:
        GATE["seconds"] += time.perf_counter() - start


def interleaved(
    cases: dict[str, Callable[[], Callable[[], Any]]], repeats: int, warmup: int = 1
) -> dict[str, Timing]:
    """Time several implementations in rounds: each round runs every case once.

    ``cases[name]()`` prepares a fresh run outside the timed region (resets the
    weights, builds a trainer) and returns the callable that is timed. The
    first ``warmup`` rounds are discarded (page faults on fresh arrays, BLAS
    threads starting, lazy imports). Interleaving means slow drifts of the
    machine hit every implementation alike. The garbage collector stays on, as
    in real use, but a collection is forced before each timed run.
    """
    timings = {name: Timing([]) for name in cases}
    for r in range(warmup + repeats):
        for name, prepare in cases.items():
            run = prepare()
            gc.collect()
            wait_quiet()
            start = time.perf_counter()
            out = run()
            elapsed = time.perf_counter() - start
            timings[name].output = out
            if r >= warmup:
                timings[name].times.append(elapsed)
    return timings


# -- data and configs ----------------------------------------------------------------------


def classification_data(n: int, d: int, seed: int, classes: int = 10) -> tuple[np.ndarray, ...]:
    """Inputs uniform in [0, 1) (like scaled pixels), labels uniform over ``classes``."""
    rng = np.random.default_rng([seed, n, d])
    x = rng.random((n, d), dtype=np.float32)
    y = rng.integers(0, classes, size=n)
    return x, y


def npz_dataset(ctx: Context, name: str, n: int, d: int, seed: int = SEED) -> Path:
    """An uncompressed .npz (``np.savez``) with x (n, d) float32 and y (n,), written once."""
    path = ctx.workdir / f"{name}_n{n}_d{d}_s{seed}.npz"
    if not path.exists():
        log(f"  writing {path} ({n * d * 4 / 1e6:.0f} MB)")
        x, y = classification_data(n, d, seed)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, x=x, y=y)
        os.replace(tmp, path)
    return path


def write_config(ctx: Context, name: str, data: Path, model: dict, loss: str, train: dict) -> Path:
    """A YAML config (JSON is YAML) for mlpcli."""
    config = {
        "seed": SEED,
        "data": {"train": {"path": str(data)}, "standardize": False},
        "model": model,
        "loss": loss,
        "train": train,
    }
    path = ctx.workdir / f"{name}.yaml"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def mlpcli_experiment(config: Path, overrides: list[str] | None = None):
    from mlpcli.config import load_config
    from mlpcli.prepare import prepare

    return prepare(load_config(config, overrides or []))


def mlpcli_params(exp) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(lay.weight.value.copy(), lay.bias.value.copy()) for lay in exp.model.layers]


def mlpcli_trainer_case(exp, init: list[tuple[np.ndarray, np.ndarray]]):
    """A case for :func:`interleaved`: reset the weights, build a Trainer, time ``run()``."""
    from mlpcli.train import Trainer

    def prepare():
        for lay, (w, b) in zip(exp.model.layers, init):
            lay.weight.value[...] = w
            lay.bias.value[...] = b
        trainer = Trainer(exp)

        def run():
            state = trainer.run()
            return {"loss": state.history[-1].train_loss, "params": mlpcli_params(exp)}

        return run

    return prepare


def first_epoch_order(n: int) -> np.ndarray:
    """The permutation the mlpcli Trainer visits in its first epoch (its 'shuffle' stream)."""
    from mlpcli.experiment import rng

    return rng(SEED, "shuffle").permutation(n)


# -- the console script and subprocesses --------------------------------------------------------


@dataclass
class Scripts:
    """How ``mlp`` is reached: the console script and, under pyenv, the shell's shim."""

    script: str  # shutil.which("mlp") from this interpreter
    shim: str | None  # a pyenv shim a user's shell finds first, if any
    python: str = sys.executable


def find_scripts() -> Scripts:
    script = shutil.which("mlp") or str(Path(sysconfig.get_path("scripts")) / "mlp")
    if _is_shim(script):  # resolve to the interpreter's own console script
        shim, script = script, str(Path(sysconfig.get_path("scripts")) / "mlp")
        return Scripts(script, shim)
    # pyenv's python shim puts the version's bin/ first on PATH for this process;
    # a user's shell still finds the shim first.
    root = os.environ.get("PYENV_ROOT")
    if root and (Path(root) / "shims" / "mlp").exists():
        return Scripts(script, str(Path(root) / "shims" / "mlp"))
    return Scripts(script, None)


def _is_shim(path: str) -> bool:
    try:
        head = Path(path).read_bytes()[:2000]
    except OSError:
        return False
    return b"pyenv" in head and not head.startswith(b"#!" + sys.executable.encode())


def run_timed(cmd: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    wait_quiet()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}{proc.stdout[-2000:]}"
        )
    return elapsed, proc


def peak_rss_mb(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    """Peak resident memory (MB = 10⁶ bytes) of ``cmd`` run in a child process.

    With /usr/bin/time -v when present, else ``ru_maxrss`` of a fresh wrapper
    process's children (a fresh one, so no earlier child's peak leaks in).
    """
    wait_quiet()
    if Path("/usr/bin/time").exists():
        proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        if m:  # GNU time; a BSD or busybox time prints something else
            return int(m.group(1)) * 1024 / 1e6, proc
    wrapper = (
        "import resource, subprocess, sys; "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "sys.stderr.write(p.stderr); sys.stdout.write(p.stdout); "
        "print('MAXRSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
        "sys.exit(p.returncode)"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    kib = int(re.search(r"MAXRSS (\d+)", proc.stderr).group(1))
    return kib * 1024 / 1e6, proc
