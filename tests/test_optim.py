"""ag.optim: SGD and Adam against hand-written NumPy references (and torch, if installed)."""

import doctest
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from autograd import optim


# ---------------------------------------------------------------------------
# NumPy references, written from PyTorch's documented update rules.
# ---------------------------------------------------------------------------

def reference_sgd(p, gradients, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """Parameter after each of the given gradients (gradients may depend on p: callables)."""
    p, buffer, trajectory = p.copy(), None, []
    for gradient in gradients:
        g = gradient(p) + weight_decay * p
        if momentum != 0:
            buffer = g.copy() if buffer is None else momentum * buffer + g
            g = g + momentum * buffer if nesterov else buffer
        p = p - lr * g
        trajectory.append(p)
    return trajectory


def reference_adam(p, gradients, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    p, m, v, trajectory = p.copy(), np.zeros_like(p), np.zeros_like(p), []
    for t, gradient in enumerate(gradients, start=1):
        g = gradient(p) + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g**2
        m_hat = m / (1 - betas[0] ** t)
        v_hat = v / (1 - betas[1] ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        trajectory.append(p)
    return trajectory


def gradient_sequence(seed, shape, steps):
    """Gradients that depend on the parameter (a quadratic bowl) plus fixed noise."""
    rng = np.random.default_rng(seed)
    curvature = rng.uniform(0.1, 2.0, size=shape)
    noises = [rng.normal(size=shape) for _ in range(steps)]
    return [lambda p, noise=noise: curvature * p + noise for noise in noises]


def run_ours(make_optimizer, start, gradients):
    parameter = ag.tensor(start, requires_grad=True)
    optimizer = make_optimizer([parameter])
    trajectory = []
    for gradient in gradients:
        optimizer.zero_grad()
        parameter.grad = gradient(parameter.data.copy())
        optimizer.step()
        trajectory.append(parameter.data.copy())
    return trajectory


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.02, momentum=0.5, nesterov=True, weight_decay=0.1),
    dict(lr=0.0, momentum=0.9),
]
ADAM_CASES = [
    dict(),
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.5, 0.9)),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.1, betas=(0.0, 0.0), eps=1e-3),
    dict(lr=0.001, betas=(0.95, 0.9999), eps=1e-6, weight_decay=1e-3),
]


@pytest.mark.parametrize("options", SGD_CASES, ids=str)
def test_sgd_matches_the_reference_update_rule(options):
    start = np.random.default_rng(0).normal(size=(3, 4))
    gradients = gradient_sequence(1, start.shape, steps=6)
    ours = run_ours(lambda params: optim.SGD(params, **options), start, gradients)
    expected = reference_sgd(start, gradients, **options)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("options", ADAM_CASES, ids=str)
def test_adam_matches_the_reference_update_rule(options):
    start = np.random.default_rng(0).normal(size=(5,))
    gradients = gradient_sequence(2, start.shape, steps=6)
    ours = run_ours(lambda params: optim.Adam(params, **options), start, gradients)
    expected = reference_adam(start, gradients, **options)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


def test_sgd_first_step_is_plain_gradient_descent_even_with_momentum():
    # PyTorch starts the momentum buffer at the first gradient (no dampening).
    p = ag.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5, momentum=0.9)
    p.grad = np.array([2.0, 4.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.0, -4.0])
    opt.step()  # same gradient again: buffer = 0.9 * g + g
    np.testing.assert_allclose(p.data, [0.0 - 0.5 * 1.9 * 2.0, -4.0 - 0.5 * 1.9 * 4.0])


def test_adam_first_step_moves_each_entry_by_about_lr():
    # With bias correction, step 1 is lr * g / (|g| + eps): the sign of g times lr.
    p = ag.tensor([1.0, 1.0, 1.0], requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.array([1e-3, -5.0, 100.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.9, 1.1, 0.9], rtol=1e-4)


@given(
    lr=st.floats(0, 1), momentum=st.floats(0, 0.99), nesterov=st.booleans(),
    weight_decay=st.floats(0, 0.5), seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 5),
)
def test_sgd_matches_the_reference_for_any_hyperparameters(lr, momentum, nesterov, weight_decay,
                                                           seed, steps):
    nesterov = nesterov and momentum > 0
    options = dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    start = np.random.default_rng(seed).normal(size=(2, 3))
    gradients = gradient_sequence(seed, start.shape, steps)
    ours = run_ours(lambda params: optim.SGD(params, **options), start, gradients)
    np.testing.assert_allclose(ours, reference_sgd(start, gradients, **options),
                               rtol=1e-10, atol=1e-12)


