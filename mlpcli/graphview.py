"""The computational graph node by node, with values and gradients: what ``mlp graph`` shows.

:func:`error_graph` records the error E = data loss + penalty of a configured
network on a real batch, exactly as training does (through
:class:`~mlpcli.nn.objective.Objective`), names every node and backpropagates,
so each node carries its value and ∂E/∂node. :func:`expression_graph` does the
same for a small arithmetic expression such as the lecture's b = x·y + z,
parsed with :mod:`ast` into engine ops (Python never evaluates the text).
:func:`to_dot` writes either graph as Graphviz DOT and :func:`render_dot` runs
Graphviz's ``dot`` on it.

Training runs ReLU and tanh in place, so there a pre-activation node ends up
holding h(a) (docs/design.md). The graph shown here is built by
:meth:`~mlpcli.nn.model.MLP.out_of_place`, which keeps a and h(a) in separate
arrays: every node shows its own value, and E and every gradient are the
same numbers training computes.
"""

from __future__ import annotations

import ast
import math
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mlpcli.engine import Graph, Node, Op, constant, ops, parameter
from mlpcli.engine.penalties import L1Penalty, L2Penalty
from mlpcli.errors import ConfigError, MlpError
from mlpcli.experiment import Experiment
from mlpcli.nn.objective import Objective

#: Arrays up to this many entries are given in full in :meth:`NodeView.as_dict`.
FULL = 1024

#: Arrays up to this many entries are written out in full by :func:`describe_array`.
INLINE = 4

#: Binary ops written as infix formulas (the expression language of ``--expr``).
INFIX = {ops.Add: "+", ops.Sub: "−", ops.Mul: "·", ops.Div: "/"}


class ToolMissing(MlpError):
    """An external program a command needs (Graphviz's ``dot``) is not installed."""


@dataclass
class NodeView:
    """One node of the graph, as shown: its name, what computes it, and the node itself.

    ``kind`` is ``op`` for computed nodes, else the kind of leaf: ``input``,
    ``target``, ``class_weight``, ``parameter``, ``variable`` (of an expression) or ``constant``.
    ``params`` are the parameter leaves this node owns: those it is the
    first node to read (a linear layer owns its W and b; a penalty reads them).
    """

    name: str
    kind: str
    op: str
    inputs: list[str]
    formula: str
    note: str
    params: list[str]
    n_params: int
    node: Node

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.node.value.shape)

    def as_dict(self, values: bool) -> dict:
        out = {
            "name": self.name,
            "kind": self.kind,
            "op": self.op,
            "inputs": self.inputs,
            "formula": self.formula,
            "shape": list(self.shape),
            "params": self.params,
            "n_params": self.n_params,
        }
        if values:
            out["value"] = summary(self.node.value)
            out["grad"] = None if self.node.grad is None else summary(self.node.grad)
        return out


@dataclass
class GraphView:
    """A recorded graph's nodes in forward order (each after its inputs); the root last.

    Reversed, it is the order in which backpropagation visits them: every
    op node before its inputs, each leaf as soon as its gradient is complete.
    """

    nodes: list[NodeView]
    backpropagated: bool

    @property
    def root(self) -> NodeView:
        return self.nodes[-1]

    def backward_order(self) -> list[NodeView]:
        return self.nodes[::-1]

    @property
    def n_params(self) -> int:
        return sum(v.n_params for v in self.nodes)


def summary(array: np.ndarray) -> dict:
    """Mean, min and max of an array (NaN-aware: a diverged value shows), in full when small."""
    a = np.asarray(array, dtype=np.float64)
    out = {"mean": float(a.mean()), "min": float(a.min()), "max": float(a.max())}
    if a.size <= FULL:
        out["values"] = a.tolist()
    return out


def shape_text(shape: tuple[int, ...]) -> str:
    """``8×16``, or ``scalar`` for a 0-d array."""
    return "×".join(map(str, shape)) or "scalar"


