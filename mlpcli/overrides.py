"""What a run's ``--set`` overrides say about it: a directory name, and the values they set.

A sweep is a set of runs of one config that differ in a few overrides, so
the overrides name each run (``runs/digits-mlp/hidden=64-64,lr=0.05``) and
``summary.json`` records them with the value each field took once resolved
(``--set train.lr=0.05`` resolves to ``{schedule: constant, initial: 0.05}``).

Run names are:

- **stable**: the same overrides give the same name, in any order (they are
  sorted by key; a key given twice counts once, with its last value);
- **short**: each key is shown by the shortest dotted suffix that tells it
  apart from the others (:func:`short_keys`: ``train.lr`` → ``lr``,
  ``train.batch.size`` → ``batch.size``); values in a compact form
  (``[64, 64]`` → ``64-64``, ``{schedule: step, initial: 0.1}`` →
  ``schedule_step+initial_0.1``);
- **filesystem- and shell-safe**: only ``A-Z a-z 0-9 . _ , = + -``; any other
  character becomes ``_``, and then, as when the name would pass
  :data:`MAX_LENGTH` characters, a hash of the exact overrides is appended
  (``_`` and 8 hex digits) so that two different sets cannot share a name.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Sequence
from typing import Any

from mlpcli.config import Config, parse_yaml, value_at
from mlpcli.errors import ConfigError

#: The longest run name made from overrides (file systems allow 255 bytes).
MAX_LENGTH = 100
#: A name for a run without overrides.
NO_OVERRIDES = "defaults"
_UNSAFE = re.compile(r"[^A-Za-z0-9._,=+-]")


def parse(assignment: str) -> tuple[str, Any]:
    """``"a.b=value"`` -> ``("a.b", value)``, the value read as YAML (as ``--set`` does)."""
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. train.epochs=20")
    value, _ = parse_yaml(text, f"--set {key}")
    return key.strip(), value


def effective(overrides: Sequence[str]) -> dict[str, Any]:
    """{key: value} of the overrides, sorted by key, the last one winning for a repeated key."""
    parsed = dict(parse(a) for a in overrides)
    return {k: parsed[k] for k in sorted(parsed)}


def run_name(overrides: Sequence[str]) -> str:
    """The directory name of a run made with these overrides (see the module docstring)."""
    values = effective(overrides)
    if not values:
        return NO_OVERRIDES
    labels = short_keys(list(values))
    name = ",".join(f"{labels[k]}={compact(v)}" for k, v in values.items())
    safe = _UNSAFE.sub("_", name)
    if safe == name and len(name) <= MAX_LENGTH:
        return name
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:8]
    return f"{safe[: MAX_LENGTH - 9]}_{digest}"


def short_keys(keys: Sequence[str], reserved: Collection[str] = ()) -> dict[str, str]:
    """Each dotted key's shortest suffix unique among ``keys`` and not in ``reserved``.

    One part for keys of two (``train.lr`` → ``lr``), two for deeper ones
    (``train.lr.initial`` → ``lr.initial``, ``train.batch.size`` → ``batch.size``),
    more as needed, never a bare list index (``model.hidden.0`` → ``hidden.0``).
    """
    parts = {k: k.split(".") for k in keys}

    def suffix(k: str, n: int) -> str:
        p = parts[k]
        n = min(max(n, 2 if len(p) >= 3 else 1), len(p))
        while n < len(p) and p[-n].isdigit():  # "0" alone says nothing: hidden.0
            n += 1
        return ".".join(p[-n:])

    out = {}
    for k in keys:
        n = 1
        while n < len(parts[k]) and (
            suffix(k, n) in reserved or any(suffix(k, n) == suffix(o, n) for o in keys if o != k)
        ):
            n += 1
        out[k] = suffix(k, n)
    return out


def compact(value: Any) -> str:
    """A value in few characters: lists joined by ``-``, mappings as ``k_v`` joined by ``+``."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "-".join(compact(v) for v in value) or "none"
    if isinstance(value, dict):
        return "+".join(f"{k}_{compact(v)}" for k, v in value.items())
    return str(value)


def resolved_values(config: Config, overrides: Sequence[str]) -> dict[str, Any]:
    """{key: the value the resolved config holds at each overridden key}.

    ``--set train.lr=0.05`` gives ``{"train.lr": {"schedule": "constant", "initial": 0.05}}``.
    """
    tree = config.model_dump(mode="json", by_alias=True)
    return {key: value_at(tree, key) for key in effective(overrides)}
