"""The config schema: pydantic models, ``extra="forbid"`` at every level.

Every name a config may use (activations, losses, initializers, basis
functions, regularizers, generators, schedules) is taken from the registry
that implements it, and the sections that configure one of them (a
generator, a basis, a learning-rate schedule) are generated from its
constructor's signature: names, types and defaults come from the code, the
schema adds only bounds. The two cannot drift. Non-finite numbers are refused
everywhere (``allow_inf_nan=False``).

A complete config, every field at its default unless required::

    seed: 0                     # one seed for init, splits, generators and shuffling
    dtype: float32              # float64 for exactness (gradcheck always uses float64)
    data:
      train: datasets/moons.csv # a path (relative to this file), {path: ..},
                                # {images: .., labels: ..} (IDX) or {generator: moons, ...}
      validation: null          # another source, or:
      validation_split: null    # a fraction held out (stratified for classification)
      test: null                # another source, or:
      test_split: null          # a fraction held out first (before validation_split)
      target: null              # CSV target column (default: the last one)
      features: null            # CSV feature columns (default: all the others)
      task: null                # classification | regression (default: from the loss)
      standardize: true         # x -> (x - mean) / std, fitted on the training split
      standardize_target: null  # t -> (t - mean) / std for training (default: on for regression)
    model:
      hidden: []                # hidden layer sizes; [] is the perceptron
      activation: relu          # one name, or one per hidden layer
      output_activation: identity
      init: he                  # he | xavier | zeros | {name: normal, std: 0.01}
      features: null            # basis functions φ(x), e.g. {type: polynomial, degree: 2}
    loss: cross_entropy
    regularizer: {type: none}   # {type: l2, lambda: 1e-3} or
                                # {type: elastic, lambda_l1: 1e-4, lambda_l2: 1e-3}
    train:
      epochs: 100
      batch: {mode: minibatch, size: 32, growth: null}
      lr: 0.1                   # or {schedule: step, initial: 0.1, factor: 0.5, every: 10,
                                #     warmup: 0}; also cosine, plateau (optim/schedules.py)
      lr_scale: null            # one multiplier of lr per layer, e.g. [1.0, 0.5, 0.1]
      optimizer: {name: sgd, momentum: 0.0, nesterov: false}   # or {name: adam, beta1: 0.9,
                                # beta2: 0.999, eps: 1e-8}, or adamw (+ weight_decay: 0.01)
      clip_norm: null           # cap the gradient's norm at this (off by default)
      shuffle: true
      early_stopping: null      # {metric: val_loss, patience: 10, restore_best: true}
      checkpoint_seconds: 2.0   # save model and state at most this often (0: every epoch)
"""

from __future__ import annotations

import inspect
from dataclasses import is_dataclass
from typing import Annotated, Any, Literal, Union, get_type_hints

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
)

from mlpcli.data.batching import BATCH_MODES, Growth
from mlpcli.data.synthetic import GENERATORS
from mlpcli.nn.activations import ACTIVATIONS
from mlpcli.nn.encoding import STRATEGIES, UNKNOWN
from mlpcli.nn.features import FEATURES
from mlpcli.nn.heads import HEADS
from mlpcli.nn.layers import INITIALIZERS
from mlpcli.nn.regularizers import REGULARIZERS
from mlpcli.optim import OPTIMIZERS
from mlpcli.optim.schedules import SCHEDULES


class Strict(BaseModel):
    """Base of every config section: unknown keys and non-finite numbers are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _names(registry: dict) -> Any:
    """Literal['a', 'b', ...] of a registry's keys, in registry order."""
    return Literal[tuple(registry)]


def one_or_list(item: Any, min_length: int = 0) -> Any:
    """``item`` or a list of them; errors are reported for the branch the value took."""
    many = Annotated[list[item], Field(min_length=min_length)]
    return Annotated[
        Union[Annotated[item, Tag("one")], Annotated[many, Tag("many")]],  # noqa: UP007
        Discriminator(lambda v: "many" if isinstance(v, list) else "one"),
    ]


