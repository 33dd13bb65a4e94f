"""Benchmark mlpcli against a hand-written NumPy loop, PyTorch and scikit-learn.

    python benchmarks/run.py [--quick] [--only W1,W2] [--repeats N]
    python benchmarks/run.py --profile W1      # cProfile of mlpcli's part of W1 (or W2)

Writes benchmarks/RESULTS.md (machine, date, command, one table per workload,
targets with PASS/FAIL) and prints the target summary. torch and scikit-learn
are optional (``pip install -e '.[bench]'``); without them their columns say
"not installed". See benchmarks/README.md for what each workload measures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _set_threads(argv: list[str]) -> None:
    """--threads N must act before numpy (or torch) is first imported: thread pools start then."""
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--threads=") else None
        if arg == "--threads" and i + 1 < len(argv):
            value = argv[i + 1]
        if value is not None and value.isdigit():
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = value  # children (the CLI runs) inherit it too


_set_threads(sys.argv[1:])

from harness import GATE, Context, Section, log, md_table, noise_probe, verdict  # noqa: E402
from workloads import WORKLOADS, profile  # noqa: E402


def machine() -> list[tuple[str, str]]:
    """(label, value) rows describing this machine and the library versions."""
    import numpy as np

    info: list[tuple[str, str]] = []
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    info.append(("CPU", cpu))
    info.append(("cores (os.cpu_count)", str(os.cpu_count())))
    try:
        mem = next(
            line
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        info.append(("memory", f"{int(mem.split()[1]) / 1024**2:.1f} GiB"))
    except (OSError, StopIteration):
        pass
    info.append(("OS", platform.platform()))
    info.append(("Python", f"{platform.python_version()} ({sys.executable})"))
    blas = "unknown"
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{cfg.get('name')} {cfg.get('version')}"
    except Exception:  # older numpy: no dict mode
        pass
    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            p = pools[0]
            blas += f", {p.get('num_threads')} threads, kernel {p.get('architecture')}"
    except ImportError:
        pass
    info.append(("numpy", f"{np.__version__} (BLAS: {blas})"))
    try:
        import torch

        how = "set by OMP_NUM_THREADS" if "OMP_NUM_THREADS" in os.environ else "default"
        info.append(("torch", f"{torch.__version__}, {torch.get_num_threads()} threads ({how})"))
    except ImportError:
        info.append(("torch", "not installed"))
    try:
        import sklearn

        info.append(("scikit-learn", sklearn.__version__))
    except ImportError:
        info.append(("scikit-learn", "not installed"))
    import mlpcli

    commit = subprocess.run(
        ["git", "-C", str(HERE.parent), "describe", "--always", "--dirty", "--abbrev=10"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    info.append(("mlpcli", f"{mlpcli.__version__} (git {commit or 'unknown'})"))
    return info


def noise_table(probes: dict[str, list[float]]) -> str:
    rows = []
    for key, times in probes.items():
        med = statistics.median(times)
        sp = max(times) / min(times) - 1
        rows.append(
            [
                key,
                f"{med * 1e3:.0f}",
                f"{min(times) * 1e3:.0f}",
                f"{max(times) * 1e3:.0f}",
                f"{sp:.0%}",
                "noisy: re-run before trusting" if sp > 0.25 else "steady",
            ]
        )
    return md_table(["around", "median ms", "min ms", "max ms", "spread", ""], rows)


def render(
    sections: list[Section],
    command: str,
    started: str,
    seconds: float,
    probes: dict[str, list[float]],
) -> str:
    targets = [t for s in sections for t in s.targets]
    out = [
        "# mlpcli benchmark results",
        "",
        "Written by `benchmarks/run.py`; see `benchmarks/README.md` for what each workload "
        "measures. Times are medians of repeats after a warm-up; ratios are mlpcli's time "
        "divided by the reference's (below 1: mlpcli is faster).",
        "",
        f"- date: {started}",
        f"- command: `{command}` ({seconds:.0f} s)",
    ]
    out += [f"- {label}: {value}" for label, value in machine()]
    out += [
        "",
        "## Targets",
        "",
        md_table(
            ["workload", "target", "measured", "result"],
            [[t.workload, t.what, t.measured, verdict(t.passed)] for t in targets],
        ),
        "",
    ]
    out += [
        "## Machine noise",
        "",
        "A fixed BLAS loop (200 float32 products 128×784 · 784×256), timed 5 times before "
        "and 5 times after each workload. On a shared VM a busy neighbour can slow a "
        "two-threaded BLAS several-fold for seconds at a time; a large spread here means the "
        "workload's numbers are less trustworthy (compare the `min` columns, or re-run).",
        "",
        noise_table(probes),
        "",
        f"Quiet gate: before each of {GATE['runs']} timed runs the harness waited until a "
        f"10 ms BLAS probe ran within 30 % of its best; it had to wait {GATE['waited']} "
        f"times ({GATE['seconds']:.0f} s in all) and gave up after 15 s {GATE['gave_up']} "
        "times.",
        "",
    ]
    out += [s.markdown() for s in sections]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller W3 (~2 min)")
    parser.add_argument("--only", help="comma-separated workloads, e.g. W1,W2 (default: all)")
    parser.add_argument("--repeats", type=int, help="timed repeats per measurement (override)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "mlpcli-bench",
        help="datasets, configs and runs (default /tmp/mlpcli-bench; datasets are reused)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="report file")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument("--profile", metavar="W", help="print a cProfile of mlpcli in W1 or W2")
    parser.add_argument(
        "--threads",
        type=int,
        help="BLAS/OpenMP threads for numpy, torch and the CLI children (default: the "
        "libraries' own defaults, i.e. one per core)",
    )
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be ≥ 1")

    args.workdir.mkdir(parents=True, exist_ok=True)
    ctx = Context(quick=args.quick, repeats=args.repeats, workdir=args.workdir)
    if args.profile:
        print(profile(ctx, args.profile.upper()))
        return 0
    keys = list(WORKLOADS)
    if args.only:
        keys = [k.strip().upper() for k in args.only.split(",") if k.strip()]
        unknown = [k for k in keys if k not in WORKLOADS]
        if unknown:
            parser.error(
                f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}"
            )

    command = "python benchmarks/run.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:])
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.perf_counter()
    sections = []
    probes: dict[str, list[float]] = {}
    for key in keys:
        log(f"== {key}")
        before = noise_probe()
        sections.append(WORKLOADS[key](ctx))
        probes[key] = before + noise_probe()
    seconds = time.perf_counter() - t0

    args.out.write_text(render(sections, command, started, seconds, probes))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"sections": {s.key: s.data for s in sections}, "noise_probe": probes},
                indent=1,
                default=str,
            )
            + "\n"
        )
    targets = [t for s in sections for t in s.targets]
    print(
        md_table(
            ["workload", "target", "measured", "result"],
            [[t.workload, t.what, t.measured, verdict(t.passed)] for t in targets],
        )
    )
    print(f"\nwrote {args.out} ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
