"""The six workloads W1–W6. Each returns a :class:`harness.Section` for RESULTS.md."""

from __future__ import annotations

import json
import re
import subprocess
from functools import partial

import numpy as np
import references as ref
from harness import (
    SEED,
    Context,
    Section,
    Target,
    Timing,
    find_scripts,
    first_epoch_order,
    fmt_ratio,
    fmt_s,
    interleaved,
    log,
    mlpcli_experiment,
    mlpcli_params,
    mlpcli_trainer_case,
    npz_dataset,
    peak_rss_mb,
    run_timed,
    spread,
    verdict,
    write_config,
)

BATCH, LR, D, K = 128, 0.01, 784, 10

W1_TARGETS = {"torch": 1.0, "numpy": 1.15, "sklearn": 0.7}
W2_TARGET = 2.0  # × the NumPy loop
W3_TARGET = 0.15  # relative spread of time/N
W4_TARGET_MB = 150.0  # peak RSS over the dataset
W5_TARGET_S = 0.3
W6_TARGET = 10.0  # × W1's training rows/s


def _relu_config(ctx: Context, name: str, data, hidden=(256, 256)):
    return write_config(
        ctx,
        name,
        data,
        model={"hidden": list(hidden), "activation": "relu", "init": "he"},
        loss="cross_entropy",
        train={
            "epochs": 1,
            "batch": {"mode": "minibatch", "size": BATCH},
            "lr": LR,
            "shuffle": True,
        },
    )


def _w1_config(ctx: Context):
    return _relu_config(ctx, "w1", npz_dataset(ctx, "w1", 60_000, D))


def _w1_cases(exp, include_refs: bool = True) -> dict:
    """mlpcli, the NumPy loop, torch and sklearn on W1's network, from the same start."""
    init = mlpcli_params(exp)
    x, labels = exp.train.x, exp.train.labels
    order = first_epoch_order(len(x))
    cases = {"mlpcli": mlpcli_trainer_case(exp, init)}
    if not include_refs:
        return cases

    def numpy_case():
        params = ref.copy_params(init)

        def run():
            out = ref.numpy_relu_softmax_epoch(x, labels, params, order, BATCH, LR)
            return {**out, "params": params}

        return run

    cases["numpy"] = numpy_case
    if ref.torch_available():

        def torch_case():
            model = ref.torch_model(init, "relu")

            def run():
                out = ref.torch_minibatch_epoch(model, x, labels, order, BATCH, LR)
                return {**out, "params": ref.torch_params(model)}

            return run

        cases["torch"] = torch_case
    if ref.sklearn_available():

        def sklearn_case():
            clf = ref.sklearn_classifier((256, 256), "relu", BATCH, LR, SEED)
            return lambda: ref.sklearn_fit(clf, x, labels)

        cases["sklearn"] = sklearn_case
    return cases


IMPL_NOTES = {
    "mlpcli": "`Trainer(exp).run()`, 1 epoch (no validation configured, no checkpoint callback)",
    "numpy": "hand-written NumPy loop, same arithmetic (benchmarks/references.py)",
    "torch": "nn.Sequential + optim.SGD",
    "sklearn": "MLPClassifier(solver='sgd').fit, max_iter=1",
}


# -- W1 -------------------------------------------------------------------------------


