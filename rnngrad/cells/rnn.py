"""The Elman recurrent cell."""

from dataclasses import dataclass

from .._validation import check_choice
from ..activations import relu, tanh
from .base import Cell, affine

__all__ = ["RNNCell", "NONLINEARITIES"]

#: The nonlinearities of the Elman cell by name: ``"tanh"`` (torch's default) and ``"relu"``.
NONLINEARITIES = {"tanh": tanh, "relu": relu}


@dataclass(frozen=True)
class RNNCell(Cell):
    r"""Elman recurrent cell (torch's ``RNNCell``).

    .. math::

        h' = \phi(x W_{ih}^\top + b_{ih} + h W_{hh}^\top + b_{hh})

    with :math:`\phi` = ``tanh`` (default) or ``relu``. The same
    :math:`W_{hh}` multiplies the state at every step, so the gradient
    reaching step :math:`t` from step :math:`T` is a product of
    :math:`T - t` Jacobians :math:`\operatorname{diag}(\phi') W_{hh}`: it
    vanishes or explodes geometrically, which is what gated cells fix.

    Parameters: ``weight_ih`` (H, D), ``weight_hh`` (H, H), ``bias_ih`` (H,),
    ``bias_hh`` (H,); the biases only when ``bias=True``.

    Args:
        input_size: D.
        hidden_size: H.
        bias: whether to use ``bias_ih`` and ``bias_hh``.
        nonlinearity: ``"tanh"`` or ``"relu"``.
    """

    nonlinearity: str = "tanh"

    def __post_init__(self):
        super().__post_init__()
        check_choice("nonlinearity", self.nonlinearity, NONLINEARITIES)

    def param_shapes(self):
        H, D = self.hidden_size, self.input_size
        shapes = {"weight_ih": (H, D), "weight_hh": (H, H)}
        if self.bias:
            shapes.update(bias_ih=(H,), bias_hh=(H,))
        return shapes

    def step(self, params, x, state):
        (h,) = state
        pre = affine(x, params["weight_ih"], params.get("bias_ih")) + affine(
            h, params["weight_hh"], params.get("bias_hh")
        )
        h_new = NONLINEARITIES[self.nonlinearity](pre)
        return h_new, (h_new,)
