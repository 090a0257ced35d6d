"""Linear algebra with gradients: ``ag.linalg.inv``, and ``np.linalg.*`` called on Tensors.

``inv det slogdet solve cholesky eigh svd qr norm pinv matrix_power``, and NumPy 2's
``vector_norm matrix_norm svdvals eigvalsh`` (composed of those). Each function is filed in the registry under the namespace ``"linalg"`` (its key is
``"linalg.inv"``) and answers for the NumPy function of the same name, so
``ag.linalg.inv(x)`` and ``np.linalg.inv(x)`` on a Tensor are the same call. All are
batched over leading axes as NumPy's are (``(..., n, n)``), keep float32 as float32,
and take NumPy's arguments.

The VJPs are written with operations that work on arrays and on Tensors alike
(``@``, ``.mT``, ``np.linalg.solve``: on Tensors these come back here), so every
gradient can be differentiated again. The rules (``A`` the input, ``Ā`` its cotangent):

    inv       X = A⁻¹          Ā = -Xᵀ X̄ Xᵀ
    det       d = det A        Ā = d̄ d A⁻ᵀ   (at a singular A: the adjugate, d̄ adj(A)ᵀ)
    slogdet   log|det A|       Ā = ḡ A⁻ᵀ     (sign is a constant)
    solve     X = A⁻¹B         B̄ = A⁻ᵀ X̄,  Ā = -B̄ Xᵀ
    cholesky  A = L Lᵀ         Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹), Φ: lower triangle, diagonal halved
    eigh      A = V diag(w) Vᵀ Ā = V (diag(w̄) + F ∘ skew(Vᵀ V̄)) Vᵀ,  F_ij = 1/(w_j - w_i)
    svd       A = U diag(s) Vᵀ the same with F_ij = 1/(s_j² - s_i²), plus the projections
                               of Ū and V̄ off the column spaces when A is not square
    qr        A = Q R (m ≥ n)  Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ,  M = R R̄ᵀ - Q̄ᵀ Q
    pinv      X = A⁺           Ā = -Xᵀ X̄ Xᵀ + (I - A X) X̄ᵀ X Xᵀ + Xᵀ X X̄ᵀ (I - X A)
    norm      composed (|x|, max, sums, singular values) around one primitive for
              the p-norms, whose gradient at 0 is 0 (PyTorch's subgradient)

Where a gradient is not defined it raises rather than returning something wrong:

* ``eigh``: the eigenvalues' gradient always exists. The eigenvectors' gradient needs
  distinct eigenvalues; for a pair closer than ``n * eps * max|w|`` it raises
  ``LinAlgError`` unless the cotangent does not turn the eigenvectors within that
  eigenspace (``skew(Vᵀ V̄)`` is 0 there, as for a function of the eigenspace only).
  ``svd`` does the same for repeated (or, for non-square input, zero) singular values.
* ``eigh`` and ``cholesky`` read one triangle of the input, as NumPy does; their
  gradient is the symmetric one (that of the function of ``(A + Aᵀ) / 2``), as in
  PyTorch: the derivative along symmetric perturbations, which is what a symmetric
  input can have.
* ``svd(full_matrices=True)`` of a non-square matrix: the extra singular vectors are not
  unique, so a cotangent reaching them raises; use ``full_matrices=False``.
* ``qr``: gradients for ``m >= n`` (reduced mode); ``m < n`` raises in backward.
* ``slogdet``/``inv``/``solve`` at a singular matrix raise (the function is infinite or
  undefined there); ``det`` at a singular matrix uses the adjugate (first order only).
* ``pinv``: the derivative where the rank is constant (it jumps where a singular value
  crosses the cutoff ``rcond``).
"""

from __future__ import annotations

import math
import operator
from typing import NamedTuple

import numpy as np

from autograd import primitives as _p
from autograd.operands import as_tensor, describe, raw
from autograd.registry import register
from autograd.tensors import Tensor, constant, record

__all__ = ["inv", "det", "slogdet", "solve", "cholesky", "eigh", "svd", "qr", "norm", "pinv",
           "matrix_power", "vector_norm", "matrix_norm", "svdvals", "eigvalsh",
           "EighResult", "SVDResult", "SlogdetResult", "QRResult"]

LinAlgError = np.linalg.LinAlgError


class EighResult(NamedTuple):
    """``eigh``'s result: ``eigenvalues`` (..., n) ascending, ``eigenvectors`` (..., n, n) as columns."""
    eigenvalues: Tensor
    eigenvectors: Tensor


class SVDResult(NamedTuple):
    """``svd``'s result: ``U`` (..., m, k), ``S`` (..., k) descending, ``Vh`` (..., k, n)."""
    U: Tensor
    S: Tensor
    Vh: Tensor


class SlogdetResult(NamedTuple):
    """``slogdet``'s result: ``sign`` (a constant) and ``logabsdet``; det = sign * exp(logabsdet)."""
    sign: Tensor
    logabsdet: Tensor