def w1(ctx: Context) -> Section:
    sec = Section(
        "W1",
        "throughput: 60 000 × 784, 784-256-256-10 ReLU, softmax CE, SGD lr 0.01, batch 128",
        "One shuffled epoch of minibatch SGD on random float32 inputs in [0, 1) with 10 "
        "random classes. mlpcli is timed as `Trainer(exp).run()` on an Experiment built "
        "(outside the timing) from a config that reads the .npz. The trainer does no "
        "validation here; its timing includes what every epoch does (the training "
        "accuracy over the epoch's logits, the finiteness check of the weights). The "
        "NumPy loop and PyTorch start from mlpcli's initial weights and visit the rows in "
        "mlpcli's order. Times in seconds per epoch; ratio = mlpcli time / reference time.",
    )
    repeats = ctx.n_repeats(full=7, quick=3)
    config = _w1_config(ctx)
    exp = mlpcli_experiment(config)
    init = mlpcli_params(exp)  # prepare() initialized the weights; every run starts here
    log(f"W1: {repeats} repeats after 1 warm-up")
    t = interleaved(_w1_cases(exp), repeats)
    ctx.results["W1"] = {"mlpcli_s": t["mlpcli"].median, "n": len(exp.train)}
    mine = t["mlpcli"].output["params"]
    rows = []
    for name, timing in t.items():
        out = timing.output
        ratio = t["mlpcli"].median / timing.median
        diff = ref.max_weight_diff(mine, out["params"]) if "params" in out else None
        rows.append(
            [
                name,
                fmt_s(timing.median),
                fmt_s(timing.min),
                f"{spread(timing.times):.1%}",
                f"{len(exp.train) / timing.median:,.0f}",
                "–" if name == "mlpcli" else fmt_ratio(ratio),
                "–" if name == "mlpcli" else fmt_ratio(t["mlpcli"].min / timing.min),
                f"{out['loss']:.4f}",
                "–" if name == "mlpcli" else ("n/a" if diff is None else f"{diff:.1e}"),
            ]
        )
        sec.data[name] = {"times": timing.times, "median": timing.median}
    sec.table(
        f"Median of {repeats} epochs (after a warm-up epoch):",
        [
            "implementation",
            "median s",
            "min s",
            "spread",
            "rows/s",
            "mlpcli / this",
            "same, of the mins",
            "epoch loss",
            "max abs ΔW vs mlpcli",
        ],
        rows,
    )
    for name, limit in W1_TARGETS.items():
        if name in t:
            ratio = t["mlpcli"].median / t[name].median
            sec.targets.append(
                Target("W1", f"mlpcli ≤ {limit} × {name}", fmt_ratio(ratio), ratio <= limit)
            )
        else:
            sec.targets.append(Target("W1", f"mlpcli ≤ {limit} × {name}", "not installed", None))

    # The CLI, for information: start-up, loading the .npz, training, writing the run.
    cli_repeats = ctx.n_repeats(full=3, quick=1)
    scripts = find_scripts()
    run_dir = ctx.workdir / "runs" / "w1"
    walls, inner = [], []
    for _ in range(cli_repeats):
        cmd = [scripts.script, "train", str(config), "--out", str(run_dir)]
        wall, proc = run_timed([*cmd, "--force", "--quiet", "--json"])
        walls.append(wall)
        inner.append(json.loads(proc.stdout)["wall_time"])
    ctx.results["W1"]["run_dir"] = run_dir
    med_wall, med_inner = float(np.median(walls)), float(np.median(inner))
    sec.table(
        f"`mlp train` wall time (median of {cli_repeats}; for information, no target):",
        ["command", "wall s", "training s (summary.json wall_time)", "everything else s"],
        [
            [
                "`mlp train w1.yaml --out DIR --force --quiet --json`",
                fmt_s(med_wall),
                fmt_s(med_inner),
                fmt_s(med_wall - med_inner),
            ]
        ],
    )
    sec.data["cli"] = {"wall": walls, "train": inner}
    if "sklearn" in t:
        sec.notes.append(
            f"scikit-learn was given float32 and trained in "
            f"{t['sklearn'].output['dtype']} (it keeps float32 input in float32; float64 "
            "input, or lists, would make it work in float64). Its timing includes fit()'s "
            "input validation, label binarization and weight initialization, its own "
            "shuffle, and work plain SGD does not need: the L2 term and `alpha * W` are "
            "computed even at alpha=0, and the momentum update runs with momentum=0. It "
            "draws its own initial weights and order, so its weights are not compared."
        )
    # For scale: how far the weights move in the epoch, and where another shuffle ends.
    other = ref.copy_params(init)
    shuffled = np.random.default_rng([SEED, 99]).permutation(len(exp.train))
    ref.numpy_relu_softmax_epoch(exp.train.x, exp.train.labels, other, shuffled, BATCH, LR)
    moved, elsewhere = ref.max_weight_diff(mine, init), ref.max_weight_diff(mine, other)
    sec.notes.append(
        "max abs ΔW compares the weights after the epoch with mlpcli's. 0 means bit-identical "
        "arithmetic (the NumPy loop). PyTorch's BLAS sums in another order: the weights agree "
        "to ~1e-7 for the first ~100 steps, then a ReLU pre-activation within rounding of 0 "
        "flips and a few weights drift by up to ~1e-3. For scale: the epoch moves the "
        f"weights by up to {moved:.1e}, and the same loop on another shuffle ends "
        f"{elsewhere:.1e} away."
    )
    sec.notes.append(
        "`everything else` = interpreter start-up, imports, config validation, reading "
        "and checking the .npz, building the model, writing the run directory."
    )
    return sec


# -- W2 -------------------------------------------------------------------------------


def _w2_setup(ctx: Context):
    n = 5000
    path = ctx.workdir / f"w2_n{n}_s{SEED}.npz"
    if not path.exists():
        rng = np.random.default_rng([SEED, n, 2])
        x = rng.standard_normal((n, 2), dtype=np.float32)
        y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # XOR of the signs
        np.savez(path, x=x, y=y)
    config = write_config(
        ctx,
        "w2",
        path,
        model={"hidden": [16, 16], "activation": "tanh", "init": "xavier"},
        loss="binary_cross_entropy",
        train={"epochs": 1, "batch": {"mode": "stochastic"}, "lr": LR, "shuffle": True},
    )
    return config, mlpcli_experiment(config)


