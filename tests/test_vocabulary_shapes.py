"""The shapes and contractions vocabulary at the points the spec table does not reach:
einsum's subscripts (``...``, the implicit output, diagonals, broadcasting, the list form,
NumPy's refusals), its VJP on Tensors (grad of grad), pad's modes, splits at index lists,
NumPy's dtypes for stacks of Python numbers, NumPy dispatch and methods, and errors that
name the op and the shapes. The generic checks (values, gradients, float32, second
order) are the rows in specs_shapes.py.
"""

import numpy as np
import pytest

import autograd as ag
from autograd.testing import gradcheck

RNG = np.random.default_rng(14)


def normal(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def grad_of(function, *values):
    """The gradients of ``function(*tensors).sum()`` with respect to each value."""
    tensors = [ag.tensor(v, requires_grad=True) for v in values]
    function(*tensors).sum().backward()
    return [t.grad for t in tensors]


# ---------------------------------------------------------------------------
# einsum.
# ---------------------------------------------------------------------------

EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),                    # implicit: 'ik'
    ("ba", [(2, 3)]),                               # implicit: 'ab', a transpose
    ("bA,bc", [(2, 3), (2, 4)]),                    # implicit: 'Ac' (upper case sorts first)
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),  # batch axes broadcast
    ("...ij,jk", [(5, 2, 3), (3, 2)]),              # implicit with '...': '...ik'
    ("i...->...", [(3, 2, 2)]),
    ("...,...", [(2, 1), (3,)]),                    # only '...': a broadcast product
    ("ii->i", [(3, 3)]),                            # a diagonal
    ("ii", [(3, 3)]),                               # the trace
    ("iij->j", [(2, 2, 4)]),
    ("iji,j->ij", [(3, 2, 3), (2,)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),                # a length-1 axis broadcasts
    ("ii,i->i", [(1, 1), (3,)]),                    # ... also on a diagonal
    ("ij->", [(2, 3)]),
    ("i,i", [(3,), (3,)]),                          # implicit: '' (a dot product)
    ("bij,jk,k->bi", [(2, 3, 4), (4, 2), (2,)]),
    ("i,j,k->kji", [(2,), (3,), (1,)]),
    ("->", [()]),
    (",ij->ij", [(), (2, 2)]),
]