class QRResult(NamedTuple):
    """``qr``'s result: ``Q`` (..., m, k) with orthonormal columns, ``R`` (..., k, n) upper triangular."""
    Q: Tensor
    R: Tensor


# ---------------------------------------------------------------------------
# Checks and errors, in the user's terms.
# ---------------------------------------------------------------------------

def _matrix(a, op, name="a"):
    """``a`` as a Tensor of at least 2 dimensions, else a LinAlgError naming ``op``."""
    a = as_tensor(a, name=f"{op}: {name}")
    if a.ndim < 2:
        raise LinAlgError(f"{op}: expected a matrix or a stack of matrices, shape (..., m, n), "
                          f"for {name}; got {describe(a)}")
    return a


def _square(a, op, name="a"):
    a = _matrix(a, op, name)
    if a.shape[-1] != a.shape[-2]:
        raise LinAlgError(f"{op}: expected a square matrix or a stack of square matrices, shape "
                          f"(..., n, n), for {name}; got {describe(a)}")
    return a


def _first_failure(numpy_function, data):
    """Where in a batch ``numpy_function`` fails: ' (batch index (1, 0))', or ''."""
    if data.ndim <= 2:
        return ""
    for index in np.ndindex(data.shape[:-2]):
        try:
            numpy_function(data[index])
        except LinAlgError:
            return f" (the matrix at batch index {index})"
    return ""


def _call(op, numpy_function, a, *args, failure="is singular", **kwargs):
    """Run NumPy's ``numpy_function`` on ``a``'s array; its errors reworded for ``op``."""
    try:
        return numpy_function(a._data, *args, **kwargs)
    except LinAlgError:
        where = _first_failure(lambda m: numpy_function(m, *args, **kwargs), a._data)
        raise LinAlgError(f"{op}: the matrix {failure}{where}; got {describe(a)}") from None
    except TypeError as error:  # float16, bool: NumPy's linalg refuses them
        raise TypeError(f"{op}: {error}; got {describe(a)} (convert with x.astype(np.float64) "
                        "or np.float32)") from None
    except ValueError as error:  # an argument NumPy refuses (UPLO="X")
        raise ValueError(f"{op}: {error}; got {describe(a)}") from None


def _expand(g):
    """A cotangent of shape (...) as (..., 1, 1), to scale a batch of matrices."""
    return g.reshape(g.shape + (1, 1))


def _eye(n, like):
    return np.eye(n, dtype=raw(like).dtype)


def _diag_embed(v, n):
    """(..., n) -> (..., n, n) with ``v`` on the diagonal (differentiable: a product)."""
    return v.reshape(v.shape[:-1] + (1, n)) * _eye(n, v)


def _row(v):
    """(..., k) -> (..., 1, k): scales the columns of a matrix."""
    return v.reshape(v.shape[:-1] + (1, v.shape[-1]))


def _column(v):
    """(..., k) -> (..., k, 1): scales the rows of a matrix."""
    return v.reshape(v.shape + (1,))


def _pieces(tensor, sizes, axis=-2):
    """Split ``tensor`` along ``axis`` (-2) into consecutive pieces of ``sizes`` (None: one
    row, dropped): getitem nodes, so on Tensors each piece is on the tape."""
    result, start = [], 0
    for size in sizes:
        if size is None:
            result.append(tensor[..., start, :])
            start += 1
        else:
            result.append(tensor[..., start:start + size, :])
            start += size
    return result


def _all_zero(g):
    """True when the cotangent ``g`` is a plain zero (an array, or a Tensor that does not
    require grad): terms it multiplies can be left out. A zero Tensor that requires grad
    is kept: its derivative still matters at second order."""
    if isinstance(g, Tensor) and g.requires_grad:
        return False
    return not np.any(raw(g))


# ---------------------------------------------------------------------------
# inv
# ---------------------------------------------------------------------------

def inv(a):
    """The inverse of a square matrix, or of each in a stack: (..., n, n) -> (..., n, n).

    >>> inv(Tensor([[2.0, 0.0], [0.0, 4.0]]))
    Tensor([[0.5 , 0.  ],
            [0.  , 0.25]], dtype=float64)
    """
    a = _square(a, "linalg.inv")
    return record(_call("linalg.inv", np.linalg.inv, a), (a,), INV_VJPS, "linalg.inv")


def _inv_vjp(g, out, a):  # d(A⁻¹) = -A⁻¹ dA A⁻¹
    inverse_t = out.mT
    return -(inverse_t @ g @ inverse_t)


INV_VJPS = (_inv_vjp,)
register(inv, INV_VJPS, namespace="linalg", numpy=np.linalg.inv)


# ---------------------------------------------------------------------------
# det, slogdet
# ---------------------------------------------------------------------------

