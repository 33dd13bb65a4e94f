"""Which fields tell configs apart: the columns of a table of runs.

Used by ``mlp runs`` and ``mlp sweep`` (and the legends of ``mlp plot``) on
resolved configs, as the mappings ``config.yaml`` holds. The rule, applied
section by section from the top (:func:`differing_fields`):

- A per-layer field (``model.activation``, ``model.dropout``: resolution
  repeats a value given once) whose values are all equal compares as that
  one value, and a model without hidden layers has nothing there
  (:func:`comparable`); networks of different depths do not differ in them.
- A section that is null in some configs and a mapping in others
  (``train.early_stopping``, ``data.missing``, ``train.batch.growth``) is one
  field: its path, not its subfields.
- Inside a section that is a mapping everywhere, a key absent from some of
  them (``beta1`` of Adam, absent from SGD's ``train.optimizer``) is no
  difference by itself when a key they all have differs: that key picks the
  kind (``name: adam``) and so which keys there are. Its values are compared
  among the configs that have it. Mappings with different keys and no such
  kind key (a data file against a generator) are one field: the section.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlpcli.config.resolve import PER_LAYER

#: A key a mapping does not have (None is a value: "not set").
_ABSENT = object()


def value_at(tree: Any, dotted: str) -> Any:
    """The value at a dotted path of a nested mapping (list items by index), or None."""
    node = tree
    for part in dotted.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    """The config as runs are compared and shown: a per-layer list of one repeated value
    as that value (``model.activation: [relu, relu]`` → ``relu``), as the user wrote it;
    without hidden layers, no per-layer value at all."""
    model = config.get("model")
    if not isinstance(model, dict):
        return config
    model = dict(model)
    for key in PER_LAYER:
        values = model.get(key)
        if isinstance(values, list) and not values:
            del model[key]
        elif isinstance(values, list) and all(v == values[0] for v in values):
            model[key] = values[0]
    return {**config, "model": model}


def differing_fields(configs: Sequence[dict[str, Any]]) -> list[str]:
    """Dotted paths (``train.lr.initial``, ``model.hidden``, ``train.early_stopping``)
    whose values differ between the configs, by the rule of this module, in the order
    the fields first appear.

    Leaves are compared whole: a list of numbers (``model.hidden``) is one field,
    a list of mappings is indexed (``a.0.b``). Fewer than two configs: none differs.
    """
    if len(configs) < 2:
        return []
    paths = _differing([comparable(c) for c in configs], ())
    return [".".join(map(str, p)) for p in paths]


def _differing(nodes: list[Any], path: tuple) -> list[tuple]:
    """The differing paths at and below ``path``; ``nodes``: each config's value there."""
    if all(n == nodes[0] for n in nodes[1:]):
        return []
    sections = [_as_mapping(n) for n in nodes if _as_mapping(n) is not None]
    if not sections:  # leaves: compared among the configs that have one
        present = [n for n in nodes if n is not _ABSENT]
        return [path] if any(v != present[0] for v in present[1:]) else []
    if len(sections) < len(nodes):  # null (or absent) in some, set in others
        return [path]
    keys = dict.fromkeys(k for s in sections for k in s)
    below = {k: _differing([s.get(k, _ABSENT) for s in sections], (*path, k)) for k in keys}
    kind = any(below[k] for k in keys if all(k in s for s in sections))
    if not kind and any(_set(s).keys() != _set(sections[0]).keys() for s in sections[1:]):
        return [path]  # other keys, and none they share says why: the section is the field
    return [p for k in keys for p in below[k]]


def _as_mapping(node: Any) -> dict | None:
    """A mapping, or a list of mappings by index; None for a leaf."""
    if isinstance(node, dict):
        return node
    if isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        return dict(enumerate(node))
    return None


def _set(section: dict) -> dict:
    """The keys a section sets: a key holding None says no more than an absent one."""
    return {k: v for k, v in section.items() if v is not None}