@pytest.mark.parametrize("subscripts, shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_values_and_gradients_match_numpy_and_finite_differences(subscripts, shapes):
    operands = [normal(*shape) for shape in shapes]
    out = ag.einsum(subscripts, *[ag.tensor(o) for o in operands])
    expected = np.einsum(subscripts, *operands)
    assert out.shape == expected.shape and out.dtype == expected.dtype
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    assert gradcheck(lambda *xs: ag.einsum(subscripts, *xs), *operands)


@pytest.mark.parametrize("subscripts, shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_vjp_is_differentiable_on_tensors(subscripts, shapes):
    """The VJP is an einsum with the subscripts swapped, run on Tensors under create_graph:
    grad of grad, checked against finite differences of the first derivative."""
    operands = [normal(*shape) for shape in shapes]
    v = normal(*np.shape(np.einsum(subscripts, *operands)))

    def pulled_back(*arguments):
        *xs, cotangent = arguments
        _, pull_back = ag.vjp(lambda *ts: ag.einsum(subscripts, *ts), *xs)
        return ag.concatenate([ag.reshape(g, -1) for g in pull_back(cotangent)])

    assert gradcheck(pulled_back, *operands, v)


def test_einsum_diagonal_gradient_lands_on_the_diagonal_only():
    x = normal(3, 3)
    (g,) = grad_of(lambda x: ag.einsum("ii->i", x) * np.array([1.0, 2.0, 3.0]), x)
    np.testing.assert_array_equal(g, np.diag([1.0, 2.0, 3.0]))
    (g,) = grad_of(lambda x: ag.einsum("ii", x), x)
    np.testing.assert_array_equal(g, np.eye(3))


def test_einsum_hessian_of_a_quadratic_form():
    a = normal(3, 3)
    hessian = ag.hessian(lambda x: ag.einsum("i,ij,j", x, a, x))(normal(3))
    np.testing.assert_allclose(np.asarray(hessian), a + a.T, rtol=1e-12)


def test_einsum_fan_out_and_broadcast_gradients():
    x = normal(2, 3)
    (g,) = grad_of(lambda x: ag.einsum("ij,ij->", x, x), x)
    np.testing.assert_allclose(g, 2 * x)
    row, full = normal(1, 3), normal(2, 3)
    g_row, g_full = grad_of(lambda r, f: ag.einsum("ij,ij->ij", r, f), row, full)
    np.testing.assert_allclose(g_row, full.sum(axis=0, keepdims=True))
    np.testing.assert_allclose(g_full, np.broadcast_to(row, (2, 3)))


def test_einsum_list_form_and_optimize():
    a, b = normal(2, 3), normal(3, 4)
    out = ag.einsum(ag.tensor(a), [0, 1], ag.tensor(b), [1, 2], [0, 2])
    np.testing.assert_allclose(out.data, a @ b)
    implicit = ag.einsum(ag.tensor(a), [Ellipsis, 1], ag.tensor(b), [1, 2])
    np.testing.assert_allclose(implicit.data, np.einsum(a, [Ellipsis, 1], b, [1, 2]))
    for optimize in (False, True, "greedy", "optimal"):
        g_a, g_b = grad_of(lambda x, y: ag.einsum("ij,jk->ik", x, y, optimize=optimize), a, b)
        np.testing.assert_allclose(g_a, np.ones((2, 4)) @ b.T)
        np.testing.assert_allclose(g_b, a.T @ np.ones((2, 4)))


def test_einsum_gradients_match_torch():
    torch = pytest.importorskip("torch")
    a, b = normal(2, 3, 4), normal(2, 4, 5)
    assert gradcheck(lambda x, y: ag.einsum("bij,bjk->bik", x, y), a, b)
    g_a, g_b = grad_of(lambda x, y: ag.einsum("bij,bjk->bik", x, y), a, b)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    torch.einsum("bij,bjk->bik", ta, tb).sum().backward()
    np.testing.assert_allclose(g_a, ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(g_b, tb.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("subscripts, shapes, words", [
    ("i->ii", [(3,)], "more than once"),                 # NumPy refuses a repeated output index
    ("ij,jk", [(2, 3), (2, 3)], "length 3"),
    ("ij", [(2, 3), (3,)], "1 operand but 2 were given"),
    ("i", [(2, 3)], "axes"),
    ("...i->i", [(2, 3)], "'...'"),
    ("i->j", [(3,)], "'j'"),
    ("i2", [(3, 3)], "'2'"),
    ("ii", [(2, 3)], "different"),
])
def test_einsum_refuses_what_numpy_refuses_naming_subscripts_and_shapes(subscripts, shapes, words):
    operands = [np.ones(shape) for shape in shapes]
    with pytest.raises(ValueError):
        np.einsum(subscripts, *operands)
    with pytest.raises(ValueError) as error:
        ag.einsum(subscripts, *[ag.tensor(o, requires_grad=True) for o in operands])
    message = str(error.value)
    assert "einsum" in message and repr(subscripts) in message and words in message
    assert str(shapes[0]) in message


def test_numpy_einsum_and_tensordot_on_tensors_dispatch_and_keep_float32():
    a = ag.tensor(normal(2, 3, dtype=np.float32), requires_grad=True)
    b = ag.tensor(normal(3, 4, dtype=np.float32), requires_grad=True)
    out = np.einsum("ij,jk", a, b)
    assert isinstance(out, ag.Tensor) and out.dtype == np.float32 and out.requires_grad
    np.testing.assert_allclose(out.data, a.data @ b.data, rtol=1e-6)
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad, np.ones((2, 4), np.float32) @ b.data.T, rtol=1e-6)
    for product in (np.tensordot(a, b, 1), np.dot(a, b), np.inner(a, b.T), a.dot(b)):
        assert isinstance(product, ag.Tensor) and product.dtype == np.float32
        np.testing.assert_allclose(product.data, a.data @ b.data, rtol=1e-6)


# ---------------------------------------------------------------------------
# The other contractions.
# ---------------------------------------------------------------------------

def test_products_with_python_numbers_promote_as_numpy_does():
    """np.dot and friends make a Python float a float64 array (unlike x * 2.0)."""
    x32 = normal(3, dtype=np.float32)
    for ours, theirs in [(ag.dot, np.dot), (ag.inner, np.inner), (ag.outer, np.outer),
                         (ag.kron, np.kron), (ag.vdot, None)]:
        if theirs is None:  # vdot needs equal sizes
            assert ag.vdot(ag.tensor(x32[:1]), 2.0).dtype == np.vdot(x32[:1], 2.0).dtype
            continue
        assert ours(ag.tensor(x32), 2.0).dtype == theirs(x32, 2.0).dtype == np.float64
    assert ag.einsum("i,", ag.tensor(x32), 2.0).dtype == np.einsum("i,", x32, 2.0).dtype


def test_dot_tensordot_and_cross_errors_name_the_op_and_shapes():
    a, b = ag.tensor(np.ones((2, 3))), ag.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dot: shapes \(2, 3\) and \(2, 3\) are not aligned"):
        ag.dot(a, b)
    with pytest.raises(ValueError, match=r"tensordot: axis 1 of a \(shape \(2, 3\)\) has length 3"):
        ag.tensordot(a, b, 1)
    with pytest.raises(ValueError, match=r"inner: .*\(2, 3\) and \(2,\)"):
        ag.inner(a, np.ones(2))
    with pytest.raises(ValueError, match="cross: vectors of length 3"):
        ag.cross(ag.tensor(np.ones(2)), ag.tensor(np.ones(2)))
    with pytest.raises(ValueError, match=r"vdot: .*\(2, 3\) \(6\) and \(5,\) \(5\)"):
        ag.vdot(a, np.ones(5))


def test_cross_gradient_is_the_cross_with_the_other_operand():
    a, b = normal(4, 3), normal(4, 3)
    w = normal(4, 3)
    g_a, g_b = grad_of(lambda x, y: ag.cross(x, y) * w, a, b)
    # d<w, a x b>/da = b x w, d/db = w x a
    np.testing.assert_allclose(g_a, np.cross(b, w), rtol=1e-12)
    np.testing.assert_allclose(g_b, np.cross(w, a), rtol=1e-12)
    (g,) = grad_of(lambda x: ag.cross(x, x), a)   # a x a = 0 whatever a is
    np.testing.assert_allclose(g, 0, atol=1e-15)


# ---------------------------------------------------------------------------
# pad.
# ---------------------------------------------------------------------------

def test_pad_constant_gradient_is_the_inside_and_keeps_float32():
    x = normal(2, 3, dtype=np.float32)
    out = ag.pad(ag.tensor(x), ((1, 0), (2, 1)), constant_values=0.5)
    expected = np.pad(x, ((1, 0), (2, 1)), constant_values=0.5)
    assert out.dtype == np.float32 == expected.dtype
    np.testing.assert_array_equal(out.data, expected)
    weights = RNG.standard_normal(expected.shape)
    (g,) = grad_of(lambda t: ag.pad(t, ((1, 0), (2, 1))) * weights, x.astype(np.float64))
    np.testing.assert_array_equal(g, weights[1:, 2:5])
    np.testing.assert_array_equal(ag.pad(ag.tensor(x), 2).data, np.pad(x, 2))
    per_axis = ((1.0, 2.0), (3.0, 4.0))
    np.testing.assert_array_equal(ag.pad(ag.tensor(x), 1, constant_values=per_axis).data,
                                  np.pad(x, 1, constant_values=per_axis))


@pytest.mark.parametrize("mode, expected_gradient", [
    ("reflect", [2.0, 2.0, 1.0]),      # [a b c] -> [a b c b a]
    ("symmetric", [1.0, 2.0, 2.0]),    # [a b c] -> [a b c c b]
    ("wrap", [2.0, 2.0, 1.0]),         # [a b c] -> [a b c a b]
    ("edge", [1.0, 1.0, 3.0]),         # [a b c] -> [a b c c c]
])
def test_pad_modes_that_copy_entries_send_each_copy_back(mode, expected_gradient):
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ag.pad(ag.tensor(x), (0, 2), mode).data, np.pad(x, (0, 2), mode))
    (g,) = grad_of(lambda t: ag.pad(t, (0, 2), mode), x)
    np.testing.assert_array_equal(g, expected_gradient)
    wide = normal(2, 3)
    assert gradcheck(lambda t: ag.pad(t, ((3, 1), (4, 2)), mode), wide)  # wider than the axes


def test_pad_refuses_what_it_cannot_differentiate_or_do():
    x = ag.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="pad: constant_values is a constant"):
        ag.pad(x, 1, constant_values=ag.tensor(2.0, requires_grad=True))
    with pytest.raises(ValueError, match="pad: mode 'median' is not supported"):
        ag.pad(x, 1, "median")
    with pytest.raises(ValueError, match=r"pad: pad_width .* does not fit a tensor of shape "
                                         r"\(3,\)"):
        ag.pad(x, ((1, 2), (3, 4)))
    with pytest.raises(ValueError, match="pad: pad_width must be >= 0"):
        ag.pad(x, -1)


# ---------------------------------------------------------------------------
# Splits.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("indices", [[1, 3], [3, 1], [0, 0, 5], [-2], [], [10]])
def test_split_at_index_lists_matches_numpy(indices):
    x = np.arange(12.0).reshape(2, 6)
    ours = ag.split(ag.tensor(x), indices, axis=1)
    theirs = np.split(x, indices, axis=1)
    assert len(ours) == len(theirs)
    for piece, expected in zip(ours, theirs):
        assert piece.shape == expected.shape
        np.testing.assert_array_equal(piece.data, expected)


def test_split_gradient_reaches_only_the_pieces_used():
    x = normal(5, 2)
    (g,) = grad_of(lambda t: ag.split(t, [1, 3])[1] * 2.0, x)
    np.testing.assert_array_equal(g, [[0, 0], [2, 2], [2, 2], [0, 0], [0, 0]])
    first, second, third = ag.array_split(ag.tensor(np.arange(7.0), requires_grad=True), 3)
    assert [p.shape for p in (first, second, third)] == [(3,), (2,), (2,)]


def test_split_errors_and_numpy_dispatch():
    x = ag.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"split: 2 sections do not divide axis 1 of length 3 "
                                         r"equally \(shape \(2, 3\)\)"):
        ag.split(x, 2, axis=1)
    with pytest.raises(ValueError, match="array_split: the number of sections must be > 0"):
        ag.array_split(x, 0)
    with pytest.raises(ValueError, match=r"dsplit: needs a tensor with at least 3 dimensions, "
                                         r"got shape \(2, 3\)"):
        ag.dsplit(x, 1)
    for pieces in (np.hsplit(x, 3), np.split(x, [1], axis=1), np.array_split(x, 2, axis=1),
                   np.vsplit(x, 2)):
        assert all(isinstance(p, ag.Tensor) and p.requires_grad for p in pieces)
    np.testing.assert_array_equal(ag.concatenate(np.hsplit(x, 3), axis=1).data, x.data)


