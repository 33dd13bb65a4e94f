"""Pictures: ``mlp plot`` image files, the terminal loss curve, and comparing runs."""

import glob
import pathlib
import re
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
from conftest import CONFIGS, MOONS

from mlpcli.compare import common_name, describe, differing_fields, labels
from mlpcli.config import load_config
from mlpcli.history import read_history
from mlpcli.plots import pictures, style
from mlpcli.plots.terminal import loss_curve
from mlpcli.plots.weights import image_side

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def train(mlp, tmp_path, config, out, *sets, code=0):
    args = ["train", config, "--out", tmp_path / out, "--force", "--quiet"]
    for s in sets:
        args += ["--set", s]
    res = mlp(*args)
    assert res.exit_code == code, res.stderr
    return tmp_path / out


def plot(mlp, *args):
    res = mlp("plot", *args, "--json", "--quiet")
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    image = matplotlib.image.imread(doc["out"])
    assert image.shape[:2] == (doc["height"], doc["width"])  # the stated size
    rgb = image[..., :3]
    assert rgb.std() > 0.05 and len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50  # not blank
    return doc, rgb


@pytest.fixture
def regimes(mlp, tmp_path):
    """The lecture's three learning-rate regimes: η too small, right, too large (diverges)."""
    quadratic = CONFIGS / "learning-rate-quadratic.yaml"
    return [
        train(
            mlp,
            tmp_path,
            quadratic,
            f"learning-rate-quadratic-{i}",
            f"train.lr={lr}",
            "train.epochs=80",
            code=3 if lr == 3 else 0,
        )
        for i, lr in enumerate((0.1, 1, 3), 1)
    ]


def test_learning_curves_of_three_learning_rates(mlp, tmp_path, regimes):
    doc, _ = plot(mlp, *regimes, "--out", tmp_path / "regimes.png")
    assert (doc["width"], doc["height"]) == (1000, 640)
    with style.context():
        fig = pictures.curves(regimes)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["η=0.1", "η=1", "η=3", "training"]
    assert "learning-rate-quadratic" in fig._suptitle.get_text()
    loss_axis = fig.axes[0]
    assert loss_axis.get_yscale() == "log"
    top = loss_axis.get_ylim()[1]
    assert top < 100  # the diverged run (loss 1e35) is cut, the others keep their scale
    assert any("diverges" in t.get_text() for t in loss_axis.texts)

    with style.context():
        steps = pictures.curves(regimes[:1], x="step")
    assert steps.axes[2].get_xlabel() == "step (SGD updates)"


def test_decision_regions_of_xor_have_the_classes_where_xor_puts_them(mlp, tmp_path):
    run = train(mlp, tmp_path, CONFIGS / "mlp-xor.yaml", "xor")
    out = tmp_path / "xor.png"
    _, rgb = plot(mlp, run, "--boundary", "--out", out)
    with style.context():  # the same figure, for where each data point lands in pixels
        fig = pictures.boundaries([run])
        fig.canvas.draw()
    ax = fig.axes[0]
    candidates = np.array(
        [style.region_color(0), style.region_color(1)]
        + [matplotlib.colors.to_rgb(style.color(k)) for k in (0, 1)]
        + [(0, 0, 0), (1, 1, 1)]
    )
    height = rgb.shape[0]
    for corner in [(1, 1), (-1, -1), (-1, 1), (1, -1)]:
        expected = int(corner[0] * corner[1] < 0)  # XOR: class 1 iff x1·x2 < 0
        for offset in [(0.0, 0.0), (0.45, 0.45)]:  # on the points, and between them
            point = np.multiply(corner, np.add(1.0, offset))
            px, py = ax.transData.transform(point)
            row, col = round(height - py), round(px)
            patch = rgb[row - 6 : row + 7, col - 6 : col + 7].reshape(-1, 3)
            nearest = np.argmin(((patch[:, None, :] - candidates) ** 2).sum(-1), axis=1)
            own = np.isin(nearest, [expected, expected + 2]).sum()
            other = np.isin(nearest, [1 - expected, 3 - expected]).sum()
            assert own > 0.4 * len(patch) and own > 5 * other, (corner, offset, own, other)