def det(a):
    """The determinant of a square matrix, or of each in a stack: (..., n, n) -> (...).

    Its gradient at a singular matrix is the transposed adjugate (first order).

    >>> det(Tensor([[2.0, 1.0], [1.0, 3.0]])).item()
    5.0...
    """
    a = _square(a, "linalg.det")
    return record(_call("linalg.det", np.linalg.det, a), (a,), DET_VJPS, "linalg.det")


def _det_vjp(g, out, a):  # d det A = det A tr(A⁻¹ dA)
    try:
        inverse = np.linalg.inv(a)
    except LinAlgError:
        if isinstance(a, Tensor):
            raise LinAlgError(
                f"linalg.det: the second derivative of det at a singular matrix is not "
                f"supported (input {describe(a)}); the first derivative is the adjugate") from None
        return _expand(g) * _adjugate_transpose(a)
    return _expand(g * out) * inverse.mT


def _adjugate_transpose(a):
    """adj(A)ᵀ of arrays, singular ones included: det(U) det(Vh) U diag(∏_{j≠i} s_j) Vh."""
    u, s, vh = np.linalg.svd(a)
    ones = np.ones_like(s[..., :1])
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    signs = np.linalg.det(u) * np.linalg.det(vh)
    return _expand(signs) * ((u * _row(before * after)) @ vh)


DET_VJPS = (_det_vjp,)
register(det, DET_VJPS, namespace="linalg", numpy=np.linalg.det)


def slogdet(a):
    """Sign and natural log of the absolute determinant: (..., n, n) -> two (...) tensors.

    ``sign`` is a constant (the determinant's sign does not change under small changes
    of a non-singular matrix); ``logabsdet`` has gradient A⁻ᵀ. At a singular matrix
    (``logabsdet`` = -inf) backward raises.

    >>> sign, logabsdet = slogdet(Tensor([[-2.0, 0.0], [0.0, 3.0]]))
    >>> float(sign), round(float(logabsdet), 4)
    (-1.0, 1.7918)
    """
    a = _square(a, "linalg.slogdet")
    sign, logabsdet = _call("linalg.slogdet", np.linalg.slogdet, a)
    return SlogdetResult(constant(sign), record(logabsdet, (a,), SLOGDET_VJPS, "linalg.slogdet"))


def _slogdet_vjp(g, out, a):  # d log|det A| = tr(A⁻¹ dA)
    try:
        inverse = np.linalg.inv(a)
    except LinAlgError:
        raise LinAlgError(f"linalg.slogdet: the gradient of logabsdet at a singular matrix "
                          f"(logabsdet = -inf) is undefined; got {describe(a)}") from None
    return _expand(g) * inverse.mT


SLOGDET_VJPS = (_slogdet_vjp,)
register(slogdet, SLOGDET_VJPS, namespace="linalg", numpy=np.linalg.slogdet)


# ---------------------------------------------------------------------------
# solve
# ---------------------------------------------------------------------------

def solve(a, b):
    """x with a @ x = b, with NumPy 2's rules: ``a`` (..., n, n); ``b`` a vector (n,) when
    it is 1-D (x is (..., n)), otherwise a stack of matrices (..., n, k) (x is (..., n, k));
    batch axes broadcast.

    >>> solve(Tensor([[2.0, 0.0], [0.0, 4.0]]), Tensor([1.0, 1.0]))
    Tensor([0.5 , 0.25], dtype=float64)
    """
    a = _square(a, "linalg.solve")
    b = as_tensor(b, name="linalg.solve: b")
    n = a.shape[-1]
    if b.ndim == 0 or b.shape[-1 if b.ndim == 1 else -2] != n:
        raise ValueError(
            f"linalg.solve: b must have shape ({n},) or (..., {n}, k) to match a of shape "
            f"{a.shape} (NumPy 2: a 1-D b is a vector, any other b a stack of matrices; for a "
            f"batch of vectors use b[..., None] and x[..., 0]); got {describe(b)}")
    try:
        data = np.linalg.solve(a._data, b._data)
    except LinAlgError:
        where = _first_failure(np.linalg.inv, a._data)
        raise LinAlgError(f"linalg.solve: the matrix a is singular{where}; got a {describe(a)}, "
                          f"b {describe(b)}") from None
    except (ValueError, TypeError) as error:
        raise type(error)(f"linalg.solve: {error}; got a {describe(a)}, b {describe(b)}") from None
    return record(data, (a, b), SOLVE_VJPS, "linalg.solve")


def _solve_b_full(g, a, b):
    """Aᵀ⁻¹ X̄ as a stack of matrices (..., n, k); for a vector b, (..., n, 1)."""
    if b.ndim == 1:
        g = _column(g)
    return np.linalg.solve(a.mT, g)