@given(
    lr=st.floats(0, 1), beta1=st.floats(0, 0.999), beta2=st.floats(0, 0.9999),
    eps=st.sampled_from([1e-8, 1e-6, 1e-3]), weight_decay=st.floats(0, 0.5),
    seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 5),
)
def test_adam_matches_the_reference_for_any_hyperparameters(lr, beta1, beta2, eps, weight_decay,
                                                            seed, steps):
    options = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    start = np.random.default_rng(seed).normal(size=(4,))
    gradients = gradient_sequence(seed, start.shape, steps)
    ours = run_ours(lambda params: optim.Adam(params, **options), start, gradients)
    np.testing.assert_allclose(ours, reference_adam(start, gradients, **options),
                               rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# Behaviour shared by both optimizers
# ---------------------------------------------------------------------------

OPTIMIZERS = [
    pytest.param(lambda params: optim.SGD(params, lr=0.1, momentum=0.9), id="SGD"),
    pytest.param(lambda params: optim.Adam(params, lr=0.1), id="Adam"),
]


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_step_updates_the_array_in_place(make_optimizer):
    p = ag.tensor([1.0, 2.0], requires_grad=True)
    array = p.data
    opt = make_optimizer([p])
    p.grad = np.ones(2)
    opt.step()
    assert p.data is array
    assert np.all(array < [1.0, 2.0])


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_parameters_without_gradient_are_skipped_and_keep_their_state(make_optimizer):
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0], requires_grad=True)
    opt = make_optimizer([a, b])
    for _ in range(3):
        opt.zero_grad()
        a.grad = np.array([0.5, -0.5])
        opt.step()
    np.testing.assert_array_equal(b.data, [3.0])
    # b's first gradient is b's first step (Adam: bias correction at t=1; SGD: fresh buffer).
    lone = ag.tensor([3.0], requires_grad=True)
    lone_opt = make_optimizer([lone])
    a.grad, b.grad, lone.grad = None, np.array([2.0]), np.array([2.0])
    a_before = a.data.copy()
    opt.step()
    lone_opt.step()
    np.testing.assert_array_equal(b.data, lone.data)
    np.testing.assert_array_equal(a.data, a_before)


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_zero_grad_sets_gradients_to_none(make_optimizer):
    params = [ag.tensor(np.ones(3), requires_grad=True) for _ in range(2)]
    opt = make_optimizer(params)
    (params[0] * params[1]).sum().backward()
    opt.zero_grad()
    assert params[0].grad is None and params[1].grad is None


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_float32_parameters_stay_float32(make_optimizer):
    p = ag.tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    opt = make_optimizer([p])
    for _ in range(3):
        (p * p).sum().backward()
        opt.step()
        opt.zero_grad()
    assert p.dtype == np.float32


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_a_parameter_listed_twice_is_stepped_once(make_optimizer):
    p, single = ag.tensor([1.0], requires_grad=True), ag.tensor([1.0], requires_grad=True)
    double = make_optimizer([p, p])
    reference = make_optimizer([single])
    p.grad, single.grad = np.array([1.0]), np.array([1.0])
    double.step()
    reference.step()
    np.testing.assert_array_equal(p.data, single.data)


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_optimizers_minimise_a_quadratic(make_optimizer):
    target = np.array([3.0, -1.0, 0.5])
    p = ag.tensor(np.zeros(3), requires_grad=True)
    opt = make_optimizer([p])
    for _ in range(300):
        opt.zero_grad()
        ((p - target) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.data, target, atol=1e-3)


