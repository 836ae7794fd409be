# long: Martens' method in one place (CG, the Gauss-Newton product, the damping rule, the step), math in docstrings.
r"""Hessian-free optimization: truncated conjugate gradient on a damped Gauss-Newton matrix.

Martens (ICML 2010, "Deep learning via Hessian-free optimization") minimises
a loss :math:`f(\theta)` by repeatedly minimising its local quadratic model

.. math::

    q_\theta(p) = f(\theta) + \nabla f(\theta)^\top p
        + \tfrac12\, p^\top \bigl(G + \lambda I + \lambda\mu\, S\bigr)\, p

with a few dozen steps of conjugate gradient (CG), which needs only products
of the curvature matrix with vectors, never the matrix. Martens and Sutskever
(ICML 2011, "Learning recurrent neural networks with Hessian-free
optimization") made it train plain tanh RNNs on problems with dependencies
over a hundred steps and more, which first-order methods leave at the
trivial solution.

The pieces, each a function or a small class of this module:

* :math:`G = J^\top H_L J` is the generalised Gauss-Newton matrix (Schraudolph
  2002) of the loss split as :math:`f(\theta) = L(z(\theta))`, with
  :math:`z` the network's outputs (before a matching nonlinearity: linear
  outputs for squared error, logits for cross-entropy) and :math:`L` convex
  in :math:`z`. It is positive semi-definite, so CG's quadratic is bounded
  below. :func:`gauss_newton_product` builds :math:`v \mapsto Gv` from
  autograd's two modes: :math:`Jv` forward, :math:`H_L u` on the (small)
  outputs, :math:`J^\top w` reverse through the network traced once per batch.
* :math:`\lambda` is Tikhonov damping, adapted by the Levenberg-Marquardt rule
  from the reduction ratio :math:`\rho = (f(\theta + p) - f(\theta)) / (q(p) - q(0))`:
  :math:`\lambda \leftarrow \tfrac32 \lambda` when :math:`\rho < \tfrac14` (the
  model promised more than the loss gave), :math:`\lambda \leftarrow \tfrac23 \lambda`
  when :math:`\rho > \tfrac34` (:func:`adapt_damping`).
* :math:`S = J_h^\top J_h` is *structural damping* (Martens and Sutskever
  2011, section 3): the Gauss-Newton matrix of the penalty
  :math:`\tfrac12 \|h(\theta) - h(\theta_k)\|^2` on the hidden states
  :math:`h`, scaled by :math:`\lambda\mu`. It stops a step from changing the
  hidden states much even where that barely moves the outputs, the changes
  a recurrent network's long chains of steps amplify beyond what the
  quadratic model sees. The paper penalises the matching loss of the tanh
  units (a divergence on their pre-activations); squared distance on the
  states is the simplest penalty with the same purpose, and what this module uses.
* :func:`conjugate_gradient` runs CG from the previous step's solution
  decayed by ``cg_decay`` (Martens 2010, section 4.5), stops by Martens'
  relative-progress rule (section 4.4) or at ``max_cg_iterations``, and keeps
  the iterates at :math:`\lceil 1.3^j \rceil` for backtracking (section 4.6):
  the step is the last kept iterate unless an earlier one has a lower loss.
* A backtracking line search on the chosen step (Armijo's condition with
  :math:`c = 10^{-2}`, the step shrunk by 0.8; Martens and Sutskever 2012,
  "Training deep and recurrent networks with Hessian-free optimization", section 8.8).
* The gradient is taken on a minibatch and the curvature on a smaller one
  (Martens 2010, section 4.3), both drawn anew at every step.

:class:`HessianFree` puts them together; :meth:`HessianFree.step` takes one
step and :meth:`HessianFree.optimize` runs the loop (it is what
:func:`rnngrad.train.fit` calls when given a :class:`HessianFree` as
``optimizer``). Martens' diagonal preconditioner is not implemented: it needs
per-example gradients, which cost a gradient per example here.
"""

import math
import time

