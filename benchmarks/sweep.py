"""Sweep benchmarks: worker-process speed-up of `mlp sweep`, and `mlp runs` on 1000 runs.

    python benchmarks/sweep.py                 # both, 3 paired repeats
    python benchmarks/sweep.py --only runs     # or: --only jobs
    python benchmarks/sweep.py --repeats 5 --workdir /tmp/mlpcli-sweep-bench

S1 (jobs): the same 8-trial sweep (digits, 64-H-10 ReLU networks, 20 epochs: 2 learning
rates × 4 widths) run with `--jobs 1` and with `--jobs 2`, each into a fresh directory,
alternating (1, 2, 1, 2, ...) so that machine noise falls on both alike. Reports the
median wall time of each and the speed-up (median of the paired ratios). Target on 2
cores: ≥ 1.6×.

S2 (runs): 1000 run directories (copies of one real run's summary.json and config.yaml,
each with its own learning rate in both) read by `runtable.read_runs` + `runtable.table` in
this process (median of the repeats), and by the whole `mlp runs DIR --json` process.
Target: under 1 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "digits-mlp.yaml"
GRID = ["--grid", "train.lr=0.02,0.05", "--grid", "model.hidden=[16],[32],[48],[64]"]
FIXED = ["--set", "train.epochs=20"]


def mlp(*args: str, cwd: Path) -> float:
    """Wall time of one `python -m mlpcli ...` (output discarded; failure raises)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mlpcli", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    return time.perf_counter() - started


def bench_jobs(work: Path, repeats: int) -> dict:
    times: dict[int, list[float]] = {1: [], 2: []}
    for r in range(repeats + 1):  # the first round warms the file cache; not counted
        for jobs in (1, 2):
            out = work / f"jobs{jobs}-{r}"
            shutil.rmtree(out, ignore_errors=True)
            t = mlp("sweep", str(CONFIG), *GRID, *FIXED, "--jobs", str(jobs), "--out", str(out),
                    "--quiet", cwd=work)  # fmt: skip
            rows = [json.loads(x) for x in (out / "sweep.jsonl").read_text().splitlines()]
            assert len(rows) == 8 and {x["status"] for x in rows} == {"finished"}, rows
            if r:
                times[jobs].append(t)
            print(f"  round {r}{' (warm-up)' * (r == 0)}: --jobs {jobs}: {t:.2f} s", flush=True)
    ratios = [a / b for a, b in zip(times[1], times[2])]
    return {
        "jobs1_median": statistics.median(times[1]),
        "jobs2_median": statistics.median(times[2]),
        "speedup_median_of_pairs": statistics.median(ratios),
        "ratios": ratios,
        "jobs1": times[1],
        "jobs2": times[2],
    }


def make_runs(work: Path, n: int) -> Path:
    """n run directories that differ in train.lr.initial, from one real run."""
    seed_run = work / "seed-run"
    shutil.rmtree(seed_run, ignore_errors=True)
    mlp("train", str(CONFIG), "--set", "train.epochs=2", "--out", str(seed_run), "-q", cwd=work)
    summary = (seed_run / "summary.json").read_text()
    config = (seed_run / "config.yaml").read_text()
    root = work / "many"
    shutil.rmtree(root, ignore_errors=True)
    for i in range(n):
        d = root / f"lr={i}"
        d.mkdir(parents=True)
        lr = 0.001 * (i + 1)
        (d / "summary.json").write_text(summary.replace('"initial": 0.05', f'"initial": {lr}'))
        (d / "config.yaml").write_text(config.replace("initial: 0.05", f"initial: {lr}"))
    return root


def bench_runs(work: Path, repeats: int, n: int = 1000) -> dict:
    from mlpcli import runtable

    root = make_runs(work, n)
    inproc = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        columns, rows = runtable.table(runtable.read_runs([root]), root)
        inproc.append(time.perf_counter() - started)
        assert len(rows) == n and "train.lr.initial" in columns
    process = [mlp("runs", str(root), "--json", cwd=work) for _ in range(repeats)]
    import yaml

    return {
        "n": n,
        "in_process_median": statistics.median(inproc[1:]),
        "process_median": statistics.median(process),
        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["jobs", "runs"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mlpcli-sweep-bench"))
    args = parser.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    if args.only in (None, "jobs"):
        print("S1: 8-trial sweep, --jobs 1 against --jobs 2", flush=True)
        results["S1"] = s1 = bench_jobs(work, args.repeats)
        print(f"S1: --jobs 1 {s1['jobs1_median']:.2f} s, --jobs 2 {s1['jobs2_median']:.2f} s "
              f"(medians of {args.repeats}); speed-up {s1['speedup_median_of_pairs']:.2f}× "
              f"(paired ratios {', '.join(f'{x:.2f}' for x in s1['ratios'])})")  # fmt: skip
    if args.only in (None, "runs"):
        results["S2"] = s2 = bench_runs(work, args.repeats)
        print(f"S2: {s2['n']} run directories: read + table in {s2['in_process_median']:.3f} s "
              f"in process, `mlp runs --json` {s2['process_median']:.2f} s as a command "
              f"(libyaml: {s2['libyaml']})")  # fmt: skip
    (work / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
