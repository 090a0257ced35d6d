"""ag.linalg beyond the spec table: gradients against PyTorch (and finite differences),
np.linalg.* on Tensors, norm's ord table against np.linalg.norm, gradients at zero, the
degenerate cases (repeated eigenvalues and singular values, singular matrices) and the
errors users see."""

import numpy as np
import pytest

import autograd as ag
from autograd import registry
from autograd.testing import gradcheck

linalg = ag.linalg
LinAlgError = np.linalg.LinAlgError
RNG = np.random.default_rng(20261204)


def orthogonal(n):
    q, r = np.linalg.qr(RNG.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def with_singular_values(m, n, values):
    k = min(m, n)
    return orthogonal(m)[:, :k] @ np.diag(values) @ orthogonal(n)[:k]


def symmetric_with(eigenvalues):
    q = orthogonal(len(eigenvalues))
    a = q @ np.diag(eigenvalues) @ q.T
    return (a + a.T) / 2


def dominant(*shape):
    n = shape[-1]
    return RNG.uniform(-1, 1, shape) + (n + 1) * np.eye(n)


def spd(n):
    b = RNG.standard_normal((n, n))
    return b @ b.T + n * np.eye(n)


W = RNG.standard_normal((5, 5))
C = RNG.standard_normal((5, 5))


# ---------------------------------------------------------------------------
# Gradients against PyTorch. Each case is a scalar function written once for either
# library: ``lib`` is ag.linalg or torch.linalg, ``const`` makes a constant of that kind.
# ---------------------------------------------------------------------------

def sym(x):
    return (x + x.mT) / 2


def eigh_case(lib, const, x):
    w, v = lib.eigh(sym(x))
    n = w.shape[-1]
    return (w * const(C[0, :n])).sum() + (v * (const(W[:n, :n]) @ v) * const(C[:n, :n])).sum()


def svd_case(lib, const, x):
    u, s, vh = lib.svd(x, full_matrices=False)
    m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
    return ((s * const(C[0, :k])).sum() + (u * (const(W[:m, :m]) @ u) * const(C[:m, :k])).sum()
            + (vh * (vh @ const(W[:n, :n])) * const(C[:k, :n])).sum())


def qr_case(lib, const, x):
    q, r = lib.qr(x)
    m, n, k = q.shape[-2], r.shape[-1], r.shape[-2]
    return ((q * (const(W[:m, :m]) @ q) * const(C[:m, :k])).sum()
            + (r * (r @ const(W[:n, :n])) * const(C[:k, :n])).sum())


TORCH_CASES = {
    "inv": (lambda lib, const, x: (lib.inv(x) * const(C[:3, :3])).sum(), [dominant(2, 3, 3)]),
    "det": (lambda lib, const, x: (lib.det(x) * const(C[0, :2])).sum(), [dominant(2, 3, 3)]),
    "slogdet": (lambda lib, const, x: lib.slogdet(x)[1].sum(), [dominant(3, 3) * [[1], [-1], [1]]]),
    "solve_vector": (lambda lib, const, a, b: (lib.solve(a, b) * const(C[0, :3])).sum(),
                     [dominant(3, 3), RNG.standard_normal(3)]),
    "solve_matrix": (lambda lib, const, a, b: (lib.solve(a, b) * const(C[:3, :2])).sum(),
                     [dominant(2, 3, 3), RNG.standard_normal((2, 3, 2))]),
    "cholesky": (lambda lib, const, x: (lib.cholesky(sym(x)) * const(C[:3, :3])).sum(), [spd(3)]),
    "cholesky_upper": (lambda lib, const, x: (lib.cholesky(sym(x), upper=True) * const(C[:3, :3])).sum(),
                       [spd(3)]),
    "eigh": (eigh_case, [symmetric_with([-1.0, 0.5, 2.0, 4.0])]),
    "svd_square": (svd_case, [with_singular_values(3, 3, [3.0, 2.0, 0.5])]),
    "svd_tall": (svd_case, [with_singular_values(5, 3, [3.0, 2.0, 0.5])]),
    "svd_wide": (svd_case, [with_singular_values(2, 4, [3.0, 1.0])]),
    "qr": (qr_case, [with_singular_values(4, 3, [3.0, 2.0, 1.0])]),
    "pinv": (lambda lib, const, x: (lib.pinv(x) * const(C[:3, :4])).sum(),
             [with_singular_values(4, 3, [3.0, 2.0, 1.0])]),
    "matrix_power": (lambda lib, const, x: (lib.matrix_power(x, 3) * const(C[:3, :3])).sum(),
                     [dominant(3, 3) / 4]),
    "matrix_power_negative": (lambda lib, const, x: (lib.matrix_power(x, -2) * const(C[:3, :3])).sum(),
                              [dominant(3, 3) / 4]),
}


def _ours(case):
    return lambda *xs: case(linalg, lambda c: c, *xs)


@pytest.mark.parametrize("name", TORCH_CASES)
def test_gradient_matches_finite_differences_and_torch(name):
    case, args = TORCH_CASES[name]
    assert gradcheck(_ours(case), *args)
    ours = ag.grad(_ours(case), argnums=tuple(range(len(args))))(*args)
    torch = pytest.importorskip("torch")
    leaves = [torch.tensor(a, requires_grad=True) for a in args]
    case(torch.linalg, torch.as_tensor, *leaves).backward()
    for mine, leaf in zip(ours, leaves):
        np.testing.assert_allclose(np.asarray(mine), leaf.grad.numpy(), rtol=1e-8, atol=1e-10)


VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 0, 3, 0.5, -1, -2.5]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@pytest.mark.parametrize("ord", VECTOR_ORDS, ids=str)
def test_vector_norm_gradients_match_finite_differences_and_torch(ord):
    x = np.array([[0.7, -1.9, 2.3, -3.1], [1.1, 0.4, -0.8, 2.6]])
    function = lambda x: linalg.norm(x, ord, axis=1)
    assert gradcheck(function, x)
    (ours,) = ag.grad(lambda x: (function(x) * [1.0, -2.0]).sum(), argnums=(0,))(x)
    torch = pytest.importorskip("torch")
    leaf = torch.tensor(x, requires_grad=True)
    p = 2 if ord is None else ord
    (torch.linalg.vector_norm(leaf, p, dim=1) * torch.tensor([1.0, -2.0], dtype=leaf.dtype)).sum().backward()
    expected = np.zeros_like(x) if leaf.grad is None else leaf.grad.numpy()  # ord 0: no graph
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=str)
def test_matrix_norm_gradients_match_finite_differences_and_torch(ord):
    x = with_singular_values(3, 3, [3.0, 2.0, 0.5]) + np.diag([0.2, -0.7, 0.4])
    assert gradcheck(lambda x: linalg.norm(x, ord), x)
    ours = ag.grad(lambda x: linalg.norm(x, ord))(x)
    torch = pytest.importorskip("torch")
    leaf = torch.tensor(x, requires_grad=True)
    torch.linalg.matrix_norm(leaf, "fro" if ord is None else ord).backward()
    np.testing.assert_allclose(np.asarray(ours), leaf.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_second_derivatives_match_torch():
    """Hessians through inv, eigh and slogdet (VJPs written with differentiable ops)."""
    a = dominant(2, 2)
    s = symmetric_with([-1.0, 2.0])
    functions = [
        (lambda x: (linalg.inv(x) * C[:2, :2]).sum(),
         lambda t, x: (t.linalg.inv(x) * t.as_tensor(C[:2, :2])).sum(), a),
        (lambda x: linalg.slogdet(x).logabsdet, lambda t, x: t.linalg.slogdet(x)[1], a),
        (lambda x: eigh_case(linalg, lambda c: c, x),
         lambda t, x: eigh_case(t.linalg, t.as_tensor, x), s),
    ]
    hessians = [np.asarray(ag.hessian(f)(x)) for f, _, x in functions]
    for (f, _, x), hessian in zip(functions, hessians):   # the Hessian is the gradient's Jacobian
        assert gradcheck(lambda y: _grad_tensor(f, y), x)
        assert np.allclose(hessian, hessian.transpose(2, 3, 0, 1), atol=1e-8)
    torch = pytest.importorskip("torch")
    for (_, g, x), hessian in zip(functions, hessians):
        expected = torch.autograd.functional.hessian(lambda y: g(torch, y), torch.tensor(x))
        np.testing.assert_allclose(hessian, expected.numpy(), rtol=1e-7, atol=1e-9)


def _grad_tensor(f, y):
    """The gradient of f at the Tensor ``y``, itself on the tape (create_graph)."""
    (g,) = ag.vjp(f, y)[1](np.array(1.0))
    return g


# ---------------------------------------------------------------------------
# np.linalg on Tensors is ag.linalg; the registry files them under "linalg".
# ---------------------------------------------------------------------------

NAMES = ("inv det slogdet solve cholesky eigh svd qr norm pinv matrix_power vector_norm "
         "matrix_norm svdvals eigvalsh").split()


@pytest.mark.parametrize("name", NAMES)
def test_registered_under_the_linalg_namespace(name):
    entry = registry.builtin(f"linalg.{name}")
    assert entry.function is getattr(linalg, name) and entry.namespace == "linalg"
    assert entry.numpy == (getattr(np.linalg, name),)
    assert registry.namespace("linalg")[name] is getattr(linalg, name)
    assert name not in registry.exports() or registry.exports()[name] is not entry.function


def test_numpy_linalg_on_tensors_records():
    a = ag.tensor(dominant(3, 3), requires_grad=True)
    inverse = np.linalg.inv(a)
    assert isinstance(inverse, ag.Tensor) and inverse.requires_grad
    np.testing.assert_allclose(inverse.data, np.linalg.inv(a.data))
    w, v = np.linalg.eigh(ag.tensor(spd(3), requires_grad=True))
    assert w.requires_grad and v.requires_grad
    np.testing.assert_array_equal(np.asarray(np.linalg.norm(a, axis=0)), np.linalg.norm(a.data, axis=0))
    sign, logabsdet = np.linalg.slogdet(a)
    assert not sign.requires_grad and logabsdet.requires_grad
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    assert (u.shape, s.shape, vh.shape) == ((3, 3), (3,), (3, 3))
    g = ag.grad(lambda x: np.linalg.det(x))(a.data)
    np.testing.assert_allclose(np.asarray(g), np.linalg.det(a.data) * np.linalg.inv(a.data).T)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_keep_the_dtype_and_batch(dtype):
    a = ag.tensor(np.stack([spd(3), spd(3)]).astype(dtype), requires_grad=True)
    results = [linalg.inv(a), linalg.det(a), *linalg.slogdet(a), linalg.solve(a, np.ones(3, dtype)),
               linalg.cholesky(a), *linalg.eigh(a), *linalg.svd(a), *linalg.qr(a), linalg.pinv(a),
               linalg.matrix_power(a, 2), linalg.norm(a, axis=(1, 2)), linalg.norm(a, 2, axis=(1, 2))]
    for out in results:
        assert out.dtype == dtype and out.shape[0] == 2
    total = sum(out.sum() for out in results if out.requires_grad)
    total.backward()
    assert a.grad.dtype == dtype and a.grad.shape == a.shape


def test_solve_follows_numpy_2_for_vectors_and_stacks():
    a = dominant(2, 3, 3)
    vector, stack = RNG.standard_normal(3), RNG.standard_normal((2, 3, 1))
    assert linalg.solve(a, vector).shape == np.linalg.solve(a, vector).shape == (2, 3)
    assert linalg.solve(a, stack).shape == np.linalg.solve(a, stack).shape == (2, 3, 1)
    with pytest.raises(ValueError, match=r"linalg.solve: b must have shape \(3,\) or \(\.\.\., 3, k\)"):
        linalg.solve(a, RNG.standard_normal((2, 3)))   # NumPy 2: a stack of 2x3 matrices
    assert gradcheck(linalg.solve, a, vector) and gradcheck(linalg.solve, a[0], stack)


# ---------------------------------------------------------------------------
# norm: every ord against np.linalg.norm; the gradient at zero and at ties.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("ord", VECTOR_ORDS, ids=str)
def test_vector_norm_values_match_numpy(ord, keepdims):
    x = RNG.standard_normal((3, 4, 2))
    for axis in (0, 1, -1):
        np.testing.assert_allclose(np.asarray(linalg.norm(x, ord, axis, keepdims)),
                                   np.linalg.norm(x, ord, axis, keepdims), rtol=1e-13)
    vector = x[0, :, 0]
    assert np.allclose(np.asarray(linalg.norm(vector, ord, keepdims=keepdims)),
                       np.linalg.norm(vector, ord, keepdims=keepdims), rtol=1e-13)
    assert linalg.norm(vector.astype(np.float32), ord).dtype == np.float32


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=str)
def test_matrix_norm_values_match_numpy(ord, keepdims):
    x = RNG.standard_normal((3, 4, 2))
    for axis in ((0, 1), (1, 0), (2, 0), (-1, -2)):
        ours = linalg.norm(x, ord, axis, keepdims)
        expected = np.linalg.norm(x, ord, axis, keepdims)
        assert ours.shape == expected.shape
        np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(linalg.norm(x[0], ord, keepdims=keepdims)),
                               np.linalg.norm(x[0], ord, keepdims=keepdims), rtol=1e-12)