def _solve_a_vjp(g, out, a, b):  # dX = -A⁻¹ dA X: Ā = -B̄ Xᵀ
    gb = _solve_b_full(g, a, b)
    x = _column(out) if b.ndim == 1 else out
    return _p.unbroadcast(-(gb @ x.mT), a.shape)


def _solve_b_vjp(g, out, a, b):  # dX = A⁻¹ dB: B̄ = A⁻ᵀ X̄
    gb = _solve_b_full(g, a, b)
    if b.ndim == 1:
        gb = gb.reshape(gb.shape[:-1])
    return _p.unbroadcast(gb, b.shape)


SOLVE_VJPS = (_solve_a_vjp, _solve_b_vjp)
register(solve, SOLVE_VJPS, namespace="linalg", numpy=np.linalg.solve)


# ---------------------------------------------------------------------------
# cholesky
# ---------------------------------------------------------------------------

def cholesky(a, /, *, upper=False):
    """The Cholesky factor of a symmetric positive-definite matrix (or stack): L lower
    triangular with L @ L.mT = a (``upper=True``: U = L.mT, with U.mT @ U = a). Reads one
    triangle of ``a``, as NumPy does; the gradient is the symmetric one.

    >>> cholesky(Tensor([[4.0, 2.0], [2.0, 2.0]]))
    Tensor([[2., 0.],
            [1., 1.]], dtype=float64)
    """
    a = _square(a, "linalg.cholesky")
    data = _call("linalg.cholesky", np.linalg.cholesky, a, upper=upper,
                 failure="is not positive definite")
    return record(data, (a,), cholesky_vjps(bool(upper)), "linalg.cholesky")


def cholesky_vjps(upper):
    def cholesky_vjp(g, out, a):
        lower, g_lower = (out.mT, g.mT) if upper else (out, g)
        n = lower.shape[-1]
        phi = lower.mT @ g_lower
        phi = phi * np.tril(np.ones((n, n), raw(phi).dtype), -1) + phi * (0.5 * _eye(n, phi))
        lower_inverse = np.linalg.inv(lower)
        gradient = lower_inverse.mT @ phi @ lower_inverse
        return (gradient + gradient.mT) * 0.5
    return (cholesky_vjp,)


register(cholesky, cholesky_vjps, namespace="linalg", numpy=np.linalg.cholesky)


# ---------------------------------------------------------------------------
# eigh: one node holds eigenvalues and eigenvectors packed as (..., 1 + n, n); the two
# results are slices of it, so one VJP sees both cotangents.
# ---------------------------------------------------------------------------