def _w2_cases(exp) -> dict:
    init = mlpcli_params(exp)
    x, targets = exp.train.x, exp.train.targets  # targets (N, 1) in {0, 1}
    order = first_epoch_order(len(x))
    cases = {"mlpcli": mlpcli_trainer_case(exp, init)}

    def numpy_case():
        params = ref.copy_params(init)

        def run():
            return {**ref.numpy_tanh_bce_epoch(x, targets, params, order, LR), "params": params}

        return run

    cases["numpy"] = numpy_case
    if ref.torch_available():

        def torch_case():
            model = ref.torch_model(init, "tanh")

            def run():
                out = ref.torch_stochastic_epoch(model, x, targets, order, LR)
                return {**out, "params": ref.torch_params(model)}

            return run

        cases["torch"] = torch_case
    if ref.sklearn_available():

        def sklearn_case():
            clf = ref.sklearn_classifier((16, 16), "tanh", 1, LR, SEED)
            return lambda: ref.sklearn_fit(clf, x, exp.train.labels)

        cases["sklearn"] = sklearn_case
    return cases


def w2(ctx: Context) -> Section:
    sec = Section(
        "W2",
        "stochastic: 2-16-16-1 tanh, binary CE on one logit, batch size 1, 5 000 steps",
        "One epoch of batch-size-1 SGD over 5 000 two-dimensional examples (XOR of the "
        "signs): here the graph and per-op overhead, not the arithmetic, is the cost. "
        "mlpcli: `Trainer(exp).run()` with `batch.mode: stochastic`. The NumPy loop and "
        "PyTorch permute the rows once per epoch (mlpcli's order, mlpcli's initial "
        "weights) and then slice one row per step. Microseconds per step.",
    )
    repeats = ctx.n_repeats(full=7, quick=3)
    _, exp = _w2_setup(ctx)
    steps = len(exp.train)
    log(f"W2: {repeats} repeats after 1 warm-up")
    t = interleaved(_w2_cases(exp), repeats)
    mine = t["mlpcli"].output["params"]
    rows = []
    for name, timing in t.items():
        out = timing.output
        diff = ref.max_weight_diff(mine, out["params"]) if "params" in out else None
        rows.append(
            [
                name + (" (information)" if name == "sklearn" else ""),
                f"{timing.median / steps * 1e6:.1f}",
                f"{timing.min / steps * 1e6:.1f}",
                f"{spread(timing.times):.1%}",
                "–" if name == "mlpcli" else fmt_ratio(t["mlpcli"].median / timing.median),
                "–" if name == "mlpcli" else fmt_ratio(t["mlpcli"].min / timing.min),
                f"{out['loss']:.4f}",
                "–" if name == "mlpcli" else ("n/a" if diff is None else f"{diff:.1e}"),
            ]
        )
        sec.data[name] = {"times": timing.times, "us_per_step": timing.median / steps * 1e6}
    sec.table(
        f"Median of {repeats} epochs of {steps} steps (after a warm-up epoch):",
        [
            "implementation",
            "µs/step",
            "min µs/step",
            "spread",
            "mlpcli / this",
            "same, of the mins",
            "epoch loss",
            "max abs ΔW vs mlpcli",
        ],
        rows,
    )
    ratio = t["mlpcli"].median / t["numpy"].median
    sec.targets.append(
        Target("W2", f"mlpcli ≤ {W2_TARGET} × numpy loop", fmt_ratio(ratio), ratio <= W2_TARGET)
    )
    sec.notes.append(
        "The NumPy loop is the floor for a NumPy engine at batch size 1: about 40 NumPy "
        "calls per step on (1, 16) arrays, with no graph objects."
    )
    if "sklearn" in t:
        sec.notes.append(
            "scikit-learn (batch_size=1, its own initial weights and order) is shown for "
            "information; it has no target here."
        )
    return sec


# -- W3 -------------------------------------------------------------------------------


def _train_flops(n: int, sizes: list[int]) -> float:
    """2 × multiply-adds of one training epoch: forward, every ∂W, ∂X of all but layer 0."""
    layer = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2.0 * n * (3 * sum(layer) - layer[0])


