"""The transformer benchmark times the same step in every variant: its hand-written NumPy
forward and backward give tapegrad's loss and gradients (and PyTorch's when installed),
and agree with finite differences of the loss on their own (no timing assertions)."""

import collections

import numpy as np
import pytest

import autograd as ag
from benchmarks import harness, transformer
from benchmarks.profile import count_matrix_products

SMALL = {"batch": 2, "length": 5, "width": 8, "heads": 2, "vocabulary": 7}


@pytest.fixture(scope="module")
def small_float64():
    x, targets, params = transformer.make_data(**SMALL, dtype=np.float64)
    return x, targets, params, transformer.numpy_step(x, targets, params, SMALL["heads"])


def test_every_parameter_and_the_input_get_a_gradient_of_their_shape(small_float64):
    x, _, params, (loss, *grads) = small_float64
    assert np.ndim(loss) == 0 and np.isfinite(loss)
    shapes = {"x": x.shape, **{name: value.shape for name, value in params.items()}}
    assert len(grads) == len(transformer.GRADIENTS) == 15
    for name, grad in zip(transformer.GRADIENTS, grads):
        assert grad.shape == shapes[name], name
        assert np.all(np.isfinite(grad)) and np.any(grad != 0), name


@pytest.mark.parametrize("composed", [False, True], ids=["fused", "composed"])
def test_numpy_by_hand_equals_tapegrad_in_float64(small_float64, composed):
    x, targets, params, reference = small_float64
    got = transformer.tapegrad_step(x, targets, params, SMALL["heads"], composed)()
    for name, value, want in zip(("loss", *transformer.GRADIENTS), got, reference):
        np.testing.assert_allclose(value, want, rtol=1e-10, atol=1e-13, err_msg=name)


def test_numpy_by_hand_agrees_with_finite_differences(small_float64):
    # Directional derivatives of the loss along random directions in every argument,
    # by central differences, against the hand-derived gradients.
    x, targets, params, (_, *grads) = small_float64
    heads = SMALL["heads"]
    rng = np.random.default_rng(1)
    arguments = {"x": x, **params}
    for name, grad in zip(transformer.GRADIENTS, grads):
        direction = rng.standard_normal(grad.shape)
        step = 1e-5

        def loss_at(t):
            moved = dict(arguments, **{name: arguments[name] + t * direction})
            x_moved = moved.pop("x")
            return transformer.numpy_step(x_moved, targets, moved, heads)[0]

        numeric = (loss_at(step) - loss_at(-step)) / (2 * step)
        analytic = float(np.sum(grad * direction))
        assert numeric == pytest.approx(analytic, rel=1e-6, abs=1e-9), name


def test_the_causal_mask_keeps_later_positions_out():
    # The loss of the first 3 positions, scored inside a sequence of 5 whose last 2 inputs
    # are changed (their targets ignored), equals the loss of the 3-position sequence.
    x, targets, params = transformer.make_data(**SMALL, dtype=np.float64)
    moved, scored = x.copy(), targets.copy()
    moved[:, 3:] += 1.0
    scored[:, 3:] = -100
    tensors = {name: ag.tensor(value) for name, value in params.items()}
    with ag.no_grad():
        inside = transformer.tapegrad_block(ag.tensor(moved), scored, tensors, SMALL["heads"])
    alone = transformer.numpy_step(x[:, :3].copy(), targets[:, :3], params, SMALL["heads"])[0]
    assert inside.item() == pytest.approx(alone, rel=1e-12)


def test_float32_variants_agree_at_the_quick_case():
    variants, _ = transformer.make_variants(transformer.QUICK_CASE)
    assert {"tapegrad", "NumPy by hand", "tapegrad composed",
            transformer.COMPILED} <= set(variants)
    transformer.check_agreement(variants)           # raises on disagreement
    for name in ("tapegrad", transformer.COMPILED):
        loss, *grads = variants[name]()
        assert loss.dtype == np.float32 and all(grad.dtype == np.float32 for grad in grads)
    assert variants[transformer.COMPILED].stats["replayed"] >= 2
    assert variants[transformer.COMPILED].stats["eager"] == 0


def test_compiled_step_equals_eager_in_float64():
    # The replayed program gives eager's loss and gradients to float64 round-off.
    x, targets, params = transformer.make_data(**SMALL, dtype=np.float64)
    eager = transformer.tapegrad_step(x, targets, params, SMALL["heads"])
    compiled = ag.compile(transformer.tapegrad_step(x, targets, params, SMALL["heads"]))
    for _ in range(3):
        for name, got, want in zip(("loss", *transformer.GRADIENTS), compiled(), eager()):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=name)
    assert compiled.stats["replayed"] >= 1 and compiled.stats["eager"] == 0


def test_the_matmul_floor_is_part_of_what_the_compiled_step_does():
    # "matmuls alone" is a floor under the compiled ratio: each of its 21 products (shapes
    # of both operands) is one that the replayed program of the same case computes
    case = transformer.QUICK_CASE
    floor = transformer.matmul_floor(**case)
    assert len(floor.shapes) == 21
    floor()
    x, targets, params = transformer.make_data(**case)
    compiled = ag.compile(transformer.tapegrad_step(x, targets, params, case["heads"]))
    compiled(), compiled()
    done = count_matrix_products(compiled)
    assert sum(done.values()) >= 21
    assert not collections.Counter(floor.shapes) - done, "a floor product the step lacks"


def test_numpy_by_hand_equals_pytorch():
    torch = pytest.importorskip("torch")
    x, targets, params = transformer.make_data(**SMALL, dtype=np.float64)
    want = transformer.numpy_step(x, targets, params, SMALL["heads"])
    got = transformer.torch_step(torch, x, targets, params, SMALL["heads"])()
    for name, value, expected in zip(("loss", *transformer.GRADIENTS), got, want):
        np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-13, err_msg=name)


def test_run_returns_a_suite_with_its_target_row():
    config = harness.Config.for_mode(True, repeats=1, min_time=0.0002)
    suite = transformer.run(config)
    assert suite["suite"] == "transformer"
    assert {"tapegrad", "NumPy by hand", "tapegrad composed",
            transformer.COMPILED, transformer.FLOOR} <= set(suite["columns"])
    (row,) = suite["rows"]
    assert row["extra"]["matmuls alone / NumPy"].endswith("x")
    assert row["case"].startswith("B=2 T=32 D=64 H=4 V=256")
    assert all(row["times"][name]["median"] > 0 for name in suite["columns"])
    eager, compiled = suite["targets"]
    assert eager["target"] == "<= 1.2x" and compiled["target"] == "<= 0.75x"
    assert compiled["metric"].startswith("compiled / NumPy by hand")
    for target in (eager, compiled):
        assert target["status"] in {"PASS", "FAIL"} and target["value"] > 0
