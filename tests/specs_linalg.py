"""Rows of the primitives table (tests/specs.py) for the linalg vocabulary.

They import ``Spec`` and the argument strategies from specs.py, which appends
``ROWS`` to ``PRIMITIVES``; a row's name is the primitive's registry key.

Inputs are drawn where finite differences are stable: diagonally dominant matrices for
inv/det/solve, B Bᵀ + n I for cholesky, chosen eigenvalues and singular values at
least 0.5 apart (Q diag(w) Qᵀ with a drawn orthogonal Q) for eigh, svd, qr and pinv.
Hypothesis draws the shapes (batch axes, 1x1 matrices included) and a seed for the
entries. Functions with several results (eigh, svd, qr, slogdet) enter through a
scalar: a weighted sum of every result, with the singular and eigenvectors in
products that do not change when a vector's sign flips (``v * (M @ v)``), so the sign
NumPy picks cannot move the value. eigh and cholesky read one triangle, so their rows
symmetrise the input first (their gradient is the symmetric one). Each function is
written once with NumPy calls, and called on arrays (the reference) and on Tensors
(through ``np.linalg`` dispatch: the engine's function).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import autograd as ag
from specs import Spec

ROWS: list = []

BATCH = st.sampled_from([(), (), (2,), (1, 2)])
SIDE = st.integers(1, 4)
SEED = st.integers(0, 2**32 - 1)


def _rng(seed):
    return np.random.default_rng(seed)


def _orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _batch_of(make, batch, rng):
    """``make(rng)`` once per batch entry, stacked into shape (*batch, ...)."""
    if not batch:
        return make(rng)
    items = [make(rng) for _ in range(int(np.prod(batch)))]
    return np.stack(items).reshape(*batch, *items[0].shape)


def _separated(rng, k, low, gap=0.5):
    """k values >= low, sorted descending, consecutive ones at least ``gap`` apart."""
    return (low + np.cumsum(gap + rng.uniform(0, 1, k)))[::-1]


def dominant(rng, n):
    """Diagonally dominant: entries in [-1, 1], diagonal ±(n + 1) (det far from 0)."""
    signs = rng.choice([-1.0, 1.0], n)
    return rng.uniform(-1, 1, (n, n)) + np.diag(signs * (n + 1))


def with_singular_values(rng, m, n, low=0.5):
    k = min(m, n)
    return _orthogonal(rng, m)[:, :k] @ np.diag(_separated(rng, k, low)) @ _orthogonal(rng, n)[:k]


def spd(rng, n):
    b = rng.uniform(-1, 1, (n, n))
    a = b @ b.T + n * np.eye(n)
    return (a + a.T) / 2


def distinct_eigenvalues(rng, n):
    q = _orthogonal(rng, n)
    a = q @ np.diag(_separated(rng, n, -3.0)) @ q.T
    return (a + a.T) / 2


def _matrices(make, square=True, tall=False):
    """Strategy (dtype) -> a tuple with one batch of ``make(rng, m, n)`` (or ``make(rng, n)``)."""
    @st.composite
    def arguments(draw, dtype):
        batch, seed = draw(BATCH), draw(SEED)
        m = draw(SIDE)
        n = m if square else draw(st.integers(1, 4))
        if tall and m < n:
            m, n = n, m
        rng = _rng(seed)
        item = (lambda r: make(r, m)) if square else (lambda r: make(r, m, n))
        return (_batch_of(item, batch, rng).astype(dtype),)
    return arguments


# Functions of several results, written once with NumPy calls: on Tensors they record.
_WEIGHTS = np.random.default_rng(7).standard_normal((3, 6, 6))


def _weights(x):
    """Constant weights in ``x``'s dtype (float32 stays float32)."""
    return _WEIGHTS.astype(x.dtype)


def _symmetric(x):
    return (x + np.swapaxes(x, -1, -2)) / 2


def eigh_scalar(linalg, x):
    w, v = linalg.eigh(_symmetric(x))
    weights = _weights(x)
    n = w.shape[-1]
    mix = weights[0, :n, :n]
    return (w * weights[1, 0, :n]).sum() + (v * (mix @ v) * weights[2, :n, :n]).sum()


