"""Contractions: einsum, tensordot, dot, vdot, inner, outer, kron, cross.

Two primitives carry the maths, and the rest are written with them or with
``matmul``/``mul`` (``kind="composed"``), so every product has one VJP to trust:

    einsum      the VJP of operand i is an einsum too: the output's subscripts and the
                other operands' in, operand i's subscripts out. Two things an einsum
                cannot write are added around it: an index only operand i has (summed
                away in the forward) comes back by broadcasting, and an index repeated
                within operand i (a diagonal, ``"ii->i"``) is scattered back onto that
                diagonal with a mask.
    tensordot   the VJP of each operand is a tensordot of the cotangent with the other
                operand over the free axes, then a transpose into the operand's order.
                (Its own primitive rather than an einsum: np.tensordot is one BLAS matrix
                product forward and backward, which np.einsum without ``optimize`` is not;
                ``dot`` and ``inner`` of stacks run on it.)

Operands that are not Tensors are converted as NumPy converts them: a Python float is
a float64 array here, as it is for ``np.dot`` and ``np.einsum`` (``np.dot(x32, 2.0)``
is float64), unlike ``x32 * 2.0``.
"""

from __future__ import annotations

import functools
import string

import numpy as np

from autograd.assembly import moveaxis, ravel
from autograd.operands import as_tensor, reduced_axes
from autograd.primitives import matmul, mul, reshape, stack, sub, transpose
from autograd.registry import register
from autograd.tensors import Tensor, record

__all__ = ["einsum", "tensordot", "dot", "vdot", "inner", "outer", "kron", "cross"]


def _scalar(data):
    """A 0-d result as a NumPy scalar (how the Tensor keeps 0-d data); others as they are."""
    return data[()] if type(data) is np.ndarray and data.ndim == 0 else data


def _operands(values, op):
    for value in values:
        if not isinstance(value, Tensor):
            return tuple(as_tensor(v, name=f"{op}: operand {i}") for i, v in enumerate(values))
    return tuple(values)  # (the common case: no names formatted)


# ---------------------------------------------------------------------------
# einsum. The subscripts are first rewritten into a plan (cached per subscripts and
# shapes): ``...`` spelled out as spare letters, the implicit output made explicit,
# and axes that broadcast (length 1 against a longer axis of the same index) dropped
# from their operand, so that every index has one length in every einsum the plan runs.
# ---------------------------------------------------------------------------

_LETTERS = string.ascii_letters          # the 52 indices NumPy's einsum knows
_SUBLIST_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # NumPy's order for ints


class _EinsumPlan:
    """One einsum call, spelled out (see above). For operand i:

    ``subscripts``      the forward, on the operands with broadcast axes dropped
    ``reduced[i]``      operand i's shape with its broadcast axes dropped (None: unchanged)
    ``gradients[i]``    (subscripts of its VJP's einsum, the shape to reshape that result
                        to, whether it must be broadcast, the diagonal mask or None)
    """

    __slots__ = ("subscripts", "reduced", "gradients", "shapes", "vjps")

    def __init__(self, inputs, output, shapes, reduced):
        self.subscripts = ",".join(inputs) + "->" + output
        self.shapes = shapes
        self.reduced = reduced
        self.vjps = {}
        self.gradients = []
        sizes = {}
        for labels, shape, kept in zip(inputs, shapes, reduced):
            sizes.update(zip(labels, shape if kept is None else kept))
        for i, labels in enumerate(inputs):
            elsewhere = set(output).union(*(inputs[j] for j in range(len(inputs)) if j != i))
            wanted = "".join(dict.fromkeys(c for c in labels if c in elsewhere))
            subscripts = ",".join([output] + [inputs[j] for j in range(len(inputs)) if j != i])
            # The VJP's einsum gives the indices in ``wanted``, each once; every other
            # axis of the operand starts as length 1 and is filled by broadcasting (an
            # index only this operand has) or by the diagonal mask (a repeat).
            seen, expanded = set(), []
            for c in labels:
                expanded.append(sizes[c] if c in wanted and c not in seen else 1)
                seen.add(c)
            full = tuple(sizes[c] for c in labels)
            mask = None
            if len(set(labels)) < len(labels):
                mask = np.ones((1,) * len(labels), dtype=bool)
                for c in set(labels):
                    positions = [p for p, d in enumerate(labels) if d == c]
                    for p in positions[1:]:  # equal to the index at its first position
                        mask = mask & _equal_along(len(labels), positions[0], p, sizes[c])
            self.gradients.append((subscripts + "->" + wanted, tuple(expanded),
                                   full if _has_unshared(labels, wanted) else None, mask))