def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix or stack:
    (..., n, n) -> ``EighResult(eigenvalues (..., n), eigenvectors (..., n, n))``.

    Reads the lower (``UPLO="L"``) or upper triangle, as NumPy does; the gradient is the
    symmetric one. The eigenvectors' gradient needs distinct eigenvalues (see the module
    docstring: a repeated eigenvalue raises unless the cotangent ignores the rotation
    within its eigenspace).

    >>> w, v = eigh(Tensor([[2.0, 0.0], [0.0, 1.0]]))
    >>> w
    Tensor([1., 2.], dtype=float64)
    """
    a = _square(a, "linalg.eigh")
    w, v = _call("linalg.eigh", np.linalg.eigh, a, UPLO, failure="did not converge")
    packed = record(np.concatenate([w[..., None, :], v], axis=-2), (a,), EIGH_VJPS, "linalg.eigh")
    w, v = _pieces(packed, (None, a.shape[-1]))
    return EighResult(w, v)


def _gap_factors(values, cotangent_skew, op, what, shown):
    """F_ij = 1 / (values_j - values_i) off the diagonal (differentiable in ``values``), 0 on
    it; for pairs too close to tell apart, 0 if ``cotangent_skew`` vanishes there, else a
    LinAlgError naming ``what`` (the vectors) and ``shown`` (the values, as the user knows
    them): the gradient is undefined."""
    n = values.shape[-1]
    gaps = _row(values) - _column(values)
    gaps_raw = raw(gaps)
    eps = np.finfo(gaps_raw.dtype).eps
    scale = np.max(np.abs(raw(values)), axis=-1, keepdims=True, initial=0)[..., None]
    close = (np.abs(gaps_raw) <= n * eps * np.maximum(scale, np.finfo(gaps_raw.dtype).tiny))
    close &= ~np.eye(n, dtype=bool)
    if close.any():
        skew = np.abs(raw(cotangent_skew))
        allowed = 100 * n * eps * np.max(skew, axis=(-2, -1), keepdims=True, initial=0)
        if np.any(close & (skew > allowed)):
            name, shown = shown
            raise LinAlgError(
                f"{op}: the gradient of the {what} is undefined where {name} repeat ({name} "
                f"{np.round(raw(shown), 6).tolist()}): the {what} of a repeated value can be "
                "rotated freely within their space. Differentiate a function of the values "
                "only, or of the whole space (such as its projector v @ v.mT)")
    usable = ~close & ~np.eye(n, dtype=bool)
    return np.where(usable, 1 / np.where(usable, gaps, 1), 0)


def _skew(m):
    return (m - m.mT) * 0.5


def _eigh_vjp(g, out, a):
    n = a.shape[-1]
    g_values, g_vectors = _pieces(g, (None, n))
    values, vectors = _pieces(out, (None, n))
    inner = _diag_embed(g_values, n)
    if not _all_zero(g_vectors):
        # dV = V (F ∘ (Vᵀ dA V)); only the skew part of Vᵀ V̄ meets it (Vᵀ dV is skew).
        skew = _skew(vectors.mT @ g_vectors)
        inner = inner + _gap_factors(values, skew, "linalg.eigh", "eigenvectors",
                                     ("eigenvalues", values)) * skew
    return vectors @ inner @ vectors.mT


EIGH_VJPS = (_eigh_vjp,)
register(eigh, EIGH_VJPS, namespace="linalg", numpy=np.linalg.eigh)


# ---------------------------------------------------------------------------
# svd: one node holds U (m, k), S (1, k) and V (n, k) packed as (..., m + 1 + n, k).
# ---------------------------------------------------------------------------

def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition a = U @ diag(S) @ Vh of a matrix or stack (..., m, n):
    ``SVDResult(U (..., m, k), S (..., k), Vh (..., k, n))``, k = min(m, n), S descending;
    ``compute_uv=False`` gives S alone. ``full_matrices=True`` (NumPy's default) makes U
    (..., m, m) and Vh (..., n, n); gradients that reach the extra columns of a non-square
    matrix raise (they are not unique): use ``full_matrices=False``.

    >>> svd(Tensor([[3.0, 0.0], [0.0, -2.0]]), compute_uv=False)
    Tensor([3., 2.], dtype=float64)
    """
    a = _matrix(a, "linalg.svd")
    m, n = a.shape[-2:]
    k = min(m, n)
    full = bool(full_matrices) and bool(compute_uv) and m != n
    u, s, vh = _call("linalg.svd", np.linalg.svd, a, full, True, hermitian,
                     failure="did not converge")
    packed = record(np.concatenate([u[..., :k], s[..., None, :], vh[..., :k, :].mT], axis=-2),
                    (a,), SVD_VJPS, "linalg.svd")
    u_part, s_part, v_part = _pieces(packed, (m, None, n))
    if not compute_uv:
        return s_part
    if full:  # the extra columns of U or rows of Vh: not unique, so no gradient
        if m > n:
            extra = record(u[..., k:], (a,), _EXTRA_VJPS, "linalg.svd")
            u_part = _p.concatenate([u_part, extra], -1)
        else:
            extra = record(vh[..., k:, :].mT, (a,), _EXTRA_VJPS, "linalg.svd")
            v_part = _p.concatenate([v_part, extra], -1)
    u, s, v = u_part, s_part, v_part
    return SVDResult(u, s, v.mT)


def _extra_vectors_vjp(g, out, a):
    if _all_zero(g):
        return np.where(True, 0, a)
    raise LinAlgError(
        f"linalg.svd: the gradient of the extra singular vectors that full_matrices=True adds "
        f"for a non-square matrix ({describe(a)}) is undefined (they are not unique); call "
        "svd(a, full_matrices=False)")


_EXTRA_VJPS = (_extra_vectors_vjp,)


_SVD_NAMES = ("linalg.svd", "singular vectors")


def _svd_vjp(g, out, a):
    m, n = a.shape[-2:]
    k = min(m, n)
    g_u, g_s, g_v = _pieces(g, (m, None, n))
    u, s, v = _pieces(out, (m, None, n))
    inner = _diag_embed(g_s, k)
    use_u, use_v = not _all_zero(g_u), not _all_zero(g_v)
    squares = s * s
    values = ("singular values", s)
    if use_u:
        ut_gu = u.mT @ g_u
        skew_u = _skew(ut_gu)                                   # (UᵀŪ - ŪᵀU) / 2
        factors = _gap_factors(squares, skew_u, *_SVD_NAMES, values)
        inner = inner + 2 * (factors * skew_u) * _row(s)        # (F ∘ (UᵀŪ - ŪᵀU)) S
    if use_v:
        vt_gv = v.mT @ g_v
        skew_v = _skew(vt_gv)
        factors = _gap_factors(squares, skew_v, *_SVD_NAMES, values)
        inner = inner + 2 * _column(s) * (factors * skew_v)     # S (F ∘ (VᵀV̄ - V̄ᵀV))
    gradient = u @ inner @ v.mT
    # The parts of Ū and V̄ off the column spaces of U and V (only when a is not square).
    if use_u and m > k:
        gradient = gradient + (_off_span(g_u, u, ut_gu, s)) @ v.mT
    if use_v and n > k:
        gradient = gradient + u @ _off_span(g_v, v, vt_gv, s).mT
    return gradient