def w3(ctx: Context) -> Section:
    ns = [5_000, 15_000, 50_000] if ctx.quick else [10_000, 30_000, 100_000]
    widths = [64, 256, 1024]
    n_width = 5_000 if ctx.quick else 30_000
    sec = Section(
        "W3",
        "scaling in N and in width",
        f"One epoch of W1's training (784-256-256-10, batch 128) at N = "
        f"{', '.join(f'{n:,}' for n in ns)}, and of 784-w-w-10 for w = "
        f"{', '.join(map(str, widths))} at N = {n_width:,}; mlpcli (`Trainer.run()`) "
        "and the NumPy loop, interleaved. Linearity in N: the relative spread of time/N "
        "(max/min − 1). Widths: time normalized by the epoch's matrix-product FLOPs "
        "(2·N·(3·Σ in·out − 784·w): forward, ∂W, and ∂X of every layer but the first).",
    )
    repeats = ctx.n_repeats(full=5, quick=2)
    log(f"W3: {repeats} repeats after 1 warm-up per configuration")

    def measure(name: str, n: int, width: int) -> dict[str, Timing]:
        data = npz_dataset(ctx, "w3", n, D)
        config = _relu_config(ctx, name, data, hidden=(width, width))
        exp = mlpcli_experiment(config)
        cases = _w1_cases(exp)
        cases = {k: cases[k] for k in ("mlpcli", "numpy")}
        log(f"  N={n:,} width={width}")
        return interleaved(cases, repeats)

    by_n = {n: measure(f"w3_n{n}", n, 256) for n in ns}
    rows = []
    for n, t in by_n.items():
        rows.append(
            [
                f"{n:,}",
                fmt_s(t["mlpcli"].median),
                f"{t['mlpcli'].median / n * 1e6:.2f}",
                fmt_s(t["numpy"].median),
                f"{t['numpy'].median / n * 1e6:.2f}",
                fmt_ratio(t["mlpcli"].median / t["numpy"].median),
            ]
        )
    sec.table(
        f"Time per epoch in N (width 256; median of {repeats}):",
        ["N", "mlpcli s", "mlpcli µs/row", "numpy s", "numpy µs/row", "mlpcli / numpy"],
        rows,
    )

    def linearity(impl: str, stat: str) -> float:
        per_row = [getattr(t[impl], stat) / n for n, t in by_n.items()]
        return max(per_row) / min(per_row) - 1

    lin = {impl: linearity(impl, "median") for impl in ("mlpcli", "numpy")}
    sec.table(
        "Linearity: spread of time/N over the Ns (max/min − 1):",
        ["implementation", "of the medians", "of the mins (information)"],
        [[impl, f"{v:.1%}", f"{linearity(impl, 'min'):.1%}"] for impl, v in lin.items()],
    )
    sec.targets.append(
        Target(
            "W3",
            f"mlpcli linear in N within {W3_TARGET:.0%}",
            f"{lin['mlpcli']:.1%}",
            lin["mlpcli"] <= W3_TARGET,
        )
    )

    by_w = {}
    for w in widths:
        if w == 256 and n_width in by_n:
            by_w[w] = by_n[n_width]
        else:
            by_w[w] = measure(f"w3_w{w}", n_width, w)
    rows = []
    for w, t in by_w.items():
        flops = _train_flops(n_width, [D, w, w, K])
        rows.append(
            [
                str(w),
                f"{flops / 1e9:.1f}",
                fmt_s(t["mlpcli"].median),
                f"{flops / t['mlpcli'].median / 1e9:.1f}",
                fmt_s(t["numpy"].median),
                f"{flops / t['numpy'].median / 1e9:.1f}",
                fmt_ratio(t["mlpcli"].median / t["numpy"].median),
            ]
        )
    sec.table(
        f"Widths 784-w-w-10 at N = {n_width:,} (median of {repeats}); GFLOP/s = "
        "matrix-product FLOPs / time:",
        [
            "w",
            "GFLOP/epoch",
            "mlpcli s",
            "mlpcli GFLOP/s",
            "numpy s",
            "numpy GFLOP/s",
            "mlpcli / numpy",
        ],
        rows,
    )
    sec.data = {
        "by_n": {n: {k: v.times for k, v in t.items()} for n, t in by_n.items()},
        "by_width": {w: {k: v.times for k, v in t.items()} for w, t in by_w.items()},
        "linearity": lin,
    }
    if ctx.quick:
        sec.notes.append("--quick: N is half the full run's, and the widths run at N = 5 000.")
    return sec


# -- W4 -------------------------------------------------------------------------------


