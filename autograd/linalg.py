"""Linear algebra with gradients: ``ag.linalg.inv``, and ``np.linalg.*`` called on Tensors.

Each function is a registered primitive filed under the namespace ``"linalg"`` (its
registry key is ``"linalg.inv"``), batched over leading axes as NumPy's are.
"""

from __future__ import annotations

from autograd import registry

__all__: list[str] = []


def __dir__():
    return sorted(__all__)