# ---------------------------------------------------------------------------
# Stacks: NumPy's dtypes with Python numbers, and errors.
# ---------------------------------------------------------------------------

STACKS = [("hstack", np.hstack), ("vstack", np.vstack), ("dstack", np.dstack),
          ("column_stack", np.column_stack)]


@pytest.mark.parametrize("name, numpy_stack", STACKS, ids=[s[0] for s in STACKS])
@pytest.mark.parametrize("other", [1.0, 1, np.float64(1.0), np.array([1.0], np.float16),
                                   np.array(1, np.int8)], ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_stacks_promote_python_numbers_as_numpy_does(name, numpy_stack, other, dtype):
    """NumPy turns every item into an array first, so a Python float is a strong float64
    (np.hstack([x32, 1.0]) is float64, unlike x32 * 1.0)."""
    x = np.ones(1, dtype)
    out = getattr(ag, name)([ag.tensor(x), other])
    expected = numpy_stack([x, other])
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)


def test_append_promotes_as_numpy_does_and_float32_gradients_stay_float32():
    x32 = np.ones(2, np.float32)
    assert ag.append(ag.tensor(x32), 1.0).dtype == np.append(x32, 1.0).dtype == np.float64
    assert ag.append(ag.tensor(x32), np.float32(1.0)).dtype == np.float32
    x = ag.tensor(x32, requires_grad=True)
    ag.hstack([x, 1.0]).sum().backward()   # a float64 result, a float32 gradient
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_stacks_take_a_tensor_as_a_sequence_of_rows_as_numpy_does():
    x = normal(3, 2)
    for name, numpy_stack in STACKS:
        np.testing.assert_array_equal(getattr(ag, name)(ag.tensor(x)).data, numpy_stack(x))


