"""Hostile inputs: every one exits 2 with one message naming the place, no traceback, no run
directory, and nothing in any file is ever executed."""

import gzip
import json
import pickle
import re
import struct

import numpy as np
import pytest
from conftest import MOONS
from safetensors.numpy import save as st_save

from mlpcli.files.safetensors import read_safetensors

GOOD = MOONS  # a valid config; each case below breaks one thing


def replaced(old, new):
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def appended(text):
    return GOOD + text


def _billion_laughs(levels: int = 9, width: int = 10) -> str:
    """YAML whose aliases expand to width**levels values from a few hundred bytes."""
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"a: &a [{', '.join(['x'] * width)}]"]
    for prev, name in zip(names, names[1:]):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * width)}]")
    return "\n".join(lines) + "\n"


BILLION_LAUGHS = _billion_laughs()

# id -> (config text, or a callable(tmp_path) -> config path, message regex)
CASES = {
    # unknown keys, at every level
    "unknown top-level key": (
        replaced("model:", "modle:"),
        r"modle \(line 5\): unknown key; did you mean 'model'",
    ),
    "unknown data key": (
        replaced("  validation_split", "  validaton_split"),
        r"data\.validaton_split \(line 4\): unknown key; did you mean 'validation_split'",
    ),
    "unknown file-source key": (
        replaced("{generator: moons, n_samples: 120, noise: 0.15}", "{path: d.csv, sep: ';'}"),
        r"data\.train\.sep \(line 3\): unknown key",
    ),
    "unknown generator parameter": (
        replaced("noise: 0.15", "nois: 0.15"),
        r"data\.train\.nois \(line 3\): unknown key; did you mean 'noise'",
    ),
    "unknown idx-source key": (
        replaced(
            "{generator: moons, n_samples: 120, noise: 0.15}", "{images: a, labels: b, scale: 1}"
        ),
        r"data\.train\.scale \(line 3\): unknown key",
    ),
    "unknown model key": (
        replaced("hidden: [8]", "hiden: [8]"),
        r"model\.hiden \(line 5\): unknown key; did you mean 'hidden'",
    ),
    "unknown init key": (
        replaced("init: xavier", "init: {name: normal, sd: 0.1}"),
        r"model\.init\.sd \(line 5\): unknown key; did you mean 'std'",
    ),
    "unknown features key": (
        replaced("init: xavier", "features: {type: polynomial, degre: 2}"),
        r"model\.features\.degre \(line 5\): unknown key; did you mean 'degree'",
    ),
    "unknown regularizer key": (
        appended("regularizer: {type: l2, lamda: 0.1}\n"),
        r"regularizer\.lamda \(line 11\): unknown key; did you mean 'lambda'",
    ),
    "unknown train key": (
        replaced("epochs: 6", "epoch: 6"),
        r"train\.epoch \(line 8\): unknown key; did you mean 'epochs'",
    ),
    "unknown batch key": (
        replaced("size: 16", "sze: 16"),
        r"train\.batch\.sze \(line 9\): unknown key; did you mean 'size'",
    ),
    "unknown growth key": (
        replaced("size: 16}", "size: 16, growth: {factor: 2, evry: 3}}"),
        r"train\.batch\.growth\.evry \(line 9\): unknown key; did you mean 'every'",
    ),
    "unknown schedule key": (
        replaced("lr: 0.2", "lr: {schedule: step, initial: 0.1, facter: 0.5}"),
        r"train\.lr\.facter \(line 10\): unknown key; did you mean 'factor'",
    ),
    "unknown optimizer key": (
        appended("  optimizer: {name: sgd, momentun: 0.9}\n"),
        r"train\.optimizer\.momentun \(line 11\): unknown key; did you mean 'momentum'",
    ),
    "unknown early-stopping key": (
        appended("  early_stopping: {patiance: 3}\n"),
        r"train\.early_stopping\.patiance \(line 11\): unknown key; did you mean 'patience'",
    ),
    # wrong types
    "seed is text": (replaced("seed: 3", "seed: abc"), r"seed \(line 1\): must be an integer"),
    "hidden is a string": (
        replaced("hidden: [8]", "hidden: '16'"),
        r"model\.hidden \(line 5\): must be a list",
    ),
    "hidden size is fractional": (
        replaced("hidden: [8]", "hidden: [16.5]"),
        r"model\.hidden\.0 \(line 5\): must be a whole number",
    ),
    "shuffle is not a boolean": (
        appended("  shuffle: maybe\n"),
        r"train\.shuffle \(line 11\): must be true or false",
    ),
    "data is a list": ("data: [1, 2]\n", r"data \(line 1\): must be a mapping"),
    "loss is a number": (
        replaced("loss: cross_entropy", "loss: 5"),
        r"loss \(line 6\): 5 is not one of",
    ),
    "train source is a number": (
        replaced("{generator: moons, n_samples: 120, noise: 0.15}", "42"),
        r"data\.train \(line 3\): expected a file path",
    ),
    "batch is a string": (
        replaced("batch: {mode: minibatch, size: 16}", "batch: big"),
        r"train\.batch \(line 9\): must be a mapping",
    ),
    # out of range
    "momentum of 1": (
        appended("  optimizer: {momentum: 1.0}\n"),
        r"train\.optimizer\.momentum \(line 11\): must be < 1",
    ),
    "negative seed": (replaced("seed: 3", "seed: -1"), r"seed \(line 1\): must be ≥ 0"),
    "polynomial degree 11": (
        replaced("init: xavier", "features: {type: polynomial, degree: 11}"),
        r"model\.features\.degree \(line 5\): must be ≤ 10",
    ),
    "validation split 0": (
        replaced("validation_split: 0.25", "validation_split: 0"),
        r"data\.validation_split \(line 4\): must be > 0",
    ),
    "learning rate 0": (replaced("lr: 0.2", "lr: 0"), r"train\.lr \(line 10\): must be > 0"),
    "negative rbf width": (
        replaced("init: xavier", "features: {type: rbf, sigma: -1}"),
        r"model\.features\.sigma \(line 5\): must be > 0",
    ),
    "negative lambda": (
        appended("regularizer: {type: l2, lambda: -0.1}\n"),
        r"regularizer\.lambda \(line 11\): must be ≥ 0",
    ),
    "zero epochs": (replaced("epochs: 6", "epochs: 0"), r"train\.epochs \(line 8\): must be ≥ 1"),
    "more rbf centers than rows": (
        replaced("init: xavier", "features: {type: rbf, n_centers: 500}"),
        r"model\.features: rbf needs 500 centers but the training set has 90 rows",
    ),
    "warmup rounds the first rate to 0": (
        replaced("lr: 0.2", "lr: {schedule: constant, initial: 5e-324, warmup: 3}"),
        r"train\.lr\.warmup \(line 10\): the first step's rate η₀/\(warmup \+ 1\) = "
        r"4\.94066e-324/\(3 \+ 1\) rounds to 0",
    ),
    "a warmup of 331 digits": (
        replaced("lr: 0.2", "lr: {schedule: constant, initial: 0.1, warmup: 1" + "0" * 330 + "}"),
        r"train\.lr\.warmup \(line 10\): .* = 0\.1/\(1\.00e\+330 \+ 1\) rounds to 0",
    ),
    # NaN and infinity where they make no sense
    "infinite learning rate": (
        replaced("lr: 0.2", "lr: .inf"),
        r"train\.lr \(line 10\): must be a finite number",
    ),
    "NaN lambda": (
        appended("regularizer: {type: l2, lambda: .nan}\n"),
        r"regularizer\.lambda \(line 11\): must be a finite number",
    ),
    "infinite init std": (
        replaced("init: xavier", "init: {name: normal, std: .inf}"),
        r"model\.init\.std \(line 5\): must be a finite number",
    ),
    "NaN generator noise": (
        replaced("noise: 0.15", "noise: .nan"),
        r"data\.train\.noise \(line 3\): must be a finite number",
    ),
    # the file itself
    "empty file": ("", r"c\.yaml: the file is empty"),
    "only comments": ("# nothing here\n\n", r"c\.yaml: the file is empty"),
    "YAML syntax error": (
        replaced("hidden: [8]", "hidden: [8"),
        r"c\.yaml:\d+:\d+: YAML syntax error",
    ),
    "tab indentation": ("data:\n\ttrain: x.csv\n", r"c\.yaml:2:1: YAML syntax error"),
    "duplicate key": (
        replaced("loss: cross_entropy", "loss: cross_entropy\nloss: hinge"),
        r"c\.yaml: line 7: duplicate key 'loss' \(first given on line 6\)",
    ),
    "YAML alias bomb": (
        BILLION_LAUGHS,
        r"c\.yaml: expands to more than 100000 values through aliases",
    ),
    "nested 10000 deep": ("a: " + "[" * 10000 + "]" * 10000 + "\n", r"c\.yaml: nested too deeply"),
    "python object tag": (
        "!!python/object/apply:os.system ['touch MARKER']\n",
        r"c\.yaml:1:1: YAML syntax error: could not determine a constructor",
    ),
    "not UTF-8": (b"seed: 3\ndata: \xff\xfe\n", r"c\.yaml: not a UTF-8 text file"),
    "a top-level list": ("- data\n- model\n", r"c\.yaml: a config is a mapping of sections"),
    "50 MB config": (
        lambda tmp: _big_config(tmp),
        r"c\.yaml: 50\.\d MB is too large for a config \(limit 1 MB\)",
    ),
    "config is a directory": (
        lambda tmp: _dir_config(tmp),
        r"c\.yaml: is a directory, not a config file",
    ),
    "config does not exist": (lambda tmp: tmp / "absent.yaml", r"absent\.yaml: no such file"),
    # paths inside the config
    "data file does not exist": (
        replaced("{generator: moons, n_samples: 120, noise: 0.15}", "missing.csv"),
        r"missing\.csv: no such file",
    ),
    "data file is a directory": (
        replaced("{generator: moons, n_samples: 120, noise: 0.15}", "."),
        r": is a directory, not a data file",
    ),
    "IDX with a bad magic number": (
        lambda tmp: _idx_config(tmp, b"\x01\x02\x03\x04"),
        r"img\.idx: not an IDX file \(bad magic number\)",
    ),
    "IDX header promising more": (
        lambda tmp: _idx_config(
            tmp, b"\x00\x00\x08\x03" + struct.pack(">3I", 100, 4, 4) + bytes(16)
        ),
        r"img\.idx: IDX header promises shape \(100, 4, 4\)",
    ),
    "NPZ with a pickled object": (
        lambda tmp: _npz_config(tmp),
        r"d\.npz: array 'x' holds Python objects; refusing to unpickle it",
    ),
    "CSV with a ragged row": (
        lambda tmp: _csv_config(tmp, "x1,x2,label\n1,2,0\n1,2,1,7\n"),
        r"d\.csv, line 3: expected 3 columns like the header, found 4",
    ),
    "CSV with infinity": (
        lambda tmp: _csv_config(tmp, "x1,x2,label\n1,-inf,0\n1,2,1\n"),
        r"Input contains infinity \(line 2, column 'x2'\)",
    ),
    # found by review: each once ended in a traceback
    "ragged Fourier frequencies": (
        replaced("init: xavier", "features: {type: fourier, frequencies: [[1, 2], [3]]}"),
        r"model\.features: frequencies must be a non-empty list of equal-length rows",
    ),
    "empty Fourier frequencies": (
        replaced("init: xavier", "features: {type: fourier, frequencies: []}"),
        r"model\.features: frequencies must be a non-empty list",
    ),
    "a network too large to allocate": (
        replaced("hidden: [8]", "hidden: [1000000, 1000000]"),
        r"model\.hidden: [\d,]{17} parameters would take \d+ GiB to train",
    ),
    "features too many to allocate": (
        replaced("init: xavier", "features: {type: polynomial, degree: 10}").replace(
            "moons, n_samples: 120, noise: 0.15", "blobs, features: 60, n_samples: 120"
        ),
        r"model\.features: [\d,]+ features per row would take \d+ GiB",
    ),
    "NPZ with a 0-d x": (
        lambda tmp: _npz_arrays(tmp, x=np.array(1.0), y=np.array([0, 1])),
        r"d\.npz: 'x' and 'y' must have one row per example",
    ),
    "NPZ with no columns": (
        lambda tmp: _npz_arrays(tmp, x=np.zeros((4, 0)), y=np.arange(4) % 2),
        r"d\.npz: array 'x' of shape \(4, 0\) holds no inputs",
    ),
    "corrupt gzip IDX": (
        lambda tmp: _idx_config(tmp, None),
        r"img\.idx\.gz: unreadable",
    ),
    "target named for a generator": (
        replaced("  validation_split: 0.25", "  target: y"),
        r"data\.target: names CSV columns, but data\.train is not a CSV file",
    ),
}


