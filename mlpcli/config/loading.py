"""Reading a config: safe YAML with line numbers, ``--set`` overrides, readable errors.

PyYAML's defaults are fixed here in four ways. ``1e-3`` (no dot) is read as
the number the user meant, not the string YAML 1.1 makes of it. A mapping key
is never a boolean: an unquoted ``yes:`` or ``no:`` (a class label in
``data.class_weight``, a column name) stays the word written, where YAML 1.1
would make it True or False. A key given twice in one mapping is an error
naming both lines instead of a silent overwrite. And aliases cannot expand a
small file into a huge document.

Validation problems come back as one line each, naming the field path, the
YAML line, what is wrong and, for a misspelled key or choice, the closest
valid name::

    configs/x.yaml: 2 problems
      train.batch.size (line 12): must be ≥ 1
      model.activaton (line 7): unknown key; did you mean 'activation'?
"""

from __future__ import annotations

import difflib
import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, Tag, ValidationError

from mlpcli.config.schema import Config
from mlpcli.errors import ConfigError
from mlpcli.paths import read_bounded, regular_file

#: Larger config files are refused before they are parsed.
MAX_CONFIG_BYTES = 1_000_000
#: Values a document may expand to through aliases (a "billion laughs" guard).
MAX_EXPANDED_NODES = 100_000

Path_ = tuple[str | int, ...]

# -- YAML -----------------------------------------------------------------------


_BOOL, _STR = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:str"


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads 1e-3 as a float, keeps boolean-looking keys as
    words and refuses duplicate keys.

    Merge keys (``<<: *base``) work as in ``yaml.safe_load``: keys written in
    the mapping override merged ones, and only two written keys can clash.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):  # ? [a, b]: a list as a key
                raise ConfigError(f"line {line}: a mapping key must be a plain value")
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if key_node.tag == _BOOL:  # yes/no/on/off/true/false as a key: the word
                key_node.tag = _STR
            key = self.construct_object(key_node, deep=True)
            first = seen.get(key)
            if first is not None:
                raise ConfigError(
                    f"line {line}: duplicate key '{key}' (first given on line {first})"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)  # flattens the merge keys


# YAML 1.1 wants a dot in a float ("1.0e-3"); accept the forms every other tool reads.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
            |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _count_nodes(node: yaml.Node, memo: dict[int, int]) -> int:
    """Values the node stands for once aliases are expanded (shared nodes counted each time)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = 1  # a recursive alias counts once instead of looping
    if isinstance(node, yaml.MappingNode):
        total = 1 + sum(_count_nodes(k, memo) + _count_nodes(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_count_nodes(v, memo) for v in node.value)
    else:
        total = 1
    memo[id(node)] = total
    return total


def _line_map(node: yaml.Node, path: Path_, lines: dict[Path_, int], seen: set[int]) -> None:
    """Record the 1-based line of every key and list item, by its path from the root."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue  # refused with its line when the mapping is constructed
            if key.tag == "tag:yaml.org,2002:merge":  # <<: *base: the base's keys, here
                for merged in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                    _line_map(merged, path, lines, set())
                continue
            sub = (*path, key.value)
            lines.setdefault(sub, key.start_mark.line + 1)
            _line_map(value, sub, lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            lines.setdefault((*path, i), value.start_mark.line + 1)
            _line_map(value, (*path, i), lines, seen)


def parse_yaml(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    """YAML text -> (Python data, {path: line}). Errors name ``source`` and the line/column."""
    try:
        loader = _Loader(text)  # refuses control characters at once: inside the try
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not YAML text ({getattr(e, 'problem', e)})") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        if _count_nodes(node, {}) > MAX_EXPANDED_NODES:
            raise ConfigError(
                f"{source}: expands to more than {MAX_EXPANDED_NODES} values through "
                "aliases (a YAML alias bomb?)"
            )
        lines: dict[Path_, int] = {}
        _line_map(node, (), lines, set())
        return loader.construct_document(node), lines
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}" if not str(e).startswith(source) else str(e)) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = e.problem or e.context or "invalid YAML"
        raise ConfigError(f"{source}{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: YAML error: {e}") from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply") from None
    finally:
        loader.dispose()


def read_config_file(path: Path) -> tuple[dict, dict[Path_, int]]:
    """Read and parse a config file, refusing what is not a small UTF-8 YAML mapping.

    Only a regular file is read (a FIFO or ``/dev/zero`` has no size to trust),
    and never more than the size limit plus one byte.
    """
    size = regular_file(path, "a config file", ConfigError).st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: {size / 1e6:.1f} MB is too large for a config "
            f"(limit {MAX_CONFIG_BYTES / 1e6:.0f} MB)"
        )
    try:
        text = read_bounded(path, MAX_CONFIG_BYTES, ConfigError).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    data, lines = parse_yaml(text, str(path))
    if data is None:
        raise ConfigError(f"{path}: the file is empty")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a config is a mapping of sections (data:, model:, ...), "
            f"not a {type(data).__name__}"
        )
    return data, lines


