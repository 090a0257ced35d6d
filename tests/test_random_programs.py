"""Differential test: random expression graphs against a NumPy reference.

Hypothesis draws small *programs*: a few float inputs (broadcast-compatible shapes,
0-d included, in contiguous, transposed, strided, negatively strided and stride-0
layouts, some handed over through ``x.data = view``), then a sequence of operations
over every primitive of the engine, spelled each of the ways the API allows (function,
method, operator, NumPy call), with fan-out (``x * x``, ``concatenate([x, x])``),
NumPy arrays and Python numbers mixed in, and repeated indices.

Each program is run three ways and the results compared:

* the engine (Tensors; the program is Python source evaluated op by op, so a failing
  example prints as a standalone script, see ``Program.source``);
* a pure NumPy interpreter of the same program (the reference forward), together
  with a NumPy reverse-mode interpreter written here from the documented gradient
  rules (ties share equally, relu'(0) = abs'(0) = 0, clip's bounds count as inside);
* central finite differences (``autograd.testing.gradcheck``), first order and
  second order (gradcheck of a function that itself takes the gradient).

Two kinds of programs:

``smooth``   inputs are generic floats; while the program is drawn, the builder runs
             the reference forward and keeps an operation only if every kink it has
             (relu/abs at 0, max/maximum ties, clip's bounds, comparisons) is at least
             ``MARGIN`` away, or *structural*: a tie that persists, bit for bit, at two
             random perturbations of the inputs (``maximum(x, x)``, the max of a
             broadcast axis, ``relu(x - x)``), where any sharing that sums to one is the
             true derivative. log/sqrt/pow/div get operands made positive or nonzero by
             inserted ops (``exp(v)``, ``v * v + 0.5``, ``sigmoid(v) + 0.25``).
             Finite differences are valid for these, to second order.
``ties``     inputs and constants on a coarse dyadic grid and only operations that are
             exact in floating point, so ties are frequent and exact; the gradient must
             equal the documented convention (the NumPy reverse-mode interpreter), in
             float64 and float32, by plain backward and by the recorded (create_graph)
             backward alike.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.testing import gradcheck

# ---------------------------------------------------------------------------
# Budget. Examples scale with the loaded profile (conftest: ci 30, dev 150).
# ---------------------------------------------------------------------------

PROFILE = settings()


def budget(factor):
    return settings(
        max_examples=max(1, int(PROFILE.max_examples * factor)),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.large_base_example, HealthCheck.filter_too_much],
    )


MAX_STEPS = 12       # operations drawn per program (plus the ones inserted to keep domains)
MAX_SIZE = 48        # entries of any value
MAX_NDIM = 5
BOUND = 100.0        # |value| of any entry (keeps float32 and finite differences accurate)
MARGIN = 0.02        # distance of a non-structural kink from the inputs of its op
PERTURBATION = 1e-3  # size of the input perturbations that tell structural ties apart

F64_VALUES = dict(rtol=1e-12, atol=1e-12)
F64_GRADIENTS = dict(rtol=1e-9, atol=1e-10)
F32 = 3e-5           # float32 against float64, relative to the largest magnitude around (~250 ulps)


# ---------------------------------------------------------------------------
# Layouts: the same values in different memory orders.
# ---------------------------------------------------------------------------

def transposed(a):
    """Same values, Fortran order (the transpose of a C-ordered array)."""
    return np.ascontiguousarray(a.T).T


def strided(a):
    """Same values, every other element of a buffer twice as large on each axis."""
    big = np.zeros(tuple(2 * n for n in a.shape), a.dtype)
    view = big[tuple(slice(None, None, 2) for _ in a.shape)]
    view[...] = a
    return view


def reversed_(a):
    """Same values, negative strides on every axis."""
    flip = tuple(slice(None, None, -1) for _ in a.shape)
    return np.ascontiguousarray(a[flip])[flip]


def broadcast(a):
    """Same values (constant along axis 0): a read-only view with stride 0 on axis 0."""
    return np.broadcast_to(a[:1], a.shape)


def contiguous(a):
    return np.array(a)


LAYOUTS = {f.__name__: f for f in (contiguous, transposed, strided, reversed_, broadcast)}


def layouts_for(shape, allow_broadcast=True):
    if not shape:
        return ["contiguous"]
    names = ["contiguous", "strided", "reversed_"]
    if len(shape) >= 2:
        names.append("transposed")
    if allow_broadcast and shape[0] > 1:
        names.append("broadcast")
    return names


# ---------------------------------------------------------------------------
# Reference gradient helpers (NumPy, float64).
# ---------------------------------------------------------------------------

def unbroadcast(g, shape):
    """Sum a cotangent of a broadcast result back to ``shape``."""
    g = np.asarray(g, dtype=np.float64)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def reduced_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim for a in axes)


def kept_shape(shape, axis):
    axes = reduced_axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def spread(g, shape, axis):
    """A reduction's cotangent broadcast back over the input's shape."""
    return np.broadcast_to(np.reshape(g, kept_shape(shape, axis)), shape)


def extremum_share(x, out, axis):
    """1/k for each of the k winners of every reduced group, 0 elsewhere."""
    winners = np.asarray(x) == np.reshape(out, kept_shape(np.shape(x), axis))
    return winners / winners.sum(axis=reduced_axes(axis, np.ndim(x)), keepdims=True)


def tie_share(a, b):
    """maximum's share for ``a``: 1 where a wins, 1/2 on ties."""
    return (np.asarray(a > b, dtype=np.float64) + 0.5 * np.asarray(a == b, dtype=np.float64))