def _off_span(g, basis, basis_t_g, s):
    """(I - B Bᵀ) Ḡ S⁻¹; a zero singular value there leaves it undefined."""
    rest = g - basis @ basis_t_g
    zero = raw(s) == 0
    if zero.any():
        if np.any(raw(rest) * _row(zero)):
            raise LinAlgError("linalg.svd: the gradient of the singular vectors of a "
                              "rank-deficient non-square matrix is undefined (a singular value "
                              "is 0 and the cotangent reaches its vector)")
        s = np.where(zero, 1, s)
    return rest / _row(s)


SVD_VJPS = (_svd_vjp,)
register(svd, SVD_VJPS, namespace="linalg", numpy=np.linalg.svd)


# ---------------------------------------------------------------------------
# qr: one node holds Q (m, k) and Rᵀ (n, k) packed as (..., m + n, k).
# ---------------------------------------------------------------------------

def qr(a, mode="reduced"):
    """QR factorisation a = Q @ R of a matrix or stack (..., m, n): ``QRResult(Q (..., m, k),
    R (..., k, n))``, k = min(m, n); ``mode="r"`` gives R alone. Gradients need m >= n.

    >>> q, r = qr(Tensor([[3.0, 0.0], [4.0, 5.0]]))
    >>> q.shape, r.shape
    ((2, 2), (2, 2))
    """
    a = _matrix(a, "linalg.qr")
    if mode not in ("reduced", "r"):
        raise ValueError(f"linalg.qr on tensors: mode must be 'reduced' or 'r', got {mode!r} "
                         "('complete' and 'raw' have no gradient rule)")
    m = a.shape[-2]
    q, r = _call("linalg.qr", np.linalg.qr, a, "reduced")
    packed = record(np.concatenate([q, r.mT], axis=-2), (a,), QR_VJPS, "linalg.qr")
    q, r_t = _pieces(packed, (m, a.shape[-1]))
    return r_t.mT if mode == "r" else QRResult(q, r_t.mT)


def _qr_vjp(g, out, a):
    m, n = a.shape[-2:]
    if m < n:
        raise LinAlgError(f"linalg.qr: gradients are implemented for m >= n (a tall or square "
                          f"matrix); got {describe(a)}. Differentiate qr(a.mT) instead")
    g_q, g_r_t = _pieces(g, (m, n))
    q, r_t = _pieces(out, (m, n))
    r, g_r = r_t.mT, g_r_t.mT
    middle = r @ g_r.mT - g_q.mT @ q
    lower = np.tril(np.ones((n, n), raw(middle).dtype), -1)
    symmetric = middle * lower + (middle * lower).mT + middle * _eye(n, middle)  # copyltu
    # (Q̄ + Q copyltu(M)) R⁻ᵀ, as the transpose of R⁻¹ (...)ᵀ
    return np.linalg.solve(r, (g_q + q @ symmetric).mT).mT


QR_VJPS = (_qr_vjp,)
register(qr, QR_VJPS, namespace="linalg", numpy=np.linalg.qr)


# ---------------------------------------------------------------------------
# pinv
# ---------------------------------------------------------------------------

_NO_VALUE = np._NoValue


def pinv(a, rcond=None, hermitian=False, *, rtol=_NO_VALUE):
    """The Moore-Penrose pseudo-inverse of a matrix or stack: (..., m, n) -> (..., n, m).
    Its gradient holds where the rank is constant (singular values away from the cutoff).

    >>> pinv(Tensor([[2.0, 0.0]]))
    Tensor([[0.5],
            [0. ]], dtype=float64)
    """
    a = _matrix(a, "linalg.pinv")
    keywords = {} if rtol is _NO_VALUE else {"rtol": rtol}
    data = _call("linalg.pinv", np.linalg.pinv, a, rcond, hermitian, **keywords,
                 failure="did not converge")
    return record(data, (a,), PINV_VJPS, "linalg.pinv")


def _pinv_vjp(g, out, a):
    x, g_t = out, g.mT
    gradient = -(x.mT @ g @ x.mT)
    m, n = a.shape[-2:]
    off_range = _eye(m, a) - a @ x       # I - A A⁺ (0 when A has full row rank)
    off_rows = _eye(n, a) - x @ a        # I - A⁺ A (0 when A has full column rank)
    return gradient + off_range @ g_t @ (x @ x.mT) + (x.mT @ x) @ g_t @ off_rows


PINV_VJPS = (_pinv_vjp,)
register(pinv, PINV_VJPS, namespace="linalg", numpy=np.linalg.pinv)


# ---------------------------------------------------------------------------
# matrix_power (composed: products of the matrix or of its inverse)
# ---------------------------------------------------------------------------

