"""Runs side by side: which config fields differ between them, and a run in a few words.

A sweep over η gives runs whose configs differ in ``train.lr.initial``
alone; :func:`differing_fields` finds that field, :func:`labels` turns it into
one legend entry per run (``η=0.1``), and :func:`describe`
says what the runs share (``hidden [4] tanh · binary_cross_entropy · …``),
leaving out what the labels already say. Pure functions of resolved configs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any

from mlpcli.config import Config
from mlpcli.config.compare import comparable, value_at
from mlpcli.config.compare import differing_fields as fields_that_differ
from mlpcli.overrides import short_keys

#: Fields a label names by the lecture's symbol rather than by their path.
SYMBOLS = {
    "train.lr.initial": "η",
    "train.optimizer.momentum": "μ",
    "regularizer.lambda": "λ",
    "regularizer.lambda_l1": "λ₁",
    "regularizer.lambda_l2": "λ₂",
}
#: Keys that say which kind a section is (its name, then other words for the same idea).
KINDS = ("name", "type", "schedule", "generator", "strategy")


def differing_fields(configs: Sequence[Config]) -> list[str]:
    """Dotted paths of the fields whose values are not the same in every config
    (``config.compare.differing_fields``, the one rule ``mlp runs`` uses too)."""
    return fields_that_differ([c.model_dump(mode="json", by_alias=True) for c in configs])


def show_value(value: Any) -> str:
    """A config value as a label shows it: a file by its name, a list in brackets."""
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return PurePath(value).name
    if isinstance(value, list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def labels(configs: Sequence[Config], names: Sequence[str]) -> list[str]:
    """One label per run: its values of the differing fields, or its name if none differ.

    Fields go by their symbol (η), else their shortest distinct name (``hidden``), a
    kind by its section (``optimizer=adam``, not ``train.optimizer.name=adam``). A
    field not set for this run (None) is left out when another field of its section
    says what the run has there (Adam's β₁ beside SGD's ``optimizer=sgd``).
    """
    fields = differing_fields(configs)
    if not fields:
        return list(names)
    short = short_keys(fields)
    trees = [comparable(c.model_dump(mode="json", by_alias=True)) for c in configs]
    sections = {  # for a field that holds a mapping: the settings that differ between them
        f: fields_that_differ([m for t in trees if isinstance(m := value_at(t, f), dict)])
        for f in fields
    }
    keys = {f: SYMBOLS.get(f) or _section_key(f) or short[f] for f in fields}
    out = []
    for tree in trees:
        values = {f: value_at(tree, f) for f in fields}
        shown = [f for f, v in values.items() if v is not None or not _sibling_set(f, values)]
        out.append(", ".join(f"{keys[f]}={_show(values[f], sections[f])}" for f in shown))
    return out


def _show(value: Any, varying: Sequence[str]) -> str:
    """A value as a label shows it; a section (a mapping where other runs have none or
    other keys) by its kind or file and the settings ``varying`` between the runs that
    set it (``polynomial, degree 3``), else ``on``."""
    if not isinstance(value, dict):
        return show_value(value)
    kind = next((k for k in (*KINDS, "path") if value.get(k) is not None), None)
    words = [show_value(value[kind])] if kind else []
    words += [f"{k} {show_value(value_at(value, k))}" for k in varying if k != kind]
    return ", ".join(words) or "on"


def _section_key(field: str) -> str | None:
    """``optimizer`` for ``train.optimizer.name``: the section a kind field names."""
    parts = field.split(".")
    return parts[-2] if len(parts) > 1 and parts[-1] in KINDS[:2] else None


def _sibling_set(field: str, values: dict[str, Any]) -> bool:
    parent = field.rpartition(".")[0]
    return any(
        f != field and f.rpartition(".")[0] == parent and v is not None for f, v in values.items()
    )


def run_name(path: str | Path) -> str:
    """A run's name: its directory's (for a model file, the directory holding it)."""
    path = Path(path).resolve()
    return (path.parent if path.is_file() else path).name


def common_name(names: Sequence[str]) -> str | None:
    """What runs named ``quadratic-1``, ``quadratic-2`` share (``quadratic``), or None."""
    stems = {re.sub(r"-\d+$", "", n) for n in names}
    return stems.pop() if len(stems) == 1 else None


def describe(config: Config, skip: Sequence[str] = (), only: Sequence[str] | None = None) -> str:
    """What a config trains, in a few words.

    ``xor.csv · hidden [4] tanh · binary_cross_entropy · η=0.5 · batch · 300 epochs``.
    Parts that depend on a field in ``skip`` are left out (a legend says
    them); with ``only``, just the parts that depend on those fields are kept.
    """
    kept = [
        words
        for prefixes, words in _parts(config)
        if not any(_under(f, prefixes) for f in skip)
        and (only is None or any(_under(f, prefixes) for f in only))
    ]
    return " · ".join(kept)


def _under(field: str, prefixes: tuple[str, ...]) -> bool:
    return any(field == p or field.startswith(p + ".") for p in prefixes)


def source_name(source: Any) -> str:
    """A data source in a word: its file name, or the generator's name."""
    if source is None:
        return "none"
    for key in ("path", "images"):
        if getattr(source, key, None):
            return PurePath(getattr(source, key)).name
    return f"{getattr(source, 'generator', 'data')} generator"


