"""A sweep for the schedulers clusters already run: GNU parallel and Slurm.

``--list`` writes one complete ``mlp train`` command per trial, for
``parallel``, ``xargs -P`` or any queue that takes shell lines. ``--slurm``
writes an ``sbatch`` script whose job array runs ``mlp sweep ... --trial
$SLURM_ARRAY_TASK_ID``: array task I runs trial I (skipping it if it
finished, resuming it if it was interrupted, so a requeued task continues).
Paths in both are absolute, for workers that start elsewhere on a shared
file system; ``mlp runs SWEEP_DIR`` then collects the results.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from mlpcli.errors import UsageError
from mlpcli.sweep.expand import Trial
from mlpcli.sweep.runner import NEW, train_args

_SBATCH_KEY = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


def command_lines(
    config: Path, trials: Sequence[Trial], sweep_dir: Path, threads: int | None = None
) -> str:
    """One ``mlp train ...`` line per trial, shell-quoted."""
    config, sweep_dir = Path(config).resolve(), Path(sweep_dir).resolve()
    lines = []
    for t in trials:
        args = train_args(config, t, sweep_dir / t.name, action=NEW, threads=threads)
        args = [a for a in args if a != "--force"]  # a list is for fresh runs
        lines.append(shlex.join(["mlp", *args]))
    return "".join(line + "\n" for line in lines)


def mlp_executable() -> list[str]:
    """The ``mlp`` an array task should run, by absolute path (compute nodes may have
    another PATH): this installation's console script, beside this Python, else this
    Python with ``-m mlpcli``."""
    script = Path(sys.executable).parent / "mlp"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "mlpcli"]


def sbatch_lines(options: Sequence[str]) -> list[str]:
    """``--sbatch partition=debug`` -> ``#SBATCH --partition=debug``; a bare KEY is a flag."""
    out = []
    for text in options:
        key, sep, value = text.partition("=")
        if not _SBATCH_KEY.fullmatch(key):
            raise UsageError(
                f"--sbatch {text!r}: expected KEY=VALUE with an sbatch option name, "
                "e.g. partition=debug or time=00:30:00"
            )
        value = sbatch_quoted(value, f"--sbatch {key}=")
        out.append(f"#SBATCH --{key}" + (f"={value}" if sep else ""))
    return out


def sbatch_quoted(value: str, what: str) -> str:
    """``value`` as sbatch reads it from an ``#SBATCH`` line: in double quotes when it holds
    a space or a ``#`` (which would end the value, or start a comment) or a single quote
    (which sbatch would take for an opening quote). Inside double quotes sbatch still
    reads a backslash as an escape, so a double quote, a backslash or a line break is
    refused."""
    if any(c in value for c in '"\\\n\r'):
        raise UsageError(
            f"{what} {value!r}: an #SBATCH line cannot hold a double quote, backslash or line break"
        )
    return f'"{value}"' if not value or re.search(r"[\s#']", value) else value


def slurm_script(
    sweep_args: Sequence[str], n_trials: int, sweep_dir: Path, name: str, options: Sequence[str]
) -> str:
    """An sbatch script running the sweep as a job array, one task per trial.

    ``sweep_args``: the ``mlp sweep`` arguments that expand the same trials
    (config, parameters, ``--out``), with absolute paths.
    """
    sweep_dir = Path(sweep_dir).resolve()
    command = shlex.join([*mlp_executable(), "sweep", *sweep_args])
    job_name = re.sub(r'["\\\s]', "_", f"sweep-{name}")
    # % starts Slurm's file name patterns (%A, %a): a % of the path itself is %%
    output = str(sweep_dir).replace("%", "%%") + "/slurm-%A_%a.out"
    return "\n".join(
        [
            "#!/bin/bash",
            f"# mlp sweep as a Slurm job array: task I runs trial I of {n_trials}.",
            "#   sbatch THIS_FILE;  then:  mlp runs " + shlex.quote(str(sweep_dir)),
            f"#SBATCH --job-name={sbatch_quoted(job_name, 'job name')}",
            f"#SBATCH --array=0-{n_trials - 1}",
            f"#SBATCH --output={sbatch_quoted(output, '--out')}",
            *sbatch_lines(options),
            "set -euo pipefail",
            "# BLAS threads: the CPUs Slurm gave this task (1 unless --cpus-per-task says more)",
            'export MLP_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
            f'exec {command} --trial "$SLURM_ARRAY_TASK_ID"',
            "",
        ]
    )