def value_or_section(value: Any, section: Any) -> Any:
    """A scalar shorthand or a full mapping (``lr: 0.1`` or ``lr: {schedule: step, ...}``)."""
    return Annotated[
        Union[Annotated[value, Tag("value")], Annotated[section, Tag("section")]],  # noqa: UP007
        Discriminator(lambda v: "section" if isinstance(v, (dict, BaseModel)) else "value"),
    ]


def section(
    fn: Any,
    *,
    tag: tuple[str, str] | None = None,
    tag_optional: bool = False,
    bounds: dict[str, Any] | None = None,
    skip: tuple[str, ...] = (),
) -> type[Strict]:
    """A config section whose keys are ``fn``'s keyword parameters.

    Names, types and defaults are read from the signature of ``fn`` (a
    function, a class or a dataclass), so a parameter documented there is a
    key the config accepts, with the same default. ``tag`` = (key, value)
    adds the key that picks this section in a union (``schedule: step``),
    which may be left out when ``tag_optional``; ``bounds`` maps a parameter
    to pydantic ``Field`` constraints; ``skip`` leaves parameters out (a
    generator's ``rng``, an optimizer's ``params``).
    """
    hints = get_type_hints(fn if is_dataclass(fn) or not isinstance(fn, type) else fn.__init__)
    fields: dict[str, Any] = {}
    if tag is not None:
        fields[tag[0]] = (Literal[tag[1]], tag[1] if tag_optional else ...)
    for param in inspect.signature(fn).parameters.values():
        if param.name in skip:
            continue
        tp = hints[param.name]
        if bounds and param.name in bounds:
            tp = Annotated[tp, bounds[param.name]]
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (tp, default)
    name = getattr(fn, "__name__", "Section") + ("" if tag is None else tag[0].title())
    return create_model(name, __base__=Strict, **fields)


def tagged_union(tag_key: str, models: dict[str, type[Strict]], default: str | None = None) -> Any:
    """The models as one union, picked by the value of ``tag_key`` (``default`` when absent)."""
    members = tuple(Annotated[m, Tag(name)] for name, m in models.items())
    if default is None:
        return Annotated[Union[members], Field(discriminator=tag_key)]  # noqa: UP007

    def pick(value: Any) -> str | None:
        if isinstance(value, dict):
            return value.get(tag_key, default)
        return getattr(value, tag_key, default)

    pick.__name__ = tag_key  # pydantic names the discriminator in errors by this
    return Annotated[Union[members], Discriminator(pick)]  # noqa: UP007


ActivationName = _names(ACTIVATIONS)
LossName = _names(HEADS)
InitName = _names(INITIALIZERS)
PositiveInt = Annotated[int, Field(ge=1)]
Fraction = Annotated[float, Field(gt=0, lt=1)]

# -- data ---------------------------------------------------------------------


def _no_nul(path: str) -> str:
    if "\0" in path:
        raise ValueError("a path cannot contain a NUL byte")
    return path


#: A file path as a config writes it (relative to the config file).
PathStr = Annotated[str, Field(min_length=1), AfterValidator(_no_nul)]


class FileSource(Strict):
    """A CSV (.csv, .txt) or NPZ (.npz) file; paths are relative to the config file."""

    path: PathStr


class IdxSource(Strict):
    """MNIST-style IDX files (raw or .gz): images (N, rows, cols) and labels (N,)."""

    images: PathStr
    labels: PathStr


GENERATOR_MODELS = {
    name: section(fn, tag=("generator", name), skip=("rng",)) for name, fn in GENERATORS.items()
}
GeneratorSource = tagged_union("generator", GENERATOR_MODELS)


def _source_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "path"
    if isinstance(value, dict):
        if "generator" in value:
            return "generator"
        if "images" in value or "labels" in value:
            return "idx"
        return "file"
    if isinstance(value, BaseModel):
        return {FileSource: "file", IdxSource: "idx"}.get(type(value), "generator")
    return None


