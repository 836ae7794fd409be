"""Numerically stable activations as autograd primitives.

autograd's own ``tanh`` differentiates through ``1 / cosh(x) ** 2``, which
overflows (with a RuntimeWarning) once ``|x|`` passes about 355, and the
textbook logistic ``1 / (1 + exp(-x))`` overflows for large negative ``x``.
The primitives here compute the value without overflow and express every
derivative through the answer itself, which is always bounded:

=========  ==========================  ===========================
primitive  value                       derivative (from ``ans``)
=========  ==========================  ===========================
tanh       ``numpy.tanh(x)``           ``1 - ans ** 2``
sigmoid    branch on the sign of x     ``ans * (1 - ans)``
=========  ==========================  ===========================

Both rules are written with :mod:`autograd.numpy` on possibly boxed values, so
they are themselves differentiable: second and higher orders work, in reverse
and forward mode.
"""

import autograd.numpy as np
import numpy as onp
from autograd.extend import defjvp, defvjp, primitive

__all__ = ["sigmoid", "tanh", "relu"]


@primitive
def tanh(x):
    r"""Hyperbolic tangent, :math:`\tanh(x) \in (-1, 1)`, safe for any finite ``x``."""
    return onp.tanh(x)


@primitive
def sigmoid(x):
    r"""Logistic sigmoid :math:`\sigma(x) = 1 / (1 + e^{-x})`, without overflow.

    For ``x >= 0`` it computes ``1 / (1 + e^{-x})``; for ``x < 0`` the
    algebraically equal ``e^{x} / (1 + e^{x})``. Either way the exponent is
    ``-|x|``, which never overflows, so ``sigmoid(-1e4)`` is ``0.0`` and
    ``sigmoid(1e4)`` is ``1.0`` with no warning.
    """
    x = onp.asarray(x)
    z = onp.exp(-onp.abs(x))
    return onp.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(x.dtype, copy=False)


def relu(x):
    """Rectified linear unit ``max(x, 0)``; its derivative at 0 is 0 and NaN stays NaN, as in torch."""
    # x > 0 alone is false for NaN, which would turn a NaN input into a silent 0
    return np.where(x > 0, x, np.where(np.isnan(x), x, 0.0))


defvjp(tanh, lambda ans, x: lambda g: g * (1.0 - ans**2))
defvjp(sigmoid, lambda ans, x: lambda g: g * ans * (1.0 - ans))
defjvp(tanh, lambda g, ans, x: g * (1.0 - ans**2))
defjvp(sigmoid, lambda g, ans, x: g * ans * (1.0 - ans))