def w4(ctx: Context) -> Section:
    n = 200_000
    data = npz_dataset(ctx, "w4", n, D)
    config = _relu_config(ctx, "w4", data)
    x_mb = n * D * 4 / 1e6
    file_mb = data.stat().st_size / 1e6
    scripts = find_scripts()
    sec = Section(
        "W4",
        "memory: `mlp train` on 200 000 × 784 float32 (.npz, uncompressed)",
        "Peak resident memory of the `mlp train` process (GNU `/usr/bin/time -v`, "
        "`Maximum resident set size`, else `ru_maxrss` of a fresh child) for one epoch of "
        "W1's network, batch 128. MB = 10⁶ bytes. The rows below the first split the peak "
        "into its parts, each measured in its own process.",
    )
    runs = ctx.n_repeats(full=3, quick=1)
    log(f"W4: {runs} run(s) of mlp train on {n:,} rows")
    peaks = []
    for _ in range(runs):
        mb, _ = peak_rss_mb(
            [
                scripts.script,
                "train",
                str(config),
                "--out",
                str(ctx.workdir / "runs" / "w4"),
                "--force",
                "--quiet",
                "--json",
            ]
        )
        peaks.append(mb)
    peak = float(np.median(peaks))
    py = scripts.python
    probe = (
        "import sys, numpy as np\n"
        "from mlpcli.config import load_config\n"
        "from mlpcli.prepare import prepare\n"
        "from mlpcli.data.loaders import load_npz\n"
        "what, path = sys.argv[1], sys.argv[2]\n"
        "if what == 'npload':\n"
        "    with np.load(path) as f: x, y = f['x'], f['y']\n"
        "elif what == 'load_npz':\n"
        "    load_npz(path)\n"
        "elif what == 'build':\n"
        "    prepare(load_config(path))\n"
    )
    parts = {}
    for what, arg in (("npload", data), ("load_npz", data), ("build", config)):
        parts[what], _ = peak_rss_mb([py, "-c", probe, what, str(arg)])
    tiny_config = ctx.workdir / "w2.yaml"
    if not tiny_config.exists():
        _w2_setup(ctx)
    base, _ = peak_rss_mb(
        [
            scripts.script,
            "train",
            str(tiny_config),
            "--out",
            str(ctx.workdir / "runs" / "w4-tiny"),
            "--force",
            "--quiet",
            "--json",
        ]
    )
    imports, _ = peak_rss_mb([py, "-c", probe, "none", "-"])
    overhead = peak - x_mb
    sec.table(
        "",
        ["what", "peak RSS MB", "minus dataset (x) MB"],
        [
            [
                f"**`mlp train`, 200 000 × 784** (median of {runs})",
                f"{peak:.0f}",
                f"{overhead:.0f}",
            ],
            ["python + numpy + mlpcli imports only", f"{imports:.0f}", "–"],
            ["`mlp train` on W2's 5 000 × 2 set (interpreter, imports, CLI)", f"{base:.0f}", "–"],
            [
                "`np.load` of x and y only",
                f"{parts['npload']:.0f}",
                f"{parts['npload'] - x_mb:.0f}",
            ],
            [
                "`mlpcli.data.loaders.load_npz` only",
                f"{parts['load_npz']:.0f}",
                f"{parts['load_npz'] - x_mb:.0f}",
            ],
            [
                "`load_config` + `prepare` (no training)",
                f"{parts['build']:.0f}",
                f"{parts['build'] - x_mb:.0f}",
            ],
        ],
    )
    sec.notes.append(
        f"Dataset: x is {x_mb:.1f} MB of float32 (the .npz file is {file_mb:.1f} MB); "
        f"peak {peak:.0f} MB, overhead {overhead:.0f} MB over the dataset, of which "
        f"{base:.0f} MB is the interpreter and imports of a tiny run."
    )
    sec.targets.append(
        Target(
            "W4",
            f"peak ≤ dataset + {W4_TARGET_MB:.0f} MB",
            f"{peak:.0f} MB = {x_mb:.0f} + {overhead:.0f}",
            overhead <= W4_TARGET_MB,
        )
    )
    sec.data = {
        "dataset_mb": x_mb,
        "peaks": peaks,
        "parts": parts,
        "tiny": base,
        "imports": imports,
    }
    return sec


# -- W5 -------------------------------------------------------------------------------


def w5(ctx: Context) -> Section:
    scripts = find_scripts()
    runs = (5 if ctx.quick else 10) if ctx.repeats is None else max(ctx.repeats, 3)
    sec = Section(
        "W5",
        "start-up: `mlp --help`, `mlp train --help`",
        f"Wall time of the whole process, median of {runs} runs after one warm-up run. "
        f"`mlp` is `{scripts.script}` (shutil.which from this interpreter)."
        + (
            f" A user's shell finds the pyenv shim `{scripts.shim}` first (a bash script "
            "that asks pyenv for the version, then execs the console script); it is timed "
            "separately, since the project cannot change it."
            if scripts.shim
            else ""
        ),
    )
    commands: list[tuple[str, list[str], bool]] = []
    for args, label in (([], "--help"), (["train"], "train --help")):
        commands.append((f"`mlp {label}`", [scripts.script, *args, "--help"], label == "--help"))
        if scripts.shim:
            commands.append(
                (f"`mlp {label}` through the pyenv shim", [scripts.shim, *args, "--help"], False)
            )
        commands.append(
            (
                f"`python -m mlpcli {label}`",
                [scripts.python, "-m", "mlpcli", *args, "--help"],
                False,
            )
        )
    commands.append(
        ("`python -c pass` (the interpreter alone)", [scripts.python, "-c", "pass"], False)
    )
    log(f"W5: {len(commands)} commands × {runs} runs")
    rows = []
    for label, cmd, is_target in commands:
        run_timed(cmd)  # warm-up: page cache, .pyc
        times = [run_timed(cmd)[0] for _ in range(runs)]
        med = float(np.median(times))
        rows.append(
            [
                label,
                fmt_s(med),
                fmt_s(min(times)),
                verdict(med < W5_TARGET_S) if "help" in label else "–",
            ]
        )
        sec.data[label] = times
        if is_target:
            sec.targets.append(
                Target("W5", f"`mlp --help` < {W5_TARGET_S} s", f"{med:.3f} s", med < W5_TARGET_S)
            )
    sec.table("", ["command", "median s", "min s", f"< {W5_TARGET_S} s"], rows)

    # Which imports the start-up pays for (python -X importtime).
    proc = subprocess.run(
        [scripts.python, "-X", "importtime", "-m", "mlpcli", "--help"],
        capture_output=True,
        text=True,
    )
    top = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(3)) <= 1:  # top-level imports only
            top.append((int(m.group(2)), m.group(4)))
    top.sort(reverse=True)
    heavy = {name for _, name in top}
    sec.table(
        "Heaviest top-level imports of `python -m mlpcli --help` (`-X importtime`, one run, "
        "cumulative):",
        ["module", "ms"],
        [[f"`{name}`", f"{us / 1000:.1f}"] for us, name in top[:8]],
    )
    sec.notes.append(
        "numpy is "
        + ("imported" if "numpy" in heavy else "not imported")
        + " by `mlp --help`; pydantic is "
        + ("imported" if "pydantic" in heavy else "not imported")
        + "."
    )
    return sec