import autograd.numpy as np
import numpy as onp
from autograd import grad, value_and_grad
from autograd.builtins import tuple as traced_tuple
from autograd.core import make_jvp, make_vjp
from autograd.misc import flatten

from . import nn
from ._validation import check_positive_int, check_real

__all__ = [
    "CGResult",
    "HessianFree",
    "StepInfo",
    "adapt_damping",
    "batch_pair",
    "conjugate_gradient",
    "gauss_newton_product",
    "recurrent_predict",
]

#: Martens' (2010) factors for the Levenberg-Marquardt rule: the thresholds on rho and the multipliers.
LM_THRESHOLDS = (0.25, 0.75)
LM_FACTORS = (1.5, 2.0 / 3.0)


def adapt_damping(damping, rho):
    r"""The Levenberg-Marquardt rule: the next damping from the reduction ratio ``rho``.

    :math:`\rho < 1/4` (the quadratic model overestimated the decrease, or
    the loss rose: trust it less) multiplies :math:`\lambda` by 3/2;
    :math:`\rho > 3/4` (the model was accurate: trust it more) multiplies it
    by 2/3; otherwise :math:`\lambda` stays (Martens 2010, section 4.1). A
    NaN ``rho`` (a non-finite loss after the step) counts as a failure.
    """
    damping = check_real("damping", damping, low=0.0, low_open=True)
    if math.isnan(rho) or rho < LM_THRESHOLDS[0]:
        return damping * LM_FACTORS[0]
    if rho > LM_THRESHOLDS[1]:
        return damping * LM_FACTORS[1]
    return damping


class CGResult:
    """What :func:`conjugate_gradient` returns.

    Attributes:
        iterations: the iteration numbers of the kept iterates, increasing (0 is the start).
        iterates: the kept iterates :math:`x_i`, flat arrays.
        values: :math:`q(x_i) = \\tfrac12 x_i^\\top A x_i - b^\\top x_i` at each kept iterate.
        num_iterations: the number of CG iterations run (matrix-vector products after the first).
        x: the last iterate (also the last kept one).
    """

    def __init__(self, iterations, iterates, values, num_iterations):
        self.iterations = iterations
        self.iterates = iterates
        self.values = values
        self.num_iterations = num_iterations
        self.x = iterates[-1]

    def __repr__(self):
        return f"CGResult(num_iterations={self.num_iterations}, q={self.values[-1]:.6g})"


