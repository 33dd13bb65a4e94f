"""The command line as users and scripts meet it: the installed entry point, files, exit codes."""

import csv
import io
import json
import shutil
import subprocess

import numpy as np
import pytest
from conftest import CONFIGS, DATASETS, MOONS, same_tensors
from safetensors import safe_open
from safetensors.numpy import load_file

from mlpcli.engine import Tanh, softmax


def run_installed(*args, cwd):
    exe = shutil.which("mlp")
    assert exe, "the mlp console script is not on PATH: pip install -e '.[test]'"
    return subprocess.run(
        [exe, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_round_trip_with_the_installed_entry_point(tmp_path):
    res = run_installed("train", CONFIGS / "quickstart.yaml", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)  # the only thing on stdout
    run = tmp_path / "runs" / "quickstart-1"
    assert summary["run_dir"] == "runs/quickstart-1" and run.is_dir()
    assert "Network" in res.stderr and "Result" in res.stderr  # the human output went to stderr
    assert summary["test"]["accuracy"] >= 0.9

    res = run_installed("eval", run, "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["n"] == 100 and report["accuracy"] == pytest.approx(summary["test"]["accuracy"])
    assert {"loss", "per_class", "confusion_matrix"} <= report.keys()
    assert np.sum(report["confusion_matrix"]) == 100

    res = run_installed("predict", run, "--data", DATASETS / "moons.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["prediction", "p_0", "p_1"] and len(rows) == 501
    probs = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)
    assert [int(r[0]) for r in rows[1:]] == probs.argmax(axis=1).tolist()

    res = run_installed("train", CONFIGS / "quickstart.yaml", "--quiet", cwd=tmp_path)
    assert res.returncode == 0 and res.stderr == "" and res.stdout == ""
    assert (tmp_path / "runs" / "quickstart-2").is_dir()  # a new run never overwrites the old


def test_run_directory_matches_the_design(mlp, write, tmp_path):
    assert mlp("train", write("c.yaml", MOONS), "--out", "r", "-q").exit_code == 0
    run = tmp_path / "r"
    assert sorted(p.name for p in run.iterdir()) == [
        "config.yaml", "metrics.csv", "model.safetensors", "state.safetensors", "summary.json",
    ]  # fmt: skip
    with safe_open(str(run / "model.safetensors"), "np") as f:
        meta, names = f.metadata(), set(f.keys())
    assert names == {"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                     "input.mean", "input.std"}  # fmt: skip
    assert meta["format"] == "mlpcli/1" and json.loads(meta["classes"]) == [0, 1]
    assert json.loads(meta["config"])["model"]["hidden"] == [8]
    tensors = load_file(str(run / "model.safetensors"))
    assert tensors["layers.0.weight"].shape == (8, 2) and tensors["layers.1.bias"].shape == (2,)
    assert all(t.dtype == np.float32 for t in tensors.values())
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert (
        header == "epoch,step,train_loss,val_loss,train_accuracy,val_accuracy,lr,batch_size,seconds"
    )
    summary = json.loads((run / "summary.json").read_text())
    assert {"stop_reason", "epochs_run", "final", "best", "wall_time"} <= summary.keys()
    # the saved config reloads and trains to the same weights
    assert mlp("train", run / "config.yaml", "--out", "again", "-q").exit_code == 0
    assert same_tensors(tensors, load_file(str(tmp_path / "again" / "model.safetensors")))


def manual_forward(tensors, x):
    """What a PyTorch or NumPy user writes from the README: standardize, then layer by layer."""
    h = (x - tensors["input.mean"]) / tensors["input.std"]
    n = len([k for k in tensors if k.endswith(".weight")])
    for i in range(n):
        h = h @ tensors[f"layers.{i}.weight"].T + tensors[f"layers.{i}.bias"]
        if i < n - 1:
            h = np.tanh(h)
    return h


def test_model_file_reproduces_predictions_without_mlpcli(mlp, tmp_path):
    assert mlp("train", CONFIGS / "quickstart.yaml", "--out", "r", "-q").exit_code == 0
    res = mlp("predict", tmp_path / "r", "--data", DATASETS / "moons.csv")
    rows = list(csv.reader(io.StringIO(res.stdout)))[1:]
    x = np.loadtxt(
        DATASETS / "moons.csv", delimiter=",", skiprows=1, usecols=(0, 1), dtype=np.float32
    )
    probs = softmax(manual_forward(load_file(str(tmp_path / "r" / "model.safetensors")), x))
    np.testing.assert_allclose(
        probs, [[float(v) for v in r[1:]] for r in rows], rtol=1e-5, atol=1e-6
    )


def test_pytorch_reads_the_model_file(mlp, tmp_path):
    torch = pytest.importorskip("torch")  # optional: the NumPy test above is the real check
    from safetensors.torch import load_file as torch_load

    assert mlp("train", CONFIGS / "quickstart.yaml", "--out", "r", "-q").exit_code == 0
    t = torch_load(str(tmp_path / "r" / "model.safetensors"))
    x = torch.tensor([[0.5, 0.25]])
    ours = manual_forward({k: v.numpy() for k, v in t.items()}, x.numpy())
    h = (x - t["input.mean"]) / t["input.std"]
    h = torch.tanh(h @ t["layers.0.weight"].T + t["layers.0.bias"])
    h = torch.tanh(h @ t["layers.1.weight"].T + t["layers.1.bias"])
    h = h @ t["layers.2.weight"].T + t["layers.2.bias"]
    np.testing.assert_allclose(h.numpy(), ours, rtol=1e-5)


def test_existing_run_is_not_overwritten_without_force(mlp, write, tmp_path):
    path = write("c.yaml", MOONS)
    assert mlp("train", path, "--out", "r", "-q").exit_code == 0
    before = (tmp_path / "r" / "model.safetensors").read_bytes()
    res = mlp("train", path, "--out", "r", "-q", "--set", "seed=9")
    assert res.exit_code == 2 and "pass --force" in res.stderr
    assert (tmp_path / "r" / "model.safetensors").read_bytes() == before
    assert mlp("train", path, "--out", "r", "-q", "--set", "seed=9", "--force").exit_code == 0
    assert (tmp_path / "r" / "model.safetensors").read_bytes() != before


def test_init_from_a_run_and_a_mismatched_one(mlp, write, tmp_path):
    path = write("c.yaml", MOONS)
    assert mlp("train", path, "--out", "a", "-q").exit_code == 0
    res = mlp(
        "train", path, "--out", "b", "-q", "--init-from", tmp_path / "a", "--set", "train.lr=1e-9"
    )
    assert res.exit_code == 0
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    np.testing.assert_allclose(a["layers.0.weight"], b["layers.0.weight"], atol=1e-6)
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["init_from"] == str(tmp_path / "a")  # config.yaml alone cannot repeat it
    res = mlp("train", path, "--out", "c", "--init-from", tmp_path / "a" / "model.safetensors",
              "--set", "model.hidden=[5]")  # fmt: skip
    assert res.exit_code == 2
    assert "layers.0.weight has shape (8, 2), but this network's is (5, 2)" in res.stderr
    assert not (tmp_path / "c").exists()


def test_eval_json_for_regression_and_predict_to_file(mlp, tmp_path):
    assert mlp("train", CONFIGS / "universal-sine.yaml", "--out", "r", "-q",
               "--set", "train.epochs=5").exit_code == 0  # fmt: skip
    report = mlp("eval", tmp_path / "r", "--json").json()
    assert set(report) >= {"n", "loss", "mse", "mae", "r2"} and report["n"] == 200
    res = mlp("predict", tmp_path / "r", "--data", DATASETS / "sine.csv", "--out", "p.csv")
    assert res.exit_code == 0 and res.stdout == ""
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0] == "prediction" and len(rows) == 401
    # --keep puts the true target beside the prediction
    res = mlp("predict", tmp_path / "r", "--data", DATASETS / "sine.csv", "--keep", "x,y")
    assert res.exit_code == 0, res.stderr
    table = list(csv.reader(io.StringIO(res.stdout)))
    assert table[0] == ["x", "y", "prediction"] and len(table) == 401
    truth = np.loadtxt(DATASETS / "sine.csv", delimiter=",", skiprows=1, usecols=1)
    assert np.array([float(r[1]) for r in table[1:]]).tolist() == truth.tolist()
    again = mlp("predict", tmp_path / "r", "--data", DATASETS / "sine.csv", "--keep", "x",
                "--keep", "y")  # fmt: skip
    assert again.exit_code == 0 and again.stdout == res.stdout
    twice = mlp("predict", tmp_path / "r", "--data", DATASETS / "sine.csv", "--keep", "x,x")
    assert twice.exit_code == 2 and "a column named twice" in twice.stderr


def test_gradcheck_fails_with_exit_1_on_a_broken_backward(mlp, monkeypatch):
    path = CONFIGS / "mlp-xor.yaml"
    assert mlp("gradcheck", path, "-q").exit_code == 0
    monkeypatch.setattr(Tanh, "backward", lambda self, grad: (grad * (1 - self.out),))
    res = mlp("gradcheck", path, "--json", "-q")
    assert res.exit_code == 1
    report = res.json()
    assert not report["passed"]
    failed = {t["name"] for t in report["tensors"] if not t["passed"]}
    assert "layers.0.weight" in failed and "layers.1.weight" not in failed  # only below the tanh


@pytest.mark.parametrize("command", ["train", "eval", "predict", "gradcheck"])
def test_every_command_has_help_with_an_example(command, mlp):
    res = mlp(command, "--help")
    assert res.exit_code == 0 and "Example" in res.stdout and f"mlp {command}" in res.stdout


def test_version_usage_errors_and_debug(mlp, write):
    assert mlp("--version").stdout.startswith("mlp ")
    assert mlp("train", "--no-such-option").exit_code == 2
    assert mlp("frobnicate").exit_code == 2
    bad = write("c.yaml", MOONS.replace("epochs: 6", "epochs: 0"))
    res = mlp("train", bad, "--json")
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    assert res.json() == {"error": res.json()["error"], "exit_code": 2}
    res = mlp("train", bad, "--debug")
    assert res.exit_code != 0 and res.exception is not None  # --debug lets the exception through
