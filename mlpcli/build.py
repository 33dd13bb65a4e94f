"""Config sections -> the objects they describe, each in one small function.

No data is read here: ``prepare.py`` adds the data, ``files/model.py``
rebuilds a saved network with :func:`model`. Every lookup goes through the
registry named by the config key, so a new activation, head, basis,
schedule or generator needs no change here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlpcli.config import Config
from mlpcli.config.resolve import regularizer_lambdas
from mlpcli.data.batching import BatchSchedule, Growth
from mlpcli.engine import Node
from mlpcli.experiment import rng
from mlpcli.nn.features import FEATURES, BasisFunctions
from mlpcli.nn.heads import HEADS, Head
from mlpcli.nn.inputs import InputTransform
from mlpcli.nn.model import MLP
from mlpcli.nn.outputs import TargetScale
from mlpcli.nn.regularizers import Regularizer
from mlpcli.nn.regularizers import regularizer as make_regularizer
from mlpcli.optim import OPTIMIZERS, Optimizer
from mlpcli.optim.schedules import SCHEDULES, Schedule


def head(config: Config) -> Head:
    """The output head of ``loss``: encodings, decision rule, loss op."""
    return HEADS[config.loss]()


def regularizer(config: Config) -> Regularizer:
    return make_regularizer(config.regularizer.type, **regularizer_lambdas(config))


def basis(config: Config) -> BasisFunctions | None:
    """The (unfitted) basis functions of ``model.features``, or None."""
    spec = config.model.features
    if spec is None:
        return None
    return FEATURES[spec.type](**spec.model_dump(exclude={"type"}))


def model(
    config: Config, inputs: InputTransform, n_outputs: int, target_scale: TargetScale | None = None
) -> MLP:
    """The configured network on fitted ``inputs`` (and targets' ``target_scale``);
    parameters not yet initialized."""
    m = config.model
    return MLP(
        inputs.n_inputs,
        m.hidden,
        n_outputs,
        activation=m.activation,
        output_activation=m.output_activation,
        init=m.init.name,
        init_kwargs={"std": m.init.std} if m.init.name == "normal" else None,
        dtype=np.dtype(config.dtype),
        inputs=inputs,
        target_scale=target_scale,
        dropout=m.dropout,
        dropout_rng=rng(config.seed, "dropout"),
    )


def schedule(config: Config) -> Schedule:
    spec = config.train.lr
    return SCHEDULES[spec.schedule](**spec.model_dump(exclude={"schedule"}))


def batches(config: Config, n_train: int) -> BatchSchedule:
    b = config.train.batch
    growth = None if b.growth is None else Growth(**b.growth.model_dump())
    return BatchSchedule(mode=b.mode, n=n_train, size=b.size, growth=growth)


def optimizer(config: Config, params: Sequence[Node], lr: float) -> Optimizer:
    """The optimizer of ``train.optimizer`` over ``params``, starting at rate ``lr``.

    ``params`` are a model's [W₀, b₀, W₁, b₁, …]: ``train.lr_scale[i]`` scales both of layer i.
    """
    spec = config.train.optimizer
    opt = OPTIMIZERS[spec.name](params, lr, **spec.model_dump(exclude={"name"}))
    scales = tensor_lr_scales(config)
    if scales is not None:
        opt.lr_scale = scales
    return opt


def tensor_lr_scales(config: Config) -> list[float] | None:
    """``train.lr_scale`` per parameter tensor [W₀, b₀, W₁, b₁, …] (None: all 1)."""
    if config.train.lr_scale is None:
        return None
    return [scale for scale in config.train.lr_scale for _ in (0, 1)]
