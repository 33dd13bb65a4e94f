"""Promises that keep runs recoverable: exact resume, safe interruption, atomic files,
concurrent runs, determinism. Each test tries to break one."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import metrics_rows, same_tensors
from safetensors.numpy import load_file

from mlpcli.files import RUN_FILES, atomic, safetensors
from mlpcli.files.atomic import atomic_write
from mlpcli.files.model import load_model
from mlpcli.files.safetensors import read_safetensors
from mlpcli.files.state import load_state

RESUMABLE = """\
seed: 11
data:
  train: {generator: moons, n_samples: 160, noise: 0.2}
  validation_split: 0.25
model: {hidden: [8, 6], activation: tanh, init: xavier}
loss: cross_entropy
regularizer: {type: l2, lambda: 0.01}
train:
  epochs: 10
  batch: BATCH
  lr: {schedule: step, initial: 0.2, factor: 0.7, every: 3}
  optimizer: {momentum: 0.9, nesterov: true}
  early_stopping: {patience: 100, restore_best: true}
"""

BATCHES = {
    "batch": "{mode: batch}",
    "stochastic": "{mode: stochastic}",
    "minibatch": "{mode: minibatch, size: 16}",
    "growing": "{mode: minibatch, size: 4, growth: {factor: 2, every: 3, max: 32}}",
}


def exe():
    path = shutil.which("mlp")
    assert path, "the mlp console script is not on PATH: pip install -e '.[test]'"
    return path


def same_run(a, b):
    assert metrics_rows(a) == metrics_rows(b)
    assert same_tensors(
        load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    )
    sa, _, _ = load_state(a / "state.safetensors")
    sb, _, _ = load_state(b / "state.safetensors")
    for key in ("epoch", "step", "best_epoch", "best_value", "bad_epochs", "rng_state"):
        assert sa[key] == sb[key], key


# -- 1. exact resume ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", BATCHES)
def test_resume_is_bit_identical(mode, write, mlp, tmp_path):
    path = write("c.yaml", RESUMABLE.replace("BATCH", BATCHES[mode]))
    assert mlp("train", path, "--out", "full", "-q").exit_code == 0
    assert mlp("train", path, "--out", "part", "-q", "--set", "train.epochs=4").exit_code == 0
    assert len(metrics_rows(tmp_path / "part")) == 5
    res = mlp("train", "--resume", tmp_path / "part", "--set", "train.epochs=10", "-q")
    assert res.exit_code == 0, res.stderr
    same_run(tmp_path / "full", tmp_path / "part")
    assert json.loads((tmp_path / "part" / "summary.json").read_text())["epochs_run"] == 10


def test_resume_refuses_a_changed_config_naming_the_fields(write, mlp, tmp_path):
    path = write("c.yaml", RESUMABLE.replace("BATCH", BATCHES["minibatch"]))
    assert mlp("train", path, "--out", "r", "-q", "--set", "train.epochs=2").exit_code == 0
    res = mlp(
        "train", "--resume", tmp_path / "r", "--set", "train.lr.initial=0.5", "--set", "seed=2"
    )
    assert res.exit_code == 2
    assert "cannot resume with a different config (seed, train.lr.initial changed)" in res.stderr
    res = mlp("train", path, "--resume", tmp_path / "r", "--set", "model.hidden=[8]")
    assert res.exit_code == 2 and "model.hidden" in res.stderr
    assert mlp("train", "--resume", tmp_path / "nowhere").exit_code == 2


def test_extending_a_finished_cosine_run_is_refused_by_resume_and_sweep(write, mlp, tmp_path):
    # The period defaults to train.epochs, where η reaches eta_min; at eta_min = 0 more
    # epochs would change nothing, and a sweep's trial (period following its epochs) is
    # another config. Both say so, naming train.lr.period.
    cosine = RESUMABLE.replace("BATCH", BATCHES["batch"]).replace(
        "lr: {schedule: step, initial: 0.2, factor: 0.7, every: 3}",
        "lr: {schedule: cosine, initial: 0.2}",
    )
    path = write("c.yaml", cosine.replace("epochs: 10", "epochs: 3"))
    assert mlp("train", path, "--out", "r", "-q").exit_code == 0
    res = mlp("train", "--resume", tmp_path / "r", "--set", "train.epochs=5")
    assert res.exit_code == 2, res.stderr
    assert (
        "train.lr.period: its cosine schedule reached eta_min = 0 at epoch 3, so training on "
        "to epoch 5 would not change the weights" in res.stderr
    )
    res = mlp("sweep", path, "--grid", "seed=11", "--out", "sw", "-q")
    assert res.exit_code == 0, res.stderr
    res = mlp("sweep", path, "--grid", "seed=11", "--out", "sw", "--set", "train.epochs=5", "-q")
    assert res.exit_code == 1
    row = json.loads((tmp_path / "sw" / "sweep.jsonl").read_text().splitlines()[0])
    assert "train.lr.period: its cosine schedule reached eta_min = 0" in row["error"]
    # Per step: once the period's steps are done (batch mode: one step per epoch).
    steps = write("s.yaml", cosine.replace("initial: 0.2}", "initial: 0.2, unit: step, period: 3}"))
    assert mlp("train", steps, "--out", "s", "-q", "--set", "train.epochs=3").exit_code == 0
    res = mlp("train", "--resume", tmp_path / "s", "--set", "train.epochs=6")
    assert res.exit_code == 2 and "reached eta_min = 0 at step 3" in res.stderr
    # An early-stopped cosine run says that it stopped early, not what the schedule did.
    early = cosine.replace("patience: 100", "patience: 1").replace("epochs: 10", "epochs: 200")
    assert mlp("train", write("e.yaml", early), "--out", "e", "-q").exit_code == 0
    res = mlp("train", "--resume", tmp_path / "e", "--set", "train.epochs=300")
    assert res.exit_code == 2 and "stopped early" in res.stderr, res.stderr
    # With eta_min > 0 the run goes on at eta_min.
    path = write("m.yaml", cosine.replace("epochs: 10", "epochs: 3").replace(
        "initial: 0.2}", "initial: 0.2, eta_min: 0.01}"))  # fmt: skip
    assert mlp("train", path, "--out", "m", "-q").exit_code == 0
    assert mlp("train", "--resume", tmp_path / "m", "--set", "train.epochs=5", "-q").exit_code == 0


def test_an_early_stopped_run_has_nothing_to_resume(write, mlp, tmp_path):
    text = RESUMABLE.replace("BATCH", BATCHES["batch"]).replace("patience: 100", "patience: 1")
    text = text.replace("epochs: 10", "epochs: 200")
    assert mlp("train", write("c.yaml", text), "--out", "r", "-q").exit_code == 0
    res = mlp("train", "--resume", tmp_path / "r", "--set", "train.epochs=300")
    assert res.exit_code == 2 and "stopped early" in res.stderr


# -- 2. safe interruption ------------------------------------------------------------------
# No test here sleeps and hopes: each waits for something it can see (a file appears, a
# metrics row is written), every wait has a deadline that fails the test instead of hanging,
# and the runs that get interrupted are endless, so the signal always lands while training.

DEADLINE = 60.0  # seconds any one wait may take before the test fails

#: Cannot finish within a test (100 000 epochs of 1200 stochastic steps), and writes
#: metrics.csv, the state and the model after every epoch: tests watch metrics.csv to know
#: how far it got.
ENDLESS = (
    RESUMABLE.replace("BATCH", BATCHES["stochastic"])
    .replace("n_samples: 160", "n_samples: 1600")
    .replace("epochs: 10", "epochs: 100000\n  checkpoint_seconds: 0")
)


def wait_for(condition, proc=None, what="the event"):
    """Poll ``condition()`` until true; fail if ``proc`` exits first or the deadline passes."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the process exited ({proc.returncode}) before {what}: {err or out}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {DEADLINE:.0f} s")
        time.sleep(0.005)  # a polling interval, not a guess at how long anything takes


