"""The command-line contract at its edges: JSON for every error, no tracebacks, no warnings,
messages that name the user's file, and files that only the user's own run decides to open."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
from conftest import DATASETS, MOONS
from safetensors.numpy import save as st_save

from mlpcli.files import atomic
from mlpcli.files.atomic import atomic_write
from mlpcli.files.safetensors import read_safetensors


def exe():
    path = shutil.which("mlp")
    assert path, "the mlp console script is not on PATH: pip install -e '.[test]'"
    return path


def run_cli(*args, cwd, timeout=120):
    return subprocess.run([exe(), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def clean_error(res, code=2):
    assert res.returncode == code, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr and "Warning" not in res.stderr, res.stderr


# -- --json: one document on stdout for every error, usage errors included ------------------


@pytest.mark.parametrize(
    "args,message",
    [
        (["train", "c.yaml", "--bogus"], "No such option: --bogus"),
        (["train", "c.yaml", "--set"], "expected KEY=VALUE"),  # --set took "--json" as its value
        (["train", "--set", "--json"], "expected KEY=VALUE"),  # --set swallowed --json: still JSON
        (["gradcheck", "c.yaml", "--samples", "0"], "--samples"),
        (["eval"], "Missing argument"),
        (["predict", "run"], "Missing option '--data'"),
        (["nonsense"], "No such command 'nonsense'"),
    ],
    ids=["unknown option", "--set without value", "--set eats --json", "--samples 0",
         "missing argument", "missing option", "unknown command"],
)  # fmt: skip
def test_usage_errors_give_one_json_document(args, message, write, tmp_path):
    write("c.yaml", MOONS)
    res = run_cli(*args, "--json", cwd=tmp_path)
    clean_error(res)
    document = json.loads(res.stdout)  # exactly one document, nothing else on stdout
    assert document["exit_code"] == 2 and message in document["error"], document
    assert message in res.stderr


def _before_mlp_ran(err: str) -> bool:
    """A traceback from the interpreter's own start-up: no frame of mlp's code in it."""
    frames = [line for line in err.splitlines() if line.startswith("  File ")]
    return bool(frames) and not any("/mlpcli/" in f for f in frames)


@pytest.mark.parametrize("command", ["train", "eval"])
def test_ctrl_c_at_any_moment_of_start_up_is_clean(command, write, tmp_path):
    path = write("c.yaml", MOONS.replace("epochs: 6", "epochs: 100000"))
    if command == "train":
        args = ["train", path]
    else:
        assert run_cli("train", path, "-q", "--out", "r", "--set", "train.epochs=1",
                       cwd=tmp_path).returncode == 0  # fmt: skip
        args = ["eval", "r", "--data", DATASETS / "moons.csv"]
    outcomes = set()
    for i, delay in enumerate((0.0, 0.03, 0.1, 0.2, 0.35, 0.6)):
        out_dir = ["--out", f"r{i}"] if command == "train" else []
        proc = subprocess.Popen([exe(), *map(str, args), *out_dir, "--json", "-q"],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)  # fmt: skip
        time.sleep(delay)  # any moment is fine: every outcome below must be clean
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        if proc.returncode == -signal.SIGINT or _before_mlp_ran(err):
            continue  # the interpreter itself was starting: none of mlp's code had run yet
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, (delay, err)
        if proc.returncode == 0:  # eval finished before the signal came
            assert command == "eval" and json.loads(out)["n"] == 500
            continue
        assert proc.returncode == 130, (delay, proc.returncode, err)
        document = json.loads(out)  # exactly one document: the run's summary, or the error
        assert document.get("exit_code", 130) == 130 and (
            document.get("stop_reason") == "interrupted" or document["error"] == "interrupted"
        ), document
        outcomes.add(proc.returncode)
    assert 130 in outcomes


def test_a_signal_after_the_json_document_leaves_it_the_only_one(capsys):
    """eval's document was out when Ctrl-C landed: a second ('interrupted') one followed."""
    from mlpcli.cli.common import Interrupted, emit_json, reported_errors

    with reported_errors(debug=False, as_json=True):
        emit_json({"n": 500})
        raise Interrupted(signal.SIGINT)  # where the handler would raise it
    assert capsys.readouterr().out == '{"n": 500}\n'
    with pytest.raises(Exception) as raised, reported_errors(debug=False, as_json=True):
        raise Interrupted(signal.SIGINT)  # before any document: the error is the document
    assert getattr(raised.value, "exit_code", None) == 130
    assert json.loads(capsys.readouterr().out) == {"error": "interrupted", "exit_code": 130}


