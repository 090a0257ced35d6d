"""autograd.viz: the tape as a Wengert list and as Graphviz DOT."""

import re
import shutil
import sys
import types

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as ag
from autograd import viz


def comments(listing):
    return [line.split("#", 1)[1].strip() for line in str(listing).splitlines()]


def statements(listing):
    return [re.sub(r"\s+", " ", line.split("#", 1)[0]).strip() for line in str(listing).splitlines()]


# ---------------------------------------------------------------------------
# tape(): one line per node, in recording order.
# ---------------------------------------------------------------------------

def test_tape_lists_inputs_then_nodes_in_recording_order():
    x = ag.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    y = (x * 2.0).exp().sum(axis=1)
    assert statements(viz.tape(y)) == [
        "v0 = input",
        "v1 = mul(v0, 2.0)",
        "v2 = exp(v1)",
        "v3 = sum(v2)",
    ]
    assert comments(viz.tape(y)) == [
        "(4, 3) float32 requires grad",
        "(4, 3) float32",
        "(4, 3) float32",
        "(4,) float32",
    ]


def test_tape_order_follows_recording_not_argument_order():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0, 4.0], requires_grad=True)
    later = b.exp()    # recorded first
    earlier = a.tanh()
    y = earlier + later
    assert statements(viz.tape(y, names={a: "a", b: "b"})) == [
        "b = input",
        "a = input",
        "v0 = exp(b)",
        "v1 = tanh(a)",
        "v2 = add(v1, v0)",
    ]


@pytest.mark.parametrize("names", [lambda x, w: {x: "x", w: "w"}, lambda x, w: {"x": x, "w": w}])
def test_tape_uses_given_names_either_way_round(names):
    x = ag.tensor([[1.0, 2.0]], requires_grad=True)
    w = ag.tensor([[0.5], [0.25]], requires_grad=True)
    listing = viz.tape((x @ w).relu(), names=names(x, w))
    assert statements(listing) == ["x = input", "w = input", "v0 = matmul(x, w)", "v1 = relu(v0)"]


def test_generated_names_skip_names_the_user_took():
    x = ag.tensor(1.0, requires_grad=True)
    y = ag.tensor(2.0, requires_grad=True)
    listing = viz.tape(x * y, names={x: "v0"})
    assert statements(listing) == ["v0 = input", "v1 = input", "v2 = mul(v0, v1)"]


def test_array_constants_are_named_and_scalars_are_inlined():
    x = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    mask = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    y = (x * mask + 0.5) / 4
    assert statements(viz.tape(y, names={x: "x"})) == [
        "x = input",
        "c0 = constant",
        "v0 = mul(x, c0)",
        "v1 = add(v0, 0.5)",
        "v2 = div(v1, 4.0)",
    ]
    assert comments(viz.tape(y))[1] == "(2, 3) float64"


def test_a_value_used_twice_is_listed_once():
    x = ag.tensor(3.0, requires_grad=True)
    square = x * x
    y = square + square.exp() + x
    listing = viz.tape(y, names={x: "x"})
    assert statements(listing) == [
        "x = input",
        "v0 = mul(x, x)",
        "v1 = exp(v0)",
        "v2 = add(v0, v1)",
        "v3 = add(v2, x)",
    ]


def test_detached_and_no_grad_results_are_constants():
    x = ag.tensor([1.0, -2.0], requires_grad=True)
    with ag.no_grad():
        scale = x.abs() * 2.0
    y = x * scale - x.detach()
    assert statements(viz.tape(y, names={x: "x"})) == [
        "x = input",
        "c0 = constant",
        "c1 = constant",
        "v0 = mul(x, c0)",
        "v1 = sub(v0, c1)",
    ]


def test_tape_of_a_leaf_or_a_constant_is_one_line():
    assert statements(viz.tape(ag.tensor([1.0], requires_grad=True))) == ["v0 = input"]
    assert statements(viz.tape(ag.tensor(3.0))) == ["c0 = constant"]


def test_listing_is_a_string_whose_repr_is_the_listing():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    listing = viz.tape(x.sum())
    assert isinstance(listing, str)
    assert repr(listing) == str(listing)
    assert "\n" in repr(listing) and "'" not in repr(listing)


