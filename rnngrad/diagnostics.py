r"""How far back gradients reach: the norm of the gradient per time step.

For a loss :math:`L` computed at the end of a sequence, the gradient with
respect to the input at step :math:`t` passes through every later step,

.. math::

    \frac{\partial L}{\partial x_t}
    = \frac{\partial L}{\partial h_T}
      \prod_{s=t+1}^{T} \frac{\partial h_s}{\partial h_{s-1}}
      \frac{\partial h_t}{\partial x_t},

a product of :math:`T - t` Jacobians. In a tanh RNN each factor is
:math:`\operatorname{diag}(1 - h_s^2) W_{hh}`, which shrinks vectors when
its spectral radius is below one: the gradient vanishes geometrically and
early steps cannot be learned from. In an LSTM the cell state's factor is
:math:`\operatorname{diag}(f_s)`, in a GRU roughly
:math:`\operatorname{diag}(z_s)`: gates near one carry the gradient intact.

:func:`input_gradient_norms` measures :math:`\|\partial L/\partial x_t\|` for
any differentiable function of the inputs; :func:`hidden_gradient_norms`
measures :math:`\|\partial L/\partial h_t\|` for any cell, by adding a zero
perturbation :math:`\delta_t` to the state after step :math:`t`
(:math:`\partial L/\partial \delta_t = \partial L/\partial h_t`) through a
wrapper cell, so the sequence module is reused unchanged.
"""

from dataclasses import dataclass

import autograd.numpy as np
import numpy as onp
from autograd import grad

from .cells import WrappedCell
from .sequence import unroll

__all__ = ["input_gradient_norms", "hidden_gradient_norms", "PerturbedCell"]


def input_gradient_norms(loss_of_inputs, x):
    """``norms[t]``: the gradient of ``loss_of_inputs(x)`` with respect to ``x[t]``, its norm averaged over the batch.

    Args:
        loss_of_inputs: a scalar function of a time-major input (T, B, D) (any model, any loss).
        x: (T, B, D) inputs at which to measure.

    Returns:
        (T,) float64: :math:`\\frac{1}{B}\\sum_b \\|\\partial L / \\partial x_{t,b}\\|`.
    """
    x = onp.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x: expected a time-major array (T, B, D), got shape {x.shape}")
    gradient = grad(loss_of_inputs)(x)
    return onp.linalg.norm(gradient, axis=-1).mean(axis=1)


@dataclass(frozen=True)
class PerturbedCell(WrappedCell):
    """A cell whose first state array after each step gets an additive perturbation read from the input.

    The input is ``concat(x_t, delta_t)`` of size D + S: the inner cell sees
    ``x_t``, and ``delta_t`` is added to its new state's first array (the
    hidden state). With ``delta = 0`` the values are the inner cell's; the
    gradient with respect to ``delta_t`` is the gradient with respect to ``h_t``.
    """

    @property
    def input_size(self):
        """D + S: the inner cell's input, then the perturbation of its first state array."""
        return self.inner.input_size + self.inner.state_sizes[0]

    def step(self, params, x, state):
        d = self.inner.input_size
        _, new_state = self.inner.step(params, x[:, :d], state)
        hidden = new_state[0] + x[:, d:]
        return hidden, (hidden,) + tuple(new_state[1:])


def hidden_gradient_norms(cell, params, x, loss_of_outputs, *, initial_state=None):
    """``norms[t]``: the norm of the gradient with respect to the hidden state after step ``t``, batch-averaged.

    Args:
        cell: any cell (one layer, one direction).
        params: its parameter dict.
        x: (T, B, D) inputs.
        loss_of_outputs: a scalar function of the outputs (T, B, O) (for
            example, a readout of the last step).
        initial_state: the cell's state tuple; zeros if ``None``.

    Returns:
        (T,) float64.
    """
    x = onp.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x: expected a time-major array (T, B, D), got shape {x.shape}")
    num_steps, batch, _ = x.shape
    wrapper = PerturbedCell(cell)
    state = cell.initial_state(batch, x.dtype) if initial_state is None else tuple(initial_state)

    def loss(delta):
        outputs, _ = unroll(wrapper, params, np.concatenate([x, delta], axis=-1), state, impl="reference")
        return loss_of_outputs(outputs)

    gradient = grad(loss)(onp.zeros((num_steps, batch, cell.state_sizes[0]), dtype=x.dtype))
    return onp.linalg.norm(gradient, axis=-1).mean(axis=1)
