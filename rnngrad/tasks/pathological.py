r"""The pathological long-range problems of Hochreiter and Schmidhuber (1997), as Martens and Sutskever (2011) ran them.

Martens and Sutskever ("Learning recurrent neural networks with
Hessian-free optimization", ICML 2011, section 5 and the supplementary
material's section 2) trained tanh RNNs on these problems, built so that the
answer depends on a few inputs far back in a sequence of distractors; a
network that has not learned the long-range dependency stays at a trivial
baseline. Every sequence here has exactly T steps (``length``), time-major;
the original generators draw each sequence's length from a range, which adds
nothing to the long range and a mask to every loss.

======================  =====================================================  =================  ===========
problem                 input x (T, B, D) -> target y                          output, loss       baseline
======================  =====================================================  =================  ===========
``adding``              (value, marker); the sum of the two marked values      linear, MSE        MSE 1/6
``multiplication``      (value, marker); the product of the two marked values  linear, MSE        MSE 7/144
``xor``                 (bit, marker); the XOR of the two marked bits          logistic, CE       error 1/2
``temporal_order``      one-hot of 8 symbols; X or Y, first and second         softmax (4), CE    error 3/4
``temporal_order_3``    the same with three special symbols                    softmax (8), CE    error 7/8
``random_permutation``  one-hot of 100 symbols; the next one at every step     softmax (100), CE  error 1/2
``memorization``        5 bits, blanks, a trigger; the bits again at the end   softmax (3), CE    error 31/32
======================  =====================================================  =================  ===========

The marked positions follow the paper: for ``multiplication`` and ``xor``
the first marker falls in the first tenth of the sequence and the second
before the middle (``adding`` keeps :mod:`rnngrad.tasks.adding`'s halves).
The error of a problem is the fraction of test sequences answered wrongly
(``random_permutation``: the last step's symbol; ``memorization``: any of
the recalled bits); the regression problems are measured by their mean
squared error. A problem counts as *solved* when the metric falls below
:attr:`Problem.threshold`: an error rate under 1 %, or an MSE under 6 % of
the baseline (for ``adding``, the 0.01 of rnngrad's target).
"""

import math

import autograd.numpy as np
import numpy as onp

from .. import nn
from .._validation import check_choice, check_positive_int
from ..utilities import make_rng
from . import adding

__all__ = [
    "PROBLEMS",
    "Problem",
    "get",
    "generate_multiplication",
    "generate_xor",
    "generate_temporal_order",
    "generate_random_permutation",
    "generate_memorization",
]

#: Symbols of the temporal order problems: four distractors, the two special ones, the end and start markers.
DISTRACTORS, X, Y, END, START = 4, 4, 5, 6, 7
#: The random permutation problem's alphabet (symbols 0 and 1 are the ones to remember).
PERMUTATION_SYMBOLS = 100


def _check_length(length, minimum):
    return check_positive_int("length", length, minimum=minimum)


def _marked_pairs(rng, length, batch_size, values):
    """(T, B, 2) inputs (value, marker) with two markers: one in [0, T/10), one in [T/10, T/2)."""
    tenth = max(1, math.ceil(length / 10))
    half = max(tenth + 1, math.ceil(length / 2))
    first = rng.integers(0, tenth, size=batch_size)
    second = rng.integers(tenth, half, size=batch_size)
    columns = onp.arange(batch_size)
    markers = onp.zeros((length, batch_size))
    markers[first, columns] = 1.0
    markers[second, columns] = 1.0
    return onp.stack([values, markers], axis=-1), values[first, columns], values[second, columns]


def generate_multiplication(batch_size, length, seed=None):
    """The multiplication problem: values U(0, 1), the target the product of the two marked ones.

    Returns:
        ``(x, y)``: x (T, B, 2) float64 (value, marker), y (B, 1) float64.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = _check_length(length, 3)
    rng = make_rng(seed)
    x, a, b = _marked_pairs(rng, length, batch_size, rng.random((length, batch_size)))
    return x, (a * b)[:, None]


def generate_xor(batch_size, length, seed=None):
    """The XOR problem: random bits, the target the XOR of the two marked ones.

    The second marked bit alone says nothing about the answer, so a network
    cannot learn it one operand at a time (the paper's explanation of why
    XOR is the hardest of the three).

    Returns:
        ``(x, y)``: x (T, B, 2) float64 (bit, marker), y (B, 1) float64 in {0, 1}.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = _check_length(length, 3)
    rng = make_rng(seed)
    bits = rng.integers(0, 2, size=(length, batch_size)).astype(onp.float64)
    x, a, b = _marked_pairs(rng, length, batch_size, bits)
    return x, onp.abs(a - b)[:, None]