def _npz_arrays(tmp, **arrays):
    np.savez(tmp / "d.npz", **arrays)
    return _data_config(tmp, "d.npz")


MARKER = "MARKER"


class Evil:
    """Unpickling this writes the marker file: proof that something was executed."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _big_config(tmp):
    path = tmp / "c.yaml"
    with open(path, "w") as f:
        f.write(GOOD)
        f.write(("#" + "x" * 999 + "\n") * 50_000)
    return path


def _dir_config(tmp):
    (tmp / "c.yaml").mkdir()
    return tmp / "c.yaml"


def _data_config(tmp, source):
    text = replaced("{generator: moons, n_samples: 120, noise: 0.15}", source)
    (tmp / "c.yaml").write_text(text.replace("  validation_split: 0.25\n", ""))
    return tmp / "c.yaml"


def _idx_config(tmp, content):
    if content is None:  # a gzip stream cut short and scrambled
        data = bytearray(gzip.compress(b"\x00\x00\x08\x03" + bytes(60)))
        data[12:20] = b"\xff" * 8
        (tmp / "img.idx.gz").write_bytes(bytes(data))
        with gzip.open(tmp / "lab.idx.gz", "wb") as f:
            f.write(b"\x00\x00\x08\x01" + struct.pack(">I", 2) + bytes([0, 1]))
        return _data_config(tmp, "{images: img.idx.gz, labels: lab.idx.gz}")
    (tmp / "img.idx").write_bytes(content)
    with gzip.open(tmp / "lab.idx.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x01" + struct.pack(">I", 2) + bytes([0, 1]))
    return _data_config(tmp, "{images: img.idx, labels: lab.idx.gz}")


def _npz_config(tmp):
    np.savez(tmp / "d.npz", x=np.array([Evil(tmp / MARKER)] * 4, dtype=object), y=np.arange(4) % 2)
    return _data_config(tmp, "d.npz")


def _csv_config(tmp, text):
    (tmp / "d.csv").write_text(text)
    return _data_config(tmp, "d.csv")


def test_there_are_at_least_forty_hostile_inputs():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_hostile_input_exits_2_with_one_message(case, mlp, tmp_path):
    content, message = CASES[case]
    if callable(content):
        path = content(tmp_path)
    else:
        path = tmp_path / "c.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    res = mlp("train", path, "--out", tmp_path / "out")
    assert res.exit_code == 2, (res.exit_code, res.stderr, res.exception)
    assert "Traceback" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, res.stderr
    assert re.search(message, res.stderr.replace("\n", " ")), res.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()
    assert not (tmp_path / MARKER).exists()


# -- nothing executes from a model, state or data file -------------------------------------


@pytest.fixture
def trained(mlp, write, tmp_path):
    assert mlp("train", write("c.yaml", MOONS), "--out", "run", "-q").exit_code == 0
    return tmp_path / "run"


def evil_pickle(tmp_path):
    return pickle.dumps(Evil(tmp_path / MARKER), protocol=4)


def crafted_files(tmp_path, run):
    """name -> bytes of files that must never load, each with the message naming why."""
    good = (run / "model.safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8 : 8 + header_len])
    header["__metadata__"]["config"] = header["__metadata__"]["config"].replace(
        '"hidden": [8]', '"hidden": [5]'
    )
    other_arch = json.dumps(header).encode()
    other_arch += b" " * (-len(other_arch) % 8)
    big = 17 * 1024 * 1024
    return {
        "pickle": (
            evil_pickle(tmp_path),
            r"is a Python pickle, not safetensors; refusing to load it",
        ),
        "torch zip": (b"PK\x03\x04" + bytes(100), r"is a zip archive .* not safetensors"),
        "cut in the header": (good[: len(good) // 2], r"truncated or corrupt: header claims"),
        "cut in the tensors": (good[: 8 + header_len + 10], r"truncated: tensors need \d+ bytes"),
        "lying header length": (
            struct.pack("<Q", 2**40) + good[8:],
            r"header claims 1099511627776 bytes but the file has \d+",
        ),
        "oversized header": (
            struct.pack("<Q", big) + b"{" + b" " * (big - 1),
            r"header of 17825792 bytes is larger than any model's",
        ),
        "garbage header": (
            good[:8] + b"x" * header_len + good[8 + header_len :],
            r"not a safetensors file \(its header is not JSON\)",
        ),
        "tiny": (b"\x01\x02", r"truncated \(2 bytes\)"),
        "other architecture": (
            struct.pack("<Q", len(other_arch)) + other_arch + good[8 + header_len :],
            r"layers\.0\.weight has shape \(8, 2\), but this network's is \(5, 2\)",
        ),
        "no input.std": (
            _resaved(run, lambda t, m: t.pop("input.std")),
            r"input\.mean and input\.std must both have shape \(2,\)",
        ),
        "0-d last weight": (
            _resaved(run, lambda t, m: t.update({"layers.1.weight": np.array(1.0, np.float32)})),
            r"different architecture \(no 2-D layers\.1\.weight\)",
        ),
        "fewer classes than outputs": (
            _resaved(run, lambda t, m: m.update(classes="[0]")),
            r"1 classes in the metadata do not fit 2 outputs",
        ),
        "ragged classes": (
            _resaved(run, lambda t, m: m.update(classes="[[0], [1, 2]]")),
            r"corrupt metadata \(classes, features or targets\)",
        ),
    }


def _resaved(run, change):
    """The run's model file, rewritten with ``change(tensors, metadata)`` applied."""
    tensors, meta = read_safetensors(run / "model.safetensors")
    change(tensors, meta)
    return st_save(tensors, metadata=meta)