def read_saved_tree(path: Path) -> Any:
    """The mapping in a ``config.yaml`` a run saved, unvalidated, or None if unreadable.

    For reading many runs at once (``mlp runs``): libyaml's safe loader when
    PyYAML has it (about 8× faster), the size limit kept. The file was written
    by :func:`mlpcli.config.to_yaml`, which both loaders read alike.
    """
    try:
        with open(path, "rb") as f:
            text = f.read(MAX_CONFIG_BYTES + 1)
    except OSError:
        return None
    if len(text) > MAX_CONFIG_BYTES:
        return None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # a safe loader
    except yaml.YAMLError:
        return None


# -- --set overrides ------------------------------------------------------------


def apply_override(data: dict, assignment: str) -> Path_:
    """Apply one ``a.b.c=value`` to ``data`` in place; the value is read as YAML.

    Numeric path parts index lists (``model.hidden.0=64``); missing mappings
    are created. Returns the path that was set.
    """
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. train.epochs=20")
    # Only ASCII digits index a list: "²".isdigit() is True, and int("²") fails.
    parts: list[str | int] = [
        int(p) if re.fullmatch(r"[0-9]+", p) else p for p in key.strip().split(".")
    ]
    if any(p == "" for p in parts):
        raise ConfigError(f"--set {assignment!r}: empty part in the key {key!r}")
    value, _ = parse_yaml(text, f"--set {key}")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        where = ".".join(str(p) for p in parts[: i + 1])
        if isinstance(node, dict):
            if not isinstance(node.get(part), (dict, list)):
                if part in node and node[part] is not None:
                    raise ConfigError(
                        f"--set {key}: {where} is {node[part]!r}, not a mapping; "
                        f"set {where} itself, e.g. {where}={{...}}"
                    )
                node[part] = {}
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            raise ConfigError(f"--set {key}: {where} does not exist")
    last = parts[-1]
    if not isinstance(node, (dict, list)):
        where = ".".join(str(p) for p in parts[:-1])
        raise ConfigError(f"--set {key}: {where} is {node!r}, not a mapping or a list")
    if isinstance(node, list):
        if not (isinstance(last, int) and last < len(node)):
            raise ConfigError(f"--set {key}: index {last} is outside the list")
        node[last] = value
    else:
        node[last] = value
    return tuple(parts)


# -- validation errors ------------------------------------------------------------


def _options(tp: Any) -> list[tuple[str | None, Any]]:
    """The immediate alternatives of a type as (tag, type): Optional and Union split,
    Annotated unwrapped; a member marked with ``Tag`` is returned whole under its tag."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *meta = get_args(tp)
        tags = [m.tag for m in meta if isinstance(m, Tag)]
        return [(tags[0], base)] if tags else _options(base)
    if origin is Union or origin is types.UnionType:
        return [o for arg in get_args(tp) if arg is not type(None) for o in _options(arg)]
    return [(None, tp)]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _literal_tags(model: type[BaseModel]) -> set[str]:
    """Values of the model's single-value Literal fields: its discriminator tags."""
    return {
        args[0]
        for f in model.model_fields.values()
        if get_origin(f.annotation) is Literal and len(args := get_args(f.annotation)) == 1
    }


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {f.alias or name: f for name, f in model.model_fields.items()}