def test_norm_without_ord_flattens_like_numpy():
    x = RNG.standard_normal((2, 3, 4))
    for keepdims in (False, True):
        np.testing.assert_allclose(np.asarray(linalg.norm(x, keepdims=keepdims)),
                                   np.linalg.norm(x, keepdims=keepdims), rtol=1e-13)
    assert gradcheck(linalg.norm, x)
    assert linalg.norm(np.array([3, 4])).item() == 5.0   # integers become float64, as NumPy


@pytest.mark.parametrize("ord", VECTOR_ORDS[1:], ids=str)
def test_numpy_2_vector_norm_values_match_numpy(ord):
    x = RNG.standard_normal((3, 4, 2))
    for axis in (None, 0, -1, (0, 2), (2, 0), (0, 1, 2)):
        for keepdims in (False, True):
            expected = np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
            ours = linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
            assert ours.shape == np.shape(expected)
            np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-13)
    if ord != 0:
        assert gradcheck(lambda x: linalg.vector_norm(x, axis=(2, 0), ord=ord), x)


@pytest.mark.parametrize("ord", MATRIX_ORDS[1:], ids=str)
def test_numpy_2_matrix_norm_svdvals_eigvalsh_match_numpy(ord):
    x = RNG.standard_normal((2, 3, 4))
    for keepdims in (False, True):
        np.testing.assert_allclose(np.asarray(linalg.matrix_norm(x, keepdims=keepdims, ord=ord)),
                                   np.linalg.matrix_norm(x, keepdims=keepdims, ord=ord), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(linalg.svdvals(x)), np.linalg.svdvals(x), rtol=1e-12)
    s = np.stack([spd(3), symmetric_with([1.0, 1.0, 2.0])])
    np.testing.assert_allclose(np.asarray(linalg.eigvalsh(s)), np.linalg.eigvalsh(s), rtol=1e-12)
    # repeated eigenvalues: the eigenvalues' gradient is still defined (sum = trace)
    np.testing.assert_allclose(np.asarray(ag.grad(lambda s: linalg.eigvalsh(s).sum())(s)),
                               np.broadcast_to(np.eye(3), s.shape), atol=1e-12)