def _has_unshared(labels, wanted):
    """Whether operand ``labels`` has an index no other operand nor the output has (its
    VJP's einsum cannot give it back)."""
    return any(c not in wanted for c in labels)


def _equal_along(ndim, first, second, size):
    """A bool array, broadcastable to ``ndim`` axes: index at ``first`` == index at ``second``."""
    shape_first = [1] * ndim
    shape_second = [1] * ndim
    shape_first[first] = shape_second[second] = size
    return np.arange(size).reshape(shape_first) == np.arange(size).reshape(shape_second)


def _letters_of_sublist(sublist, position):
    letters = []
    for item in sublist:
        if item is Ellipsis:
            letters.append("...")
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool) and 0 <= item < 52:
            letters.append(_SUBLIST_LETTERS[int(item)])
        else:
            raise ValueError(f"einsum: the subscript list {position} holds {item!r}; subscripts "
                             "in the list form are ints from 0 to 51 or Ellipsis")
    return "".join(letters)


def _subscripts_and_operands(arguments):
    """``einsum("ij,jk", a, b)`` or NumPy's list form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``."""
    if not arguments:
        raise TypeError("einsum: expected subscripts and operands, e.g. einsum('ij,jk->ik', a, b)")
    if isinstance(arguments[0], str):
        return arguments[0], arguments[1:]
    operands, sublists = arguments[0::2], arguments[1::2]
    output = None
    if len(arguments) % 2:  # a last list without its operand is the output's
        operands, output = operands[:-1], operands[-1]
    subscripts = ",".join(_letters_of_sublist(s, f"of operand {i}") for i, s in enumerate(sublists))
    if output is not None:
        subscripts += "->" + _letters_of_sublist(output, "of the output")
    return subscripts, operands