def test_stack_errors_name_the_op_and_the_shapes():
    a = ag.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"hstack: tensors of shapes \[\(2, 3\), \(3,\)\]"):
        ag.hstack([a, np.ones(3)])
    with pytest.raises(ValueError, match=r"vstack: tensors of shapes \[\(2, 3\), \(4,\)\] cannot "
                                         r"be joined along axis 0"):
        ag.vstack([a, np.ones(4)])
    with pytest.raises(ValueError, match=r"append along axis 0: x of shape \(2, 3\) and values "
                                         r"of shape \(3,\)"):
        ag.append(a, np.ones(3), axis=0)
    with pytest.raises(TypeError, match="column_stack: expected a sequence"):
        ag.column_stack(3.0)
    with pytest.raises(ValueError, match="dstack: expected at least one tensor"):
        ag.dstack([])


def test_atleast_nd_with_several_arguments_returns_a_tuple():
    a, b = ag.atleast_2d(ag.tensor(1.0), [1.0, 2.0])
    assert (a.shape, b.shape) == ((1, 1), (1, 2))
    assert ag.atleast_3d(ag.tensor(np.ones((2, 3)))).shape == np.atleast_3d(np.ones((2, 3))).shape
    assert ag.atleast_1d() == np.atleast_1d() == ()