@pytest.mark.parametrize("ord", [None, 2, 1, np.inf, -np.inf, 3, 0.5, 0], ids=str)
def test_vector_norm_gradient_at_zero_is_zero(ord):
    for x in (np.zeros(3), np.zeros((2, 3))):
        g = ag.grad(lambda x: linalg.norm(x, ord, axis=-1).sum())(x)
        np.testing.assert_array_equal(np.asarray(g), np.zeros_like(x))


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, np.inf, 2], ids=str)
def test_matrix_norm_gradient_at_zero_is_finite(ord):
    g = np.asarray(ag.grad(lambda x: linalg.norm(x, ord))(np.zeros((3, 3))))
    assert np.all(np.isfinite(g))
    if ord in ("fro", 1, np.inf):
        np.testing.assert_array_equal(g, np.zeros((3, 3)))


def test_norm_gradient_at_zero_matches_torch():
    x = np.array([0.0, 0.0, 0.0])
    cases = [(2, None), (1, None), (np.inf, None), (3, None)]
    ours = [np.asarray(ag.grad(lambda x: linalg.norm(x, ord))(x)) for ord, _ in cases]
    for g in ours:
        np.testing.assert_array_equal(g, 0.0)
    torch = pytest.importorskip("torch")
    for (ord, _), g in zip(cases, ours):
        leaf = torch.tensor(x, requires_grad=True)
        torch.linalg.vector_norm(leaf, ord).backward()
        np.testing.assert_array_equal(g, leaf.grad.numpy())


