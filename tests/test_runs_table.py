"""One run scripted (overrides in its summary, names from overrides, threads, loss
warnings) and many runs as one table (mlp runs on a directory of every status)."""

import csv
import io
import json

import pytest

from mlpcli import runtable
from mlpcli.compare import labels
from mlpcli.config import differing_fields, load_config
from mlpcli.health import loss_warnings
from mlpcli.overrides import MAX_LENGTH, run_name, short_keys
from mlpcli.runs import RunDir, train_new

TINY = """\
seed: 1
data:
  train: {generator: moons, n_samples: 120, noise: 0.15}
  validation_split: 0.25
model: {hidden: [8], activation: relu}
train:
  epochs: 4
  batch: {mode: minibatch, size: 16}
  lr: 0.2
"""

QUADRATIC = """\
seed: 0
data:
  train: {generator: sine, n_samples: 100}
model: {hidden: []}
loss: squared_error
train:
  epochs: 8
  batch: {mode: batch}
  lr: 1.0
"""


# -- one run -----------------------------------------------------------------------------


def test_json_and_summary_record_the_overrides_and_their_resolved_values(write, mlp, tmp_path):
    path = write("c.yaml", TINY)
    res = mlp("train", path, "--set", "train.lr=0.05", "--set", "model.hidden=[6,4]",
              "--name-from-overrides", "--threads", "1", "-q", "--json")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = res.json()
    assert doc["run_dir"] == "runs/c/hidden=6-4,lr=0.05"
    assert doc["overrides"] == ["train.lr=0.05", "model.hidden=[6,4]"]
    assert doc["overridden"] == {
        "model.hidden": [6, 4],
        "train.lr": {"schedule": "constant", "initial": 0.05, "unit": "epoch", "warmup": 0},
    }
    assert doc["threads"] == 1 and doc["warnings"] == []
    saved = json.loads((tmp_path / doc["run_dir"] / "summary.json").read_text())
    assert saved["overrides"] == doc["overrides"] and saved["threads"] == 1
    again = mlp("train", path, "--set", "model.hidden=[6,4]", "--set", "train.lr=0.05",
                "--name-from-overrides", "-q")  # fmt: skip
    assert again.exit_code == 2 and "holds a run already" in again.stderr  # same name, any order
    res = mlp("train", path, "--name-from-overrides", "--out", "x")
    assert res.exit_code == 2 and "--name-from-overrides" in res.stderr


def test_mlp_threads_environment_default(write, mlp, monkeypatch):
    monkeypatch.setenv("MLP_THREADS", "1")
    res = mlp("train", write("c.yaml", TINY), "--out", "r", "-q", "--json")
    assert res.exit_code == 0 and res.json()["threads"] == 1
    monkeypatch.setenv("MLP_THREADS", "two")
    res = mlp("train", write("c.yaml", TINY), "--out", "r2", "-q")
    assert res.exit_code == 2 and "MLP_THREADS='two'" in res.stderr