# -- W6 -------------------------------------------------------------------------------


def w6(ctx: Context) -> Section:
    from mlpcli import inference
    from mlpcli.files.model import load_model

    n = 60_000
    scripts = find_scripts()
    test = npz_dataset(ctx, "w6_test", n, D, seed=SEED + 1)
    config = _w1_config(ctx)
    run_dir = ctx.workdir / "runs" / "w1"
    if not (run_dir / "model.safetensors").exists():
        log("W6: training the W1 run to evaluate")
        run_timed(
            [scripts.script, "train", str(config), "--out", str(run_dir), "--force", "--quiet"]
        )
    if "W1" not in ctx.results:
        log("W6: measuring W1's mlpcli epoch for the training rows/s")
        exp = mlpcli_experiment(config)
        t = interleaved(_w1_cases(exp, include_refs=False), ctx.n_repeats(full=3, quick=2))
        ctx.results["W1"] = {"mlpcli_s": t["mlpcli"].median, "n": len(exp.train)}
        del exp
    train_rows_s = ctx.results["W1"]["n"] / ctx.results["W1"]["mlpcli_s"]

    sec = Section(
        "W6",
        "evaluation: `mlp eval RUN --data test.npz --json` on 60 000 × 784",
        "Rows per second of evaluating W1's trained network on 60 000 new rows, against "
        f"mlpcli's W1 training throughput ({train_rows_s:,.0f} rows/s). The CLI row is the "
        "whole process (start-up, loading the model and the .npz, forward, report); "
        "`report` is the library call `mlp eval` makes (forward in chunks of "
        "8 192 rows, loss, accuracy, per-class report and confusion matrix) on data already "
        "in memory; `outputs` is the engine forward alone. The NumPy and PyTorch rows "
        "run the same forward (chunks of 8 192, no graph) for reference.",
    )
    repeats = ctx.n_repeats(full=5, quick=2)
    log(f"W6: {repeats} repeats")
    cmd = [scripts.script, "eval", str(run_dir), "--data", str(test), "--json"]
    run_timed(cmd)
    walls = []
    for _ in range(repeats):
        wall, proc = run_timed(cmd)
        walls.append(wall)
    report = json.loads(proc.stdout)

    saved = load_model(run_dir)
    data = inference.dataset_for(saved, test, targets=True)
    params = [(lay.weight.value.copy(), lay.bias.value.copy()) for lay in saved.model.layers]
    cases = {
        "report": lambda: lambda: inference.report(saved, data),
        "outputs": lambda: lambda: saved.model.outputs(data.x, raw=True),
        "numpy forward": lambda: lambda: ref.numpy_relu_forward(data.x, params),
    }
    if ref.torch_available():
        model = ref.torch_model(params, "relu")
        cases["torch forward"] = lambda: lambda: ref.torch_forward(model, data.x)
    t = interleaved(cases, repeats)
    wall = float(np.median(walls))
    rows = [
        [
            "`mlp eval … --json` (whole process)",
            fmt_s(wall),
            f"{n / wall:,.0f}",
            fmt_ratio(n / wall / train_rows_s),
            verdict(n / wall >= W6_TARGET * train_rows_s),
        ]
    ]
    labels = {
        "report": "`mlpcli.inference.report` (library)",
        "outputs": "`MLP.outputs(x, raw=True)` (engine forward only)",
        "numpy forward": "NumPy forward (reference)",
        "torch forward": "PyTorch forward, inference_mode (reference)",
    }
    for name, timing in t.items():
        rate = n / timing.median
        is_mine = name in ("report", "outputs")
        rows.append(
            [
                labels[name],
                fmt_s(timing.median),
                f"{rate:,.0f}",
                fmt_ratio(rate / train_rows_s),
                verdict(rate >= W6_TARGET * train_rows_s) if is_mine else "–",
            ]
        )
    sec.table(
        f"Median of {repeats} (after a warm-up):",
        ["what", "s", "rows/s", "× W1 training rows/s", f"≥ {W6_TARGET:.0f}×"],
        rows,
    )
    fwd = n / t["outputs"].median
    sec.targets.append(
        Target(
            "W6",
            f"engine forward ≥ {W6_TARGET:.0f} × W1 training rows/s",
            fmt_ratio(fwd / train_rows_s),
            fwd >= W6_TARGET * train_rows_s,
        )
    )
    ev = n / t["report"].median
    sec.targets.append(
        Target(
            "W6",
            f"`inference.report` ≥ {W6_TARGET:.0f} × W1 training rows/s",
            fmt_ratio(ev / train_rows_s),
            ev >= W6_TARGET * train_rows_s,
        )
    )
    cli = n / wall
    sec.targets.append(
        Target(
            "W6",
            f"`mlp eval` (whole process) ≥ {W6_TARGET:.0f} × W1 training rows/s",
            fmt_ratio(cli / train_rows_s),
            cli >= W6_TARGET * train_rows_s,
        )
    )
    fl_train = _train_flops(1, [D, 256, 256, K])
    fl_fwd = 2.0 * (D * 256 + 256 * 256 + 256 * K)
    sec.notes.append(
        f"A training row costs {fl_train / 1e6:.2f} MFLOP in matrix products and a forward "
        f"row {fl_fwd / 1e6:.2f} MFLOP: at equal FLOP/s evaluation is only "
        f"{fl_train / fl_fwd:.2f}× faster than training, so 10× needs the forward to run "
        f"{W6_TARGET * fl_fwd / fl_train:.1f}× more FLOP/s than training does (larger "
        "matrices help, but the reference rows show the ceiling of this machine)."
    )
    sec.notes.append(
        f"Accuracy reported by `mlp eval`: {report.get('accuracy', float('nan')):.4f} "
        "(random labels: ≈ 0.1)."
    )
    sec.data = {"cli": walls, **{k: v.times for k, v in t.items()}, "train_rows_s": train_rows_s}
    return sec