def describe_array(array: np.ndarray | None, digits: int = 4) -> str:
    """A value for a table cell: the numbers themselves when few, else mean and range."""
    if array is None:
        return "—"
    a = np.asarray(array, dtype=np.float64)
    if a.size <= INLINE:
        text = ", ".join(f"{v:.{digits}g}" for v in a.ravel())
        return text if a.ndim == 0 else f"[{text}]"
    return f"mean {a.mean():.3g} in [{a.min():.3g}, {a.max():.3g}]"


# -- the graph of E for a configured network -------------------------------------------------


def error_graph(exp: Experiment, batch: int = 1, backward: bool = True) -> GraphView:
    """E on the first ``batch`` training examples of ``exp``, every node named.

    Parameters keep their names (``layers.{i}.weight``/``bias``); the graph's
    other nodes are ``x`` (prepared inputs, (batch, D')), ``t`` (targets),
    ``c`` (with ``data.class_weight``: each example's class weight, (batch,)),
    ``layers.{i}.a`` (pre-activations a = W h + b), ``layers.{i}.h``
    (activations h(a)), ``loss`` (the data term), ``penalty`` and ``E``.
    With ``backward``, one backward pass fills ∂E/∂node of every node that
    needs one (the inputs x, targets t and weights c need none).
    """
    n = len(exp.train)
    if not 1 <= batch <= n:
        raise ConfigError(f"--batch {batch}: the training split has {n} examples")
    x, targets, weights = exp.train.batch(slice(0, batch))
    objective = Objective(
        exp.model.out_of_place(),
        exp.head,
        exp.regularizer,
        n,
        exp.config.regularizer.include_bias,
    )
    x_node = Node(x, name="x")
    e = objective(x_node, targets, weights=weights)
    t_node, *w_node = e.data.parents[1:]  # loss ops take (outputs, targets[, weights])
    t_node.name = "t"
    data_term = f"(1/|B|) Σ L: {exp.config.loss}"
    notes = {id(x_node): "prepared inputs", id(t_node): "targets", id(e.outputs): "outputs y"}
    if w_node:
        w_node[0].name = "c"
        notes[id(w_node[0])] = "class weights c_t of the targets (data.class_weight)"
        data_term = f"(1/|B|) Σ c_t L: {exp.config.loss}"
    order = forward_order(e.total)
    _name_error_nodes(order, e.total, e.data)
    notes[id(e.data)] = data_term
    notes[id(e.total)] = "the error" if e.total is not e.data else data_term
    if backward:
        for p in exp.model.parameters():
            p.grad = None  # leaves accumulate: start from nothing, as a training step does
        e.total.backward()
    return GraphView(_views(order, notes), backward)


def _name_error_nodes(order: list[Node], total: Node, data: Node) -> None:
    """Name the op nodes of E after the layer or term they belong to."""
    data.name = "loss"
    for node in order:
        op = node.op
        if op is None or node.name:
            continue
        if isinstance(op, ops.Linear):
            node.name = node.parents[1].name.removesuffix("weight") + "a"
        elif isinstance(op, (L1Penalty, L2Penalty)):
            node.name = "penalty.l1" if isinstance(op, L1Penalty) else "penalty.l2"
        elif len(node.parents) == 1 and (node.parents[0].name or "").endswith(".a"):
            node.name = node.parents[0].name.removesuffix("a") + "h"  # an activation h(a)
        elif all((p.name or "").startswith("penalty.") for p in node.parents):
            node.name = "penalty"  # elastic: the L1 and L2 terms added
        elif node is not total:
            node.name = f"{type(op).__name__.lower()}.{order.index(node)}"
    if total is not data:
        penalty = next(p for p in total.parents if p is not data)
        penalty.name = "penalty"
    total.name = "E"


def forward_order(root: Node) -> list[Node]:
    """Every node ``root`` depends on, leaves included, each after its inputs; root last.

    The op nodes come in the engine's own order (``Graph``); each leaf is
    placed just before the first op that reads it.
    """
    if root.op is None:
        return [root]
    out: list[Node] = []
    seen: set[int] = set()
    for node in Graph(root).order:
        for parent in node.parents:
            if parent.op is None and id(parent) not in seen:
                seen.add(id(parent))
                out.append(parent)
        out.append(node)
    return out