def svd_scalar(linalg, x):
    u, s, vh = linalg.svd(x, full_matrices=False)
    weights = _weights(x)
    m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
    value = (s * weights[1, 0, :k]).sum()
    value = value + (u * (weights[0, :m, :m] @ u) * weights[2, :m, :k]).sum()
    value = value + (vh * (vh @ weights[0, :n, :n]) * weights[2, :k, :n]).sum()
    return value + (u @ (weights[1, 1, :k, None] * vh)).sum()   # u_j v_jᵀ: no sign either


def qr_scalar(linalg, x):
    q, r = linalg.qr(x)
    weights = _weights(x)
    m, n, k = q.shape[-2], r.shape[-1], r.shape[-2]
    value = (q * (weights[0, :m, :m] @ q) * weights[2, :m, :k]).sum()
    value = value + (r * (r @ weights[0, :n, :n]) * weights[2, :k, :n]).sum()
    return value + (q @ (weights[1, 1, :k, None] * r)).sum()


def slogdet_scalar(linalg, x):
    sign, logabsdet = linalg.slogdet(x)
    return sign * logabsdet


def cholesky_of_symmetric(linalg, x, upper):
    return linalg.cholesky(_symmetric(x), upper=upper)


@st.composite
def solve_arguments(draw, dtype):
    """a (..., n, n) dominant; b a vector (n,) or a stack (..., n, k), batches broadcasting."""
    batch_a, batch_b = draw(st.sampled_from([((), ()), ((2,), ()), ((), (2,)), ((2, 1), (3,)),
                                             ((1,), (2, 1))]))
    n, seed = draw(SIDE), draw(SEED)
    rng = _rng(seed)
    a = _batch_of(lambda r: dominant(r, n), batch_a, rng)
    shape_b = (n,) if draw(st.booleans()) else (*batch_b, n, draw(st.integers(1, 3)))
    return a.astype(dtype), rng.uniform(-2, 2, shape_b).astype(dtype)


@st.composite
def cholesky_arguments(draw, dtype):
    (a,) = draw(_matrices(spd)(dtype))
    return a, draw(st.booleans())


@st.composite
def matrix_power_arguments(draw, dtype):
    (a,) = draw(_matrices(lambda rng, n: dominant(rng, n) / (n + 1))(dtype))
    return a, draw(st.integers(-3, 4))


@st.composite
def pinv_arguments(draw, dtype):
    return draw(_matrices(with_singular_values, square=False)(dtype))


VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 0, 3, 0.5, -1, -2.5]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


def _untied_matrix(rng, m, n):
    """Entries at least 0.3 from 0 with row and column sums of |x| at least 0.1 apart (the
    1 and inf norms pick one), and singular values 0.5 apart (the 2 and nuc norms)."""
    while True:
        x = with_singular_values(rng, m, n, low=0.5)
        if np.abs(x).min() < 0.3:
            x = x + np.sign(x) * 0.3
        sums = [np.sort(np.abs(x).sum(axis=axis)) for axis in (0, 1)]
        singular = np.linalg.svd(x, compute_uv=False)
        if (all(np.all(np.diff(s) > 0.1) for s in sums)
                and np.all(-np.diff(singular) > 0.3) and singular.min() > 0.3):
            return x


@st.composite
def norm_arguments(draw, dtype):
    """(x, ord, axis, keepdims) over every vector and matrix ord NumPy has."""
    rng, keepdims = _rng(draw(SEED)), draw(st.booleans())
    if draw(st.booleans()):  # a vector norm along one axis of a stack, or of a vector
        ord = draw(st.sampled_from(VECTOR_ORDS))
        shape = draw(st.sampled_from([(4,), (3, 2), (2, 3, 2)]))
        magnitudes = rng.permutation(np.arange(1, np.prod(shape) + 1)).reshape(shape) / 4 + 0.25
        x = magnitudes * rng.choice([-1.0, 1.0], shape)   # |x| distinct: no ties for inf
        axis = None if len(shape) == 1 and draw(st.booleans()) else draw(
            st.integers(-len(shape), len(shape) - 1))
    else:
        ord = draw(st.sampled_from(MATRIX_ORDS))
        m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        if draw(st.booleans()):
            x, axis = _untied_matrix(rng, m, n), None
        else:  # a stack, the matrix axes drawn among three
            x = np.stack([_untied_matrix(rng, m, n) for _ in range(2)])
            axis = draw(st.sampled_from([(1, 2), (2, 1), (-1, 0), (0, 2)]))
            x = np.moveaxis(x, 0, 1) if axis in ((-1, 0), (0, 2)) else x
    return x.astype(dtype), ord, axis, keepdims


