"""Configs: valid sections, bad configs (exit 2, field named), --set, YAML quirks."""

import inspect
import re

import pytest
from conftest import MOONS
from pydantic_core import PydanticUndefined

from mlpcli.config import load_config, to_yaml
from mlpcli.config.schema import (
    FEATURE_MODELS,
    GENERATOR_MODELS,
    LR_MODELS,
    OPTIMIZER_MODELS,
    GrowthConfig,
)
from mlpcli.data.batching import Growth
from mlpcli.data.synthetic import GENERATORS
from mlpcli.errors import ConfigError
from mlpcli.nn.features import FEATURES
from mlpcli.optim import OPTIMIZERS
from mlpcli.optim.schedules import SCHEDULES

FULL = """\
seed: 7
dtype: float64
data:
  train: {generator: spirals, n_samples: 90, classes: 3, noise: 0.1}
  validation_split: 0.2
  test_split: 0.2
  standardize: false
model:
  hidden: [6, 5]
  activation: [tanh, leaky_relu]
  output_activation: identity
  init: {name: normal, std: 0.3}
  features: {type: polynomial, degree: 2, interactions: false}
loss: hinge
regularizer: {type: elastic, lambda_l1: 1e-4, lambda_l2: 2E-3, include_bias: true}
train:
  epochs: 3
  batch: {mode: minibatch, size: 4, growth: {factor: 2, every: 1, max: 16}}
  lr: {schedule: inverse_time, initial: 5e-2, decay: 0.1, unit: step}
  optimizer: {name: sgd, momentum: 0.9, nesterov: true}
  shuffle: false
  early_stopping: {metric: val_accuracy, patience: 2, min_delta: 1e-3, restore_best: false}
"""


def test_full_config_every_section(write):
    cfg = load_config(write("full.yaml", FULL))
    assert cfg.dtype == "float64" and cfg.seed == 7
    assert cfg.data.task == "classification"  # hinge → classification
    assert cfg.data.validation_split == 0.2 and cfg.data.test_split == 0.2
    assert cfg.model.activation == ["tanh", "leaky_relu"] and cfg.model.init.std == 0.3
    assert cfg.model.features.type == "polynomial" and cfg.model.features.interactions is False
    assert cfg.regularizer.lambda_l1 == 1e-4 and cfg.regularizer.lambda_l2 == 2e-3
    assert cfg.train.batch.growth.max == 16
    assert cfg.train.lr.schedule == "inverse_time" and cfg.train.lr.initial == 0.05
    assert cfg.train.optimizer.nesterov and cfg.train.early_stopping.metric == "val_accuracy"


def test_defaults_are_filled_in_and_the_resolved_config_reloads(write, tmp_path):
    cfg = load_config(write("moons.yaml", MOONS))
    assert cfg.data.task == "classification"
    assert cfg.train.lr.schedule == "constant" and cfg.train.lr.initial == 0.2
    assert cfg.model.init.name == "xavier" and cfg.model.activation == ["tanh"]
    resolved = write("resolved.yaml", to_yaml(cfg))
    assert load_config(resolved) == cfg


def test_data_paths_are_relative_to_the_config_file(write, tmp_path):
    (tmp_path / "sub").mkdir()
    path = write("sub/c.yaml", "data: {train: ../d.csv}\n")
    cfg = load_config(path)
    assert cfg.data.train.path == str((tmp_path / "d.csv").resolve())


def test_scientific_notation_without_a_dot_is_a_number(write):
    cfg = load_config(write("c.yaml", MOONS.replace("lr: 0.2", "lr: 1e-3")))
    assert cfg.train.lr.initial == 0.001
    cfg = load_config(write("c.yaml", MOONS + "regularizer: {type: l2, lambda: 5E-4}\n"))
    assert cfg.regularizer.lam == 5e-4


