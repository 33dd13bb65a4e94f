"""Reading safetensors files defensively: the structure is checked before anything is parsed.

A pickle, a zip (``.npz``, PyTorch ``.pt``), a truncated file or a header that
lies about its length is refused with a message saying which; nothing in a
file is ever executed.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from mlpcli.errors import ModelFileError
from mlpcli.files.atomic import atomic_write
from mlpcli.paths import read_bounded, regular_file

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


def read_safetensors(
    path: Path, what: str = "model"
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors, metadata) of a safetensors file, after checking its structure by hand."""
    path = Path(path)
    size = regular_file(path, f"a {what} file", ModelFileError).st_size
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
    if 8 + header_len + end < size:  # never read what no tensor claims
        raise ModelFileError(
            f"{path}: {size - 8 - header_len - end} bytes after the last tensor: "
            "not a file mlpcli wrote"
        )
    try:
        tensors = st_load(read_bounded(path, size, ModelFileError))
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


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Save tensors (made contiguous) and string metadata to ``path``, atomically."""
    contiguous = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    atomic_write(path, st_save(contiguous, metadata=metadata))