Source = Annotated[
    Union[  # noqa: UP007
        Annotated[PathStr, Tag("path")],
        Annotated[FileSource, Tag("file")],
        Annotated[IdxSource, Tag("idx")],
        Annotated[GeneratorSource, Tag("generator")],
    ],
    Discriminator(
        _source_kind,
        custom_error_type="source",
        custom_error_message="expected a file path, {path: ...}, {images: ..., labels: ...} "
        "or {generator: ...}",
    ),
]


class CategoricalColumn(Strict):
    unknown: Literal[UNKNOWN] = "error"  # a category never seen in training: error, or all zeros


def _names_are_columns(value: Any) -> Any:
    """``categorical: [region, plan]`` means each with the default options."""
    return {name: {} for name in value} if isinstance(value, list) else value


class MissingConfig(Strict):
    strategy: Literal[STRATEGIES] = "mean"  # fitted on the training split
    indicator: bool = False  # add a 0/1 column per column that had missing values
    fill_value: float = 0.0  # for strategy constant


class DataConfig(Strict):
    train: Source
    validation: Source | None = None
    validation_split: Fraction | None = None
    test: Source | None = None
    test_split: Fraction | None = None
    target: one_or_list(str, min_length=1) | None = None
    features: Annotated[list[str], Field(min_length=1)] | None = None
    task: Literal["classification", "regression"] | None = None
    standardize: bool = True
    standardize_target: bool | None = None  # regression: train on (t − mean) / std
    # CSV columns read as categorical (text columns are, unnamed), with their options
    categorical: (
        Annotated[dict[str, CategoricalColumn], BeforeValidator(_names_are_columns)] | None
    ) = None
    missing: MissingConfig | None = None  # impute empty and NaN cells (default: refuse them)
    # balanced (n / (K n_k)) or {label: weight}; scaled to mean 1 over the training rows
    class_weight: (
        value_or_section(
            Literal["balanced"],
            dict[Union[int, str], Annotated[float, Field(gt=0)]],  # noqa: UP007
        )
        | None
    ) = None


# -- model --------------------------------------------------------------------


class InitConfig(Strict):
    name: InitName = "he"
    std: Annotated[float, Field(gt=0)] | None = None  # for normal only (its default std)


FEATURE_BOUNDS: dict[str, dict[str, Any]] = {
    "polynomial": {"degree": Field(ge=1, le=10)},
    "rbf": {"n_centers": Field(ge=1), "sigma": Field(gt=0)},
    "fourier": {"n_frequencies": Field(ge=1), "scale": Field(gt=0)},
}
FEATURE_MODELS = {
    name: section(cls, tag=("type", name), bounds=FEATURE_BOUNDS.get(name))
    for name, cls in FEATURES.items()
}
FeaturesConfig = tagged_union("type", FEATURE_MODELS)


def _one_size_is_a_list(value: Any) -> Any:
    """``hidden: 64`` means one hidden layer of 64: ``[64]`` (booleans stay errors)."""
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


class ModelConfig(Strict):
    hidden: Annotated[list[PositiveInt], BeforeValidator(_one_size_is_a_list)] = []
    activation: one_or_list(ActivationName) = "relu"
    output_activation: ActivationName = "identity"
    init: value_or_section(InitName, InitConfig) = "he"
    features: FeaturesConfig | None = None
    dropout: one_or_list(Annotated[float, Field(ge=0, lt=1)]) = 0.0  # one per hidden layer


# -- regularizer --------------------------------------------------------------

NonNegative = Annotated[float, Field(ge=0)]


class RegularizerConfig(Strict):
    type: _names(REGULARIZERS) = "none"
    lam: NonNegative | None = Field(None, alias="lambda")  # for l1 and l2
    lambda_l1: NonNegative | None = None  # for elastic
    lambda_l2: NonNegative | None = None  # for elastic
    include_bias: bool = False


