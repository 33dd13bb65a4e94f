"""The config reference: every key, its default and what it does, generated from the schema.

README.md's "Every key and its default" table is this module's output
(``python -m mlpcli.config.reference``), and a test regenerates it and
compares, so the documented defaults are the schema's and cannot drift. A
key the schema gains without a line in :data:`MEANING` fails that test too.

Keys whose value picks one of several sections (a data source, a basis, a
learning-rate schedule, an optimizer, an initializer) get one row per
choice, listing that choice's parameters with their defaults: those come
from the constructors the sections are generated from.
"""

from __future__ import annotations

import json
import sys
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from mlpcli.config.schema import Config

#: One line per key: what it means. Keys are dotted paths as a config writes them.
MEANING: dict[str, str] = {
    "seed": "one seed for the splits, initial weights, generators, shuffling and dropout",
    "dtype": "float32 or float64 (gradient checks always run in float64)",
    "data.train": "the training data: a CSV/NPZ path (relative to the config), "
    "{path: ...}, {images: ..., labels: ...} (IDX) or {generator: NAME, ...}",
    "data.validation": "another source for validation, instead of validation_split "
    "(the forms of data.train)",
    "data.validation_split": "fraction of the training rows held out for validation "
    "(stratified for classification)",
    "data.test": "another source for the test set, instead of test_split (the forms of data.train)",
    "data.test_split": "fraction held out for testing, before validation_split",
    "data.target": "CSV target column(s); default the last column",
    "data.features": "CSV feature columns; default every other column",
    "data.task": "classification or regression; default regression for squared_error",
    "data.standardize": "(x − mean) / std per input column, fitted on the training split",
    "data.standardize_target": "regression: train on (t − mean) / std, report in the target's "
    "units; null means true for regression with an identity output",
    "data.categorical": "CSV columns read as categories (one-hot), each with "
    "{unknown: error or zeros}; text columns are categorical without being named",
    "data.missing": "fill empty and NaN cells, fitted on the training split; null refuses them",
    "data.missing.strategy": "mean, median, most_frequent or constant (text columns: the "
    "most frequent category with most_frequent, else no category)",
    "data.missing.indicator": "add a 0/1 column per column that had missing training values",
    "data.missing.fill_value": "the value for strategy constant",
    "data.class_weight": "balanced (n / (K · n_k)) or {label: weight}; scaled to mean 1 over "
    "the training rows",
    "model.hidden": "hidden layer sizes; [] is the perceptron, 64 means [64]",
    "model.activation": "identity relu leaky_relu sigmoid tanh softplus, or one per hidden layer",
    "model.output_activation": "identity; squared_error may use sigmoid or tanh",
    "model.init": "initial weights: he, xavier, zeros, or {name: normal, std: ...}",
    "model.features": "fixed basis functions φ(x) before the first layer",
    "model.dropout": "rate of hidden units dropped in training, or one rate per hidden layer",
    "loss": "squared_error, binary_cross_entropy, hinge or cross_entropy",
    "regularizer.type": "none, l1, l2 or elastic; added to E as (λ/N) Ω(w)",
    "regularizer.lambda": "λ for l1 and l2",
    "regularizer.lambda_l1": "λ of the L1 term, for elastic",
    "regularizer.lambda_l2": "λ of the L2 term, for elastic",
    "regularizer.include_bias": "penalize the biases too",
    "train.epochs": "passes over the training set",
    "train.batch.mode": "batch, stochastic or minibatch",
    "train.batch.size": "examples per step, for minibatch (default 32)",
    "train.batch.growth": "grow the minibatch during training",
    "train.batch.growth.factor": "multiply the batch size by this...",
    "train.batch.growth.every": "...every this many epochs...",
    "train.batch.growth.max": "...up to this size (default: the training set)",
    "train.lr": "the learning rate η, or a schedule (each with an optional linear warmup)",
    "train.lr_scale": "one multiplier per layer: W_i and b_i step at η · lr_scale[i]",
    "train.optimizer": "the optimizer and its parameters",
    "train.clip_norm": "scale the whole gradient down to this norm when it is larger",
    "train.shuffle": "reshuffle the training rows every epoch, from the seed",
    "train.early_stopping": "stop when the validation metric stops improving",
    "train.early_stopping.metric": "val_loss, val_accuracy or val_mse",
    "train.early_stopping.patience": "epochs without improvement before stopping",
    "train.early_stopping.min_delta": "smaller changes do not count as improvement",
    "train.early_stopping.restore_best": "end with the best epoch's weights",
    "train.checkpoint_seconds": "save model and state at most this often (0: every epoch)",
}


def _show(value: Any) -> str:
    """A default as YAML writes it: null, true, [], 0.1, relu."""
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    if isinstance(value, str):
        return value
    return json.dumps(value).replace('"', "")


def _options(tp: Any) -> list[Any]:
    """The alternatives of a type, Optional and Annotated unwrapped."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _options(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [o for arg in get_args(tp) if arg is not type(None) for o in _options(arg)]
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _choice(model: type[BaseModel]) -> tuple[str, list[str]]:
    """('schedule: step', ['initial (required)', 'factor: 0.5', ...]) of one union member."""
    tag, params = "", []
    for name, f in model.model_fields.items():
        key = f.alias or name
        if get_origin(f.annotation) is Literal and len(get_args(f.annotation)) == 1:
            tag = f"{key}: {get_args(f.annotation)[0]}"
        else:
            params.append(f"{key}: {_show(f.default)}")
    return tag, params


def rows(model: type[BaseModel] = Config, prefix: str = "") -> list[tuple[str, str, str]]:
    """(key, default, meaning) for every key of ``model`` and of its sections."""
    out: list[tuple[str, str, str]] = []
    shown: set[tuple] = set()
    _rows(model, prefix, out, shown)
    return out


def _rows(model: type[BaseModel], prefix: str, out: list, shown: set) -> None:
    for name, f in model.model_fields.items():
        key = prefix + (f.alias or name)
        options = _options(f.annotation)
        section = options[0] if len(options) == 1 and _is_model(options[0]) else None
        choices = [o for o in options if _is_model(o) and _choice(o)[0]]
        if section is not None and not choices and key not in MEANING:  # data:, train.batch:
            _rows(section, key + ".", out, shown)
            continue
        out.append((key, _show(f.default), MEANING[key]))
        if choices and tuple(choices) not in shown:  # one row per choice, with its parameters
            shown.add(tuple(choices))
            for m in choices:
                tag, params = _choice(m)
                out.append((f"{key} `{{{tag}}}`", "", ", ".join(params) or "no parameters"))
        elif section is not None and not choices:  # an optional section: its keys
            _rows(section, key + ".", out, shown)


def markdown() -> str:
    """The README table."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, default, meaning in rows():
        shown = key if "`" in key else f"`{key}`"
        lines.append(f"| {shown} | {f'`{default}`' if default else ''} | {meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
