"""Compare the gradients the tape computes with central finite differences.

Everything runs in float64 on copies of the inputs, so rounding in the check itself
stays far below the tolerances. Small problems compare the full Jacobian entry by
entry. Large ones pull back a few random ±1 cotangents ``u`` of the output (one
backward pass each) and compare every entry of ``uᵀJ`` with central differences
(two forward passes per input entry, shared by all the cotangents).

Why entry by entry: a scalar projection ``u · J · v`` mixes all n entries, so one
wrong entry moves it by about 1/sqrt(n) of its size. With ``rtol=1e-3`` a 1% error
in one entry of a 150-element input already slips under the tolerance of the
projection, whatever the number of projections. Compared per entry, the wrong
entry is diluted only by the other outputs that the same input entry reaches:

- none for elementwise operations, reductions and indexing: a ±1 cotangent keeps the
  entry at full size, so a 1% error is caught for certain (when it exceeds ``atol``);
- c of similar size (a matmul with c columns): one cotangent misses it with
  probability about P(|z| > (error / rtol) / sqrt(c)), and the cotangents miss it
  independently. Simulated with the default 4 cotangents and a 1% error: c = 4
  caught always in 200,000 trials, c = 16 with probability 0.9998, c = 50 0.992,
  c = 100 0.967 (``projections=8``: 1.0, 1.0, 0.9997, 0.997).
"""

from __future__ import annotations

import numpy as np

from autograd import tape
from autograd.tensors import Tensor

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
              projections=4, seed=0, per_entry=True):
    """Check ``f``'s gradients against central differences; True, or raise GradcheckError.

    ``f`` takes Tensors and returns a Tensor of any shape. Every input that is a
    floating Tensor or ndarray is checked (as a float64 copy that requires grad);
    integer/bool arrays become constant Tensors and anything else (axis numbers,
    Python floats) is passed to ``f`` unchanged.

    An entry passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
    When ``(total input size) * (output size) <= full_jacobian_limit`` every entry of
    the Jacobian is compared (one backward pass per output entry). Otherwise
    ``projections`` random ±1 cotangents ``u`` (unit ones if the output has no more
    entries than that) are pulled back, and the scalars ``u · J · v`` for a random
    direction ``v`` of each input are compared first (cheap: they catch an error
    spread over many entries); then, with ``per_entry=True``, every entry of ``uᵀJ``,
    which costs two evaluations of ``f`` per input entry and catches a single wrong
    entry (see the module docstring for the odds). ``per_entry=False`` keeps only the
    projections: much faster for huge inputs, but one wrong entry among more than
    ~100 can pass. ``seed`` makes the random cotangents and directions reproducible.

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
    return _check_large(evaluate, pullback, arrays, checked, output_shape, eps, tolerances,
                        projections, np.random.default_rng(seed), per_entry)


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


def _cotangents(output_shape, count, rng):
    """(cotangents, unit): all the unit cotangents of the output if there are no more than
    ``count`` of them (then ``uᵀJ`` is J itself, row by row), else ``count`` random ±1 arrays.

    ±1 rather than Gaussian entries: an entry that only one output reaches then keeps
    its full size in ``uᵀJ``, so its check does not depend on luck.
    """
    output_size = int(np.prod(output_shape))
    if output_size <= count:
        return np.eye(output_size).reshape((output_size, *output_shape)), True
    return np.where(rng.random((count, *output_shape)) < 0.5, -1.0, 1.0), False


def _check_large(evaluate, pullback, arrays, checked, output_shape, eps, tolerances,
                 projections, rng, per_entry):
    cotangents, unit = _cotangents(output_shape, max(int(projections), 1), rng)
    pulled = [pullback(u) for u in cotangents]  # analytic uᵀJ, one backward pass each
    worst = None
    for p, (cotangent, rows) in enumerate(zip(cotangents, pulled)):
        for i in checked:
            direction = rng.standard_normal(arrays[i].shape)
            analytic = float(np.sum(rows[i] * direction))
            numeric = float(np.sum(cotangent * _numeric_derivative(evaluate, arrays, i, direction, eps)))
            excess = float(_excess(np.array(analytic), np.array(numeric), **tolerances))
            if worst is None or excess > worst[0]:
                worst = (excess, i, p, analytic, numeric)
    if per_entry:
        # Also when a projection already failed: naming the wrong entries is worth the
        # evaluations, and a single wrong entry is what the projections miss.
        for i in checked:
            _check_entries(evaluate, arrays, i, cotangents, unit, [rows[i] for rows in pulled],
                           output_shape, eps, tolerances)
    if worst[0] <= 0:
        return True
    _, i, p, a, n = worst
    raise GradcheckError(
        f"gradcheck failed on random projection {p} (u · J · v with u of the output's "
        f"shape {tuple(output_shape)} and v of input {i}'s shape {arrays[i].shape}): "
        f"analytic {a!r}, numeric {n!r}, |difference| {abs(a - n):.3g} > atol + rtol * "
        f"|numeric| = {tolerances['atol'] + tolerances['rtol'] * abs(n):.3g}. "
        + ("Every entry of uᵀJ is within tolerance: the error is small and spread over "
           "many entries." if per_entry else
           "Run with per_entry=True to see which entries disagree."),
        input_index=i, analytic=a, numeric=n)


def _check_entries(evaluate, arrays, i, cotangents, unit, rows, output_shape, eps, tolerances):
    """Compare every entry of uᵀJ (u: each cotangent) for input i; raise naming the worst.

    Column j of the numeric Jacobian costs two evaluations of f, and serves every
    cotangent at once. The input is moved one entry at a time in a scratch copy.
    """
    count = len(cotangents)
    flat_cotangents = cotangents.reshape(count, -1)
    analytic = np.stack([row.ravel() for row in rows])        # (cotangents, entries)
    numeric = np.empty_like(analytic)
    moved = arrays[i].copy()
    flat = moved.reshape(-1)                                   # a view: writes move `moved`
    shifted = {**arrays, i: moved}
    for j in range(flat.size):
        original = flat[j]
        flat[j] = original + eps
        plus = evaluate(shifted)
        flat[j] = original - eps
        minus = evaluate(shifted)
        flat[j] = original
        numeric[:, j] = flat_cotangents @ ((plus - minus).reshape(-1) / (2 * eps))
    excess = _excess(analytic, numeric, **tolerances)
    if not excess.size or excess.max() <= 0:
        return
    p, j = np.unravel_index(np.argmax(excess), excess.shape)
    a, n = float(analytic[p, j]), float(numeric[p, j])
    index = tuple(int(v) for v in np.unravel_index(j, arrays[i].shape))
    failures = int((excess > 0).any(axis=0).sum())
    if unit:  # cotangent p is the unit one of output entry p: this is one Jacobian entry
        output_index = tuple(int(v) for v in np.unravel_index(int(p), output_shape))
        what = f"d output{list(output_index)} / d input {i}{list(index)}"
    else:
        output_index = None
        what = (f"entry input {i}{list(index)} of uᵀJ for random ±1 cotangent {p} (u of the "
                f"output's shape {tuple(output_shape)})")
    raise GradcheckError(
        f"gradcheck failed: {what} (input {i}: shape {arrays[i].shape}): analytic {a!r}, "
        f"numeric {n!r}, |difference| {abs(a - n):.3g} > atol + rtol * |numeric| = "
        f"{tolerances['atol'] + tolerances['rtol'] * abs(n):.3g}; {failures} of "
        f"{arrays[i].size} entries of input {i} disagree",
        input_index=i, index=index, output_index=output_index, analytic=a, numeric=n)