UNREADABLE = {"pickle", "torch zip", "cut in the header", "cut in the tensors",
              "lying header length", "oversized header", "garbage header", "tiny"}  # fmt: skip


def test_crafted_model_files_are_refused_by_eval_and_init_from(trained, mlp, tmp_path):
    for name, (content, message) in crafted_files(tmp_path, trained).items():
        victim = tmp_path / f"victim-{name.replace(' ', '-')}"
        victim.mkdir()
        (victim / "model.safetensors").write_bytes(content)
        res = mlp("eval", victim, "--json")
        assert res.exit_code == 2, (name, res.stderr)
        assert re.search(message, res.stderr), (name, res.stderr)
        assert "Traceback" not in res.stderr and json.loads(res.stdout)["exit_code"] == 2
        if name not in UNREADABLE:  # its layer tensors fit this network: --init-from may use them
            continue
        init = victim / "model.safetensors"
        res = mlp("train", tmp_path / "c.yaml", "--out", "new", "--init-from", init)
        assert res.exit_code == 2 and not (tmp_path / "new").exists(), (name, res.stderr)
    assert not (tmp_path / MARKER).exists()


@pytest.mark.parametrize(
    "change",
    [
        lambda t, m: t.pop("params.layers.0.weight"),
        lambda t, m: m.update(state=m["state"][:-1] + ', "surprise": 1}'),
        lambda t, m: t.update({"params.layers.0.weight": np.zeros((3, 3), np.float32)}),
    ],
    ids=["missing parameter", "unknown state key", "wrong shape"],
)
def test_a_state_file_that_does_not_fit_is_refused(change, trained, mlp):
    tensors, meta = read_safetensors(trained / "state.safetensors")
    change(tensors, meta)
    (trained / "state.safetensors").write_bytes(st_save(tensors, metadata=meta))
    res = mlp("train", "--resume", trained, "--set", "train.epochs=9")
    assert res.exit_code == 2 and "Traceback" not in res.stderr, res.stderr
    assert "state.safetensors" in res.stderr


def test_a_crafted_state_file_is_refused_by_resume(trained, mlp, tmp_path):
    (trained / "state.safetensors").write_bytes(evil_pickle(tmp_path))
    res = mlp("train", "--resume", trained)
    assert res.exit_code == 2 and "is a Python pickle" in res.stderr
    assert not (tmp_path / MARKER).exists()
    assert not (trained / ".lock").exists()


def test_the_evil_pickle_really_would_write_the_marker(tmp_path):
    # The check above can fail: loading the same bytes with pickle does write the marker.
    pickle.loads(evil_pickle(tmp_path))
    assert (tmp_path / MARKER).exists()


def test_a_valid_model_file_still_loads(trained):
    tensors, meta = read_safetensors(trained / "model.safetensors")
    assert meta["format"] == "mlpcli/1" and "layers.0.weight" in tensors