def test_resumed_run_keeps_its_overrides(write, mlp, tmp_path):
    path = write("c.yaml", TINY)
    assert mlp("train", path, "--set", "train.lr=0.1", "--out", "r", "-q").exit_code == 0
    res = mlp("train", "--resume", tmp_path / "r", "--set", "train.epochs=6", "-q", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["overrides"] == ["train.lr=0.1"] and res.json()["epochs_run"] == 6


def test_run_names_are_stable_safe_and_bounded():
    assert run_name(["train.lr=0.05", "model.hidden=[64, 64]"]) == "hidden=64-64,lr=0.05"
    assert run_name(["model.hidden=[64,64]", "train.lr=5e-2"]) == "hidden=64-64,lr=0.05"
    assert run_name(["train.lr=1", "train.lr=0.5"]) == "lr=0.5"  # the last value wins
    assert run_name([]) == "defaults"
    odd = run_name(["data.target=a b/c;$(x)", "train.lr={schedule: step, initial: 0.1}"])
    assert all(c.isalnum() or c in "._,=+-" for c in odd)
    assert odd != run_name(["data.target=a_b_c;$(x)", "train.lr={schedule: step, initial: 0.1}"])
    long = [f"model.hidden=[{','.join(['512'] * 60)}]"]
    assert len(run_name(long)) == MAX_LENGTH and run_name(long) == run_name(long)
    assert run_name(long) != run_name([f"model.hidden=[{','.join(['512'] * 61)}]"])
    assert short_keys(["train.lr", "model.lr", "train.batch.size", "model.hidden.0"]) == {
        "train.lr": "train.lr",
        "model.lr": "model.lr",
        "train.batch.size": "batch.size",
        "model.hidden.0": "hidden.0",
    }


def test_loss_warnings_flag_a_rising_or_oscillating_loss_and_nothing_healthy():
    assert loss_warnings([1.0, 0.5, 0.3, 0.2, 0.21, 0.19]) == []
    assert loss_warnings([2.3, 0.4, 0.1, 0.02, 0.004, 0.0001, 0.0]) == []  # steep descent
    assert loss_warnings([1.0, 0.5, 3.0, 0.4, 0.3]) == []  # one spike and its recovery
    assert loss_warnings([1.0, 1e-3, 0.0, 1e-4, 0.0, 1e-4, 0.0]) == []  # noise near zero
    rose = loss_warnings([1.0, 2.0, 5.0, 10.5])
    assert [w["kind"] for w in rose] == ["loss_rose"] and "10.5" in rose[0]["message"]
    assert [w["kind"] for w in loss_warnings([1.0, 0.3, 1.2, 0.4, 1.5, 0.5])] == ["oscillating"]
    assert loss_warnings([1.0, 0.3, 1.2, 0.4]) == []  # two reversals are not enough
    assert loss_warnings([5.0]) == [] and loss_warnings([]) == []


@pytest.mark.parametrize("seed", range(5))
def test_healthy_runs_are_not_flagged(seed, write, mlp):
    res = mlp("train", write("c.yaml", TINY), "--set", f"seed={seed}", "--out", "r", "-q", "--json")
    assert res.exit_code == 0 and res.json()["warnings"] == []


def test_a_run_whose_loss_rose_tenfold_says_so(write, mlp):
    path = write("q.yaml", QUADRATIC)
    res = mlp("train", path, "--set", "train.lr=2.5", "--out", "r", "--json")
    assert res.exit_code == 0  # it completed: a warning, not an error
    doc = res.json()
    assert doc["stop_reason"] == "completed"
    assert [w["kind"] for w in doc["warnings"]] == ["loss_rose"]
    assert "warning: the training loss ended at" in res.stderr
    res = mlp("train", path, "--out", "ok", "--json")  # η = 1/curvature: converges
    assert res.exit_code == 0 and res.json()["warnings"] == []


# -- many runs ---------------------------------------------------------------------------


def mixed_runs(write, tmp_path):
    """A directory with a run of every status (the running one locked by this process)."""
    path = write("c.yaml", TINY + "  early_stopping: {patience: 1}\n")
    root = tmp_path / "runs"

    def new(name, *overrides, **kw):
        cfg = load_config(path, list(overrides))
        return train_new(cfg, "c", out=root / name, overrides=list(overrides), **kw)

    new("finished", "train.early_stopping=null")
    new("early", "train.epochs=200", "train.lr=0.5")
    new("diverged", "train.lr=1e6")
    new("interrupted", "train.epochs=50", should_stop=lambda: True)
    new("rose", "train.epochs=8", "train.lr=2.5", "train.early_stopping=null", "loss=squared_error",
        "data.task=regression", "data.train={generator: sine, n_samples: 100}", "model.hidden=[]",
        "train.batch={mode: batch}", "data.validation_split=null")  # fmt: skip
    running = RunDir(root / "running")
    (root / "running").mkdir()
    (root / "running" / "config.yaml").write_text((root / "finished" / "config.yaml").read_text())
    running.lock()
    (root / "failed").mkdir()
    (root / "failed" / "config.yaml").write_text((root / "finished" / "config.yaml").read_text())
    (root / "not-a-run").mkdir()
    return root, running


def test_mlp_runs_on_a_mixed_directory(write, mlp, tmp_path):
    root, running = mixed_runs(write, tmp_path)
    try:
        res = mlp("runs", root, "--json")
        table = mlp("runs", root)
    finally:
        running.unlock()
    assert res.exit_code == 0, res.stderr
    rows = {r["run"]: r for r in res.json()}
    assert {k: r["status"] for k, r in rows.items()} == {
        "finished": "finished",
        "early": "early-stopped",
        "diverged": "diverged",
        "interrupted": "interrupted",
        "rose": "diverged",
        "running": "running",
        "failed": "failed",
    }
    assert rows["rose"]["warnings"] == "loss_rose"
    assert rows["finished"]["epochs"] == 4 and rows["early"]["epochs"] < 200
    assert rows["finished"]["train.lr.initial"] == 0.2 and rows["early"]["train.lr.initial"] == 0.5
    assert "seed" not in rows["finished"]  # only the fields that differ
    ranked = [r["run"] for r in res.json()]
    assert ranked.index("finished") < ranked.index("diverged")
    assert ranked[-1] in ("diverged", "failed", "rose")
    assert table.exit_code == 0
    for word in ("running", "early-stopped", "interrupted", "lr.initial", "7 runs"):
        assert word in table.stderr
    after = {r["run"]: r["status"] for r in mlp("runs", root, "--json").json()}
    assert after["running"] == "failed"  # unlocked, with neither summary nor state


def test_mlp_runs_csv_and_sort(write, mlp, tmp_path):
    root = tmp_path / "runs"
    path = write("c.yaml", TINY)
    for lr in (0.02, 0.5, 0.1):
        cfg = load_config(path, [f"train.lr={lr}"])
        train_new(cfg, "c", out=root / f"lr={lr}")
    res = mlp("runs", root, "--csv", "--sort", "train.lr.initial")
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["train.lr.initial"] for r in rows] == ["0.02", "0.1", "0.5"]
    assert list(rows[0])[:3] == ["run", "train.lr.initial", "status"]
    assert list(rows[0])[-1] == "path" and rows[0]["path"] == str(root / "lr=0.02")
    short = mlp("runs", root, "--csv", "--sort", "lr.initial")  # the heading the table shows
    assert short.exit_code == 0, short.stderr
    assert short.stdout == res.stdout
    res = mlp("runs", root, "--sort", "nonsense")
    assert res.exit_code == 2 and "not a column" in res.stderr
    res = mlp("runs", tmp_path / "nowhere")
    assert res.exit_code == 2 and "nowhere: no such directory" in res.stderr
    res = mlp("runs", root, "--csv", "--json")
    assert res.exit_code == 2 and "--csv and --json both write stdout" in res.stderr
    assert res.json()["exit_code"] == 2