def conjugate_gradient(
    matvec, b, x0=None, *, max_iterations, tolerance=5e-4, min_iterations=10, keep_ratio=1.3, rtol=1e-12
):
    r"""Minimise :math:`q(x) = \tfrac12 x^\top A x - b^\top x` (solve :math:`Ax = b`) by conjugate gradient.

    ``A`` is symmetric positive definite and known only through ``matvec``.
    In exact arithmetic CG reaches the minimiser in at most ``n`` iterations on
    ``n`` dimensions (Hestenes and Stiefel 1952); Hessian-free optimisation
    stops it much earlier, when Martens' (2010, section 4.4) relative-progress
    criterion finds the quadratic no longer falling: at iteration :math:`i`,
    with :math:`k = \max(\text{min\_iterations}, \lceil i / 10 \rceil)`, stop when
    :math:`i > k`, :math:`q(x_i) < 0` and
    :math:`(q(x_i) - q(x_{i-k})) / q(x_i) < k \cdot \text{tolerance}`.
    CG also stops when the residual :math:`\|b - Ax\|` falls below ``rtol``
    times :math:`\|b\|` (solved), and at ``max_iterations``.

    Args:
        matvec: ``v -> A v`` on flat arrays.
        b: the right-hand side (flat array).
        x0: the starting point (zeros when ``None``).
        max_iterations: the most iterations (matrix-vector products after the first).
        tolerance: Martens' :math:`\epsilon`; 0 turns the relative-progress criterion off.
        min_iterations: the smallest window :math:`k` of that criterion.
        keep_ratio: iterates are kept at iterations :math:`\lceil \gamma^j \rceil`
            (and the start and the last), for backtracking; :math:`\gamma` > 1.
        rtol: relative residual at which the system counts as solved.

    Returns:
        a :class:`CGResult`.
    """
    max_iterations = check_positive_int("max_iterations", max_iterations, minimum=0)
    tolerance = check_real("tolerance", tolerance, low=0.0)
    min_iterations = check_positive_int("min_iterations", min_iterations)
    keep_ratio = check_real("keep_ratio", keep_ratio, low=1.0, low_open=True)
    b = onp.asarray(b, dtype=onp.float64).ravel()
    x = onp.zeros_like(b) if x0 is None else onp.array(x0, dtype=onp.float64).ravel()
    if x.shape != b.shape:
        raise ValueError(f"x0: expected shape {b.shape} (that of b), got {x.shape}")
    keep_at, j = set(), 0
    while math.ceil(keep_ratio**j) <= max_iterations:
        keep_at.add(math.ceil(keep_ratio**j))
        j += 1

    r = b - matvec(x) if x0 is not None else b.copy()
    d = r.copy()
    rr = float(r @ r)
    # q(x) = 1/2 x'Ax - b'x = -1/2 x'(b + r), with r = b - Ax: no extra product.
    q = -0.5 * float(x @ (b + r))
    history = [q]
    iterations, iterates, values = [0], [x.copy()], [q]
    b_norm = float(onp.sqrt(b @ b))
    i = 0
    while i < max_iterations and math.sqrt(rr) > rtol * b_norm:
        Ad = matvec(d)
        curvature = float(d @ Ad)
        if not curvature > 0:
            # A is not positive definite along d (or NaN): stop with what there is.
            break
        alpha = rr / curvature
        x = x + alpha * d
        r = r - alpha * Ad
        rr_new = float(r @ r)
        d = r + (rr_new / rr) * d
        rr = rr_new
        i += 1
        q = -0.5 * float(x @ (b + r))
        history.append(q)
        if i in keep_at:
            iterations.append(i)
            iterates.append(x.copy())
            values.append(q)
        k = max(min_iterations, math.ceil(i / 10))
        if tolerance > 0 and i > k and q < 0 and (q - history[i - k]) / q < k * tolerance:
            break
    if iterations[-1] != i:
        iterations.append(i)
        iterates.append(x.copy())
        values.append(q)
    return CGResult(iterations, iterates, values, i)


def gauss_newton_product(predict, output_loss, params, batch, *, structural_weight=0.0):
    r"""The Gauss-Newton matrix at ``params`` on ``batch``, as a product :math:`v \mapsto Gv`.

    The loss is split as :math:`f(\theta) = L(z(\theta))` with
    ``predict(params, batch) -> z`` (any autograd container: an array, or a
    tuple ``(outputs, hidden)`` when ``structural_weight`` > 0) and
    ``output_loss(z_out, batch) -> scalar`` convex in the network's outputs
    ``z_out``. Then

    .. math::

        G v = J_z^\top H_L J_z v + w\, J_h^\top J_h v,

    :math:`J_z, J_h` the Jacobians of the outputs and of the hidden states,
    :math:`H_L` the Hessian of ``output_loss`` in the outputs and :math:`w` =
    ``structural_weight`` (the product :math:`\lambda\mu` of structural
    damping; with :math:`w = 0`, ``predict`` returns the outputs alone).

    ``predict`` is traced once here; each product then costs one forward-mode
    pass (:math:`Jv`, autograd's ``make_jvp``), a Hessian-vector product of
    the loss on the outputs (cheap: no network in it) and one reverse pass
    over the stored trace (:math:`J^\top u`, the kernels' own backward).
    The forward-mode pass costs what the network's forward-mode rules cost.
    With the fused kernels' rules (see :mod:`rnngrad.curvature`) a product
    costs about three gradients (measured: 73 ms against a 23-27 ms
    gradient, tanh RNN, T = 100, B = 100, H = 32, one thread); through the
    traced reference loop (a cell without a kernel, or rnngrad before those
    rules) about twelve (369 ms against 31 ms).

    Returns:
        ``(product, unflatten)``: ``product`` maps a flat vector (the layout of
        :func:`autograd.misc.flatten` of ``params``) to a flat vector, and
        ``unflatten`` turns a flat vector back into the nested ``params`` structure.
    """
    structural_weight = check_real("structural_weight", structural_weight, low=0.0)
    flat, unflatten = flatten(params)

    def predict_flat(vector):
        z = predict(unflatten(vector), batch)
        # autograd traces a tuple only when it is built as one of its own containers
        return traced_tuple(tuple(z)) if isinstance(z, tuple) else z

    vjp, z = make_vjp(predict_flat, flat)
    if structural_weight > 0:
        if not (isinstance(z, tuple) and len(z) == 2):
            raise ValueError("predict: with structural damping it must return (outputs, hidden), got one value")
        outputs = z[0]
    else:
        outputs = z

    loss_gradient = grad(lambda out: output_loss(out, batch))
    loss_hvp = make_jvp(loss_gradient, outputs)

    def product(v):
        _, tangent = make_jvp(predict_flat, flat)(onp.asarray(v, dtype=flat.dtype))
        if structural_weight > 0:
            _, hessian_times = loss_hvp(tangent[0])
            return vjp((hessian_times, structural_weight * tangent[1]))
        _, hessian_times = loss_hvp(tangent)
        return vjp(hessian_times)

    return product, unflatten


