"""mlp runs on damaged run directories: unreadable summaries and configs are named in the
row, a deeply nested summary is no traceback, and a symlink loop does not sink the listing."""

import shutil

import pytest

from mlpcli.config import load_config
from mlpcli.runs import train_new

TINY = """\
seed: 1
data:
  train: {generator: moons, n_samples: 60}
  validation_split: 0.25
model: {hidden: [4]}
train: {epochs: 2, batch: {mode: batch}}
"""


@pytest.fixture
def run(write, tmp_path):
    """One finished run at tmp_path/proto (outside the directories listed)."""
    train_new(load_config(write("c.yaml", TINY)), "c", out=tmp_path / "proto")
    return tmp_path / "proto"


def test_damaged_summaries_and_configs_are_shown_as_damaged(run, mlp, tmp_path):
    root = tmp_path / "runs"
    summaries = {
        "truncated": '{"task": ',
        "empty": "",
        "list": "[1,2,3]",
        "deep": "[" * 100_000 + "]" * 100_000,
    }
    for name, text in summaries.items():
        shutil.copytree(run, root / name)
        (root / name / "summary.json").write_text(text)
    shutil.copytree(run, root / "bad-config")
    (root / "bad-config" / "summary.json").unlink()
    (root / "bad-config" / "config.yaml").write_text("model: {hidden: [4]\n")
    shutil.copytree(run, root / "fine")
    shutil.copytree(run, root / "odd")  # an object, its sections of the wrong kind
    (root / "odd" / "summary.json").write_text(
        '{"stop_reason": "completed", "final": [1], "best": 3, "test": "x", "warnings": 1}'
    )
    for args in (("--json",), ()):
        res = mlp("runs", root, *args)
        assert res.exit_code == 0, res.stderr
    rows = {r["run"]: r for r in mlp("runs", root, "--json").json()}
    assert rows["fine"]["status"] == "finished"
    assert rows["odd"]["status"] == "finished" and rows["odd"]["val_loss"] is None
    for name, why in (("truncated", "not valid JSON"), ("empty", "not valid JSON"),
                      ("list", "not a JSON object"), ("deep", "not valid JSON")):  # fmt: skip
        assert rows[name]["status"] == "damaged", rows[name]
        assert rows[name]["warnings"] == f"summary.json unreadable ({why})"
    assert rows["bad-config"]["status"] == "damaged"
    assert rows["bad-config"]["warnings"] == "config.yaml unreadable (not a YAML mapping)"
    assert next(iter(rows)) == "fine"  # damaged runs rank last
    assert "damaged" in res.stderr and "summary.json unreadable" in res.stderr


def test_a_symlink_loop_is_not_followed(run, mlp, tmp_path):
    loop = tmp_path / "loop"
    (loop / "a").mkdir(parents=True)
    (loop / "a" / "up").symlink_to("..")
    shutil.copytree(run, loop / "a" / "r")
    res = mlp("runs", loop, "--json")
    assert res.exit_code == 0, res.stderr
    assert [r["run"] for r in res.json()] == ["a/r"]
    assert mlp("runs", loop / "a" / "up" / "a" / "up", "--json").json()[0]["run"] == "a/r"