@st.composite
def vector_norm_arguments(draw, dtype):
    """(x, ord, axis, keepdims): axis None (all entries), an int, or a tuple taken together."""
    rng, keepdims = _rng(draw(SEED)), draw(st.booleans())
    shape = draw(st.sampled_from([(), (4,), (3, 2), (2, 3, 2)]))
    size = int(np.prod(shape))
    x = (rng.permutation(np.arange(1, size + 1)).reshape(shape) / 4 + 0.25) * rng.choice([-1.0, 1.0], shape)
    options = [st.none()]
    if shape:
        options += [st.integers(-len(shape), len(shape) - 1),
                    st.permutations(range(len(shape))).flatmap(
                        lambda axes: st.integers(1, len(axes)).map(lambda k: tuple(axes[:k])))]
    return (np.asarray(x).astype(dtype), draw(st.sampled_from(VECTOR_ORDS[1:])),
            draw(st.one_of(options)), keepdims)


@st.composite
def matrix_norm_arguments(draw, dtype):
    rng, batch = _rng(draw(SEED)), draw(BATCH)
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    x = _batch_of(lambda r: _untied_matrix(r, m, n), batch, rng)
    return x.astype(dtype), draw(st.sampled_from(MATRIX_ORDS[1:])), draw(st.booleans())


def _vector_norm(linalg, x, ord, axis, keepdims):
    return linalg.vector_norm(x, ord=ord, axis=axis, keepdims=keepdims)


def _matrix_norm(linalg, x, ord, keepdims):
    return linalg.matrix_norm(x, ord=ord, keepdims=keepdims)


def _eigvalsh(linalg, x):
    return linalg.eigvalsh(_symmetric(x))


def _both(scalar):
    """(engine function, NumPy reference) of a function written for either linalg module."""
    return (lambda *args: scalar(ag.linalg, *args)), (lambda *args: scalar(np.linalg, *args))


def _norm(linalg, x, ord, axis, keepdims):
    return linalg.norm(x, ord, axis, keepdims)


# Each row calls ag.linalg.<name>; test_linalg.py checks np.linalg.<name> on Tensors too.
ROWS += [
    Spec("linalg.inv", ag.linalg.inv, np.linalg.inv, _matrices(dominant)),
    Spec("linalg.det", ag.linalg.det, np.linalg.det, _matrices(dominant)),
    Spec("linalg.slogdet", *_both(slogdet_scalar), _matrices(dominant)),
    Spec("linalg.solve", ag.linalg.solve, np.linalg.solve, solve_arguments),
    Spec("linalg.cholesky", *_both(cholesky_of_symmetric), cholesky_arguments),
    Spec("linalg.eigh", *_both(eigh_scalar), _matrices(distinct_eigenvalues)),
    Spec("linalg.svd", *_both(svd_scalar), _matrices(with_singular_values, square=False)),
    Spec("linalg.qr", *_both(qr_scalar), _matrices(with_singular_values, square=False, tall=True)),
    Spec("linalg.pinv", ag.linalg.pinv, np.linalg.pinv, pinv_arguments),
    Spec("linalg.matrix_power", ag.linalg.matrix_power, np.linalg.matrix_power,
         matrix_power_arguments),
    Spec("linalg.norm", *_both(_norm), norm_arguments),
    Spec("linalg.vector_norm", *_both(_vector_norm), vector_norm_arguments),
    Spec("linalg.matrix_norm", *_both(_matrix_norm), matrix_norm_arguments),
    Spec("linalg.svdvals", ag.linalg.svdvals, np.linalg.svdvals,
         _matrices(with_singular_values, square=False)),
    Spec("linalg.eigvalsh", *_both(_eigvalsh), _matrices(distinct_eigenvalues)),
]
