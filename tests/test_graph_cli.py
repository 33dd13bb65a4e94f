"""``mlp graph``: the nodes of E, their values and gradients, the lecture's example, DOT."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from conftest import CONFIGS

from mlpcli.config import load_config
from mlpcli.engine import Node
from mlpcli.graphview import error_graph, forward_order, to_dot
from mlpcli.nn.objective import Objective
from mlpcli.prepare import prepare

HAVE_DOT = shutil.which("dot") is not None

#: A network with every kind of node: two hidden layers (tanh, relu), logistic
#: outputs for squared error, and both penalties.
WIDE = """\
seed: 1
data:
  train: {generator: blobs, n_samples: 60, classes: 3}
  task: classification
model:
  hidden: [5, 4]
  activation: [tanh, relu]
  output_activation: sigmoid
loss: squared_error
regularizer: {type: elastic, lambda_l1: 0.5, lambda_l2: 2.0}
train: {epochs: 1, batch: {mode: batch}, lr: 0.1}
"""


def graph_json(mlp, *args):
    res = mlp("graph", *args, "--json", "--quiet")
    assert res.exit_code == 0, res.stderr
    return res.json()


def by_name(doc):
    return {n["name"]: n for n in doc["nodes"]}


def test_graph_lists_exactly_the_nodes_of_the_network(mlp):
    doc = graph_json(mlp, CONFIGS / "mlp-xor.yaml", "--batch", "5")  # 2 → 4 tanh → 1, BCE
    nodes = by_name(doc)
    assert [n["name"] for n in doc["nodes"]] == [
        "x", "layers.0.weight", "layers.0.bias", "layers.0.a", "layers.0.h",
        "layers.1.weight", "layers.1.bias", "layers.1.a", "t", "E",
    ]  # fmt: skip
    shapes = {name: tuple(n["shape"]) for name, n in nodes.items()}
    assert shapes == {
        "x": (5, 2), "layers.0.weight": (4, 2), "layers.0.bias": (4,), "layers.0.a": (5, 4),
        "layers.0.h": (5, 4), "layers.1.weight": (1, 4), "layers.1.bias": (1,),
        "layers.1.a": (5, 1), "t": (5, 1), "E": (),
    }  # fmt: skip
    assert nodes["layers.0.a"]["params"] == ["layers.0.weight", "layers.0.bias"]
    assert nodes["layers.0.a"]["n_params"] == 4 * 2 + 4
    assert nodes["layers.1.a"]["n_params"] == 4 + 1
    assert doc["n_params"] == 17 and doc["root"] == "E"
    assert nodes["layers.0.h"]["op"] == "Tanh" and nodes["E"]["op"] == "BinaryCrossEntropy"
    assert nodes["layers.0.a"]["inputs"] == ["x", "layers.0.weight", "layers.0.bias"]
    assert "value" not in nodes["E"]  # structure only, without --values


def test_graph_of_a_regularized_network_with_features(mlp, write):
    doc = graph_json(mlp, write("c.yaml", WIDE))
    names = [n["name"] for n in doc["nodes"]]
    assert set(names) == {
        "x", "t", "loss", "penalty.l1", "penalty.l2", "penalty", "E",
        *(f"layers.{i}.{p}" for i in range(3) for p in ("weight", "bias", "a", "h")),
    }  # fmt: skip
    nodes = by_name(doc)
    assert [nodes[f"layers.{i}.h"]["op"] for i in range(3)] == ["Tanh", "Relu", "Sigmoid"]
    assert nodes["penalty.l1"]["inputs"] == [f"layers.{i}.weight" for i in range(3)]
    assert nodes["penalty.l1"]["params"] == []  # the weights belong to their layers
    assert nodes["E"]["inputs"] == ["loss", "penalty"]
    assert doc["n_params"] == (2 * 5 + 5) + (5 * 4 + 4) + (4 * 3 + 3)

    features = graph_json(
        mlp, CONFIGS / "perceptron-xor-features.yaml", "--batch", "3"
    )  # φ: 2 inputs → 5 features
    assert by_name(features)["x"]["shape"] == [3, 5]
    assert by_name(features)["layers.0.weight"]["shape"] == [1, 5]


def test_values_agree_with_the_engines_own_forward_and_backward(mlp, write):
    config = write("c.yaml", WIDE)
    doc = graph_json(mlp, config, "--values", "--batch", "7")
    nodes = by_name(doc)

    # The engine as training runs it (activations in place), on the same batch.
    exp = prepare(load_config(config))
    x, targets, _ = exp.train.batch(slice(0, 7))
    objective = Objective(exp.model, exp.head, exp.regularizer, len(exp.train))
    e = objective.step(x, targets)
    objective.backward()
    assert nodes["E"]["value"]["values"] == pytest.approx(float(e.total.value), rel=1e-6)
    assert nodes["loss"]["value"]["values"] == pytest.approx(float(e.data.value), rel=1e-6)
    np.testing.assert_allclose(nodes["layers.2.h"]["value"]["values"], e.outputs.value, rtol=1e-6)
    for p in exp.model.parameters():
        np.testing.assert_allclose(nodes[p.name]["grad"]["values"], p.grad, rtol=1e-5, atol=1e-9)

    # Each node shows its own value: a = W h + b before the activation, h(a) after it.
    w0, b0 = (np.array(nodes[f"layers.0.{k}"]["value"]["values"]) for k in ("weight", "bias"))
    a0 = np.array(nodes["layers.0.a"]["value"]["values"])
    np.testing.assert_allclose(a0, x @ w0.T + b0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nodes["layers.0.h"]["value"]["values"], np.tanh(a0), rtol=1e-5)
    a1 = np.array(nodes["layers.1.a"]["value"]["values"])
    assert (a1 < 0).any()  # a ReLU's input has negatives its output cannot show
    np.testing.assert_array_equal(nodes["layers.1.h"]["value"]["values"], np.maximum(a1, 0))

    # The chain rule node by node: ∂E/∂a = ∂E/∂h · h'(a); inputs and targets need none.
    h0 = np.tanh(a0)
    g_h0, g_a0 = (np.array(nodes[f"layers.0.{k}"]["grad"]["values"]) for k in ("h", "a"))
    np.testing.assert_allclose(g_a0, g_h0 * (1 - h0 * h0), rtol=1e-4, atol=1e-8)
    assert nodes["x"]["grad"] is None and nodes["t"]["grad"] is None
    assert nodes["E"]["grad"]["values"] == 1.0
    assert nodes["penalty"]["grad"]["values"] == 1.0

    # Backpropagation's order: every node before the nodes it was computed from.
    order = doc["backward_order"]
    assert order[0] == "E" and sorted(order) == sorted(nodes)
    for name, node in nodes.items():
        assert all(order.index(name) < order.index(i) for i in node["inputs"])


def test_graph_of_a_class_weighted_error_shows_the_weights_training_uses(mlp):
    config = CONFIGS / "customers-churn.yaml"  # class_weight: balanced, 16 relu, cross-entropy
    nodes = by_name(graph_json(mlp, config, "--values", "--batch", "6"))
    c = nodes["c"]
    assert c["kind"] == "class_weight" and c["shape"] == [6] and c["grad"] is None
    assert nodes["E"]["inputs"] == ["layers.1.a", "t", "c"]

    # The same E by NumPy alone: balanced weights n / (K n_k) over the training labels.
    labels = prepare(load_config(config)).train
    labels = labels.selected(labels.labels)
    counts = np.bincount(labels)
    weights = len(labels) / (len(counts) * counts[labels[:6]])
    np.testing.assert_allclose(c["value"]["values"], weights, rtol=1e-6)
    value = {k: np.array(n["value"]["values"]) for k, n in nodes.items()}
    hidden = np.maximum(value["x"] @ value["layers.0.weight"].T + value["layers.0.bias"], 0)
    y = hidden @ value["layers.1.weight"].T + value["layers.1.bias"]
    losses = np.log(np.exp(y).sum(axis=1)) - y[np.arange(6), labels[:6]]
    assert value["E"] == pytest.approx(np.mean(weights * losses), rel=1e-5)
    unweighted = graph_json(mlp, config, "--values", "--batch", "6", "--set",
                            "data.class_weight=null")  # fmt: skip
    assert "c" not in by_name(unweighted)
    assert by_name(unweighted)["E"]["value"]["values"] == pytest.approx(np.mean(losses), rel=1e-5)


def test_values_table_in_the_terminal(mlp):
    res = mlp("graph", CONFIGS / "mlp-xor.yaml", "--values")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""  # the table is human output: stderr
    rows = [line for line in res.stderr.splitlines() if line.startswith("│")]
    assert [r.split("│")[2].strip() for r in rows if r.split("│")[1].strip()][:3] == [
        "E", "t", "layers.1.a",
    ]  # fmt: skip
    assert "∂E/∂node" in res.stderr


def test_lecture_example_from_the_command_line(mlp):
    doc = graph_json(mlp, "--expr", "x*y + z", "--at", "x=3,y=-5,z=2")
    nodes = {n["name"]: n for n in doc["nodes"]}
    value = {k: n["value"]["values"] for k, n in nodes.items()}
    grad = {k: n["grad"]["values"] for k, n in nodes.items()}
    assert value == {"x": 3.0, "y": -5.0, "z": 2.0, "a": -15.0, "b": -13.0}
    assert grad == {"b": 1.0, "a": 1.0, "x": -5.0, "y": 3.0, "z": 1.0}
    assert nodes["a"]["formula"] == "x · y" and nodes["b"]["formula"] == "a + z"
    assert doc["root"] == "b" and doc["backward_order"] == ["b", "z", "a", "y", "x"]

    res = mlp("graph", "--expr", "x*y + z", "--at", "x=3,y=-5,z=2")
    assert res.exit_code == 0
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in res.stderr.splitlines()]
    assert ["3", "a", "x · y", "scalar", "-15", "1"] in rows


def test_expressions_with_constants_division_and_negation(mlp):
    doc = graph_json(mlp, "--expr", "-(x - 2) / y", "--at", "x=5, y=4")
    nodes = by_name(doc)
    root = nodes[doc["root"]]
    assert root["value"]["values"] == -0.75
    assert nodes["x"]["grad"]["values"] == -0.25  # −1/y
    assert nodes["y"]["grad"]["values"] == pytest.approx(3 / 16)  # (x − 2)/y²
    assert nodes["2"]["kind"] == "constant" and nodes["2"]["grad"] is None


def test_constant_subexpressions_are_nodes_of_the_graph(mlp):
    doc = graph_json(mlp, "--expr", "2*3*x", "--at", "x=5")
    nodes = by_name(doc)
    assert [n["name"] for n in doc["nodes"]] == ["2", "3", "a", "x", "b"]
    assert nodes["a"]["formula"] == "2 · 3" and nodes["b"]["formula"] == "a · x"
    value = {k: n["value"]["values"] for k, n in nodes.items()}
    assert value == {"2": 2.0, "3": 3.0, "a": 6.0, "x": 5.0, "b": 30.0}
    assert nodes["a"]["grad"]["values"] == 5.0 and nodes["x"]["grad"]["values"] == 6.0
    assert nodes["2"]["grad"] is None and nodes["3"]["grad"] is None
    doc = graph_json(mlp, "--expr", "1+2")
    assert doc["root"] == "a" and by_name(doc)["a"]["value"]["values"] == 3.0
    res = mlp("graph", "--expr", "1 + 2*3", "--dot", "-q")
    assert res.exit_code == 0, res.stderr
    assert len(_dot_structure(res.stdout, n_edges=4)) == 5  # 1, 2, 3, a = 2·3, b = 1 + a


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expr", "9" * 400 + "*x", "--at", "x=1"], "the number 9999999999…9999 (400 chara"),
        (["--expr", "1e999"], "the number 1e999 is beyond float64's range"),
        (["--expr", "1e308*10"], "node a = 1e+308 · 10 overflows float64"),
        (["--expr", "x/y", "--at", "x=1,y=0"], "division by zero at node a = x / y (y = 0)"),
        (["--expr", "x/(y-y)", "--at", "x=0,y=2"], "division by zero at node b = x / a (a = 0)"),
        (["--expr", "1/y", "--at", "y=1e-200"], "∂a/∂y overflows float64"),
    ],
)
def test_expressions_beyond_float64_are_refused_by_node(mlp, args, message):
    for extra in ([], ["--json"], ["--dot"]):
        res = mlp("graph", *args, *extra)
        assert res.exit_code == 2, res.stderr
        assert message in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
        if extra == ["--json"]:
            assert message in res.json()["error"]
        else:
            assert res.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expr", "__import__('os').system('true')"], "not allowed"),
        (["--expr", "x**2", "--at", "x=1"], "not allowed"),
        (["--expr", "x.real", "--at", "x=1"], "not allowed"),
        (["--expr", "x +", "--at", "x=1"], "invalid syntax at the end: 'x +'"),
        (["--expr", "x + * y", "--at", "x=1,y=2"], "invalid syntax at column 5"),
        (["--expr", "(x", "--at", "x=1"], "at column 1 ('(' was never closed)"),
        (["--expr", "  "], "--expr: the expression is empty"),
        (["--expr", "x*y", "--at", "x=1"], "no value for y"),
        (["--expr", "x", "--at", "x=1,w=2"], "w unused"),
        (["--expr", "x", "--at", "x=one"], "not NAME=NUMBER"),
        (["--expr", "x", "--at", "x=1", CONFIGS / "mlp-xor.yaml"], "drop CONFIG"),
        ([CONFIGS / "mlp-xor.yaml", "--batch", "100000"], "--batch 100000"),
        ([], "missing CONFIG"),
        ([CONFIGS / "mlp-xor.yaml", "--out", "g.jpg"], "unknown picture format"),
    ],
)
def test_graph_refuses_bad_input_with_one_line(mlp, args, message):
    res = mlp("graph", *args)
    assert res.exit_code == 2, res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr


def _dot_structure(text: str, n_edges: int) -> list[str]:
    """The node ids of a DOT text, after checking it is one well-formed digraph."""
    assert text.startswith("digraph G {") and text.rstrip().endswith("}")
    ids = re.findall(r"^\s+(n\d+) \[label=\"(?:[^\"\\]|\\.)*\"[^\]]*\];$", text, re.M)
    edges = re.findall(r"^\s+(n\d+) -> (n\d+);$", text, re.M)
    assert len(edges) == n_edges and len(set(ids)) == len(ids)
    assert {a for e in edges for a in e} <= set(ids)
    body = text.strip().splitlines()[1:-1]
    assert len(body) == 2 + len(ids) + len(edges)  # rankdir, node defaults, nodes, edges
    return ids


def test_dot_output_is_a_well_formed_digraph(mlp, tmp_path):
    exp = prepare(load_config(CONFIGS / "quickstart.yaml"))
    view = error_graph(exp, 2)
    n_edges = sum(len(v.node.parents) for v in view.nodes)
    res = mlp("graph", CONFIGS / "quickstart.yaml", "--batch", "2", "--values", "--dot", "-q")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == to_dot(view, values=True)
    ids = _dot_structure(res.stdout, n_edges)
    assert len(ids) == len(view.nodes) == 14
    if HAVE_DOT:  # Graphviz's own parser agrees
        done = subprocess.run(["dot", "-Tcanon"], input=res.stdout, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    res = mlp("graph", CONFIGS / "mlp-xor.yaml", "--out", tmp_path / "g.dot", "-q")
    assert res.exit_code == 0 and res.stdout == ""
    _dot_structure((tmp_path / "g.dot").read_text(), 9)


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot is not installed")
def test_out_png_is_rendered_by_graphviz(mlp, tmp_path):
    import matplotlib.image

    out = tmp_path / "graph.png"
    res = mlp("graph", "--expr", "x*y + z", "--at", "x=3,y=-5,z=2", "--out", out, "-q")
    assert res.exit_code == 0, res.stderr
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 100 and image.shape[1] > 200 and image.std() > 0.05


def test_out_png_without_graphviz_says_how_to_get_it(mlp, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on this PATH
    res = mlp("graph", CONFIGS / "mlp-xor.yaml", "--out", tmp_path / "g.png")
    assert res.exit_code == 2
    assert "graphviz" in res.stderr and "--out graph.dot" in res.stderr
    assert not (tmp_path / "g.png").exists()


def test_forward_order_puts_each_leaf_before_its_first_reader():
    x, y = Node(2.0, requires_grad=True, name="x"), Node(3.0, requires_grad=True, name="y")
    a = x * y
    b = a * x + y
    order = forward_order(b)
    assert order[0] is x and order[1] is y and order[-1] is b
    assert len(order) == 5  # x, y, a = x·y, a·x, b: every node once
