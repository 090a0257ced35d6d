"""The tape made visible: as text (a Wengert list) and as a Graphviz graph.

    >>> import autograd as ag
    >>> x = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * 2.0).exp().sum()
    >>> print(ag.viz.tape(y, names={x: "x"}))
    x  = input        # (2,) float64 requires grad
    v0 = mul(x, 2.0)  # (2,) float64
    v1 = exp(v0)      # (2,) float64
    v2 = sum(v1)      # () float64

Print the tape *before* calling ``backward``: backward frees each node's links to
its inputs unless it is given ``retain_graph=True``, and a freed node can only be
shown on its own.
"""

from __future__ import annotations

import itertools

import numpy as np

from autograd.tensors import Tensor

__all__ = ["tape", "to_dot", "draw", "Listing"]

_ALIGN_AT_MOST = 48  # wider statements are not padded further: one long line should not push all comments right


class Listing(str):
    """A string whose repr is the text itself, so a tape reads well in a REPL and a notebook."""

    def __repr__(self):
        return str(self)

    def _repr_pretty_(self, printer, cycle):  # IPython's plain-text display
        printer.text(str(self))


# ---------------------------------------------------------------------------
# Walking the graph (iteratively: tapes can be millions of nodes long).
# ---------------------------------------------------------------------------

def _is_recorded(tensor):
    return tensor._vjps is not None


def _is_freed(tensor):
    # A recorded node always has at least one parent; backward (without
    # retain_graph) drops them to free memory.
    return _is_recorded(tensor) and not tensor._parents


def _is_inline_constant(tensor):
    return not tensor.requires_grad and np.ndim(tensor.data) == 0


def _collect(output):
    """Every tensor ``output`` depends on: (recorded nodes in tape order, inputs in order of first use)."""
    if not isinstance(output, Tensor):
        raise TypeError(f"expected the Tensor whose tape to show, got {type(output).__name__}")
    seen = {id(output)}
    stack = [output]
    nodes = []
    while stack:
        tensor = stack.pop()
        if _is_recorded(tensor):
            nodes.append(tensor)
            for parent in tensor._parents:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)
    nodes.sort(key=lambda node: node._seq)
    inputs, listed = [], set()
    for tensor in [parent for node in nodes for parent in node._parents] or [output]:
        if not _is_recorded(tensor) and id(tensor) not in listed:
            listed.add(id(tensor))
            inputs.append(tensor)
    # Inputs that require grad first (the stable sort keeps first-use order), then constants.
    inputs.sort(key=lambda tensor: not tensor.requires_grad)
    return nodes, inputs


def _name_lookup(names):
    """Accept {tensor: "x"} or {"x": tensor}; return {id(tensor): "x"}."""
    lookup = {}
    for key, value in (names or {}).items():
        tensor, name = (key, value) if isinstance(key, Tensor) else (value, key)
        if not isinstance(tensor, Tensor) or not isinstance(name, str):
            raise TypeError(
                "names maps tensors to names, like names={x: 'x'} (or {'x': x}); got the pair "
                f"{type(key).__name__}: {type(value).__name__}"
            )
        if not name.isidentifier():
            raise ValueError(f"names: {name!r} is not usable as a variable name in the listing")
        lookup[id(tensor)] = name
    taken = list(lookup.values())
    duplicates = sorted({name for name in taken if taken.count(name) > 1})
    if duplicates:
        raise ValueError(f"names: each name must be given to one tensor; repeated: {duplicates}")
    return lookup


def _unused_names(prefix, taken):
    for number in itertools.count():
        if f"{prefix}{number}" not in taken:
            yield f"{prefix}{number}"


def _assign_names(output, nodes, inputs, given):
    """Names for every tensor shown: given names, else v0, v1, ... (c0, c1, ... for constants)."""
    names = {}
    variables = _unused_names("v", set(given.values()))
    constants = _unused_names("c", set(given.values()))
    for tensor in inputs + nodes:
        if id(tensor) in given:
            names[id(tensor)] = given[id(tensor)]
        elif _is_inline_constant(tensor) and tensor is not output:
            continue  # written as its value where it is used
        elif tensor.requires_grad or _is_recorded(tensor):
            names[id(tensor)] = next(variables)
        else:
            names[id(tensor)] = next(constants)
    return names


def _constant_text(tensor):
    value = np.asarray(tensor.data)[()]
    return str(value) if not isinstance(value, np.bool_) else str(bool(value))


def _describe(tensor):
    return f"{tuple(np.shape(tensor.data))} {np.asarray(tensor.data).dtype}"


def _argument(tensor, names):
    return names[id(tensor)] if id(tensor) in names else _constant_text(tensor)


def _statements(output, names):
    """(name, right-hand side, comment) for every line, in recording order."""
    nodes, inputs = _collect(output)
    names = _assign_names(output, nodes, inputs, _name_lookup(names))
    rows = []
    for tensor in inputs:
        if id(tensor) not in names:
            continue
        if tensor.requires_grad:
            kind, note = "input", " requires grad"
        else:
            kind, note = "constant", ""
        rows.append((names[id(tensor)], kind, _describe(tensor) + note))
    any_freed = False
    for node in nodes:
        if _is_freed(node):
            any_freed = True
            arguments = "..."
        else:
            arguments = ", ".join(_argument(parent, names) for parent in node._parents)
        rows.append((names[id(node)], f"{node._op}({arguments})", _describe(node)))
    return rows, any_freed


# ---------------------------------------------------------------------------
# Public functions.
# ---------------------------------------------------------------------------