# -- no RuntimeWarning reaches stderr --------------------------------------------------------


@pytest.mark.parametrize(
    "sets,code",
    [
        (["model.features={type: fourier, scale: 1.0e+300}"], 2),
        (["data.train={generator: moons, n_samples: 100, noise: 1.0e+308}"], 2),
        (["data.train={generator: blobs, n_samples: 100, spread: 1.0e+200}"], 2),
        (["model.init={name: normal, std: 1.0e+30}", "train.lr=1e6"], 0),  # saturated, finite
        (["loss=squared_error", "data.task=classification", "train.lr=1e6"], 3),
    ],
    ids=["fourier overflow", "moons noise", "huge spread", "huge init", "diverging rate"],
)
def test_no_numpy_warning_ever_reaches_stderr(sets, code, write, tmp_path):
    path = write("c.yaml", MOONS)
    args = ["train", path, "-q", "--out", "r"]
    for s in sets:
        args += ["--set", s]
    res = run_cli(*args, cwd=tmp_path)
    assert res.returncode == code, res.stderr
    assert "Warning" not in res.stderr and "Traceback" not in res.stderr, res.stderr
    if code != 2:  # the trained (or diverged) model evaluates and predicts, quietly
        for command in ("eval", "predict"):
            res = run_cli(command, tmp_path / "r", "--data", DATASETS / "moons.csv", "--json",
                          cwd=tmp_path)  # fmt: skip
            assert res.returncode == 0, res.stderr
            assert "Warning" not in res.stderr and "Traceback" not in res.stderr, res.stderr
            json.loads(res.stdout)


# -- messages name the user's file -----------------------------------------------------------


@pytest.mark.parametrize("anonymous", [True, False], ids=["O_TMPFILE", "named-temporary"])
def test_a_full_disk_names_the_file_being_written(anonymous, tmp_path, monkeypatch):
    if not anonymous:
        monkeypatch.setattr(atomic, "_LINKAT", None)

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as caught:
        atomic_write(tmp_path / "predictions.csv", b"x" * 100)
    assert caught.value.filename == str(tmp_path / "predictions.csv")
    assert ".tmp" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


# -- YAML, as users write it ----------------------------------------------------------------


