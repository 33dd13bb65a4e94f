"""From a resolved config to everything training needs: data splits, model, loss, regularizer.

Randomness: each consumer gets its own generator seeded from the config seed
and a fixed role number, so adding, say, a validation split does not change
the initial weights, and a test set drawn from a generator differs from the
training set drawn from the same generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpcli.config import Config
from mlpcli.data.dataset import Dataset
from mlpcli.data.loaders import csv_columns, load_csv, load_idx, load_npz
from mlpcli.data.preprocess import (
    check_features,
    encode_classes,
    regression_targets,
    split_rows,
)
from mlpcli.data.synthetic import GENERATORS, REGRESSION_GENERATORS, BadParameter
from mlpcli.errors import ConfigError, DataError
from mlpcli.nn.features import FEATURES, BasisFunctions, Standardizer
from mlpcli.nn.losses import LOSSES, Loss
from mlpcli.nn.model import MLP
from mlpcli.nn.regularizers import REGULARIZERS, Regularizer

#: Stream numbers for :func:`rng`; new roles get new numbers, old ones never change.
ROLES = {
    "train": 1,
    "validation": 2,
    "test": 3,
    "split": 4,
    "init": 5,
    "features": 6,
    "shuffle": 7,
    "test_split": 8,
}


def rng(seed: int, role: str) -> np.random.Generator:
    """The generator for one role (``ROLES``), reproducible from the config seed alone."""
    return np.random.default_rng([seed, ROLES[role]])


@dataclass
class Split:
    """One part of the data, ready for the model.

    ``x`` holds prepared inputs (standardized, φ applied) and ``targets`` the
    loss's encoding; ``labels`` the class indices (classification) or the
    real targets (regression), for metrics. ``rows`` selects this split's
    rows when several splits share one array (a validation split), so no
    split is a copy of the data.
    """

    name: str
    x: np.ndarray
    targets: np.ndarray
    labels: np.ndarray
    rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x) if self.rows is None else len(self.rows)

    def take(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs, targets and labels of examples start..stop−1 of the split, in order."""
        if self.rows is None:
            return self.x[start:stop], self.targets[start:stop], self.labels[start:stop]
        r = self.rows[start:stop]
        return self.x[r], self.targets[r], self.labels[r]


@dataclass
class Experiment:
    config: Config
    task: str
    classes: np.ndarray | None  # sorted class labels (classification)
    feature_names: list[str]
    target_names: list[str]
    model: MLP
    loss: Loss
    regularizer: Regularizer
    train: Split
    validation: Split | None
    test: Split | None

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.config.dtype)


#: File suffixes read as comma-separated text.
CSV_SUFFIXES = (".csv", ".txt", "")


def load_source(source, role: str, config: Config) -> tuple[Dataset, Dataset | None]:
    """Read one configured data source. Returns (data, test data bundled in an .npz or None)."""
    dtype = np.dtype(config.dtype)
    is_csv = hasattr(source, "path") and Path(source.path).suffix.lower() in CSV_SUFFIXES
    if not is_csv and (config.data.target is not None or config.data.features is not None):
        key = "target" if config.data.target is not None else "features"
        raise ConfigError(f"data.{key}: names CSV columns, but data.{role} is not a CSV file")
    if hasattr(source, "generator"):
        params = source.model_dump(exclude={"generator"})
        try:
            x, y = GENERATORS[source.generator](rng(config.seed, role), **params)
        except BadParameter as e:
            raise ConfigError(f"data.{role}.{e.param}: {e}") from None
        names = [f"x{i + 1}" for i in range(x.shape[1])]
        target = ["y"] if source.generator in REGRESSION_GENERATORS else ["label"]
        return Dataset(x.astype(dtype), y, names, target, f"generator:{source.generator}"), None
    if hasattr(source, "images"):
        return load_idx(source.images, source.labels, dtype=dtype), None
    path = Path(source.path)
    if path.suffix.lower() == ".npz":
        return load_npz(path, dtype=dtype)
    if is_csv:
        return load_csv(
            path, target=config.data.target, features=config.data.features, dtype=dtype
        ), None
    raise DataError(
        f"{path}: unknown data format {path.suffix!r} (use .csv, .npz or IDX images/labels)"
    )


def encode(data: Dataset, task: str, loss: Loss, classes: np.ndarray | None, dtype) -> tuple:
    """(targets for the loss, labels for metrics, classes) of one dataset."""
    if task == "regression":
        values = regression_targets(data, dtype)
        return values, values, None
    indices, classes = encode_classes(data, classes)
    return loss.encode(indices, len(classes), dtype), indices, classes