def matmul_vjp(g, out, a, b):
    """Promote 1-D operands to matrices, take G Bᵀ and Aᵀ G, sum batches, demote."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    out2 = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1])
    g2 = np.reshape(g, out2)
    ga = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
    gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
    return [ga, gb]


def getitem_vjp(g, x, index):
    """Scatter-add through the map of flat positions that ``index`` selects."""
    shape = np.shape(x)
    size = int(np.prod(shape))
    positions = np.arange(size).reshape(shape)[index]
    flat = np.bincount(np.ravel(positions), weights=np.ravel(np.asarray(g, dtype=np.float64)),
                       minlength=size)
    return flat.reshape(shape)


def concatenate_vjp(g, parts, axis):
    g = np.asarray(g, dtype=np.float64)
    if axis is None:  # the parts were flattened
        sizes = np.cumsum([np.size(p) for p in parts])[:-1]
        return [piece.reshape(np.shape(p)) for piece, p in zip(np.split(g, sizes), parts)]
    sizes = np.cumsum([np.shape(p)[axis] for p in parts])[:-1]
    return np.split(g, sizes, axis=axis)


def shape_of(value):
    return np.shape(value)


# ---------------------------------------------------------------------------
# The operations: NumPy forward, NumPy VJP (the documented conventions), kinks,
# domain, and the engine spellings (Python source templates).
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Spelling:
    template: str                   # str.format(*args, parts=..., **params)
    method: bool = False            # needs its first argument to be a tensor
    when: object = None             # params -> bool: available for these params

    def text(self, args, params):
        return self.template.format(*args, parts=", ".join(args), **params)


def F(template, when=None):
    return Spelling(template, False, when)


def M(template, when=None):
    return Spelling(template, True, when)


def _no_kinks(args, out, params):
    return ()


def _no_domain(args, params):
    return ()


@dataclass(frozen=True)
class OpSpec:
    ref: object                     # (args, params) -> ndarray
    vjp: object                     # (g, out, args, params) -> one cotangent per argument
    spellings: tuple
    kinks: object = _no_kinks       # (args, out, params) -> arrays that must avoid 0
    domain: object = _no_domain     # (args, params) -> [(array, minimum)]
    boolean: bool = False           # the result is a bool constant (a comparison)


OPS: dict[str, OpSpec] = {}


def op(name, ref, vjp, *spellings, **options):
    OPS[name] = OpSpec(ref, vjp, spellings, **options)


def unary_spellings(name, method=True, numpy=True):
    spellings = [F(f"ag.{name}({{0}})")]
    if method:
        spellings.append(M(f"{{0}}.{name}()"))
    if numpy:
        spellings.append(F(f"np.{name}({{0}})"))
    return spellings


op("neg", lambda a, p: np.negative(a[0]), lambda g, o, a, p: [-g],
   F("ag.neg({0})"), F("-{0}"), F("np.negative({0})"))
op("exp", lambda a, p: np.exp(a[0]), lambda g, o, a, p: [g * o], *unary_spellings("exp"))
op("log", lambda a, p: np.log(a[0]), lambda g, o, a, p: [g / a[0]], *unary_spellings("log"),
   domain=lambda a, p: [(a[0], 0.1)])
op("sqrt", lambda a, p: np.sqrt(a[0]), lambda g, o, a, p: [g / (2 * o)], *unary_spellings("sqrt"),
   domain=lambda a, p: [(a[0], 0.1)])
op("abs", lambda a, p: np.abs(a[0]), lambda g, o, a, p: [g * np.sign(a[0])],
   *unary_spellings("abs"), F("abs({0})"), kinks=lambda a, o, p: [a[0]])
op("tanh", lambda a, p: np.tanh(a[0]), lambda g, o, a, p: [g * (1 - o.astype(np.float64) ** 2)],
   *unary_spellings("tanh"))
op("sigmoid", lambda a, p: 1 / (1 + np.exp(-a[0])),
   lambda g, o, a, p: [g * o.astype(np.float64) * (1 - o.astype(np.float64))],
   *unary_spellings("sigmoid", numpy=False))
op("relu", lambda a, p: np.maximum(a[0], 0), lambda g, o, a, p: [g * (a[0] > 0)],
   *unary_spellings("relu", numpy=False), kinks=lambda a, o, p: [a[0]])


def _clip_inside(x, low, high):
    inside = np.ones(np.shape(x), dtype=bool)
    if low is not None:
        inside = inside & (x >= low)
    if high is not None:
        inside = inside & (x <= high)
    return inside


op("clip", lambda a, p: np.clip(a[0], a[1], a[2]),
   lambda g, o, a, p: [unbroadcast(g * np.broadcast_to(_clip_inside(*a), np.shape(o)), shape_of(a[0])),
                       None, None],
   F("ag.clip({0}, {1}, {2})"), M("{0}.clip({1}, {2})"), F("np.clip({0}, {1}, {2})"),
   kinks=lambda a, o, p: [a[0] - bound for bound in a[1:] if bound is not None])


def _pow_const_vjp(g, o, a, p):
    c = p["exponent"]
    return [g * 0.0 if c == 0 else g * c * np.asarray(a[0], dtype=np.float64) ** (c - 1)]


def _pow_const_domain(a, p):
    c = p["exponent"]
    if c != int(c):
        return [(a[0], 0.1)]
    if c < 0:
        return [(np.abs(a[0]), 0.25)]
    return []


op("pow_const", lambda a, p: np.power(a[0], p["exponent"]), _pow_const_vjp,
   F("({0}) ** {exponent}"), F("ag.pow({0}, {exponent})"), F("np.power({0}, {exponent})"),
   domain=_pow_const_domain)
op("rpow_const", lambda a, p: np.power(p["base"], a[0]),
   lambda g, o, a, p: [g * o.astype(np.float64) * np.log(p["base"])],
   F("{base} ** ({0})"), F("ag.pow({base}, {0})"), F("np.power({base}, {0})"))


def binary(name, ref, vjp_a, vjp_b, operator=None, numpy=None, method=False, **options):
    spellings = [F(f"ag.{name}({{0}}, {{1}})")]
    if operator:
        spellings.append(F(f"({{0}}) {operator} ({{1}})"))
    if numpy:
        spellings.append(F(f"np.{numpy}({{0}}, {{1}})"))
    if method:
        spellings.append(M(f"{{0}}.{name}({{1}})"))

    def vjp(g, o, a, p):
        x, y = (np.asarray(v, dtype=np.float64) if not isinstance(v, float) else v for v in a)
        return [unbroadcast(vjp_a(g, o, x, y, a), shape_of(a[0])),
                unbroadcast(vjp_b(g, o, x, y, a), shape_of(a[1]))]

    op(name, lambda a, p: ref(a[0], a[1]), vjp, *spellings, **options)


binary("add", np.add, lambda g, o, x, y, a: g, lambda g, o, x, y, a: g, "+", "add")
binary("sub", np.subtract, lambda g, o, x, y, a: g, lambda g, o, x, y, a: -g, "-", "subtract")
binary("mul", np.multiply, lambda g, o, x, y, a: g * y, lambda g, o, x, y, a: g * x, "*", "multiply")
binary("div", np.divide, lambda g, o, x, y, a: g / y, lambda g, o, x, y, a: -g * x / (y * y),
       "/", "divide", domain=lambda a, p: [(np.abs(a[1]), 0.25)])
binary("pow", np.power,
       lambda g, o, x, y, a: g * y * x ** (y - 1),
       lambda g, o, x, y, a: g * np.asarray(o, dtype=np.float64) * np.log(x), "**", "power",
       domain=lambda a, p: [(a[0], 0.2)])
binary("maximum", np.maximum,
       lambda g, o, x, y, a: g * tie_share(a[0], a[1]), lambda g, o, x, y, a: g * tie_share(a[1], a[0]),
       None, "maximum", method=True, kinks=lambda a, o, p: [np.subtract(a[0], a[1])])
binary("minimum", np.minimum,
       lambda g, o, x, y, a: g * tie_share(a[1], a[0]), lambda g, o, x, y, a: g * tie_share(a[0], a[1]),
       None, "minimum", method=True, kinks=lambda a, o, p: [np.subtract(a[0], a[1])])

COMPARISONS = {">": np.greater, "<": np.less, ">=": np.greater_equal, "<=": np.less_equal}
op("compare", lambda a, p: COMPARISONS[p["op"]](a[0], a[1]), lambda g, o, a, p: [None, None],
   F("({0}) {op} ({1})"), F("np.{ufunc}({0}, {1})"),
   kinks=lambda a, o, p: [np.subtract(a[0], a[1])], boolean=True)


def _where_vjp(g, o, a, p):
    condition = np.broadcast_to(a[0], np.shape(o))
    return [None, unbroadcast(np.where(condition, g, 0.0), shape_of(a[1])),
            unbroadcast(np.where(condition, 0.0, g), shape_of(a[2]))]


op("where", lambda a, p: np.where(a[0], a[1], a[2]), _where_vjp,
   F("ag.where({0}, {1}, {2})"), F("np.where({0}, {1}, {2})"))


def reduction(name, vjp, numpy_names, **options):
    spellings = [F(f"ag.{name}({{0}}, axis={{axis}}, keepdims={{keepdims}})"),
                 M(f"{{0}}.{name}(axis={{axis}}, keepdims={{keepdims}})"),
                 M(f"{{0}}.{name}({{axis}})", when=lambda p: not p["keepdims"])]
    spellings += [F(f"np.{n}({{0}}, axis={{axis}}, keepdims={{keepdims}})") for n in numpy_names]
    reference = getattr(np, numpy_names[0])
    op(name, lambda a, p: reference(a[0], axis=p["axis"], keepdims=p["keepdims"]), vjp,
       *spellings, **options)


def _mean_vjp(g, o, a, p):
    shape = shape_of(a[0])
    count = int(np.prod([shape[i] for i in reduced_axes(p["axis"], len(shape))]))
    return [spread(g, shape, p["axis"]) / count]


def _extremum_vjp(g, o, a, p):
    return [spread(g, shape_of(a[0]), p["axis"]) * extremum_share(a[0], o, p["axis"])]


def _extremum_kinks(a, o, p):
    return [a[0] - np.reshape(o, kept_shape(shape_of(a[0]), p["axis"]))]


reduction("sum", lambda g, o, a, p: [spread(g, shape_of(a[0]), p["axis"])], ["sum"])
reduction("mean", _mean_vjp, ["mean"])
reduction("max", _extremum_vjp, ["max", "amax"], kinks=_extremum_kinks)
reduction("min", _extremum_vjp, ["min", "amin"], kinks=_extremum_kinks)

op("matmul", lambda a, p: np.matmul(a[0], a[1]), lambda g, o, a, p: matmul_vjp(g, o, a[0], a[1]),
   F("({0}) @ ({1})"), F("ag.matmul({0}, {1})"), F("np.matmul({0}, {1})"), M("{0}.matmul({1})"))

_same_shape_vjp = lambda g, o, a, p: [np.reshape(g, shape_of(a[0]))]  # noqa: E731
op("reshape", lambda a, p: np.reshape(a[0], p["shape"]), _same_shape_vjp,
   F("ag.reshape({0}, {shape})"), M("{0}.reshape({shape})"),
   M("{0}.reshape{shape}", when=lambda p: len(p["shape"]) > 0), F("np.reshape({0}, {shape})"))
op("transpose", lambda a, p: np.transpose(a[0], p["axes"]),
   lambda g, o, a, p: [np.transpose(g, None if p["axes"] is None else
                                    np.argsort([i % np.ndim(a[0]) for i in p["axes"]]))],
   F("ag.transpose({0}, {axes})"), M("{0}.transpose({axes})"), F("np.transpose({0}, {axes})"),
   M("{0}.transpose()", when=lambda p: p["axes"] is None),
   M("{0}.T", when=lambda p: p["axes"] is None),
   M("{0}.transpose{axes}", when=lambda p: bool(p["axes"])),
   M("{0}.mT", when=lambda p: p["axes"] is not None and len(p["axes"]) >= 2
     and tuple(p["axes"]) == tuple(range(len(p["axes"]) - 2)) + (len(p["axes"]) - 1, len(p["axes"]) - 2)))
op("expand_dims", lambda a, p: np.expand_dims(a[0], p["axis"]), _same_shape_vjp,
   F("ag.expand_dims({0}, {axis})"), M("{0}.expand_dims({axis})"), F("np.expand_dims({0}, {axis})"))
op("squeeze", lambda a, p: np.squeeze(a[0], p["axis"]), _same_shape_vjp,
   F("ag.squeeze({0}, {axis})"), M("{0}.squeeze({axis})"), F("np.squeeze({0}, {axis})"),
   M("{0}.squeeze()", when=lambda p: p["axis"] is None))
op("broadcast_to", lambda a, p: np.broadcast_to(a[0], p["shape"]),
   lambda g, o, a, p: [unbroadcast(g, shape_of(a[0]))],
   F("ag.broadcast_to({0}, {shape})"), M("{0}.broadcast_to({shape})"),
   F("np.broadcast_to({0}, {shape})"))
op("getitem", lambda a, p: np.asarray(a[0])[p["index"]],
   lambda g, o, a, p: [getitem_vjp(g, a[0], p["index"])],
   M("{0}[{index_code}]"), F("ag.getitem({0}, {index_code})"))
op("concatenate", lambda a, p: np.concatenate(a, axis=p["axis"]),
   lambda g, o, a, p: concatenate_vjp(g, a, p["axis"]),
   F("ag.concatenate([{parts}], axis={axis})"), F("np.concatenate(({parts},), axis={axis})"),
   F("ag.concatenate(({parts},), {axis})"))
op("stack", lambda a, p: np.stack(a, axis=p["axis"]),
   lambda g, o, a, p: [np.take(np.asarray(g, dtype=np.float64), i, axis=p["axis"])
                       for i in range(len(a))],
   F("ag.stack([{parts}], axis={axis})"), F("np.stack([{parts}], axis={axis})"))


# ---------------------------------------------------------------------------
# Programs.
# ---------------------------------------------------------------------------

@dataclass
class Op:
    name: str
    args: tuple       # tokens: int = value index, str = named constant, float/None = literal
    params: dict
    code: str         # the engine expression (Python source)
    compiled: object = field(default=None, repr=False)


@dataclass
class Constant:
    array: np.ndarray  # float64 (float32-exact), bool or int
    layout: str = "contiguous"
    wrap: str = "array"  # or "scalar" (a NumPy scalar) or "tensor" (a Tensor without grad)

    def value(self, dtype, engine=False):
        value = self.array
        if value.dtype.kind == "f":
            value = LAYOUTS[self.layout](value.astype(dtype))
            if self.wrap == "scalar":
                value = value[()]
            elif self.wrap == "tensor" and engine:
                value = ag.tensor(value)
        return value

    def code(self, dtype):
        if self.array.dtype.kind != "f":
            return f"np.array({self.array.tolist()!r}, dtype=np.{self.array.dtype.name})"
        name = np.dtype(dtype).name
        if self.wrap == "scalar":
            return f"np.{name}({self.array.item()!r})"
        text = f"np.array({self.array.tolist()!r}, dtype=np.{name})"
        text = text if self.layout == "contiguous" else f"{self.layout}({text})"
        return f"ag.tensor({text})" if self.wrap == "tensor" else text


@dataclass(frozen=True)
class Number:
    """A Python int in an argument list (where a bare int names a value)."""
    value: int

    def __repr__(self):
        return repr(self.value)


def literal(token):
    return token.value if isinstance(token, Number) else token


def token_code(token):
    return f"v{token}" if isinstance(token, int) else token if isinstance(token, str) else repr(token)


class Program:
    """A drawn program; its repr is a standalone script (what Hypothesis prints)."""

    def __init__(self, mode, inputs, layouts, ops, constants, kinds, weights, directions):
        self.mode = mode
        self.inputs = inputs          # float64 arrays (float32-exact values)
        self.layouts = layouts        # (layout, creation) per input
        self.ops = ops
        self.constants = constants    # name -> Constant
        self.kinds = kinds            # 'f' (float value) or 'b' (bool constant) per value
        self.weights = weights        # value index -> its cotangent in the loss
        self.directions = directions  # per input: the projection of the gradient (second order)
        self.__post_init__()

    def reached(self):
        """Which inputs the loss depends on differentiably (not through a comparison)."""
        n = len(self.inputs)
        depends = [{k} for k in range(n)]
        for j, o in enumerate(self.ops):
            floats = [depends[t] for t in o.args if isinstance(t, int) and self.kinds[t] == "f"]
            depends.append(set() if self.kinds[n + j] != "f" else set().union(*floats))
        return set().union(*[depends[k] for k in self.weights])

    def __post_init__(self):
        for o in self.ops:
            o.compiled = compile(o.code, "<program>", "eval")

    # -- the engine ---------------------------------------------------------
    def input_dtypes(self, dtype, input_dtypes=None):
        return [dtype] * len(self.inputs) if input_dtypes is None else list(input_dtypes)

    def leaves(self, dtype, input_dtypes=None):
        """Input tensors in their layouts (and dtypes: all ``dtype`` unless
        ``input_dtypes``), and the arrays they came from (to check that nothing writes
        to them)."""
        tensors, views = [], []
        dtypes = self.input_dtypes(dtype, input_dtypes)
        for x, (layout, creation), dtype in zip(self.inputs, self.layouts, dtypes):
            view = LAYOUTS[layout](x.astype(dtype))
            if creation == "tensor":
                t = ag.tensor(view, requires_grad=True)
            else:  # the engine then holds the view itself
                t = ag.tensor(np.zeros(x.shape, dtype), requires_grad=True)
                t.data = view
            tensors.append(t)
            views.append(view)
        return tensors, views

    def run(self, inputs, dtype):
        """Every value of the program, computed by the engine from ``inputs`` (Tensors)."""
        env = {"np": np, "ag": ag}
        env.update({name: c.value(dtype, engine=True) for name, c in self.constants.items()})
        values = list(inputs)
        for k, x in enumerate(inputs):
            env[f"v{k}"] = x
        for o in self.ops:
            out = eval(o.compiled, env)  # noqa: S307 (our own program text)
            env[f"v{len(values)}"] = out
            values.append(out)
        return values

    def loss(self, values, dtype):
        total = None
        for k, w in self.weights.items():
            term = (values[k] * w.astype(dtype)).sum()
            total = term if total is None else total + term
        return total

    def loss_function(self, dtype):
        return lambda *xs: self.loss(self.run(list(xs), dtype), dtype)

    def gradient_projection(self, dtype, how):
        """x -> sum_i <directions_i, d loss / d x_i>, the gradient taken inside (second order)."""
        f = self.loss_function(dtype)
        argnums = tuple(range(len(self.inputs)))

        def h(*xs):
            if how == "grad":
                grads = ag.grad(f, argnums=argnums)(*xs)
            elif how == "value_and_grad":
                grads = ag.value_and_grad(f, argnums=argnums)(*xs)[1]
            elif how == "vjp":
                grads = ag.vjp(f, *xs)[1](1.0)
            else:  # backward(create_graph=True) into .grad
                for x in xs:
                    x.grad = None
                f(*xs).backward(create_graph=True)
                grads = [x.grad for x in xs]
                for x in xs:
                    x.grad = None
            total = None
            for g, u in zip(grads, self.directions):
                if g is None:  # backward leaves .grad None on an input the loss does not reach
                    continue
                term = (g * u.astype(dtype)).sum()
                total = term if total is None else total + term
            return total

        return h

    # -- the reference ------------------------------------------------------
    def resolve(self, token, values, constants):
        if isinstance(token, int):
            return values[token]
        if isinstance(token, str):
            return constants[token]
        return literal(token)

    def reference(self, dtype, input_dtypes=None):
        """Every value, computed by NumPy (constants in ``dtype``, inputs in ``dtype``
        unless ``input_dtypes``)."""
        constants = {name: c.value(dtype) for name, c in self.constants.items()}
        values = [x.astype(d) for x, d in zip(self.inputs, self.input_dtypes(dtype, input_dtypes))]
        for o in self.ops:
            args = [self.resolve(t, values, constants) for t in o.args]
            values.append(np.asarray(OPS[o.name].ref(args, o.params)))
        return values

    def reference_gradients(self, values, dtype, weights=None):
        """d loss / d inputs by reverse mode over the NumPy values, in float64, with the
        documented conventions at kinks (decided on ``values``, in their dtype).
        ``weights`` (value index -> cotangent) replaces the loss's."""
        constants = {name: c.value(dtype) for name, c in self.constants.items()}
        cotangents = [None] * len(values)
        for k, w in (self.weights if weights is None else weights).items():
            cotangents[k] = w.astype(np.float64)
        n = len(self.inputs)
        for j in reversed(range(len(self.ops))):
            o, g = self.ops[j], cotangents[n + j]
            if g is None or self.kinds[n + j] != "f":
                continue
            args = [self.resolve(t, values, constants) for t in o.args]
            for token, c in zip(o.args, OPS[o.name].vjp(g, values[n + j], args, o.params)):
                if isinstance(token, int) and self.kinds[token] == "f":
                    c = np.asarray(c, dtype=np.float64)
                    assert c.shape == values[token].shape, (o.name, c.shape, values[token].shape)
                    cotangents[token] = c if cotangents[token] is None else cotangents[token] + c
        return [np.zeros(x.shape) if c is None else c for x, c in zip(self.inputs, cotangents)]

    # -- a standalone script ------------------------------------------------
    def source(self, dtype=np.float64, input_dtypes=None):
        name = np.dtype(dtype).name
        names = [np.dtype(d).name for d in self.input_dtypes(dtype, input_dtypes)]
        used = {layout for layout, _ in self.layouts} | {c.layout for c in self.constants.values()}
        lines = ["import numpy as np", "import autograd as ag", ""]
        for layout in sorted(used - {"contiguous"}):
            lines += inspect.getsource(LAYOUTS[layout]).splitlines()
        lines.append("")
        for cname, c in self.constants.items():
            lines.append(f"{cname} = {c.code(dtype)}")
        for k, (x, (layout, creation), name_k) in enumerate(zip(self.inputs, self.layouts, names)):
            text = f"np.array({x.tolist()!r}, dtype=np.{name_k})"
            if layout != "contiguous":
                text = f"{layout}({text})"
            if creation == "tensor":
                lines.append(f"v{k} = ag.tensor({text}, requires_grad=True)")
            else:
                lines.append(f"v{k} = ag.tensor(np.zeros({x.shape}, np.{name_k}), requires_grad=True)")
                lines.append(f"v{k}.data = {text}")
        n = len(self.inputs)
        for j, o in enumerate(self.ops):
            lines.append(f"v{n + j} = {o.code}")
        terms = [f"(v{k} * np.array({w.tolist()!r}, dtype=np.{name})).sum()"
                 for k, w in self.weights.items()]
        lines.append("loss = " + " + ".join(terms))
        lines.append("loss.backward()")
        lines.append("print(" + ", ".join(f"v{k}.grad" for k in range(n)) + ")")
        return "\n".join(lines)

    def __repr__(self):
        return f"<{self.mode} program>\n{self.source()}\n# directions (second order): " + \
            repr([u.tolist() for u in self.directions])