def test_yaml_merge_keys_work_as_in_safe_load(mlp, write, tmp_path):
    text = MOONS.replace(
        "  train: {generator: moons, n_samples: 120, noise: 0.15}\n  validation_split: 0.25\n",
        "  train: &src {generator: moons, n_samples: 120, noise: 0.15}\n"
        "  validation:\n    <<: *src\n    n_samples: 40\n",
    )
    res = mlp("train", write("c.yaml", text), "--out", "r", "-q", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["n_validation"] == 40
    saved = (tmp_path / "r" / "config.yaml").read_text()
    assert "validation: {generator: moons, n_samples: 40, noise: 0.15}" in saved


@pytest.mark.parametrize(
    "text,pattern",
    [
        ("  target: yes\n", r"data\.target \(line \d+\): must be a string, got the boolean true.*"
                            r"put the name in quotes"),
        ("  target: []\n", r"data\.target \(line \d+\): must have at least 1 item"),
        ("  features: []\n", r"data\.features \(line \d+\): must have at least 1 item"),
        ("  ? [a, b]\n  : 1\n", r"line \d+: a mapping key must be a plain value"),
        ("  test: \"d\\0.csv\"\n", r"data\.test \(line \d+\): a path cannot contain a NUL byte"),
    ],
    ids=["yes is a boolean", "empty target list", "empty features", "complex key", "NUL path"],
)  # fmt: skip
def test_yaml_edge_cases_are_one_line_errors(text, pattern, mlp, write):
    path = write("c.yaml", MOONS.replace("  validation_split: 0.25\n", text))
    res = mlp("train", path, "--out", "r")
    assert res.exit_code == 2 and "Traceback" not in res.stderr, res.stderr
    assert re.search(pattern, res.stderr), res.stderr


@pytest.mark.parametrize(
    "assignment,pattern",
    [
        ("model.hidden.0.x=1", r"model\.hidden\.0 is 8, not a mapping or a list"),
        ("model.hidden.²=3", r"index ² is outside the list"),
        ("model.hidden.7=3", r"index 7 is outside the list"),
        ("seed.a=1", r"seed is 3, not a mapping"),
        ("train.lr", r"expected KEY=VALUE"),
    ],
)
def test_set_paths_that_do_not_exist_are_one_line_errors(assignment, pattern, mlp, write):
    res = mlp("train", write("c.yaml", MOONS), "--set", assignment)
    assert res.exit_code == 2 and "Traceback" not in res.stderr, res.stderr
    assert re.search(pattern, res.stderr), res.stderr


def test_nul_bytes_in_command_line_paths_are_refused(mlp, write, tmp_path):
    path = write("c.yaml", MOONS)
    assert mlp("train", path, "--out", "r", "-q").exit_code == 0
    for args in (["train", path, "--out", "a\0b"], ["predict", "r", "--data", "x\0.csv"],
                 ["predict", "r", "--data", path, "--out", "p\0.csv"]):  # fmt: skip
        res = mlp(*args)
        assert res.exit_code == 2 and "Traceback" not in res.stderr, (args, res.stderr)
        assert re.search(r"(?i)null? (byte|character)", res.stderr), (args, res.stderr)


# -- resume: never backwards, never from a state of the wrong types ---------------------------


def test_resume_with_fewer_epochs_than_run_is_refused(mlp, write, tmp_path):
    assert mlp("train", write("c.yaml", MOONS), "--out", "r", "-q").exit_code == 0
    before = (tmp_path / "r" / "summary.json").read_text()
    res = mlp("train", "--resume", tmp_path / "r", "--set", "train.epochs=2")
    assert res.exit_code == 2, res.stderr
    assert "train.epochs 2 is fewer than the 6 epochs it has already run" in res.stderr
    assert (tmp_path / "r" / "summary.json").read_text() == before


@pytest.mark.parametrize(
    "change",
    [{"epoch": "1"}, {"step": 1.5}, {"epoch": -3}, {"bad_epochs": True}, {"lr": "0.1"},
     {"stop_reason": "finished"}, {"rng_state": [1, 2]}, {"best_value": {}}],
    ids=lambda c: f"{next(iter(c))}={next(iter(c.values()))!r}",
)  # fmt: skip
def test_state_metadata_of_the_wrong_type_is_refused(change, mlp, write, tmp_path):
    assert mlp("train", write("c.yaml", MOONS), "--out", "r", "-q").exit_code == 0
    tensors, meta = read_safetensors(tmp_path / "r" / "state.safetensors")
    state = json.loads(meta["state"])
    state.update(change)
    meta["state"] = json.dumps(state)
    (tmp_path / "r" / "state.safetensors").write_bytes(st_save(tensors, metadata=meta))
    res = mlp("train", "--resume", tmp_path / "r", "--set", "train.epochs=9")
    assert res.exit_code == 2 and "Traceback" not in res.stderr, res.stderr
    assert "state.safetensors: not a state this version wrote" in res.stderr


# -- a model file cannot choose what eval opens ----------------------------------------------


def test_model_metadata_cannot_make_eval_open_a_file(mlp, write, tmp_path):
    assert mlp("train", write("c.yaml", MOONS), "--out", "r", "-q").exit_code == 0
    secret = tmp_path / "secret.csv"
    secret.write_text("SECRET-FIRST-LINE,more\n1,2\n")
    tensors, meta = read_safetensors(tmp_path / "r" / "model.safetensors")
    config = json.loads(meta["config"])
    config["data"]["test"] = {"path": str(secret)}
    config["data"]["validation_split"] = None
    meta["config"] = json.dumps(config)
    crafted = tmp_path / "crafted.safetensors"
    crafted.write_bytes(st_save(tensors, metadata=meta))
    res = mlp("eval", crafted, "--json")
    assert res.exit_code == 2 and "pass --data PATH" in res.stderr, res.stderr
    assert "SECRET" not in res.stderr + res.stdout
    # In a run directory the default data come from its config.yaml, not from the model file.
    shutil.copy(crafted, tmp_path / "r" / "model.safetensors")
    res = mlp("eval", tmp_path / "r", "--json")
    assert res.exit_code == 0, res.stderr
    assert "SECRET" not in res.stderr + res.stdout and res.json()["n"] == 30


def test_long_headers_are_not_echoed_whole(mlp, write, tmp_path):
    assert mlp("train", write("c.yaml", MOONS), "--out", "r", "-q").exit_code == 0
    names = ",".join(f"column-with-a-long-name-{i:03d}-" + "x" * 40 for i in range(50))
    (tmp_path / "wide.csv").write_text(names + "\n" + ",".join(["1"] * 50) + "\n")
    res = mlp("eval", "r", "--data", tmp_path / "wide.csv")
    assert res.exit_code == 2 and "(38 more)" in res.stderr, res.stderr
    assert len(res.stderr) < 1000
    assert np.isfinite(len(res.stderr))


# -- found by review ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["data: {train: m.csv}\x00\n", "seed: 1\x07\n", "seed: \x1b[31m\n"]
)
def test_control_characters_in_yaml_are_one_line(text, mlp, tmp_path):
    (tmp_path / "c.yaml").write_bytes(text.encode())
    res = mlp("train", tmp_path / "c.yaml")
    assert res.exit_code == 2 and "Traceback" not in res.stderr, res.stderr
    assert "not YAML text" in res.stderr
    res = mlp("train", tmp_path / "c.yaml", "--set", "seed=\x07")
    assert res.exit_code == 2 and "Traceback" not in res.stderr, res.stderr