def epochs_written(run) -> int:
    """Epoch rows in ``run/metrics.csv`` (written atomically: a reader sees a whole file)."""
    try:
        return len((run / "metrics.csv").read_text().splitlines()) - 1
    except FileNotFoundError:
        return 0


@pytest.fixture
def processes():
    """Popen objects registered here are killed at teardown if a failed test left them running."""
    started = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start_training(processes, config, out, cwd, epochs=0):
    """``mlp train`` in a subprocess; returns once it holds the run directory (config.yaml
    written) and, with ``epochs``, once that many epochs are in metrics.csv."""
    proc = subprocess.Popen([exe(), "train", config, "--out", out], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    processes.append(proc)
    wait_for(lambda: (out / "config.yaml").exists(), proc, "config.yaml")
    wait_for(lambda: epochs_written(out) >= epochs, proc, f"{epochs} epochs in metrics.csv")
    return proc


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_state_and_the_run_resumes_exactly(
    sig, code, write, mlp, processes, tmp_path
):
    path = write("c.yaml", ENDLESS)
    proc = start_training(processes, path, tmp_path / "r", tmp_path, epochs=2)
    proc.send_signal(sig)  # during epoch 3 or later: the run cannot have finished
    _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == code, err
    assert f"mlp train --resume {tmp_path / 'r'}" in err
    state, _, _ = load_state(tmp_path / "r" / "state.safetensors")
    assert state["stop_reason"] == "interrupted" and state["epoch"] >= 2
    assert state["step"] == state["epoch"] * 1200 + state["step_in_epoch"]
    # Continue to a few epochs past the interruption; the same config stopped there by its
    # epoch count must give the same bits.
    epochs = state["epoch"] + 2
    resume = [exe(), "train", "--resume", tmp_path / "r", "-q", "--set", f"train.epochs={epochs}"]
    res = subprocess.run(resume, cwd=tmp_path, timeout=DEADLINE)
    assert res.returncode == 0
    full = mlp("train", path, "--out", "full", "-q", "--set", f"train.epochs={epochs}")
    assert full.exit_code == 0, full.stderr
    same_run(tmp_path / "full", tmp_path / "r")


def test_a_signal_after_the_run_finished_does_not_kill_it(write, processes, tmp_path):
    # Signals from the moment summary.json exists until the process is gone: the run has
    # finished, so the process ends with 0 (or 130 if one landed before the command
    # returned), never killed by the signal while the interpreter shuts down.
    run = tmp_path / "r"
    proc = start_training(processes, write("c.yaml", RESUMABLE.replace("BATCH", "{mode: batch}")),
                          run, tmp_path)  # fmt: skip
    wait_for(lambda: (run / "summary.json").exists(), proc, "summary.json")
    while proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.001)  # a polling interval: signals keep coming until it exits
    _, err = proc.communicate()
    assert proc.returncode in (0, 130), err
    assert "Traceback" not in err
    assert json.loads((run / "summary.json").read_text())["stop_reason"] == "completed"


