"""Config files: schema, safe reading, overrides, checks and resolution.

The only package that imports pydantic and yaml.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from mlpcli.config.compare import comparable, differing_fields, value_at
from mlpcli.config.loading import (
    Problems,
    apply_override,
    parse_yaml,
    read_config_file,
    read_saved_tree,
    validate,
)
from mlpcli.config.resolve import (
    check,
    cosine_ended,
    fingerprint,
    resolve,
    task_of,
    to_json,
    to_yaml,
    training_changes,
    with_values,
)
from mlpcli.config.schema import Config
from mlpcli.errors import ConfigError, ModelFileError

__all__ = [
    "Config",
    "comparable",
    "config_from_json",
    "cosine_ended",
    "differing_fields",
    "fingerprint",
    "load_config",
    "parse_yaml",
    "read_config_file",
    "read_saved_tree",
    "split_sweep",
    "task_of",
    "to_json",
    "to_yaml",
    "training_changes",
    "value_at",
    "with_values",
]


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> Config:
    """Read, override, validate, check and resolve a config file.

    Raises ConfigError with every problem found, each naming its field path
    and line (or the ``--set`` that introduced it).
    """
    path = Path(path)
    data, lines = read_config_file(path)
    data, _ = split_sweep(data)
    for assignment in overrides:
        key = apply_override(data, assignment)
        lines = {k: v for k, v in lines.items() if k[: len(key)] != key}
        lines[key] = f"--set {assignment.partition('=')[0]}"
    config = validate(data, str(path), lines)
    problems = Problems(str(path), lines)
    check(config, problems)
    problems.raise_if_any()
    return resolve(config, path.resolve().parent)


def split_sweep(data: dict) -> tuple[dict, object]:
    """(the config without its ``sweep:`` section, the section or None).

    A config may carry the sweep ``mlp sweep`` runs over it; training ignores it.
    """
    rest = {k: v for k, v in data.items() if k != "sweep"}
    return rest, data.get("sweep")


def config_from_json(text: str, source: str) -> Config:
    """A resolved config saved as JSON (model-file metadata) -> Config."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{source}: its config metadata is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ModelFileError(f"{source}: its config metadata is not a mapping")
    try:
        return validate(data, source, {})
    except ConfigError as e:  # a file mlpcli did not write, or edited since
        raise ModelFileError(f"{source}: its config metadata is invalid: {e}") from None