class StepInfo:
    """What one :meth:`HessianFree.step` did.

    Attributes:
        loss: the loss on the gradient batch before the step.
        new_loss: the loss on the gradient batch after the step.
        cg_iterations: CG iterations run.
        chosen_iteration: the CG iteration whose iterate was taken (backtracking).
        step_size: the line search's factor (0 when no step was taken).
        rho: the reduction ratio of the chosen iterate (before the line search).
        damping: the damping :math:`\\lambda` used in this step (the next one is ``HessianFree.damping``).
        seconds: wall time of the step.
    """

    def __init__(self, loss, new_loss, cg_iterations, chosen_iteration, step_size, rho, damping, seconds):
        self.loss = loss
        self.new_loss = new_loss
        self.cg_iterations = cg_iterations
        self.chosen_iteration = chosen_iteration
        self.step_size = step_size
        self.rho = rho
        self.damping = damping
        self.seconds = seconds

    def __repr__(self):
        return (
            f"StepInfo(loss={self.loss:.6g}, new_loss={self.new_loss:.6g}, cg={self.cg_iterations}, "
            f"chosen={self.chosen_iteration}, step={self.step_size:.3g}, rho={self.rho:.3g}, "
            f"damping={self.damping:.3g})"
        )


class HessianFree:
    r"""Martens' Hessian-free optimizer with Martens and Sutskever's structural damping.

    The loss of a batch is ``output_loss(outputs, batch)`` with ``outputs``
    what ``predict(params, batch)`` returns (with ``structural_damping`` > 0,
    ``predict`` returns ``(outputs, hidden)`` and the hidden states, any
    array, enter only the damping). ``output_loss`` must be convex in the
    outputs (squared error on linear outputs, cross-entropy on logits) for
    the Gauss-Newton matrix to be positive semi-definite.

    Each :meth:`step`:

    1. loss and gradient on the gradient batch;
    2. the product :math:`v \mapsto (G + \lambda\mu S + \lambda I) v` on the curvature batch;
    3. CG from ``cg_decay`` times the previous CG solution, for at most ``max_cg_iterations``;
    4. backtracking: from the last kept iterate towards the first, while the
       previous one has a lower loss on the gradient batch, take it;
    5. the reduction ratio :math:`\rho` of the chosen iterate adapts :math:`\lambda`;
    6. the line search scales the step until Armijo's condition holds (at most
       ``max_line_search`` tries; if none holds, no step is taken).

    Args:
        predict: ``(params, batch) -> outputs`` or ``-> (outputs, hidden)``.
        output_loss: ``(outputs, batch) -> scalar``, convex in ``outputs``.
        damping: the initial :math:`\lambda` (> 0).
        structural_damping: :math:`\mu`, the weight of the hidden-state penalty
            relative to :math:`\lambda`; 0 turns it off (benchmarks/hessian_free.py uses 1/30).
        max_cg_iterations: the most CG iterations per step (Martens: 250).
        cg_decay: the factor on the previous solution that starts CG (Martens: 0.95).
        cg_tolerance: Martens' relative-progress :math:`\epsilon` (5e-4).
        backtracking: whether to backtrack over CG iterates.
        line_search: whether to run the line search (otherwise the step is taken whole).
        max_line_search: the most step sizes the line search tries (each 0.8 of the last).
        adapt: whether to adapt :math:`\lambda` (Levenberg-Marquardt); off keeps it fixed.
        min_damping: a floor for :math:`\lambda`.
    """

    def __init__(
        self,
        predict,
        output_loss,
        *,
        damping=1.0,
        structural_damping=0.0,
        max_cg_iterations=250,
        cg_decay=0.95,
        cg_tolerance=5e-4,
        backtracking=True,
        line_search=True,
        max_line_search=20,
        adapt=True,
        min_damping=1e-8,
    ):
        if not callable(predict):
            raise TypeError(f"predict: expected a callable (params, batch) -> outputs, got {type(predict).__name__}")
        if not callable(output_loss):
            raise TypeError(
                f"output_loss: expected a callable (outputs, batch) -> scalar, got {type(output_loss).__name__}"
            )
        self.predict = predict
        self.output_loss = output_loss
        self.damping = check_real("damping", damping, low=0.0, low_open=True)
        self.structural_damping = check_real("structural_damping", structural_damping, low=0.0)
        self.max_cg_iterations = check_positive_int("max_cg_iterations", max_cg_iterations)
        self.cg_decay = check_real("cg_decay", cg_decay, low=0.0, high=1.0)
        self.cg_tolerance = check_real("cg_tolerance", cg_tolerance, low=0.0)
        self.backtracking = bool(backtracking)
        self.line_search = bool(line_search)
        self.max_line_search = check_positive_int("max_line_search", max_line_search)
        self.adapt = bool(adapt)
        self.min_damping = check_real("min_damping", min_damping, low=0.0)
        self.previous = None
        #: The :class:`StepInfo` of the last step (``None`` before the first): what a progress bar shows.
        self.last_info = None

    def loss(self, params, batch):
        """The loss of ``params`` on ``batch``: ``output_loss`` of the outputs of ``predict``."""
        z = self.predict(params, batch)
        return self.output_loss(z[0] if self.structural_damping > 0 else z, batch)

    def step(self, params, batch, curvature_batch=None):
        """One Hessian-free step from ``params``.

        Args:
            params: nested dict (or list/tuple) of arrays.
            batch: the gradient batch (any object ``predict`` and ``output_loss`` take).
            curvature_batch: the batch of the Gauss-Newton products; ``batch`` when ``None``.

        Returns:
            ``(new_params, info)``: the parameters after the step (same
            structure) and a :class:`StepInfo`.
        """
        start = time.perf_counter()
        flat, unflatten = flatten(params)
        curvature_batch = batch if curvature_batch is None else curvature_batch

        def loss_of(vector):
            return self.loss(unflatten(vector), batch)

        def value(vector):
            result = float(loss_of(vector))
            return result if math.isfinite(result) else math.inf

        loss, gradient = value_and_grad(loss_of)(flat)
        loss = float(loss)
        damping = self.damping
        product, _ = gauss_newton_product(
            self.predict,
            self.output_loss,
            params,
            curvature_batch,
            structural_weight=damping * self.structural_damping,
        )

        def damped(v):
            return product(v) + damping * v

        x0 = None
        if self.previous is not None and self.previous.shape == flat.shape and self.cg_decay > 0:
            x0 = self.cg_decay * self.previous
        cg = conjugate_gradient(
            damped, -gradient, x0, max_iterations=self.max_cg_iterations, tolerance=self.cg_tolerance
        )
        self.previous = cg.x

        # Backtracking (Martens 2010, section 4.6): walk back while an earlier kept iterate is better.
        index = len(cg.iterates) - 1
        chosen_loss = value(flat + cg.iterates[index])
        if self.backtracking:
            while index > 1:
                earlier = value(flat + cg.iterates[index - 1])
                if not earlier < chosen_loss:
                    break
                index, chosen_loss = index - 1, earlier
        p = cg.iterates[index]
        predicted = cg.values[index]  # q(p) - q(0) of the damped quadratic
        rho = (chosen_loss - loss) / predicted if predicted < 0 else -math.inf
        if self.adapt:
            self.damping = max(self.min_damping, adapt_damping(damping, rho))

        step_size, new_loss = 1.0, chosen_loss
        slope = float(gradient @ p)
        if not slope < 0:
            # not a descent direction (CG from a stale start, or a wrong curvature product):
            # Armijo's condition would accept a rise of the loss, so no step is taken
            step_size, new_loss = 0.0, loss
        elif self.line_search:
            for _ in range(self.max_line_search):
                if new_loss <= loss + 1e-2 * step_size * slope:
                    break
                step_size *= 0.8
                new_loss = value(flat + step_size * p)
            else:
                step_size, new_loss = 0.0, loss
        elif not math.isfinite(new_loss):
            step_size, new_loss = 0.0, loss
        new_params = unflatten(flat + step_size * p) if step_size > 0 else params
        info = StepInfo(
            loss, new_loss, cg.num_iterations, cg.iterations[index], step_size, rho, damping,
            time.perf_counter() - start,
        )  # fmt: skip
        self.last_info = info
        return new_params, info

    def optimize(self, draw, params, callback=None, *, num_iters):
        """Run ``num_iters`` steps.

        Args:
            draw: ``step -> batch`` or ``step -> (batch, curvature_batch)``: the
                minibatches of step ``step`` (0-based).
            params: the initial parameters.
            callback: ``(params, step, info) -> None`` after every step, with
                the parameters after ``step + 1`` steps and its :class:`StepInfo`.
            num_iters: the number of steps.

        Returns:
            the parameters after the last step.
        """
        num_iters = check_positive_int("num_iters", num_iters)
        for step in range(num_iters):
            drawn = draw(step)
            batch, curvature_batch = drawn if isinstance(drawn, _BatchPair) else (drawn, None)
            params, info = self.step(params, batch, curvature_batch)
            if callback is not None:
                callback(params, step, info)
        return params