def _one_hot(symbols, size):
    return (symbols[..., None] == onp.arange(size)).astype(onp.float64)


def generate_temporal_order(batch_size, length, seed=None, *, bits=2):
    """The temporal order problem: name the special symbols in their order.

    Every step shows one of 8 symbols, one-hot: a distractor (0-3) at most
    steps, the start marker (7) at step 0, the end marker (6) at the last
    step, and a special symbol X (4) or Y (5) at ``bits`` random steps, in
    the windows [0.1T, 0.2T) and [0.5T, 0.6T) for two bits, and [0.1T, 0.2T),
    [0.3T, 0.4T), [0.6T, 0.7T) for three (Hochreiter and Schmidhuber's
    windows, scaled with T). The class is the binary number the special
    symbols spell, the first the most significant bit (Y = 1): XX = 0, XY = 1, YX = 2, YY = 3.

    Returns:
        ``(x, y)``: x (T, B, 8) float64, y (B,) int64 in [0, 2**bits).
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = _check_length(length, 10)
    bits = check_choice("bits", bits, (2, 3))
    rng = make_rng(seed)
    starts = (0.1, 0.5) if bits == 2 else (0.1, 0.3, 0.6)
    symbols = rng.integers(0, DISTRACTORS, size=(length, batch_size))
    symbols[0], symbols[-1] = START, END
    columns = onp.arange(batch_size)
    labels = onp.zeros(batch_size, dtype=onp.int64)
    for start in starts:
        low = max(1, int(start * length))
        high = min(length - 1, max(low + 1, int((start + 0.1) * length)))
        position = rng.integers(low, high, size=batch_size)
        bit = rng.integers(0, 2, size=batch_size)
        symbols[position, columns] = X + bit
        labels = 2 * labels + bit
    return _one_hot(symbols, 8), labels


def generate_random_permutation(batch_size, length, seed=None):
    """The random permutation problem: predict the next symbol, and at the end the first.

    Step 0 shows symbol 0 or 1; steps 1 to T-1 show symbols drawn uniformly
    from 2 to 99, one-hot. The target at step t < T-1 is the symbol of step
    t + 1 (unpredictable: it teaches nothing but the marginal), and at the
    last step the symbol of step 0, the one long-range dependency.

    Returns:
        ``(x, y)``: x (T, B, 100) float64, y (T, B) int64 (the target symbol of each step).
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = _check_length(length, 2)
    rng = make_rng(seed)
    symbols = rng.integers(2, PERMUTATION_SYMBOLS, size=(length, batch_size))
    symbols[0] = rng.integers(0, 2, size=batch_size)
    targets = onp.concatenate([symbols[1:], symbols[:1]], axis=0)
    return _one_hot(symbols, PERMUTATION_SYMBOLS), targets.astype(onp.int64)


def generate_memorization(batch_size, length, seed=None, *, num_bits=5, num_values=2):
    """Noiseless memorization: see ``num_bits`` symbols, wait, repeat them after a trigger.

    Inputs are one-hot over ``num_values + 2`` symbols (the values, a blank
    ``num_values`` and the trigger ``num_values + 1``): steps 0 to n-1 show
    the pattern (n = ``num_bits``), step T-n-1 the trigger, every other step
    the blank. The target is the blank at steps before T-n and the pattern
    at the last n steps. With 5 binary symbols this is the paper's 5-bit
    problem (its 20-bit problem: ``num_bits=10, num_values=5``).

    Returns:
        ``(x, y)``: x (T, B, num_values + 2) float64, y (T, B) int64 in [0, num_values].
    """
    batch_size = check_positive_int("batch_size", batch_size)
    num_bits = check_positive_int("num_bits", num_bits)
    num_values = check_positive_int("num_values", num_values, minimum=2)
    length = _check_length(length, 2 * num_bits + 1)
    rng = make_rng(seed)
    blank, trigger = num_values, num_values + 1
    pattern = rng.integers(0, num_values, size=(num_bits, batch_size))
    symbols = onp.full((length, batch_size), blank)
    symbols[:num_bits] = pattern
    symbols[length - num_bits - 1] = trigger
    targets = onp.full((length, batch_size), blank, dtype=onp.int64)
    targets[length - num_bits :] = pattern
    return _one_hot(symbols, num_values + 2), targets


def _mse(outputs, y):
    return np.mean((outputs - y) ** 2)


