"""End-to-end training: scikit-learn's digits (ships with scikit-learn, no download) and a
micrograd-style network of scalar tensors.

Timings are printed (``pytest -s``), never asserted: the machine is shared.
"""

import time

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_moons
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

import autograd as ag
from autograd import nn, optim


@pytest.fixture(scope="module")
def digits():
    """8x8 digit images as 64 standardised features; a stratified 75/25 split."""
    images, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.25, random_state=0, stratify=labels)
    mean, scale = x_train.mean(axis=0), x_train.std(axis=0) + 1.0  # +1: some pixels are always 0
    return (x_train - mean) / scale, y_train, (x_test - mean) / scale, y_test


def minibatches(rng, count, batch_size):
    order = rng.permutation(count)
    return [order[start:start + batch_size] for start in range(0, count, batch_size)]


def accuracy(logits, labels):
    return float(np.mean(np.argmax(logits.data, axis=1) == labels))


@pytest.fixture(autouse=True)
def one_blas_thread():
    # Small matmuls on a busy 2-core machine are ~10x slower with OpenBLAS threads competing.
    with threadpool_limits(limits=1):
        yield


def test_mlp_with_adam_learns_digits(digits, tmp_path):
    x_train, y_train, x_test, y_test = digits
    ag.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = optim.Adam(model.parameters(), lr=3e-3)

    start = time.perf_counter()
    losses = []
    for epoch in range(20):
        for batch in minibatches(rng, len(x_train), 32):
            loss = ag.cross_entropy(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    seconds = time.perf_counter() - start

    with ag.no_grad():
        test_logits = model(x_test)
    test_accuracy = accuracy(test_logits, y_test)
    print(f"\ndigits, Sequential + Adam: {test_accuracy:.2%} held-out accuracy, "
          f"20 epochs in {seconds:.2f} s")
    assert test_accuracy >= 0.97
    assert np.mean(losses[-40:]) < 0.1 * np.mean(losses[:10])

    # The trained weights survive a save/load round trip into a fresh model.
    model.save(tmp_path / "digits.npz")
    ag.manual_seed(1)
    restored = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    restored.load(tmp_path / "digits.npz")
    with ag.no_grad():
        np.testing.assert_array_equal(restored(x_test).data, test_logits.data)


def test_raw_tensor_model_with_hand_written_sgd_learns_digits(digits):
    # No nn, no optim: parameters are tensors, the model is an expression, SGD is two lines.
    x_train, y_train, x_test, y_test = digits
    rng = np.random.default_rng(0)
    w1 = ag.tensor(rng.normal(0, 1 / 8, size=(64, 32)), requires_grad=True)
    b1 = ag.tensor(np.zeros(32), requires_grad=True)
    w2 = ag.tensor(rng.normal(0, 1 / np.sqrt(32), size=(32, 10)), requires_grad=True)
    b2 = ag.tensor(np.zeros(10), requires_grad=True)
    parameters = [w1, b1, w2, b2]

    def model(x):
        return ag.tanh(x @ w1 + b1) @ w2 + b2

    start = time.perf_counter()
    for epoch in range(10):
        for batch in minibatches(rng, len(x_train), 32):
            loss = ag.cross_entropy(model(x_train[batch]), y_train[batch])
            loss.backward()
            for p in parameters:
                p.data -= 0.1 * p.grad
                p.grad = None
    seconds = time.perf_counter() - start

    with ag.no_grad():
        test_accuracy = accuracy(model(x_test), y_test)
    print(f"\ndigits, raw tensors + hand-written SGD: {test_accuracy:.2%} held-out accuracy, "
          f"10 epochs in {seconds:.2f} s")
    assert test_accuracy >= 0.90


# ---------------------------------------------------------------------------
# micrograd style: every weight is a 0-d tensor, every input a Python float.
# ---------------------------------------------------------------------------

class Neuron(nn.Module):
    def __init__(self, inputs, rng, linear=False):
        self.weights = [ag.tensor(rng.uniform(-1, 1), requires_grad=True) for _ in range(inputs)]
        self.bias = ag.tensor(0.0, requires_grad=True)
        self.linear = linear

    def forward(self, xs):
        activation = sum((w * x for w, x in zip(self.weights, xs)), self.bias)
        return activation if self.linear else activation.tanh()


class Layer(nn.Module):
    def __init__(self, inputs, outputs, rng, linear=False):
        self.neurons = [Neuron(inputs, rng, linear) for _ in range(outputs)]

    def forward(self, xs):
        return [neuron(xs) for neuron in self.neurons]


class ScalarMLP(nn.Module):
    def __init__(self, sizes, rng):
        self.layers = [Layer(fan_in, fan_out, rng, linear=(index == len(sizes) - 2))
                       for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def forward(self, xs):
        for layer in self.layers:
            xs = layer(xs)
        return xs[0]


def test_micrograd_style_scalar_network_learns_two_moons():
    points, labels = make_moons(n_samples=30, noise=0.1, random_state=1)
    points = [[float(a), float(b)] for a, b in points]  # plain Python numbers
    targets = [1.0 if label else -1.0 for label in labels]
    model = ScalarMLP([2, 8, 1], np.random.default_rng(0))
    assert len(model.parameters()) == (2 * 8 + 8) + (8 + 1)  # found inside lists of lists
    optimizer = optim.SGD(model.parameters(), lr=0.3, momentum=0.9)

    def loss_and_accuracy():
        scores = [model(point) for point in points]
        # Max-margin loss, as in micrograd's demo, plus a little L2.
        margins = [(1 - target * score).relu() for target, score in zip(targets, scores)]
        loss = sum(margins) / len(margins) + 1e-4 * sum(p * p for p in model.parameters())
        correct = sum((score.item() > 0) == (target > 0) for score, target in zip(scores, targets))
        return loss, correct / len(points)

    start = time.perf_counter()
    first_loss = None
    for step in range(100):
        loss, train_accuracy = loss_and_accuracy()
        first_loss = loss.item() if first_loss is None else first_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with ag.no_grad():
        loss, train_accuracy = loss_and_accuracy()
    seconds = time.perf_counter() - start
    print(f"\ntwo moons, scalar tensors: {train_accuracy:.0%} accuracy, loss "
          f"{first_loss:.3f} -> {loss.item():.3f}, 100 steps in {seconds:.2f} s")
    assert train_accuracy >= 0.9
    assert loss.item() < 0.5 * first_loss
