"""Model and training-state files: safetensors only, written atomically, read defensively.

``model.safetensors`` (DESIGN §4) holds ``layers.{i}.weight`` (out, in) and
``layers.{i}.bias`` (out,), ``input.mean`` / ``input.std`` when inputs are
standardized and ``features.*`` for basis functions, with string metadata
``format`` = ``mlpcli/1``, ``config`` (the resolved config as JSON),
``classes`` (JSON list) and ``n_inputs``. ``state.safetensors`` holds what a
resumed run needs: current and best parameters, optimizer buffers, the
running outputs of an unfinished epoch, and the :class:`~mlpcli.train.TrainState`
as JSON metadata.

Every file goes to a temporary file in the same directory, is flushed and
fsynced, then renamed over the target (``os.replace`` is atomic on POSIX),
so a reader sees the old file or the new one, never half of one. Files are
checked before they are parsed: a pickle, a truncated file or a header that
lies about its length is refused with a message, and nothing in a file is
ever executed.
"""

from __future__ import annotations

import ctypes
import json
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from mlpcli.config import Config, config_from_json, to_json
from mlpcli.errors import ModelFileError
from mlpcli.experiment import build_model
from mlpcli.nn.features import FEATURES, Standardizer
from mlpcli.nn.losses import LOSSES
from mlpcli.nn.model import MLP

MODEL_FORMAT = "mlpcli/1"
STATE_FORMAT = "mlpcli-state/1"
#: Larger safetensors headers are refused (the real ones are a few kB).
MAX_HEADER_BYTES = 16 * 1024 * 1024
_DTYPES = {
    "F16",
    "F32",
    "F64",
    "I8",
    "I16",
    "I32",
    "I64",
    "U8",
    "U16",
    "U32",
    "U64",
    "BOOL",
    "BF16",
}


