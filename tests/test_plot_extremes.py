"""mlp plot at the edges: many classes, extreme or negative losses, many runs side by side.

Every picture is drawn without a library warning (they would reach stderr) and every
refusal is one line with exit 2."""

import shutil
import warnings

import numpy as np
import pytest
from conftest import MOONS

from mlpcli.files.model import load_model
from mlpcli.inference import dataset_for, report
from mlpcli.metrics import confusion_matrix
from mlpcli.plots import pictures, style
from mlpcli.plots.confusion import MAX_CLASSES, most_confused


def blobs(classes: int, n: int) -> str:
    return f"""\
seed: 0
data: {{train: {{generator: blobs, classes: {classes}, n_samples: {n}}}, test_split: 0.5}}
model: {{hidden: [8]}}
train: {{epochs: 1}}
"""


def quiet(mlp, *args):
    """Run mlp with every Python warning recorded; the result and the warnings' texts."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = mlp(*args)
    return res, [str(w.message) for w in caught]


def trained(mlp, write, tmp_path, text: str, name: str):
    res = mlp("train", write(f"{name}.yaml", text), "--out", tmp_path / name, "-q")
    assert res.exit_code == 0, res.stderr
    return tmp_path / name


def test_most_confused_classes():
    pairs = np.array([[0, 0, 9], [1, 2, 5], [2, 1, 1], [3, 3, 7], [4, 1, 2], [4, 4, 1]])
    # errors per class as true plus as predicted: 0: 0, 1: 5+1+2, 2: 5+1, 3: 0, 4: 2
    assert most_confused(pairs, 5, 3).tolist() == [1, 2, 4]
    assert most_confused(pairs, 5, 5).tolist() == [0, 1, 2, 3, 4]
    assert most_confused(pairs, 5, 1).tolist() == [1]


def test_confusion_of_more_classes_than_drawn_shows_the_most_confused(mlp, write, tmp_path):
    run = trained(mlp, write, tmp_path, blobs(80, 400), "b80")  # > 64: the report has pairs
    res, caught = quiet(mlp, "plot", run, "--confusion", "--out", tmp_path / "cm.png", "--json")
    assert res.exit_code == 0, res.stderr
    assert caught == []
    assert res.json()["height"] > 0
    with style.context():
        ax = pictures.confusions([run]).axes[0]
    assert f"the {MAX_CLASSES} most confused of 80 classes" in ax.get_title()
    shown = [int(t.get_text()) for t in ax.get_yticklabels()]
    saved = load_model(run)
    full = report(saved, dataset_for(saved, None, targets=True, run=run))
    assert "confusion_pairs" in full
    pairs = np.asarray(full["confusion_pairs"])
    dense = confusion_matrix(pairs[:, 1].repeat(pairs[:, 2]), pairs[:, 0].repeat(pairs[:, 2]), 80)
    expected = dense[np.ix_(shown, shown)]
    assert [int(t.get_text()) for t in ax.texts] == expected.ravel().tolist()
    assert shown == most_confused(pairs, 80, MAX_CLASSES).tolist()


@pytest.mark.parametrize(
    "loss",
    [lambda v, i: "1e300" if i == 2 else v, lambda v, i: "1e308", lambda v, i: f"{-float(v)!r}"],
    ids=["one huge loss", "all at the float64 limit", "negative losses"],
)
def test_extreme_and_negative_losses_are_drawn_without_warnings(loss, mlp, write, tmp_path):
    run = trained(mlp, write, tmp_path, MOONS, "moons")
    lines = (run / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    for i, row in enumerate(rows):
        for c in ("train_loss", "val_loss"):
            row[header.index(c)] = loss(row[header.index(c)], i)
    (run / "metrics.csv").write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    res, caught = quiet(mlp, "plot", run, "--out", tmp_path / "curves.png")
    assert res.exit_code == 0, res.stderr
    assert caught == []


def test_boundary_of_many_classes_has_a_short_legend(mlp, write, tmp_path):
    run = trained(mlp, write, tmp_path, blobs(100, 400), "b100")
    with warnings.catch_warnings(record=True) as caught, style.context():
        warnings.simplefilter("always")
        fig = pictures.boundaries([run])
        fig.canvas.draw()  # the layout is made here
    assert [str(w.message) for w in caught] == []
    [legend] = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "train points (100 classes, colours repeat)"
    ]


def test_too_many_runs_side_by_side_are_refused(mlp, write, tmp_path):
    run = trained(mlp, write, tmp_path, MOONS, "moons")
    for i in range(9):
        shutil.copytree(run, tmp_path / f"r{i}")
    runs = [tmp_path / f"r{i}" for i in range(9)]
    for option, most in (("--boundary", 8), ("--weights", 8), ("--confusion", 4)):
        res = mlp("plot", *runs[: most + 1], option, "--json", "--out", tmp_path / "x.png")
        assert res.exit_code == 2
        assert res.json()["error"] == (
            f"{option} draws at most {most} runs in one picture, got {most + 1}: "
            "draw them in groups, or compare them with mlp runs"
        )
        assert not (tmp_path / "x.png").exists()
        res, caught = quiet(mlp, "plot", *runs[:most], option, "--out", tmp_path / "y.png")
        assert res.exit_code == 0, res.stderr
        assert caught == [], option