def test_trio_and_regression_and_what_has_no_boundary(mlp, tmp_path, write):
    runs = [
        train(mlp, tmp_path, CONFIGS / f"{name}.yaml", name, "train.epochs=30")
        for name in ("perceptron-xor", "perceptron-xor-features", "mlp-xor")
    ]
    doc, _ = plot(mlp, *runs, "--boundary", "--out", tmp_path / "trio.png")
    assert (doc["width"], doc["height"]) == (1200, 460)  # 12 inches at most
    with style.context():
        fig = pictures.boundaries(runs)
    titles = [ax.get_title().splitlines()[0] for ax in fig.axes[:3]]
    assert titles == [  # what differs between the runs
        "perceptron",
        "perceptron · φ polynomial (degree 2, interactions)",
        "hidden [4] tanh",
    ]

    sine = train(mlp, tmp_path, CONFIGS / "universal-sine.yaml", "sine", "train.epochs=3")
    with style.context():
        fig = pictures.boundaries([sine])
    assert "target sin(x)" in [t.get_text() for t in fig.legends[0].get_texts()]
    curve = fig.axes[0].get_lines()[0]  # the network's y(x), through the raw-input forward
    from mlpcli.files.model import load_model

    x, y = curve.get_data()
    expected = load_model(sine).model.outputs(x[:, None], raw=True)[:, 0]
    np.testing.assert_allclose(y, expected)

    blobs = write("blobs.yaml", MOONS.replace("moons, n_samples: 120, noise: 0.15",
                                              "blobs, n_samples: 60, features: 3"))  # fmt: skip
    run = train(mlp, tmp_path, blobs, "blobs")
    res = mlp("plot", run, "--boundary", "--out", tmp_path / "d.png")
    assert res.exit_code == 2 and "classification on 3 inputs" in res.stderr
    assert not (tmp_path / "d.png").exists()
    # Curves of a classification and a regression run: accuracy and MSE share no axis.
    res = mlp("plot", runs[2], sine, "--out", tmp_path / "mixed.png")
    assert res.exit_code == 2 and not (tmp_path / "mixed.png").exists()
    assert "reports accuracy and " in res.stderr and "mse: a classification and a " in res.stderr


def test_weights_histograms_and_first_layer_images(mlp, tmp_path):
    l1 = train(mlp, tmp_path, CONFIGS / "regularizers-digits.yaml", "l1", "train.epochs=1")
    l2 = train(mlp, tmp_path, CONFIGS / "regularizers-digits.yaml", "l2", "train.epochs=1",
               "regularizer={type: l2, lambda: 20}")  # fmt: skip
    plot(mlp, l1, l2, "--weights", "--out", tmp_path / "weights.png")
    with style.context():
        fig = pictures.weights([l1, l2])
    titles = [ax.get_title() for ax in fig.axes]
    assert "layers.0.weight (32 × 64)" in titles and "layers.1.weight (10 × 32)" in titles
    grids = [t for t in titles if "first-layer weights" in t]
    assert len(grids) == 2 and "32 of 32 units, 8×8 pixels" in grids[0]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("regularizer=l1, λ=8: ") and "|w| < 10⁻³" in legend[0]

    xor = train(mlp, tmp_path, CONFIGS / "mlp-xor.yaml", "xor", "train.epochs=2")
    from mlpcli.files.model import load_model

    assert image_side(load_model(l1)) == 8 and image_side(load_model(xor)) is None


def test_confusion_matrix(mlp, tmp_path, write):
    run = train(mlp, tmp_path, write("moons.yaml", MOONS), "moons")
    res = mlp("plot", run, "--confusion", "--out", tmp_path / "cm.svg")
    assert res.exit_code == 0 and "<svg" in (tmp_path / "cm.svg").read_text()
    with style.context():
        fig = pictures.confusions([run])
    counts = [int(t.get_text()) for t in fig.axes[0].texts]
    assert sum(counts) == 30  # the validation split: 25 % of 120 rows

    sine = train(mlp, tmp_path, CONFIGS / "universal-sine.yaml", "sine", "train.epochs=1")
    res = mlp("plot", sine, "--confusion")
    assert res.exit_code == 2 and "needs a classification run" in res.stderr
    bare = train(mlp, tmp_path, write("bare.yaml", MOONS.replace("  validation_split: 0.25\n", "")),
                 "bare")  # fmt: skip
    res = mlp("plot", run, bare, "--confusion")  # of two runs, the one without held-out data
    assert res.exit_code == 2 and f"{bare}: the run has no test or validation data" in res.stderr


def test_default_output_name_and_bad_arguments(mlp, tmp_path, write):
    run = train(mlp, tmp_path, write("moons.yaml", MOONS), "moons")
    res = mlp("plot", run, "--confusion")
    assert res.exit_code == 0, res.stderr
    assert "wrote moons-confusion.png" in res.stderr
    assert matplotlib.image.imread(tmp_path / "moons-confusion.png").shape == (380, 500, 4)
    for args, message in [
        ([run, "--weights", "--boundary"], "give one of"),
        ([run, "--out", "x.jpg"], ".png, .svg or .pdf"),
        ([run, "--data", "x.csv"], "are for --confusion"),
        ([tmp_path / "nowhere"], "nowhere: not a run directory (no config.yaml or metrics"),
    ]:
        res = mlp("plot", *args)
        assert res.exit_code == 2 and message in res.stderr, (args, res.stderr)
        assert "Traceback" not in res.stderr
    header = "epoch,step,train_loss,val_loss,train_accuracy,val_accuracy,lr,batch_size,seconds"
    (run / "metrics.csv").write_text(f"{header}\n1,2,0.5,,0.9,,0.1,16,0.1\n1,x\n")
    res = mlp("plot", run)
    assert res.exit_code == 2 and "metrics.csv, line 3: 2 fields" in res.stderr