@functools.lru_cache(maxsize=512)
def _plan(subscripts, shapes):
    """The einsum plan for ``subscripts`` on operands of ``shapes`` (errors in the user's terms)."""
    def fail(message):
        shown = ", ".join(str(s) for s in shapes)
        return ValueError(f"einsum {subscripts!r} on operands of shapes {shown}: {message}")

    text = subscripts.replace(" ", "")
    if text.count("->") > 1:
        raise fail("'->' may appear once")
    left, arrow, right = text.partition("->")
    inputs = left.split(",")
    if len(inputs) != len(shapes):
        raise fail(f"the subscripts name {len(inputs)} operand{'s' if len(inputs) > 1 else ''} "
                   f"but {len(shapes)} were given")
    for part in inputs + [right]:
        rest = part.replace("...", "", 1)
        bad = [c for c in rest if c not in _LETTERS]
        if bad:
            raise fail(f"{bad[0]!r} is not a subscript: use letters a-z, A-Z and one '...' "
                       "per operand")
    used = set(text) - {",", "-", ">", "."}
    spare = [c for c in _LETTERS if c not in used]
    ellipsis_ndim = []
    for i, (part, shape) in enumerate(zip(inputs, shapes)):
        named = len(part.replace("...", ""))
        if "..." in part:
            if named > len(shape):
                raise fail(f"operand {i} has {len(shape)} axes, fewer than the {named} its "
                           f"subscripts {part!r} name")
            ellipsis_ndim.append(len(shape) - named)
        elif named != len(shape):
            raise fail(f"operand {i} has {len(shape)} axes but its subscripts {part!r} name "
                       f"{named}")
        else:
            ellipsis_ndim.append(0)
    most = max(ellipsis_ndim, default=0)
    if most > len(spare):
        raise fail("too many axes under '...' (einsum has 52 letters in all)")
    broadcast = spare[:most]  # the letters that stand for the axes under '...'
    inputs = [part.replace("...", "".join(broadcast[most - n:]))
              for part, n in zip(inputs, ellipsis_ndim)]
    if arrow:
        if "..." in right:
            right = right.replace("...", "".join(broadcast))
        elif most:
            raise fail("the operands have axes under '...' but the output has no '...' (einsum "
                       "cannot sum them: write '...' in the output, or name those axes)")
        for c in right:
            if right.count(c) > 1:
                raise fail(f"the output names index {c!r} more than once")
            if not any(c in part for part in inputs):
                raise fail(f"the output names index {c!r}, which no operand has")
        output = right
    else:  # implicit: the '...' axes, then every index named once, in alphabetical order
        named = "".join(inputs)
        output = "".join(broadcast) + "".join(sorted(c for c in set(named) - set(broadcast)
                                                     if named.count(c) == 1))
    # One length per index; an axis of length 1 against a longer one broadcasts.
    sizes = {}
    for i, (labels, shape) in enumerate(zip(inputs, shapes)):
        for c, n in zip(labels, shape):
            if labels.count(c) > 1 and n != shape[labels.index(c)]:
                raise fail(f"operand {i} repeats index {c!r} (a diagonal) over axes of different "
                           f"lengths {shape[labels.index(c)]} and {n}")
            known = sizes.get(c, 1)
            if n != 1 and known != 1 and n != known:
                raise fail(f"index {c!r} has length {known} in one operand and {n} in "
                           f"operand {i} (lengths must agree, or be 1 to broadcast)")
            if n != 1 or c not in sizes:
                sizes[c] = n
    reduced, kept_inputs = [], []
    for labels, shape in zip(inputs, shapes):
        keep = [p for p, (c, n) in enumerate(zip(labels, shape)) if n == sizes[c]]
        if len(keep) == len(labels):
            reduced.append(None)
            kept_inputs.append(labels)
        else:
            reduced.append(tuple(shape[p] for p in keep))
            kept_inputs.append("".join(labels[p] for p in keep))
    return _EinsumPlan(kept_inputs, output, shapes, tuple(reduced))


def einsum(*operands, optimize=False):
    """Einstein summation, as ``np.einsum``: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.

    Any subscripts NumPy takes: several operands, ``...`` (broadcast axes), the implicit
    output (no ``->``: the indices named once, in alphabetical order, after the ``...``
    axes), repeated indices within an operand (``"ii->i"``: the diagonal, ``"ii"``: the
    trace), indices summed away, and NumPy's list form ``einsum(a, [0, 1], b, [1, 2])``.
    ``optimize`` goes to ``np.einsum`` (also for the VJPs' einsums). Shapes: the output
    has one axis per output index, of that index's length.

    >>> a = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    >>> einsum("ij,j->i", a, np.ones(3))
    Tensor([ 3., 12.], dtype=float64, requires_grad=True, op=einsum)
    >>> einsum("ii", Tensor(np.eye(3)))
    Tensor(3., dtype=float64)
    """
    subscripts, operands = _subscripts_and_operands(operands)
    tensors = _operands(operands, "einsum")
    plan = _plan(subscripts, tuple([t._data.shape for t in tensors]))
    arrays = [t._data if shape is None else t._data.reshape(shape)
              for t, shape in zip(tensors, plan.reduced)]
    data = _scalar(np.einsum(plan.subscripts, *arrays, optimize=optimize))
    return record(data, tensors, einsum_vjps(plan, optimize), "einsum")