# ---------------------------------------------------------------------------
# Moves, repeats, diagonals, triangles, select.
# ---------------------------------------------------------------------------

def test_numpy_functions_and_methods_on_tensors_dispatch_here():
    x = ag.tensor(normal(2, 3, dtype=np.float32), requires_grad=True)
    for out, expected in [
        (np.flip(x), np.flip(x.data)), (np.fliplr(x), np.fliplr(x.data)),
        (np.rot90(x), np.rot90(x.data)), (np.roll(x, 1, 0), np.roll(x.data, 1, 0)),
        (np.moveaxis(x, 0, 1), np.moveaxis(x.data, 0, 1)), (np.ravel(x), np.ravel(x.data)),
        (np.tile(x, 2), np.tile(x.data, 2)), (np.repeat(x, 2), np.repeat(x.data, 2)),
        (np.pad(x, 1), np.pad(x.data, 1)), (np.diagonal(x), np.diagonal(x.data)),
        (np.trace(x), np.trace(x.data)), (np.tril(x), np.tril(x.data)),
        (np.kron(x, x), np.kron(x.data, x.data)), (np.outer(x, x), np.outer(x.data, x.data)),
        (np.atleast_3d(x), np.atleast_3d(x.data)), (np.hstack([x, x]), np.hstack([x.data] * 2)),
        (np.select([x.data > 0], [x]), np.select([x.data > 0], [x.data])),
        (x.flatten(), x.data.flatten()), (x.ravel("F"), x.data.ravel("F")),
        (x.repeat(2, axis=1), x.data.repeat(2, axis=1)), (x.trace(), x.data.trace()),
        (x.diagonal(1), x.data.diagonal(1)), (x.flip(0), np.flip(x.data, 0)),
    ]:
        assert isinstance(out, ag.Tensor) and out.requires_grad and out.dtype == expected.dtype
        np.testing.assert_array_equal(out.data, expected)


