"""``state.safetensors``: everything ``--resume`` needs to continue a run bit for bit.

Tensors: the current parameters (``params.*``), the best epoch's
(``best.*``, with restore_best), optimizer buffers (``optimizer.*``), the
running outputs of an unfinished epoch and the epoch history (a float64
table). Metadata: ``format`` = ``mlpcli-state/1``, the config ``fingerprint``
and the counters of :class:`~mlpcli.train.TrainState` as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mlpcli.errors import ModelFileError
from mlpcli.files.safetensors import read_safetensors, write_safetensors

STATE_FORMAT = "mlpcli-state/1"


def save_state(path: Path, state: dict, arrays: dict[str, np.ndarray], fingerprint: str) -> None:
    metadata = {"format": STATE_FORMAT, "fingerprint": fingerprint, "state": json.dumps(state)}
    write_safetensors(path, arrays, metadata)


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