# -- atomic writes ------------------------------------------------------------------


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` always holds a complete file.

    The bytes go to a temporary file in the same directory, are fsynced, and the
    file is renamed over ``path`` (atomic on POSIX). On Linux the temporary file
    is anonymous (``O_TMPFILE``) until it is complete, so a process killed while
    writing leaves no partial file at all; elsewhere a killed writer may leave a
    ``.name.*.tmp`` file, removed by :func:`remove_stale_temporaries`.
    """
    path = Path(path)
    if _write_anonymous_then_link(path, data):
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _replace(tmp: Path | str, path: Path) -> None:
    """os.replace, but a failure names the user's file, not our temporary one."""
    try:
        os.replace(tmp, path)
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None


_AT_FDCWD, _AT_SYMLINK_FOLLOW = -100, 0x400


def _linkat():
    """libc's linkat, which can give an O_TMPFILE file a name (os.link cannot), or None."""
    if not hasattr(os, "O_TMPFILE"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).linkat
    except (OSError, AttributeError):
        return None


_LINKAT = _linkat()


def _write_anonymous_then_link(path: Path, data: bytes) -> bool:
    """The O_TMPFILE route of :func:`atomic_write`; False when the system does not offer it."""
    if _LINKAT is None:
        return False
    try:
        fd = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o644)
    except OSError:  # file system without O_TMPFILE
        return False
    try:
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
            f.flush()
            os.fsync(fd)
        tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        source = f"/proc/self/fd/{fd}".encode()
        if _LINKAT(_AT_FDCWD, source, _AT_FDCWD, os.fsencode(tmp), _AT_SYMLINK_FOLLOW) != 0:
            return False  # e.g. no /proc: fall back to a named temporary file
        try:
            _replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    finally:
        os.close(fd)
    _fsync_dir(path.parent)
    return True


def _fsync_dir(directory: Path) -> None:
    # The rename itself is durable only once the directory entry is on disk.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(directory: Path) -> None:
    """Delete temporary files a killed writer left behind (``.name.xxxx.tmp``)."""
    for tmp in Path(directory).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


# -- reading safetensors defensively -----------------------------------------------


def read_safetensors(
    path: Path, what: str = "model"
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors, metadata) of a safetensors file, after checking its structure by hand."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such file")
    if not path.is_file():
        raise ModelFileError(f"{path}: is a directory, not a {what} file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        (header_len,) = struct.unpack("<Q", head) if len(head) == 8 else (None,)
        plausible = header_len is not None and 2 <= header_len <= min(size - 8, MAX_HEADER_BYTES)
        header_bytes = f.read(header_len) if plausible else b""
    if not header_bytes.startswith(b"{"):
        raise ModelFileError(f"{path}: {_not_safetensors(head, header_len, size)}")
    try:
        header = json.loads(header_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{path}: corrupt safetensors header (not JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: corrupt safetensors header")
    metadata = header.pop("__metadata__", None) or {}
    end = 0
    for name, info in header.items():
        ok = (
            isinstance(info, dict)
            and info.get("dtype") in _DTYPES
            and isinstance(info.get("shape"), list)
            and isinstance(info.get("data_offsets"), list)
            and len(info["data_offsets"]) == 2
            and all(isinstance(o, int) and o >= 0 for o in info["data_offsets"])
        )
        if not ok:
            raise ModelFileError(f"{path}: corrupt safetensors entry for tensor {name!r}")
        end = max(end, info["data_offsets"][1])
    if 8 + header_len + end > size:
        raise ModelFileError(
            f"{path}: truncated: tensors need {8 + header_len + end} bytes, the file has {size}"
        )
    try:
        tensors = st_load(path.read_bytes())
    except Exception as e:  # safetensors raises its own error types for malformed files
        raise ModelFileError(f"{path}: corrupt safetensors file ({e})") from None
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{path}: corrupt metadata")
    return tensors, metadata


def _not_safetensors(head: bytes, header_len: int | None, size: int) -> str:
    """Why a file that does not parse as safetensors was refused, as precisely as we can tell."""
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        kind = "a Python pickle"
    elif head[:2] == b"PK":
        kind = "a zip archive (.npz or a PyTorch .pt file)"
    else:
        kind = None
    if kind:
        return (
            f"is {kind}, not safetensors; refusing to load it "
            "(mlpcli reads only safetensors, which cannot carry code)"
        )
    if header_len is None:
        return f"truncated ({size} bytes): not a safetensors file"
    if header_len > size - 8:
        return f"truncated or corrupt: header claims {header_len} bytes but the file has {size}"
    if header_len > MAX_HEADER_BYTES:
        return f"header of {header_len} bytes is larger than any model's: refusing it"
    return "not a safetensors file (its header is not JSON)"


# -- the model file ----------------------------------------------------------------------


def model_tensors(model: MLP, params: list[np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The tensors of DESIGN §4 for ``model`` (optionally with other parameter values)."""
    values = params if params is not None else [p.value for p in model.parameters()]
    out = {p.name: np.ascontiguousarray(v) for p, v in zip(model.parameters(), values)}
    if model.standardizer is not None:
        out["input.mean"] = model.standardizer.mean
        out["input.std"] = model.standardizer.std
    if model.basis is not None:
        for key, value in model.basis.state().items():
            out[f"features.{key}"] = np.ascontiguousarray(value)
    return out


@dataclass
class SavedModel:
    """A network with what it needs to read new data: config, classes, column names."""

    model: MLP
    config: Config
    classes: np.ndarray | None
    feature_names: list[str]
    target_names: list[str]
    path: Path | None = None


def model_bytes(saved: SavedModel, params: list[np.ndarray] | None = None) -> bytes:
    metadata = {
        "format": MODEL_FORMAT,
        "config": to_json(saved.config),
        "classes": json.dumps([] if saved.classes is None else saved.classes.tolist()),
        "n_inputs": str(saved.model.n_inputs),
        "features": json.dumps(saved.feature_names),
        "targets": json.dumps(saved.target_names),
    }
    return st_save(model_tensors(saved.model, params), metadata=metadata)


def save_model(path: Path, saved: SavedModel, params: list[np.ndarray] | None = None) -> None:
    atomic_write(path, model_bytes(saved, params))


def load_model(path: str | Path) -> SavedModel:
    """Rebuild the network saved in ``path`` (a model file or a run directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.safetensors"
    tensors, meta = read_safetensors(path)
    if meta.get("format") != MODEL_FORMAT:
        raise ModelFileError(
            f"{path}: not an mlpcli model (format {meta.get('format')!r}, "
            f"expected {MODEL_FORMAT!r})"
        )
    try:
        return _rebuild(path, tensors, meta)
    except (KeyError, IndexError, ValueError, TypeError) as e:
        # A well-formed file whose parts disagree: crafted, or edited by hand.
        raise ModelFileError(f"{path}: tensors and metadata do not fit together ({e!r})") from None


def _rebuild(path: Path, tensors: dict[str, np.ndarray], meta: dict[str, str]) -> SavedModel:
    config = config_from_json(meta.get("config", ""), str(path))
    try:
        classes_list = json.loads(meta.get("classes", "[]"))
        n_inputs = int(meta.get("n_inputs", ""))
        features = json.loads(meta.get("features", "null")) or [f"x{i}" for i in range(n_inputs)]
        targets = json.loads(meta.get("targets", "null")) or ["y"]
    except (json.JSONDecodeError, ValueError, TypeError):
        raise ModelFileError(f"{path}: corrupt metadata (classes, features or n_inputs)") from None
    if not isinstance(classes_list, list) or len(features) != n_inputs:
        raise ModelFileError(f"{path}: corrupt metadata (classes or feature names)")
    classes = np.array(classes_list) if classes_list else None

    standardizer = None
    if "input.mean" in tensors or "input.std" in tensors:
        mean, std = tensors.get("input.mean"), tensors.get("input.std")
        if mean is None or std is None or mean.shape != (n_inputs,) or std.shape != (n_inputs,):
            raise ModelFileError(
                f"{path}: input.mean and input.std must both have shape ({n_inputs},)"
            )
        standardizer = Standardizer(mean, std)
    basis = None
    if config.model.features is not None:
        spec = config.model.features
        state = {k[len("features.") :]: v for k, v in tensors.items() if k.startswith("features.")}
        try:
            basis = FEATURES[spec.type].from_state(state, **spec.model_dump(exclude={"type"}))
        except (KeyError, ValueError, IndexError) as e:
            raise ModelFileError(
                f"{path}: basis-function tensors do not fit the config ({e})"
            ) from None
    last_name = f"layers.{len(config.model.hidden)}.weight"
    if last_name not in tensors or tensors[last_name].ndim != 2:
        raise ModelFileError(
            f"{path}: the file is for a different architecture (no 2-D {last_name})"
        )
    n_outputs = tensors[last_name].shape[0]
    if config.data.task == "classification":
        loss = LOSSES[config.loss]()
        if classes is None or loss.n_outputs(len(classes)) != n_outputs:
            raise ModelFileError(
                f"{path}: {0 if classes is None else len(classes)} classes in the metadata "
                f"do not fit {n_outputs} outputs"
            )
    model = build_model(config, n_inputs, n_outputs, standardizer, basis)
    load_parameters(model, tensors, str(path))
    return SavedModel(model, config, classes, features, targets, path)


def load_parameters(model: MLP, tensors: dict[str, np.ndarray], source: str) -> None:
    """Copy ``layers.*`` tensors into ``model``; every name and shape must match."""
    expected = {p.name: p for p in model.parameters()}
    given = {k for k in tensors if k.startswith("layers.")}
    missing, extra = sorted(set(expected) - given), sorted(given - set(expected))
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(extra)}"] if extra else []
        )
        raise ModelFileError(
            f"{source}: the file is for a different architecture ({'; '.join(parts)})"
        )
    for name, p in expected.items():
        t = tensors[name]
        if t.shape != p.value.shape:
            raise ModelFileError(
                f"{source}: tensor {name} has shape {tuple(t.shape)}, "
                f"but this network's is {p.value.shape}"
            )
        if not np.isfinite(t).all():
            raise ModelFileError(f"{source}: tensor {name} holds NaN or infinite values")
        p.value[...] = t


# -- the training-state file -----------------------------------------------------------------


def save_state(path: Path, state: dict, arrays: dict[str, np.ndarray], fingerprint: str) -> None:
    metadata = {"format": STATE_FORMAT, "fingerprint": fingerprint, "state": json.dumps(state)}
    tensors = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    atomic_write(path, st_save(tensors, metadata=metadata))


def load_state(path: Path) -> tuple[dict, dict[str, np.ndarray], str]:
    """(state dict, arrays, config fingerprint) from a state file."""
    tensors, meta = read_safetensors(path, what="state")
    if meta.get("format") != STATE_FORMAT:
        raise ModelFileError(
            f"{path}: not an mlpcli training state (format {meta.get('format')!r})"
        )
    try:
        state = json.loads(meta["state"])
    except (KeyError, json.JSONDecodeError):
        raise ModelFileError(f"{path}: corrupt training state metadata") from None
    return state, tensors, meta.get("fingerprint", "")