def _views(order: list[Node], notes: Mapping[int, str]) -> list[NodeView]:
    owned: set[int] = set()
    views = []
    for node in order:
        params = []
        if node.op is not None:
            params = [p for p in node.parents if _kind(p) == "parameter" and id(p) not in owned]
            owned.update(id(p) for p in params)
        views.append(
            NodeView(
                name=node.name,
                kind=_kind(node),
                op=_kind(node) if node.op is None else type(node.op).__name__,
                inputs=[p.name for p in node.parents],
                formula=_formula(node),
                note=notes.get(id(node), ""),
                params=[p.name for p in params],
                n_params=sum(p.value.size for p in params),
                node=node,
            )
        )
    return views


def _kind(node: Node) -> str:
    if node.op is not None:
        return "op"
    if node.requires_grad:
        return "parameter" if "." in (node.name or "") else "variable"
    return {"x": "input", "t": "target", "c": "class_weight"}.get(node.name, "constant")


def _formula(node: Node) -> str:
    """What the node computes, in the lecture's notation where there is one.

    ``x · y`` for arithmetic, ``W x + b`` for a linear layer (its W and b are
    the parameters it owns), ``(λ/N) Σ|W|`` and ``(λ/N) ½ ΣW²`` for penalties,
    ``op(inputs)`` otherwise (activations, losses).
    """
    op = node.op
    if op is None:
        return _kind(node)
    names = [p.name for p in node.parents]
    symbol = INFIX.get(type(op))
    if symbol is not None:
        return f"{names[0]} {symbol} {names[1]}"
    if isinstance(op, ops.Neg):
        return f"−{names[0]}"
    if isinstance(op, ops.Linear):
        return f"W {names[0]} + b"
    if isinstance(op, (L1Penalty, L2Penalty)):
        return "(λ/N) Σ|W|" if isinstance(op, L1Penalty) else "(λ/N) ½ ΣW²"
    return f"{_snake(type(op).__name__)}({', '.join(names)})"


