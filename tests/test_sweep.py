"""mlp sweep: expansion (grid, random, seeds), running trials in worker processes,
restart after an interruption, and trials that diverge or fail without stopping the rest."""

import contextlib
import csv
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import metrics_rows

from mlpcli import runtable
from mlpcli.config import load_config, parse_yaml
from mlpcli.errors import ConfigError
from mlpcli.sweep.expand import Choice, IntRange, LogUniform, Uniform, expand, spec_from, yaml_text

#: Trials of this take well under a second each (most of it is starting Python).
TINY = """\
seed: 1
data:
  train: {generator: moons, n_samples: 120, noise: 0.15}
  validation_split: 0.25
model: {hidden: [8], activation: tanh, init: xavier}
train:
  epochs: 4
  batch: {mode: minibatch, size: 16}
  lr: 0.2
  checkpoint_seconds: 0
"""


# -- expansion ---------------------------------------------------------------------------


def test_grid_expands_every_combination_first_key_slowest(write):
    path = write("c.yaml", TINY)
    spec = spec_from(path, ["train.lr=0.01,0.1,1", "model.hidden=[16],[64,64]"])
    trials = expand(spec, ["train.epochs=2"])
    assert [t.values for t in trials] == [
        {"train.lr": lr, "model.hidden": h} for lr in (0.01, 0.1, 1) for h in ([16], [64, 64])
    ]
    assert [t.index for t in trials] == list(range(6))
    assert trials[1].name == "hidden=64-64,lr=0.01"
    assert trials[1].overrides == ["train.epochs=2", "train.lr=0.01", "model.hidden=[64,64]"]
    assert len({t.name for t in trials}) == 6
    for t in trials:  # every trial's overrides make a valid config with the swept values
        cfg = load_config(path, t.overrides)
        assert cfg.train.lr.initial == t.values["train.lr"]
        assert cfg.model.hidden == t.values["model.hidden"] and cfg.train.epochs == 2


def test_random_expansion_is_reproducible_in_range_and_extends_with_more_trials(write):
    options = [
        "train.lr=log_uniform(1e-3, 1)",
        "model.hidden.0=int(2, 5)",
        "model.activation=choice(relu, tanh)",
        "regularizer.lambda=uniform(0, 0.5)",
    ]
    path = write("c.yaml", TINY + "regularizer: {type: l2, lambda: 0.1}\n")
    draws = {
        seed: expand(spec_from(path, random=options, trials=40, seed=seed)) for seed in range(5)
    }
    again = expand(spec_from(path, random=options, trials=40, seed=3))
    assert [t.values for t in again] == [t.values for t in draws[3]]  # same seed, same trials
    assert [t.values for t in draws[0]] != [t.values for t in draws[1]]
    more = expand(spec_from(path, random=options, trials=60, seed=3))
    assert [t.values for t in more[: len(draws[3])]] == [t.values for t in draws[3]]
    values = [t.values for ts in draws.values() for t in ts]
    lrs = np.array([v["train.lr"] for v in values])
    assert lrs.min() >= 1e-3 and lrs.max() <= 1
    assert np.mean(lrs < 0.0316) == pytest.approx(0.5, abs=0.15)  # log-uniform: half below √(1e-3)
    assert {v["model.hidden.0"] for v in values} == {2, 3, 4, 5}  # both ends included
    assert {v["model.activation"] for v in values} == {"relu", "tanh"}
    assert all(0 <= v["regularizer.lambda"] <= 0.5 for v in values)
    assert all(len(repr(v["train.lr"]).replace("0.", "").lstrip("0")) <= 8 for v in values)
    for t in draws[0]:
        cfg = load_config(path, t.overrides)
        assert cfg.model.hidden[0] == t.values["model.hidden.0"]


def test_equal_grid_values_are_one_trial_in_their_first_spelling(write):
    spec = spec_from(write("c.yaml", TINY), ["train.lr=1,1.0,1e0,true", "model.hidden=[4],[4.0]"])
    assert [t.swept for t in expand(spec)] == [
        ["train.lr=1", "model.hidden=[4]"],
        ["train.lr=true", "model.hidden=[4]"],  # a boolean is not the number 1
    ]


def test_repeated_random_draws_are_run_once(write):
    path = write("c.yaml", TINY)
    trials = expand(spec_from(path, random=["model.hidden.0=int(3, 4)"], trials=30, seed=0))
    assert sorted(t.values["model.hidden.0"] for t in trials) == [3, 4]


