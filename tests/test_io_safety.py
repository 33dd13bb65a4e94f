"""Files are never destroyed and never read without a bound.

Writing: an ``--out`` that is a device, a FIFO or a symlink is written through
(never replaced); an ``--out`` that is one of the command's own inputs, or a
file of a run, is refused before any work; ``--force`` never deletes the config
it reads. Reading: configs and data must be regular files, and IDX headers are
read first, so nothing is read beyond what they promise.
"""

import gzip
import os
import shutil
import stat
import struct
import subprocess
import threading
import tracemalloc

import pytest
from conftest import DATASETS, MOONS

from mlpcli.data.loaders import read_idx
from mlpcli.errors import DataError

MOONS_CSV = DATASETS / "moons.csv"


@pytest.fixture
def run(mlp, write, tmp_path):
    assert mlp("train", write("c.yaml", MOONS), "--out", "run", "-q").exit_code == 0
    return tmp_path / "run"


def refused(res, *fragments):
    assert res.exit_code == 2, (res.exit_code, res.stderr)
    assert "Traceback" not in res.stderr
    for fragment in fragments:
        assert fragment in res.stderr, res.stderr


# -- --out: write into what is not ours, refuse what we read ---------------------------------


def test_predict_out_dev_null_stays_a_device(run, mlp):
    res = mlp("predict", run, "--data", MOONS_CSV, "--out", "/dev/null", "-q")
    assert res.exit_code == 0, res.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_predict_out_fifo_is_written_through_to_its_reader(run, mlp, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    res = mlp("predict", run, "--data", MOONS_CSV, "--out", fifo, "-q")
    reader.join(timeout=30)
    assert res.exit_code == 0, res.stderr
    assert received and received[0].startswith("prediction,p_0,p_1\n")
    assert len(received[0].splitlines()) == 501
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_predict_out_symlink_writes_its_target(run, mlp, tmp_path):
    (tmp_path / "link.csv").symlink_to("target.csv")
    res = mlp("predict", run, "--data", MOONS_CSV, "--out", tmp_path / "link.csv", "-q")
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "link.csv").is_symlink()
    assert (tmp_path / "target.csv").read_text().startswith("prediction,")


@pytest.mark.parametrize(
    "target,message",
    [
        ("data.csv", "which this command reads"),
        ("alias.csv", "which this command reads"),  # a symlink to the data
        ("run/model.safetensors", "which this command reads"),
        ("run/state.safetensors", "is a file of the run"),
        ("run/config.yaml", "is a file of the run"),
        ("run", "is a directory"),
        ("missing/out.csv", "no such directory"),
    ],
)
def test_predict_out_never_overwrites_an_input_or_a_run(target, message, run, mlp, tmp_path):
    shutil.copy(MOONS_CSV, tmp_path / "data.csv")
    (tmp_path / "alias.csv").symlink_to("data.csv")
    before = {p: p.read_bytes() for p in [tmp_path / "data.csv", *run.iterdir()] if p.is_file()}
    res = mlp("predict", run, "--data", tmp_path / "data.csv", "--out", tmp_path / target)
    refused(res, message)
    assert {p: p.read_bytes() for p in before} == before