def _parts(c: Config) -> list[tuple[tuple[str, ...], str]]:
    """(the field prefixes a part depends on, its words), in reading order."""
    parts: list[tuple[tuple[str, ...], str]] = [(("data.train",), source_name(c.data.train))]
    model = c.model
    net = "perceptron" if not model.hidden else f"hidden {show_value(model.hidden)}"
    activations = sorted(set(model.activation)) if isinstance(model.activation, list) else []
    if model.hidden and activations:
        net += " " + "/".join(activations)
    if model.output_activation != "identity":
        net += f" → {model.output_activation}"
    parts.append((("model.hidden", "model.activation", "model.output_activation"), net))
    dropout = model.dropout if isinstance(model.dropout, list) else [model.dropout]
    if any(dropout):
        rates = show_value(dropout[0] if len(set(dropout)) == 1 else dropout)
        parts.append((("model.dropout",), f"dropout {rates}"))
    if model.features is not None:
        spec = model.features.model_dump(exclude_none=True)
        kind = spec.pop("type", "features")
        args = ", ".join(
            (k if v else f"no {k}") if isinstance(v, bool) else f"{k} {show_value(v)}"
            for k, v in spec.items()
        )
        parts.append((("model.features",), f"φ {kind}" + (f" ({args})" if args else "")))
    parts.append((("loss",), c.loss))
    if c.data.class_weight is not None:
        balanced = c.data.class_weight == "balanced"
        parts.append((("data.class_weight",), "balanced " * balanced + "class weights"))
    lams = c.regularizer.model_dump(mode="json", by_alias=True, exclude_none=True)
    lams = {SYMBOLS[f"regularizer.{k}"]: v for k, v in lams.items() if k.startswith("lambda")}
    words = c.regularizer.type + " " + ", ".join(f"{k}={v:g}" for k, v in lams.items())
    parts.append((("regularizer",), "no regularizer" if c.regularizer.type == "none" else words))
    parts.append((("train.lr",), _learning_rate(c)))
    optimizer = _optimizer(c)
    if optimizer:
        parts.append((("train.optimizer",), optimizer))
    if c.train.lr_scale is not None:
        parts.append((("train.lr_scale",), f"η × {show_value(c.train.lr_scale)}"))
    if c.train.clip_norm is not None:
        parts.append((("train.clip_norm",), f"clip ‖g‖ ≤ {c.train.clip_norm:g}"))
    batch = c.train.batch
    parts.append((("train.batch",), batch.mode + (f" {batch.size}" if batch.size else "")))
    parts.append((("train.epochs",), f"{c.train.epochs} epoch{'' if c.train.epochs == 1 else 's'}"))
    return parts


def _learning_rate(config: Config) -> str:
    lr = config.train.lr
    if isinstance(lr, (int, float)):
        return f"η={lr:g}"
    spec = lr.model_dump(mode="json", exclude_none=True)
    schedule, initial = spec.pop("schedule", "constant"), spec.pop("initial", None)
    text = f"η={initial:g}" if initial is not None else "η"
    if schedule != "constant":
        text += f" {schedule} (" + ", ".join(f"{k} {show_value(v)}" for k, v in spec.items()) + ")"
    return text


def _optimizer(config: Config) -> str:
    """``adam``, ``adamw``, ``μ=0.9 nesterov``; nothing for plain SGD."""
    spec = config.train.optimizer.model_dump(mode="json")
    if spec["name"] != "sgd":
        return spec["name"]
    words = f"μ={spec['momentum']:g}" if spec.get("momentum") else ""
    return words + " nesterov" * bool(words and spec.get("nesterov"))