# ---------------------------------------------------------------------------
# Drawing programs.
# ---------------------------------------------------------------------------

def grid_values(shape, low, high, step, exclude=()):
    """Arrays of multiples of ``step`` in [low, high] (exact in float32)."""
    values = [k * step for k in range(int(round(low / step)), int(round(high / step)) + 1)
              if k * step not in exclude]
    return hnp.arrays(np.float64, shape, elements=st.sampled_from(values))


def input_values(shape, mode):
    if mode == "ties":  # five values: ties and zeros are frequent
        return grid_values(shape, -1, 1, 0.5)
    return hnp.arrays(np.float32, shape, elements=st.floats(
        -2, 2, width=32, allow_subnormal=False)).map(lambda a: a.astype(np.float64))


def broadcastable(*shapes):
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


class Builder:
    """Draws operations one at a time, running the reference forward as it goes."""

    def __init__(self, draw, mode, inputs):
        self.draw, self.mode = draw, mode
        rng = np.random.default_rng(0)
        self.points = [list(inputs)] + [
            [x + PERTURBATION * rng.standard_normal(x.shape) for x in inputs] for _ in range(2)]
        self.kinds = ["f"] * len(inputs)
        self.ops, self.constants = [], {}

    # -- values and constants -------------------------------------------------
    def value(self, k):
        return self.points[0][k]

    def shape(self, k):
        return self.points[0][k].shape

    def pick(self, accept=lambda k: True):
        """A float value (most recent first, so programs shrink towards chains)."""
        candidates = [k for k in reversed(range(len(self.kinds)))
                      if self.kinds[k] == "f" and accept(k)]
        return self.draw(st.sampled_from(candidates)) if candidates else None

    def constant(self, array, operand=False):
        """A named constant; a float operand comes in some layout, as an array, a Tensor
        that does not require grad, or (0-d) a NumPy scalar."""
        prefix = {"f": "c", "b": "m"}.get(array.dtype.kind, "i")  # floats, masks, integers
        name = f"{prefix}{len(self.constants)}"
        layout, wrap = "contiguous", "array"
        if array.dtype.kind == "f":
            layout = self.draw(st.sampled_from(layouts_for(array.shape, allow_broadcast=False)))
            if operand:
                wrap = self.draw(st.sampled_from(["array", "tensor"] + (["scalar"] if not array.shape else [])))
        self.constants[name] = Constant(array, layout, wrap)
        return name

    def scalar(self, low=-2.0, high=2.0, exclude=()):
        step = 0.5 if self.mode == "ties" else 0.125
        values = [k * step for k in range(int(low / step), int(high / step) + 1)
                  if k * step not in exclude]
        return float(self.draw(st.sampled_from(values)))

    def number(self, **limits):
        """A Python number operand: a float, or an int when it is a whole number."""
        x = self.scalar(**limits)
        return Number(int(x)) if x == int(x) and self.draw(st.booleans()) else x

    def constant_array(self, shape, low=-2.0, high=2.0, exclude=(), operand=True):
        step = 0.5 if self.mode == "ties" else 0.125
        return self.constant(self.draw(grid_values(shape, low, high, step, exclude)), operand)

    def integer_array(self, shape, low=-2.0, high=2.0, exclude=()):
        """An int64 operand (NumPy promotes: float32 with int64 gives float64)."""
        values = [i for i in range(int(np.ceil(low)), int(np.floor(high)) + 1) if i not in exclude]
        if not values:
            return self.constant_array(shape, low, high, exclude)
        return self.constant(self.draw(hnp.arrays(np.int64, shape, elements=st.sampled_from(values))))

    def partner_shape(self, shape):
        """A shape that broadcasts with ``shape`` (a suffix, some axes 1, maybe one more)."""
        n = self.draw(st.integers(0, len(shape)))
        tail = []
        for d in shape[len(shape) - n:]:
            tail.append(self.draw(st.integers(1, 3)) if d == 1 else
                        (1 if self.draw(st.booleans()) else d))
        if len(tail) < 4 and self.draw(st.integers(0, 3)) == 0:
            tail.insert(0, self.draw(st.integers(1, 2)))
        return tuple(tail)

    def operand(self, shape, kinds=("value", "self", "scalar", "array", "value", "array", "integer"),
                **limits):
        """A second operand for a value of ``shape``: another value, the same one, a
        Python number, a float constant (array, Tensor, NumPy scalar) or an int array."""
        kind = self.draw(st.sampled_from(kinds))
        if kind == "value":
            k = self.pick(lambda k: broadcastable(self.shape(k), shape))
            if k is not None:
                return k
            kind = "scalar"
        if kind == "self":
            return None  # the caller uses its own value (fan-out)
        if kind == "scalar":
            return self.number(**limits)
        if kind == "integer":
            return self.integer_array(self.partner_shape(shape), **limits)
        return self.constant_array(self.partner_shape(shape), **limits)

    # -- keeping domains ------------------------------------------------------
    def positive(self, k, minimum=0.2):
        """A value >= minimum derived from value k (k itself if it already is)."""
        if k is None:
            return None
        v = self.value(k)
        if v.size == 0 or v.min() >= minimum:
            return k
        how = self.draw(st.sampled_from(["exp", "square", "sigmoid"]))
        if how == "exp":
            return self.emit("exp", [k]) if v.min() >= np.log(minimum) + 0.1 else \
                self.emit("add", [self.emit("exp", [k]), 0.5])
        if how == "square":
            return self.emit("add", [self.emit("mul", [k, k]), 0.5])
        return self.emit("add", [self.emit("sigmoid", [k]), 0.25])

    def nonzero(self, k):
        if k is None:
            return None
        v = self.value(k)
        if v.size == 0 or np.abs(v).min() >= 0.3:
            return k
        k = self.positive(k, 0.3)
        return self.emit("neg", [k]) if self.draw(st.booleans()) else k

    def bounded(self, k, limit=2.0):
        if k is None or self.value(k).size == 0 or np.abs(self.value(k)).max() <= limit:
            return k
        return self.emit("tanh", [k])

    # -- emitting -------------------------------------------------------------
    def emit(self, name, args, params=None):
        """Append ``name(*args)`` if it keeps the program valid; its index, or None."""
        # None is a failed emit upstream, except as clip's missing bound.
        if args[0] is None or (name != "clip" and any(t is None for t in args)):
            return None
        assert any(isinstance(t, int) and self.kinds[t] == "f" for t in args), (name, args)
        params = dict(params or {})
        spec = OPS[name]
        constants = {n: c.value(np.float64) for n, c in self.constants.items()}
        results = []
        for p, point in enumerate(self.points):
            values = [point[t] if isinstance(t, int) else
                      constants[t] if isinstance(t, str) else literal(t) for t in args]
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("error")  # (the mean of an empty slice, say)
                try:
                    out = np.asarray(spec.ref(values, params))
                except (ValueError, IndexError, TypeError, RuntimeWarning):
                    return None
            if p == 0:
                if out.ndim > MAX_NDIM or out.size > MAX_SIZE:
                    return None
                if not spec.boolean and out.size and (
                        not np.all(np.isfinite(out)) or np.abs(out).max() > BOUND):
                    return None
                for array, minimum in spec.domain(values, params):
                    if np.size(array) and np.min(array) < minimum:
                        return None
            results.append((values, out))
        if self.mode == "smooth":
            kinks = [[np.asarray(q) for q in spec.kinks(values, out, params)] for values, out in results]
            for j, q in enumerate(kinks[0]):
                structural = q == 0
                for other in kinks[1:]:
                    structural = structural & (other[j] == 0)
                if not np.all((np.abs(q) >= MARGIN) | structural):
                    return None
        tensor_first = isinstance(args[0], int)
        available = [s for s in spec.spellings
                     if (tensor_first or not s.method) and (s.when is None or s.when(params))]
        spelling = available[self.draw(st.integers(0, len(available) - 1))]
        code = spelling.text([token_code(t) for t in args], params)
        self.ops.append(Op(name, tuple(args), params, code))
        for point, (_, out) in zip(self.points, results):
            point.append(out)
        self.kinds.append("b" if spec.boolean else "f")
        return len(self.kinds) - 1


