"""What the property tests share: the edge cases, the two implementations, scaled example counts."""

import numpy as np
import pytest
from hypothesis import example, settings
from hypothesis import strategies as st

from rnngrad.kernels import kernel_for
from rnngrad.testing import make_problem

KINDS = ("rnn", "lstm", "gru")


def scaled(fraction):
    """The active profile's example count times ``fraction`` (at least 3), for the costlier properties."""
    return settings(max_examples=max(3, round(settings().max_examples * fraction)))


def impl_param():
    """``fused`` and ``reference``: both implementations of one specification."""
    return pytest.mark.parametrize("impl", ["fused", "reference"])


def impl_for(model, impl):
    """``impl`` for this model: ``fused`` falls back to the default path for cells without a kernel."""
    if impl == "fused" and any(kernel_for(cell) is None for layer in model.cells for cell in layer):
        return None
    return impl


_EDGES = (
    {"num_steps": 1, "bidirectional": True, "num_layers": 2},  # T = 1
    {"batch": 1, "num_steps": 4, "initial_state": True},  # B = 1
    {"hidden_size": 1, "bidirectional": True},  # H = 1
    {"lengths": [0, 0], "bidirectional": True, "num_layers": 2, "initial_state": True},  # every sequence empty
    {"lengths": [3, 3], "num_layers": 3},  # every sequence full
    {"lengths": [1, 0, 3], "batch": 3, "bidirectional": True, "initial_state": True},  # ragged, unsorted
)


def edge_cases(kinds=KINDS, **pinned):
    """The edge cases every property pins, for each kind: T = 1, B = 1, H = 1, all lengths 0, all lengths T,
    and a ragged batch whose lengths are not sorted (packed sequences trip on it).

    ``pinned`` overrides the edge cases' own choices (``bidirectional``,
    ``num_layers``, ``initial_state``, ...) where a property needs them fixed.
    """
    return [make_problem(kind, **{**edge, **pinned}) for kind in kinds for edge in _EDGES]


def with_edge_cases(kinds=KINDS, argument="problem", **pinned):
    """Decorate a ``@given`` test with an ``@example`` of every edge case (other arguments: ``extra``)."""
    extra = pinned.pop("extra", {})

    def decorate(test):
        for problem in edge_cases(kinds, **pinned):
            test = example(**{argument: problem}, **extra)(test)
        return test

    return decorate


def assert_trees_close(actual, expected, rtol=1e-10, atol=1e-12, what=""):
    """Every array of two (nested tuple, list, dict) structures is close."""
    if isinstance(expected, dict):
        assert sorted(actual) == sorted(expected), what
        for key in expected:
            assert_trees_close(actual[key], expected[key], rtol, atol, f"{what}[{key}]")
    elif isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected), what
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_trees_close(a, e, rtol, atol, f"{what}[{i}]")
    else:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def leaves(tree):
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in leaves(tree[key])]
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in leaves(item)]
    return [tree]


def rebuild(model, **changes):
    """The same kind of model with some hyperparameters changed (models are immutable)."""
    fields = {name: getattr(model, name) for name in model._fields}
    return type(model)(**{**fields, **changes})


def time_major(problem):
    """``(x (T, B, D), mask (T, B))`` of a batched problem, whatever its layout."""
    x = np.swapaxes(problem.x, 0, 1) if problem.model.batch_first else problem.x
    return x, problem.valid


def saturate(params, model, gate, value):
    """Set the rows of ``gate`` (its index in torch's gate order) in every ``bias_ih`` to ``value``, ``bias_hh`` to 0.

    With ``|value|`` = 1e3 the stable sigmoid returns exactly 0 or 1 and its
    derivative ``ans * (1 - ans)`` is exactly 0: the gate is saturated.
    """
    hidden = model.hidden_size
    rows = slice(gate * hidden, (gate + 1) * hidden)
    saturated = dict(params)
    for key in params:
        if key.startswith(("bias_ih", "bias_hh")):
            saturated[key] = params[key].copy()
            saturated[key][rows] = value if key.startswith("bias_ih") else 0.0
    return saturated


@st.composite
def parity_problems(draw, *, kind=None, max_input_size=5, max_hidden_size=6, max_layers=3, max_steps=6, max_batch=4):
    """A torch-compatible configuration, weights, inputs and (optional) lengths in [1, T].

    Returns ``(kind, options, steps, batch, lengths, seed, with_initial_state)``; when
    given, the lengths include T, as torch's ``pad_packed_sequence(total_length=T)`` needs.
    """
    kind = kind or draw(st.sampled_from(sorted(KINDS)), label="kind")
    hidden = draw(st.integers(1, max_hidden_size), label="hidden_size")
    options = {
        "input_size": draw(st.integers(1, max_input_size), label="input_size"),
        "hidden_size": hidden,
        "num_layers": draw(st.integers(1, max_layers), label="num_layers"),
        "bias": draw(st.booleans(), label="bias"),
        "batch_first": draw(st.booleans(), label="batch_first"),
        "bidirectional": draw(st.booleans(), label="bidirectional"),
    }
    if kind == "rnn":
        options["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]), label="nonlinearity")
    if kind == "lstm" and hidden > 1:
        options["proj_size"] = draw(st.integers(0, hidden - 1), label="proj_size")
    steps = draw(st.integers(1, max_steps), label="T")
    batch = draw(st.integers(1, max_batch), label="B")
    lengths = None
    if draw(st.booleans(), label="use_lengths"):
        lengths = draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch), label="lengths")
        lengths[draw(st.integers(0, batch - 1))] = steps  # torch needs the longest to be T for total_length
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    with_state = draw(st.booleans(), label="with_initial_state")
    return kind, options, steps, batch, lengths, seed, with_state