def test_hyperparameters_can_be_changed_between_steps():
    p = ag.tensor([0.0], requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    p.grad = np.array([1.0])
    opt.lr = 0.25
    opt.step()
    np.testing.assert_allclose(p.data, [-0.25])


def test_optimizers_work_with_module_parameters():
    ag.manual_seed(0)
    model = ag.nn.Linear(3, 1)
    opt = optim.Adam(model.parameters(), lr=0.1)
    x, y = np.random.default_rng(0).normal(size=(20, 3)), np.zeros((20, 1))
    losses = []
    for _ in range(50):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.01 * losses[0]


# ---------------------------------------------------------------------------
# Argument checking
# ---------------------------------------------------------------------------

def one_parameter():
    return [ag.tensor([1.0], requires_grad=True)]


@pytest.mark.parametrize("make, error, message", [
    (lambda: optim.SGD(one_parameter(), lr=-0.1), ValueError, r"SGD: lr must be in \[0.0, inf\], got -0.1"),
    (lambda: optim.SGD(one_parameter(), lr=math.nan), ValueError, "lr must be in"),
    (lambda: optim.SGD(one_parameter(), lr="0.1"), TypeError, "lr must be a real number, got '0.1'"),
    (lambda: optim.SGD(one_parameter(), lr=0.1, momentum=-1), ValueError, "momentum must be in"),
    (lambda: optim.SGD(one_parameter(), lr=0.1, weight_decay=-1e-4), ValueError, "weight_decay"),
    (lambda: optim.SGD(one_parameter(), lr=0.1, nesterov=True), ValueError, "nesterov=True needs a momentum > 0"),
    (lambda: optim.Adam(one_parameter(), lr=-1), ValueError, "Adam: lr must be in"),
    (lambda: optim.Adam(one_parameter(), betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be in \[0.0, 1.0\), got 1.0"),
    (lambda: optim.Adam(one_parameter(), betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be in"),
    (lambda: optim.Adam(one_parameter(), betas=0.9), ValueError, r"betas must be a pair"),
    (lambda: optim.Adam(one_parameter(), eps=-1e-8), ValueError, "eps must be in"),
    (lambda: optim.Adam(one_parameter(), weight_decay=-1), ValueError, "weight_decay must be in"),
    (lambda: optim.SGD([], lr=0.1), ValueError, "SGD got an empty parameter list"),
    (lambda: optim.Adam(ag.tensor([1.0], requires_grad=True)), TypeError, r"got a single Tensor.*wrap it: \[w\]"),
    (lambda: optim.Adam(ag.nn.Linear(2, 1)), TypeError, r"iterable of Tensors \(e.g. model.parameters\(\)\), got Linear"),
    (lambda: optim.Adam([np.ones(2)]), TypeError, "parameter 0 is a ndarray, expected a Tensor"),
    (lambda: optim.SGD([ag.tensor([1, 2])], lr=0.1), TypeError, "parameter 0 has dtype int64"),
])
def test_bad_arguments_raise_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_a_gradient_of_the_wrong_shape_is_reported():
    p = ag.tensor(np.ones((2, 3)), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match=r"shape \(2, 3\), got shape \(3,\)"):
        p.grad = np.ones(3)            # refused when assigned, as in PyTorch
    opt.step()                         # nothing was assigned: nothing to do
    np.testing.assert_array_equal(p.data, np.ones((2, 3)))


# ---------------------------------------------------------------------------
# Optional: the same trajectories as torch.optim
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, options", [("SGD", o) for o in SGD_CASES]
                         + [("Adam", o) for o in ADAM_CASES], ids=str)
def test_trajectories_match_torch_optim(name, options):
    torch = pytest.importorskip("torch")
    start = np.random.default_rng(5).normal(size=(3, 2))
    gradients = gradient_sequence(6, start.shape, steps=8)
    ours = run_ours(lambda params: getattr(optim, name)(params, **options), start, gradients)

    parameter = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    torch_optimizer = getattr(torch.optim, name)([parameter], **options)
    theirs = []
    for gradient in gradients:
        torch_optimizer.zero_grad()
        parameter.grad = torch.from_numpy(gradient(parameter.detach().numpy().copy()))
        torch_optimizer.step()
        theirs.append(parameter.detach().numpy().copy())
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_docstring_examples_run():
    results = doctest.testmod(optim, extraglobs={"ag": ag, "np": np})
    assert results.attempted >= 5 and results.failed == 0


# ---------------------------------------------------------------------------
# A step is a tracked write: a graph that saved the old values refuses backward
# ---------------------------------------------------------------------------

TRACKED_OPTIMIZERS = [
    pytest.param(lambda params: optim.SGD(params, lr=0.25), id="SGD"),
    pytest.param(lambda params: optim.SGD(params, lr=0.25, momentum=0.9), id="SGD-momentum"),
    pytest.param(lambda params: optim.SGD(params, lr=0.25, momentum=0.9, nesterov=True,
                                          weight_decay=0.1), id="SGD-nesterov-decay"),
    pytest.param(lambda params: optim.Adam(params, lr=0.25), id="Adam"),
    pytest.param(lambda params: optim.Adam(params, lr=0.25, weight_decay=0.1), id="Adam-decay"),
]


@pytest.mark.parametrize("make_optimizer", TRACKED_OPTIMIZERS)
@pytest.mark.parametrize("shape", [(2,), (), (2, 3)], ids=str)
def test_a_step_makes_a_retained_graph_refuse_backward(make_optimizer, shape):
    # Before the fix the step wrote behind the version counter: the second backward ran
    # and returned d/dw of the *new* values through a graph built from the old ones.
    w = ag.tensor(np.arange(1.0, 1.0 + np.prod(shape, dtype=int)).reshape(shape),
                  requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt = make_optimizer([w])
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
    # A fresh forward after the step sees the new values and differentiates normally.
    opt.zero_grad()
    after = np.array(w.data)
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad, 2 * after)
    opt.step()  # and the optimizer keeps stepping the same parameter


@pytest.mark.parametrize("make_optimizer", TRACKED_OPTIMIZERS)
def test_a_step_is_seen_by_a_graph_that_saved_a_view_of_the_parameter(make_optimizer):
    w = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    flat = w.reshape(4)                  # the graph saves a view of w's array
    loss = (flat * flat).sum()
    w.grad = np.ones((2, 2))
    make_optimizer([w]).step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_an_untouched_parameter_does_not_invalidate_graphs():
    # Only parameters with a gradient are stepped, so only they are written.
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1)
    loss = (b * b).sum()
    a.grad = np.ones(2)
    opt.step()
    loss.backward()
    np.testing.assert_allclose(b.grad, [6.0])


def test_a_step_on_a_read_only_array_writes_a_new_one():
    # .data may be set to an array the optimizer cannot write into (np.broadcast_to).
    w = ag.tensor([0.0, 0.0], requires_grad=True)
    w.data = np.broadcast_to(np.float64(1.0), (2,))
    w.grad = np.array([1.0, -1.0])
    optim.SGD([w], lr=0.5).step()
    np.testing.assert_allclose(w.data, [0.5, 1.5])
