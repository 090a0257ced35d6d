"""Transforms take containers (HIPS autograd and JAX habits): dict, list and tuple arguments,
nested, give gradients of the same structure; argnum=, has_aux=, elementwise_grad; an
output that does not depend on the inputs warns instead of a silent zero."""

import collections
import warnings

import numpy as np
import pytest

import autograd as ag
from autograd.tensors import Tensor
from autograd.transforms import IndependentOutputWarning, elementwise_grad


def numeric_grad(f, x, eps=1e-6):
    """Central differences of a scalar function of one float array."""
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        g[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return g


def mlp_loss(params, x, y):
    hidden = ag.tanh(ag.matmul(x, params["W1"]) + params["b1"])
    out = ag.matmul(hidden, params["W2"]) + params["b2"]
    return ((out - y) ** 2).mean()


def mlp_params(rng):
    return {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4),
            "W2": rng.normal(size=(4, 2)), "b2": rng.normal(size=2)}


# ---------------------------------------------------------------------------
# Structures in, the same structures out.
# ---------------------------------------------------------------------------

def test_grad_of_a_dict_of_params_is_a_dict_matching_finite_differences():
    rng = np.random.default_rng(0)
    params, x, y = mlp_params(rng), rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    grads = ag.grad(mlp_loss)(params, x, y)
    assert type(grads) is dict and list(grads) == list(params)
    for name, value in params.items():
        assert grads[name].shape == value.shape and grads[name].dtype == value.dtype

        def along(v, name=name):
            changed = dict(params, **{name: v})
            return float(mlp_loss(changed, x, y).data)

        np.testing.assert_allclose(grads[name].data, numeric_grad(along, value),
                                   rtol=1e-6, atol=1e-9)


def test_nested_lists_tuples_and_dicts_keep_their_structure():
    params = {"layers": [(np.array([1.0, 2.0]), np.array(3.0)),
                         (np.array([-1.0, 0.5]), np.array(-2.0))],
              "scale": np.array(0.5)}

    def f(p):
        total = p["scale"] * 0.0
        for w, b in p["layers"]:
            total = total + (w * w).sum() * b
        return total * p["scale"]

    g = ag.grad(f)(params)
    assert isinstance(g["layers"], list) and isinstance(g["layers"][0], tuple)
    # d/dw = 2 w b scale, d/db = |w|^2 scale, d/dscale = sum |w|^2 b
    np.testing.assert_allclose(g["layers"][0][0].data, 2 * np.array([1.0, 2.0]) * 3.0 * 0.5)
    np.testing.assert_allclose(g["layers"][1][1].data, (1.0 + 0.25) * 0.5)
    np.testing.assert_allclose(g["scale"].data, 5.0 * 3.0 + 1.25 * -2.0)


