r"""Probes: which units of a recurrent state track a property, and is that more than chance?

Given every step's state, ``states`` (T, B, S) (from :func:`rnngrad.trace.trace`),
and a binary property of every step, ``labels`` (T, B) (a flag such as "a
negation has been read"), :func:`probe` asks two questions on sequences it
did not fit on:

* does a linear read-out of the whole state predict the flag? A ridge
  regression on the standardized units, fitted on a training split of the
  sequences and scored (accuracy of its sign) on the others;
* does a single unit carry it? The unit whose correlation with the flag is
  largest in magnitude on the training split, with the threshold that
  separates the flag best there, scored on the held-out split.

Both accuracies come with a permutation baseline: the same fit and score
after the label sequences are shuffled among the sequences (each keeps its
temporal structure, only its pairing with the states is broken), repeated
``permutations`` times. The p-value :math:`(1 + \#\{\text{permuted} \ge
\text{observed}\}) / (1 + n)` says how often chance does as well; a flag unit
is one whose held-out accuracy is high and whose p-value is small. A
correlation alone, on the same steps it was chosen on, is never reported as
a flag: with many units one of them correlates by chance.
"""

from dataclasses import dataclass

import numpy as onp

from ._validation import check_positive_int
from .utilities import make_rng

__all__ = ["probe", "unit_correlations", "ProbeResult"]


def unit_correlations(states, labels, mask=None):
    """(S,) the Pearson correlation of each unit with ``labels`` over the valid steps (0 for a constant unit)."""
    features, targets, _ = _valid_rows(states, labels, mask)
    return _correlations(features, targets)


@dataclass(frozen=True)
class ProbeResult:
    """What :func:`probe` measured on the held-out sequences.

    Attributes:
        accuracy: the linear probe's held-out accuracy.
        permuted: (n,) its held-out accuracies with the labels permuted among sequences.
        p_value: how often a permutation did as well, :math:`(1 + k) / (1 + n)`.
        unit: the index of the best single unit (largest training correlation in magnitude).
        unit_accuracy: that unit's held-out accuracy with its training threshold.
        unit_permuted: (n,) the same for the best unit under each permutation.
        unit_p_value: how often a permutation's best unit did as well.
        correlations: (S,) each unit's correlation with the flag on the training split.
        chance: the held-out accuracy of always answering the training split's majority.
    """

    accuracy: float
    permuted: onp.ndarray
    p_value: float
    unit: int
    unit_accuracy: float
    unit_permuted: onp.ndarray
    unit_p_value: float
    correlations: onp.ndarray
    chance: float


def probe(states, labels, *, mask=None, train_fraction=0.5, permutations=100, seed=0, ridge=1e-3):
    """Fit and score a linear probe and a single-unit probe for a binary flag, against permuted labels.

    Args:
        states: (T, B, S) every step's state (time-major).
        labels: (T, B) the flag at every step (booleans or 0/1).
        mask: (T, B) the steps that count, or ``None`` for all.
        train_fraction: the share of the B sequences the probes are fitted on
            (the split is by sequence, so no sequence is both fitted and scored).
        permutations: how many label permutations the baseline takes.
        seed: an int or a Generator: the split and the permutations.
        ridge: the ridge penalty of the linear probe, on standardized units.

    Returns:
        a :class:`ProbeResult`.
    """
    states, labels, mask = _check(states, labels, mask)
    permutations = check_positive_int("permutations", permutations)
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction: expected a number in (0, 1), got {train_fraction!r}")
    rng = make_rng(seed)
    batch = states.shape[1]
    order = rng.permutation(batch)
    cut = int(round(train_fraction * batch))
    if cut < 1 or cut >= batch:
        raise ValueError(f"states: {batch} sequences cannot be split {train_fraction} / {1 - train_fraction}")
    train, test = order[:cut], order[cut:]

    def measure(flags):
        fit_x, fit_y, _ = _valid_rows(states[:, train], flags[:, train], mask[:, train])
        score_x, score_y, _ = _valid_rows(states[:, test], flags[:, test], mask[:, test])
        correlations = _correlations(fit_x, fit_y)
        unit = int(onp.argmax(onp.abs(correlations)))
        unit_accuracy = _threshold_accuracy(fit_x[:, unit], fit_y, score_x[:, unit], score_y)
        return _linear_accuracy(fit_x, fit_y, score_x, score_y, ridge), unit, unit_accuracy, correlations

    accuracy, unit, unit_accuracy, correlations = measure(labels)
    permuted, unit_permuted = [], []
    for _ in range(permutations):
        shuffled = labels[:, rng.permutation(batch)]
        linear, _, single, _ = measure(shuffled)
        permuted.append(linear)
        unit_permuted.append(single)
    permuted, unit_permuted = onp.array(permuted), onp.array(unit_permuted)
    _, fit_y, _ = _valid_rows(states[:, train], labels[:, train], mask[:, train])
    _, score_y, _ = _valid_rows(states[:, test], labels[:, test], mask[:, test])
    majority = fit_y.mean() >= 0.5
    return ProbeResult(
        accuracy=accuracy,
        permuted=permuted,
        p_value=float((1 + onp.sum(permuted >= accuracy)) / (1 + permutations)),
        unit=unit,
        unit_accuracy=unit_accuracy,
        unit_permuted=unit_permuted,
        unit_p_value=float((1 + onp.sum(unit_permuted >= unit_accuracy)) / (1 + permutations)),
        correlations=correlations,
        chance=float(onp.mean(score_y == majority)),
    )


