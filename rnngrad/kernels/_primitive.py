r"""The two autograd primitives behind every fused kernel, and their derivative rules.

A kernel (one direction of one layer of :mod:`.rnn`, :mod:`.lstm`, :mod:`.gru`)
is four plain NumPy functions, collected in a :class:`Rules`:

* ``forward(spec, inputs, arrays, save) -> (outputs, final_state, residuals)``
* ``backward(spec, inputs, arrays, residuals, cotangents, needed, save, inject) -> (grads, adjoints)``
* ``tangent(spec, inputs, arrays, residuals, tangents) -> (outputs', final_state', trajectory)``
* ``second_order(spec, inputs, arrays, residuals, cotangents, adjoints, tangents, cotangent_tangents, needed,
  trajectory)``, ``trajectory`` that of ``tangent`` in the direction ``tangents`` or ``None``

``arrays`` is the initial state followed by the parameters in the cell's
:meth:`~rnngrad.AbstractCell.param_shapes` order; positions ``0, 1, ...`` number
``(inputs, *arrays)``; ``grads`` hold an array at each position in
``needed`` (``None`` elsewhere); a tangent ``None`` is a zero.

Write :math:`F(x)` for ``fused_sequence`` (``x`` = inputs, initial state and
parameters; the answer ``(outputs, *final_state)``) and
:math:`B(x, \bar y) = J_F(x)^\top \bar y` for ``fused_backward``, the
gradient of :math:`L = \langle \bar y, F(x) \rangle` at the needed
positions. Both are primitives, so that autograd differentiates the backward
pass like any other function:

==================  =====  ========================================  ==================================
primitive           mode   rule on plain arrays                      a box in a rule's own arguments
==================  =====  ========================================  ==================================
``F``               VJP    ``backward``; ``B`` itself when boxed     (``B`` is a primitive: see below)
``F``               JVP    ``tangent``: :math:`J_F \dot x`           autograd's JVP of the reference
``B``               JVP    ``second_order``: :math:`\nabla^2 L\,     autograd's JVP of the reference's
                           \dot x + J_F^\top \dot{\bar y}`           VJP
``B``               VJP    :math:`(\nabla^2 L\, u, J_F u)` by the    autograd's VJP of the reference's
                           symmetry of :math:`\nabla^2 L`            VJP
==================  =====  ========================================  ==================================

``B``'s VJP needs no derivation of its own: :math:`\partial B / \partial x` is the
Hessian of :math:`L`, which is symmetric, so its transpose times ``u`` is
``second_order`` in the direction ``u`` (zero elsewhere), and
:math:`\partial B / \partial \bar y = J_F^\top`, whose transpose times ``u``
is the forward tangent :math:`J_F u`. So first-order forward mode,
forward-over-reverse and reverse-over-reverse all run fused. A rule whose own
arguments are boxed (forward over forward, reverse over forward, third order
and above) runs
the reference loop (``rnngrad._runners.run_reference``) on the same values: exact, slow, and
itself differentiable.
"""

from dataclasses import dataclass

import numpy as onp
from autograd.builtins import SequenceBox, TupleVSpace
from autograd.builtins import tuple as traced_tuple
from autograd.core import make_jvp, make_vjp
from autograd.extend import defjvp_argnums, defvjp_argnums, primitive
from autograd.tracer import getval, isbox

from .._runners import run_reference

__all__ = ["Rules", "Spec", "fused_sequence", "fused_backward", "make_kernel"]


class _Run(tuple):
    """A primitive's tuple answer, carrying the arrays its derivative rules need as ``.residuals``.

    The residuals live on the answer, which autograd's tape keeps exactly as
    long as a rule may need it; while it does, the workspace they came from
    sees them referred to and does not hand them out again.
    """


SequenceBox.register(_Run)
TupleVSpace.register(_Run)


def _carrying(values, residuals):
    run = _Run(values)
    run.residuals = residuals
    return run


@dataclass(frozen=True)
class Rules:
    """A kernel's four plain NumPy functions (see the module docstring) and its name."""

    name: str
    forward: object
    backward: object
    tangent: object
    second_order: object


