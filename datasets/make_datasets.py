"""Regenerate the CSV files in this folder.

Run from the repository root::

    python datasets/make_datasets.py              # every dataset
    python datasets/make_datasets.py moons sine   # only these
    python datasets/make_datasets.py --out /tmp/d # somewhere else (e.g. to diff)

The synthetic sets come from the package's own generators
(``mlpcli/data/synthetic.py``), each with a fixed seed, so a run reproduces the
committed files byte for byte as long as the generators and NumPy's
``default_rng`` streams are unchanged. Iris, digits and diabetes are copied
from the copies scikit-learn bundles; without scikit-learn they are skipped
and the committed files stay as they are.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

try:
    from mlpcli.data.synthetic import GENERATORS
except ImportError:  # a checkout that is not pip-installed: use its own package
    sys.path.insert(0, str(HERE.parent))
    from mlpcli.data.synthetic import GENERATORS

#: file stem -> (generator, seed, parameters). A new seed or parameter changes the file.
SYNTHETIC: dict[str, tuple[str, int, dict]] = {
    "xor": ("xor", 1, {"n_samples": 200, "noise": 0.2}),
    "moons": ("moons", 2, {"n_samples": 500, "noise": 0.2}),
    "circles": ("circles", 3, {"n_samples": 500, "noise": 0.08, "factor": 0.5}),
    "spirals": ("spirals", 4, {"n_samples": 600, "classes": 3, "noise": 0.2}),
    "blobs": ("blobs", 5, {"n_samples": 600, "classes": 4, "features": 2, "spread": 1.5}),
    "sine": ("sine", 6, {"n_samples": 400, "noise": 0.05}),
}

REAL = ("iris", "digits", "diabetes")

#: Made here, not by a package generator: data as it comes (see make_customers).
TABULAR = ("customers",)

IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]


def fmt(value: float) -> str:
    """Shortest text of ``value`` rounded to 6 decimals (``+ 0.0`` turns −0.0 into 0.0)."""
    return repr(round(float(value), 6) + 0.0)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write a header and rows with ``\\n`` line ends, whatever the platform."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def make_synthetic(name: str, out: Path) -> Path:
    """Generate one synthetic set and write it to ``out/<name>.csv``."""
    generator, seed, params = SYNTHETIC[name]
    x, y = GENERATORS[generator](np.random.default_rng(seed), **params)
    path = out / f"{name}.csv"
    if y.ndim == 2:  # regression targets, (N, 1) for sine
        header = ["x", "y"]
        rows = ([fmt(v) for v in xi] + [fmt(t) for t in ti] for xi, ti in zip(x, y))
    else:
        header = [f"x{i + 1}" for i in range(x.shape[1])] + ["label"]
        rows = ([fmt(v) for v in xi] + [str(int(label))] for xi, label in zip(x, y))
    write_csv(path, header, rows)
    return path


def make_iris(out: Path) -> Path:
    """Fisher's iris from scikit-learn's bundled copy, species as their names."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    names = [str(n) for n in iris.target_names]
    rows = ([fmt(v) for v in xi] + [names[t]] for xi, t in zip(iris.data, iris.target))
    path = out / "iris.csv"
    write_csv(path, IRIS_COLUMNS, rows)
    return path