def matrix_power(a, n):
    """a @ a @ ... (``n`` times) for an integer ``n``: (..., m, m) -> (..., m, m); ``n = 0``
    gives the identity, negative ``n`` powers of ``inv(a)``. Composed of ``matmul``.

    >>> matrix_power(Tensor([[1.0, 1.0], [0.0, 1.0]]), 3)
    Tensor([[1., 3.],
            [0., 1.]], dtype=float64)
    """
    a = _square(a, "linalg.matrix_power")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"linalg.matrix_power: the exponent must be an integer, got {n!r:.60}") from None
    if n == 0:  # the identity, still connected to a (a zero gradient, not a detached result)
        return _p.where(True, np.eye(a.shape[-1], dtype=a.dtype), a)
    if n == 1:  # a new tensor, as NumPy gives a copy
        return _p.mul(a, 1)
    if n < 0:
        a, n = inv(a), -n
    result, square = None, a
    while True:  # binary powers: n = sum of 2^i, one product per bit
        if n & 1:
            result = square if result is None else _p.matmul(result, square)
        n >>= 1
        if not n:
            return result
        square = _p.matmul(square, square)


register(matrix_power, kind="composed", namespace="linalg", numpy=np.linalg.matrix_power)


# ---------------------------------------------------------------------------
# norm: NumPy's cases, composed; the p-norms (2 and 'fro' included) are one primitive
# whose gradient is 0 where the norm is 0, as PyTorch's.
# ---------------------------------------------------------------------------

def _vector_norm(x, p, axes, keepdims, numpy_ord, numpy_axis):
    """(Σ |x|^p)^(1/p) over ``axes`` (a tuple), valued by ``np.linalg.norm(x, numpy_ord,
    numpy_axis)``; p = 0 counts nonzeros (gradient 0)."""
    try:
        data = np.linalg.norm(x._data, numpy_ord, numpy_axis, keepdims)
    except TypeError as error:
        raise TypeError(f"linalg.norm: {error}; got {describe(x)}") from None
    return record(data, (x,), vector_norm_vjps(p, axes, keepdims), "linalg.norm")