def locate(loc: tuple) -> tuple[tuple, type[BaseModel] | None]:
    """Follow a pydantic error location through the schema.

    Returns the path as the user wrote it (the union tags pydantic inserts, such
    as ``generator`` or ``step``, dropped) and the config model the location ends
    in (for suggesting keys), or None where the walk leaves the schema.
    """
    tp: Any = Config
    shown: list = []
    for part in loc:
        if tp is None:
            shown.append(part)
            continue
        opts = _options(tp)
        if isinstance(part, int):
            lists = [t for _, t in opts if get_origin(t) is list]
            tp = get_args(lists[0])[0] if lists else None
            shown.append(part)
            continue
        tagged = [t for tag, t in opts if tag == part]
        tagged = tagged or [t for _, t in opts if _is_model(t) and part in _literal_tags(t)]
        if tagged:  # pydantic's union branch name, not a key the user wrote
            tp = tagged[0]
            continue
        models = [t for _, t in opts if _is_model(t) and part in _fields(t)]
        tp = _fields(models[0])[part].annotation if models else None
        shown.append(part)
    models = [t for _, t in _options(tp)] if tp is not None else []
    models = [t for t in models if _is_model(t)]
    return tuple(shown), (models[0] if len(models) == 1 else None)


def _suggest(word: object, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _choices(expected: str) -> list[str]:
    return re.findall(r"'([^']*)'", expected)


_MESSAGES = {
    "missing": "required",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number (not .nan or .inf)",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
    "greater_than_equal": "must be ≥ {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be ≤ {le}",
    "less_than": "must be < {lt}",
    "too_short": "must have at least {min_length} item",
    "string_too_short": "must not be empty",
}


def _describe(err: dict, loc: tuple) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        _, model = locate(loc[:-1])
        return "unknown key" + (_suggest(loc[-1], list(_fields(model))) if model else "")
    if kind == "literal_error":
        choices = _choices(ctx.get("expected", ""))
        return f"{err['input']!r} is not one of {', '.join(choices)}" + _suggest(
            err["input"], choices
        )
    if kind == "union_tag_invalid":
        choices = _choices(ctx.get("expected_tags", ""))
        return f"{ctx.get('tag')!r} is not one of {', '.join(choices)}" + _suggest(
            ctx.get("tag"), choices
        )
    if kind == "union_tag_not_found":
        return f"needs a {ctx.get('discriminator', 'type')} key"
    if kind == "string_type" and isinstance(err.get("input"), bool):
        word = "true" if err["input"] else "false"
        return (
            f"must be a string, got the boolean {word} (YAML reads yes/no/on/off/true/false "
            "as booleans: put the name in quotes, e.g. 'yes')"
        )
    if kind in _MESSAGES:
        return _MESSAGES[kind].format(
            **{k: f"{v:g}" if isinstance(v, float) else v for k, v in ctx.items()}
        )
    return str(err["msg"]).removeprefix("Value error, ")


def _display(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


class Problems:
    """Collects (path, message) pairs and raises them as one ConfigError."""

    def __init__(self, source: str, lines: dict[Path_, int]) -> None:
        self.source, self.lines = source, lines
        self.items: list[str] = []

    def add(self, path: tuple, message: str) -> None:
        line = None
        for n in range(len(path), 0, -1):  # the field's line, else its parent's
            line = self.lines.get(tuple(path[:n]))
            if line is not None:
                break
        if line is None:  # a field a --set created whole (--set nosuch.key=1: 'nosuch')
            line = next((v for k, v in self.lines.items() if k[: len(path)] == tuple(path)
                         and isinstance(v, str)), None)  # fmt: skip
        where = f" ({line})" if isinstance(line, str) else f" (line {line})" if line else ""
        self.items.append(f"{_display(path)}{where}: {message}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        if len(self.items) == 1:
            raise ConfigError(f"{self.source}: {self.items[0]}")
        listed = "\n  ".join(self.items)
        raise ConfigError(f"{self.source}: {len(self.items)} problems\n  {listed}")


def validate(data: dict, source: str, lines: dict[Path_, int]) -> Config:
    """Raw config data -> Config, or a ConfigError listing every problem."""
    problems = Problems(source, lines)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
    for err in errors:
        loc = tuple(err["loc"])
        shown, _ = locate(loc)
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # name the key that picks the branch: train.lr.schedule, data.train.generator
            shown = (*shown, err["ctx"]["discriminator"].strip("'").removesuffix("()"))
        problems.add(shown, _describe(err, loc))
    problems.raise_if_any()
    raise AssertionError("unreachable: pydantic reported an error")
