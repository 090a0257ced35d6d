"""``numpy.fft``, unchanged: no transform here has a gradient rule yet, so given a tensor
that requires grad each one refuses it, naming itself (``Tensor.__array_function__``);
on constants and plain arrays it is NumPy's.

>>> import autograd.numpy.fft as fft
>>> fft.rfft([1.0, 1.0]).round(6).tolist()
[(2+0j), 0j]
"""

from __future__ import annotations

import numpy.fft as _fft


def __getattr__(name):
    return getattr(_fft, name)


def __dir__():
    return sorted(set(dir(_fft)) | set(globals()))