class _BatchPair(tuple):
    """A gradient batch and a curvature batch, told apart from a batch that is itself a tuple."""


def batch_pair(batch, curvature_batch):
    """Mark ``(batch, curvature_batch)`` for :meth:`HessianFree.optimize`, whose batches may themselves be tuples."""
    return _BatchPair((batch, curvature_batch))


def recurrent_predict(net, *, hidden=True):
    """``predict`` for :class:`HessianFree` from a :class:`rnngrad.RecurrentNet` and ``(x, y)`` batches.

    Returns ``predict(params, batch) -> (outputs, states)``, ``states`` the
    core's output sequence (T, B, H): the hidden states of the last layer,
    which structural damping holds in place; with ``hidden=False``,
    ``predict`` returns the outputs alone.
    """
    if not callable(net) or not hasattr(net, "core"):
        raise TypeError(f"net: expected an rnngrad.RecurrentNet, got {type(net).__name__}")

    def predict(params, batch):
        x = batch[0]
        if net.vocab_size is not None:
            x = nn.embedding(params["embedding"], x)
        states, final = net.core(params["rnn"], x)
        if net.readout == "steps":
            features = states
        else:
            # RecurrentNet's "final" readout: each direction's state after its last step
            h_n = final[0] if isinstance(final, tuple) else final
            last_layer = h_n[-net.core.num_directions :]
            features = np.concatenate([last_layer[d] for d in range(net.core.num_directions)], axis=-1)
        outputs = nn.linear(params["readout"], features)
        return (outputs, states) if hidden else outputs

    return predict
