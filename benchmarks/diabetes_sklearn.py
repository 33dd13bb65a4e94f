"""R² on the diabetes test split: mlpcli's Adam example against scikit-learn's MLPRegressor.

    python benchmarks/diabetes_sklearn.py [--seeds 0 1 2 3 4] [--config configs/adam-diabetes.yaml]

For each seed, mlpcli trains the config (``--set seed=S``: the seed decides
the held-out rows and the initial weights) and is scored on its test split;
scikit-learn's ``MLPRegressor`` is fitted on exactly the rows mlpcli trained
and validated on (the same raw CSV values, nothing scaled: what a user would
pass it), with ``random_state=S``, and scored on the same test rows:

* ``default``: ``MLPRegressor()``, every setting at its default (Adam, η = 1e-3,
  100 ReLU units, 200 epochs);
* ``early_stopping``: ``MLPRegressor(early_stopping=True)`` (it holds out 10 %
  of what it is given);
* ``scaled inputs``: ``make_pipeline(StandardScaler(), MLPRegressor())``, the
  inputs standardized as mlpcli does (the targets stay raw: scikit-learn has
  no option for them).

Prints one row per seed and the medians, as a Markdown table (README.md,
"Choosing the learning rate", quotes it). Needs scikit-learn.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlpcli.config import load_config  # noqa: E402
from mlpcli.data.sources import read_file  # noqa: E402
from mlpcli.metrics import regression_report  # noqa: E402
from mlpcli.prepare import prepare  # noqa: E402
from mlpcli.train import Trainer, evaluate  # noqa: E402


def sklearn_models(seed: int) -> dict:
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "default": MLPRegressor(random_state=seed),
        "early_stopping": MLPRegressor(early_stopping=True, random_state=seed),
        "scaled inputs": make_pipeline(StandardScaler(), MLPRegressor(random_state=seed)),
    }


def one_seed(config_path: Path, seed: int) -> dict[str, float]:
    """Test R² of mlpcli and of each scikit-learn variant on the split of ``seed``."""
    config = load_config(config_path, [f"seed={seed}"])
    exp = prepare(config)
    trainer = Trainer(exp)
    trainer.run()
    trainer.release()  # the best epoch's weights, as mlp train saves them
    results = {"mlpcli": evaluate(exp, exp.test)["r2"]}
    raw = read_file(config.data.train.path, dtype=np.float64)[0]
    fit_rows = np.sort(np.concatenate([exp.train.rows, exp.validation.rows]))
    x, y = raw.x, raw.y.astype(np.float64).reshape(len(raw.x), -1)[:, 0]
    for name, model in sklearn_models(seed).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter: the default's result
            model.fit(x[fit_rows], y[fit_rows])
        predicted = model.predict(x[exp.test.rows])[:, None]
        results[name] = regression_report(predicted, y[exp.test.rows][:, None])["r2"]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "adam-diabetes.yaml")
    args = parser.parse_args(argv)
    rows = {seed: one_seed(args.config, seed) for seed in args.seeds}
    names = list(next(iter(rows.values())))
    print("| seed | " + " | ".join(f"R² {n}" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for seed, r in rows.items():
        print(f"| {seed} | " + " | ".join(f"{r[n]:.3f}" for n in names) + " |")
    medians = [statistics.median(r[n] for r in rows.values()) for n in names]
    print("| median | " + " | ".join(f"**{m:.3f}**" for m in medians) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
