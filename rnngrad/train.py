r"""Training: small functions around autograd's own optimizers.

autograd already has the optimizers (:func:`autograd.misc.optimizers.adam`,
``sgd``, ``rmsprop``, over any nested dict of arrays); this module adds what
they lack for recurrent networks, as functions that compose:

* :func:`clip_by_global_norm`: rescale a whole gradient so its norm is at most ``max_norm``;
* :func:`minibatches` and :func:`pad_sequences`: shuffled index batches with a
  seeded generator, and variable-length sequences padded to (T, B, ...) with their lengths;
* :func:`stream_batches` and :func:`truncated_bptt`: a long stream cut into
  chunks of ``num_steps``, the state carried from one chunk to the next but
  the gradient cut at each border;
* :func:`fit`: the loop: gradient (optionally clipped), optimizer step,
  periodic evaluation, early stopping that keeps the best parameters.

Everything random takes a seed or a :class:`numpy.random.Generator`, so a run
is reproducible: the same seed gives the same parameters bit for bit.
"""

import itertools
import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as onp
from autograd import value_and_grad
from autograd.misc import flatten
from autograd.misc.optimizers import adam, sgd
from autograd.tracer import getval

from ._validation import check_positive_int
from .hessian_free import HessianFree  # re-exported: fit takes one as its optimizer
from .utilities import make_rng

__all__ = [
    "global_norm",
    "clip_by_global_norm",
    "minibatches",
    "pad_sequences",
    "stream_batches",
    "stop_gradient",
    "truncated_bptt",
    "fit",
    "FitResult",
    "HessianFree",
]

OPTIMIZERS = {"adam": adam, "sgd": sgd}


def global_norm(tree):
    r"""The Euclidean norm of every array in a nested dict/list/tuple taken together, :math:`\sqrt{\sum \|g\|^2}`."""
    flat, _ = flatten(tree)
    # scaled by the largest entry and in float64, so that no square overflows (float32 norms up to
    # the float32 maximum, float64 ones above 1e154) and none underflows to a zero norm
    largest = float(onp.max(onp.abs(flat), initial=0.0))
    if largest == 0.0 or not math.isfinite(largest):
        return largest  # no entries or all zero; inf; NaN (the maximum propagates it)
    return largest * float(onp.sqrt(onp.sum(onp.square(flat.astype(onp.float64) / largest))))


