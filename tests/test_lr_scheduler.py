"""ag.optim.lr_scheduler: closed forms, PyTorch's step semantics, and torch's exact sequences.

The schedulers do the same float operations in the same order as torch.optim.lr_scheduler
(the recursive forms included), so the sequences are compared with ==, not a tolerance.
"""

import math

import numpy as np
import pytest

import autograd as ag
from autograd.optim import lr_scheduler


def optimizer_with(module, lrs, tensor):
    """An SGD over one parameter per learning rate (one group each), in ag or torch."""
    groups = [{"params": [tensor([1.0])], "lr": lr} for lr in lrs]
    return module.SGD(groups, lr=lrs[0])


def ag_parameter(values):
    return ag.tensor(values, requires_grad=True)


def rates_of(make_schedulers, epochs, lrs=(0.1,), module=ag.optim, schedulers=lr_scheduler,
             tensor=ag_parameter):
    """The learning rate of every group at each epoch, as a training loop sees it."""
    opt = optimizer_with(module, list(lrs), tensor)
    made = make_schedulers(schedulers, opt)
    made = made if isinstance(made, (list, tuple)) else [made]
    rates = []
    for _ in range(epochs):
        rates.append([group["lr"] for group in opt.param_groups])
        opt.step()                      # no gradients: nothing moves, but the step counts
        for scheduler in made:
            scheduler.step()
    return rates


def torch_rates_of(make_schedulers, epochs, lrs=(0.1,)):
    torch = pytest.importorskip("torch")
    return rates_of(make_schedulers, epochs, lrs, torch.optim, torch.optim.lr_scheduler,
                    lambda values: torch.tensor(values, requires_grad=True))


def closed_form_step(base, epoch, step_size, gamma):
    return base * gamma ** (epoch // step_size)


def closed_form_cosine(base, epoch, T_max, eta_min):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2


def closed_form_linear(base, epoch, start, end, total):
    return base * (start + (end - start) * min(epoch, total) / total)


LRS = (0.1, 0.025)     # two groups, two base rates

CONFIGURATIONS = [
    ("StepLR", dict(step_size=3, gamma=0.5),
     lambda base, e: closed_form_step(base, e, 3, 0.5)),
    ("StepLR", dict(step_size=1, gamma=0.9),
     lambda base, e: closed_form_step(base, e, 1, 0.9)),
    ("StepLR", dict(step_size=7),
     lambda base, e: closed_form_step(base, e, 7, 0.1)),
    ("CosineAnnealingLR", dict(T_max=10),
     lambda base, e: closed_form_cosine(base, e, 10, 0.0)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=1e-3),
     lambda base, e: closed_form_cosine(base, e, 7, 1e-3)),
    ("CosineAnnealingLR", dict(T_max=1),
     lambda base, e: closed_form_cosine(base, e, 1, 0.0)),
    ("LinearLR", dict(),
     lambda base, e: closed_form_linear(base, e, 1 / 3, 1.0, 5)),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.5, total_iters=8),
     lambda base, e: closed_form_linear(base, e, 0.1, 0.5, 8)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=4),
     lambda base, e: closed_form_linear(base, e, 1.0, 0.0, 4)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e),
     lambda base, e: base * 0.95 ** e),
    ("LambdaLR", dict(lr_lambda=lambda e: min(1.0, (e + 1) / 4) * 0.5 * (1 + math.cos(math.pi * e / 30))),
     lambda base, e: base * min(1.0, (e + 1) / 4) * 0.5 * (1 + math.cos(math.pi * e / 30))),
]
CONFIGURATION_IDS = [f"{name}-{sorted(options)}-{i}"
                     for i, (name, options, _) in enumerate(CONFIGURATIONS)]


@pytest.mark.parametrize("name, options, closed_form", CONFIGURATIONS, ids=CONFIGURATION_IDS)
def test_schedules_follow_their_closed_form_and_torchs_sequence(name, options, closed_form):
    epochs = 40    # several periods of the cosine, past the end of the warm-up
    ours = rates_of(lambda schedulers, opt: getattr(schedulers, name)(opt, **options), epochs, LRS)
    expected = [[closed_form(base, e) for base in LRS] for e in range(epochs)]
    np.testing.assert_allclose(ours, expected, rtol=1e-13, atol=1e-15)

    theirs = torch_rates_of(lambda schedulers, opt: getattr(schedulers, name)(opt, **options),
                            epochs, LRS)
    assert ours == theirs               # to the bit