def einsum_vjps(plan, optimize):
    """One VJP per operand (cached on the plan for the usual values of ``optimize``)."""
    key = optimize if isinstance(optimize, (bool, str)) else None
    vjps = plan.vjps.get(key) if key is not None else None
    if vjps is None:
        vjps = tuple(_einsum_operand_vjp(plan, i, optimize) for i in range(len(plan.shapes)))
        if key is not None:
            plan.vjps[key] = vjps
    return vjps


def _einsum_operand_vjp(plan, i, optimize):
    subscripts, expanded, full, mask = plan.gradients[i]
    reduced, shapes = plan.reduced, plan.shapes
    shape = shapes[i]

    def einsum_vjp(g, out, *operands):
        # dL/dA_i: the output's cotangent contracted with every other operand
        others = [operands[j] if reduced[j] is None else operands[j].reshape(reduced[j])
                  for j in range(len(operands)) if j != i]
        gradient = np.einsum(subscripts, g, *others, optimize=optimize)
        if gradient.shape != expanded:
            gradient = gradient.reshape(expanded)
        if full is not None:      # an index only operand i has: the same cotangent along it
            gradient = np.broadcast_to(gradient, full)
        if mask is not None:      # a repeated index: back onto the diagonal, 0 elsewhere
            gradient = np.where(mask, gradient, 0)
        if gradient.shape != shape:  # axes that broadcast in the forward, length 1
            gradient = gradient.reshape(shape)
        return gradient

    return einsum_vjp


register(einsum, einsum_vjps, numpy=np.einsum)


# ---------------------------------------------------------------------------
# tensordot.
# ---------------------------------------------------------------------------

def _tensordot_axes(axes, a, b):
    """``axes`` (an int N, or a pair of ints / sequences) as two tuples of non-negative axes,
    cached per axes and shapes when ``axes`` is hashable (an int, tuples)."""
    try:
        hash(axes)
    except TypeError:  # lists
        return _checked_tensordot_axes.__wrapped__(axes, a.shape, b.shape)
    return _checked_tensordot_axes(axes, a.shape, b.shape)


@functools.lru_cache(maxsize=256, typed=True)  # typed: True is not an axis, 1 is
def _checked_tensordot_axes(axes, shape_a, shape_b):
    def listed(value, ndim, which):
        items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
        result = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
                raise TypeError(f"tensordot: axes must be ints, got {item!r:.40} among the axes "
                                f"of {which}")
            if not -ndim <= item < ndim:
                raise np.exceptions.AxisError(f"tensordot: axis {item} is out of range for {which} "
                                              f"with {ndim} dimensions")
            result.append(int(item) % ndim)
        if len(set(result)) != len(result):
            raise ValueError(f"tensordot: the axes of {which} repeat an axis: {value!r}")
        return result

    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        n = int(axes)
        if n < 0 or n > len(shape_a) or n > len(shape_b):
            raise ValueError(f"tensordot: axes={n} needs that many axes in both operands, got "
                             f"shapes {shape_a} and {shape_b}")
        axes_a, axes_b = list(range(len(shape_a) - n, len(shape_a))), list(range(n))
    else:
        try:
            axes_a, axes_b = axes
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair (axes of a, axes of b), "
                            f"got {axes!r:.60}") from None
        axes_a, axes_b = listed(axes_a, len(shape_a), "a"), listed(axes_b, len(shape_b), "b")
        if len(axes_a) != len(axes_b):
            raise ValueError(f"tensordot: {len(axes_a)} axes of a but {len(axes_b)} axes of b "
                             "to sum over")
    for i, j in zip(axes_a, axes_b):
        if shape_a[i] != shape_b[j]:
            raise ValueError(f"tensordot: axis {i} of a (shape {shape_a}) has length {shape_a[i]} "
                             f"but axis {j} of b (shape {shape_b}) has length {shape_b[j]}")
    return tuple(axes_a), tuple(axes_b)