def clip_by_global_norm(tree, max_norm):
    r"""Rescale ``tree`` by :math:`\min(1, \text{max\_norm} / \|g\|)` (Pascanu et al. 2013).

    The direction of the whole gradient is kept; only its length is capped,
    which tames the occasional exploding gradient of a recurrent network.

    Returns:
        ``(clipped, norm)``: the tree of the same structure and the norm before clipping.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or not max_norm > 0:
        raise ValueError(f"max_norm: expected a number > 0, got {max_norm!r}")
    flat, unflatten = flatten(tree)
    norm = global_norm(flat)
    if not math.isfinite(norm) or norm <= max_norm:
        return tree, norm
    # the factor in float64: max_norm / norm underflows nowhere a float32 gradient can reach
    return unflatten((flat.astype(onp.float64) * (max_norm / norm)).astype(flat.dtype, copy=False)), norm


def minibatches(num_examples, batch_size, seed=None, *, shuffle=True, drop_last=False):
    """Yield index arrays covering ``range(num_examples)`` once (one epoch), in batches.

    Args:
        num_examples: how many examples there are.
        batch_size: the batch size B; the last batch is smaller unless ``drop_last``.
        seed: int, Generator or ``None``; draws the permutation when ``shuffle``.
    """
    num_examples = check_positive_int("num_examples", num_examples, minimum=0)
    batch_size = check_positive_int("batch_size", batch_size)
    order = make_rng(seed).permutation(num_examples) if shuffle else onp.arange(num_examples)
    stop = num_examples - num_examples % batch_size if drop_last else num_examples
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


def pad_sequences(sequences, *, pad_value=0, dtype=None):
    """Stack variable-length sequences time-major, padded at the end.

    Args:
        sequences: B arrays, each (T_b,) or (T_b, ...) with the same trailing shape.
        pad_value: the value of padded steps (masked anyway by ``lengths``).
        dtype: of the result; the sequences' common dtype if ``None``.

    Returns:
        ``(padded, lengths)``: padded (T, B, ...) with T = max T_b (at least
        1), lengths (B,) int64: exactly what the models take.
    """
    arrays = [onp.asarray(sequence) for sequence in sequences]
    if not arrays:
        raise ValueError("sequences: expected at least one sequence, got none")
    trailing = {array.shape[1:] for array in arrays}
    if len(trailing) != 1 or any(array.ndim == 0 for array in arrays):
        raise ValueError(
            f"sequences: expected arrays (T_b, ...) with one trailing shape, got shapes {sorted(trailing)}"
        )
    lengths = onp.array([len(array) for array in arrays], dtype=onp.int64)
    dtype = onp.result_type(*arrays) if dtype is None else dtype
    padded = onp.full((max(1, lengths.max()), len(arrays)) + arrays[0].shape[1:], pad_value, dtype=dtype)
    for b, array in enumerate(arrays):
        padded[: len(array), b] = array
    return padded, lengths


def stream_batches(stream, batch_size, num_steps):
    """Cut one long sequence into B parallel streams and chunks of ``num_steps`` (for language models).

    The stream ``s`` of length N is trimmed to a multiple of B and laid out as
    B contiguous rows, column ``b`` continuing row ``b`` from one chunk to the
    next, so the state after chunk ``k`` is the right start for chunk ``k + 1``.

    Returns:
        a list of ``(inputs, targets)`` pairs, each (T, B): ``targets`` is
        ``inputs`` shifted by one step (next-token prediction); the last
        chunk may be shorter.
    """
    stream = onp.asarray(stream)
    batch_size = check_positive_int("batch_size", batch_size)
    num_steps = check_positive_int("num_steps", num_steps)
    per_row = (len(stream) - 1) // batch_size
    if per_row < 1:
        raise ValueError(f"stream: expected at least batch_size + 1 = {batch_size + 1} tokens, got {len(stream)}")
    inputs = stream[: per_row * batch_size].reshape(batch_size, per_row).T
    targets = stream[1 : per_row * batch_size + 1].reshape(batch_size, per_row).T
    return [(inputs[t : t + num_steps], targets[t : t + num_steps]) for t in range(0, per_row, num_steps)]


def stop_gradient(tree):
    """The concrete values of a (possibly traced) nested state: no gradient flows back through them."""
    if isinstance(tree, (tuple, list)):
        return type(tree)(stop_gradient(part) for part in tree)
    return None if tree is None else onp.asarray(getval(tree))


def truncated_bptt(chunk_loss, chunks, initial_state=None):
    """Truncated backpropagation through time over ``chunks``, for :func:`fit`.

    ``chunk_loss(params, chunk, state) -> (loss, final_state)`` runs the model
    on one chunk from ``state``. The state after chunk ``k`` (its value, with
    the gradient cut: :func:`stop_gradient`) starts chunk ``k + 1``; the first
    chunk of every pass over ``chunks`` starts from ``initial_state``. So the
    forward computation sees the whole stream while each gradient reaches
    back at most one chunk.

    Returns:
        ``(loss_fn, batches)`` for :func:`fit`: an infinite iterator over the
        chunks and the matching ``loss_fn(params, batch)``.
    """
    chunks = list(chunks)
    if not chunks:
        raise ValueError("chunks: expected at least one chunk, got none")

    def batches():
        state = initial_state
        for index in itertools.cycle(range(len(chunks))):
            if index == 0:
                state = initial_state
            batch = CarriedChunk(chunks[index], state)
            yield batch
            if not batch.final_states:
                raise RuntimeError(
                    f"truncated_bptt: the loss of chunk {index} was never evaluated, so no state carries on"
                )
            state = batch.final_states[-1]

    def loss_fn(params, batch):
        loss, final_state = chunk_loss(params, batch.chunk, batch.state)
        batch.final_states.append(stop_gradient(final_state))
        return loss

    return loss_fn, batches()


@dataclass(frozen=True)
class CarriedChunk:
    """One batch of :func:`truncated_bptt`: a chunk and the state it starts from.

    The loss of a batch depends only on the parameters and the batch, never
    on what was evaluated before: evaluating it twice gives one value. Each
    evaluation appends the final state it reached (its value, the gradient
    cut) to ``final_states``; the next chunk starts from the last of them,
    the state under the parameters of the step that took this chunk.
    """

    chunk: object
    state: object
    final_states: list = field(default_factory=list, compare=False, repr=False)


class FitResult:
    """What :func:`fit` returns.

    Attributes:
        params: the best parameters by the validation metric (the last ones
            when there is no ``evaluate``).
        losses: the training loss of every step taken.
        evaluations: ``(step, metric)`` for every evaluation.
        evaluation_seconds: the wall time since the start at each evaluation.
        best_step, best_metric: where the kept parameters were evaluated.
        stopped_early: whether patience ran out before ``num_steps``.
        seconds: wall time of the loop.
    """

    def __init__(self, params, losses, evaluations, evaluation_seconds, best_step, best_metric, stopped_early, seconds):
        self.params = params
        self.losses = losses
        self.evaluations = evaluations
        self.evaluation_seconds = evaluation_seconds
        self.best_step = best_step
        self.best_metric = best_metric
        self.stopped_early = stopped_early
        self.seconds = seconds

    def __repr__(self):
        return (
            f"FitResult(steps={len(self.losses)}, best_step={self.best_step}, best_metric={self.best_metric}, "
            f"stopped_early={self.stopped_early}, seconds={self.seconds:.1f})"
        )


class _EarlyStopError(Exception):
    """Raised from the optimizer's callback to end training early."""