def test_stacked_warm_up_and_cosine_match_torch():
    # Two recursive schedulers on one optimizer compose multiplicatively, as in PyTorch.
    def both(schedulers, opt):
        return [schedulers.LinearLR(opt, start_factor=0.2, total_iters=4),
                schedulers.CosineAnnealingLR(opt, T_max=12, eta_min=0.0)]
    ours = rates_of(both, 30, LRS)
    # Without torch: during the warm-up the product of the two closed forms (eta_min = 0).
    for e in range(5):
        for base, rate in zip(LRS, ours[e]):
            expected = closed_form_linear(1.0, e, 0.2, 1.0, 4) * closed_form_cosine(base, e, 12, 0.0)
            assert rate == pytest.approx(expected, rel=1e-13)
    assert ours == torch_rates_of(both, 30, LRS)


def test_lambda_lr_takes_one_function_per_group():
    functions = [lambda e: 1.0 / (e + 1), lambda e: 2.0 ** -e]
    ours = rates_of(lambda schedulers, opt: schedulers.LambdaLR(opt, functions), 6, LRS)
    assert ours == [[0.1 * (1.0 / (e + 1)), 0.025 * 2.0 ** -e] for e in range(6)]
    assert ours == torch_rates_of(lambda schedulers, opt: schedulers.LambdaLR(opt, functions), 6,
                                  LRS)


@pytest.mark.parametrize("name, options", [
    ("StepLR", dict(step_size=2, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=6)),
    ("LinearLR", dict(start_factor=0.5, total_iters=3)),
])
def test_a_rate_set_by_hand_carries_on_along_the_recursion(name, options):
    # PyTorch's recursive forms start from the current group["lr"], so a rate set by hand
    # between steps carries on instead of being overwritten by the closed form.
    def run(module, schedulers, tensor):
        opt = optimizer_with(module, [1.0], tensor)
        scheduler = getattr(schedulers, name)(opt, **options)
        rates = []
        for epoch in range(8):
            if epoch == 3:
                opt.param_groups[0]["lr"] = 10 * opt.param_groups[0]["lr"]
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
        return rates
    ours = run(ag.optim, lr_scheduler, ag_parameter)
    assert ours[3] > 5 * ours[2] and ours[4] > 2 * ours[2]  # the jump is kept
    torch = pytest.importorskip("torch")
    assert ours == run(torch.optim, torch.optim.lr_scheduler,
                       lambda values: torch.tensor(values, requires_grad=True))


# ---------------------------------------------------------------------------
# Step semantics
# ---------------------------------------------------------------------------

def test_the_constructor_performs_the_initial_step():
    opt = optimizer_with(ag.optim, [0.3, 0.6], ag_parameter)
    scheduler = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    assert scheduler.last_epoch == 0
    assert scheduler.base_lrs == [0.3, 0.6]
    assert [group["initial_lr"] for group in opt.param_groups] == [0.3, 0.6]
    assert [group["lr"] for group in opt.param_groups] == [0.15, 0.3]   # epoch 0 in place
    assert scheduler.get_last_lr() == [0.15, 0.3]
    opt.step()
    scheduler.step()
    assert scheduler.last_epoch == 1 and scheduler.get_last_lr() == pytest.approx([0.225, 0.45])


def test_get_last_lr_is_a_new_list():
    opt = optimizer_with(ag.optim, [0.1], ag_parameter)
    scheduler = lr_scheduler.StepLR(opt, step_size=1)
    rates = scheduler.get_last_lr()
    rates[0] = 123.0
    assert scheduler.get_last_lr() == [0.1]


def test_the_optimizer_steps_with_the_scheduled_rate():
    w = ag.tensor([0.0], requires_grad=True)
    opt = ag.optim.SGD([w], lr=1.0)
    scheduler = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(6):
        w.grad = np.ones(1)
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(w.data, [-(1.0 + 1.0 + 0.5 + 0.5 + 0.25 + 0.25)])


def test_a_warm_up_and_cosine_schedule_trains_a_model():
    # The transformer recipe: AdamW, LambdaLR warm-up + cosine, gradient clipping.
    ag.manual_seed(0)
    model = ag.nn.Linear(3, 1)
    x = np.random.default_rng(0).normal(size=(32, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]])
    opt = ag.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.0)
    warm_up, total = 5, 150
    scheduler = lr_scheduler.LambdaLR(opt, lambda e: min(1.0, (e + 1) / warm_up)
                                      * 0.5 * (1 + math.cos(math.pi * min(e, total) / total)))
    losses = []
    for _ in range(total):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        ag.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        scheduler.step()
        losses.append(loss.item())
    assert losses[-1] < 1e-3 * losses[0]
    assert scheduler.get_last_lr()[0] == pytest.approx(0.0, abs=1e-12)


def test_stepping_the_scheduler_before_the_optimizer_warns():
    opt = optimizer_with(ag.optim, [0.1], ag_parameter)
    scheduler = lr_scheduler.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match=r"before the optimizer's step\(\)"):
        scheduler.step()
    assert scheduler.get_last_lr() == [pytest.approx(0.01)]