def test_a_tuple_of_arrays_and_a_named_tuple():
    Pair = collections.namedtuple("Pair", "a b")
    g = ag.grad(lambda p: (p.a * p.b).sum())(Pair(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    assert type(g) is Pair
    np.testing.assert_array_equal(g.a.data, [3.0, 4.0])
    np.testing.assert_array_equal(g.b.data, [1.0, 2.0])
    t = ag.grad(lambda p: p[0] * p[1])((2.0, np.float64(5.0)))  # a float and a NumPy scalar
    assert type(t) is tuple and float(t[0].data) == 5.0 and float(t[1].data) == 2.0


def test_an_ordered_dict_stays_an_ordered_dict():
    params = collections.OrderedDict([("b", np.array(1.0)), ("a", np.array(2.0))])
    g = ag.grad(lambda p: p["a"] * p["b"] ** 2)(params)
    assert type(g) is collections.OrderedDict and list(g) == ["b", "a"]
    assert float(g["b"].data) == 4.0 and float(g["a"].data) == 1.0


def test_a_list_of_plain_numbers_is_one_array_as_before():
    g = ag.grad(lambda x: (x * x).sum())([1.0, 2.0, 3.0])
    assert isinstance(g, Tensor) and g.shape == (3,)
    np.testing.assert_array_equal(g.data, [2.0, 4.0, 6.0])
    with pytest.raises(TypeError, match=r"argument 0 .*rectangular"):
        ag.grad(lambda x: x.sum())([[1.0], [1.0, 2.0]])


def test_a_list_of_arrays_is_a_container():
    arrays = [np.array([1.0, 2.0]), np.array([3.0])]
    g = ag.grad(lambda xs: (xs[0] ** 2).sum() + 3 * xs[1].sum())(arrays)
    assert isinstance(g, list) and len(g) == 2
    np.testing.assert_array_equal(g[0].data, [2.0, 4.0])
    np.testing.assert_array_equal(g[1].data, [3.0])


def test_tensors_that_require_grad_inside_a_container_stay_differentiable():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    g = ag.grad(lambda p: (p["w"] ** 3).sum())({"w": w})
    (g["w"] * 1.0).sum().backward()           # d/dw sum(3 w^2) = 6 w
    np.testing.assert_allclose(w.grad, [6.0, 12.0])


def test_an_integer_leaf_is_named_by_its_path():
    with pytest.raises(TypeError, match=r"argument 0\['n'\] is differentiated.*floats"):
        ag.grad(lambda p: p["w"].sum())({"w": np.ones(2), "n": np.array([1, 2])})


def test_several_argnums_with_containers_and_plain_arrays():
    def f(p, x, q):
        return (p["w"] * x).sum() + (q[0] * x).sum()

    p, x, q = {"w": np.array([1.0, 2.0])}, np.array([3.0, 4.0]), [np.array([0.5, 0.5])]
    gp, gx, gq = ag.grad(f, argnums=(0, 1, 2))(p, x, q)
    np.testing.assert_array_equal(gp["w"].data, x)
    np.testing.assert_array_equal(gx.data, p["w"] + q[0])
    np.testing.assert_array_equal(gq[0].data, x)


def test_value_and_grad_vjp_jacobian_hessian_and_hvp_take_containers():
    p = {"a": np.array([1.0, 2.0]), "b": np.array(3.0)}
    f = lambda p: (p["a"] ** 2).sum() * p["b"]
    value, g = ag.value_and_grad(f)(p)
    assert float(value.data) == 15.0
    np.testing.assert_array_equal(g["a"].data, [6.0, 12.0])
    assert float(g["b"].data) == 5.0

    out, vjp_fn = ag.vjp(lambda p: p["a"] * p["b"], p)
    (pulled,) = vjp_fn(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(pulled["a"].data, [3.0, 30.0])
    assert float(pulled["b"].data) == 1.0 + 20.0

    J = ag.jacobian(lambda p: p["a"] * p["b"])(p)
    np.testing.assert_array_equal(J["a"].data, 3.0 * np.eye(2))
    np.testing.assert_array_equal(J["b"].data, [1.0, 2.0])

    H = ag.hessian(f)(p)
    np.testing.assert_array_equal(H["a"]["a"].data, 2 * 3.0 * np.eye(2))
    np.testing.assert_array_equal(H["a"]["b"].data, [2.0, 4.0])
    np.testing.assert_array_equal(H["b"]["a"].data, [2.0, 4.0])
    assert float(H["b"]["b"].data) == 0.0

    Hv = ag.hvp(f)(p, {"a": np.array([1.0, 0.0]), "b": np.array(1.0)})
    np.testing.assert_array_equal(Hv["a"].data, [6.0 + 2.0, 0.0 + 4.0])
    assert float(Hv["b"].data) == 2.0
    with pytest.raises(TypeError, match=r"hvp: v must have the structure of argument 0"):
        ag.hvp(f)(p, np.ones(2))


def test_jacobian_of_a_dict_output_is_a_dict():
    J = ag.jacobian(lambda x: {"double": 2 * x, "square": x * x})(np.array([1.0, 3.0]))
    assert set(J) == {"double", "square"}
    np.testing.assert_array_equal(J["square"].data, np.diag([2.0, 6.0]))


# ---------------------------------------------------------------------------
# argnum, has_aux, elementwise_grad.
# ---------------------------------------------------------------------------

def test_argnum_is_hips_spelling_of_argnums():
    f = lambda x, y: x * y * y
    assert float(ag.grad(f, argnum=1)(2.0, 3.0).data) == 12.0
    assert float(ag.grad(f, 1)(2.0, 3.0).data) == 12.0
    assert float(ag.value_and_grad(f, argnum=1)(2.0, 3.0)[1].data) == 12.0
    assert ag.jacobian(f, argnum=0)(np.array([1.0]), 3.0).shape == (1, 1)
    assert float(ag.hessian(f, argnum=1)(2.0, 3.0).data) == 4.0
    assert float(ag.hvp(f, argnum=1)(2.0, 3.0, 1.0).data) == 4.0
    assert float(elementwise_grad(f, argnum=1)(2.0, 3.0).data) == 12.0
    with pytest.raises(TypeError, match=r"argnums=1 and argnum=0.*one of them"):
        ag.grad(f, argnums=1, argnum=0)


def test_has_aux_returns_the_aux_value_as_jax_does():
    def loss(w, x):
        predictions = x * w
        return (predictions ** 2).sum(), {"predictions": predictions, "note": "hi"}

    w, x = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    g, aux = ag.grad(loss, has_aux=True)(w, x)
    np.testing.assert_array_equal(g.data, 2 * x * x * w)
    np.testing.assert_array_equal(aux["predictions"].data, [3.0, 8.0])
    assert aux["note"] == "hi"
    assert not aux["predictions"].requires_grad   # cut from the tape, as JAX stops it

    (value, aux), g2 = ag.value_and_grad(loss, has_aux=True)(w, x)
    assert float(value.data) == 9.0 + 64.0
    np.testing.assert_array_equal(g2.data, g.data)
    np.testing.assert_array_equal(aux["predictions"].data, [3.0, 8.0])


def test_has_aux_needs_a_pair():
    with pytest.raises(TypeError, match=r"has_aux=True.*pair \(output, aux\)"):
        ag.grad(lambda x: x * 2.0, has_aux=True)(1.0)


def test_elementwise_grad_is_the_gradient_of_the_sum():
    x = np.linspace(-2.0, 2.0, 7)
    d_tanh = elementwise_grad(ag.tanh)(x)
    np.testing.assert_allclose(d_tanh.data, 1 - np.tanh(x) ** 2, rtol=1e-12)
    d2 = elementwise_grad(elementwise_grad(ag.tanh))(x)
    t = np.tanh(x)
    np.testing.assert_allclose(d2.data, -2 * t * (1 - t ** 2), rtol=1e-10, atol=1e-14)
    # not elementwise: the column sums of the Jacobian
    A = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(elementwise_grad(lambda v: ag.matmul(A, v))(np.ones(3)).data,
                                  A.sum(axis=0))
    assert float(elementwise_grad(lambda v: v * v)(3.0).data) == 6.0
    assert elementwise_grad(ag.exp)(np.ones(3, np.float32)).dtype == np.float32


# ---------------------------------------------------------------------------
# No silent zero.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("f", [
    lambda x: 3.0,                               # a float
    lambda x: np.ones(2).sum(),                  # a NumPy value
    lambda x: ag.tensor(2.0),                    # an unconnected tensor
    lambda x: ag.tanh(ag.tensor(x.data)).sum(),  # the input left the tape via .data
], ids=["float", "ndarray", "constant-tensor", "via-data"])
def test_an_output_independent_of_the_input_warns_and_is_zero(f):
    with pytest.warns(IndependentOutputWarning, match=r"grad: the output .* does not depend"):
        g = ag.grad(f)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(np.asarray(g.data), np.zeros(2))


def test_independence_is_checked_for_the_differentiated_arguments_only():
    w = ag.tensor(2.0, requires_grad=True)
    with pytest.warns(IndependentOutputWarning):
        ag.grad(lambda x: w * 3.0)(1.0)          # depends on a closure, not on x
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ag.grad(lambda x, y: x * 2.0 + y * 0.0, argnums=(0, 1))(1.0, 2.0)  # x counts
        assert float(ag.hessian(lambda x: 3.0 * x)(1.0).data) == 0.0       # linear: no warning
        ag.grad(lambda x: x)(1.0)                # the output is the input


def test_non_numbers_still_raise():
    with pytest.raises(TypeError, match=r"f must return a Tensor"):
        ag.grad(lambda x: "loss")(1.0)
    with pytest.raises(TypeError, match=r"floating-point"):
        ag.grad(lambda x: x > 0)(1.0)
