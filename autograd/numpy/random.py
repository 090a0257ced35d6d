"""``numpy.random``, unchanged: random numbers are constants (``import autograd.numpy.random
as npr`` as HIPS autograd users write it).

>>> import autograd.numpy.random as npr
>>> npr.RandomState(0).randn(2).shape
(2,)
"""

from __future__ import annotations

import numpy.random as _random


def __getattr__(name):
    return getattr(_random, name)


def __dir__():
    return sorted(set(dir(_random)) | set(globals()))