# -- one builder per operation ------------------------------------------------

def build_unary(b, name):
    k = b.pick()
    if name in ("log", "sqrt"):
        k = b.positive(k)
    if b.emit(name, [k]) is None and name in ("abs", "relu"):  # a kink too close: shift
        b.emit(name, [b.emit("add", [k, b.scalar(exclude=(0.0,))])])


def build_clip(b, name):
    k = b.pick()
    shape = b.shape(k)
    style = b.draw(st.sampled_from(["both", "low", "high", "array"]))
    low = b.scalar(-2, 1) if style in ("both", "low") else None
    high = None
    if style in ("both", "high"):
        high = b.scalar(-1 if low is None else low, 2)
    if style == "array":
        if b.draw(st.booleans()):
            low, high = b.constant_array(b.partner_shape(shape), -2, 0), b.scalar(0, 2)
        else:
            low, high = b.scalar(-2, 0), b.constant_array(b.partner_shape(shape), 0, 2)
    b.emit("clip", [k, low, high])


def build_pow_const(b, name):
    k = b.pick()
    exponents = [2, 3, 1, 0] if b.mode == "ties" else [2, 3, 1, 0, -1, 0.5, -0.5, 1.5]
    c = b.draw(st.sampled_from(exponents))
    if c != int(c):
        k = b.positive(k)
    elif c < 0:
        k = b.nonzero(k)
    b.emit("pow_const", [k], {"exponent": c})