def test_a_second_signal_exits_at_once_without_corrupting_files(write, processes, tmp_path):
    # The second SIGINT may reach the process while it saves after the first, or the kernel
    # may merge the two: either way the exit code is 130 and every file is whole.
    proc = start_training(processes, write("c.yaml", ENDLESS), tmp_path / "r", tmp_path, 1)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 130
    assert_run_files_intact(tmp_path / "r", killed=True)


def run_python(code: str) -> subprocess.CompletedProcess:
    """``python -c code`` in a fresh interpreter: a signal it sends itself lands there."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=DEADLINE)  # fmt: skip


def test_the_second_signal_does_not_wait_for_the_save():
    # What the process test above cannot pin down (when each signal arrives), this one can:
    # a signal a process sends itself is handled before the next line runs.
    code = (
        "import os, signal\n"
        "from mlpcli.cli.common import StopFlag\n"
        "with StopFlag() as stop:\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    assert stop() and stop.exit_code == 143\n"
        "    print('first: stop requested', flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    print('second: still running')\n"
    )
    res = run_python(code)
    assert res.returncode == 128 + signal.SIGINT, res.stderr
    assert res.stdout == "first: stop requested\n"


def test_a_signal_python_swallows_in_a_callback_leaves_no_traceback():
    # A Ctrl-C that lands while a weakref callback runs (the import system uses them) has
    # its exception dropped by Python, which prints it as "Exception ignored" with a
    # traceback. The command goes on (the next Ctrl-C stops it) and stderr stays clean.
    code = (
        "import os, signal, sys, weakref, typer\n"
        "from mlpcli.cli.common import reported_errors\n"
        "class T: pass\n"
        "try:\n"
        "    with reported_errors(False):\n"
        "        t = T()\n"
        "        kill = lambda _: [os.kill(os.getpid(), signal.SIGINT), sum(range(99))]\n"
        "        r = weakref.ref(t, kill)\n"
        "        del t\n"
        "except typer.Exit as e:\n"
        "    sys.exit(e.exit_code)\n"
    )
    res = run_python(code)
    assert res.returncode == 0 and res.stderr == "", res.stderr


def assert_run_files_intact(run, killed=False):
    """Whatever files a run has are complete: each one parses. No temporary file is left,
    except after a process was killed (``killed``): a writer that dies between naming its
    finished temporary ``.<file>.<pid>.tmp`` and renaming it over ``<file>`` leaves it
    behind, and the next process to open the run directory deletes it."""
    names = {p.name for p in run.iterdir()} - {".lock"}
    temporaries = {n for n in names if n.endswith(".tmp")}
    if killed:
        files = "|".join(map(re.escape, RUN_FILES))
        stale = re.compile(rf"\.({files})\..+\.tmp")
        assert all(stale.fullmatch(n) for n in temporaries), temporaries
    else:
        assert not temporaries, names
    if "model.safetensors" in names:
        load_model(run)
    if "state.safetensors" in names:
        load_state(run / "state.safetensors")
    if "metrics.csv" in names:
        lines = (run / "metrics.csv").read_text().splitlines()
        assert lines[0].startswith("epoch,") and all(len(x.split(",")) == 9 for x in lines)
    if "summary.json" in names:
        json.loads((run / "summary.json").read_text())


# -- 3. atomic files -----------------------------------------------------------------------


@pytest.mark.parametrize("anonymous", [True, False], ids=["O_TMPFILE", "named-temporary"])
def test_a_write_that_fails_midway_leaves_the_old_file(anonymous, tmp_path, monkeypatch):
    if not anonymous:
        monkeypatch.setattr(atomic, "_LINKAT", None)
    target = tmp_path / "model.safetensors"
    atomic_write(target, b"old checkpoint")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, b"new checkpoint, never complete")
    assert target.read_bytes() == b"old checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_a_checkpoint_that_fails_midway_keeps_the_previous_one(write, mlp, tmp_path, monkeypatch):
    text = RESUMABLE.replace("BATCH", BATCHES["minibatch"]).replace(
        "epochs: 10", "epochs: 10\n  checkpoint_seconds: 0"
    )
    path = write("c.yaml", text)
    assert mlp("train", path, "--out", "r", "-q", "--set", "train.epochs=3").exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir()}
    calls = {"n": 0}
    real = safetensors.st_save

    def failing_save(*args, **kwargs):  # the disk fills up in the middle of the 2nd checkpoint
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device", "state.safetensors")
        return real(*args, **kwargs)

    monkeypatch.setattr(safetensors, "st_save", failing_save)
    res = mlp("train", "--resume", tmp_path / "r", "--set", "train.epochs=8")
    assert res.exit_code == 2 and "No space left on device" in res.stderr
    assert_run_files_intact(tmp_path / "r")
    state, _, _ = load_state(tmp_path / "r" / "state.safetensors")
    assert state["epoch"] == 4  # the checkpoint after epoch 4 is whole; epoch 5's never landed
    monkeypatch.setattr(safetensors, "st_save", real)
    assert mlp("train", "--resume", tmp_path / "r", "--set", "train.epochs=8", "-q").exit_code == 0
    assert before.keys() <= {p.name for p in (tmp_path / "r").iterdir()}


def test_sigkill_while_checkpointing_never_corrupts_a_run(write, mlp, tmp_path, processes):
    # A checkpoint after every epoch, epochs of a few milliseconds: each kill comes right
    # after the process wrote metrics.csv for 1–3 new epochs, while it is writing the state
    # and the model or has just started the next epoch. The run is endless, so every kill
    # lands; afterwards the run resumes to the bits of a run that was never killed.
    text = (
        ENDLESS.replace("n_samples: 1600", "n_samples: 400")
        .replace("{mode: stochastic}", "{mode: minibatch, size: 4}")
        .replace("  early_stopping: {patience: 100, restore_best: true}\n", "")
    )
    assert "early_stopping" not in text and "epochs: 100000" in text
    path = write("c.yaml", text)
    run = tmp_path / "r"
    rng = np.random.default_rng(0)
    kills = 8
    for attempt in range(kills):
        args = ["train", path, "--out", run] if attempt == 0 else ["train", "--resume", run]
        before = epochs_written(run)
        leftovers = list(run.glob(".*.tmp"))
        proc = subprocess.Popen([exe(), *map(str, args), "-q"], cwd=tmp_path)
        processes.append(proc)
        target = before + int(rng.integers(1, 4))
        wait_for(lambda t=target: epochs_written(run) >= t, proc, f"epoch {target} in metrics.csv")
        assert not [p for p in leftovers if p.exists()]  # the new process cleared them away
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=DEADLINE) == -signal.SIGKILL  # killed, not finished
        assert_run_files_intact(run, killed=True)
        assert (run / "state.safetensors").exists()
    state, _, _ = load_state(run / "state.safetensors")
    epochs = state["epoch"] + 2
    res = subprocess.run([exe(), "train", "--resume", run, "-q", "--set", f"train.epochs={epochs}"],
                         cwd=tmp_path, timeout=DEADLINE)  # fmt: skip
    assert res.returncode == 0
    assert_run_files_intact(run)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stop_reason"] == "completed" and summary["epochs_run"] == epochs
    assert (
        mlp("train", path, "--out", "full", "-q", "--set", f"train.epochs={epochs}").exit_code == 0
    )
    same_run(tmp_path / "full", run)


# -- 7. concurrent runs --------------------------------------------------------------------


def test_a_second_process_cannot_write_the_same_run(write, processes, tmp_path):
    path = write("c.yaml", ENDLESS)  # still training whenever the second one comes
    first = start_training(processes, path, tmp_path / "r", tmp_path)
    second = subprocess.run(
        [exe(), "train", path, "--out", tmp_path / "r", "--force"],
        cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE,
    )  # fmt: skip
    assert second.returncode == 2
    assert f"in use by another mlp process (pid {first.pid})" in second.stderr
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=DEADLINE)
    assert first.returncode == 130
    assert not (tmp_path / "r" / ".lock").exists()


def test_a_stale_lock_from_a_dead_process_is_taken_over(write, mlp, tmp_path):
    path = write("c.yaml", RESUMABLE.replace("BATCH", BATCHES["batch"]))
    assert mlp("train", path, "--out", "r", "-q", "--set", "train.epochs=2").exit_code == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "r" / ".lock").write_text(f"{dead.pid}\n")  # as if that process was killed
    assert mlp("train", "--resume", tmp_path / "r", "-q", "--set", "train.epochs=3").exit_code == 0
    assert not (tmp_path / "r" / ".lock").exists()


def test_parallel_runs_into_fresh_directories_do_not_interfere(write, tmp_path):
    path = write("c.yaml", RESUMABLE.replace("BATCH", BATCHES["minibatch"]))
    procs = [subprocess.Popen([exe(), "train", path, "-q", "--json"], cwd=tmp_path,
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]  # fmt: skip
    dirs = sorted(json.loads(p.communicate(timeout=120)[0])["run_dir"] for p in procs)
    assert dirs == [f"runs/c-{i}" for i in range(1, 5)]
    first = load_file(str(tmp_path / dirs[0] / "model.safetensors"))
    for d in dirs[1:]:
        assert same_tensors(first, load_file(str(tmp_path / d / "model.safetensors")))


# -- 8. determinism ------------------------------------------------------------------------


def test_same_seed_same_bits_across_processes_and_hash_seeds(write, tmp_path):
    path = write("c.yaml", RESUMABLE.replace("BATCH", BATCHES["minibatch"]))
    for name, hash_seed in (("a", "0"), ("b", "12345")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        res = subprocess.run([exe(), "train", path, "--out", name, "-q"], cwd=tmp_path, env=env)
        assert res.returncode == 0
    a, b = tmp_path / "a", tmp_path / "b"
    # Tensors and metadata are equal; the file bytes may still differ in the order of the
    # metadata keys, which the safetensors library writes from a randomly seeded hash map.
    ta, ma = read_safetensors(a / "model.safetensors")
    tb, mb = read_safetensors(b / "model.safetensors")
    assert same_tensors(ta, tb) and ma == mb
    assert (a / "config.yaml").read_bytes() == (b / "config.yaml").read_bytes()
    assert metrics_rows(a) == metrics_rows(b)


def test_the_lock_is_exclusive_and_free_after_release(tmp_path):
    from mlpcli.runs import RunDir, RunDirError

    first = RunDir(tmp_path)
    first.lock()
    with pytest.raises(RunDirError, match=f"pid {os.getpid()}"):
        RunDir(tmp_path).lock()  # another open file description: refused like another process
    first.unlock()
    assert not (tmp_path / ".lock").exists()
    (tmp_path / ".lock").write_text("garbage")  # left by a killed process: nobody holds it
    second = RunDir(tmp_path)
    second.lock()
    assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"
    second.unlock()


def test_resume_keeps_the_lr_column_of_a_per_step_schedule(write, mlp, tmp_path):
    text = RESUMABLE.replace("BATCH", BATCHES["batch"]).replace(
        "lr: {schedule: step, initial: 0.2, factor: 0.7, every: 3}",
        "lr: {schedule: exponential, initial: 0.5, gamma: 0.9, unit: step}",
    )
    path = write("c.yaml", text)
    assert mlp("train", path, "--out", "full", "-q").exit_code == 0
    stops = iter([False, False, True])  # interrupted after the last step of epoch 3

    from mlpcli.config import load_config
    from mlpcli.runs import train_new

    train_new(load_config(path), "c", out=tmp_path / "part", should_stop=lambda: next(stops, True))
    assert mlp("train", "--resume", tmp_path / "part", "-q").exit_code == 0
    same_run(tmp_path / "full", tmp_path / "part")


def test_long_histories_live_in_a_tensor_not_the_header(write, mlp, tmp_path):
    text = RESUMABLE.replace("BATCH", BATCHES["batch"]).replace("epochs: 10", "epochs: 3000")
    text = text.replace("n_samples: 160", "n_samples: 8").replace("validation_split: 0.25", "")
    text = text.replace("  early_stopping: {patience: 100, restore_best: true}\n", "")
    assert mlp("train", write("c.yaml", text), "--out", "r", "-q").exit_code == 0
    tensors, meta = read_safetensors(tmp_path / "r" / "state.safetensors")
    assert tensors["history"].shape == (3000, 9) and len(json.dumps(meta)) < 4000
    assert (
        mlp("train", "--resume", tmp_path / "r", "-q", "--set", "train.epochs=3001").exit_code == 0
    )
    assert len(metrics_rows(tmp_path / "r")) == 3002


def test_an_interrupted_run_does_not_claim_restored_weights(write, tmp_path):
    from mlpcli.config import load_config
    from mlpcli.runs import train_new

    path = write("c.yaml", RESUMABLE.replace("BATCH", BATCHES["minibatch"]))
    steps = iter(range(100))
    result = train_new(load_config(path), "c", out=tmp_path / "r",
                       should_stop=lambda: next(steps) >= 40)  # fmt: skip
    assert result.state.stop_reason == "interrupted"
    assert result.summary["best"]["restored"] is False
    model = load_file(str(tmp_path / "r" / "model.safetensors"))
    _, arrays, _ = load_state(tmp_path / "r" / "state.safetensors")
    np.testing.assert_array_equal(model["layers.0.weight"], arrays["params.layers.0.weight"])
