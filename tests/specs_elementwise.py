"""Rows of the primitives table (tests/specs.py) for the elementwise vocabulary and reductions.

They import ``Spec`` and the argument strategies from specs.py, which appends
``ROWS`` to ``PRIMITIVES``; a row's name is the primitive's registry key.
(specs.py imports this module after its own definitions, so import ``specs``
first, never this module on its own.)
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.testing import strategies as ags
from specs import NONZERO, POSITIVE, Spec, binary, off_grid_arrays, unary, untied_pair


# ---------------------------------------------------------------------------
# Argument strategies.
# ---------------------------------------------------------------------------

INSIDE_ONE = dict(min_value=-0.9, max_value=0.9)   # arcsin, arccos, arctanh: away from +-1


@st.composite
def modulo_arguments(draw, dtype):
    """a and b for a mod b away from its jumps: b an integer in +-[1, 4] and a an integer
    plus a fraction in [0.15, 0.85], so a / b is at least 0.0375 from every integer."""
    shape_a, shape_b = draw(ags.broadcastable_shapes(2))
    whole = draw(hnp.arrays(np.int64, shape_a, elements=st.integers(-5, 4)))
    fraction = draw(hnp.arrays(np.float64, shape_a, elements=st.floats(0.15, 0.85)))
    b = draw(hnp.arrays(np.int64, shape_b, elements=st.sampled_from([-4, -3, -2, -1, 1, 2, 3, 4])))
    return (whole + fraction).astype(dtype), b.astype(dtype)


def _math_reference(function):
    """A math-module function elementwise, in the input's dtype (the oracle for erf/erfc)."""
    return lambda x: np.vectorize(function, otypes=[x.dtype])(x)


# ---------------------------------------------------------------------------
# The rows.
# ---------------------------------------------------------------------------

ROWS: list = [
    # Elementwise, unary.
    Spec("sin", ag.sin, np.sin, unary()),
    Spec("cos", ag.cos, np.cos, unary()),
    Spec("tan", ag.tan, np.tan, unary(min_value=-1.4, max_value=1.4)),
    Spec("arcsin", ag.arcsin, np.arcsin, unary(**INSIDE_ONE)),
    Spec("arccos", ag.arccos, np.arccos, unary(**INSIDE_ONE)),
    Spec("arctan", ag.arctan, np.arctan, unary()),
    Spec("sinh", ag.sinh, np.sinh, unary()),
    Spec("cosh", ag.cosh, np.cosh, unary()),
    Spec("arcsinh", ag.arcsinh, np.arcsinh, unary()),
    Spec("arccosh", ag.arccosh, np.arccosh, unary(min_value=1.1, max_value=5)),
    Spec("arctanh", ag.arctanh, np.arctanh, unary(**INSIDE_ONE)),
    Spec("square", ag.square, np.square, unary()),
    Spec("reciprocal", ag.reciprocal, np.reciprocal, unary(**NONZERO)),
    Spec("cbrt", ag.cbrt, np.cbrt, unary(**NONZERO)),
    Spec("log2", ag.log2, np.log2, unary(**POSITIVE)),
    Spec("log10", ag.log10, np.log10, unary(**POSITIVE)),
    Spec("log1p", ag.log1p, np.log1p, unary(min_value=-0.9, max_value=5)),
    Spec("exp2", ag.exp2, np.exp2, unary()),
    Spec("expm1", ag.expm1, np.expm1, unary()),
    Spec("sinc", ag.sinc, np.sinc, unary()),
    Spec("deg2rad", ag.deg2rad, np.deg2rad, unary()),
    Spec("radians", ag.radians, np.radians, unary()),
    Spec("rad2deg", ag.rad2deg, np.rad2deg, unary()),
    Spec("degrees", ag.degrees, np.degrees, unary()),
    Spec("erf", ag.erf, _math_reference(math.erf), unary()),
    Spec("erfc", ag.erfc, _math_reference(math.erfc), unary()),
    # Elementwise, binary, broadcasting.
    Spec("logaddexp", ag.logaddexp, np.logaddexp, binary(), fan_out=(0, 1)),
    Spec("logaddexp2", ag.logaddexp2, np.logaddexp2, binary(), fan_out=(0, 1)),
    Spec("hypot", ag.hypot, np.hypot, binary(NONZERO), fan_out=(0, 1)),
    Spec("arctan2", ag.arctan2, np.arctan2, binary(NONZERO), fan_out=(0, 1)),
    Spec("fmax", ag.fmax, np.fmax, untied_pair, fan_out=(0, 1)),
    Spec("fmin", ag.fmin, np.fmin, untied_pair, fan_out=(0, 1)),
    Spec("remainder", ag.remainder, np.remainder, modulo_arguments),
    Spec("fmod", ag.fmod, np.fmod, modulo_arguments),
]