def build_rpow_const(b, name):
    k = b.bounded(b.pick())
    b.emit("rpow_const", [k], {"base": b.draw(st.sampled_from([0.5, 2.0, 3.0]))})


NEAR_ZERO = (0.0, 0.125, -0.125, 0.25, -0.25)


def build_binary(b, name):
    k = b.pick()
    if name == "div" and b.mode == "ties":  # exact: divide by powers of two
        b.emit("div", [k, b.draw(st.sampled_from([0.5, -0.5, 2.0, -2.0, 4.0]))])
        return
    swap = b.draw(st.booleans())  # the drawn value k as the right operand
    limits = {}
    if name == "div" and not swap:      # the other operand is the denominator
        limits = dict(exclude=NEAR_ZERO)
    elif name == "pow":                 # a constant base is positive, an exponent in [-2, 2]
        limits = dict(low=0.5, high=3.0) if swap else dict(low=-2.0, high=2.0)
    other = b.operand(b.shape(k), **limits)
    if other is None:                   # fan-out: k with itself
        if name == "div":
            k = b.nonzero(k)
        elif name == "pow":
            k = b.bounded(b.positive(k))
        left = right = k
    else:
        left, right = (other, k) if swap else (k, other)
        if name == "div" and isinstance(right, int):
            right = b.nonzero(right)
        elif name == "pow":
            left = b.positive(left) if isinstance(left, int) else left
            right = b.bounded(right) if isinstance(right, int) else right
    if left is None or right is None:
        return
    if b.emit(name, [left, right]) is None and name in ("maximum", "minimum"):  # a tie: shift
        shift = b.scalar(exclude=(0.0,))
        if isinstance(right, int):
            b.emit(name, [left, b.emit("add", [right, shift])])
        else:
            b.emit(name, [b.emit("add", [left, shift]), right])


def build_where(b, name):
    k = b.pick()
    shape = b.shape(k)
    if b.draw(st.booleans()):
        v = b.pick(lambda j: broadcastable(b.shape(j), shape))
        symbol = b.draw(st.sampled_from(sorted(COMPARISONS)))
        condition = b.emit("compare", [v, b.number()],
                           {"op": symbol, "ufunc": COMPARISONS[symbol].__name__})
        if condition is None:
            return
    else:
        condition = b.constant(b.draw(hnp.arrays(np.bool_, b.partner_shape(shape))))
    other = b.operand(shape)
    other = k if other is None else other
    pair = [other, k] if b.draw(st.booleans()) else [k, other]
    b.emit("where", [condition, *pair])


def build_reduction(b, name):
    k = b.pick()
    ndim = len(b.shape(k))
    options = [st.none(), hnp.valid_tuple_axes(ndim)]
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    axis = b.draw(st.one_of(options))
    b.emit(name, [k], {"axis": axis, "keepdims": b.draw(st.booleans())})


def matmul_compatible(a, c):
    try:
        np.matmul(np.empty(a), np.empty(c))
        return True
    except ValueError:
        return False