# -- training -----------------------------------------------------------------


GrowthConfig = section(
    Growth, bounds={"factor": Field(gt=1), "every": Field(ge=1), "max": Field(ge=1)}
)


class BatchConfig(Strict):
    mode: Literal[BATCH_MODES] = "minibatch"
    size: PositiveInt | None = None  # minibatch only (default DEFAULT_BATCH_SIZE)
    growth: GrowthConfig | None = None  # minibatch only


PositiveFloat = Annotated[float, Field(gt=0)]


_EVERY_SCHEDULE = {"initial": Field(gt=0), "warmup": Field(ge=0)}
LR_BOUNDS: dict[str, dict[str, Any]] = {
    "constant": {},
    "step": {"factor": Field(gt=0, le=1), "every": Field(ge=1)},
    "exponential": {"gamma": Field(gt=0, le=1)},
    "inverse_time": {"decay": Field(ge=0)},
    "cosine": {"period": Field(ge=1), "eta_min": Field(ge=0)},
    "plateau": {
        "factor": Field(gt=0, lt=1),
        "patience": Field(ge=0),
        "threshold": Field(ge=0),
        "eta_min": Field(ge=0),
    },
}
LR_MODELS = {
    # plateau reacts to epochs' metrics: its t (and warmup) counts epochs
    name: section(
        cls,
        tag=("schedule", name),
        bounds={**_EVERY_SCHEDULE, **LR_BOUNDS[name]},
        skip=("unit",) * (name == "plateau"),
    )
    for name, cls in SCHEDULES.items()
}
LRConfig = tagged_union("schedule", LR_MODELS)


_ADAM_BOUNDS = {"beta1": Field(ge=0, lt=1), "beta2": Field(ge=0, lt=1), "eps": Field(gt=0)}
OPTIMIZER_BOUNDS: dict[str, dict[str, Any]] = {
    "sgd": {"momentum": Field(ge=0, lt=1)},
    "adam": _ADAM_BOUNDS,
    "adamw": {**_ADAM_BOUNDS, "weight_decay": Field(ge=0)},
}
OPTIMIZER_MODELS = {
    name: section(
        cls,
        tag=("name", name),
        tag_optional=name == "sgd",
        bounds=OPTIMIZER_BOUNDS.get(name),
        skip=("params", "lr"),
    )
    for name, cls in OPTIMIZERS.items()
}
OptimizerConfig = tagged_union("name", OPTIMIZER_MODELS, default="sgd")


class EarlyStoppingConfig(Strict):
    metric: Literal["val_loss", "val_accuracy", "val_mse"] = "val_loss"
    patience: PositiveInt = 10  # epochs without improvement before stopping
    min_delta: NonNegative = 0.0  # smaller changes do not count as improvement
    restore_best: bool = True  # end with the best epoch's weights


class TrainConfig(Strict):
    epochs: PositiveInt = 100
    batch: BatchConfig = BatchConfig()
    lr: value_or_section(PositiveFloat, LRConfig) = 0.1
    lr_scale: list[PositiveFloat] | None = None  # one per layer: W_i, b_i step at lr·lr_scale[i]
    optimizer: OptimizerConfig = OPTIMIZER_MODELS["sgd"]()
    clip_norm: PositiveFloat | None = None  # scale the gradient down to this norm when above
    shuffle: bool = True
    early_stopping: EarlyStoppingConfig | None = None
    checkpoint_seconds: NonNegative = 2.0  # save at most this often (0: after every epoch)


class Config(Strict):
    seed: Annotated[int, Field(ge=0)] = 0
    dtype: Literal["float32", "float64"] = "float32"
    data: DataConfig
    model: ModelConfig = ModelConfig()
    loss: LossName = "cross_entropy"
    regularizer: RegularizerConfig = RegularizerConfig()
    train: TrainConfig = TrainConfig()