# -- W7 -------------------------------------------------------------------------------

W7_TARGET = 1.10  # Adam's epoch ≤ 1.10 × SGD's

W7_OPTIMIZERS = {  # name: (train.optimizer, η)
    "sgd": ({"name": "sgd"}, LR),
    "sgd_momentum": ({"name": "sgd", "momentum": 0.9}, LR),
    "adam": ({"name": "adam"}, 1e-3),
    "adamw": ({"name": "adamw", "weight_decay": 0.01}, 1e-3),
}


def _optimizer_case(exp, init, optimizer: dict, lr: float):
    """W1's trainer case with another optimizer: the same data, weights and order."""
    from dataclasses import replace

    from mlpcli.config import with_values

    config = with_values(exp.config, {"train.optimizer": optimizer, "train.lr.initial": lr})
    return mlpcli_trainer_case(replace(exp, config=config), init)


#: PyTorch's optimizers on the same epoch: (name, the mlpcli case it matches, factory).
W7_TORCH = {
    "torch sgd": ("sgd", lambda torch: torch.optim.SGD),
    "torch adam": ("adam", lambda torch: torch.optim.Adam),
    "torch adam fused": ("adam", lambda torch: partial(torch.optim.Adam, fused=True)),
}


def _w7_torch_cases(exp, init) -> dict:
    """W1's PyTorch case with each optimizer of :data:`W7_TORCH` (none without torch)."""
    if not ref.torch_available():
        return {}
    import torch

    x, labels = exp.train.x, exp.train.labels
    order = first_epoch_order(len(x))

    def case(factory, lr):
        def prepare():
            model = ref.torch_model(init, "relu")
            return lambda: ref.torch_minibatch_epoch(
                model, x, labels, order, BATCH, lr, factory(torch)
            )

        return prepare

    return {
        name: case(factory, W7_OPTIMIZERS[mine][1]) for name, (mine, factory) in W7_TORCH.items()
    }


def _adam_only_passes(n: int, repeats: int) -> float:
    """Seconds per step of the five passes over n float32 weights that no NumPy Adam avoids.

    g², folding g into M and g² into V (one ``add`` each: the least any update rule can
    do), √V, and the division by it. SGD has none of them; the moments' decay, ε and the
    weight update are left out, so this is a lower bound on Adam's extra cost per step.
    Best of ``repeats`` batches of 200, on arrays the size of W1's weights.
    """
    import timeit

    rng = np.random.default_rng(0)
    g, m, v = (rng.random(n, dtype=np.float32) for _ in range(3))
    s = np.empty_like(g)

    def passes():
        np.square(g, out=s)
        np.add(m, g, out=m)
        np.add(v, s, out=v)
        np.sqrt(v, out=s)
        np.divide(m, s, out=s)

    return min(timeit.repeat(passes, number=200, repeat=repeats)) / 200


