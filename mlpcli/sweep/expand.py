"""A sweep's parameters -> its list of trials, deterministically.

Parameters come from a ``sweep:`` section of the config file and from the
command line (``--grid``, ``--random``), the command line winning per key::

    sweep:
      grid:                       # every combination, the first key slowest
        train.lr: [0.01, 0.1, 1]
        model.hidden: [[16], [64, 64]]
      random:                     # `trials` draws, the same draws for every grid point
        regularizer.lambda: log_uniform(1e-4, 1e-1)   # or {log_uniform: [1e-4, 1e-1]}
        model.activation: choice(relu, tanh)
      trials: 8
      seed: 0

Distributions: ``uniform(low, high)``, ``log_uniform(low, high)`` (low > 0),
``int(low, high)`` (both ends included), ``choice(a, b, ...)`` (values read
as YAML). Draw j of every trial comes from its own stream
``default_rng([seed, j])``, so raising ``trials`` keeps the earlier draws.
Drawn floats are rounded to 5 significant digits (inside their range), so
names and commands stay readable. Identical trials (a repeated draw) are
kept once, and so are equal grid values (``1, 1.0``: the first spelling).

A trial is its overrides: the fixed ``--set`` ones, then one ``key=value``
per swept key (the value written as YAML ``--set`` reads back to the same
value); its run directory is named from the swept ones
(:func:`mlpcli.overrides.run_name`).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlpcli.config import parse_yaml, read_config_file, split_sweep
from mlpcli.errors import ConfigError
from mlpcli.overrides import effective, run_name

#: More trials than this is a mistake (a grid of 10 keys × 10 values is 10¹⁰).
MAX_TRIALS = 100_000
#: Significant digits kept of a drawn float.
DIGITS = 5


# -- distributions ---------------------------------------------------------------------


class Uniform:
    """A float uniform in [low, high]."""

    def __init__(self, low: float, high: float) -> None:
        if not (_number(low) and _number(high) and low < high):
            raise ValueError("needs two numbers, low < high")
        self.low, self.high = float(low), float(high)

    def sample(self, rng: np.random.Generator) -> float:
        return self._round(rng.uniform(self.low, self.high))

    def _round(self, x: float) -> float:
        return min(max(float(f"{x:.{DIGITS}g}"), self.low), self.high)


class LogUniform(Uniform):
    """A float whose logarithm is uniform: exp(U[ln low, ln high]), 0 < low < high."""

    def __init__(self, low: float, high: float) -> None:
        super().__init__(low, high)
        if low <= 0:
            raise ValueError("needs 0 < low < high")

    def sample(self, rng: np.random.Generator) -> float:
        return self._round(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


class IntRange:
    """An integer uniform in low..high, both included."""

    def __init__(self, low: int, high: int) -> None:
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high))
        if not ints or low > high:
            raise ValueError("needs two integers, low ≤ high")
        if not -(2**62) <= low <= high <= 2**62:  # NumPy draws 64-bit integers
            raise ValueError("needs integers within ±2**62")
        self.low, self.high = low, high

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high, endpoint=True))


class Choice:
    """One of the values, each equally likely."""

    def __init__(self, *values: Any) -> None:
        if not values:
            raise ValueError("needs at least one value")
        self.values = list(values)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]


DISTRIBUTIONS = {"uniform": Uniform, "log_uniform": LogUniform, "int": IntRange, "choice": Choice}
_CALL = re.compile(r"\s*([A-Za-z_]+)\s*\((.*)\)\s*", re.S)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def distribution(spec: Any, where: str) -> Any:
    """``"log_uniform(1e-4, 1)"`` or ``{"log_uniform": [1e-4, 1]}`` -> a distribution."""
    if isinstance(spec, str) and (m := _CALL.fullmatch(spec)):
        name, args = m.group(1), parse_yaml(f"[{m.group(2)}]", where)[0]
    elif isinstance(spec, dict) and len(spec) == 1:
        ((name, args),) = spec.items()
        args = args if isinstance(args, list) else [args]
    else:
        hint = ""
        if isinstance(spec, str) and spec.count("(") > spec.count(")"):
            hint = (
                f"; got {spec!r}: in a {{...}} mapping a comma ends the entry, so quote "
                "the value or write one key per line"
            )
        raise ConfigError(
            f"{where}: expected a distribution such as log_uniform(1e-4, 1) or "
            f"{{log_uniform: [1e-4, 1]}}; one of {', '.join(DISTRIBUTIONS)}{hint}"
        )
    if name not in DISTRIBUTIONS:
        raise ConfigError(
            f"{where}: unknown distribution {name!r}; one of {', '.join(DISTRIBUTIONS)}"
        )
    try:
        return DISTRIBUTIONS[name](*args)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{where}: {name}({', '.join(map(str, args))}) {e}") from None


# -- the spec ----------------------------------------------------------------------------


@dataclass
class Spec:
    """What a sweep varies: grid values per key, distributions per key, draws, seed."""

    grid: dict[str, list] = field(default_factory=dict)
    random: dict[str, Any] = field(default_factory=dict)
    trials: int | None = None
    seed: int = 0

    def draw(self, j: int) -> dict[str, Any]:
        """Draw j of every random key, from its own stream."""
        rng = np.random.default_rng([self.seed, j])
        return {k: d.sample(rng) for k, d in self.random.items()}


def grid_option(text: str) -> tuple[str, list]:
    """``--grid train.lr=0.01,0.1,1`` or ``model.hidden=[16],[64,64]`` -> (key, values):
    the text after ``=`` is read as the items of a YAML list."""
    key, sep, values = text.partition("=")
    if not sep or not key.strip() or not values.strip():
        raise ConfigError(f"--grid {text!r}: expected KEY=V1,V2,..., e.g. train.lr=0.01,0.1")
    items, _ = parse_yaml(f"[{values}]", f"--grid {key}")
    return key.strip(), items


def random_option(text: str) -> tuple[str, Any]:
    """``--random train.lr=log_uniform(1e-4,1)`` -> (key, distribution)."""
    key, sep, spec = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--random {text!r}: expected KEY=DIST(ARGS), e.g. lr=uniform(0,1)")
    return key.strip(), distribution(spec, f"--random {key.strip()}")


def spec_from(
    config: Path,
    grid: Sequence[str] = (),
    random: Sequence[str] = (),
    trials: int | None = None,
    seed: int | None = None,
) -> Spec:
    """The sweep of a config file's ``sweep:`` section, with the command line's additions."""
    data, lines = read_config_file(Path(config))
    _, section = split_sweep(data)
    spec = _from_section(section, f"{config}", lines) if section is not None else Spec()
    given: dict[str, str] = {}  # key -> the option that gave it on the command line
    for option, text in [*(("--grid", t) for t in grid), *(("--random", t) for t in random)]:
        key, value = grid_option(text) if option == "--grid" else random_option(text)
        if key in given:  # a second --grid KEY would silently replace the first one's values
            raise ConfigError(
                f"{option} {key}: given twice on the command line (also by {given[key]}); "
                f"give each key once, all its values in one --grid {key}=V1,V2"
            )
        given[key] = option
        if option == "--grid":
            spec.grid[key] = _nonempty(value, f"--grid {key}")
            spec.random.pop(key, None)
        else:
            spec.random[key] = value
            spec.grid.pop(key, None)
    if trials is not None:
        spec.trials = trials
    if seed is not None:
        spec.seed = seed
    if spec.random and spec.trials is None:
        raise ConfigError("random parameters need a trial count: --trials N or sweep.trials")
    if spec.trials is not None and not spec.random:
        raise ConfigError("a trial count is for random parameters (--random or sweep.random)")
    if not spec.grid and not spec.random:
        raise ConfigError(f"{config}: nothing to sweep: give --grid KEY=V1,V2 or a sweep: section")
    return spec


def _from_section(section: Any, source: str, lines: dict) -> Spec:
    def where(*path: str) -> str:
        line = lines.get(("sweep", *path))
        return f"{source}: sweep.{'.'.join(path)}" + (f" (line {line})" if line else "")

    if not isinstance(section, dict):
        raise ConfigError(f"{where()}: must be a mapping with grid, random, trials, seed")
    unknown = set(section) - {"grid", "random", "trials", "seed"}
    if unknown:
        raise ConfigError(
            f"{where(min(unknown))}: unknown key; sweep takes grid, random, trials, seed"
        )
    spec = Spec()
    for name in ("grid", "random"):
        if not isinstance(section.get(name, {}), dict):
            raise ConfigError(f"{where(name)}: must be a mapping of config keys")
    for key, values in (section.get("grid") or {}).items():
        spec.grid[str(key)] = _nonempty(values, where("grid", key))
    for key, dist in (section.get("random") or {}).items():
        spec.random[str(key)] = distribution(dist, where("random", key))
    for name in ("trials", "seed"):
        value = section.get(name)
        low = 1 if name == "trials" else 0
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < low
        ):
            raise ConfigError(f"{where(name)}: must be an integer ≥ {low}")
    spec.trials, spec.seed = section.get("trials"), section.get("seed") or 0
    return spec


def _nonempty(values: Any, where: str) -> list:
    """The values, each once: ``1, 1.0, 1e0`` are one value (the first spelling kept)."""
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: must be a non-empty list of values")
    distinct: list = []
    for v in values:
        if not any(same_value(v, d) for d in distinct):
            distinct.append(v)
    return distinct


def same_value(a: Any, b: Any) -> bool:
    """Whether two YAML values are the same setting: numbers by value (``1 == 1.0``, exactly,
    as Python compares int and float), but a boolean never equal to a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(same_value, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return a == b


# -- trials ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    index: int
    values: dict[str, Any]  # swept key -> value
    swept: list[str]  # "key=value" per swept key
    fixed: list[str]  # the --set overrides every trial shares
    name: str  # its run directory's name

    @property
    def overrides(self) -> list[str]:
        return [*self.fixed, *self.swept]


def expand(spec: Spec, fixed: Sequence[str] = ()) -> list[Trial]:
    """The trials: grid points (first key slowest) × random draws, duplicates once."""
    count = math.prod(len(v) for v in spec.grid.values()) * (spec.trials or 1)
    if count > MAX_TRIALS:
        raise ConfigError(f"the sweep has {count:,} trials; at most {MAX_TRIALS:,}")
    draws = [spec.draw(j) for j in range(spec.trials)] if spec.random else [{}]
    trials: list[Trial] = []
    names: dict[str, dict] = {}
    for point in itertools.product(*spec.grid.values()):
        for draw in draws:
            values = {**dict(zip(spec.grid, point)), **draw}
            swept = [f"{k}={yaml_text(v)}" for k, v in values.items()]
            name, same = run_name(swept), effective(swept)
            if name in names:
                if names[name] == same:
                    continue  # the same trial again (a repeated draw)
                raise ConfigError(f"two trials would share the run name {name!r}: {swept}")
            names[name] = same
            trials.append(Trial(len(trials), values, swept, list(fixed), name))
    return trials


def yaml_text(value: Any) -> str:
    """``value`` as the text of a ``--set`` that reads back to it: ``0.01``, ``[64,64]``,
    ``relu``; JSON (which YAML reads) where the short form would read differently."""
    if isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, list):
        text = "[" + ",".join(yaml_text(v) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {yaml_text(v)}" for k, v in value.items()) + "}"
    else:
        text = str(value)
    try:
        if parse_yaml(text, "value")[0] == value and text.strip() == text and text:
            return text
    except ConfigError:
        pass
    return json.dumps(value)