@pytest.mark.parametrize(
    "key,value",
    [("targets", "5"), ("targets", '{"a": 1}'), ("features", '["x1", 2]'),
     ("classes", "[[0, 1], [2, 3]]"), ("classes", "[true, false]")],
)  # fmt: skip
def test_crafted_model_metadata_of_the_wrong_shape_is_refused(key, value, mlp, write, tmp_path):
    assert mlp("train", write("c.yaml", MOONS), "--out", "r", "-q").exit_code == 0
    tensors, meta = read_safetensors(tmp_path / "r" / "model.safetensors")
    meta[key] = value
    (tmp_path / "r" / "model.safetensors").write_bytes(st_save(tensors, metadata=meta))
    for command in ("eval", "predict"):
        res = mlp(command, "r", "--data", DATASETS / "moons.csv")
        assert res.exit_code == 2 and "Traceback" not in res.stderr, res.stderr
        assert "corrupt metadata" in res.stderr


@pytest.mark.parametrize("crafting", ["inf epoch in history", "NaN weights", "bad epoch RNG"])
def test_crafted_state_numbers_are_refused(crafting, mlp, write, tmp_path):
    assert mlp("train", write("c.yaml", MOONS), "--out", "r", "-q").exit_code == 0
    tensors, meta = read_safetensors(tmp_path / "r" / "state.safetensors")
    state = json.loads(meta["state"])
    if crafting == "inf epoch in history":
        tensors["history"][0, 0] = np.inf
    elif crafting == "NaN weights":
        tensors["params.layers.0.weight"][0, 0] = np.nan
    else:
        state.update(step_in_epoch=1, epoch_rng={"bit_generator": "PCG64", "state": "x"})
        tensors["running.outputs"] = np.zeros((90, 2), np.float32)
    meta["state"] = json.dumps(state)
    (tmp_path / "r" / "state.safetensors").write_bytes(st_save(tensors, metadata=meta))
    res = mlp("train", "--resume", tmp_path / "r", "--set", "train.epochs=9")
    assert res.exit_code == 2 and "Traceback" not in res.stderr, res.stderr
    assert "state.safetensors" in res.stderr


def test_divergence_is_reported_even_when_quiet(write, mlp):
    path = write("c.yaml", MOONS)
    res = mlp("train", path, "-q", "--out", "r", "--set", "loss=squared_error",
              "--set", "data.task=classification", "--set", "train.lr=1e6")  # fmt: skip
    assert res.exit_code == 3
    assert res.stderr.startswith("error: training diverged at epoch")