def fit(
    loss_fn,
    params,
    batches,
    *,
    num_steps,
    optimizer="adam",
    step_size=1e-3,
    max_grad_norm=None,
    evaluate=None,
    eval_every=100,
    patience=None,
    maximize=True,
    on_step=None,
    **optimizer_options,
):
    """Minimise ``loss_fn`` with one of autograd's optimizers.

    Each step draws the next batch, takes ``value_and_grad`` of
    ``loss_fn(params, batch)``, clips the gradient by its global norm when
    ``max_grad_norm`` is given, and lets the optimizer update the parameters.
    Every ``eval_every`` steps (and after the last) ``evaluate(params)`` gives
    a validation metric; the best parameters so far are kept, and when
    ``patience`` evaluations in a row do not improve on the best, training stops.

    Args:
        loss_fn: ``(params, batch) -> scalar``, differentiable by autograd.
        params: the initial parameters (nested dict of arrays).
        batches: an iterator of batches (it must not run out before ``num_steps``).
        num_steps: the number of optimizer steps.
        optimizer: ``"adam"`` or ``"sgd"`` (autograd's, with momentum), or a
            :class:`~rnngrad.hessian_free.HessianFree` instance: then its own
            ``predict`` and ``output_loss`` define the loss (``loss_fn`` is not
            called), a batch may be a :func:`~rnngrad.hessian_free.batch_pair`
            of a gradient and a curvature batch, and ``step_size``,
            ``max_grad_norm`` and ``optimizer_options`` do not apply.
        step_size: the learning rate.
        max_grad_norm: clip threshold, or ``None`` for no clipping.
        evaluate: ``params -> float`` (validation metric), or ``None``.
        eval_every: evaluation period in steps.
        patience: evaluations without improvement before stopping; ``None`` never stops early.
        maximize: whether a larger metric is better (accuracy) or smaller (loss).
        on_step: ``(step, loss, metric or None) -> None`` after every step (progress bars).
        **optimizer_options: passed to the optimizer (``b1``, ``mass``, ...).

    Returns:
        a :class:`FitResult`.
    """
    hessian_free = isinstance(optimizer, HessianFree)
    if not hessian_free and optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {sorted(OPTIMIZERS)} or a HessianFree, got {optimizer!r}")
    if hessian_free and (max_grad_norm is not None or optimizer_options):
        raise ValueError("optimizer: a HessianFree takes no max_grad_norm or optimizer options")
    num_steps = check_positive_int("num_steps", num_steps)
    eval_every = check_positive_int("eval_every", eval_every)
    if patience is not None:
        patience = check_positive_int("patience", patience)
    if max_grad_norm is not None and not max_grad_norm > 0:
        raise ValueError(f"max_grad_norm: expected a number > 0 or None, got {max_grad_norm!r}")
    batches = iter(batches)
    loss_and_grad = value_and_grad(loss_fn)
    losses, evaluations, evaluation_seconds = [], [], []
    best = {"params": params, "metric": None, "step": 0, "waited": 0}

    def draw(step):
        try:
            return next(batches)
        except StopIteration:
            raise ValueError(f"batches: ran out after {step} batches, but num_steps={num_steps}") from None

    def gradient(current, step):
        loss, grads = loss_and_grad(current, draw(step))
        losses.append(float(loss))
        if max_grad_norm is not None:
            grads, _ = clip_by_global_norm(grads, max_grad_norm)
        return grads

    def consider(current, step):
        metric = float(evaluate(current))
        evaluations.append((step, metric))
        evaluation_seconds.append(time.perf_counter() - start)
        better = best["metric"] is None or (metric > best["metric"] if maximize else metric < best["metric"])
        if better:
            best.update(params=_copy(current), metric=metric, step=step, waited=0)
        else:
            best["waited"] += 1
        return metric

    def callback(current, step, _grads):
        # The optimizer calls back with the parameters the gradient of step
        # `step` was taken at, i.e. after `step` updates.
        metric = None
        if evaluate is not None and step > 0 and step % eval_every == 0:
            metric = consider(current, step)
            if patience is not None and best["waited"] >= patience:
                raise _EarlyStopError
        if on_step is not None:
            on_step(step, losses[-1], metric)

    start = time.perf_counter()
    stopped_early = False

    def after_hessian_free_step(current, step, info):
        # HessianFree calls back after its step; the last evaluation is fit's own, below.
        losses.append(info.loss)
        if step + 1 < num_steps:
            callback(current, step + 1, None)
        elif on_step is not None:
            on_step(step + 1, info.loss, None)

    try:
        if hessian_free:
            final = optimizer.optimize(draw, params, after_hessian_free_step, num_iters=num_steps)
        else:
            final = OPTIMIZERS[optimizer](
                gradient, params, callback, num_iters=num_steps, step_size=step_size, **optimizer_options
            )
    except _EarlyStopError:
        stopped_early = True
        final = best["params"]
    if not stopped_early and evaluate is not None:
        consider(final, num_steps)
    seconds = time.perf_counter() - start
    kept = final if evaluate is None else best["params"]
    return FitResult(
        kept, losses, evaluations, evaluation_seconds, best["step"], best["metric"], stopped_early, seconds
    )


def _copy(tree):
    if isinstance(tree, dict):
        return {key: _copy(value) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_copy(value) for value in tree)
    return onp.array(tree)
