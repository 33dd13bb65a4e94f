"""Checks across fields, and the resolved config: every default filled in, paths absolute.

The resolved config is what a run saves as ``config.yaml`` and in its model
file: reloading it gives the same run, from any working directory.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from mlpcli.config.loading import Problems
from mlpcli.config.schema import Config
from mlpcli.data.batching import DEFAULT_BATCH_SIZE
from mlpcli.nn.activations import BOUNDS
from mlpcli.nn.heads import HEADS
from mlpcli.nn.layers import INITIALIZERS
from mlpcli.nn.regularizers import REGULARIZERS

#: The std of ``init: normal`` when the config gives none: the initializer's own default.
DEFAULT_NORMAL_STD = inspect.signature(INITIALIZERS["normal"]).parameters["std"].default


#: ``model`` fields given once or per hidden layer; resolution stores one value per layer.
PER_LAYER = ("activation", "dropout")


def task_of(config: Config) -> str:
    """``data.task``, or regression for squared_error and classification for the other losses."""
    if config.data.task:
        return config.data.task
    return "regression" if config.loss == "squared_error" else "classification"


def check(config: Config, problems: Problems) -> None:
    """Add every cross-field problem of a schema-valid config to ``problems``."""
    for check_section in (_check_data, _check_model, _check_regularizer, _check_train):
        check_section(config, problems)


def _check_data(config: Config, problems: Problems) -> None:
    data, task, head = config.data, task_of(config), HEADS[config.loss]
    if data.test is not None and data.test_split is not None:
        problems.add(("data", "test_split"), "give data.test or data.test_split, not both")
    if data.validation is not None and data.validation_split is not None:
        problems.add(
            ("data", "validation_split"), "give data.validation or data.validation_split, not both"
        )
    if data.missing is not None and data.missing.strategy != "constant":
        if data.missing.fill_value != 0:
            problems.add(("data", "missing", "fill_value"), "only for strategy constant")
    largest = {"float32": 3.4028234663852886e38, "float64": sys.float_info.max}[config.dtype]
    if data.missing is not None and abs(data.missing.fill_value) > largest:
        problems.add(
            ("data", "missing", "fill_value"),
            f"{data.missing.fill_value:g} does not fit in {config.dtype} (largest {largest:.4g})",
        )
    for key in ("target", "features"):  # a column twice would be two identical inputs
        names = getattr(data, key)
        twice = (
            [n for i, n in enumerate(names or []) if n in names[:i]]
            if isinstance(names, list)
            else []
        )
        if twice:
            problems.add(("data", key), f"column {twice[0]!r} is given twice")
    if data.class_weight is not None and task != "classification":
        problems.add(("data", "class_weight"), f"only for classification, but the task is {task}")
    if task not in head.tasks:
        problems.add(
            ("loss",),
            f"{config.loss} is for {' or '.join(head.tasks)}, but the task is {task}; "
            "use squared_error for regression",
        )
    if data.standardize_target and task == "classification":
        problems.add(("data", "standardize_target"), "only for regression targets")
    bounds = BOUNDS.get(config.model.output_activation)
    if data.standardize_target and task == "regression" and bounds is not None:
        problems.add(
            ("data", "standardize_target"),
            f"standardized targets (mean 0, std 1) reach beyond what a "
            f"{config.model.output_activation} output can ({bounds[0]:g} to {bounds[1]:g}); "
            "use model.output_activation: identity, or turn this off",
        )


def _check_model(config: Config, problems: Problems) -> None:
    model, head = config.model, HEADS[config.loss]
    if model.output_activation not in head.output_activations:
        problems.add(
            ("model", "output_activation"),
            f"{config.loss} needs one of {', '.join(head.output_activations)} "
            f"(its own squashing is part of the loss), got {model.output_activation!r}",
        )
    if isinstance(model.activation, list) and len(model.activation) != len(model.hidden):
        problems.add(
            ("model", "activation"),
            f"{len(model.activation)} activations for {len(model.hidden)} hidden layers",
        )
    if isinstance(model.dropout, list) and len(model.dropout) != len(model.hidden):
        problems.add(
            ("model", "dropout"),
            f"{len(model.dropout)} rates for {len(model.hidden)} hidden layers",
        )
    elif not model.hidden and model.dropout:
        problems.add(("model", "dropout"), "needs hidden layers: dropout acts on hidden units")
    init = model.init
    if not isinstance(init, str) and init.std is not None and init.name != "normal":
        problems.add(("model", "init", "std"), f"only for init normal, not {init.name}")


def _check_regularizer(config: Config, problems: Problems) -> None:
    reg = config.regularizer
    needs = tuple(REGULARIZERS[reg.type])
    for key, value in regularizer_lambdas(config, all_keys=True).items():
        if key in needs and value is None:
            problems.add(("regularizer", key), f"required for type {reg.type}")
        elif key not in needs and value is not None:
            where = f"type {reg.type} takes " + (", ".join(needs) if needs else "no λ")
            problems.add(("regularizer", key), f"not used: {where}")


def regularizer_lambdas(config: Config, all_keys: bool = False) -> dict[str, float | None]:
    """The λ values of ``config.regularizer`` by their config keys: those its type takes,
    or (``all_keys``) every λ key the section has."""
    reg = config.regularizer
    given = {"lambda": reg.lam, "lambda_l1": reg.lambda_l1, "lambda_l2": reg.lambda_l2}
    return given if all_keys else {k: given[k] for k in REGULARIZERS[reg.type]}


def _check_train(config: Config, problems: Problems) -> None:
    train, batch = config.train, config.train.batch
    if batch.mode != "minibatch":
        if batch.size is not None:
            problems.add(
                ("train", "batch", "size"),
                f"only for mode minibatch (mode {batch.mode} "
                f"uses {'the whole training set' if batch.mode == 'batch' else '1'})",
            )
        if batch.growth is not None:
            problems.add(("train", "batch", "growth"), "only for mode minibatch")
    elif batch.growth is not None and batch.growth.max is not None:
        if batch.growth.max < (batch.size or DEFAULT_BATCH_SIZE):
            problems.add(("train", "batch", "growth", "max"), "must be ≥ train.batch.size")
    if getattr(train.optimizer, "nesterov", False) and train.optimizer.momentum == 0:
        problems.add(("train", "optimizer", "nesterov"), "needs momentum > 0")
    n_layers = len(config.model.hidden) + 1
    if train.lr_scale is not None and len(train.lr_scale) != n_layers:
        problems.add(
            ("train", "lr_scale"),
            f"one multiplier per layer: {n_layers} for {len(config.model.hidden)} hidden "
            f"layers, got {len(train.lr_scale)}",
        )
    _check_lr(config, problems)
    stop = train.early_stopping
    if stop is not None:
        _check_watched_metric(config, ("train", "early_stopping"), stop.metric, problems)


def _check_lr(config: Config, problems: Problems) -> None:
    lr = config.train.lr
    if isinstance(lr, (int, float)):
        return
    if lr.schedule == "cosine" and lr.period is None and lr.unit == "step":
        problems.add(("train", "lr", "period"), "required with unit step (the steps to decay over)")
    if lr.schedule == "plateau":
        _check_watched_metric(config, ("train", "lr"), lr.metric, problems)
    if lr.initial * (1 / (lr.warmup + 1)) == 0:  # int / int: no overflow for a huge warmup
        problems.add(
            ("train", "lr", "warmup" if lr.warmup else "initial"),
            f"the first step's rate η₀/(warmup + 1) = {lr.initial:g}/({_digits(lr.warmup)} + 1) "
            "rounds to 0",
        )


def _digits(n: int) -> str:
    """An integer as written, or as 1.23e+330 when it is too long to read."""
    text = str(n)
    return text if len(text) <= 12 else f"{text[0]}.{text[1:3]}e+{len(text) - 1}"


def _check_watched_metric(config: Config, where: tuple, metric: str, problems: Problems) -> None:
    """A metric watched after each epoch (early stopping, plateau) must exist for this run."""
    if not metric.startswith("val_"):
        return
    if config.data.validation is None and config.data.validation_split is None:
        problems.add(where, "needs validation data: set data.validation or data.validation_split")
    wrong = {"classification": "val_mse", "regression": "val_accuracy"}[task_of(config)]
    if metric == wrong:
        problems.add((*where, "metric"), f"{wrong} is not a {task_of(config)} metric")


def _absolute_source(source: Any, base: Path) -> Any:
    """A data source with its file paths made absolute (relative ones are from ``base``)."""
    if source is None:
        return None
    if isinstance(source, str):
        source = {"path": source}
    source = dict(source)
    for key in ("path", "images", "labels"):
        if key in source:
            source[key] = str((base / Path(source[key]).expanduser()).resolve())
    return source


def resolve(config: Config, base_dir: Path) -> Config:
    """Fill in the defaults that depend on other fields and make data paths absolute."""
    d = config.model_dump(mode="json", by_alias=True)
    d["data"]["task"] = task_of(config)
    if d["data"]["standardize_target"] is None:  # not under a bounded output (_check_data)
        d["data"]["standardize_target"] = (
            d["data"]["task"] == "regression" and config.model.output_activation not in BOUNDS
        )
    for key in ("train", "validation", "test"):
        d["data"][key] = _absolute_source(d["data"][key], base_dir)
    if isinstance(d["model"]["init"], str):
        d["model"]["init"] = {"name": d["model"]["init"]}
    if d["model"]["init"]["name"] == "normal" and d["model"]["init"]["std"] is None:
        d["model"]["init"]["std"] = DEFAULT_NORMAL_STD
    for key in PER_LAYER:  # one value for every hidden layer: repeated per layer
        if not isinstance(d["model"][key], list):
            d["model"][key] = [d["model"][key]] * len(d["model"]["hidden"])
    if isinstance(d["train"]["lr"], (int, float)):
        d["train"]["lr"] = {"schedule": "constant", "initial": d["train"]["lr"]}
    if d["train"]["lr"]["schedule"] == "cosine" and d["train"]["lr"]["period"] is None:
        d["train"]["lr"]["period"] = d["train"]["epochs"]  # unit epoch (step needs a period)
    batch = d["train"]["batch"]
    if batch["mode"] == "minibatch" and batch["size"] is None:
        batch["size"] = DEFAULT_BATCH_SIZE
    return Config.model_validate(d)


def with_values(config: Config, values: dict[str, Any]) -> Config:
    """A copy of a resolved config with fields set by dotted path: ``{"train.lr.initial": 0.1}``."""
    d = config.model_dump(mode="json", by_alias=True)
    for path, value in values.items():
        *parents, last = path.split(".")
        node = d
        for key in parents:
            node = node[key]
        node[last] = value
    return Config.model_validate(d)


def to_yaml(config: Config) -> str:
    """The config as YAML that :func:`mlpcli.config.load_config` reads back to an equal Config."""
    data = config.model_dump(mode="json", by_alias=True)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, allow_unicode=True)


def to_json(config: Config) -> str:
    return json.dumps(config.model_dump(mode="json", by_alias=True), sort_keys=True)


#: Fields that may differ between a run and its resumption: they do not change the weights.
RESUMABLE_CHANGES = {("train", "epochs"), ("train", "checkpoint_seconds")}


def flatten(d: Any, prefix: tuple = ()) -> dict[tuple, Any]:
    """{path: leaf value} of nested dicts/lists."""
    if isinstance(d, dict):
        return {k: v for key, val in d.items() for k, v in flatten(val, (*prefix, key)).items()}
    if isinstance(d, list) and d and all(isinstance(v, dict) for v in d):
        return {k: v for i, val in enumerate(d) for k, v in flatten(val, (*prefix, i)).items()}
    return {prefix: d}


def cosine_ended(config: Config, epochs: int, steps_done: int = 0) -> str | None:
    """Why training the run of ``config`` on to ``epochs`` epochs would change nothing, or
    None: a cosine schedule with η_min = 0 has η = 0 after its period (in epochs: beyond
    epoch ``period``, which defaults to the run's first ``train.epochs``; in steps: once
    ``steps_done`` reached ``period``)."""
    lr = config.train.lr
    if lr.schedule != "cosine" or lr.eta_min > 0:
        return None
    if lr.unit == "epoch" and epochs > lr.period:
        hint = f"train a new run with train.epochs: {epochs} (the period defaults to it)"
    elif lr.unit == "step" and steps_done >= lr.period:
        hint = "train a new run with a longer train.lr.period"
    else:
        return None
    return (
        f"train.lr.period: its cosine schedule reached eta_min = 0 at {lr.unit} {lr.period}, "
        f"so training on to epoch {epochs} would not change the weights; {hint}"
    )


def training_changes(before: Config, after: Config) -> list[str]:
    """Dotted paths of the fields that differ and would change the trained weights."""
    a = flatten(before.model_dump(mode="json", by_alias=True))
    b = flatten(after.model_dump(mode="json", by_alias=True))
    return sorted(
        ".".join(map(str, k))
        for k in a.keys() | b.keys()
        if k not in RESUMABLE_CHANGES and a.get(k) != b.get(k)
    )


def fingerprint(config: Config) -> str:
    """A hash of everything that decides the trained weights, except the epoch count."""
    flat = flatten(config.model_dump(mode="json", by_alias=True))
    kept = {".".join(map(str, k)): v for k, v in flat.items() if k not in RESUMABLE_CHANGES}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]
