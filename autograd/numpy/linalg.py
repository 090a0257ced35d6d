"""``numpy.linalg`` where ``ag.linalg``'s functions (registered under the namespace
"linalg") take the place of NumPy's: ``np.linalg.inv(A)`` records on the tape.

A name resolves to the registered function answering for ``numpy.linalg.<name>``, else
the function ``ag.linalg`` registers under that name, else NumPy's own (which refuses
tensors that require grad, naming itself: see autograd/numpy/__init__.py).

>>> import autograd.numpy as np
>>> np.linalg.LinAlgError is __import__("numpy").linalg.LinAlgError
True
"""

from __future__ import annotations

import numpy as _numpy

from autograd import registry as _registry


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(f"module 'autograd.numpy.linalg' has no attribute {name!r}")
    from autograd.numpy import _resolve

    value = _resolve(name, _numpy.linalg, _registry.namespace("linalg"),
                     "autograd.numpy.linalg", "numpy.linalg")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(dir(_numpy.linalg)) | set(_registry.namespace("linalg")) | set(globals()))