def test_norm_with_zero_entries_takes_the_zero_subgradient():
    x = np.array([0.0, 3.0, -4.0])
    np.testing.assert_allclose(np.asarray(ag.grad(linalg.norm)(x)), [0.0, 0.6, -0.8])
    np.testing.assert_array_equal(np.asarray(ag.grad(lambda x: linalg.norm(x, 1))(x)), [0.0, 1.0, -1.0])
    np.testing.assert_array_equal(np.asarray(ag.grad(lambda x: linalg.norm(x, 0.5))(x))[0], 0.0)


def test_inf_norm_ties_share_the_gradient():
    x = np.array([3.0, -3.0, 1.0])
    g = np.asarray(ag.grad(lambda x: linalg.norm(x, np.inf))(x))
    np.testing.assert_allclose(g, [0.5, -0.5, 0.0])
    torch = pytest.importorskip("torch")
    leaf = torch.tensor(x, requires_grad=True)
    torch.linalg.vector_norm(leaf, float("inf")).backward()
    np.testing.assert_allclose(g, leaf.grad.numpy())


@pytest.mark.parametrize("call, message", [
    (lambda: linalg.norm(np.ones(3), "fro"), "invalid norm order 'fro' for vectors"),
    (lambda: linalg.norm(np.ones((2, 2)), 3), "invalid norm order 3 for matrices"),
    (lambda: linalg.norm(np.ones((2, 2, 2)), 1), "improper number of dimensions"),
    (lambda: linalg.norm(np.ones((2, 2)), 1, axis=(1, -1)), "duplicate axes"),
    (lambda: linalg.norm(np.ones((2, 2)), axis=2), r"axis \(2,\) is out of range"),
])
def test_norm_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# ---------------------------------------------------------------------------
# Degenerate cases: defined gradients given, undefined ones raise.
# ---------------------------------------------------------------------------