@dataclass(frozen=True, eq=False)
class Spec:
    """What is fixed in one call: the kernel's :class:`Rules`, the cell, the parameter names, mask and direction."""

    kernel: Rules
    cell: object
    names: tuple
    mask: object
    reverse: bool

    @property
    def num_states(self):
        return len(self.cell.state_sizes)

    @property
    def num_arrays(self):
        """How many arrays follow the inputs: the initial state's and the parameters."""
        return self.num_states + len(self.names)


@primitive
def fused_sequence(spec, inputs, *arrays):
    """Run ``spec.cell`` over the whole sequence; returns ``(outputs, *final_state)``."""
    outputs, final, residuals = spec.kernel.forward(spec, inputs, arrays, True)
    return _carrying((outputs, *final), residuals)


@primitive
def fused_backward(spec, needed, run, inputs, *rest):
    """The cotangents of ``(inputs, *arrays)`` at ``needed`` from those of ``(outputs, *final_state)``.

    ``run`` is the forward's answer (its residuals); ``rest`` is the arrays
    followed by the cotangents. The answer carries the backward's adjoints
    for :func:`_backward_jvp`.
    """
    arrays, cotangents = _split(spec, rest)
    grads, adjoints = spec.kernel.backward(spec, inputs, arrays, run.residuals, cotangents, needed, True, None)
    return _carrying(tuple(grads[i] for i in needed), adjoints)


def _split(spec, rest):
    return rest[: spec.num_arrays], rest[spec.num_arrays :]


def _boxed(*values):
    return any(isbox(v) or (isinstance(v, (tuple, list)) and _boxed(*v)) for v in values)


def _placed(count, argnums, gs, offset):
    """``count`` tangents, ``gs`` at positions ``argnums - offset`` and ``None`` (zero) elsewhere."""
    out = [None] * count
    for argnum, g in zip(argnums, gs):
        if 0 <= argnum - offset < count:
            out[argnum - offset] = g
    return out


def _sequence_vjp(argnums, ans, args, kwargs):
    spec, inputs, arrays = args[0], args[1], args[2:]
    needed = tuple(i - 1 for i in argnums)

    def vjp(g):
        if not _boxed(*args, g):
            grads, _ = spec.kernel.backward(spec, inputs, arrays, ans.residuals, tuple(g), needed, False, None)
            return tuple(grads[i] for i in needed)
        cotangents = tuple(g[k] for k in range(1 + spec.num_states))
        grads = fused_backward(spec, needed, getval(ans), inputs, *arrays, *cotangents)
        return tuple(grads[k] for k in range(len(needed)))

    return vjp


def _sequence_jvp(argnums, gs, ans, args, kwargs):
    spec, inputs, arrays = args[0], args[1], args[2:]
    if _boxed(*args, *gs):
        return _fallback(make_jvp, _reference, args, argnums, gs)
    tangents = _placed(1 + len(arrays), argnums, gs, 1)
    outputs, final, trajectory = spec.kernel.tangent(spec, inputs, arrays, ans.residuals, tangents)
    # forward over reverse differentiates the backward pass next, in the same direction: keep what it needs
    ans.tangent = (tangents, trajectory)
    return (outputs, *final)


def _backward_jvp(argnums, gs, ans, args, kwargs):
    spec, needed, run, inputs = args[:4]
    arrays, cotangents = _split(spec, args[4:])
    if _boxed(*args[3:], *gs):
        return _fallback(make_jvp, _reference_backward, args, argnums, gs)
    count = 1 + spec.num_arrays
    tangents = _placed(count, argnums, gs, 3)
    cotangent_tangents = _placed(len(cotangents), argnums, gs, 3 + count)
    grads = spec.kernel.second_order(
        spec,
        inputs,
        arrays,
        run.residuals,
        cotangents,
        ans.residuals,
        tangents,
        cotangent_tangents,
        needed,
        _trajectory(run, tangents),
    )
    return tuple(grads[i] for i in needed)


def _trajectory(run, tangents):
    """The forward's tangent trajectory that :func:`_sequence_jvp` kept on ``run``, if in the direction ``tangents``.

    The direction is the same when every tangent is the same object (forward
    over reverse hands the backward the very tangents the forward had);
    otherwise ``None``, and ``second_order`` computes it again.
    """
    kept, trajectory = getattr(run, "tangent", ((), None))
    if len(kept) == len(tangents) and all(a is b for a, b in zip(kept, tangents)):
        return trajectory
    return None


