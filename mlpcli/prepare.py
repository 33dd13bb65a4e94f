"""From a resolved config to an :class:`~mlpcli.experiment.Experiment`: data in, model built.

The path of ``mlp train`` before its first step:

1. read each configured source (a file through ``data/sources.py``, or a
   generator with its own random stream);
2. encode the training targets (class indices and the head's encoding, or
   real values) and plan the held-out rows (test first, then validation);
3. fit the model's input transform on the training rows (categorical
   encoding and missing values, standardization, then φ) and apply it to
   every split, in place where the arrays are ours;
4. build the network and draw its initial weights.

Bad data or a config that cannot fit the data is refused here, before any
run directory exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpcli import build
from mlpcli.config import Config
from mlpcli.data.dataset import Columns, Dataset
from mlpcli.data.loaders import load_idx
from mlpcli.data.sources import csv_by_name, read_file
from mlpcli.data.splits import SplitPlan, plan_splits
from mlpcli.data.synthetic import GENERATORS, REGRESSION_GENERATORS, BadParameter
from mlpcli.data.targets import encode_classes, regression_targets
from mlpcli.data.weights import class_weights
from mlpcli.errors import ConfigError, DataError
from mlpcli.experiment import Experiment, Split, rng
from mlpcli.nn.activations import BOUNDS
from mlpcli.nn.encoding import Encoder, UnknownCategory
from mlpcli.nn.features import BasisFunctions
from mlpcli.nn.heads import Head
from mlpcli.nn.inputs import InputTransform
from mlpcli.nn.outputs import TargetScale

#: Bytes a model's parameters (with gradients and momentum) or its φ(x) table may take.
MAX_BYTES = 8 * 2**30


def prepare(config: Config, dtype: np.dtype | type | None = None) -> Experiment:
    """Load and prepare the data and build an initialized model for ``config``.

    ``dtype`` overrides the config's (gradient checks build in float64).
    """
    if dtype is not None:
        config = config.model_copy(update={"dtype": np.dtype(dtype).name})
    dtype, task, head = np.dtype(config.dtype), config.data.task, build.head(config)
    train_data, bundled_test = load_source(config.data.train, "train", config)
    if task == "classification" and train_data.y.ndim == 2 and train_data.y.shape[1] > 1:
        raise DataError(f"{train_data.source}: classification takes one target column")
    targets, labels, classes = encode(train_data, task, head, None, dtype)
    if task == "regression":
        check_reachable(config.model.output_activation, labels, train_data.source)
    plan = plan_for(config, train_data, labels if task == "classification" else None)
    others = other_sources(config, train_data, bundled_test)

    n_out = head.n_outputs(len(classes)) if task == "classification" else targets.shape[1]
    scale = None
    if task == "regression" and config.data.standardize_target:
        scale = TargetScale.fit(labels, plan.train)  # labels: the targets in their own units
        targets = scale.encode(labels)
    inputs = fit_inputs(config, train_data, plan, n_out)
    weight = None
    if config.data.class_weight is not None:
        train_labels = labels if plan.train is None else labels[plan.train]
        weight = class_weights(config.data.class_weight, train_labels, classes)
    w = None if weight is None else weight[labels].astype(dtype)
    x_train = prepared(inputs, train_data)
    splits = {
        name: None if rows is None else Split(name, x_train, targets, labels, rows, w)
        for name, rows in (("validation", plan.validation), ("test", plan.test))
    }
    splits["train"] = Split("train", x_train, targets, labels, plan.train, w)
    width = targets.shape[1] if targets.ndim == 2 else 1
    coding = TargetCoding(task, head, classes, width, scale, weight, dtype)
    for role, data in others.items():
        splits[role] = coding.split(role, data, inputs)
    check_batch_size(config, len(splits["train"]), train_data.source)

    model = build.model(config, inputs, n_out, scale)
    model.reset_parameters(rng(config.seed, "init"))
    return Experiment(
        config=config,
        task=task,
        classes=classes,
        feature_names=train_data.feature_names,
        target_names=train_data.target_names,
        model=model,
        head=head,
        regularizer=build.regularizer(config),
        **splits,
        class_weight=weight,
    )


def check_reachable(output_activation: str, targets: np.ndarray, source: str) -> None:
    """Refuse regression targets (N, K) outside the values a bounded output activation
    takes (``nn.activations.BOUNDS``): no weights could fit them, and training would
    end without a word at the nearest bound."""
    bounds = BOUNDS.get(output_activation)
    if bounds is None or not len(targets):
        return
    low, high = float(np.min(targets)), float(np.max(targets))
    if low < bounds[0] or high > bounds[1]:
        raise DataError(
            f"{source}: the targets span {low:.4g} to {high:.4g}, but a {output_activation} "
            f"output lies between {bounds[0]:g} and {bounds[1]:g}; use "
            "model.output_activation: identity"
        )


@dataclass(frozen=True)
class TargetCoding:
    """How the training set's targets were encoded: the held-out sets' must match."""

    task: str
    head: Head
    classes: np.ndarray | None
    n_targets: int  # target columns (regression)
    scale: TargetScale | None  # standardized regression targets
    weight: np.ndarray | None  # class weights, by class index
    dtype: np.dtype

    def split(self, role: str, data: Dataset, inputs: InputTransform) -> Split:
        """A validation or test set from its own source, prepared like the training data."""
        t, lab, _ = encode(data, self.task, self.head, self.classes, self.dtype)
        if self.task == "regression" and t.shape[1] != self.n_targets:
            raise DataError(
                f"{data.source}: {t.shape[1]} target columns, but training has {self.n_targets}"
            )
        if self.scale is not None:
            t = self.scale.encode(lab)
        w = None if self.weight is None else self.weight[lab].astype(self.dtype)
        return Split(role, prepared(inputs, data), t, lab, weights=w)


def load_source(
    source, role: str, config: Config, like: Columns | None = None
) -> tuple[Dataset, Dataset | None]:
    """Read one configured data source: (data, the test set an .npz bundles, or None).

    ``like``: the training data's columns, for the validation and test sources.
    They fix which features are categorical and, when both files are CSV, which
    columns are read: by name, in the training order, whatever this file's order.
    Without it (the training source) the columns are ``data.target``,
    ``data.features`` and ``data.categorical`` (and any column of words).
    """
    dtype, d = np.dtype(config.dtype), config.data
    if hasattr(source, "path"):
        target, features = d.target, d.features
        if like is not None and named_columns(config) and _is_csv(source):
            target, features = like.targets, like.features
        return read_file(source.path, dtype=dtype, target=target, features=features,
                         role=f"data.{role}", text=list(d.categorical or ()) if like is None
                         else like.text, detect_text=like is None,
                         missing=d.missing is not None)  # fmt: skip
    if d.target is not None or d.features is not None or d.categorical:
        key = "target" if d.target is not None else "features" if d.features else "categorical"
        raise ConfigError(f"data.{key}: names CSV columns, but data.{role} is not a CSV file")
    if hasattr(source, "images"):
        return load_idx(source.images, source.labels, dtype=dtype), None
    params = source.model_dump(exclude={"generator"})
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # refused below, by name
            x, y = GENERATORS[source.generator](rng(config.seed, role), **params)
    except BadParameter as e:
        raise ConfigError(f"data.{role}.{e.param}: {e}") from None
    except (
        OverflowError,
        ValueError,
    ) as e:  # NumPy's own range checks, e.g. uniform(-1e308, 1e308)
        raise ConfigError(
            f"data.{role}: generator {source.generator} cannot draw data with these "
            f"parameters ({shown}): {e}"
        ) from None
    with np.errstate(over="ignore"):
        cast = x.astype(dtype)
    if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(cast).all()):
        beyond = np.isfinite(x).all() and np.isfinite(y).all()
        raise ConfigError(
            f"data.{role}: generator {source.generator} produced values that are "
            + (f"too large for {dtype} (set dtype: float64)" if beyond else "not finite")
            + f" with these parameters ({shown})"
        )
    names = [f"x{i + 1}" for i in range(x.shape[1])]
    target = ["y"] if source.generator in REGRESSION_GENERATORS else ["label"]
    return Dataset(cast, y, names, target, f"generator:{source.generator}"), None


def named_columns(config: Config) -> bool:
    """Whether the model's feature names are a CSV header's, by which other CSV files are
    then read (not the x1, x2, … a generator, an .npz or IDX images get)."""
    return _is_csv(config.data.train)


def _is_csv(source) -> bool:
    return hasattr(source, "path") and csv_by_name(Path(source.path))


def encode(
    data: Dataset, task: str, head: Head, classes: np.ndarray | None, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(targets for the loss, labels for metrics, classes) of one dataset.

    ``classes=None`` learns the classes from ``data`` (the training set).
    """
    if task == "regression":
        values = regression_targets(data, dtype)
        return values, values, None
    indices, classes = encode_classes(data, classes)
    return head.encode(indices, len(classes), dtype), indices, classes


