"""Programs written the way HIPS autograd users write them run unchanged and give the right
numbers: ``import autograd.numpy as np``, ``from autograd import grad``, plain Python
functions of arrays (lists, tuples and dicts of parameters), loops, NumPy's names.

Ported in our own words from HIPS autograd's README and its classic examples (the tanh
derivatives plot, logistic regression, a small neural net, an RNN, a Gaussian process,
Newton's method with the Hessian); every gradient is checked against central
differences or a closed form.
"""

import numpy as onp  # plain NumPy, for the references only
import pytest

import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import elementwise_grad, grad, hessian, jacobian, value_and_grad


def numeric_grad(f, x, eps=1e-6):
    """Central differences of a scalar function of one float array (plain NumPy in/out)."""
    x = onp.asarray(x, dtype=float)
    g = onp.zeros_like(x)
    for i in onp.ndindex(x.shape):
        step = onp.zeros_like(x)
        step[i] = eps
        g[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return g


def value(x):
    """A result as a plain float array (our transforms return Tensors; HIPS returns arrays)."""
    return onp.asarray(getattr(x, "data", x), dtype=float)


# ---------------------------------------------------------------------------
# The README: tanh and its derivatives.
# ---------------------------------------------------------------------------

def tanh(x):
    y = np.exp(-2.0 * x)
    return (1.0 - y) / (1.0 + y)


def test_readme_grad_of_tanh_at_one():
    grad_tanh = grad(tanh)
    finite = (tanh(1.0001) - tanh(0.9999)) / 0.0002
    assert float(value(grad_tanh(1.0))) == pytest.approx(0.419974341614026, rel=1e-12)
    assert float(value(grad_tanh(1.0))) == pytest.approx(float(value(finite)), rel=1e-7)


def _tanh_derivative_polynomials(order):
    """d^k/dx^k tanh x as polynomials in t = tanh x (d/dx P(t) = P'(t) (1 - t^2))."""
    polynomials = [onp.polynomial.Polynomial([0.0, 1.0])]
    one_minus_t2 = onp.polynomial.Polynomial([1.0, 0.0, -1.0])
    for _ in range(order):
        polynomials.append(polynomials[-1].deriv() * one_minus_t2)
    return polynomials


def test_readme_higher_derivatives_of_tanh_by_nested_elementwise_grad():
    x = np.linspace(-7, 7, 50)
    t = onp.tanh(x)
    derivative = tanh
    expected = _tanh_derivative_polynomials(5)
    for order in range(1, 6):
        derivative = elementwise_grad(derivative)
        got = value(derivative(x))
        assert got.shape == x.shape
        onp.testing.assert_allclose(got, expected[order](t), rtol=1e-8, atol=1e-10,
                                    err_msg=f"derivative of order {order}")


# ---------------------------------------------------------------------------
# Logistic regression (HIPS examples/logistic_regression.py, retold).
# ---------------------------------------------------------------------------

def sigmoid(x):
    return 0.5 * (np.tanh(x / 2.0) + 1)


def logistic_predictions(weights, inputs):
    return sigmoid(np.dot(inputs, weights))


INPUTS = onp.array([[0.52, 1.12, 0.77],
                    [0.88, -1.08, 0.15],
                    [0.52, 0.06, -1.30],
                    [0.74, -2.49, 1.39]])
TARGETS = onp.array([True, True, False, True])


def training_loss(weights):
    predictions = logistic_predictions(weights, INPUTS)
    label_probabilities = predictions * TARGETS + (1 - predictions) * (1 - TARGETS)
    return -np.sum(np.log(label_probabilities))


def test_logistic_regression_gradient_is_x_transpose_p_minus_y():
    weights = onp.array([0.1, -0.3, 0.2])
    p = 1 / (1 + onp.exp(-INPUTS @ weights))
    onp.testing.assert_allclose(value(grad(training_loss)(weights)),
                                INPUTS.T @ (p - TARGETS), rtol=1e-12)
    onp.testing.assert_allclose(value(grad(training_loss)(weights)),
                                numeric_grad(lambda w: float(value(training_loss(w))), weights),
                                rtol=1e-6)


def test_logistic_regression_trains_by_gradient_descent_as_in_the_example():
    training_gradient_fun = grad(training_loss)
    weights = np.array([0.0, 0.0, 0.0])
    initial = float(value(training_loss(weights)))
    for _ in range(100):
        weights -= training_gradient_fun(weights) * 0.01   # as the example writes it
    final = float(value(training_loss(weights)))
    assert initial == pytest.approx(4 * onp.log(2.0))
    assert final < 0.75 * initial
    # the same steps in plain NumPy with the closed-form gradient
    w = onp.zeros(3)
    for _ in range(100):
        p = 1 / (1 + onp.exp(-INPUTS @ w))
        w = w - 0.01 * INPUTS.T @ (p - TARGETS)
    onp.testing.assert_allclose(value(weights), w, rtol=1e-10)


def test_newton_steps_with_the_hessian_converge():
    # An L2-regularised logistic loss is strictly convex: Newton converges in a few steps.
    def loss(w):
        return training_loss(w) + 0.5 * np.sum(w ** 2)

    w = onp.zeros(3)
    H = value(hessian(loss)(w))
    onp.testing.assert_allclose(H, numeric_jacobian_of_grad(loss, w), rtol=1e-5, atol=1e-8)
    for _ in range(8):
        g, H = grad(loss)(w), hessian(loss)(w)
        w = w - np.linalg.solve(H, g)
    assert onp.abs(value(grad(loss)(w))).max() < 1e-10


def numeric_jacobian_of_grad(f, x, eps=1e-5):
    g = lambda v: value(grad(f)(v))
    columns = []
    for j in range(x.size):
        step = onp.zeros_like(x)
        step[j] = eps
        columns.append((g(x + step) - g(x - step)) / (2 * eps))
    return onp.stack(columns, axis=1)


# ---------------------------------------------------------------------------
# A neural net on a toy task: a list of (W, b) tuples (HIPS examples/neural_net.py).
# ---------------------------------------------------------------------------

def init_random_params(scale, layer_sizes, rs=npr.RandomState(0)):
    return [(scale * rs.randn(m, n), scale * rs.randn(n))
            for m, n in zip(layer_sizes[:-1], layer_sizes[1:])]


def logsumexp(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def neural_net_predict(params, inputs):
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return outputs - logsumexp(outputs, axis=1)


def log_posterior(params, inputs, targets, l2=0.01):
    log_prior = -l2 * sum(np.sum(W ** 2) + np.sum(b ** 2) for W, b in params)
    log_lik = np.sum(neural_net_predict(params, inputs) * targets)
    return log_prior + log_lik


def toy_data(rs):
    inputs = rs.randn(40, 2)
    labels = (inputs[:, 0] * inputs[:, 1] > 0).astype(int)   # XOR-like quadrants
    return inputs, onp.eye(2)[labels]


def test_neural_net_gradient_of_a_list_of_tuples_matches_finite_differences():
    rs = npr.RandomState(1)
    inputs, targets = toy_data(rs)
    params = init_random_params(0.5, [2, 5, 2], rs)
    grads = grad(log_posterior)(params, inputs, targets)
    assert isinstance(grads, list) and all(isinstance(pair, tuple) for pair in grads)
    for layer in range(2):
        for part in range(2):
            def along(v, layer=layer, part=part):
                changed = [list(pair) for pair in params]
                changed[layer][part] = v
                return float(value(log_posterior([tuple(p) for p in changed], inputs, targets)))

            onp.testing.assert_allclose(value(grads[layer][part]),
                                        numeric_grad(along, params[layer][part]),
                                        rtol=1e-5, atol=1e-7)


def test_neural_net_trains_on_the_toy_task():
    rs = npr.RandomState(2)
    inputs, targets = toy_data(rs)
    params = init_random_params(0.5, [2, 8, 2], rs)
    objective = lambda params: -log_posterior(params, inputs, targets)
    gradient = grad(objective)
    start = float(value(objective(params)))
    for _ in range(300):
        grads = gradient(params)
        params = [(W - 0.02 * dW, b - 0.02 * db) for (W, b), (dW, db) in zip(params, grads)]
    predictions = value(neural_net_predict(params, inputs)).argmax(axis=1)
    accuracy = (predictions == targets.argmax(axis=1)).mean()
    assert float(value(objective(params))) < 0.5 * start
    assert accuracy >= 0.9


# ---------------------------------------------------------------------------
# An RNN with a dict of parameters and a Python loop (HIPS examples/rnn.py, retold).
# ---------------------------------------------------------------------------

def concat_and_multiply(weights, *args):
    cat_state = np.hstack(args + (np.ones((args[0].shape[0], 1)),))
    return np.dot(cat_state, weights)


def rnn_predict(params, inputs):
    hiddens = np.repeat(params["init hiddens"], inputs.shape[1], axis=0)
    outputs = []
    for step in inputs:  # inputs: (time, batch, features)
        hiddens = np.tanh(concat_and_multiply(params["change"], step, hiddens))
        output = concat_and_multiply(params["predict"], hiddens)
        outputs.append(output - logsumexp(output, axis=1))
    return outputs


def rnn_log_likelihood(params, inputs, targets):
    logprobs = rnn_predict(params, inputs)
    loglik = 0.0
    for t in range(len(logprobs)):
        loglik = loglik + np.sum(logprobs[t] * targets[t])
    return loglik / (inputs.shape[0] * inputs.shape[1])


def rnn_params(rs, input_size=3, state_size=4, output_size=3, scale=0.3):
    return {"init hiddens": scale * rs.randn(1, state_size),
            "change": scale * rs.randn(input_size + state_size + 1, state_size),
            "predict": scale * rs.randn(state_size + 1, output_size)}


def test_rnn_gradient_of_a_dict_matches_finite_differences():
    rs = npr.RandomState(3)
    params = rnn_params(rs)
    inputs = rs.randn(5, 2, 3)                       # 5 steps, batch of 2
    targets = onp.eye(3)[rs.randint(0, 3, size=(5, 2))]
    grads = grad(rnn_log_likelihood)(params, inputs, targets)
    assert set(grads) == set(params)
    for name in params:
        def along(v, name=name):
            return float(value(rnn_log_likelihood(dict(params, **{name: v}), inputs, targets)))

        onp.testing.assert_allclose(value(grads[name]), numeric_grad(along, params[name]),
                                    rtol=1e-5, atol=1e-8, err_msg=name)


def test_rnn_value_and_grad_and_an_outputs_list_stacked_with_np_array():
    rs = npr.RandomState(4)
    params = rnn_params(rs)
    inputs = rs.randn(4, 2, 3)
    targets = onp.eye(3)[rs.randint(0, 3, size=(4, 2))]
    loss, grads = value_and_grad(rnn_log_likelihood)(params, inputs, targets)
    assert float(value(loss)) < 0

    def stacked(params):  # the list of per-step outputs as one array: recorded, not detached
        return np.sum(np.array(rnn_predict(params, inputs)) * targets) / 8

    onp.testing.assert_allclose(value(grad(stacked)(params)["change"]),
                                value(grads["change"]), rtol=1e-12)


# ---------------------------------------------------------------------------
# A Gaussian process: the log marginal likelihood in its kernel parameters.
# ---------------------------------------------------------------------------

def rbf_covariance(kernel_params, x, xp):
    output_scale = np.exp(kernel_params[0])
    lengthscales = np.exp(kernel_params[1:])
    diffs = np.expand_dims(x / lengthscales, 1) - np.expand_dims(xp / lengthscales, 0)
    return output_scale * np.exp(-0.5 * np.sum(diffs ** 2, axis=2))


def gp_log_marginal_likelihood(params, x, y):
    mean, log_noise, kernel_params = params[0], params[1], params[2:]
    K = rbf_covariance(kernel_params, x, x) + (np.exp(log_noise) + 1e-6) * np.eye(len(y))
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(K, y - mean)
    log_det = 2 * np.sum(np.log(np.diagonal(L)))
    return -0.5 * np.dot(y - mean, alpha) - 0.5 * log_det - 0.5 * len(y) * np.log(2 * np.pi)


def test_gaussian_process_marginal_likelihood_gradient():
    rs = npr.RandomState(5)
    x = onp.sort(rs.uniform(-3, 3, size=(12, 1)), axis=0)
    y = onp.sin(x[:, 0]) + 0.1 * rs.randn(12)
    params = onp.array([0.1, onp.log(0.05), 0.2, -0.1])   # mean, log noise, log scale, log length
    g = value(grad(gp_log_marginal_likelihood)(params, x, y))
    numeric = numeric_grad(lambda p: float(value(gp_log_marginal_likelihood(p, x, y))), params)
    onp.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-7)
    # and the value is the Gaussian log density (slogdet instead of Cholesky)
    mean, noise = params[0], onp.exp(params[1]) + 1e-6
    K = value(rbf_covariance(params[2:], x, x)) + noise * onp.eye(12)
    expected = (-0.5 * (y - mean) @ onp.linalg.solve(K, y - mean)
                - 0.5 * onp.linalg.slogdet(K)[1] - 6 * onp.log(2 * onp.pi))
    assert float(value(gp_log_marginal_likelihood(params, x, y))) == pytest.approx(expected)


# ---------------------------------------------------------------------------
# Smaller habits.
# ---------------------------------------------------------------------------

def test_jacobian_of_np_array_built_from_a_scalar():
    onp.testing.assert_allclose(value(jacobian(lambda x: np.array([x, x ** 2]))(3.0)),
                                [1.0, 6.0])


def test_argnum_and_closures_over_data():
    def loss(bias, weights, data):
        return np.sum((np.dot(data, weights) + bias) ** 2)

    data = onp.arange(6.0).reshape(3, 2)
    w, b = onp.array([0.5, -1.0]), 0.25
    d_weights = grad(loss, argnum=1)(b, w, data)
    onp.testing.assert_allclose(value(d_weights), 2 * data.T @ (data @ w + b))
    assert float(value(grad(loss, 0)(b, w, data))) == pytest.approx(
        float(onp.sum(2 * (data @ w + b))))


def test_trigonometry_einsum_and_cumsum_from_the_numpy_namespace():
    def f(x):
        m = np.outer(np.sin(x), np.cos(x))
        return np.einsum("ij,j->", m, np.cumsum(x))

    x = onp.array([0.3, -0.4, 1.1])
    onp.testing.assert_allclose(value(grad(f)(x)),
                                numeric_grad(lambda v: float(value(f(v))), x), rtol=1e-6)