def build_matmul(b, name):
    k = b.pick(lambda j: len(b.shape(j)) >= 1)
    if k is None:
        return
    shape = b.shape(k)
    how = b.draw(st.sampled_from(["value", "gram", "constant"]))
    right = b.draw(st.booleans())  # k on the left
    if how == "value":
        other = b.pick(lambda j: len(b.shape(j)) >= 1 and (
            matmul_compatible(shape, b.shape(j)) if right else matmul_compatible(b.shape(j), shape)))
        if other is not None:
            b.emit("matmul", [k, other] if right else [other, k])
            return
        how = "gram"
    if how == "gram":
        if len(shape) == 1:
            b.emit("matmul", [k, k])
        else:
            axes = tuple(range(len(shape) - 2)) + (len(shape) - 1, len(shape) - 2)
            t = b.emit("transpose", [k], {"axes": axes})
            b.emit("matmul", [k, t] if right else [t, k])
        return
    inner = shape[-1] if right else shape[0] if len(shape) == 1 else shape[-2]
    extra = b.draw(st.integers(1, 3))
    kind = b.draw(st.sampled_from(["vector", "matrix", "batch"]))
    if right:
        const = (inner,) if kind == "vector" else (inner, extra) if kind == "matrix" else (2, inner, extra)
    else:
        const = (inner,) if kind == "vector" else (extra, inner) if kind == "matrix" else (2, extra, inner)
    c = b.constant_array(const, -1, 1)
    b.emit("matmul", [k, c] if right else [c, k])


def reshape_targets(shape):
    size = int(np.prod(shape))
    targets = [(-1,), (size,), tuple(reversed(shape)), (1, *shape), (*shape, 1)]
    for d in range(2, size):
        if size % d == 0:
            targets += [(d, size // d), (d, -1), (-1, d)]
    if size == 1:
        targets += [(), (1, 1)]
    return targets


def build_reshape(b, name):
    k = b.pick()
    b.emit("reshape", [k], {"shape": b.draw(st.sampled_from(reshape_targets(b.shape(k))))})


def build_transpose(b, name):
    k = b.pick(lambda j: len(b.shape(j)) >= 2)  # where there is something to permute
    k = b.pick() if k is None else k
    ndim = len(b.shape(k))
    axes = None if b.draw(st.integers(0, 3)) == 3 else b.draw(st.permutations(range(ndim)).map(tuple))
    if axes is not None and ndim and b.draw(st.booleans()):
        axes = tuple(a - ndim if b.draw(st.booleans()) else a for a in axes)  # negative axes
    b.emit("transpose", [k], {"axes": axes})


def build_expand_dims(b, name):
    k = b.pick()
    ndim = len(b.shape(k))
    if b.draw(st.booleans()):
        axis = b.draw(st.integers(-ndim - 1, ndim))
    else:
        axis = b.draw(st.lists(st.integers(0, ndim + 1), min_size=2, max_size=2, unique=True).map(tuple))
    b.emit("expand_dims", [k], {"axis": axis})


def build_squeeze(b, name):
    k = b.pick()
    shape = b.shape(k)
    ones = [i for i, n in enumerate(shape) if n == 1]
    options = [st.none()]
    if ones:
        options += [st.sampled_from(ones + [i - len(shape) for i in ones]),
                    st.lists(st.sampled_from(ones), min_size=1, unique=True).map(tuple)]
    b.emit("squeeze", [k], {"axis": b.draw(st.one_of(options))})


def build_broadcast_to(b, name):
    k = b.pick()
    shape = list(b.shape(k))
    target = [b.draw(st.integers(1, 3)) if n == 1 else n for n in shape]
    for _ in range(b.draw(st.integers(0, 2))):
        target.insert(0, b.draw(st.integers(1, 3)))
    b.emit("broadcast_to", [k], {"shape": tuple(target)})


def index_code(b, index):
    """Source for an index; arrays become named constants."""
    def item(i):
        if isinstance(i, np.ndarray):
            return b.constant(i)
        if i is Ellipsis:
            return "..."
        return repr(i)

    if isinstance(index, tuple):
        return "(" + "".join(item(i) + ", " for i in index) + ")"
    return item(index)


def build_getitem(b, name):
    k = b.pick()
    shape = b.shape(k)
    advanced = bool(shape) and 0 not in shape
    kinds = ["basic"] + (["integer", "first_axis", "list", "mask", "mixed", "empty"] if advanced else [])
    kind = b.draw(st.sampled_from(kinds))
    if kind == "basic":
        index = b.draw(hnp.basic_indices(shape, allow_newaxis=True))
    elif kind == "integer":  # one int array per axis, repeats likely
        index = b.draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(
            min_dims=0, max_dims=2, max_side=4)))
    elif kind in ("first_axis", "mixed"):
        axis = 0 if kind == "first_axis" or len(shape) < 2 else 1
        n = shape[axis]
        ints = b.draw(hnp.arrays(np.int64, b.draw(st.integers(1, 5)), elements=st.integers(-n, n - 1)))
        index = ints if axis == 0 else (slice(None, None, b.draw(st.sampled_from([1, -1, 2]))), ints)
    elif kind == "empty":  # an empty slice: empty values downstream
        index = (slice(None),) * b.draw(st.integers(0, len(shape) - 1)) + (slice(1, 1),)
    elif kind == "list":
        n = shape[0]
        index = b.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))
    else:
        index = b.draw(hnp.arrays(np.bool_, shape if b.draw(st.booleans()) else shape[:1]))
    b.emit("getitem", [k], {"index": index, "index_code": index_code(b, index)})


def build_concatenate(b, name):
    k = b.pick(lambda j: len(b.shape(j)) >= 1)
    if k is None:
        return
    shape = b.shape(k)
    axis = b.draw(st.integers(-len(shape), len(shape) - 1))
    flatten = b.draw(st.integers(0, 5)) == 5  # axis=None: NumPy flattens the parts first
    parts = [k]
    for _ in range(b.draw(st.integers(1, 2))):
        kind = b.draw(st.sampled_from(["self", "value", "constant"]))
        if kind == "value":
            def fits(j, shape=shape):
                s = b.shape(j)
                return len(s) == len(shape) and all(
                    m == n for i, (m, n) in enumerate(zip(s, shape)) if i != axis % len(shape))
            j = b.pick(fits)
            parts.append(k if j is None else j)
        elif kind == "self":
            parts.append(k)
        else:
            part = list(shape)
            part[axis] = b.draw(st.integers(1, 3))
            parts.append(b.constant_array(tuple(part)))
    b.emit("concatenate", list(b.draw(st.permutations(parts))), {"axis": None if flatten else axis})


def build_stack(b, name):
    k = b.pick()
    shape = b.shape(k)
    parts = [k]
    kinds = ["self", "value", "constant"] + (["number"] if not shape else [])
    for _ in range(b.draw(st.integers(1, 2))):
        kind = b.draw(st.sampled_from(kinds))
        if kind == "value":
            j = b.pick(lambda j: b.shape(j) == shape)
            parts.append(k if j is None else j)
        elif kind == "self":
            parts.append(k)
        elif kind == "number":  # np.stack makes it a float64 array (strong, unlike in +)
            parts.append(b.number())
        else:
            parts.append(b.constant_array(shape))
    axis = b.draw(st.integers(-len(shape) - 1, len(shape)))
    b.emit("stack", list(b.draw(st.permutations(parts))), {"axis": axis})


BUILDERS = {
    **{name: build_unary for name in ("neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu")},
    "clip": build_clip, "pow_const": build_pow_const, "rpow_const": build_rpow_const,
    **{name: build_binary for name in ("add", "sub", "mul", "div", "pow", "maximum", "minimum")},
    "where": build_where,
    **{name: build_reduction for name in ("sum", "mean", "max", "min")},
    "matmul": build_matmul, "reshape": build_reshape, "transpose": build_transpose,
    "expand_dims": build_expand_dims, "squeeze": build_squeeze, "broadcast_to": build_broadcast_to,
    "getitem": build_getitem, "concatenate": build_concatenate, "stack": build_stack,
}
# Hypothesis leans towards the first entry of sampled_from: let that be a plain one.
SMOOTH_OPS = ["mul"] + sorted(set(BUILDERS) - {"mul"})
EXACT = ("neg", "abs", "relu", "clip", "pow_const", "add", "sub", "mul", "div", "maximum",
         "minimum", "where", "sum", "mean", "max", "min", "matmul", "reshape", "transpose",
         "expand_dims", "squeeze", "broadcast_to", "getitem", "concatenate", "stack")
KINKED = ("abs", "relu", "clip", "maximum", "minimum", "max", "min")
TIE_OPS = ["mul"] + sorted(EXACT + KINKED)  # kinked operations twice as likely


