"""Shared helpers: write a config, run the CLI in-process, read a run directory."""

from __future__ import annotations

import json
import os
import signal
import textwrap
from pathlib import Path

# One OpenBLAS thread unless the caller chose a number, set before NumPy loads OpenBLAS
# (and inherited by the `mlp` subprocesses, so runs compared bit for bit share it). The
# products here are small: a second thread gains nothing, and while another process keeps
# the other core busy its waiting turns each product into a scheduler time slice (the
# suite then ran three to ten times slower). `OPENBLAS_NUM_THREADS=2 pytest` checks the
# claims with two threads; see the README, Testing.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pytest
from safetensors.numpy import load_file
from typer.testing import CliRunner

from mlpcli.cli import app

# A pytest started in the background by a non-interactive shell ignores Ctrl-C, and its
# subprocesses would inherit that: the tests that interrupt `mlp` need it to hear them.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
DATASETS = ROOT / "datasets"

#: A small, fast classification config on a built-in generator.
MOONS = """\
seed: 3
data:
  train: {generator: moons, n_samples: 120, noise: 0.15}
  validation_split: 0.25
model: {hidden: [8], activation: tanh, init: xavier}
loss: cross_entropy
train:
  epochs: 6
  batch: {mode: minibatch, size: 16}
  lr: 0.2
"""


@pytest.fixture
def write(tmp_path):
    """write(name, text) -> Path of a dedented file in a fresh temporary directory."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return _write


class Result:
    def __init__(self, res) -> None:
        self.exit_code = res.exit_code
        self.stdout = res.stdout
        self.stderr = res.stderr
        self.exception = res.exception

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def mlp(monkeypatch, tmp_path):
    """mlp(*args) runs the CLI in-process from tmp_path; returns exit code, stdout, stderr."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def _run(*args: str) -> Result:
        return Result(runner.invoke(app, [str(a) for a in args]))

    return _run


def read_run(run_dir: Path) -> dict:
    """The files of a run directory: metrics text, tensors, summary."""
    return {
        "metrics": (run_dir / "metrics.csv").read_text(),
        "tensors": load_file(str(run_dir / "model.safetensors")),
        "summary": json.loads((run_dir / "summary.json").read_text()),
    }


def metrics_rows(run_dir: Path, drop_seconds: bool = True) -> list[list[str]]:
    """metrics.csv rows; the wall-time column differs between identical runs and is dropped."""
    rows = [line.split(",") for line in (run_dir / "metrics.csv").read_text().splitlines()]
    return [r[:-1] for r in rows] if drop_seconds else rows


def same_tensors(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