def build_basis(config: Config) -> BasisFunctions | None:
    spec = config.model.features
    if spec is None:
        return None
    return FEATURES[spec.type](**spec.model_dump(exclude={"type"}))


def build_regularizer(config: Config) -> Regularizer:
    reg = config.regularizer
    params = {
        "none": {},
        "l1": {"lam": reg.lam},
        "l2": {"lam": reg.lam},
        "elastic": {"lam_l1": reg.lambda_l1, "lam_l2": reg.lambda_l2},
    }[reg.type]
    return REGULARIZERS[reg.type](**params)


def build_model(
    config: Config,
    n_inputs: int,
    n_outputs: int,
    standardizer: Standardizer | None,
    basis: BasisFunctions | None,
    dtype: np.dtype | None = None,
) -> MLP:
    """The configured network, parameters not yet initialized."""
    m = config.model
    init = m.init
    return MLP(
        n_inputs,
        m.hidden,
        n_outputs,
        activation=m.activation,
        output_activation=m.output_activation,
        init=init.name,
        init_kwargs={"std": init.std} if init.name == "normal" else None,
        dtype=dtype or np.dtype(config.dtype),
        standardizer=standardizer,
        basis=basis,
    )


#: Bytes a model's parameters (with gradients and momentum) or its φ(x) table may take.
MAX_BYTES = 8 * 2**30


def check_size(config: Config, data: Dataset, basis: BasisFunctions | None, n_out: int) -> None:
    """Refuse, naming the field, a network or feature table far too large to allocate."""
    itemsize = np.dtype(config.dtype).itemsize
    width = data.x.shape[1]
    if basis is not None:
        width = basis.n_features(width)
        table = width * len(data) * itemsize
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


def n_outputs_for(task: str, loss: Loss, classes: np.ndarray | None, targets: np.ndarray) -> int:
    return loss.n_outputs(len(classes)) if task == "classification" else targets.shape[1]


@dataclass
class SplitPlan:
    """Rows of the training source held out for validation and test (None: none held out)."""

    train: np.ndarray | None
    validation: np.ndarray | None
    test: np.ndarray | None


def split_plan(config: Config, data: Dataset, strata: np.ndarray | None) -> SplitPlan:
    """Hold out ``test_split`` first, then ``validation_split`` of the rest (stratified by
    ``strata`` when given). Reproducible from the seed, so ``mlp eval`` finds the same rows."""
    d = config.data
    rows = np.arange(len(data))
    validation = test = None
    if d.test_split is not None:
        keep, held = split_rows(
            len(rows),
            d.test_split,
            rng(config.seed, "test_split"),
            strata,
            data.source,
            "test_split",
        )
        rows, test = rows[keep], rows[held]
    if d.validation_split is not None:
        sub = None if strata is None else strata[rows]
        keep, held = split_rows(
            len(rows), d.validation_split, rng(config.seed, "split"), sub, data.source
        )
        rows, validation = rows[keep], rows[held]
    if validation is None and test is None:
        return SplitPlan(None, None, None)
    return SplitPlan(rows, validation, test)