def test_comments_line_up():
    x = ag.tensor(np.ones((2, 2)), requires_grad=True)
    y = (x @ x).exp().sum()
    columns = {line.index("#") for line in str(viz.tape(y)).splitlines()}
    assert len(columns) == 1


def test_tape_after_backward_marks_freed_nodes_and_says_why():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum()
    y.backward()
    listing = str(viz.tape(y))
    assert statements(listing)[0] == "v0 = sum(...)"
    assert "retain_graph=True" in listing and "before backward()" in listing


def test_tape_after_backward_with_retain_graph_is_whole():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum()
    before = str(viz.tape(y))
    y.backward(retain_graph=True)
    assert str(viz.tape(y)) == before


def test_a_long_chain_needs_no_recursion():
    length = 5 * sys.getrecursionlimit()
    x = ag.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(length):
        y = y * 1.0
    lines = str(viz.tape(y)).splitlines()
    assert len(lines) == length + 1
    assert lines[-1].startswith(f"v{length} = mul(v{length - 1}, 1.0)")


UNARY = {"exp": ag.exp, "tanh": ag.tanh, "sigmoid": ag.sigmoid, "relu": ag.relu, "neg": lambda t: -t,
         "abs": ag.abs, "sum": ag.sum}


@given(st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=12))
def test_any_chain_of_unary_ops_is_listed_op_by_op(ops):
    x = ag.tensor([0.3, -0.7], requires_grad=True)
    y = x
    for op in ops:
        y = UNARY[op](y)
    expected = ["v0 = input"] + [f"v{i + 1} = {op}(v{i})" for i, op in enumerate(ops)]
    assert statements(viz.tape(y)) == expected


@pytest.mark.parametrize(
    "names, error, message",
    [
        ({"x": "y"}, TypeError, "names maps tensors to names"),
        ({"not a name": None}, TypeError, "names maps tensors to names"),
        ("bad identifier", ValueError, "not usable as a variable name"),
        ("duplicate", ValueError, "repeated: ['x']"),
    ],
)
def test_bad_names_are_explained(names, error, message):
    x = ag.tensor(1.0, requires_grad=True)
    other = ag.tensor(2.0, requires_grad=True)
    if names == "bad identifier":
        names = {x: "my x"}
    elif names == "duplicate":
        names = {x: "x", other: "x"}
    with pytest.raises(error, match=re.escape(message)):
        viz.tape(x * other, names=names)


@pytest.mark.parametrize("function", [viz.tape, viz.to_dot])
def test_non_tensor_output_is_a_type_error(function):
    with pytest.raises(TypeError, match="expected the Tensor whose tape to show, got ndarray"):
        function(np.ones(3))


# ---------------------------------------------------------------------------
# to_dot(): the same graph as Graphviz text.
# ---------------------------------------------------------------------------

def parse_dot(dot):
    declarations = dict(re.findall(r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M))
    edges = re.findall(r"^\s*(n\d+) -> (n\d+);", dot, re.M)
    return declarations, edges


def test_dot_has_one_node_per_tensor_and_one_edge_per_input():
    x = ag.tensor(np.ones((2, 3)), requires_grad=True)
    w = ag.tensor(np.ones((3, 4)), requires_grad=True)
    bias = np.zeros(4)
    y = (x @ w + bias).relu().sum() * 0.5
    dot = viz.to_dot(y, names={x: "x", w: "w"})
    assert dot.startswith("digraph tape {\n") and dot.rstrip().endswith("}")
    declarations, edges = parse_dot(dot)
    labels = {node: label.split("\\n")[0] for node, label in declarations.items()}
    by_label = {label: node for node, label in labels.items()}
    assert sorted(labels.values()) == sorted(
        ["x", "w", "c0", "0.5", "v0 = matmul", "v1 = add", "v2 = relu", "v3 = sum", "v4 = mul"]
    )
    named_edges = sorted((labels[a], labels[b]) for a, b in edges)
    assert named_edges == sorted([
        ("x", "v0 = matmul"), ("w", "v0 = matmul"),
        ("v0 = matmul", "v1 = add"), ("c0", "v1 = add"),
        ("v1 = add", "v2 = relu"), ("v2 = relu", "v3 = sum"),
        ("v3 = sum", "v4 = mul"), ("0.5", "v4 = mul"),
    ])
    assert declarations[by_label["v0 = matmul"]].endswith("\\n(2, 4) float64")