def tensordot(a, b, axes=2):
    """Sum of products over ``axes``, as ``np.tensordot``: an int N sums the last N axes of
    ``a`` against the first N of ``b``; a pair ``(axes_a, axes_b)`` names them. The result
    has the other axes of ``a``, then the other axes of ``b``.

    >>> tensordot(Tensor(np.ones((2, 3, 4))), Tensor(np.ones((4, 3, 5))), ([1, 2], [1, 0])).shape
    (2, 5)
    """
    a, b = _operands((a, b), "tensordot")
    axes_a, axes_b = _tensordot_axes(axes, a, b)
    data = _scalar(np.tensordot(a._data, b._data, (axes_a, axes_b)))
    return record(data, (a, b), tensordot_vjps(a.ndim, b.ndim, tuple(axes_a), tuple(axes_b)),
                  "tensordot")


def _inverse(permutation):
    return tuple(int(i) for i in np.argsort(permutation))


@functools.lru_cache(maxsize=256)
def tensordot_vjps(ndim_a, ndim_b, axes_a, axes_b):
    free_a = [i for i in range(ndim_a) if i not in axes_a]
    free_b = [j for j in range(ndim_b) if j not in axes_b]
    g_of_b = list(range(len(free_a), len(free_a) + len(free_b)))  # g's axes that came from b
    g_of_a = list(range(len(free_a)))
    # tensordot(g, b) gives a's free axes, then b's summed axes in b's order: each is the
    # a-axis it was paired with; the inverse permutation puts them back in a's order.
    order_a = _inverse(free_a + [axes_a[axes_b.index(j)] for j in sorted(axes_b)])
    order_b = _inverse([axes_b[axes_a.index(i)] for i in sorted(axes_a)] + free_b)

    def a_vjp(g, out, a, b):  # dL/da = g contracted with b over b's free axes
        return np.transpose(np.tensordot(g, b, (g_of_b, free_b)), order_a)

    def b_vjp(g, out, a, b):  # dL/db = a contracted with g over a's free axes
        return np.transpose(np.tensordot(a, g, (free_a, g_of_a)), order_b)

    return a_vjp, b_vjp


register(tensordot, tensordot_vjps, numpy=np.tensordot)


# ---------------------------------------------------------------------------
# Composed products: dot, vdot, inner, outer, kron, cross.
# ---------------------------------------------------------------------------

def dot(a, b):
    """``np.dot``: a product by a scalar if either is 0-d, the matrix product for 1-D and
    2-D operands, and otherwise a sum over the last axis of ``a`` and the second-to-last of
    ``b`` (its only axis if 1-D): shape ``a.shape[:-1] + b.shape[:-2] + b.shape[-1:]``.

    >>> dot(Tensor([1.0, 2.0]), Tensor([[1.0, 0.0], [0.0, 2.0]]))
    Tensor([1., 4.], dtype=float64)
    """
    a, b = _operands((a, b), "dot")
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    summed = 0 if b.ndim == 1 else b.ndim - 2
    if a.shape[-1] != b.shape[summed]:
        raise ValueError(f"dot: shapes {a.shape} and {b.shape} are not aligned: the last axis "
                         f"of a ({a.shape[-1]}) must equal axis {summed} of b ({b.shape[summed]})")
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(a, b)
    return tensordot(a, b, ((a.ndim - 1,), (summed,)))


register(dot, kind="composed", numpy=np.dot, methods="dot")


def vdot(a, b):
    """``np.vdot`` (real): the flattened operands' inner product, a 0-d tensor; the sizes
    must agree.

    >>> vdot(Tensor([[1.0, 2.0], [3.0, 4.0]]), Tensor([[1.0, 1.0], [1.0, 1.0]]))
    Tensor(10., dtype=float64)
    """
    a, b = _operands((a, b), "vdot")
    if a.size != b.size:
        raise ValueError(f"vdot: the operands need the same number of elements, got shapes "
                         f"{a.shape} ({a.size}) and {b.shape} ({b.size})")
    return matmul(ravel(a), ravel(b))