def test_differing_fields():
    a = {"model": {"hidden": [8], "init": {"name": "he"}}, "train": {"lr": 0.1}, "seed": 0}
    b = {"model": {"hidden": [8, 8], "init": {"name": "he"}}, "train": {"lr": 0.1}, "seed": 0}
    c = {"model": {"hidden": [8], "init": {"name": "normal", "std": 0.1}}, "train": {"lr": 0.3}}
    assert differing_fields([a, b]) == ["model.hidden"]
    # a key absent from a config (std, seed) is no difference by itself: the kind (name) is
    assert differing_fields([a, c]) == ["model.init.name", "train.lr"]
    assert differing_fields([a]) == [] and differing_fields([a, a]) == []
    # a section null here and set there is one field; mappings that differ only in which
    # keys they have (a file against a generator) are one field too
    d = {"data": {"train": {"path": "m.csv"}, "missing": None}}
    e = {"data": {"train": {"generator": "moons", "noise": 0.1}, "missing": {"strategy": "mean"}}}
    assert differing_fields([d, e]) == ["data.train", "data.missing"]
    f = {"data": {"train": {"generator": "moons", "noise": 0.2}, "missing": {"strategy": "mean"}}}
    assert differing_fields([d, e, f]) == ["data.train", "data.missing"]
    assert differing_fields([e, f]) == ["data.train.noise"]
    # a key holding None says no more than an absent one (a config from an older version)
    g = {"train": {"lr": 0.1, "clip_norm": None}}
    assert differing_fields([{"train": {"lr": 0.1}}, g]) == []


def test_depth_alone_does_not_make_the_activation_a_differing_field(tmp_path):
    from mlpcli import runtable

    for name, acts in (("a", "[relu]"), ("b", "[relu, relu]"), ("c", "[tanh, relu]")):
        (tmp_path / name).mkdir()
        hidden = "[4]" if name == "a" else "[4, 4]"
        (tmp_path / name / "config.yaml").write_text(
            f"model:\n  hidden: {hidden}\n  activation: {acts}\n"
        )
    runs = runtable.read_runs([tmp_path / "a", tmp_path / "b"])
    assert runtable.table(runs)[0] == ["run", "model.hidden", "status"]
    columns, rows = runtable.table(runtable.read_runs([tmp_path]), tmp_path)
    assert "model.activation" in columns
    assert [r["model.activation"] for r in rows] == ["relu", "relu", ["tanh", "relu"]]


def test_ranking_breaks_accuracy_ties_by_validation_loss_and_puts_failures_last():
    from mlpcli.runtable import sort_rows

    rows = [
        {"run": "a", "status": "finished", "val_accuracy": 0.9, "val_loss": 0.3},
        {"run": "b", "status": "diverged", "val_accuracy": 0.99, "val_loss": 9.0},
        {"run": "c", "status": "finished", "val_accuracy": 0.9, "val_loss": 0.2},
        {"run": "d", "status": "finished", "val_accuracy": None, "val_loss": None},
        {"run": "e", "status": "finished", "val_accuracy": 0.95, "val_loss": 0.5},
    ]
    assert [r["run"] for r in sort_rows(rows, "val_accuracy")] == ["e", "c", "a", "d", "b"]
    assert [r["run"] for r in sort_rows(rows, "val_loss")] == ["c", "a", "e", "d", "b"]