def test_eigh_repeated_eigenvalues():
    a = symmetric_with([1.0, 1.0, 3.0])
    # the eigenvalues' gradient exists: sum(w) = trace(a), so its gradient is I
    g = ag.grad(lambda x: linalg.eigh(x).eigenvalues.sum())(a)
    np.testing.assert_allclose(np.asarray(g), np.eye(3), atol=1e-12)
    # one eigenvector of the repeated pair is not determined: its gradient raises
    with pytest.raises(LinAlgError, match="linalg.eigh: the gradient of the eigenvectors is undefined"):
        ag.grad(lambda x: (linalg.eigh(x).eigenvectors[:, 0] ** 3).sum())(a)
    # the projector onto the whole eigenspace is determined: its gradient is given
    def projector(x):
        v = linalg.eigh(sym(x)).eigenvectors[:, :2]
        return ((v @ v.mT) * C[:3, :3]).sum()
    assert gradcheck(projector, a)


def test_eigh_gradient_is_symmetric_and_reads_the_symmetric_part():
    a = symmetric_with([-1.0, 0.5, 2.0])
    g = np.asarray(ag.grad(lambda x: eigh_case(linalg, lambda c: c, x))(a))
    np.testing.assert_allclose(g, g.T, atol=1e-12)
    for uplo in ("L", "U"):
        np.testing.assert_allclose(np.asarray(linalg.eigh(a, uplo).eigenvalues), np.linalg.eigvalsh(a))


