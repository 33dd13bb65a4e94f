"""``mlp gradcheck``: prove a configured network's gradients by finite differences."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlpcli.cli.common import (
    DebugOption,
    JsonOption,
    QuietOption,
    SetOption,
    console,
    emit_json,
    reported_errors,
)


def gradcheck(
    config: Annotated[Path, typer.Argument(help="YAML config file.")],
    set_: SetOption = None,
    samples: Annotated[
        int, typer.Option("--samples", min=1, help="Entries checked per tensor, at most.")
    ] = 20,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch",
            min=1,
            help="Examples in the batch (default: the configured batch size, at most 64).",
        ),
    ] = None,
    nodes: Annotated[
        bool, typer.Option("--nodes", help="Also check ∂E/∂h for every layer's output.")
    ] = False,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Check backprop against finite differences for every parameter tensor.

    Builds the configured network in float64 on a real batch of its data and
    compares ∂E/∂w with central differences (ε = 1e-6). Exit 0 when every
    tensor passes |analytic − numeric| ≤ 1e-5 + 1e-3·|numeric|, 1 otherwise.

    Example:  mlp gradcheck configs/mlp-xor.yaml --samples 50 --nodes
    """
    with reported_errors(debug, json_):
        import numpy as np

        from mlpcli.cli.render import gradcheck_table
        from mlpcli.config import load_config
        from mlpcli.gradcheck import ATOL, EPS, RTOL, check_model
        from mlpcli.prepare import prepare

        cfg = load_config(config, set_ or [])
        exp = prepare(cfg, dtype=np.float64)
        size = batch or min(exp.config.train.batch.size or len(exp.train), 64)
        x, targets, weights = exp.train.batch(slice(0, size))
        results = check_model(
            exp.objective(),
            x,
            targets,
            max_entries=samples,
            rng=np.random.default_rng(cfg.seed),
            nodes=nodes,
            weights=weights,
        )
        passed = all(r.passed for r in results)
        gradcheck_table(console(quiet), results, f"{config} (batch of {len(x)}, float64)")
        if json_:
            emit_json(
                {
                    "config": str(config),
                    "batch": len(x),
                    "eps": EPS,
                    "atol": ATOL,
                    "rtol": RTOL,
                    "passed": passed,
                    "tensors": [r.as_dict() for r in results],
                }
            )
        if not passed:
            raise typer.Exit(1)