def test_sections_set_in_some_runs_and_depth_are_one_column_each(mlp, tmp_path, write):
    """Early stopping, imputation and batch growth off in one run and on in another: one
    column each; hidden [8] against [6, 6] with dropout and activation given once: no
    dropout or activation column; optimizers by name, not by every optimizer's fields."""
    path = write("c.yaml", TINY)
    root = tmp_path / "runs"
    for name, sets in {
        "plain": [],
        "on": ["train.early_stopping={patience: 3}", "data.missing={strategy: mean}",
               "train.batch.growth={factor: 2, every: 2}", "model.hidden=[6, 6]",
               "train.optimizer={name: adam}"],
        "adamw": ["train.optimizer={name: adamw}", "model.dropout=0.1"],
    }.items():  # fmt: skip
        train_new(load_config(path, sets), "c", out=root / name)
    columns, rows = runtable.table(runtable.read_runs([root]), root)
    fields = columns[1 : columns.index("status")]
    assert fields == [
        "data.missing", "model.hidden", "model.dropout", "train.batch.growth",
        "train.optimizer.name", "train.early_stopping",
    ]  # fmt: skip
    by_run = {r["run"]: r for r in rows}
    assert by_run["plain"]["model.dropout"] == 0 and by_run["on"]["model.dropout"] == 0
    assert by_run["adamw"]["model.dropout"] == 0.1
    assert by_run["plain"]["train.early_stopping"] is None
    assert by_run["on"]["train.early_stopping"]["patience"] == 3
    table = mlp("runs", root)
    assert table.exit_code == 0 and "early_stopping.metric" not in table.stderr

    configs = [load_config(root / r / "config.yaml") for r in ("plain", "on", "adamw")]
    assert labels(configs, ["plain", "on", "adamw"]) == [
        "missing=none, hidden=[8], dropout=0, batch.growth=none, optimizer=sgd, "
        "early_stopping=none",
        "missing=mean, hidden=[6, 6], dropout=0, batch.growth=on, optimizer=adam, "
        "early_stopping=on",
        "missing=none, hidden=[8], dropout=0.1, batch.growth=none, optimizer=adamw, "
        "early_stopping=none",
    ]
    depth = [load_config(path, [f"model.hidden={h}"]) for h in ("[32]", "[64, 64]")]
    assert labels(depth, ["a", "b"]) == ["hidden=[32]", "hidden=[64, 64]"]


def test_a_run_directory_given_directly_goes_by_its_name(mlp, tmp_path, write):
    path = write("c.yaml", TINY)
    train_new(load_config(path), "c", out=tmp_path / "runs" / "quickstart-1")
    for given in ("runs/quickstart-1", "runs/quickstart-1/"):
        res = mlp("runs", given, "--json", "--no-curve")
        assert res.exit_code == 0, res.stderr
        assert [r["run"] for r in res.json()] == ["quickstart-1"]
    assert [r["run"] for r in mlp("runs", "runs", "--json").json()] == ["quickstart-1"]
    inside = mlp("runs", ".", "--json")  # from the directory holding the runs
    assert [r["run"] for r in inside.json()] == ["runs/quickstart-1"]
    # `path` is the directory as a path from here: the root as given, joined with the run
    for given, path in (("runs/quickstart-1", "runs/quickstart-1"), ("runs", "runs/quickstart-1"),
                        (tmp_path / "runs", str(tmp_path / "runs" / "quickstart-1"))):  # fmt: skip
        (row,) = mlp("runs", given, "--json").json()
        assert row["path"] == path
        assert mlp("eval", row["path"], "--json").exit_code == 0


def test_sort_takes_a_heading_or_a_unique_suffix_and_names_an_ambiguous_one():
    from mlpcli.cli.runs import sort_column
    from mlpcli.errors import UsageError

    columns = ["run", "train.batch.size", "model.hidden", "data.size", "status", "val_loss"]
    assert sort_column("hidden", columns) == "model.hidden"  # the headings shown
    assert sort_column("batch.size", columns) == "train.batch.size"
    assert sort_column("size", columns) == "data.size"
    assert sort_column("val_loss", columns) == "val_loss"
    assert sort_column("train.batch.size", columns) == "train.batch.size"
    columns = ["run", "train.batch.size", "test.batch.size", "status"]  # shown in full
    with pytest.raises(UsageError, match=r"--sort batch.size: ambiguous, one of "
                                         r"train.batch.size, test.batch.size"):  # fmt: skip
        sort_column("batch.size", columns)
    with pytest.raises(UsageError, match="not a column"):
        sort_column("hiden", columns)