def test_yes_and_no_as_keys_stay_words(write, mlp, tmp_path):
    # YAML 1.1 reads an unquoted yes/no/on/off as a boolean; as a key (a class label, a
    # column name) the word is meant. Values keep YAML's reading.
    cfg = load_config(write("c.yaml", MOONS), ["data.class_weight={yes: 4, no: 1, on: 2}"])
    assert cfg.data.class_weight == {"yes": 4.0, "no": 1.0, "on": 2.0}
    assert load_config(write("c.yaml", MOONS), ["train.shuffle=no"]).train.shuffle is False
    labels = "x1,x2,churned\n" + "".join(f"{i},{i % 3},{'yes' if i % 4 == 0 else 'no'}\n"
                                          for i in range(40))  # fmt: skip
    write("d.csv", labels)
    cfg = write("w.yaml", "data: {train: d.csv, target: churned, class_weight: {yes: 3}}\n"
                          "model: {hidden: [4]}\ntrain: {epochs: 1}\n")  # fmt: skip
    res = mlp("train", cfg, "--out", "r", "-q", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["class_weight"]["yes"] == pytest.approx(3 * res.json()["class_weight"]["no"])


def test_set_overrides_nested_keys_lists_and_indexes(write):
    path = write("c.yaml", MOONS)
    cfg = load_config(path, ["train.batch.size=8", "model.hidden=[4, 3]", "model.activation=relu"])
    assert cfg.train.batch.size == 8 and cfg.model.hidden == [4, 3]
    cfg = load_config(path, ["model.hidden.0=12", "train.early_stopping.patience=3"])
    assert cfg.model.hidden == [12] and cfg.train.early_stopping.patience == 3
    cfg = load_config(path, ["train.lr={schedule: step, initial: 0.5, every: 2}"])
    assert cfg.train.lr.every == 2


def test_set_errors_name_the_override(write):
    path = write("c.yaml", MOONS)
    with pytest.raises(ConfigError, match=r"train\.epochs \(--set train\.epochs\): must be an int"):
        load_config(path, ["train.epochs=ten"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(path, ["train.epochs"])
    with pytest.raises(ConfigError, match=r"c\.yaml: nosuch \(--set nosuch\.key\): unknown key"):
        load_config(path, ["nosuch.key=1"])  # a section the --set made: the --set named
    with pytest.raises(ConfigError, match="index 5 is outside the list"):
        load_config(path, ["model.hidden.5=3"])
    with pytest.raises(ConfigError, match=r"train\.lr is 0\.2, not a mapping"):
        load_config(path, ["train.lr.initial=3"])


BAD = [
    # (what to change in MOONS or a whole text, the message the user must see)
    (("model:", "modle:"), r"modle \(line 5\): unknown key; did you mean 'model'\?"),
    (("size: 16", "size: 0"), r"train\.batch\.size \(line 9\): must be ≥ 1"),
    (
        ("activation: tanh", "activation: rellu"),
        r"model\.activation \(line 5\): 'rellu' is not one of .* did you mean 'relu'\?",
    ),
    (
        ("loss: cross_entropy", "loss: crossentropy"),
        r"loss \(line 6\): .*did you mean 'cross_entropy'\?",
    ),
    (("epochs: 6", "epochs: ten"), r"train\.epochs \(line 8\): must be an integer"),
    (("lr: 0.2", "lr: -0.1"), r"train\.lr \(line 10\): must be > 0"),
    (("lr: 0.2", "lr: .nan"), r"train\.lr \(line 10\): must be a finite number"),
    (("epochs: 6", "epochs: 2.5"), r"train\.epochs \(line 8\): must be a whole number"),
    (("hidden: [8]", "hidden: [8, -2]"), r"model\.hidden\.1 \(line 5\): must be ≥ 1"),
    (
        ("validation_split: 0.25", "validation_split: 1.5"),
        r"data\.validation_split \(line 4\): must be < 1",
    ),
    (
        ("generator: moons", "generator: mons"),
        r"data\.train\.generator \(line 3\): 'mons' is not one of .* did you mean 'moons'\?",
    ),
    (
        ("lr: 0.2", "lr: {schedule: stepp, initial: 0.1}"),
        r"train\.lr\.schedule \(line 10\): .*did you mean 'step'\?",
    ),
    (
        ("mode: minibatch, size: 16", "mode: batch, size: 16"),
        r"train\.batch\.size \(line 9\): only for mode minibatch",
    ),
    (
        ("init: xavier", "init: xavier, output_activation: sigmoid"),
        r"model\.output_activation \(line 5\): cross_entropy needs one of identity",
    ),
    (("noise: 0.15", "noise: -1"), r"data\.train\.noise: must be ≥ 0"),
    (
        ("activation: tanh", "activation: [tanh, relu]"),
        r"model\.activation \(line 5\): 2 activations for 1 hidden layers",
    ),
    (
        ("loss: cross_entropy", "loss: cross_entropy\nregularizer: {type: l2}"),
        r"regularizer\.lambda \(line 7\): required for type l2",
    ),
    (
        ("loss: cross_entropy", "loss: cross_entropy\nregularizer: {type: none, lambda: 0.1}"),
        r"regularizer\.lambda \(line 7\): not used",
    ),
    (("seed: 3", "seed: 3\nseed: 4"), r"line 2: duplicate key 'seed' \(first given on line 1\)"),
    (
        (
            "validation_split: 0.25",
            "validation_split: 0.25\n  missing: {strategy: constant, fill_value: 1e39}",
        ),
        r"data\.missing\.fill_value \(line 5\): 1e\+39 does not fit in float32",
    ),
    (
        ("validation_split: 0.25", "validation_split: 0.25\n  features: [a, b, a]"),
        r"data\.features \(line 5\): column 'a' is given twice",
    ),
    (("seed: 3", "seed: [3"), r"c\.yaml:\d+:\d+: YAML syntax error"),
    (
        ("loss: cross_entropy", "loss: cross_entropy\ndata: {task: regression}"),
        r"duplicate key 'data'",
    ),
    (
        ("train:\n", "train:\n  optimizer: {momentum: 0.0, nesterov: true}\n"),
        r"train\.optimizer\.nesterov \(line 8\): needs momentum > 0",
    ),
]


@pytest.mark.parametrize("change,message", BAD, ids=lambda v: str(v)[:40])
def test_bad_config_exits_2_naming_the_field(change, message, write, mlp, tmp_path):
    old, new = change
    assert old in MOONS
    path = write("c.yaml", MOONS.replace(old, new, 1))
    res = mlp("train", path)
    assert res.exit_code == 2, res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert re.search(message, res.stderr.replace("\n", " ")), res.stderr
    assert not (tmp_path / "runs").exists()  # nothing created for a bad config


def test_early_stopping_needs_validation(write, mlp):
    text = MOONS.replace("  validation_split: 0.25\n", "").replace(
        "epochs: 6", "epochs: 6\n  early_stopping: {patience: 2}"
    )
    res = mlp("train", write("c.yaml", text))
    assert res.exit_code == 2
    assert "train.early_stopping (line 8): needs validation data" in res.stderr


def test_task_and_loss_must_agree(write, mlp):
    text = MOONS.replace(
        "  validation_split: 0.25\n", "  validation_split: 0.25\n  task: regression\n"
    )
    res = mlp("train", write("c.yaml", text))
    assert res.exit_code == 2 and "loss (line 7): cross_entropy is for classification" in res.stderr


def test_every_problem_is_reported_at_once(write, mlp):
    text = MOONS.replace("size: 16", "size: 0").replace("epochs: 6", "epochs: 0")
    res = mlp("train", write("c.yaml", text))
    assert res.exit_code == 2 and "2 problems" in res.stderr
    assert "train.epochs" in res.stderr and "train.batch.size" in res.stderr


def test_config_file_problems(write, mlp, tmp_path):
    assert "no such file" in mlp("train", "missing.yaml").stderr
    assert "is a directory" in mlp("train", tmp_path).stderr
    assert "the file is empty" in mlp("train", write("e.yaml", "\n# nothing\n")).stderr
    res = mlp("train", write("l.yaml", "- a\n- b\n"))
    assert res.exit_code == 2 and "a config is a mapping" in res.stderr


@pytest.mark.parametrize(
    "models,registry,tag,skip",
    [
        (LR_MODELS, SCHEDULES, "schedule", {"plateau": {"unit"}}),
        (FEATURE_MODELS, FEATURES, "type", {}),
        (GENERATOR_MODELS, GENERATORS, "generator", {}),
        (OPTIMIZER_MODELS, OPTIMIZERS, "name", {}),
        ({"growth": GrowthConfig}, {"growth": Growth}, None, {}),
    ],
    ids=["lr", "features", "generators", "optimizers", "growth"],
)
def test_config_sections_mirror_the_constructors_they_feed(models, registry, tag, skip):
    assert set(models) == set(registry)
    for name, model in models.items():
        params = {
            p.name: p.default
            for p in inspect.signature(registry[name]).parameters.values()
            if p.name not in {"rng", "params", "lr"} | skip.get(name, set())
        }
        fields = {k: f.default for k, f in model.model_fields.items() if k != tag}
        if tag is not None:
            assert model.model_fields[tag].annotation.__args__ == (name,)
        assert fields.keys() == params.keys(), name
        for key, default in params.items():
            expected = PydanticUndefined if default is inspect.Parameter.empty else default
            assert fields[key] == expected, f"{name}.{key}"