def test_flip_and_roll_send_the_cotangent_back_the_other_way():
    x, w = normal(3, 4), normal(3, 4)
    (g,) = grad_of(lambda t: ag.flip(t, 1) * w, x)
    np.testing.assert_array_equal(g, np.flip(w, 1))
    (g,) = grad_of(lambda t: ag.roll(t, (1, -1), (0, 1)) * w, x)
    np.testing.assert_array_equal(g, np.roll(w, (-1, 1), (0, 1)))
    (g,) = grad_of(lambda t: ag.roll(t, (1, 2), (0, 0)) * w, x)  # a repeated axis adds up
    np.testing.assert_array_equal(g, np.roll(w, -3, 0))


def test_repeat_and_tile_gradients_add_up_the_copies():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    (g,) = grad_of(lambda t: ag.repeat(t, [0, 3], axis=1), x)
    np.testing.assert_array_equal(g, [[0, 3], [0, 3]])
    (g,) = grad_of(lambda t: ag.repeat(t, 2), x)
    np.testing.assert_array_equal(g, np.full((2, 2), 2.0))
    (g,) = grad_of(lambda t: ag.tile(t, (3, 1, 2)), x)
    np.testing.assert_array_equal(g, np.full((2, 2), 6.0))
    (g,) = grad_of(lambda t: ag.tile(t, 0), x)     # an empty result: no gradient
    np.testing.assert_array_equal(g, np.zeros((2, 2)))


def test_diag_diagonal_trace_tril_triu_gradients_are_masks():
    x = normal(3, 4)
    (g,) = grad_of(lambda t: ag.diagonal(t, 1), x)
    np.testing.assert_array_equal(g, np.eye(3, 4, 1))
    (g,) = grad_of(lambda t: ag.trace(t, -1), x)
    np.testing.assert_array_equal(g, np.eye(3, 4, -1))
    (g,) = grad_of(lambda t: ag.tril(t, 1), x)
    np.testing.assert_array_equal(g, np.tril(np.ones((3, 4)), 1))
    (g,) = grad_of(lambda t: ag.triu(t, -1), x)
    np.testing.assert_array_equal(g, np.triu(np.ones((3, 4)), -1))
    v = normal(3)
    np.testing.assert_array_equal(ag.diag(ag.tensor(v), -2).data, np.diag(v, -2))
    (g,) = grad_of(lambda t: ag.diag(t, 2) * np.arange(25.0).reshape(5, 5), v)
    np.testing.assert_array_equal(g, np.diag(np.arange(25.0).reshape(5, 5), 2))


def test_select_first_true_condition_wins_and_the_default_gets_the_rest():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])
    default = np.array([7.0, 8.0, 9.0])
    conditions = [np.array([True, False, False]), np.array([True, True, False])]
    out = ag.select(conditions, [ag.tensor(a), ag.tensor(b)], ag.tensor(default))
    np.testing.assert_array_equal(out.data, np.select(conditions, [a, b], default))
    g_a, g_b, g_default = grad_of(lambda x, y, d: ag.select(conditions, [x, y], d), a, b, default)
    np.testing.assert_array_equal(g_a, [1, 0, 0])
    np.testing.assert_array_equal(g_b, [0, 1, 0])
    np.testing.assert_array_equal(g_default, [0, 0, 1])