def _backward_vjp(argnums, ans, args, kwargs):
    spec, needed, run, inputs = args[:4]
    arrays, cotangents = _split(spec, args[4:])
    count = 1 + spec.num_arrays

    def vjp(u):
        if _boxed(*args[3:], u):
            return _fallback(make_vjp, _reference_backward, args, argnums, u)
        direction = _placed(count, [3 + i for i in needed], [u[k] for k in range(len(needed))], 3)
        out, trajectory = {}, None
        if argnums[-1] >= 3 + count:
            outputs, final, trajectory = spec.kernel.tangent(spec, inputs, arrays, run.residuals, direction)
            out.update((3 + count + k, t) for k, t in enumerate((outputs, *final)))
        primal = tuple(a - 3 for a in argnums if a - 3 < count)
        if primal:
            none = [None] * len(cotangents)
            grads = spec.kernel.second_order(
                spec, inputs, arrays, run.residuals, cotangents, ans.residuals, direction, none, primal, trajectory
            )
            out.update((3 + i, grads[i]) for i in primal)
        return tuple(out[a] for a in argnums)

    return vjp


defvjp_argnums(fused_sequence, _sequence_vjp)
defjvp_argnums(fused_sequence, _sequence_jvp)
defvjp_argnums(fused_backward, _backward_vjp)
defjvp_argnums(fused_backward, _backward_jvp)


# -- the exact fallback: autograd over the reference loop, on the same (boxed) values


def _reference(spec, inputs, *arrays):
    """What ``fused_sequence`` computes, as the traced reference loop."""

    n = spec.num_states
    params = dict(zip(spec.names, arrays[n:]))
    outputs, final = run_reference(spec.cell, params, inputs, tuple(arrays[:n]), spec.mask, spec.reverse)
    return traced_tuple((outputs, *final))


def _reference_backward(spec, needed, run, inputs, *rest):
    """What ``fused_backward`` computes, as autograd's VJP of the reference loop."""
    arrays, cotangents = _split(spec, rest)
    reference_vjp, _ = make_vjp(lambda values: _reference(spec, *values), traced_tuple((inputs, *arrays)))
    grads = reference_vjp(traced_tuple(tuple(cotangents)))
    return traced_tuple(tuple(grads[i] for i in needed))


def _fallback(derivative, function, args, argnums, direction):
    """autograd's ``make_jvp`` or ``make_vjp`` of ``function(*args)`` in the arguments at ``argnums``."""

    def partial(values):
        full = list(args)
        for k, argnum in enumerate(argnums):
            full[argnum] = values[k]
        return function(*full)

    values = traced_tuple(tuple(args[a] for a in argnums))
    if derivative is make_jvp:
        return make_jvp(partial, values)(traced_tuple(tuple(direction)))[1]
    return make_vjp(partial, values)[0](direction)


def make_kernel(primal, tangents):
    """The ``kernel(cell, params, inputs, state, mask, reverse)`` that :mod:`rnngrad.sequence` calls.

    ``primal`` is the module with ``forward`` and ``backward``, ``tangents``
    the one with ``tangent`` and ``second_order``.
    """
    name = primal.__name__.rsplit(".", 1)[-1]
    rules = Rules(name, primal.forward, primal.backward, tangents.tangent, tangents.second_order)

    def kernel(cell, params, inputs, state, mask, reverse):
        state = tuple(state)
        names = tuple(cell.param_shapes())
        arrays = state + tuple(params[name] for name in names)
        num_steps, batch = inputs.shape[:2]
        if num_steps == 0:
            return onp.zeros((0, batch, cell.output_size), dtype=inputs.dtype), state
        if mask is not None:
            mask = onp.asarray(mask, dtype=bool)
            if mask.all():
                mask = None  # every step valid: the unmasked loop computes the same function, faster
        spec = Spec(rules, cell, names, mask, bool(reverse))
        if not _boxed(inputs, *arrays):
            outputs, final, _ = primal.forward(spec, inputs, arrays, False)
            return outputs, tuple(final)
        run = fused_sequence(spec, inputs, *arrays)
        return run[0], tuple(run[i] for i in range(1, 1 + len(state)))

    kernel.__name__ = f"{name}_kernel"
    kernel.__doc__ = primal.__doc__
    return kernel