def _snake(name: str) -> str:
    """``SoftmaxCrossEntropy`` -> ``softmax_cross_entropy``, as configs spell names."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


# -- the graph of an arithmetic expression ---------------------------------------------------

#: The syntax ``--expr`` accepts: numbers, names, + − · / and parentheses.
_BINARY = {ast.Add: ops.Add, ast.Sub: ops.Sub, ast.Mult: ops.Mul, ast.Div: ops.Div}
MAX_EXPRESSION = 500


def expression_graph(text: str, values: Mapping[str, float]) -> GraphView:
    """The graph of an expression such as ``x*y + z`` at the given variable values.

    Each variable is a parameter leaf; each intermediate result is named by a
    letter not taken by a variable, in the order it is computed (for
    ``x*y + z``: a = x·y, b = a + z, as on the lecture's slide); a constant is
    named by its value. The root is backpropagated, so ``grad`` of every node is
    ∂root/∂node. A number float64 cannot hold (a literal, a node's value after a
    division by zero or an overflow, a gradient) is refused with the node's name.
    """
    body = parse_expression(text)
    names = list(dict.fromkeys(n.id for n in ast.walk(body) if isinstance(n, ast.Name)))
    missing = [n for n in names if n not in values]
    unused = [n for n in values if n not in names]
    if missing or unused:
        what = f"no value for {', '.join(missing)}" if missing else f"{', '.join(unused)} unused"
        raise ConfigError(f"--at: {what} (the expression's variables: {', '.join(names) or '-'})")
    leaves = {n: parameter(float(values[n]), name=n) for n in names}
    with np.errstate(all="ignore"):  # a non-finite number is refused below, by node
        root = _build(body, leaves)
        letters = (c for c in "abcdefghijklmnopqrstuvwxyz" if c not in leaves)
        order = forward_order(root)
        for node in order:
            if node.op is not None:
                node.name = next(letters, None) or f"n{order.index(node)}"
        _check_values(order)
        root.backward()
    _check_gradients(order, root)
    return GraphView(_views(order, {id(root): "the root: gradients are ∂root/∂node"}), True)


def _check_values(order: list[Node]) -> None:
    """Refuse the first node whose value is not a finite float64 (x/0, or an overflow).

    The leaves are finite (literals and ``--at`` values are checked), so the first
    non-finite node in forward order is the one that made it: a division by zero or
    a result beyond ±1.8e308. Refusing keeps the table, the DOT and the JSON (which
    has no inf or NaN) showing the same numbers.
    """
    for node in order:
        if node.op is None or np.isfinite(node.value).all():
            continue
        at = f"node {node.name} = {_formula(node)}"
        divisor = node.parents[-1]
        if isinstance(node.op, ops.Div) and not divisor.value.any():
            raise ConfigError(f"--expr: division by zero at {at} ({divisor.name} = 0)")
        raise ConfigError(f"--expr: {at} overflows float64 (beyond ±{_MAX:.3g})")


def _check_gradients(order: list[Node], root: Node) -> None:
    """Refuse a gradient beyond float64's range (1/y at y = 1e-200 has ∂/∂y = −1e400)."""
    for node in reversed(order):
        if node.grad is not None and not np.isfinite(node.grad).all():
            raise ConfigError(
                f"--expr: ∂{root.name}/∂{node.name} overflows float64 (beyond ±{_MAX:.3g})"
            )


def parse_expression(text: str) -> ast.expr:
    """Parse and check an expression; only numbers, names, + − * / and parentheses pass."""
    if len(text) > MAX_EXPRESSION:
        raise ConfigError(f"--expr: longer than {MAX_EXPRESSION} characters")
    text = text.strip()
    if not text:
        raise ConfigError("--expr: the expression is empty")
    try:
        body = ast.parse(text, mode="eval").body
    except SyntaxError as e:  # an incomplete expression ('x*') has its error past the end
        where = f"column {e.offset}" if e.offset and e.offset <= len(text) else "the end"
        why = "" if e.msg == "invalid syntax" else f" ({e.msg})"
        raise ConfigError(f"--expr: invalid syntax at {where}{why}: {text!r}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ConfigError("--expr: too deeply nested") from None
    for node in ast.walk(body):
        allowed = (
            isinstance(node, ast.Name)
            or (isinstance(node, ast.BinOp) and type(node.op) in _BINARY)
            or (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)))
            or (isinstance(node, ast.Constant) and type(node.value) in (int, float))
        )
        if not allowed and not isinstance(node, (ast.operator, ast.unaryop, ast.expr_context)):
            raise ConfigError(
                f"--expr: {ast.unparse(node)!r} is not allowed: use numbers, names, "
                "+ − * / and parentheses"
            )
        if isinstance(node, ast.Constant):
            _check_literal(node, text.strip())
    return body


#: The largest finite float64.
_MAX = float(np.finfo(np.float64).max)


def _check_literal(node: ast.Constant, source: str) -> None:
    """Refuse a number float64 cannot hold (``1e999``, 400 nines), as ``--at`` does."""
    try:
        finite = math.isfinite(float(node.value))
    except OverflowError:  # an int beyond float64
        finite = False
    if not finite:
        literal = ast.get_source_segment(source, node) or repr(node.value)
        if len(literal) > 24:
            literal = f"{literal[:10]}…{literal[-4:]} ({len(literal)} characters)"
        raise ConfigError(f"--expr: the number {literal} is beyond float64's range (±{_MAX:.3g})")