register(vdot, kind="composed", numpy=np.vdot)


def inner(a, b):
    """``np.inner``: the sum over the last axes of both (a product if either is 0-d); shape
    ``a.shape[:-1] + b.shape[:-1]``.

    >>> inner(Tensor([[1.0, 2.0], [3.0, 4.0]]), Tensor([1.0, 1.0]))
    Tensor([3., 7.], dtype=float64)
    """
    a, b = _operands((a, b), "inner")
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: the last axes must have the same length, got shapes {a.shape} "
                         f"and {b.shape}")
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(a, b if b.ndim == 1 else transpose(b))
    return tensordot(a, b, ((a.ndim - 1,), (b.ndim - 1,)))


register(inner, kind="composed", numpy=np.inner, methods="inner")


def outer(a, b):
    """``np.outer``: the flattened operands' outer product, shape ``(a.size, b.size)``.

    >>> outer(Tensor([1.0, 2.0]), Tensor([1.0, 10.0, 100.0])).shape
    (2, 3)
    """
    a, b = _operands((a, b), "outer")
    return mul(reshape(a, (-1, 1)), reshape(b, (-1,)))


register(outer, kind="composed", numpy=np.outer, methods="outer")


def kron(a, b):
    """``np.kron``: the Kronecker product, every entry of ``a`` times a block ``b``; the
    shorter shape is padded with leading 1s, and each axis has length ``a_n * b_n``.

    >>> kron(Tensor(np.eye(2)), Tensor([[1.0, 2.0]]))
    Tensor([[1., 2., 0., 0.],
            [0., 0., 1., 2.]], dtype=float64)
    """
    a, b = _operands((a, b), "kron")
    ndim = max(a.ndim, b.ndim)
    shape_a = (1,) * (ndim - a.ndim) + a.shape
    shape_b = (1,) * (ndim - b.ndim) + b.shape
    # a's axes interleaved with b's: (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...)
    spread_a = tuple(n for m in shape_a for n in (m, 1))
    spread_b = tuple(n for m in shape_b for n in (1, m))
    product = mul(reshape(a, spread_a), reshape(b, spread_b))
    return reshape(product, tuple(m * n for m, n in zip(shape_a, shape_b)))


register(kron, kind="composed", numpy=np.kron, methods="kron")


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """``np.cross`` of 3-vectors along ``axisa`` of ``a`` and ``axisb`` of ``b`` (``axis``
    sets all three), broadcasting the other axes; the result's vectors lie along ``axisc``.
    (2-vectors, deprecated in NumPy 2, are refused.)

    >>> cross(Tensor([1.0, 0.0, 0.0]), Tensor([0.0, 1.0, 0.0]))
    Tensor([0., 0., 1.], dtype=float64)
    """
    a, b = _operands((a, b), "cross")
    if axis is not None:
        axisa = axisb = axisc = axis
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"cross: the operands must be vectors (at least 1-D), got shapes "
                         f"{a.shape} and {b.shape}")
    axisa = reduced_axes(a.ndim, axisa, "cross: axisa")[0]
    axisb = reduced_axes(b.ndim, axisb, "cross: axisb")[0]
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ValueError(f"cross: vectors of length 3 expected along axisa and axisb, got "
                         f"length {a.shape[-1]} and {b.shape[-1]} (2-vectors are deprecated in "
                         "NumPy 2: pad them with a 0)")
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    c = stack([sub(mul(a1, b2), mul(a2, b1)), sub(mul(a2, b0), mul(a0, b2)),
               sub(mul(a0, b1), mul(a1, b0))], axis=-1)
    return moveaxis(c, -1, reduced_axes(c.ndim, axisc, "cross: axisc")[0])


register(cross, kind="composed", numpy=np.cross)