def tape(output, names=None) -> Listing:
    """The tape that produced ``output``, as a Wengert list: one line per node, in recording order.

    ``output`` is any Tensor (often the scalar loss). Inputs come first: tensors that
    require grad are named v0, v1, ... and other array constants c0, c1, ...; 0-d
    constants are written inline by value. ``names`` gives your own names, as
    ``{tensor: "name"}`` (or ``{"name": tensor}``). Each line ends with the result's
    shape and dtype:

        v7 = exp(v6)    # (128, 10) float32

    >>> import autograd as ag
    >>> w = ag.tensor([[1.0, -1.0]], requires_grad=True)
    >>> loss = w.relu().sum()
    >>> print(ag.viz.tape(loss, names={w: "w"}))
    w  = input    # (1, 2) float64 requires grad
    v0 = relu(w)  # (1, 2) float64
    v1 = sum(v0)  # () float64

    Call it before ``backward()`` (or pass ``retain_graph=True`` to backward):
    backward frees the links between nodes, and freed nodes show ``op(...)``.
    Returns a ``str`` subclass that displays as the listing itself.
    """
    rows, any_freed = _statements(output, names)
    name_width = max(len(name) for name, _, _ in rows)
    statements = [(f"{name:<{name_width}} = {right}", comment) for name, right, comment in rows]
    width = min(max(len(statement) for statement, _ in statements), _ALIGN_AT_MOST)
    lines = [f"{statement:<{width}}  # {comment}" for statement, comment in statements]
    if any_freed:
        lines.append(
            "# (...) marks nodes whose inputs backward() already freed: print the tape "
            "before backward(), or call backward(retain_graph=True)"
        )
    return Listing("\n".join(lines))


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(output, names=None, rankdir="LR") -> str:
    """The graph that produced ``output`` as Graphviz DOT text (needs nothing installed).

    One node per tensor, an edge from each input to the operation that used it.
    Inputs that require grad are filled ovals, constants dashed ovals, recorded
    operations boxes labelled ``name = op`` with shape and dtype. ``names`` as in
    :func:`tape`; ``rankdir`` is Graphviz's layout direction ("LR" or "TB").

    >>> import autograd as ag
    >>> x = ag.tensor(2.0, requires_grad=True)
    >>> print(ag.viz.to_dot(x * x).splitlines()[0])
    digraph tape {
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be one of 'LR', 'TB', 'RL', 'BT', got {rankdir!r}")
    nodes, inputs = _collect(output)
    names = _assign_names(output, nodes, inputs, _name_lookup(names))
    ids = {}
    lines = [
        "digraph tape {",
        f"  rankdir={rankdir};",
        '  node [fontname="monospace", fontsize=10];',
    ]

    def declare(tensor, label, style):
        ids[id(tensor)] = f"n{len(ids)}"
        lines.append(f"  {ids[id(tensor)]} [label={_quote(label)}, {style}];")

    for tensor in inputs:
        if id(tensor) not in names:
            continue
        if tensor.requires_grad:
            style = 'shape=ellipse, style=filled, fillcolor="#dbe9f6"'
        else:
            style = "shape=ellipse, style=dashed"
        declare(tensor, f"{names[id(tensor)]}\n{_describe(tensor)}", style)
    for node in nodes:
        suffix = " (freed)" if _is_freed(node) else ""
        declare(node, f"{names[id(node)]} = {node._op}{suffix}\n{_describe(node)}", "shape=box")
    for node in nodes:
        for parent in node._parents:
            if id(parent) not in ids:  # a 0-d constant: a small plain-text node of its own
                declare(parent, _constant_text(parent), "shape=plaintext")
            lines.append(f"  {ids[id(parent)]} -> {ids[id(node)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


_INSTALL_HINT = (
    "ag.viz.draw needs the 'graphviz' Python package and the Graphviz 'dot' program. "
    "Install the package with  pip install 'tapegrad[graphviz]'  (or  pip install graphviz), "
    "and the program with your system's package manager (apt install graphviz, "
    "brew install graphviz, conda install graphviz; see graphviz.org/download). "
    "Without them, ag.viz.to_dot(y) gives the DOT text and ag.viz.tape(y) the tape as text."
)


def draw(output, path=None, names=None, rankdir="LR"):
    """Render the graph of ``output`` with Graphviz; write it to ``path`` if given.

    The file format follows the suffix of ``path`` (".svg", ".png", ".pdf", ...;
    no suffix means SVG). Returns a ``graphviz.Source``, which Jupyter shows inline.
    Needs the optional ``graphviz`` package and the ``dot`` program; when either
    is missing, raises ``RuntimeError`` saying what to install.

    >>> import autograd as ag
    >>> x = ag.tensor(3.0, requires_grad=True)
    >>> ag.viz.draw(x * x + x, "graph.svg")  # doctest: +SKIP
    """
    import pathlib

    try:
        import graphviz
    except ImportError as error:
        raise RuntimeError(_INSTALL_HINT) from error
    source = graphviz.Source(to_dot(output, names=names, rankdir=rankdir))
    if path is None:
        file_format, path = "svg", None
    else:
        path = pathlib.Path(path)
        file_format = path.suffix.lstrip(".").lower() or "svg"
    try:
        rendered = source.pipe(format=file_format)  # runs dot now, so problems surface here
    except graphviz.ExecutableNotFound as error:
        raise RuntimeError(_INSTALL_HINT) from error
    if path is not None:
        path.write_bytes(rendered)
    return source