def _build(node: ast.expr, leaves: Mapping[str, Node]) -> Node:
    if isinstance(node, ast.Name):
        return leaves[node.id]
    if isinstance(node, ast.Constant):
        out = constant(float(node.value), np.float64)
        out.name = f"{node.value:g}"
        return out
    if isinstance(node, ast.UnaryOp):
        operand = _build(node.operand, leaves)
        return _record(ops.Neg(), operand) if isinstance(node.op, ast.USub) else operand
    return _record(_BINARY[type(node.op)](), _build(node.left, leaves), _build(node.right, leaves))


def _record(op: Op, *inputs: Node) -> Node:
    """``op(*inputs)`` as a node of the graph, also when every input is a constant.

    The engine records only ops that lead to a gradient; on constants alone (``2*3``
    in ``2*3*x``) it returns a bare value. The graph shown keeps that op as a node
    like any other, so backpropagation gives it ∂root/∂node too; its constant
    inputs need none.
    """
    out = op(*inputs)
    if out.op is None:
        op.needs_input_grad = [False] * len(inputs)
        out = Node(out.value, inputs, op, requires_grad=True)
    return out


def parse_assignments(text: str) -> dict[str, float]:
    """``x=3,y=-5,z=2`` -> {x: 3.0, y: -5.0, z: 2.0}."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = (s.strip() for s in part.partition("="))
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name.isidentifier() or not math.isfinite(number):
            raise ConfigError(f"--at: {part!r} is not NAME=NUMBER (e.g. --at x=3,y=-5,z=2)")
        if name in out:
            raise ConfigError(f"--at: {name} is given twice")
        out[name] = number
    return out


# -- Graphviz ---------------------------------------------------------------------------------


def to_dot(view: GraphView, values: bool) -> str:
    """The graph as Graphviz DOT, inputs on the left and the root on the right.

    Leaves are boxes (parameters filled orange, data filled blue), ops ellipses;
    each label gives the name, what the node computes and its shape, and with
    ``values`` its value and ∂root/∂node.
    """
    ids = {id(v.node): f"n{i}" for i, v in enumerate(view.nodes)}
    root = view.root.name
    lines = [
        "digraph G {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10];',
    ]
    for v in view.nodes:
        label = [v.name, v.formula if v.kind == "op" else v.kind, shape_text(v.shape)]
        if values:
            label.append(f"value: {describe_array(v.node.value)}")
            label.append(f"∂{root}/∂{v.name}: {describe_array(v.node.grad)}")
        style = DOT_STYLES[v.kind]
        bold = ", penwidth=2" if v is view.root else ""
        lines.append(f'  {ids[id(v.node)]} [label="{_escape(label)}", {style}{bold}];')
    for v in view.nodes:
        for parent in v.node.parents:
            lines.append(f"  {ids[id(parent)]} -> {ids[id(v.node)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


#: How each kind of node looks in DOT: leaves are boxes (parameters orange, data blue).
_LEAF = 'shape=box, style="rounded,filled", fillcolor='
DOT_STYLES = {
    "op": "shape=ellipse",
    "parameter": _LEAF + '"#F5D9A6"',
    "variable": _LEAF + '"#F5D9A6"',
    "input": _LEAF + '"#BFDDEE"',
    "target": _LEAF + '"#BFDDEE"',
    "class_weight": _LEAF + '"#BFDDEE"',
    "constant": "shape=box",
}


def _escape(lines: list[str]) -> str:
    return "\\n".join(s.replace("\\", "\\\\").replace('"', '\\"') for s in lines)


def render_dot(text: str, fmt: str) -> bytes:
    """The picture Graphviz's ``dot`` makes of ``text`` in format ``fmt`` (png, svg, pdf)."""
    exe = shutil.which("dot")
    if exe is None:
        raise ToolMissing(
            f"rendering {fmt.upper()} needs Graphviz's dot (Debian package graphviz, or "
            "bash .ci/install-system-packages.sh); write --out graph.dot instead"
        )
    done = subprocess.run([exe, f"-T{fmt}"], input=text.encode(), capture_output=True, timeout=120)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise ToolMissing(f"dot -T{fmt} failed: {message[0] if message else done.returncode}")
    return done.stdout
