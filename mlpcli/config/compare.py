"""Which fields tell configs apart: the columns of a table of runs.

Used by ``mlp runs`` and ``mlp sweep`` (and anything else that shows many
runs side by side) on resolved configs, as the mappings ``config.yaml`` holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlpcli.config.resolve import flatten


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


def differing_fields(configs: Sequence[dict[str, Any]]) -> list[str]:
    """Dotted paths (``train.lr.initial``, ``model.hidden``) whose values differ between
    the configs, in the order the fields first appear.

    Leaves are compared whole: a list of numbers (``model.hidden``) is one field,
    a list of mappings is indexed (``a.0.b``). A field present in some configs
    and absent from others differs. Fewer than two configs: no field differs.
    """
    flats = [flatten(c) for c in configs]
    if len(flats) < 2:
        return []
    order: dict[tuple, None] = {}
    for flat in flats:
        order.update(dict.fromkeys(flat))
    missing = object()
    first = flats[0]
    return [
        ".".join(map(str, path))
        for path in order
        if any(f.get(path, missing) != first.get(path, missing) for f in flats[1:])
    ]