def test_graph_and_plot_out_follow_the_same_rules(run, mlp, write, tmp_path):
    # The pictures of mlp graph and mlp plot are --out files like predict's: a symlink
    # writes its target, a FIFO is written through, an input or a run file is refused.
    config = write("g.dot", MOONS)  # a config with a picture's suffix
    refused(mlp("graph", config, "--out", config, "-q"), "which this command reads")
    assert config.read_text() == MOONS
    (tmp_path / "link.dot").symlink_to("target.dot")
    assert mlp("graph", config, "--out", tmp_path / "link.dot", "-q").exit_code == 0
    assert (tmp_path / "link.dot").is_symlink()
    assert (tmp_path / "target.dot").read_text().startswith("digraph")
    fifo = tmp_path / "pipe.dot"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    assert mlp("graph", config, "--out", fifo, "-q").exit_code == 0
    reader.join(timeout=30)
    assert received and received[0].startswith("digraph") and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    before = {p: p.read_bytes() for p in run.iterdir() if p.is_file()}
    (tmp_path / "cfg.png").symlink_to(run / "config.yaml")
    refused(mlp("plot", run, "--out", tmp_path / "cfg.png"), "is a file of the run")
    shutil.copy(MOONS_CSV, tmp_path / "data.png")
    refused(mlp("plot", run, "--confusion", "--data", tmp_path / "data.png", "--out",
                tmp_path / "data.png"), "which this command reads")  # fmt: skip
    assert {p: p.read_bytes() for p in before} == before
    (tmp_path / "pic.png").symlink_to("drawn.png")
    assert mlp("plot", run, "--out", tmp_path / "pic.png", "-q").exit_code == 0
    assert (tmp_path / "drawn.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_force_never_deletes_the_config_it_reads(mlp, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("# my notes, kept\n" + MOONS)
    monkeypatch.chdir(tmp_path)
    res = mlp("train", "config.yaml", "--out", ".", "--force")
    refused(res, "config.yaml is", "which this run reads")
    assert config.read_text().startswith("# my notes, kept")


def test_train_force_never_deletes_the_data_it_reads(mlp, write, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(MOONS_CSV, out / "metrics.csv")  # data that happens to sit where a run writes
    path = write("c.yaml", MOONS.replace("{generator: moons, n_samples: 120, noise: 0.15}",
                                         "out/metrics.csv"))  # fmt: skip
    res = mlp("train", path, "--out", out, "--force")
    refused(res, "metrics.csv is", "which this run reads")
    assert (out / "metrics.csv").read_bytes() == MOONS_CSV.read_bytes()


# -- configs and data must be regular files --------------------------------------------------


def _mlp_subprocess(*args, cwd):
    """The installed command, with a deadline: a FIFO read by mistake would block forever."""
    return subprocess.run([shutil.which("mlp"), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "fifo"])
def test_a_config_that_is_not_a_regular_file_is_refused(special, tmp_path):
    if special == "fifo":
        os.mkfifo(tmp_path / "c.yaml")
    else:
        (tmp_path / "c.yaml").symlink_to(special)
    res = _mlp_subprocess("train", "c.yaml", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    kind = "a FIFO" if special == "fifo" else "a character device"
    assert f"c.yaml: is {kind}" in res.stderr and "not a config file" in res.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_data_that_is_not_a_regular_file_is_refused(special, tmp_path, run):
    data = tmp_path / "d.csv"
    if special == "fifo":
        os.mkfifo(data)
    else:
        data.symlink_to(special)
    (tmp_path / "t.yaml").write_text(
        MOONS.replace("{generator: moons, n_samples: 120, noise: 0.15}", "d.csv")
    )
    for args in (["train", "t.yaml", "--out", "new"], ["predict", run, "--data", data],
                 ["eval", run, "--data", data]):  # fmt: skip
        res = _mlp_subprocess(*args, cwd=tmp_path)
        assert res.returncode == 2 and "Traceback" not in res.stderr, (args, res.stderr)
        assert "is a " in res.stderr and "not a data file" in res.stderr, res.stderr
        assert "is a directory" not in res.stderr
    assert not (tmp_path / "new").exists()


# -- IDX: the header first, never more than it promises ----------------------------------------


def _idx_header(dtype_code, *dims):
    return bytes([0, 0, dtype_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)


def test_an_idx_gzip_bomb_is_refused_after_reading_what_its_header_promises(tmp_path):
    path = tmp_path / "bomb-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(_idx_header(0x08, 1000, 28, 28))  # promises 784 000 bytes...
        for _ in range(64):
            f.write(bytes(2**22))  # ...and holds 256 MiB
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"promises shape .1000, 28, 28.* has more"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, peak  # the promise (0.75 MiB) plus a read chunk, not 256 MiB


@pytest.mark.parametrize(
    "content,message",
    [
        (_idx_header(0x08, 2**32 - 1, 2**32 - 1, 2**32 - 1) + bytes(16), "IDX header promises"),
        (_idx_header(0x0D, 10, 10) + bytes(7), "IDX header promises"),  # float32: 400 bytes
        (_idx_header(0x08, 3), "IDX header promises"),  # no body at all
        (bytes([0, 0, 8, 5]) + bytes(8), "truncated IDX header"),
        (bytes([0, 0, 0x42, 1]) + bytes(8), "bad magic number"),
    ],
    ids=["dimensions overflow int64", "short float body", "empty body", "short header", "type"],
)
def test_lying_idx_headers_are_refused(content, message, tmp_path):
    for name, data in (("raw-idx1-ubyte", content), ("z-idx1-ubyte.gz", gzip.compress(content))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError, match=message):
            read_idx(tmp_path / name)


# -- found by review: more members of the same classes ----------------------------------------


def test_a_users_hidden_tmp_file_survives_a_run_into_its_directory(mlp, write, tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / ".notes.tmp").write_text("mine")
    (tmp_path / "proj" / ".model.safetensors.123.tmp").write_bytes(b"left by a killed run")
    assert mlp("train", write("c.yaml", MOONS), "--out", tmp_path / "proj", "-q").exit_code == 0
    assert (tmp_path / "proj" / ".notes.tmp").read_text() == "mine"
    assert not (tmp_path / "proj" / ".model.safetensors.123.tmp").exists()


@pytest.mark.parametrize("name", [".lock", "config.yaml", "summary.json"])
def test_out_never_overwrites_a_run_that_has_only_started(name, run, mlp, tmp_path):
    started = tmp_path / "started"
    started.mkdir()
    (started / ".lock").write_text("4242\n")  # a run before its first checkpoint
    res = mlp("predict", run, "--data", MOONS_CSV, "--out", started / name)
    refused(res, "is a file of the run")
    assert (started / ".lock").read_text() == "4242\n"


def test_a_lock_that_is_a_symlink_is_refused_and_its_target_kept(mlp, write, tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / ".lock").symlink_to(tmp_path / "precious.txt")
    res = mlp("train", write("c.yaml", MOONS), "--out", tmp_path / "r")
    refused(res, ".lock: cannot use it as")
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("target", ["nowhere", "loop"])
def test_out_that_is_a_broken_symlink_is_one_line(target, mlp, write, tmp_path):
    link = tmp_path / "out"
    link.symlink_to(tmp_path / ("out" if target == "loop" else "nowhere"))
    refused(mlp("train", write("c.yaml", MOONS), "--out", link), "is a symlink to nothing")


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_run_files_that_are_not_regular_files_never_hang_or_flood(special, run, tmp_path):
    summary, model = run / "summary.json", run / "model.safetensors"
    for victim in (summary, model):
        victim.unlink()
        if special == "fifo":
            os.mkfifo(victim)
        else:
            victim.symlink_to(special)
    res = _mlp_subprocess("eval", run, "--data", MOONS_CSV, cwd=tmp_path)
    assert res.returncode == 2 and "is a " in res.stderr and "not a model file" in res.stderr
    res = _mlp_subprocess("train", "--resume", run, "--set", "train.epochs=7", cwd=tmp_path)
    assert res.returncode == 0, res.stderr  # the summary is only a record: resume goes on


def test_a_model_file_with_trailing_bytes_is_refused_before_it_is_read(run, mlp, tmp_path):
    model = run / "model.safetensors"
    model.write_bytes(model.read_bytes() + bytes(2**20))
    res = mlp("eval", run, "--data", MOONS_CSV)
    refused(res, "bytes after the last tensor")
    res = mlp("train", run / "config.yaml", "--out", tmp_path / "new", "--init-from", run)
    refused(res, "bytes after the last tensor")