def plan_for(config: Config, data: Dataset, strata: np.ndarray | None) -> SplitPlan:
    """The held-out rows of the training source, reproducible from the seed alone."""
    return plan_splits(
        len(data),
        test_split=config.data.test_split,
        validation_split=config.data.validation_split,
        test_rng=rng(config.seed, "test_split"),
        validation_rng=rng(config.seed, "split"),
        strata=strata,
        source=data.source,
    )


def other_sources(
    config: Config, train: Dataset, bundled_test: Dataset | None
) -> dict[str, Dataset]:
    """The validation and test sets given as sources of their own, by role.

    An .npz's own x_test/y_test is the test set unless the config names another.
    """
    out = {}
    if bundled_test is not None and config.data.test_split is None:
        out["test"] = bundled_test
    for role in ("validation", "test"):
        source = getattr(config.data, role)
        if source is not None:
            out[role], _ = load_source(source, role, config, train.columns)
    for data in out.values():
        data.check_width(train.x.shape[1])
    return out


def fit_inputs(config: Config, data: Dataset, plan: SplitPlan, n_out: int) -> InputTransform:
    """The input transform fitted on the training rows, after checking what it will cost."""
    try:
        basis = build.basis(config)
    except ValueError as e:
        raise ConfigError(f"model.features: {e}") from None
    encoder = fit_encoder(config, data, plan)
    check_size(config, len(data), encoder.n_outputs if encoder else data.x.shape[1], basis, n_out)
    try:
        return InputTransform.fit(
            data.x,
            plan.train,
            standardize=config.data.standardize,
            basis=basis,
            rng=rng(config.seed, "features"),
            encoder=encoder,
        )
    except UnknownCategory as e:
        raise DataError(f"{data.source}, {data.where(e.row)}, {e}") from None
    except ValueError as e:
        raise ConfigError(f"model.features: {e}") from None