def test_dot_styles_inputs_constants_and_operations_differently():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    dot = viz.to_dot(x * np.array([3.0, 4.0]), rankdir="TB")
    assert "rankdir=TB;" in dot
    lines = {line.split("label=")[1].split("\\n")[0]: line for line in dot.splitlines() if "label=" in line}
    assert "style=filled" in lines['"v0']
    assert "style=dashed" in lines['"c0']
    assert "shape=box" in lines['"v1 = mul']


def test_dot_edges_point_forward_in_recording_order():
    x = ag.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    y = ag.concatenate([x.exp(), x.tanh(), x * x]).max()
    declarations, edges = parse_dot(viz.to_dot(y))
    position = {node: int(re.match(r"v(\d+)", label).group(1))
                for node, label in declarations.items() if label.startswith("v")}
    assert len(edges) == 1 + 1 + 2 + 3 + 1
    assert all(position[a] < position[b] for a, b in edges)


def test_dot_marks_freed_nodes():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum()
    y.backward()
    assert "v0 = sum (freed)" in viz.to_dot(y)


def test_dot_quotes_labels():
    assert viz._quote('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c\\nd"'


def test_dot_rejects_unknown_direction():
    with pytest.raises(ValueError, match="rankdir must be one of"):
        viz.to_dot(ag.tensor(1.0, requires_grad=True), rankdir="up")


# ---------------------------------------------------------------------------
# draw(): renders with the optional graphviz package, or says what to install.
# ---------------------------------------------------------------------------

def small_graph():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    return (x * x).sum()


def test_draw_without_the_graphviz_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    with pytest.raises(RuntimeError) as caught:
        viz.draw(small_graph(), "graph.svg")
    message = str(caught.value)
    assert "pip install 'tapegrad[graphviz]'" in message
    assert "apt install graphviz" in message
    assert "ag.viz.to_dot(y)" in message
    assert isinstance(caught.value.__cause__, ImportError)


class FakeGraphviz(types.ModuleType):
    """Stands in for the graphviz package: records what draw asks of it."""

    class ExecutableNotFound(RuntimeError):
        pass

    def __init__(self, dot_installed):
        super().__init__("graphviz")
        fake = self

        class Source:
            def __init__(self, source):
                fake.source = source

            def pipe(self, format):
                fake.format = format
                if not dot_installed:
                    raise fake.ExecutableNotFound("failed to execute 'dot'")
                return b"rendered " + format.encode()

        self.Source = Source


def test_draw_without_the_dot_program_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", FakeGraphviz(dot_installed=False))
    with pytest.raises(RuntimeError, match=r"apt install graphviz, brew install graphviz"):
        viz.draw(small_graph(), tmp_path / "graph.png")
    assert not (tmp_path / "graph.png").exists()


@pytest.mark.parametrize("filename, file_format", [("g.png", "png"), ("g.PDF", "pdf"), ("g", "svg")])
def test_draw_renders_the_dot_text_in_the_format_of_the_suffix(monkeypatch, tmp_path, filename, file_format):
    fake = FakeGraphviz(dot_installed=True)
    monkeypatch.setitem(sys.modules, "graphviz", fake)
    y = small_graph()
    viz.draw(y, tmp_path / filename)
    assert fake.source == viz.to_dot(y)
    assert fake.format == file_format
    assert (tmp_path / filename).read_bytes() == b"rendered " + file_format.encode()


def test_draw_with_real_graphviz(tmp_path):
    graphviz = pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("the Graphviz 'dot' program is not installed")
    source = viz.draw(small_graph(), tmp_path / "graph.svg")
    assert isinstance(source, graphviz.Source)
    assert (tmp_path / "graph.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


def test_docstring_examples_run():
    import doctest

    failures, attempted = doctest.testmod(viz, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failures == 0
