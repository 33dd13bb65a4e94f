"""The command line people expect: --print-config, completion, flags that read as flags,
--set's KEY=VALUE form, readable output in pipes and narrow terminals, and documentation
generated or run so that it cannot drift."""

import os
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import CONFIGS, MOONS, ROOT

from mlpcli.config.reference import markdown

#: Two epochs of batch size 1 (n steps each): progress is reported within them.
MOONS_STOCHASTIC = MOONS.replace("{mode: minibatch, size: 16}", "{mode: stochastic}").replace(
    "epochs: 6", "epochs: 2"
)

README = (ROOT / "README.md").read_text()


def run_cli(*args, cwd, env=None):
    path = shutil.which("mlp")
    assert path, "the mlp console script is not on PATH: pip install -e '.[test]'"
    return subprocess.run([path, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)  # fmt: skip


# -- --print-config ---------------------------------------------------------------------------


def test_print_config_prints_every_default_and_touches_nothing(write, mlp, tmp_path):
    path = write("c.yaml", "data: {train: missing.csv}\nmodel: {hidden: 64}\n")  # no such file
    res = mlp("train", path, "--print-config", "--set", "train.lr=0.05")
    assert res.exit_code == 0, res.stderr
    config = yaml.safe_load(res.stdout)
    assert config["model"]["hidden"] == [64] and config["model"]["dropout"] == [0.0]
    assert config["train"]["lr"] == {
        "schedule": "constant",
        "initial": 0.05,
        "unit": "epoch",
        "warmup": 0,
    }
    assert config["data"]["missing"] is None and config["train"]["epochs"] == 100
    assert config["data"]["train"]["path"] == str(tmp_path / "missing.csv")
    assert not (tmp_path / "runs").exists()
    doc = mlp("train", path, "--print-config", "--json").json()  # one JSON document
    assert doc["model"]["hidden"] == [64]


def test_print_config_refuses_a_bad_config(write, mlp, tmp_path):
    res = mlp("train", write("c.yaml", "data: {train: x.csv}\nmodel: {hidden: true}\n"),
              "--print-config")  # fmt: skip
    assert res.exit_code == 2 and "model.hidden" in res.stderr and not res.stdout


# -- --set and model.hidden -------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--set", "train.lr", "0.1"], ["--set", "train.lr"]])
def test_a_space_instead_of_equals_is_refused_with_the_form(args, write, mlp, tmp_path):
    res = mlp("train", write("c.yaml", MOONS), *args)
    assert res.exit_code == 2
    assert "'train.lr': expected KEY=VALUE, e.g. --set train.lr=0.1" in res.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("value,ok", [("64", True), ("[64]", True), ("true", False), ("0", False)])
def test_one_hidden_size_is_a_list(value, ok, write, mlp):
    res = mlp("train", write("c.yaml", MOONS), "--set", f"model.hidden={value}", "--print-config")
    assert (res.exit_code == 0) == ok, res.stderr
    if ok:
        assert yaml.safe_load(res.stdout)["model"]["hidden"] == [64]


# -- --help and completion --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["train", "eval", "predict", "gradcheck"])
def test_options_read_as_flags_in_help(command, mlp):
    res = mlp(command, "--help")
    assert res.exit_code == 0
    assert "<bool>" not in res.stdout
    assert re.search(r"-q, --quiet\s+No human output", res.stdout)


def test_a_flag_takes_no_value(write, mlp):
    res = mlp("train", write("c.yaml", MOONS), "--quiet", "true")
    assert res.exit_code == 2 and "unexpected extra argument(s) (true)" in res.stderr


def test_completion_is_offered_and_completes(tmp_path):
    res = run_cli("--help", cwd=tmp_path)
    assert "--install-completion" in res.stdout and "--show-completion" in res.stdout
    env = {"_MLP_COMPLETE": "complete_bash", "COMP_WORDS": "mlp tr", "COMP_CWORD": "1"}
    assert run_cli(cwd=tmp_path, env=env).stdout.split() == ["train"]
    env = {"_MLP_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "mlp predict --ke"}
    assert "--keep" in run_cli(cwd=tmp_path, env=env).stdout
    env = {"_MLP_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": "mlp gr",
           "_TYPER_COMPLETE_FISH_ACTION": "get-args"}  # fmt: skip
    assert run_cli(cwd=tmp_path, env=env).stdout.startswith("gradcheck")


# -- output in pipes and narrow terminals -----------------------------------------------------


def test_the_run_header_never_breaks_a_phrase(write, tmp_path):
    path = write("c.yaml", MOONS)
    res = run_cli("train", path, "--out", "r", cwd=tmp_path, env={"COLUMNS": "60"})
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    header = lines[lines.index("Training") + 1 : lines.index("Network")]
    keys = [line.split("  ")[0] for line in header]
    assert keys == ["run", "data", "loss", "regularizer", "optimizer", "batches",
                    "learning rate", "epochs", "dtype / seed"]  # fmt: skip
    assert "classification, 2 classes; standardized" in res.stderr  # one line, unbroken


# -- documentation that cannot drift ----------------------------------------------------------


def test_the_readme_config_reference_is_the_schema():
    block = README.split("<!-- config-reference:start -->\n")[1].split("<!-- config-reference")[0]
    assert block == markdown(), "regenerate it: python -m mlpcli.config.reference"


def test_the_readme_numpy_reader_gives_the_probabilities_predict_prints(write, mlp, tmp_path):
    args = ["--set", "train.epochs=3", "--set", "data.validation_split=null", "-q"]
    args += ["--set", "train.early_stopping=null"]
    assert (
        mlp("train", CONFIGS / "quickstart.yaml", "--out", "runs/quickstart-1", *args).exit_code
        == 0
    )
    code = next(b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "numpy import" in b)
    res = subprocess.run(["python", "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    probs = [float(v) for v in re.findall(r"[\d.e-]+", res.stdout)]
    write("x.csv", "x1,x2\n0.5,0.25\n")
    predicted = mlp("predict", "runs/quickstart-1", "--data", "x.csv", "--json").json()["rows"][0]
    assert probs == pytest.approx(predicted[1:], rel=1e-5)


def test_long_epochs_show_progress_within_the_epoch_on_a_terminal(write):
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from mlpcli.cli.render import TrainingDisplay
    from mlpcli.config import load_config
    from mlpcli.prepare import prepare
    from mlpcli.train import Trainer

    exp = prepare(load_config(write("c.yaml", MOONS_STOCHASTIC)))
    seen = []
    Trainer(exp, on_progress=lambda done, total: seen.append((done, total))).run()
    n = len(exp.train)
    assert seen == [(k, n) for k in range(32, n + 1, 32)] * 2  # every 32 steps, both epochs

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    display = TrainingDisplay(console)
    display.start(exp, SimpleNamespace(path="runs/c-1"))
    display.within_epoch(32, n)  # a short epoch so far: no bar of its own
    assert display.rows_task is None
    display.LONG_EPOCH = 0.0  # as if two seconds had passed
    display.within_epoch(64, n)
    assert display.progress.tasks[display.rows_task].completed == 64
    display.epoch(Trainer(exp).run().history[0])  # the epoch ends: its bar goes
    assert display.rows_task is None and len(display.progress.tasks) == 1
    display.stop()
    display.progress = None
    display.within_epoch(96, n)  # not a terminal (or stopped): nothing to draw