@st.composite
def programs(draw, mode):
    n = draw(st.integers(1, 3))
    ndim = draw(st.sampled_from([2, 3, 2, 3, 1, 0]))  # (integers() would favour the ends)
    full = tuple(draw(st.sampled_from([3, 2, 1, 4] if ndim <= 2 else [3, 2, 1])) for _ in range(ndim))
    inputs, layouts = [], []
    for _ in range(n):  # broadcast-compatible: a suffix of ``full``, some axes set to 1
        suffix = full[0 if draw(st.booleans()) else draw(st.sampled_from(range(ndim + 1))):]
        shape = tuple(1 if draw(st.integers(0, 3)) == 3 else d for d in suffix)
        x = draw(input_values(shape, mode))
        layout = draw(st.sampled_from(layouts_for(shape)))
        if layout == "broadcast":
            x = np.array(np.broadcast_to(x[:1], shape))
        inputs.append(x)
        layouts.append((layout, draw(st.sampled_from(["tensor", "data"]))))
    b = Builder(draw, mode, inputs)
    for _ in range(draw(st.integers(2, MAX_STEPS))):
        name = draw(st.sampled_from(SMOOTH_OPS if mode == "smooth" else TIE_OPS))
        BUILDERS[name](b, name)
    floats = [k for k, kind in enumerate(b.kinds) if kind == "f"]
    chosen = [floats[-1]] + [k for k in floats[:-1] if draw(st.integers(0, 2)) == 0]  # 1 in 3
    nonzero = [k / 4 for k in range(-4, 5) if k]
    weights = {k: draw(hnp.arrays(np.float64, b.shape(k), elements=st.sampled_from(nonzero)))
               for k in sorted(chosen)}
    directions = [draw(hnp.arrays(np.float64, x.shape, elements=st.sampled_from(nonzero)))
                  for x in inputs]
    return Program(mode, inputs, layouts, b.ops, b.constants, b.kinds, weights, directions)


# ---------------------------------------------------------------------------
# Comparisons.
# ---------------------------------------------------------------------------

def worst(actual, expected):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if not actual.size:
        return ""
    i = np.unravel_index(np.argmax(np.abs(actual - expected)), actual.shape)
    return f"worst entry {tuple(int(j) for j in i)}: got {actual[i]!r}, expected {expected[i]!r}"


def assert_close(actual, expected, what, rtol, atol):
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected), f"{what}: shape {actual.shape}, expected {np.shape(expected)}"
    ok = np.allclose(np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                     rtol=rtol, atol=atol, equal_nan=False)
    assert ok, f"{what}: {worst(actual, expected)}"