def test_grid_times_random_uses_the_same_draws_at_every_grid_point(write):
    path = write("c.yaml", TINY)
    trials = expand(
        spec_from(path, ["seed=0,1"], ["train.lr=uniform(0.01, 0.5)"], trials=3, seed=7)
    )
    assert len(trials) == 6
    assert [t.values["train.lr"] for t in trials[:3]] == [t.values["train.lr"] for t in trials[3:]]


def test_sweep_section_of_the_config_matches_the_command_line(write, mlp):
    section = """\
sweep:
  grid:
    train.lr: [0.05, 0.2]
  random:
    model.hidden.0: int(4, 9)
    model.activation: {choice: [relu, tanh]}
  trials: 3
  seed: 5
"""
    path = write("s.yaml", TINY + section)
    from_file = expand(spec_from(path))
    plain = write("p.yaml", TINY)
    from_cli = expand(
        spec_from(plain, ["train.lr=0.05,0.2"],
                  ["model.hidden.0=int(4,9)", "model.activation=choice(relu,tanh)"], 3, 5)
    )  # fmt: skip
    assert [t.overrides for t in from_file] == [t.overrides for t in from_cli]
    res = mlp("train", path, "--out", "r", "-q")  # mlp train ignores the sweep: section
    assert res.exit_code == 0, res.stderr
    res = mlp("sweep", path, "--dry-run", "--json")
    assert res.exit_code == 0, res.stderr
    assert [d["overrides"] for d in res.json()] == [t.overrides for t in from_file]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--grid", "train.lr="], "expected KEY=V1,V2"),
        (["--random", "train.lr=gauss(0,1)"], "unknown distribution 'gauss'"),
        (["--random", "train.lr=log_uniform(0,1)", "--trials", "2"], "needs 0 < low < high"),
        (["--random", "model.hidden.0=int(5,2)", "--trials", "2"], "low ≤ high"),
        (["--random", "seed=int(1,99999999999999999999999)", "--trials", "2"], "within ±2**62"),
        (["--random", "train.lr=uniform(0,1)"], "need a trial count"),
        (["--grid", "train.lr=0.1", "--trials", "3"], "a trial count is for random"),
        ([], "nothing to sweep"),
        (["--grid", "train.lr=0.1,-1"], "trial 1 (lr=-1): "),
        (["--grid", "model.hiden=[2],[3]"], "did you mean 'hidden'"),
        (["--grid", "seed=1,2", "--trial", "2"], "--trial 2: the sweep has 2 trials (0–1)"),
        (["--grid", "seed=1,2", "--list", "--dry-run"], "give one of them"),
        (["--grid", "seed=1,2", "--list", "--json"], "--list and --json both write stdout"),
        (["--grid", "seed=1", "--grid", "seed=2,3"], "--grid seed: given twice on the command"),
        (["--grid", "seed=1", "--random", "seed=int(1,9)", "--trials", "2"], "given twice"),
        (["--grid", "seed=1,2", "--sort", "sed"], "--sort sed: not a column of this table"),
    ],
)
def test_bad_sweeps_are_refused_before_anything_runs(args, message, write, mlp, tmp_path):
    res = mlp("sweep", write("c.yaml", TINY), *args)
    assert res.exit_code == 2
    assert message in res.stderr
    assert not (tmp_path / "runs").exists()


def test_a_sweep_directory_is_its_own(write, mlp, tmp_path):
    path = write("c.yaml", TINY)
    (tmp_path / "afile").write_text("mine\n")
    res = mlp("sweep", path, "--grid", "seed=1,2", "--out", "afile")
    assert res.exit_code == 2 and "--out afile: not a directory" in res.stderr
    assert mlp("train", path, "--out", "run", "-q").exit_code == 0
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    res = mlp("sweep", path, "--grid", "seed=1,2", "--out", "run")
    assert res.exit_code == 2 and "is the directory of a run" in res.stderr
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before
    assert (tmp_path / "afile").read_text() == "mine\n"


def test_a_bad_sweep_section_names_its_line(write, mlp):
    path = write("c.yaml", TINY + "sweep:\n  grid:\n    train.lr: []\n")
    res = mlp("sweep", path, "--dry-run")
    assert (
        res.exit_code == 2
        and "sweep.grid.train.lr (line 13): must be a non-empty list" in res.stderr
    )
    # In flow style the comma of log_uniform(a, b) ends the entry: the message says so.
    path = write("c.yaml", TINY + "sweep:\n  random: {train.lr: log_uniform(1e-3, 1)}\n"
                                  "  trials: 2\n")  # fmt: skip
    res = mlp("sweep", path, "--dry-run")
    assert res.exit_code == 2 and "in a {...} mapping a comma ends the entry" in res.stderr


