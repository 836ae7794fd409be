r"""Curvature products of a function of a parameter dict: :func:`jvp`, :func:`ggnvp`, :func:`hvp`.

Each is a composition of autograd's two modes, forward (``make_jvp``) and
reverse (``grad``, ``make_vjp``), and never forms a matrix. With
:math:`f(\theta)` the function, :math:`J = \partial f / \partial \theta` its
Jacobian and :math:`v` a direction shaped like the parameters:

======================  ===========================================  ==========================================
helper                  computes                                     how, and its cost (main size, float64)
======================  ===========================================  ==========================================
:func:`jvp`             :math:`(f(\theta), J v)`                     forward mode: the forward pass with its
                                                                     tangent beside it, about 1.5 forwards
:func:`ggnvp`           :math:`J^\top \nabla^2 \ell(f(\theta))\,     :func:`jvp`, the loss's Hessian on the
                        J v`                                         output, one VJP: about 2 gradients
:func:`hvp`             :math:`\nabla^2 f(\theta)\, v` (scalar f)    forward over reverse: the gradient with its
                                                                     tangent, about 2.5 gradients
======================  ===========================================  ==========================================

The costs hold because the built-in cells' fused kernels (:mod:`rnngrad.kernels`)
have hand-written rules for all three: the tangent of the forward pass and
the tangent of the backward pass run as whole-sequence NumPy, like the
gradient itself; ``rnngrad bench --curvature`` measures them (see the
benchmarks page). Cells without a kernel run the traced reference loop:
the same numbers, more slowly.

The Gauss-Newton product is the Hessian of :math:`\ell \circ f` without the
term :math:`\sum_k \partial_k \ell\, \nabla^2 f_k`: positive semi-definite
whenever :math:`\ell` is convex, which makes it the usual curvature matrix of
Hessian-free optimization and natural-gradient methods.
"""

import numpy as onp
from autograd import grad, make_jvp, make_vjp

from ._validation import check_params

__all__ = ["jvp", "ggnvp", "hvp"]


def _check(fun, params, vector, name):
    """``fun`` callable; ``params`` a dict of float arrays; ``vector`` (called ``name``) one of the same shapes."""
    if not callable(fun):
        raise TypeError(f"fun: expected a callable of the parameter dict, got {type(fun).__name__}")
    if not hasattr(params, "keys"):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    shapes = {key: onp.shape(params[key]) for key in params}
    check_params(params, shapes, "params")
    check_params(vector, shapes, name)


def jvp(fun, params, tangent):
    r"""``(fun(params), J tangent)``: the value and its directional derivative, in one forward pass.

    Args:
        fun: a function of the parameter dict; its value may be an array or
            a (nested) tuple of arrays, e.g. a model's ``(output, final_state)``.
        params: a dict of float arrays.
        tangent: a dict with the same keys and shapes: the direction :math:`v`.

    Returns:
        ``(value, tangent_of_value)``, the second shaped like the first:
        :math:`J v = \lim_{\epsilon \to 0} (f(\theta + \epsilon v) - f(\theta)) / \epsilon`.

    Cost: one forward pass with the tangent recurrence beside it, about 1.5
    forward passes with the fused kernels.
    """
    _check(fun, params, tangent, "tangent")
    return make_jvp(fun)(params)(tangent)


def ggnvp(fun, loss, params, vector):
    r"""The Gauss-Newton product :math:`G v = J^\top \nabla^2 \ell(f(\theta))\, J v`.

    Args:
        fun: the model as a function of the parameter dict, ``fun(params) -> output``.
        loss: a scalar function of that output, :math:`\ell`.
        params: a dict of float arrays.
        vector: a dict with the same keys and shapes: :math:`v`.

    Returns:
        A dict shaped like ``params``.

    How: :math:`J v` by :func:`jvp`; :math:`\nabla^2 \ell\, (J v)` by
    forward over reverse on the loss alone (cheap: it sees only the output);
    :math:`J^\top u` by one reverse pass of ``fun``. Cost: two forward
    passes, one tangent and one backward pass, about 2 gradients.
    """
    _check(fun, params, vector, "vector")
    if not callable(loss):
        raise TypeError(f"loss: expected a callable of fun's output, got {type(loss).__name__}")
    output, direction = make_jvp(fun)(params)(vector)
    _, curvature = make_jvp(grad(loss))(output)(direction)
    transpose, _ = make_vjp(fun)(params)
    return transpose(curvature)


def hvp(fun, params, vector):
    r"""The Hessian-vector product :math:`\nabla^2 f(\theta)\, v` of a scalar function, exactly.

    Args:
        fun: a scalar function of the parameter dict (a model followed by a loss).
        params: a dict of float arrays.
        vector: a dict with the same keys and shapes: :math:`v`.

    Returns:
        A dict shaped like ``params``.

    How: forward mode over reverse mode, the derivative of the gradient in
    the direction :math:`v`. The fused kernels run the tangent of their
    forward pass and of their backward pass (backpropagation through time
    differentiated once more, by hand), so the cost is about 2.5 gradients
    rather than the 10 to 20 of autograd over the traced loop.
    """
    _check(fun, params, vector, "vector")
    return make_jvp(grad(fun))(params)(vector)[1]