def assert_close_scaled(actual, expected, what, tolerance, scale=1.0):
    """|actual - expected| <= tolerance * max(1, scale, max |expected|), entry by entry."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    if not expected.size:
        return
    limit = tolerance * max(1.0, scale, float(np.abs(expected).max()))
    error = float(np.abs(actual - expected).max()) if actual.size else 0.0
    assert error <= limit, f"{what}: error {error:.3g} > {limit:.3g}; {worst(actual, expected)}"


def check_values(program, values, reference, dtype, exact=False):
    """Every engine value against the NumPy value: a Tensor of the same shape and dtype,
    requiring grad if floating, a constant if a comparison."""
    for k, (v, r) in enumerate(zip(values, reference)):
        what = f"v{k}" + (f" = {program.ops[k - len(program.inputs)].code}" if k >= len(program.inputs) else "")
        assert isinstance(v, ag.Tensor), f"{what}: got {type(v).__name__}, not a Tensor"
        assert v.shape == r.shape, f"{what}: shape {v.shape}, NumPy gives {r.shape}"
        assert v.dtype == r.dtype, f"{what}: dtype {v.dtype}, NumPy gives {r.dtype}"
        if program.kinds[k] == "b":
            assert not v.requires_grad, f"{what}: a comparison requires grad"
            np.testing.assert_array_equal(np.asarray(v.data), r, err_msg=what)
            continue
        assert v.requires_grad, f"{what}: does not require grad"
        if exact:
            np.testing.assert_array_equal(np.asarray(v.data), r, err_msg=what)
        else:
            assert_close(v.data, r, what, **F64_VALUES)


def check_gradients(program, leaves, expected, dtype, how, **tolerance):
    reached = program.reached()
    for i, (x, e) in enumerate(zip(leaves, expected)):
        g = x.grad if how.endswith("backward") else x
        if g is None and how.endswith("backward") and i not in reached:
            continue  # a leaf the loss does not reach keeps .grad None (as in PyTorch)
        assert g is not None, f"{how}: v{i}.grad is None"
        if not how.endswith("backward"):
            assert isinstance(g, ag.Tensor), f"{how}: gradient {i} is a {type(g).__name__}"
            g = g.data
        assert isinstance(g, np.ndarray) or np.ndim(g) == 0, f"{how}: v{i}.grad is a {type(g).__name__}"
        g = np.asarray(g)
        assert g.dtype == dtype, f"{how}: d loss / d v{i} has dtype {g.dtype}, v{i} has {np.dtype(dtype)}"
        assert_close(g, e, f"{how}: d loss / d v{i}", **tolerance)


def check_grad_ownership(program, leaves, views, view_copies):
    """Each .grad is an array of its own (writing to it changes no other .grad), and the
    engine never wrote to the arrays the inputs were made from. Leaves every .grad
    written over with NaN: a retained graph that shares memory with one shows it."""
    grads = [None if x.grad is None else np.array(x.grad) for x in leaves]
    for i, x in enumerate(leaves):
        if x.grad is None:
            continue
        assert np.shape(x.grad) == program.inputs[i].shape
        if np.ndim(x.grad) == 0 and not isinstance(x.grad, np.ndarray):
            continue
        assert x.grad.flags.writeable, f"v{i}.grad is read-only"
        x.grad[...] = np.nan
        for j, y in enumerate(leaves):
            if j > i and y.grad is not None:  # (those before i hold NaN already)
                assert not np.isnan(np.asarray(y.grad)).any() or np.isnan(grads[j]).any(), \
                    f"writing to v{i}.grad changed v{j}.grad: they share memory"
    for i, (view, copy) in enumerate(zip(views, view_copies)):
        np.testing.assert_array_equal(view, copy, err_msg=f"the array behind v{i} was written to")


# ---------------------------------------------------------------------------
# The tests.
# ---------------------------------------------------------------------------

@budget(8)
@given(programs("smooth"), st.tuples(*[st.integers(0, 3)] * 3))
def test_float64_values_and_first_order_gradients(program, roles):
    """Values equal NumPy's (also under no_grad); the gradient equals the NumPy reverse
    mode and central finite differences, by backward (twice through a retained graph,
    then accumulating, then refused), and by ag.grad with some arguments differentiated
    (given as arrays, or as Python floats when 0-d) and the others tensors that require
    grad but are not differentiated."""
    reference = program.reference(np.float64)
    leaves, views = program.leaves(np.float64)
    copies = [np.array(v) for v in views]
    values = program.run(leaves, np.float64)
    check_values(program, values, reference, np.float64)
    loss = program.loss(values, np.float64)
    loss.backward(retain_graph=True)
    expected = program.reference_gradients(reference, np.float64)
    check_gradients(program, leaves, expected, np.float64, "backward", **F64_GRADIENTS)
    check_values(program, values, reference, np.float64)  # backward wrote to no value
    check_grad_ownership(program, leaves, views, copies)
    for x in leaves:
        x.grad = None
    loss.backward(retain_graph=True)  # again, through the retained graph
    check_gradients(program, leaves, expected, np.float64, "second backward", **F64_GRADIENTS)
    loss.backward()  # accumulates into .grad, and frees the graph
    check_gradients(program, leaves, [2 * e for e in expected], np.float64, "third backward",
                    **F64_GRADIENTS)
    try:
        loss.backward()
    except RuntimeError as error:
        assert "retain_graph" in str(error), f"backward through a freed graph: {error}"
    else:
        raise AssertionError("a fourth backward through the freed graph did not raise")
    with ag.no_grad():
        quiet = program.run(leaves, np.float64)
    for k, (v, r) in enumerate(zip(quiet, reference)):
        assert k < len(leaves) or not v.requires_grad, f"v{k} requires grad under no_grad"
        assert_close(v.data, r, f"v{k} under no_grad", **F64_VALUES)
    n = len(leaves)
    grads = ag.grad(program.loss_function(np.float64), argnums=tuple(range(n)))(*program.inputs)
    check_gradients(program, grads, expected, np.float64, "ag.grad", **F64_GRADIENTS)
    # roles: 0, 1 differentiated (1: a Python float if 0-d), 2 a tensor that requires
    # grad (not differentiated), 3 a tensor that does not (a constant). (The program
    # may call Tensor methods on any input, so those not differentiated are Tensors.)
    roles = roles[:n]
    argnums = tuple(i for i in range(n) if roles[i] < 2) or (0,)
    outside, _ = program.leaves(np.float64)
    arguments = [x if i in argnums and roles[i] != 1 else
                 float(x) if i in argnums and x.ndim == 0 else
                 x if i in argnums else
                 outside[i] if roles[i] == 2 else ag.tensor(x)
                 for i, x in enumerate(program.inputs)]
    note(f"ag.grad(loss, argnums={argnums}) with arguments of types "
         f"{[type(a).__name__ for a in arguments]}")
    some = ag.grad(program.loss_function(np.float64), argnums=argnums)(*arguments)
    check_gradients(program, some, [expected[i] for i in argnums], np.float64,
                    f"ag.grad(argnums={argnums})", **F64_GRADIENTS)
    for i, t in enumerate(outside):
        assert t.grad is None, f"ag.grad accumulated into v{i}.grad"
    assert gradcheck(program.loss_function(np.float64), *program.inputs)


@budget(4)
@given(programs("smooth"), st.sampled_from(["grad", "value_and_grad", "vjp", "backward"]))
def test_float64_second_order_gradients(program, how):
    """x -> <u, grad loss(x)>, the gradient taken by the engine inside, against finite
    differences of itself (and its value against the NumPy reverse mode)."""
    note(f"second order through {how}")
    h = program.gradient_projection(np.float64, how)
    expected = program.reference_gradients(program.reference(np.float64), np.float64)
    projection = sum(float(np.sum(e * u)) for e, u in zip(expected, program.directions))
    assert_close(h(*[ag.tensor(x, requires_grad=True) for x in program.inputs]).data, projection,
                 "<u, grad loss>", **F64_GRADIENTS)
    assert gradcheck(h, *program.inputs)


@budget(2)
@given(programs("smooth"))
def test_jacobian_hessian_and_hvp_agree(program):
    """ag.jacobian of the last value against the NumPy reverse mode row by row;
    ag.hessian, ag.hvp and the gradient of <u, grad loss> against each other (the last
    is checked against finite differences in the second-order test)."""
    n = len(program.inputs)
    argnums = tuple(range(n))
    reference = program.reference(np.float64)
    last = max(program.weights)
    out_shape = reference[last].shape
    if reference[last].size <= 16:
        jacobians = ag.jacobian(lambda *xs: program.run(list(xs), np.float64)[last],
                                argnums=argnums)(*program.inputs)
        assert len(jacobians) == n
        for k in range(reference[last].size):
            unit = np.zeros(reference[last].size)
            unit[k] = 1.0
            rows = program.reference_gradients(reference, np.float64, {last: unit.reshape(out_shape)})
            index = np.unravel_index(k, out_shape)
            for i, (J, row) in enumerate(zip(jacobians, rows)):
                assert J.shape == out_shape + program.inputs[i].shape, f"jacobian {i}: shape {J.shape}"
                assert_close(J.data[index], row, f"jacobian {i}, output entry {index}", **F64_GRADIENTS)
    f = program.loss_function(np.float64)
    u = program.directions
    through_h = ag.grad(program.gradient_projection(np.float64, "grad"), argnums=argnums)(*program.inputs)
    products = ag.hvp(f, argnums=argnums)(*program.inputs, tuple(u))
    for i in range(n):
        assert_close(products[i].data, through_h[i].data, f"hvp {i} against grad <u, grad loss>",
                     **F64_GRADIENTS)
    if sum(x.size for x in program.inputs) <= 24:
        H = ag.hessian(f, argnums=argnums)(*program.inputs)
        for a in range(n):
            row = sum(np.tensordot(H[a][b].data, u[b], axes=u[b].ndim) for b in range(n))
            column = sum(np.tensordot(u[b], H[b][a].data, axes=u[b].ndim) for b in range(n))
            assert_close(row, through_h[a].data, f"(H u)[{a}] against hvp", **F64_GRADIENTS)
            assert_close(column, through_h[a].data, f"(u H)[{a}]: H is not symmetric", **F64_GRADIENTS)


@budget(4)
@given(programs("smooth"), st.tuples(*[st.integers(0, 3)] * 3))
def test_float32_stays_float32_and_agrees_with_float64(program, wide):
    """float32 inputs (one in four left float64: mixed programs promote as NumPy does):
    every value has NumPy's dtype and float32 accuracy, every gradient (first and second
    order) has its input's dtype and float32 accuracy."""
    dtypes = [np.float64 if w == 3 else np.float32 for w in wide[:len(program.inputs)]]
    note(program.source(np.float32, dtypes))
    reference64 = program.reference(np.float64)
    reference32 = program.reference(np.float32, dtypes)
    leaves, views = program.leaves(np.float32, dtypes)
    values = program.run(leaves, np.float32)
    scale = max([1.0] + [float(np.abs(r).max()) for r, kind in zip(reference64, program.kinds)
                         if kind == "f" and r.size])
    for k, (v, r32, r64) in enumerate(zip(values, reference32, reference64)):
        what = f"float32 v{k}" + (f" = {program.ops[k - len(program.inputs)].code}"
                                  if k >= len(program.inputs) else "")
        assert isinstance(v, ag.Tensor), what
        assert v.dtype == r32.dtype, f"{what}: dtype {v.dtype}, NumPy gives {r32.dtype}"
        if program.kinds[k] == "f":
            assert_close_scaled(v.data, r64, what, F32, scale)
    program.loss(values, np.float32).backward()
    expected = program.reference_gradients(reference64, np.float64)
    reached = program.reached()
    for i, (x, e, d) in enumerate(zip(leaves, expected, dtypes)):
        if x.grad is None and i not in reached:
            continue
        assert x.grad is not None and np.asarray(x.grad).dtype == d, \
            f"v{i}.grad has dtype {np.asarray(x.grad).dtype}, v{i} is {np.dtype(d)}"
        assert_close_scaled(x.grad, e, f"float32 d loss / d v{i}", F32)
    # Second order: each gradient in its input's dtype, values close to float64's.
    argnums = tuple(range(len(leaves)))
    x32 = [x.astype(d) for x, d in zip(program.inputs, dtypes)]
    second32 = ag.grad(program.gradient_projection(np.float32, "grad"), argnums=argnums)(*x32)
    second64 = ag.grad(program.gradient_projection(np.float64, "grad"), argnums=argnums)(*program.inputs)
    for i, (s32, s64, d) in enumerate(zip(second32, second64, dtypes)):
        assert s32.dtype == d, f"second order d/d v{i} has dtype {s32.dtype}, v{i} is {np.dtype(d)}"
        assert_close_scaled(s32.data, s64.data, f"float32 second order d/d v{i}", F32)


@budget(8)
@given(programs("ties"), st.sampled_from([np.float64, np.float32]))
def test_ties_and_kinks_follow_the_documented_conventions(program, dtype):
    """Exact ties: max/min/maximum/minimum share equally, relu'(0) = abs'(0) = 0, clip's
    bounds count as inside; by backward, by ag.grad and by the recorded (create_graph)
    backward alike."""
    note(program.source(dtype))
    reference = program.reference(dtype)
    leaves, views = program.leaves(dtype)
    copies = [np.array(v) for v in views]
    values = program.run(leaves, dtype)
    check_values(program, values, reference, dtype, exact=True)
    program.loss(values, dtype).backward()
    expected = program.reference_gradients(reference, dtype)
    tolerance = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-6, atol=1e-6)
    check_gradients(program, leaves, expected, dtype, "backward", **tolerance)
    check_grad_ownership(program, leaves, views, copies)
    argnums = tuple(range(len(leaves)))
    f = program.loss_function(dtype)
    plain = ag.grad(f, argnums=argnums)(*[x.astype(dtype) for x in program.inputs])
    check_gradients(program, plain, expected, dtype, "ag.grad", **tolerance)
    fresh, _ = program.leaves(dtype)  # inputs that require grad: the VJPs are recorded
    recorded = ag.grad(f, argnums=argnums)(*fresh)
    check_gradients(program, recorded, expected, dtype, "ag.grad (create_graph)", **tolerance)
    second = ag.grad(program.gradient_projection(dtype, "grad"), argnums=argnums)(
        *[x.astype(dtype) for x in program.inputs])
    for i, s in enumerate(second):
        assert s.dtype == dtype and s.shape == program.inputs[i].shape
        assert np.all(np.isfinite(s.data)), f"second order d/d v{i} is not finite"
