"""Beyond one machine, run for real: `mlp sweep --list` through GNU parallel, and
`--trial` as a Slurm job array (the generated sbatch script run by bash over
SLURM_ARRAY_TASK_ID, and submitted to the single-node Slurm of .ci/start-slurm.sh);
`mlp runs` collects every trial each time."""

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TINY = """\
seed: 2
data:
  train: {generator: moons, n_samples: 100, noise: 0.15}
  validation_split: 0.25
model: {hidden: [4], activation: tanh}
train: {epochs: 3, lr: 0.2}
"""
GRID = ["--grid", "train.lr=0.05,0.3", "--grid", "model.hidden=[4]"]
NAMES = {"hidden=4,lr=0.05", "hidden=4,lr=0.3"}  # small: each trial costs two Python starts


def mlp(*args, cwd, check=True, **kw):
    res = subprocess.run([sys.executable, "-m", "mlpcli", *map(str, args)], cwd=cwd,
                         capture_output=True, text=True, timeout=300, **kw)  # fmt: skip
    if check:
        assert res.returncode == 0, res.stderr
    return res


def collected(sweep_dir, cwd):
    rows = json.loads(mlp("runs", sweep_dir, "--json", cwd=cwd).stdout)
    return {r["run"]: r for r in rows}


def env_with_mlp_on_path():
    """PATH with this Python's bin directory first, so `mlp` is this installation."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


@pytest.mark.skipif(shutil.which("parallel") is None, reason="GNU parallel not installed "
                    "(Debian package parallel: .ci/install-system-packages.sh)")  # fmt: skip
def test_list_runs_through_gnu_parallel(write, tmp_path):
    config = write("c.yaml", TINY)
    res = mlp("sweep", config, *GRID, "--out", "sw", "--threads", "1", "--list", cwd=tmp_path)
    lines = res.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("mlp train ") for line in lines)
    (tmp_path / "trials.txt").write_text(res.stdout)
    run = subprocess.run(["parallel", "--will-cite", "--jobs", "2", "--joblog", "jobs.log"],
                         stdin=open(tmp_path / "trials.txt"), cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env=env_with_mlp_on_path())  # fmt: skip
    assert run.returncode == 0, run.stderr
    docs = [json.loads(line) for line in run.stdout.splitlines()]  # one --json per trial
    assert {Path(d["run_dir"]).name for d in docs} == NAMES
    rows = collected(tmp_path / "sw", tmp_path)
    assert set(rows) == NAMES and {r["status"] for r in rows.values()} == {"finished"}
    assert {r["train.lr.initial"] for r in rows.values()} == {0.05, 0.3}


def slurm_script(write, tmp_path, *extra):
    config = write("c.yaml", TINY)
    mlp("sweep", config, *GRID, "--out", "sw", "--slurm", "job.sbatch", *extra, cwd=tmp_path)
    return (tmp_path / "job.sbatch").read_text()


def test_the_sbatch_script_runs_every_trial_over_array_task_ids(write, tmp_path):
    text = slurm_script(write, tmp_path, "--sbatch", "partition=debug", "--sbatch", "time=5")
    assert "#SBATCH --array=0-1\n" in text
    assert "#SBATCH --partition=debug\n#SBATCH --time=5\n" in text
    res = mlp("sweep", tmp_path / "c.yaml", *GRID, "--out", "sw", "--slurm", "j2.sbatch",
              "--json", cwd=tmp_path)  # fmt: skip
    assert json.loads(res.stdout) == {"slurm_script": "j2.sbatch", "array_tasks": 2,
                                      "sweep_dir": "sw"}  # fmt: skip
    env = env_with_mlp_on_path()
    loop = "for i in 0 1; do SLURM_ARRAY_TASK_ID=$i bash job.sbatch & done; wait"
    res = subprocess.run(
        ["bash", "-c", loop], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )  # fmt: skip  (array tasks run side by side)
    assert res.returncode == 0, res.stderr
    rows = collected(tmp_path / "sw", tmp_path)
    assert set(rows) == NAMES and {r["status"] for r in rows.values()} == {"finished"}
    env["SLURM_ARRAY_TASK_ID"] = "1"  # a requeued task whose trial finished: nothing to do
    res = subprocess.run(["bash", "job.sbatch"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0 and "finished already" in res.stderr


def test_sbatch_lines_quote_what_sbatch_would_split(write, tmp_path):
    config = write("my cfg.yaml", TINY)
    mlp("sweep", config, *GRID, "--out", "sp ace/100%#1", "--slurm", "job.sbatch",
        "--sbatch", "comment=a b", cwd=tmp_path)  # fmt: skip
    lines = (tmp_path / "job.sbatch").read_text().splitlines()
    out = tmp_path / "sp ace" / "100%%#1"  # a % of the path is not a Slurm pattern
    assert f'#SBATCH --output="{out}/slurm-%A_%a.out"' in lines
    assert '#SBATCH --comment="a b"' in lines and "#SBATCH --job-name=sweep-my_cfg" in lines
    if slurm_ready() is None:  # sbatch itself reads every line (nothing is submitted)
        res = subprocess.run(["sbatch", "--test-only", "job.sbatch"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert res.returncode == 0, res.stderr
    mlp("sweep", config, *GRID, "--out", "it's", "--slurm", "j3.sbatch",
        "--sbatch", "comment=O'Brien", cwd=tmp_path)  # fmt: skip
    lines = (tmp_path / "j3.sbatch").read_text().splitlines()
    quoted = tmp_path / "it's"
    assert f'#SBATCH --output="{quoted}/slurm-%A_%a.out"' in lines
    assert '#SBATCH --comment="O\'Brien"' in lines  # a bare ' opens a quote for sbatch
    if slurm_ready() is None:
        res = subprocess.run(["sbatch", "--test-only", "j3.sbatch"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert res.returncode == 0, res.stderr
    res = mlp("sweep", config, *GRID, "--out", 'a"b', "--slurm", "j2.sbatch", cwd=tmp_path,
              check=False)  # fmt: skip
    assert res.returncode == 2 and "cannot hold a double quote" in res.stderr
    assert not (tmp_path / "j2.sbatch").exists() and not (tmp_path / 'a"b').exists()


def test_trial_continues_an_interrupted_trial(write, tmp_path):
    config = write("c.yaml", TINY)
    first = mlp("sweep", config, *GRID, "--out", "sw", "--list", cwd=tmp_path).stdout
    args = shlex.split(first.splitlines()[1])[1:]  # trial 1 as its list line gives it
    out = Path(args[args.index("--out") + 1])
    short = [*args, "--set", "train.epochs=1"]  # a run that stopped early: 1 of 3 epochs
    subprocess.run([sys.executable, "-m", "mlpcli", *short], cwd=tmp_path, check=True,
                   capture_output=True)  # fmt: skip
    res = mlp("sweep", config, *GRID, "--out", "sw", "--trial", "1", "--json", "-q", cwd=tmp_path)
    assert json.loads(res.stdout)["epochs_run"] == 3  # resumed to the sweep's 3 epochs
    assert len((out / "metrics.csv").read_text().splitlines()) == 4


@functools.cache
def slurm_ready():
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return "sbatch not installed (Debian slurm-wlm: .ci/install-system-packages.sh)"
    try:
        res = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True,
                             timeout=20)  # fmt: skip
    except subprocess.TimeoutExpired:
        return "sinfo got no answer from slurmctld in 20 s (.ci/start-slurm.sh)"
    if res.returncode != 0 or not ({"idle", "mix", "alloc"} & set(res.stdout.split())):
        return f"no Slurm node takes jobs (.ci/start-slurm.sh): {res.stdout or res.stderr}"
    return None


def test_a_real_slurm_job_array_runs_every_trial(write, tmp_path):
    reason = slurm_ready()  # asked here, not at collection: sinfo may wait for a controller
    if reason:
        pytest.skip(reason)
    slurm_script(write, tmp_path, "--sbatch", "time=10")
    res = subprocess.run(["sbatch", "--wait", "job.sbatch"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600, env=env_with_mlp_on_path())  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    rows = collected(tmp_path / "sw", tmp_path)
    assert set(rows) == NAMES and {r["status"] for r in rows.values()} == {"finished"}
    logs = sorted((tmp_path / "sw").glob("slurm-*_*.out"))
    assert len(logs) == 2
