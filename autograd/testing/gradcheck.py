"""Compare the gradients the tape computes with central finite differences.

Everything runs in float64 on copies of the inputs, so rounding in the check itself
stays far below the tolerances. Small problems compare the full Jacobian entry by
entry; large ones compare random projections ``u · J · v`` (a random cotangent ``u``
of the output and a random direction ``v`` of one input), which costs one backward
pass and two forward passes per projection whatever the sizes.
"""

from __future__ import annotations

import numpy as np

from autograd import tape
from autograd.tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with finite differences.

    Attributes name the worst entry: ``input_index`` (position among the arguments),
    ``index`` (entry of that input, or None for a projection), ``output_index``,
    ``analytic`` and ``numeric``.
    """

    def __init__(self, message, input_index=None, index=None, output_index=None,
                 analytic=None, numeric=None):
        super().__init__(message)
        self.input_index = input_index
        self.index = index
        self.output_index = output_index
        self.analytic = analytic
        self.numeric = numeric


def gradcheck(f, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, full_jacobian_limit=20_000,
              projections=4, seed=0):
    """Check ``f``'s gradients against central differences; True, or raise GradcheckError.

    ``f`` takes Tensors and returns a Tensor of any shape. Every input that is a
    floating Tensor or ndarray is checked (as a float64 copy that requires grad);
    integer/bool arrays become constant Tensors and anything else (axis numbers,
    Python floats) is passed to ``f`` unchanged.

    An entry passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
    When ``(total input size) * (output size) <= full_jacobian_limit`` every entry of
    the Jacobian is compared; otherwise ``projections`` random ``u · J · v`` per input.

    >>> import numpy as np
    >>> gradcheck(lambda a, b: (a * b).sum(axis=0), np.ones((3, 2)), np.arange(2.0))
    True
    """
    arrays, checked = _prepare(inputs)
    if not checked:
        raise ValueError(
            "gradcheck: no floating-point input to check; got "
            + ", ".join(type(value).__name__ for value in inputs)
        )

    def evaluate(arguments):
        """f at the given float64 arrays for the checked positions, as a float64 array."""
        # Inputs require grad here too (not no_grad): f may itself take gradients,
        # as when checking second derivatives.
        tensors = {i: Tensor(arguments[i], requires_grad=True) for i in checked}
        return np.asarray(_as_array(f(*_arguments(inputs, arrays, tensors))), dtype=np.float64)

    leaves = {i: Tensor(arrays[i], requires_grad=True) for i in checked}
    output = f(*_arguments(inputs, arrays, leaves))
    output_shape = np.shape(_as_array(output))
    if not isinstance(output, Tensor):
        output = Tensor(np.asarray(output, dtype=np.float64))
    else:
        output = output if output.dtype == np.float64 else output.astype(np.float64)

    def pullback(cotangent):
        """u^T J for each checked input (float64 arrays of the inputs' shapes)."""
        grads = tape.gradients(output, [leaves[i] for i in checked], grad=cotangent,
                               retain_graph=True)
        results = {}
        for i, g in zip(checked, grads):
            g = np.asarray(g, dtype=np.float64)
            if g.shape != arrays[i].shape:
                raise GradcheckError(
                    f"gradcheck: the gradient of input {i} has shape {g.shape} but the input has "
                    f"shape {arrays[i].shape}", input_index=i)
            results[i] = g
        return results

    output_size = int(np.prod(output_shape))
    input_size = sum(arrays[i].size for i in checked)
    tolerances = dict(atol=atol, rtol=rtol)
    if input_size * output_size <= full_jacobian_limit:
        return _check_full(evaluate, pullback, arrays, checked, output_shape, eps, tolerances)
    return _check_projections(evaluate, pullback, arrays, checked, output_shape, eps, tolerances,
                              projections, np.random.default_rng(seed))


def _as_array(value):
    return value.data if isinstance(value, Tensor) else value


def _prepare(inputs):
    """float64 copies of the floating inputs (checked), constants for the rest."""
    arrays, checked = {}, []
    for i, value in enumerate(inputs):
        if isinstance(value, (Tensor, np.ndarray, np.generic)):
            data = np.asarray(_as_array(value))
            if data.dtype.kind == "f":
                arrays[i] = data.astype(np.float64)  # always a copy: the caller's data is never touched
                checked.append(i)
            else:
                arrays[i] = data
    return arrays, checked


def _arguments(inputs, arrays, replacements):
    """The arguments to call f with: Tensors for array inputs, the rest unchanged."""
    result = []
    for i, value in enumerate(inputs):
        if i in replacements:
            item = replacements[i]
            result.append(item if isinstance(item, Tensor) else Tensor._constant(item))
        elif i in arrays:
            result.append(Tensor._constant(arrays[i]))
        else:
            result.append(value)
    return result


def _numeric_derivative(evaluate, arrays, i, direction, eps):
    """(f(x + eps v) - f(x - eps v)) / 2 eps, moving input i only."""
    plus = evaluate({**arrays, i: arrays[i] + eps * direction})
    minus = evaluate({**arrays, i: arrays[i] - eps * direction})
    return (plus - minus) / (2 * eps)


def _excess(analytic, numeric, atol, rtol):
    """How far beyond tolerance each entry is (> 0 fails; NaN anywhere fails)."""
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    return np.where(np.isnan(excess) | np.isinf(excess), np.inf, excess)


def _check_full(evaluate, pullback, arrays, checked, output_shape, eps, tolerances):
    output_size = int(np.prod(output_shape))
    # Analytic Jacobian, one row per output entry: pull back each unit cotangent.
    analytic = {i: np.empty((output_size, arrays[i].size)) for i in checked}
    for k in range(output_size):
        unit = np.zeros(output_size)
        unit[k] = 1.0
        for i, row in pullback(unit.reshape(output_shape)).items():
            analytic[i][k] = row.ravel()
    # Numeric Jacobian, one column per input entry.
    worst = None
    for i in checked:
        numeric = np.empty_like(analytic[i])
        for j in range(arrays[i].size):
            direction = np.zeros(arrays[i].size)
            direction[j] = 1.0
            numeric[:, j] = _numeric_derivative(
                evaluate, arrays, i, direction.reshape(arrays[i].shape), eps).ravel()
        excess = _excess(analytic[i], numeric, **tolerances)
        if excess.size and (worst is None or excess.max() > worst[0]):
            k, j = np.unravel_index(np.argmax(excess), excess.shape)
            failures = int((excess > 0).sum())
            worst = (excess.max(), i, k, j, analytic[i][k, j], numeric[k, j], failures, excess.size)
    if worst is None or worst[0] <= 0:
        return True
    _, i, k, j, a, n, failures, total = worst
    a, n = float(a), float(n)
    index = tuple(int(v) for v in np.unravel_index(j, arrays[i].shape))
    output_index = tuple(int(v) for v in np.unravel_index(k, output_shape))
    raise GradcheckError(
        f"gradcheck failed: d output{list(output_index)} / d input {i}{list(index)} "
        f"(input {i}: shape {arrays[i].shape}): analytic {a!r}, numeric {n!r}, "
        f"|difference| {abs(a - n):.3g} > atol + rtol * |numeric| = "
        f"{tolerances['atol'] + tolerances['rtol'] * abs(n):.3g}; "
        f"{failures} of {total} Jacobian entries of input {i} disagree",
        input_index=i, index=index, output_index=output_index, analytic=a, numeric=n)


def _check_projections(evaluate, pullback, arrays, checked, output_shape, eps, tolerances,
                       projections, rng):
    worst = None
    for p in range(projections):
        cotangent = rng.standard_normal(output_shape)
        pulled = pullback(cotangent)
        for i in checked:
            direction = rng.standard_normal(arrays[i].shape)
            analytic = float(np.sum(pulled[i] * direction))
            numeric = float(np.sum(cotangent * _numeric_derivative(evaluate, arrays, i, direction, eps)))
            excess = float(_excess(np.array(analytic), np.array(numeric), **tolerances))
            if worst is None or excess > worst[0]:
                worst = (excess, i, p, analytic, numeric)
    if worst[0] <= 0:
        return True
    _, i, p, a, n = worst
    raise GradcheckError(
        f"gradcheck failed on random projection {p} (u · J · v with u of the output's shape "
        f"{tuple(output_shape)} and v of input {i}'s shape {arrays[i].shape}): analytic {a!r}, "
        f"numeric {n!r}, |difference| {abs(a - n):.3g} > atol + rtol * |numeric| = "
        f"{tolerances['atol'] + tolerances['rtol'] * abs(n):.3g}. "
        "Check a smaller input to see which entries disagree.",
        input_index=i, analytic=a, numeric=n)