@pytest.mark.parametrize("choices, default", [
    ([np.float32, 2.0], 0), ([np.float32], 0.5), ([np.float32], np.float64),
    ([np.float32, np.float64], 0),
    ([2, np.int32], 0.5), ([2, 3], 1), ([np.int8], 100),
], ids=repr)
def test_select_dtype_follows_numpy_python_numbers_weak(choices, default):
    """np.select keeps Python numbers weak: np.select([c, c], [x_float32, 2.0]) is float32."""
    def values(items):
        return [item if type(item) in (int, float) else np.arange(1.0, 3.0).astype(item)
                for item in items]
    conditions = [np.array([True, False]), np.array([False, True])][:len(choices)]
    numpy_choices, (numpy_default,) = values(choices), values([default])
    expected = np.select(conditions, numpy_choices, numpy_default)
    def tensors(items):
        return [item if type(item) in (int, float) else ag.tensor(item) for item in items]
    out = ag.select(conditions, tensors(numpy_choices), tensors([numpy_default])[0])
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)


def test_select_refuses_a_python_int_that_does_not_fit_where_numpy_wraps_it():
    with pytest.raises(ValueError, match="select: a Python int .* does not fit in int8"):
        ag.select([np.array([True])], [ag.tensor(np.ones(1, np.int8))], 300)


def test_where_with_the_condition_alone_gives_constant_indices():
    x = ag.tensor([[0.0, 1.5], [-2.0, 0.0]], requires_grad=True)
    for ours in (ag.where(x), np.where(x), ag.where(x > 0)):
        assert isinstance(ours, tuple) and len(ours) == 2
        assert all(isinstance(i, np.ndarray) and i.dtype.kind == "i" for i in ours)
    np.testing.assert_array_equal(np.where(x), np.nonzero(x.data))
    np.testing.assert_array_equal(ag.where(x > 0), np.nonzero(x.data > 0))
    assert ag.getitem(x, ag.where(x)).shape == (2,)


@pytest.mark.parametrize("call, error, words", [
    (lambda x: ag.fliplr(x[0]), ValueError,
     r"fliplr: needs a tensor with at least 2 dimensions, got shape \(3,\)"),
    (lambda x: ag.rot90(x, 1, (0, 0)), ValueError, r"rot90: repeated axis in axes \(0, 0\)"),
    (lambda x: ag.rot90(x, 1.5), TypeError, "rot90: k must be an int, got 1.5"),
    (lambda x: ag.moveaxis(x, 0, 2), np.exceptions.AxisError,
     "moveaxis: destination 2 is out of range"),
    (lambda x: ag.moveaxis(x, (0, 1), 0), ValueError,
     "moveaxis: source .* and destination .* need the same number"),
    (lambda x: ag.repeat(x, [1, 2], axis=1), ValueError,
     r"repeat: 2 repeats for an axis of length 3 \(axis 1 of shape \(2, 3\)\)"),
    (lambda x: ag.repeat(x, -1), ValueError, "repeat: repeats must be >= 0"),
    (lambda x: ag.tile(x, (2, -1)), ValueError, "tile: reps must be >= 0, got -1"),
    (lambda x: ag.diag(x[None]), ValueError, r"diag: needs a 1-D tensor .* got shape \(1, 2, 3\)"),
    (lambda x: ag.diagonal(x, 0, 1, 1), ValueError, "diagonal: axis1 and axis2 must differ"),
    (lambda x: ag.select([x.data > 0], [x, x]), ValueError, "select: 1 conditions but 2 choices"),
    (lambda x: ag.select([x.data], [x]), TypeError,
     r"select: condlist\[0\] must be a bool array, got shape \(2, 3\) float64"),
    (lambda x: ag.trace(x[0]), ValueError, r"trace: needs a tensor with at least 2 dimensions"),
    (lambda x: ag.cross(x, x, axisa=2), np.exceptions.AxisError,
     "cross: axisa: axis 2 is out of range"),
    (lambda x: ag.ravel(x, "Q"), ValueError, "ravel: order must be"),
])
def test_errors_name_the_op_and_what_was_given(call, error, words):
    with pytest.raises(error, match=words):
        call(ag.tensor(np.ones((2, 3)), requires_grad=True))