@pytest.mark.parametrize(
    "value", [0.01, 1e-05, 3, True, None, "relu", "true", "1e3", [64, 64], ["relu", "tanh"],
              {"schedule": "step", "initial": 0.1}, "a: b", "x,y", [[1, 2], [3]]],
)  # fmt: skip
def test_swept_values_are_written_so_that_set_reads_them_back(value):
    assert parse_yaml(yaml_text(value), "v")[0] == value


def test_distributions_refuse_nonsense():
    for make in (lambda: Uniform(1, 1), lambda: LogUniform(-1, 1), lambda: IntRange(1.5, 3),
                 lambda: Choice(), lambda: Uniform(float("nan"), 1)):  # fmt: skip
        with pytest.raises(ValueError):
            make()
    with pytest.raises(ConfigError):
        spec_from.__globals__["distribution"]("uniform", "x")


# -- running -----------------------------------------------------------------------------


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_four_trial_sweep_with_two_jobs(write, mlp, tmp_path):
    path = write("c.yaml", TINY)
    res = mlp("sweep", path, "--grid", "train.lr=0.05,0.3", "--grid", "model.hidden=[4],[8,8]",
              "--jobs", "2", "--json")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    sweep_dir = tmp_path / "runs" / "c"
    rows = res.json()
    assert len(rows) == 4 and {r["status"] for r in rows} == {"finished"}
    accuracies = [r["val_accuracy"] for r in rows]
    assert accuracies == sorted(accuracies, reverse=True)  # ranked, best first
    assert "2 at a time, 1 BLAS thread each" in res.stderr
    assert "Sweep runs/c: 4 finished" in res.stderr
    saved = read_jsonl(sweep_dir / "sweep.jsonl")
    assert sorted(r["trial"] for r in saved) == [0, 1, 2, 3]
    with open(sweep_dir / "sweep.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["run"] for r in table] == [r["run"] for r in saved]
    assert {r["model.hidden"] for r in table} == {"[4]", "[8,8]"}
    for r in saved:  # every trial is an ordinary run directory
        run = sweep_dir / r["run"]
        summary = json.loads((run / "summary.json").read_text())
        assert summary["stop_reason"] == "completed" and summary["threads"] == 1
        assert summary["overridden"]["train.lr"] == {
            "schedule": "constant",
            "initial": r["train.lr"],
            "unit": "epoch",
            "warmup": 0,
        }
        assert len(metrics_rows(run)) == 5
    again = mlp("sweep", path, "--grid", "train.lr=0.05,0.3", "--grid", "model.hidden=[4],[8,8]",
                "--json")  # fmt: skip
    assert again.exit_code == 0
    assert [r["time"] for r in again.json()] == [r["time"] for r in rows]  # all skipped


def test_a_diverging_and_a_failing_trial_do_not_stop_the_others(write, mlp, tmp_path):
    relu = TINY.replace("activation: tanh, init: xavier", "activation: relu")
    path = write("c.yaml", relu.replace("lr: 0.2", "lr: 0.2\n  optimizer: {momentum: 0.9}"))
    # lr 1e6 diverges; batch size 10000 exceeds the 90 training rows: that trial fails
    res = mlp("sweep", path, "--grid", "train.lr=0.2,1e6", "--grid", "train.batch.size=16,10000",
              "-j", "2", "--json")  # fmt: skip
    assert res.exit_code == 1, res.stderr  # a trial failed
    rows = {(r["train.lr"], r["train.batch.size"]): r for r in res.json()}
    assert rows[0.2, 16]["status"] == "finished" and rows[0.2, 16]["error"] is None
    assert rows[1e6, 16]["status"] == "diverged"
    assert "training diverged at epoch" in rows[1e6, 16]["error"]
    for lr in (0.2, 1e6):
        failed = rows[lr, 10000]
        assert failed["status"] == "failed", failed
        assert "batch" in failed["error"] and "\n" not in failed["error"]
    assert res.json()[-1]["status"] == "failed"  # diverged and failed rank last


def test_interrupted_sweep_restarts_skipping_finished_and_resuming_interrupted(write, tmp_path):
    long = TINY.replace("n_samples: 120", "n_samples: 240").replace(
        "{mode: minibatch, size: 16}", "{mode: stochastic}"
    )
    path = write("c.yaml", long)
    args = [sys.executable, "-m", "mlpcli", "sweep", str(path), "--grid", "train.epochs=2,25",
            "-j", "1", "--out", "sw"]  # fmt: skip
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    first, second = tmp_path / "sw" / "epochs=2", tmp_path / "sw" / "epochs=25"
    deadline = time.monotonic() + 60
    while not (second / "metrics.csv").exists():  # trial 1 saved an epoch: trial 0 is done
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: trials saved" in err
    rows = {r["run"]: r for r in read_jsonl(tmp_path / "sw" / "sweep.jsonl")}
    assert rows["epochs=2"]["status"] == "finished"
    assert rows["epochs=25"]["status"] == "interrupted"
    done = json.loads((second / "summary.json").read_text())["epochs_run"]
    assert 1 <= done < 25
    finished_at = (first / "summary.json").stat().st_mtime_ns

    res = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert (first / "summary.json").stat().st_mtime_ns == finished_at  # skipped
    summary = json.loads((second / "summary.json").read_text())
    assert summary["stop_reason"] == "completed" and summary["epochs_run"] == 25
    assert [r[0] for r in metrics_rows(second)[1:]] == [str(e) for e in range(1, 26)]
    assert {r["status"] for r in read_jsonl(tmp_path / "sw" / "sweep.jsonl")} == {"finished"}


def test_one_sweep_at_a_time_in_a_directory(write, tmp_path):
    endless = TINY.replace("epochs: 4", "epochs: 100000")  # cannot finish during the test
    args = [sys.executable, "-m", "mlpcli", "sweep", str(write("c.yaml", endless)),
            "--grid", "seed=1", "--out", "sw"]  # fmt: skip
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "sw" / "seed=1" / "metrics.csv").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)  # a polling interval
        other = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert other.returncode == 2, other.stderr
        assert "sw: in use by another mlp process (pid" in other.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert not (tmp_path / "sw" / ".sweep.lock").exists()