def test_svd_repeated_and_zero_singular_values():
    a = with_singular_values(3, 3, [2.0, 2.0, 1.0])
    g = ag.grad(lambda x: linalg.svd(x, compute_uv=False).sum())(a)   # the nuclear norm
    u, _, vh = np.linalg.svd(a)
    np.testing.assert_allclose(np.asarray(g), u @ vh, atol=1e-12)
    with pytest.raises(LinAlgError, match="linalg.svd: the gradient of the singular vectors is undefined"):
        ag.grad(lambda x: (linalg.svd(x).U[:, 0] ** 3).sum())(a)
    rank_one = np.outer([1.0, 2.0, 0.5], [1.0, -1.0])
    g = np.asarray(ag.grad(lambda x: linalg.svd(x, compute_uv=False)[0])(rank_one))
    np.testing.assert_allclose(g, rank_one / np.linalg.norm(rank_one), atol=1e-12)


def test_svd_full_matrices_extra_vectors():
    tall = with_singular_values(4, 2, [3.0, 1.0])
    u, s, vh = linalg.svd(ag.tensor(tall))
    assert u.shape == (4, 4) and s.shape == (2,) and vh.shape == (2, 2)
    np.testing.assert_allclose(np.asarray(u), np.linalg.svd(tall)[0])
    # the first k columns and S have gradients; the extra columns raise
    assert gradcheck(lambda x: (linalg.svd(x).U[:, :2] ** 3).sum() + linalg.svd(x).S.sum(), tall)
    with pytest.raises(LinAlgError, match="full_matrices=False"):
        ag.grad(lambda x: linalg.svd(x).U[:, 3].sum())(tall)


def test_det_at_a_singular_matrix_is_the_adjugate():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    np.testing.assert_allclose(np.asarray(ag.grad(linalg.det)(singular)), [[4.0, -2.0], [-2.0, 1.0]])
    batch = np.stack([singular, np.diag([2.0, 3.0]), np.zeros((2, 2))])
    g = np.asarray(ag.grad(lambda x: linalg.det(x).sum())(batch))
    np.testing.assert_allclose(g, [[[4, -2], [-2, 1]], [[3, 0], [0, 2]], [[0, 0], [0, 0]]], atol=1e-12)
    rank_two = np.diag([1.0, 2.0, 0.0])
    np.testing.assert_allclose(np.asarray(ag.grad(linalg.det)(rank_two)), np.diag([0, 0, 2.0]), atol=1e-12)
    assert gradcheck(linalg.det, batch) and gradcheck(linalg.det, rank_two)  # det is a polynomial
    # (PyTorch 2.13 gives 0 at these singular matrices, which finite differences refute;
    # it agrees at the regular one.)
    torch = pytest.importorskip("torch")
    leaf = torch.tensor(batch, requires_grad=True)
    torch.linalg.det(leaf).sum().backward()
    np.testing.assert_allclose(g[1], leaf.grad.numpy()[1], atol=1e-12)


def test_slogdet_at_a_singular_matrix_raises_in_backward():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    sign, logabsdet = linalg.slogdet(ag.tensor(singular, requires_grad=True))
    assert sign.item() == 0.0 and logabsdet.item() == -np.inf
    with pytest.raises(LinAlgError, match="linalg.slogdet: the gradient of logabsdet at a singular"):
        logabsdet.backward()