def _check(states, labels, mask):
    states = onp.asarray(states, dtype=float)
    if states.ndim != 3:
        raise ValueError(f"states: expected an array (T, B, S), got shape {states.shape}")
    labels = onp.asarray(labels)
    if labels.shape != states.shape[:2]:
        raise ValueError(f"labels: expected shape {states.shape[:2]} (T, B), got {labels.shape}")
    if labels.dtype != bool and not onp.isin(labels, (0, 1)).all():
        raise ValueError("labels: expected booleans or 0/1 values")
    mask = onp.ones(labels.shape, bool) if mask is None else onp.asarray(mask)
    if mask.shape != labels.shape or mask.dtype != bool:
        raise ValueError(f"mask: expected a boolean array of shape {labels.shape}, got {mask.dtype} {mask.shape}")
    if not onp.isfinite(states[mask]).all():
        raise ValueError("states: expected finite values at the valid steps")
    return states, labels.astype(bool), mask


def _valid_rows(states, labels, mask):
    if mask is None:
        mask = onp.ones(onp.shape(labels), bool)
    states, labels, mask = onp.asarray(states, float), onp.asarray(labels, bool), onp.asarray(mask, bool)
    return states[mask], labels[mask], mask


def _correlations(features, targets):
    centred = features - features.mean(axis=0)
    target = targets - targets.mean()
    spread = onp.sqrt((centred**2).sum(axis=0) * (target**2).sum())
    with onp.errstate(invalid="ignore", divide="ignore"):
        return onp.where(spread > 0, centred.T @ target / onp.where(spread > 0, spread, 1.0), 0.0)


def _linear_accuracy(fit_x, fit_y, score_x, score_y, ridge):
    """Ridge regression of +-1 targets on standardized units (plus a constant), scored by its sign."""
    mean, scale = fit_x.mean(axis=0), fit_x.std(axis=0)
    scale = onp.where(scale > 0, scale, 1.0)

    def design(x):
        return onp.hstack([(x - mean) / scale, onp.ones((len(x), 1))])

    a = design(fit_x)
    penalty = ridge * len(a) * onp.eye(a.shape[1])
    penalty[-1, -1] = 0.0  # the constant is not shrunk
    weights = onp.linalg.solve(a.T @ a + penalty, a.T @ onp.where(fit_y, 1.0, -1.0))
    return float(onp.mean((design(score_x) @ weights > 0) == score_y))


def _threshold_accuracy(fit_x, fit_y, score_x, score_y):
    """The threshold (and direction) on one unit that classifies the training rows best, scored held out."""
    order = onp.argsort(fit_x, kind="stable")
    values, flags = fit_x[order], fit_y[order]
    # accuracy of "flag when above the cut" for a cut after each sorted position (and before the first)
    above_true = onp.concatenate([[flags.sum()], flags.sum() - onp.cumsum(flags)])
    below_false = onp.concatenate([[0], onp.cumsum(~flags)])
    correct_up = above_true + below_false
    correct_down = len(flags) - correct_up
    best = int(onp.argmax(onp.maximum(correct_up, correct_down)))
    upward = correct_up[best] >= correct_down[best]
    edges = onp.concatenate([[-onp.inf], values, [onp.inf]])
    cut = 0.5 * (edges[best] + edges[best + 1]) if onp.isfinite(edges[best]) else edges[best + 1] - 1.0
    predicted = score_x > cut if upward else score_x <= cut
    return float(onp.mean(predicted == score_y))