def test_a_trial_directory_holding_another_configs_run_is_not_mistaken_for_it(write, mlp):
    path = write("c.yaml", TINY)
    res = mlp("sweep", path, "--grid", "train.lr=0.1", "--out", "sw", "--sort", "lr")
    assert res.exit_code == 0, res.stderr  # the heading the sweep's table shows for train.lr
    res = mlp("sweep", path, "--grid", "train.lr=0.1", "--set", "train.epochs=2", "--out", "sw",
              "--json")  # fmt: skip
    assert res.exit_code == 1  # a 4-epoch run is not this 2-epoch trial's
    assert "(train.epochs differ: it ran 4 epochs, the trial asks for 2)" in res.json()[0]["error"]
    res = mlp("sweep", path, "--grid", "train.lr=0.1", "--set", "train.batch.size=8",
              "--out", "sw", "--json")  # fmt: skip
    assert res.exit_code == 1
    (row,) = res.json()
    assert row["status"] == "failed"
    assert "holds a run of another config (train.batch.size differ)" in row["error"]
    res = mlp("sweep", path, "--grid", "train.lr=0.1", "--set", "train.batch.size=8",
              "--out", "sw", "--trial", "0")  # fmt: skip
    assert res.exit_code == 2 and "holds a run of another config" in res.stderr


# -- trials other processes hold, and signals ---------------------------------------------

MLP = [sys.executable, "-m", "mlpcli"]
#: About 0.3 s of training: a process holding such a run is caught while it holds it.
SLOW = (
    TINY.replace("n_samples: 120", "n_samples: 240")
    .replace("{mode: minibatch, size: 16}", "{mode: stochastic}")
    .replace("epochs: 4", "epochs: 40")
)