def test_qr_gradient_needs_a_tall_matrix():
    wide = RNG.standard_normal((2, 3))
    q, r = linalg.qr(ag.tensor(wide))
    np.testing.assert_allclose(np.asarray(q @ r), wide, atol=1e-12)
    with pytest.raises(LinAlgError, match=r"linalg.qr: gradients are implemented for m >= n"):
        ag.grad(lambda x: linalg.qr(x).R.sum())(wide)
    np.testing.assert_allclose(np.asarray(linalg.qr(ag.tensor(wide), mode="r")), np.linalg.qr(wide, "r"))


def test_matrix_power_zero_is_the_identity_with_a_zero_gradient():
    a = dominant(2, 3, 3)
    out = linalg.matrix_power(ag.tensor(a, requires_grad=True), 0)
    np.testing.assert_array_equal(np.asarray(out), np.linalg.matrix_power(a, 0))
    np.testing.assert_array_equal(np.asarray(ag.grad(lambda x: linalg.matrix_power(x, 0).sum())(a)), 0.0)


def test_pinv_of_a_rank_deficient_matrix_at_constant_rank():
    p, q = np.array([1.0, 2.0, 0.5]), np.array([1.0, -1.0, 2.0])
    dp, dq = np.array([0.3, -0.2, 1.0]), np.array([0.5, 1.0, 0.1])
    a = np.outer(p, q)                                   # rank 1; a(t) = (p + t dp)(q + t dq)ᵀ too
    g = np.asarray(ag.grad(lambda x: (linalg.pinv(x) * C[:3, :3]).sum())(a))
    t = 1e-5
    f = lambda t: (np.linalg.pinv(np.outer(p + t * dp, q + t * dq)) * C[:3, :3]).sum()
    tangent = np.outer(dp, q) + np.outer(p, dq)
    np.testing.assert_allclose((g * tangent).sum(), (f(t) - f(-t)) / (2 * t), rtol=1e-6)


# ---------------------------------------------------------------------------
# Errors name the op and the shapes.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["inv", "det", "slogdet", "cholesky", "eigh", "matrix_power"])
def test_non_square_input_is_refused(name):
    args = (2,) if name == "matrix_power" else ()
    with pytest.raises(LinAlgError, match=rf"linalg.{name}: expected a square matrix .*shape \(2, 3\)"):
        getattr(linalg, name)(np.ones((2, 3)), *args)
    with pytest.raises(LinAlgError, match=rf"linalg.{name}: expected a .*matri.*shape \(3,\)"):
        getattr(linalg, name)(np.ones(3), *args)


def test_singular_and_indefinite_matrices_are_named():
    batch = np.stack([np.eye(2), np.array([[1.0, 2.0], [2.0, 4.0]])])
    with pytest.raises(LinAlgError, match=r"linalg.inv: the matrix is singular \(the matrix at batch "
                                          r"index \(1,\)\); got shape \(2, 2, 2\) float64"):
        linalg.inv(batch)
    with pytest.raises(LinAlgError, match=r"linalg.solve: the matrix a is singular"):
        linalg.solve(batch, np.ones(2))
    with pytest.raises(LinAlgError, match=r"linalg.cholesky: the matrix is not positive definite"):
        linalg.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))


def test_other_argument_errors():
    with pytest.raises(TypeError, match="linalg.matrix_power: the exponent must be an integer"):
        linalg.matrix_power(np.eye(2), 1.5)
    with pytest.raises(ValueError, match="linalg.qr on tensors: mode must be 'reduced' or 'r'"):
        linalg.qr(np.eye(2), mode="complete")
    with pytest.raises(TypeError, match="linalg.inv: .*float16"):
        linalg.inv(np.eye(2, dtype=np.float16))
    with pytest.raises(ValueError, match="linalg.eigh: UPLO"):
        linalg.eigh(np.eye(2), UPLO="X")