def test_terminal_loss_curve(mlp, tmp_path, write):
    config = write("moons.yaml", MOONS)
    res = mlp("train", config, "--out", tmp_path / "r", "--curve")
    assert res.exit_code == 0, res.stderr
    lines = res.stderr.splitlines()
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    curve = lines[top - 1 : top + 18]
    assert curve[0].strip() == "loss" and any("validation" in line for line in curve)
    assert all(len(line) <= 80 for line in curve)  # fits the 80-column capture
    assert any("epoch" == line.strip() for line in curve)

    quiet = mlp("train", config, "--out", tmp_path / "r", "--force", "--curve", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    plain = mlp("train", config, "--out", tmp_path / "r", "--force")  # not a terminal
    assert plain.exit_code == 0 and "┌" not in plain.stderr

    text = loss_curve(read_history(tmp_path / "r"), width=50, height=10)
    shown = [ANSI.sub("", line) for line in text.splitlines()]
    assert len(shown) == 10 and all(len(line) <= 50 for line in shown)


def test_terminal_curve_goes_logarithmic_when_the_loss_spans_decades(mlp, tmp_path, regimes):
    log = [ANSI.sub("", s) for s in loss_curve(read_history(regimes[2])).splitlines()]
    assert any("e+3" in line for line in log)  # 1e+31 and the like: decades on the axis
    flat = [ANSI.sub("", s) for s in loss_curve(read_history(regimes[1])).splitlines()]
    assert not any("e+" in line or "e-" in line for line in flat)


def test_fields_that_differ_between_runs():
    base = CONFIGS / "quickstart.yaml"
    a = load_config(base)
    b = load_config(base, ["train.lr=0.3", "model.hidden=[8]", "seed=4"])
    c = load_config(base, ["train.lr=0.3"])
    # resolved, activation and dropout are one per hidden layer; given once, they are one
    # value whatever the depth
    assert differing_fields([a, b, c]) == ["seed", "model.hidden", "train.lr.initial"]
    assert labels([a, b], ["q-1", "q-2"]) == ["seed=0, hidden=[16, 16], η=0.1",
                                            "seed=4, hidden=[8], η=0.3"]  # fmt: skip
    assert differing_fields([a, load_config(base)]) == []
    assert labels([a, c], ["q-1", "q-2"]) == ["η=0.1", "η=0.3"]
    assert labels([a, a], ["q-1", "q-2"]) == ["q-1", "q-2"]
    assert describe(a) == (
        "moons.csv · hidden [16, 16] tanh · cross_entropy · no regularizer · η=0.1 · μ=0.9 · "
        "minibatch 32 · 100 epochs"
    )
    assert describe(a, skip=["model.hidden", "train.lr.initial"]) == (
        "moons.csv · cross_entropy · no regularizer · μ=0.9 · minibatch 32 · 100 epochs"
    )
    assert describe(b, only=["model.hidden"]) == "hidden [8] tanh"
    assert common_name(["quadratic-1", "quadratic-12"]) == "quadratic"
    assert common_name(["a-1", "b-1"]) is None


def test_the_cli_starts_without_matplotlib_or_plotext():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from mlpcli.cli import app\n"
        "for args in (['--help'], ['plot', '--help'], ['graph', '--help'], ['train', '--help']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'plotext')]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_boundary_over_imputed_inputs_and_refused_for_categorical_ones(mlp, tmp_path):
    churn = CONFIGS / "customers-churn.yaml"
    run = train(mlp, tmp_path, churn, "imputed", "data.features=[age, income]",
                "data.categorical=null", "train.epochs=3")  # fmt: skip
    plot(mlp, run, "--boundary", "--out", tmp_path / "imputed.png")
    with style.context():
        fig = pictures.boundaries([run])
    ax = fig.axes[0]
    from mlpcli.inference import run_config
    from mlpcli.prepare import raw_splits

    splits = raw_splits(run_config(run))
    shown = [s for s in ("train", "validation") if s in splits]
    missing = sum(int(np.isnan(splits[s].x).any(axis=1).sum()) for s in shown)
    assert missing > 0  # income has empty cells
    assert ax.get_title().splitlines()[-1] == f"{missing} points with a missing input not drawn"
    points = [c for c in ax.collections if c.get_label().startswith("class ")]
    drawn = sum(len(c.get_offsets()) for c in points)
    assert drawn == sum(len(splits[s].x) for s in shown) - missing
    income = np.concatenate([splits[s].x[:, 1] for s in shown])
    bottom, top = ax.get_ylim()
    assert bottom < np.nanmin(income) and np.nanmax(income) < top < 2 * np.nanmax(income)

    run = train(mlp, tmp_path, churn, "categorical", "data.features=[region, age]",
                "data.missing=null", "train.epochs=1")  # fmt: skip
    res = mlp("plot", run, "--boundary", "--out", tmp_path / "c.png")
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    assert "categorical: --boundary needs numeric inputs; 'region' is categorical" in res.stderr
    assert not (tmp_path / "c.png").exists()


def test_a_one_epoch_run_has_whole_epoch_ticks_and_a_singular_title(mlp, tmp_path, write):
    one = train(mlp, tmp_path, write("moons.yaml", MOONS), "one", "train.epochs=1")
    with style.context():
        fig = pictures.curves([one])
        fig.canvas.draw()
    ticks = fig.axes[2].get_xticks()
    assert len(ticks) and all(t == int(t) for t in ticks), ticks
    assert "1 epoch" in fig._suptitle.get_text() and "1 epochs" not in fig._suptitle.get_text()


def test_curves_of_a_run_without_an_epoch(mlp, tmp_path, write):
    config = write("moons.yaml", MOONS)
    empty = train(mlp, tmp_path, config, "diverged", "train.lr=1e40", code=3)
    assert len(read_history(empty)) == 0  # diverged in its first epoch
    res = mlp("plot", empty, "--out", tmp_path / "e.png")
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    assert f"{empty}: no epoch recorded in metrics.csv" in res.stderr
    assert not (tmp_path / "e.png").exists()

    ok = train(mlp, tmp_path, config, "fine")
    plot(mlp, empty, ok, "--out", tmp_path / "both.png")  # drawn, the empty run said so
    with style.context():
        fig = pictures.curves([empty, ok])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:2] == ["η=1e+40 (no epoch recorded)", "η=0.2"]