def fit_encoder(config: Config, data: Dataset, plan: SplitPlan) -> Encoder | None:
    """The categorical encoding and missing-value filling fitted on the training rows, or
    None when every column is a number and missing values are refused."""
    missing = config.data.missing
    if not data.text_columns and missing is None:
        return None
    unknown = {name: c.unknown for name, c in (config.data.categorical or {}).items()}
    try:
        return Encoder.fit(
            data.x,
            plan.train,
            data.feature_names,
            unknown=unknown,
            strategy=None if missing is None else missing.strategy,
            indicator=missing is not None and missing.indicator,
            fill_value=0.0 if missing is None else missing.fill_value,
        )
    except ValueError as e:
        raise DataError(f"{data.source}: {e}") from None


def prepared(inputs: InputTransform, data: Dataset) -> np.ndarray:
    """``data``'s inputs through the fitted transform, in place (the loaded arrays are ours),
    refused if the transform made any of them infinite (a φ parameter out of range)."""
    try:
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            x = inputs(data.x, inplace=True)
    except UnknownCategory as e:
        raise DataError(f"{data.source}, {data.where(e.row)}, {e}") from None
    for start in range(0, len(x), 16384):
        bad = ~np.isfinite(x[start : start + 16384])
        if bad.any():
            row = start + int(np.argwhere(bad)[0][0])
            step = "φ(x)" if inputs.basis is not None else "standardized input"
            raise DataError(
                f"{data.source}: the {step} of {data.where(row)} is not a finite number"
                + (" (check model.features)" if inputs.basis is not None else "")
            )
    return x