def vector_norm_vjps(p, axis, keepdims):
    def vector_norm_vjp(g, out, x):
        if p == 0:
            return np.where(True, 0, x)
        kept = _p.kept_shape(x.shape, axis)
        if not keepdims:
            g, out = g.reshape(kept), out.reshape(kept)
        flat = raw(out) == 0                      # the norm is 0: gradient 0 (a subgradient)
        norm = np.where(flat, 1, out)
        if p == 2:
            return np.where(flat, 0, g * x / norm)
        # d/dx_i = sign(x_i) (|x_i| / norm)^(p-1) (a ratio: no overflow for a large p);
        # 0 where x_i = 0 (for p <= 1 a subgradient)
        zero = raw(x) == 0
        size = np.abs(np.where(zero, 1, x))
        share = np.sign(raw(x)) * (size / norm) ** (p - 1)
        return np.where(flat | zero, 0, g * share)

    return (vector_norm_vjp,)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector and matrix norms with NumPy's ``ord``, ``axis`` and ``keepdims``.

    Vectors (``axis`` an int, or a 1-D ``x``): ``None``/2, 1, ``inf``, ``-inf``, 0 (the
    count of nonzeros: gradient 0) and any other p, negative too. Matrices (``axis`` a
    pair, or a 2-D ``x``): ``None``/``'fro'``, ``'nuc'``, 1, -1, 2, -2, ``inf``, ``-inf``.
    At a zero vector or matrix the gradient is 0, as PyTorch gives it; at ties (the
    largest |x| twice) the tied entries share it.

    >>> norm(Tensor([3.0, -4.0]))
    Tensor(5., dtype=float64)
    """
    x = as_tensor(x, name="linalg.norm: x")
    if x.dtype.kind not in "fc":
        x = _p.astype(x, np.float64)
    nd = x.ndim
    if axis is None:
        if ord is None or (ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1):
            return _vector_norm(x, 2, tuple(range(nd)), keepdims, None, None)
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple):
        try:
            axis = (operator.index(axis),)
        except TypeError:
            raise TypeError(f"linalg.norm: axis must be None, an int or a pair of ints, got "
                            f"{axis!r:.60}") from None
    axis = _p.reduced_axes(nd, axis, "linalg.norm") if axis else axis
    if len(axis) == 1:
        return _vector_ord(x, ord, axis, keepdims)
    if len(axis) == 2:
        return _matrix_ord(x, ord, axis, keepdims)
    raise ValueError(f"linalg.norm: improper number of dimensions to norm: ord={ord!r} needs a "
                     f"vector (1 axis) or a matrix (2 axes); got axis {axis} of {describe(x)}")


def _vector_ord(x, ord, axis, keepdims):
    if ord == np.inf:
        return _p.max(_p.abs(x), axis=axis[0], keepdims=keepdims)
    if ord == -np.inf:
        return _p.min(_p.abs(x), axis=axis[0], keepdims=keepdims)
    if ord == 1:
        return _p.sum(_p.abs(x), axis=axis[0], keepdims=keepdims)
    if ord is None:
        ord = 2
    if isinstance(ord, str) or not isinstance(ord, (int, float, np.integer, np.floating)) \
            or isinstance(ord, bool) or math.isnan(ord):
        raise ValueError(f"linalg.norm: invalid norm order {ord!r} for vectors (a number: 2, 1, "
                         f"inf, -inf, 0 or any p)")
    p = int(ord) if float(ord).is_integer() else float(ord)  # a Python number: weak in pow
    return _vector_norm(x, p, axis, keepdims, ord, axis[0])


def _matrix_ord(x, ord, axis, keepdims):
    row, col = axis
    if row == col:
        raise ValueError(f"linalg.norm: duplicate axes given: {axis}")
    if ord in (None, "fro", "f"):
        return _vector_norm(x, 2, axis, keepdims, "fro", axis)
    if ord in (2, -2, "nuc"):
        rest = [i for i in range(x.ndim) if i not in axis]
        values = svd(_p.transpose(x, (*rest, row, col)), compute_uv=False)
        reduce = {2: _p.max, -2: _p.min, "nuc": _p.sum}[ord]
        out = reduce(values, axis=-1)
    elif ord in (1, -1, np.inf, -np.inf):
        reduce = _p.max if ord > 0 else _p.min
        summed, kept = (row, col) if ord in (1, -1) else (col, row)
        if kept > summed:
            kept -= 1
        out = reduce(_p.sum(_p.abs(x), axis=summed), axis=kept)
    else:
        raise ValueError(f"linalg.norm: invalid norm order {ord!r} for matrices (None, 'fro', "
                         "'nuc', 1, -1, 2, -2, inf, -inf)")
    if keepdims:
        shape = list(x.shape)
        shape[row] = shape[col] = 1
        out = _p.reshape(out, tuple(shape))
    return out


register(norm, kind="composed", namespace="linalg", numpy=np.linalg.norm)


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The vector norm over ``axis`` (None: every entry; an int; or a tuple of axes, taken
    together as one vector), as NumPy 2's ``np.linalg.vector_norm``; the ords of ``norm``'s
    vectors. Composed of ``norm``.

    >>> vector_norm(Tensor([[3.0], [4.0]]))
    Tensor(5., dtype=float64)
    """
    x = as_tensor(x, name="linalg.vector_norm: x")
    shape = list(x.shape)
    if axis is None:
        flat, vector_axis = _p.reshape(x, -1), 0
    elif isinstance(axis, tuple):
        axes = _p.reduced_axes(x.ndim, axis, "linalg.vector_norm")
        rest = tuple(i for i in range(x.ndim) if i not in axes)
        flat = _p.reshape(_p.transpose(x, axes + rest),
                          (math.prod(x.shape[i] for i in axes), *(x.shape[i] for i in rest)))
        vector_axis = 0
    else:
        flat, vector_axis = x, axis
    out = norm(flat, ord, vector_axis)
    if keepdims:
        kept = range(x.ndim) if axis is None else axis if isinstance(axis, tuple) else (axis,)
        for i in _p.reduced_axes(x.ndim, tuple(kept), "linalg.vector_norm"):
            shape[i] = 1
        out = _p.reshape(out, tuple(shape))
    return out


register(vector_norm, kind="composed", namespace="linalg", numpy=np.linalg.vector_norm)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The matrix norm of the last two axes, as NumPy 2's ``np.linalg.matrix_norm``: ``norm``
    with ``axis=(-2, -1)``.

    >>> matrix_norm(Tensor([[3.0, 0.0], [0.0, 4.0]]), ord=2)
    Tensor(4., dtype=float64)
    """
    return norm(x, ord, (-2, -1), keepdims)


register(matrix_norm, kind="composed", namespace="linalg", numpy=np.linalg.matrix_norm)


def svdvals(x, /):
    """The singular values (..., k), descending: ``svd(x, compute_uv=False)``.

    >>> svdvals(Tensor([[0.0, 2.0], [1.0, 0.0]]))
    Tensor([2., 1.], dtype=float64)
    """
    return svd(x, compute_uv=False)


register(svdvals, kind="composed", namespace="linalg", numpy=np.linalg.svdvals)


def eigvalsh(a, UPLO="L"):
    """The eigenvalues (..., n), ascending, of a symmetric matrix or stack: ``eigh``'s
    first result (its gradient is defined for repeated eigenvalues too).

    >>> eigvalsh(Tensor([[2.0, 1.0], [1.0, 2.0]]))
    Tensor([1., 3.], dtype=float64)
    """
    return eigh(a, UPLO).eigenvalues


register(eigvalsh, kind="composed", namespace="linalg", numpy=np.linalg.eigvalsh)


def __dir__():
    return sorted(__all__)