def _logistic_loss(outputs, y):
    # -log sigmoid(z) for y = 1 and -log(1 - sigmoid(z)) for y = 0, without overflow
    return np.mean(np.logaddexp(0.0, outputs) - y * outputs)


def _cross_entropy(outputs, y):
    return nn.cross_entropy(outputs, y)


def _regression_metric(outputs, y):
    return float(onp.mean((onp.asarray(outputs) - y) ** 2))


def _bit_error(outputs, y):
    return float(onp.mean((onp.asarray(outputs) > 0) != (y > 0.5)))


def _class_error(outputs, y):
    return float(onp.mean(onp.argmax(outputs, axis=-1) != y))


def _last_step_error(outputs, y):
    return float(onp.mean(onp.argmax(outputs[-1], axis=-1) != y[-1]))


def _recall_error(num_bits):
    def error(outputs, y):
        wrong = onp.argmax(outputs[-num_bits:], axis=-1) != y[-num_bits:]
        return float(onp.mean(onp.any(wrong, axis=0)))

    return error


class Problem:
    """One pathological problem: its data, its loss and how success is measured.

    Attributes:
        name: the registry name.
        generate: ``(batch_size, length, seed) -> (x, y)``.
        input_size: D of x.
        num_outputs: K, the network's outputs (per sequence, or per step when ``readout == "steps"``).
        readout: ``"final"`` (one output per sequence, from the last state) or ``"steps"``.
        loss: ``(outputs, y) -> scalar``, the matching loss of the output
            (squared error, logistic or softmax cross-entropy): convex in the
            outputs, as the Gauss-Newton matrix of Hessian-free needs.
        metric: ``(outputs, y) -> float``: the MSE or the error rate.
        metric_name: ``"mse"`` or ``"error"``.
        baseline: the metric of the trivial predictor (the best that ignores the long-range inputs).
        threshold: the problem is solved when the metric is below it.
        min_length: the shortest T the generator accepts.
    """

    def __init__(self, name, generate, input_size, num_outputs, readout, loss, metric, metric_name, baseline,
                 threshold, min_length):  # fmt: skip
        self.name = name
        self.generate = generate
        self.input_size = input_size
        self.num_outputs = num_outputs
        self.readout = readout
        self.loss = loss
        self.metric = metric
        self.metric_name = metric_name
        self.baseline = baseline
        self.threshold = threshold
        self.min_length = min_length

    def solved(self, metric):
        """Whether ``metric`` (the value of :attr:`metric` on test data) counts as solving the problem."""
        return bool(metric < self.threshold)

    def __repr__(self):
        return (
            f"Problem({self.name!r}, {self.metric_name} baseline {self.baseline:.4g}, "
            f"solved below {self.threshold:.4g})"
        )


def _temporal(bits):
    def generate(batch_size, length, seed=None):
        return generate_temporal_order(batch_size, length, seed, bits=bits)

    return generate


_ERROR = 0.01
#: The problems by name, in the order of the paper's table.
PROBLEMS = {
    problem.name: problem
    for problem in (
        Problem("adding", adding.generate, 2, 1, "final", _mse, _regression_metric, "mse",
                adding.BASELINE_MSE, 0.06 * adding.BASELINE_MSE, 2),
        Problem("multiplication", generate_multiplication, 2, 1, "final", _mse, _regression_metric, "mse",
                7.0 / 144.0, 0.06 * 7.0 / 144.0, 3),
        Problem("xor", generate_xor, 2, 1, "final", _logistic_loss, _bit_error, "error", 0.5, _ERROR, 3),
        Problem("temporal_order", _temporal(2), 8, 4, "final", _cross_entropy, _class_error, "error",
                0.75, _ERROR, 10),
        Problem("temporal_order_3", _temporal(3), 8, 8, "final", _cross_entropy, _class_error, "error",
                0.875, _ERROR, 10),
        Problem("random_permutation", generate_random_permutation, PERMUTATION_SYMBOLS, PERMUTATION_SYMBOLS,
                "steps", _cross_entropy, _last_step_error, "error", 0.5, _ERROR, 2),
        Problem("memorization", generate_memorization, 4, 3, "steps", _cross_entropy, _recall_error(5), "error",
                1.0 - 2.0**-5, _ERROR, 11),
    )
}  # fmt: skip


def get(name):
    """The :class:`Problem` called ``name`` (one of :data:`PROBLEMS`)."""
    return PROBLEMS[check_choice("name", name, tuple(PROBLEMS))]