@pytest.mark.parametrize("name, options", [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=5)),
    ("LinearLR", dict(start_factor=0.25, total_iters=6)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.9 ** e)),
])
def test_resuming_with_last_epoch_matches_torch(name, options):
    def resumed(module, schedulers, tensor):
        opt = optimizer_with(module, [0.5], tensor)
        first = getattr(schedulers, name)(opt, **options)
        for _ in range(4):
            opt.step()
            first.step()
        # A new scheduler picks up at epoch 4 from the groups' initial_lr (a checkpoint).
        second = getattr(schedulers, name)(opt, last_epoch=first.last_epoch, **options)
        rates = [second.get_last_lr()[0]]
        for _ in range(6):
            opt.step()
            second.step()
            rates.append(second.get_last_lr()[0])
        return second.last_epoch, rates
    last_epoch, ours = resumed(ag.optim, lr_scheduler, ag_parameter)
    assert last_epoch == 11     # 4 steps, the resumed constructor's own, 6 more
    torch = pytest.importorskip("torch")
    assert (last_epoch, ours) == resumed(torch.optim, torch.optim.lr_scheduler,
                                         lambda values: torch.tensor(values, requires_grad=True))


def test_resuming_needs_initial_lr():
    opt = optimizer_with(ag.optim, [0.5], ag_parameter)
    with pytest.raises(KeyError, match=r"StepLR: resuming at last_epoch=3 needs 'initial_lr' "
                                       r"in param group 0"):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)


def test_state_dict_round_trip_continues_the_schedule():
    opt = optimizer_with(ag.optim, [1.0], ag_parameter)
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(3):
        opt.step()
        scheduler.step()
    saved = scheduler.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 3
    other_opt = optimizer_with(ag.optim, [1.0], ag_parameter)
    other = lr_scheduler.CosineAnnealingLR(other_opt, T_max=10)
    other.load_state_dict(saved)
    other_opt.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    for _ in range(4):
        opt.step(); scheduler.step()
        other_opt.step(); other.step()
    assert other.get_last_lr() == scheduler.get_last_lr()
    assert other.last_epoch == 7
    assert "lr_lambdas" not in lr_scheduler.LambdaLR(opt, lambda e: 1.0).state_dict()


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

def an_optimizer():
    return optimizer_with(ag.optim, [0.1], ag_parameter)


@pytest.mark.parametrize("make, error, message", [
    (lambda: lr_scheduler.StepLR([ag_parameter([1.0])], step_size=2), TypeError,
     r"StepLR expects an optimizer \(ag.optim.SGD, Adam, ...\) as its first argument, got list"),
    (lambda: lr_scheduler.CosineAnnealingLR("adam", T_max=2), TypeError,
     "CosineAnnealingLR expects an optimizer .* got str"),
    (lambda: lr_scheduler.LambdaLR(None, lambda e: 1.0), TypeError, "LambdaLR expects an optimizer"),
    (lambda: lr_scheduler.StepLR(an_optimizer(), step_size=0), ValueError, "StepLR: step_size must be >= 1, got 0"),
    (lambda: lr_scheduler.StepLR(an_optimizer(), step_size=1.5), TypeError, "StepLR: step_size must be an integer, got 1.5"),
    (lambda: lr_scheduler.StepLR(an_optimizer(), step_size=2, gamma=-0.5), ValueError, "StepLR: gamma must be in"),
    (lambda: lr_scheduler.CosineAnnealingLR(an_optimizer(), T_max=0), ValueError, "T_max must be >= 1, got 0"),
    (lambda: lr_scheduler.CosineAnnealingLR(an_optimizer(), T_max=5, eta_min=-1), ValueError, "eta_min must be in"),
    (lambda: lr_scheduler.LinearLR(an_optimizer(), start_factor=0.0), ValueError,
     r"LinearLR: start_factor must be in \(0.0, 1.0\], got 0.0"),
    (lambda: lr_scheduler.LinearLR(an_optimizer(), start_factor=1.5), ValueError, "start_factor must be in"),
    (lambda: lr_scheduler.LinearLR(an_optimizer(), end_factor=2.0), ValueError, r"end_factor must be in \[0.0, 1.0\]"),
    (lambda: lr_scheduler.LinearLR(an_optimizer(), total_iters=0), ValueError, "total_iters must be >= 1"),
    (lambda: lr_scheduler.LambdaLR(an_optimizer(), 0.5), TypeError,
     "LambdaLR: lr_lambda must be a function of the epoch .* got float at position 0"),
    (lambda: lr_scheduler.LambdaLR(an_optimizer(), [lambda e: 1.0] * 2), ValueError,
     r"expected one lr_lambda per parameter group \(1\), got 2"),
    (lambda: lr_scheduler.StepLR(an_optimizer(), step_size=2, last_epoch=-2), ValueError,
     "last_epoch must be >= -1, got -2"),
])
def test_bad_arguments_raise_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()