def check_size(
    config: Config, n_rows: int, width: int, basis: BasisFunctions | None, n_out: int
) -> None:
    """Refuse, naming the field, a network or feature table far too large to allocate."""
    itemsize = np.dtype(config.dtype).itemsize
    if basis is not None:
        width = basis.n_features(width)
        table = width * n_rows * itemsize
        if table > MAX_BYTES:
            raise ConfigError(
                f"model.features: {width:,} features per row would take {table / 2**30:.0f} GiB "
                "for the training set; lower the degree or the number of features"
            )
    sizes = [width, *config.model.hidden, n_out]
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    if 3 * n_params * itemsize > MAX_BYTES:  # weights, gradients, momentum
        raise ConfigError(
            f"model.hidden: {n_params:,} parameters would take "
            f"{3 * n_params * itemsize / 2**30:.0f} GiB to train"
        )


def check_batch_size(config: Config, n_train: int, source: str) -> None:
    batch = config.train.batch
    if batch.mode == "minibatch" and batch.size > n_train:
        raise DataError(
            f"{source}: the training split has {n_train} rows, "
            f"fewer than train.batch.size ({batch.size})"
        )


def held_out_data(config: Config, like: Columns, run: Path | None = None) -> Dataset:
    """What ``mlp eval`` reads by default: the test set, else the validation set, raw.

    Either may be a split of the training source, recomputed from the seed, or a
    file of its own, read by the model's columns ``like``. ``run``, the run
    directory, is named in the error when there is neither.
    """
    d = config.data
    if d.test is not None:
        return load_source(d.test, "test", config, like)[0]
    train, bundled_test = load_source(d.train, "train", config)
    if bundled_test is not None and d.test_split is None:
        return bundled_test
    if d.test_split is None and d.validation is not None:
        return load_source(d.validation, "validation", config, like)[0]
    if d.test_split is None and d.validation_split is None:
        who = f"{run}: the run" if run is not None else "the run"  # which, when several
        raise DataError(f"{who} has no test or validation data to evaluate on; pass --data PATH")
    plan = _raw_plan(config, train)
    name, rows = ("test", plan.test) if plan.test is not None else ("validation", plan.validation)
    return _rows_of(train, rows, name)


def raw_splits(config: Config) -> dict[str, Dataset]:
    """The raw rows of every split the config makes, by name (train, validation, test).

    The same rows training used, recomputed from the seed; inputs as read,
    before the model's input transform (for pictures of the data).
    """
    train, bundled_test = load_source(config.data.train, "train", config)
    plan = _raw_plan(config, train)
    out = {"train": train if plan.train is None else _rows_of(train, plan.train, "train")}
    for name in ("validation", "test"):
        rows = getattr(plan, name)
        if rows is not None:
            out[name] = _rows_of(train, rows, name)
    out.update(other_sources(config, train, bundled_test))
    return out


def _raw_plan(config: Config, train: Dataset) -> SplitPlan:
    strata = encode_classes(train)[0] if config.data.task == "classification" else None
    return plan_for(config, train, strata)


def _rows_of(data: Dataset, rows: np.ndarray, name: str) -> Dataset:
    return Dataset(
        data.x[rows], data.y[rows], data.feature_names, data.target_names,
        f"{data.source} ({name} split)",
    )  # fmt: skip