def w7(ctx: Context) -> Section:
    sec = Section(
        "W7",
        "optimizer cost: W1's epoch with SGD, momentum, Adam and AdamW",
        "W1's epoch (60 000 × 784, 784-256-256-10 ReLU, batch 128: 469 steps) with each "
        "optimizer, on one prepared experiment from the same initial weights, interleaved "
        "round by round. Adam keeps two moment buffers per weight and does ten in-place "
        "array passes per step (into one scratch array allocated at construction), SGD two; "
        "one of Adam's passes is a square root, which alone costs about as much as SGD's "
        "update. The ratio is paired: each round's epoch over the same round's SGD epoch "
        "of the same implementation, then the median of those ratios, so slow phases of "
        "the shared machine cancel. When PyTorch is installed its SGD, its default Adam "
        "(`foreach`) and its fused C++ Adam (`fused=True`) run in the same rounds; the "
        "last column compares mlpcli's epoch with PyTorch's for the same optimizer.",
    )
    repeats = ctx.n_repeats(full=9, quick=3)
    exp = mlpcli_experiment(_w1_config(ctx))
    init = mlpcli_params(exp)
    cases = {name: _optimizer_case(exp, init, *spec) for name, spec in W7_OPTIMIZERS.items()}
    cases.update(_w7_torch_cases(exp, init))
    log(f"W7: {repeats} repeats after 1 warm-up")
    t = interleaved(cases, repeats)

    def paired(a: str, b: str) -> float:
        return float(np.median([x / y for x, y in zip(t[a].times, t[b].times)]))

    rows = []
    for name, timing in t.items():
        mine = W7_TORCH[name][0] if name in W7_TORCH else None
        sgd = "torch sgd" if mine else "sgd"
        rows.append(
            [
                name,
                fmt_s(timing.median),
                fmt_s(timing.min),
                f"{spread(timing.times):.1%}",
                "–" if name == sgd else fmt_ratio(paired(name, sgd)),
                f"{timing.output['loss']:.4f}",
                fmt_ratio(paired(mine, name)) if mine else "–",
            ]
        )
        sec.data[name] = {"times": timing.times}
    sec.table(
        f"Median of {repeats} epochs (after a warm-up epoch):",
        [
            "optimizer",
            "median s",
            "min s",
            "spread",
            "paired ratio / its SGD (median)",
            "epoch loss",
            "mlpcli / this (paired)",
        ],
        rows,
    )
    ratio = paired("adam", "sgd")
    steps = -(-len(exp.train.x) // BATCH)
    allowance = (W7_TARGET - 1.0) * t["sgd"].median / steps
    n_weights = sum(w.size + b.size for w, b in init)
    floor = _adam_only_passes(n_weights, repeats)
    sec.notes.append(
        f"What the target leaves Adam: {W7_TARGET - 1:.0%} of SGD's step is "
        f"{allowance * 1e6:.0f} µs per step for everything Adam does beyond SGD. The five "
        "passes no NumPy formulation of Adam avoids (g², folding g into M and g² into V, "
        f"√V, and the division by it) take {floor * 1e6:.0f} µs over the {n_weights:,} "
        f"weights on this machine (best of {repeats}×200, one thread; the √ alone is about "
        "as long as the other four, bound by the FPU rather than memory). "
        + (
            "That is more than the target allows before the moments' decay, ε and the "
            "weight update are counted: NumPy runs each ufunc as its own pass, and only a "
            "fused kernel (one pass, √ included) could meet it."
            if floor > allowance
            else "That fits in what the target allows."
        )
    )
    sec.data["adam_only_passes_s"] = floor
    sec.data["allowance_s"] = allowance
    sec.targets.append(
        Target(
            "W7", f"Adam ≤ {W7_TARGET:.2f} × SGD per epoch", fmt_ratio(ratio), ratio <= W7_TARGET
        )
    )
    return sec


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7}


# -- profiling (python benchmarks/run.py --profile W1) ----------------------------------


def profile(ctx: Context, key: str, top: int = 25) -> str:
    """cProfile of mlpcli's part of W1 or W2 (one epoch after a warm-up epoch)."""
    import cProfile
    import io
    import pstats

    if key in ("W1", "W3"):
        exp = mlpcli_experiment(_w1_config(ctx))
        case = _w1_cases(exp, include_refs=False)["mlpcli"]
    elif key == "W2":
        _, exp = _w2_setup(ctx)
        case = mlpcli_trainer_case(exp, mlpcli_params(exp))
    else:
        raise SystemExit(f"--profile supports W1 and W2, not {key}")
    case()()  # warm-up
    run = case()
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()