def build(config: Config, dtype: np.dtype | None = None) -> Experiment:
    """Load and prepare the data and build an initialized model for ``config``.

    ``dtype`` overrides the config's (gradient checks build in float64).
    """
    if dtype is not None:
        config = config.model_copy(update={"dtype": np.dtype(dtype).name})
    dtype = np.dtype(config.dtype)
    task = config.data.task
    loss = LOSSES[config.loss]()

    train_data, bundled_test = load_source(config.data.train, "train", config)
    if task == "classification" and train_data.y.ndim == 2 and train_data.y.shape[1] > 1:
        raise DataError(f"{train_data.source}: classification takes one target column")
    targets, labels, classes = encode(train_data, task, loss, None, dtype)
    plan = split_plan(config, train_data, labels if task == "classification" else None)

    # An .npz's own x_test/y_test is the test set unless the config names another.
    bundled = bundled_test if config.data.test_split is None else None
    others: dict[str, Dataset | None] = {"validation": None, "test": bundled}
    for role in ("validation", "test"):
        source = getattr(config.data, role)
        if source is not None:
            others[role], _ = load_source(source, role, config)
    for data in others.values():
        if data is not None:
            check_features(data.x, train_data.x.shape[1], data.source)

    standardizer = None
    if config.data.standardize:
        standardizer = Standardizer.fit(train_data.x, plan.train)
        for data in (train_data, *others.values()):
            if data is not None:  # in place: the loaded arrays are ours
                data.x -= standardizer.mean
                data.x /= standardizer.std

    try:
        basis = build_basis(config)
    except ValueError as e:
        raise ConfigError(f"model.features: {e}") from None
    x_train = train_data.x
    n_out = n_outputs_for(task, loss, classes, targets)
    check_size(config, train_data, basis, n_out)
    if basis is not None:
        fit_rows = x_train if plan.train is None else x_train[plan.train]
        try:
            basis.fit(fit_rows, rng(config.seed, "features"))
        except ValueError as e:
            raise ConfigError(f"model.features: {e}") from None
        x_train = basis(x_train)

    def held_out(name: str, rows: np.ndarray | None) -> Split | None:
        return None if rows is None else Split(name, x_train, targets, labels, rows)

    train = Split("train", x_train, targets, labels, plan.train)
    splits = {
        "validation": held_out("validation", plan.validation),
        "test": held_out("test", plan.test),
    }
    for role, data in others.items():
        if data is None:
            continue
        t, lab, _ = encode(data, task, loss, classes, dtype)
        if task == "regression" and t.shape[1] != targets.shape[1]:
            raise DataError(
                f"{data.source}: {t.shape[1]} target columns, but training has {targets.shape[1]}"
            )
        splits[role] = Split(role, basis(data.x) if basis is not None else data.x, t, lab)

    batch = config.train.batch
    if batch.mode == "minibatch" and batch.size > len(train):
        raise DataError(
            f"{train_data.source}: the training split has {len(train)} rows, "
            f"fewer than train.batch.size ({batch.size})"
        )

    model = build_model(config, train_data.x.shape[1], n_out, standardizer, basis)
    model.reset_parameters(rng(config.seed, "init"))
    return Experiment(
        config=config,
        task=task,
        classes=classes,
        feature_names=train_data.feature_names,
        target_names=train_data.target_names,
        model=model,
        loss=loss,
        regularizer=build_regularizer(config),
        train=train,
        validation=splits["validation"],
        test=splits["test"],
    )


def evaluation_data(config: Config) -> Dataset:
    """What ``mlp eval`` reads by default: the test set, else the validation set (either may
    be a split of the training source, recomputed from the seed)."""
    d = config.data
    if d.test is not None:
        return load_source(d.test, "test", config)[0]
    train, bundled_test = load_source(d.train, "train", config)
    if bundled_test is not None and d.test_split is None:
        return bundled_test
    if d.test_split is None and d.validation is not None:
        return load_source(d.validation, "validation", config)[0]
    if d.test_split is None and d.validation_split is None:
        raise DataError("the run has no test or validation data to evaluate on; pass --data PATH")
    strata = encode_classes(train)[0] if d.task == "classification" else None
    plan = split_plan(config, train, strata)
    name, rows = ("test", plan.test) if plan.test is not None else ("validation", plan.validation)
    return Dataset(
        train.x[rows],
        train.y[rows],
        train.feature_names,
        train.target_names,
        f"{train.source} ({name} split)",
    )


def read_data_file(
    path: Path,
    feature_names: list[str],
    target_names: list[str],
    dtype: np.dtype | type,
    *,
    targets: bool,
    labels: Path | None = None,
) -> Dataset:
    """A data file given on the command line, read for a trained model.

    CSV columns are matched by the training column names; a CSV whose
    other columns are exactly as many as the model's inputs is read by
    position. ``targets=False`` (prediction) accepts files without a target.
    IDX images need their ``labels`` file to be evaluated.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        data = load_npz(path, dtype=dtype, targets=targets)[0]
    elif suffix in CSV_SUFFIXES and suffix:
        columns = csv_columns(path)
        present = [t for t in target_names if t in columns]
        if targets and not present:
            raise DataError(
                f"{path}: target column '{target_names[0]}' not found "
                f"(columns: {', '.join(columns)})"
            )
        named = all(f in columns for f in feature_names)
        data = load_csv(
            path,
            target=target_names if present else None,
            features=feature_names if named else None,
            dtype=dtype,
            target_required=targets,
        )
    elif labels is not None or suffix == ".gz" or "idx" in path.name:
        if targets and labels is None:
            raise DataError(f"{path}: IDX images need their labels: pass --labels PATH")
        data = load_idx(path, labels, dtype=dtype)
    else:
        raise DataError(f"{path}: unknown data format {suffix!r} (use .csv, .npz or IDX files)")
    check_features(data.x, len(feature_names), data.source)
    return data