class Lines:
    """A process's stderr read by a thread; ``expect(text)`` waits, with a deadline, for a
    line holding ``text``."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(proc.stderr,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"no line with {text!r} in:\n{''.join(self.seen)}"
            self.seen.append(line)
            if text in line:
                return

    def rest(self) -> str:
        while (line := self.lines.get(timeout=60)) is not None:
            self.seen.append(line)
        return "".join(self.seen)


def held(run_dir) -> bool:
    return runtable.is_locked(run_dir / ".lock", runtable.locked_files())


def wait_until(condition, proc, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert proc.poll() is None, f"{what}: the process ended ({proc.returncode})"
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def test_a_sweep_waits_for_trials_other_processes_hold(write, tmp_path):
    """A trial another mlp holds (a worker a killed sweep left behind, a --trial task) is
    waited for, when the sweep starts or when its turn comes, then planned again: killed
    unfinished, it is trained; finished by the other process, it is read as it is."""
    path = write("c.yaml", SLOW)
    grid = ["--grid", "train.lr=0.2,0.3"]
    runs = [tmp_path / "sw" / "lr=0.2", tmp_path / "sw" / "lr=0.3"]
    holders: list[subprocess.Popen] = []

    def hold(i):  # trial i run by another mlp, frozen while it holds the run's lock
        proc = subprocess.Popen([*MLP, "train", path, "--set", f"train.lr={(0.2, 0.3)[i]}",
                                 "--out", runs[i], "-q"], cwd=tmp_path)  # fmt: skip
        holders.append(proc)
        wait_until(lambda: held(runs[i]), proc, f"trial {i} taken")
        proc.send_signal(signal.SIGSTOP)
        assert held(runs[i])  # still training when frozen
        return proc

    first = hold(0)
    sweep = subprocess.Popen([*MLP, "sweep", path, *grid, "--out", "sw", "-j", "1", "--json"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)  # fmt: skip
    try:
        lines = Lines(sweep)
        lines.expect(f"waiting for lr=0.2: another mlp process (pid {first.pid}) has it")
        second = hold(1)  # trial 1 was planned as new: it is taken before its turn comes
        first.kill()  # as the OOM killer would: the sweep trains trial 0 itself
        lines.expect(f"waiting for lr=0.3: another mlp process (pid {second.pid}) has it")
        second.send_signal(signal.SIGCONT)  # it finishes trial 1 on its own
        out = sweep.stdout.read()
        sweep.wait(timeout=60)
        err = lines.rest()
    finally:
        for proc in (*holders, sweep):  # nothing left running or frozen
            if proc.poll() is None:
                proc.kill()
                proc.send_signal(signal.SIGCONT)
                proc.wait()
    assert sweep.returncode == 0, err
    assert second.returncode == 0
    assert {r["status"] for r in json.loads(out)} == {"finished"}, out
    assert {r["status"] for r in read_jsonl(tmp_path / "sw" / "sweep.jsonl")} == {"finished"}
    for run in runs:
        assert [r[0] for r in metrics_rows(run)[1:]] == [str(e) for e in range(1, 41)]


def shared_pending(pid: int) -> int:
    """The signals sent to process ``pid`` that it has not taken yet (a bit mask)."""
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        pytest.skip("no /proc/PID/status on this system")
    return int(next(ln for ln in status.splitlines() if ln.startswith("ShdPnd:")).split()[1], 16)


def test_sighup_stops_a_sweep_like_sigterm_and_a_second_signal_still_writes_results(
    write, tmp_path
):
    endless = TINY.replace("epochs: 4", "epochs: 100000")
    sweep = subprocess.Popen([*MLP, "sweep", write("c.yaml", endless), "--grid", "seed=1",
                              "--out", "sw"], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    run = tmp_path / "sw" / "seed=1"
    worker = None
    try:
        saved = run / "state.safetensors"  # an epoch saved: the trial is interrupted, not failed
        wait_until(lambda: held(run) and saved.exists(), sweep, "a worker's first epoch")
        worker = int((run / ".lock").read_text())
        os.kill(worker, signal.SIGSTOP)  # it takes what the sweep sends once we let it go
        sweep.send_signal(signal.SIGHUP)  # the terminal closed
        term = 1 << (signal.SIGTERM - 1)
        wait_until(lambda: shared_pending(worker) & term, sweep, "SIGTERM passed on")
        sweep.send_signal(signal.SIGHUP)  # a second signal: the trial may now exit at once
        os.kill(worker, signal.SIGCONT)
        _, err = sweep.communicate(timeout=60)
    finally:
        if sweep.poll() is None:
            sweep.kill()
        if worker is not None and sweep.returncode != 129:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)
    assert sweep.returncode == 129, err  # 128 + SIGHUP
    assert "interrupted: trials saved" in err
    (row,) = read_jsonl(tmp_path / "sw" / "sweep.jsonl")
    assert row["status"] == "interrupted"  # resumable: the same command continues it


def test_a_trial_another_process_holds_before_its_config_exists_is_busy(tmp_path):
    """A run still loading its data holds the lock but has no config.yaml yet: not NEW
    (a worker would lose the lock race and the trial be reported failed)."""
    import fcntl

    from mlpcli.sweep.runner import BUSY, NEW, plan

    run = tmp_path / "lr=0.1"
    run.mkdir()
    (tmp_path / "c.yaml").write_text(TINY)
    config = load_config(tmp_path / "c.yaml")
    assert plan(run, config) == NEW
    with open(run / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert plan(run, config) == BUSY