def test_the_help_example_of_overlaid_runs_plots_what_its_sweep_makes(mlp, tmp_path):
    from mlpcli.cli.plot import plot as command

    text = " ".join(command.__doc__.split())
    pattern = r"mlp sweep (\S+) (--grid \S+ --out \S+) then mlp plot (\S+) (--out \S+)"
    example = re.search(pattern, text)
    assert example, text
    config = CONFIGS / pathlib.Path(example[1]).name  # the example runs from the repository root
    res = mlp("sweep", config, *example[2].split(), "--dry-run", "--json", "-q")
    assert res.exit_code == 0, res.stderr
    for trial in res.json():  # each trial trained here as the sweep's worker would, shorter
        sets = [a for o in trial["overrides"] for a in ("--set", o)]
        done = mlp("train", config, *sets, "--set", "train.epochs=20", "--out", trial["run"], "-q")
        assert done.exit_code in (0, 3), done.stderr  # η = 3 diverges, as the picture shows
    runs = sorted(glob.glob(example[3], root_dir=tmp_path))  # the shell's glob
    assert [pathlib.Path(r).name for r in runs] == ["lr=0.1", "lr=1", "lr=3"]
    doc, _ = plot(mlp, *runs, *example[4].split())
    assert doc["out"] == "regimes.png" and len(doc["runs"]) == 3


def test_titles_name_the_optimizer_dropout_and_the_other_training_options(mlp, tmp_path, write):
    config = write("moons.yaml", MOONS)
    run = train(mlp, tmp_path, config, "adamw", "train.optimizer={name: adamw}",
                "model.dropout=0.2", "train.clip_norm=1", "train.lr_scale=[1, 0.5]",
                "data.class_weight=balanced", "train.epochs=2")  # fmt: skip
    with style.context():
        titles = [pictures.curves([run])._suptitle.get_text(),
                  pictures.confusions([run])._suptitle.get_text()]  # fmt: skip
    for title in titles:
        assert (
            "hidden [8] tanh · dropout 0.2 · cross_entropy · balanced class weights · "
            "no regularizer · η=0.2 · adamw · η × [1, 0.5] · clip ‖g‖ ≤ 1 · minibatch 16 · "
            "2 epochs"
        ) in " ".join(title.split()), title  # wrapped to the figure's width
    plain = load_config(config)  # plain SGD, no dropout: nothing more said
    assert describe(plain) == (
        "moons generator · hidden [8] tanh · cross_entropy · no regularizer · η=0.2 · "
        "minibatch 16 · 6 epochs"
    )