def make_digits(out: Path) -> Path:
    """The 1797 8×8 digits from scikit-learn's bundled copy, pixels as integers 0..16."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = digits.data.astype(np.int64)
    if not np.array_equal(pixels, digits.data):  # the source holds whole counts only
        raise ValueError("digits: non-integer pixel values in scikit-learn's copy")
    rows = ([str(v) for v in xi] + [str(int(t))] for xi, t in zip(pixels, digits.target))
    path = out / "digits.csv"
    write_csv(path, [f"pixel{i}" for i in range(pixels.shape[1])] + ["digit"], rows)
    return path


def make_customers(out: Path, n: int = 600, seed: int = 7) -> Path:
    """A customer table as a user brings it: an identifier, two categorical columns, a
    column with empty cells, and imbalanced classes (about one customer in six churns).

    The chance to churn is logistic in the tenure, the monthly spend, the plan, the
    region and the support calls; income is missing for one customer in ten (more often
    among those who churn, so the missing-value indicator carries information).
    """
    rng = np.random.default_rng(seed)
    regions, plans = ["north", "south", "east", "west"], ["basic", "plus", "pro"]
    region = rng.choice(len(regions), size=n, p=[0.4, 0.25, 0.2, 0.15])
    plan = rng.choice(len(plans), size=n, p=[0.5, 0.3, 0.2])
    age = rng.integers(18, 80, size=n)
    tenure = rng.gamma(2.0, 12.0, size=n).round(0) + 1
    spend = (20 + 25 * plan + rng.normal(0, 8, size=n)).clip(5).round(2)
    calls = rng.poisson(1.0 + 0.8 * (region == 3), size=n)
    income = (28 + 0.6 * age + 12 * plan + rng.normal(0, 10, size=n)).clip(8).round(1)
    logit = (
        -0.8
        - 0.12 * tenure
        + 0.06 * (spend - 40)
        + 0.9 * calls
        - 1.5 * (plan == 2)
        + 1.2 * (region == 1)
    )
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    gone = rng.random(n) < np.where(churned, 0.25, 0.07)
    header = ["id", "region", "plan", "age", "income", "monthly_spend", "tenure_months",
              "support_calls", "churned"]  # fmt: skip
    rows = (
        [
            f"C{i + 1:04d}",
            regions[region[i]],
            plans[plan[i]],
            str(int(age[i])),
            "" if gone[i] else fmt(income[i]),
            fmt(spend[i]),
            str(int(tenure[i])),
            str(int(calls[i])),
            "yes" if churned[i] else "no",
        ]
        for i in range(n)
    )
    path = out / "customers.csv"
    write_csv(path, header, rows)
    return path


def make_diabetes(out: Path) -> Path:
    """Efron et al.'s 442 diabetes patients, in raw units (not scikit-learn's scaled copy).

    ``load_diabetes(scaled=False)`` gives the original values: age in years,
    sex 1/2, bmi, blood pressure and six serum measurements; the target, a
    measure of disease progression after one year, is an integer from 25 to 346.
    """
    from sklearn.datasets import load_diabetes

    d = load_diabetes(scaled=False)
    if not np.array_equal(d.target, np.round(d.target)):
        raise ValueError("diabetes: non-integer targets in scikit-learn's copy")
    rows = ([fmt(v) for v in xi] + [str(int(t))] for xi, t in zip(d.data, d.target))
    path = out / "diabetes.csv"
    write_csv(path, [*d.feature_names, "progression"], rows)
    return path


REAL_MAKERS: dict[str, Callable[[Path], Path]] = {
    "iris": make_iris,
    "digits": make_digits,
    "diabetes": make_diabetes,
}


def make_real(names: Iterable[str], out: Path) -> list[Path]:
    """Rebuild the real datasets from scikit-learn if it is installed, else say so and skip."""
    names = list(names)
    if not names:
        return []
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print(
            f"note: scikit-learn is not installed; skipping {', '.join(names)} "
            "(the committed CSVs are kept; `pip install scikit-learn` to rebuild them)"
        )
        return []
    return [REAL_MAKERS[name](out) for name in names]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the CSV files in datasets/.")
    known = [*SYNTHETIC, *TABULAR, *REAL]
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"datasets to build (default: all of {known})"
    )
    parser.add_argument(
        "--out", type=Path, default=HERE, help="output folder (default: this script's folder)"
    )
    args = parser.parse_args(argv)
    # Checked here, not with choices=: argparse rejects an empty nargs="*" list against choices.
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown dataset {unknown[0]!r} (choose from {', '.join(known)})")
    names = args.names or known
    args.out.mkdir(parents=True, exist_ok=True)
    written = [make_synthetic(n, args.out) for n in names if n in SYNTHETIC]
    written += [make_customers(args.out) for n in names if n == "customers"]
    written += make_real([n for n in names if n in REAL], args.out)
    for path in written:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
