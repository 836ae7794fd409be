"""rnngrad.testing tested itself: strategies draw what they promise; check_cell passes good cells, catches bad ones."""

import subprocess
import sys
import warnings
from dataclasses import dataclass, field

import autograd.numpy as anp
import numpy as np
import pytest
from autograd.extend import defvjp, primitive
from autograd.tracer import getval
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NonInteractiveExampleWarning
from property_support import impl_param, scaled

import rnngrad
from rnngrad.cells import affine
from rnngrad.testing import (
    CELL_PROPERTIES,
    KINDS,
    cell_problems,
    cells,
    check_cell,
    flip_within_lengths,
    lengths,
    loop_over_cell,
    make_problem,
    masks,
    models,
    probe_loss,
    problems,
    sequences,
)

pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input")

# -- the strategies ------------------------------------------------------------


@given(cell=cells(kinds=("lstm", "gru"), input_size=3, max_hidden_size=5))
def test_cells_draws_only_the_requested_kinds_with_the_given_input_size(cell):
    assert type(cell) in (rnngrad.LSTMCell, rnngrad.GRUCell)
    assert cell.input_size == 3 and 1 <= cell.hidden_size <= 5


@given(model=models(max_layers=2, max_hidden_size=3, bidirectional=True, batch_first=False))
def test_models_respects_its_bounds_and_pinned_options(model):
    assert 1 <= model.num_layers <= 2 and model.bidirectional and not model.batch_first
    assert 1 <= model.hidden_size <= 3
    assert type(model) in (rnngrad.RNN, rnngrad.LSTM, rnngrad.GRU)


@given(data=st.data(), num_steps=st.integers(0, 6), batch=st.integers(1, 4))
def test_lengths_and_masks_have_the_promised_shapes_and_ranges(data, num_steps, batch):
    drawn = data.draw(lengths(num_steps=num_steps, batch=batch))
    assert drawn.shape == (batch,) and drawn.dtype == np.int64
    assert np.all((0 <= drawn) & (drawn <= num_steps))
    prefix = data.draw(masks(num_steps=num_steps, batch=batch, prefix=True))
    assert prefix.shape == (num_steps, batch) and prefix.dtype == np.bool_
    assert np.array_equal(prefix, np.arange(num_steps)[:, None] < prefix.sum(axis=0)[None, :])
    assert data.draw(masks(num_steps=num_steps, batch=batch, prefix=False)).shape == (num_steps, batch)


def test_any_pattern_masks_include_masks_that_are_not_prefixes():
    """The general masks must reach gaps and leading padding, or the masking properties test too little."""
    from hypothesis import find

    gap = find(masks(num_steps=3, batch=1, prefix=False), lambda m: not m[0, 0] and m[1, 0])
    assert gap[:, 0].tolist()[:2] == [False, True]


@given(x=sequences(shape=(3, 2, 4), dtype=np.float32, bound=1.5))
def test_sequences_are_finite_bounded_and_of_the_requested_dtype(x):
    assert x.shape == (3, 2, 4) and x.dtype == np.float32
    assert np.all(np.isfinite(x)) and np.all(np.abs(x) <= 1.5)


@given(problem=problems(batch_first=None, batched=None, max_steps=4, max_batch=3))
def test_problems_are_consistent_and_runnable(problem):
    model = problem.model
    assert problem.valid.shape == (problem.num_steps, problem.batch)
    assert problem.x.shape[-1] == model.input_size and 1 <= problem.num_steps <= 4
    assert problem.lengths is None or problem.mask is None
    assert set(problem.params) == set(model.param_shapes())
    output, _ = problem.run()
    assert output.shape[-1] == model.output_size


@given(problem=problems(dtype=np.float32, kinds=("gru",), masking=("lengths",), initial_state=True))
def test_problems_honours_dtype_kind_masking_and_initial_state(problem):
    assert isinstance(problem.model, rnngrad.GRU)
    assert problem.x.dtype == np.float32 and all(v.dtype == np.float32 for v in problem.params.values())
    assert problem.lengths is not None and problem.initial_state.dtype == np.float32


@given(problem=cell_problems(cells(kinds=KINDS), max_steps=3, prefix=True))
def test_cell_problems_are_consistent(problem):
    assert problem.inputs.shape == (problem.num_steps, problem.batch, problem.cell.input_size)
    assert problem.mask.shape == (problem.num_steps, problem.batch)
    assert [s.shape for s in problem.state] == [(problem.batch, size) for size in problem.cell.state_sizes]


def test_strategies_take_keyword_arguments_only():
    with pytest.raises(TypeError):
        problems(("rnn",))
    with pytest.raises(TypeError):
        lengths(3, 2)


def test_an_unknown_kind_is_rejected_by_name():
    with warnings.catch_warnings(), pytest.raises(ValueError, match="kinds"):
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        models(kinds=("elman",)).example()


def test_make_problem_builds_the_pinned_edge_case():
    problem = make_problem("lstm", num_steps=4, batch=2, lengths=[0, 4], initial_state=True, bidirectional=True)
    assert problem.x.shape == (4, 2, 2) and problem.valid[:, 0].sum() == 0 and problem.valid[:, 1].all()
    assert problem.initial_state[0].shape == (2, 2, 3)


@given(x=sequences(shape=(5, 3, 2)), drawn=lengths(num_steps=5, batch=3))
def test_flip_within_lengths_reverses_each_valid_prefix_and_is_its_own_inverse(x, drawn):
    flipped = flip_within_lengths(x, drawn)
    for b, length in enumerate(drawn):
        np.testing.assert_array_equal(flipped[:length, b], x[:length, b][::-1])
        np.testing.assert_array_equal(flipped[length:, b], x[length:, b])
    np.testing.assert_array_equal(flip_within_lengths(flipped, drawn), x)


def test_probe_loss_tells_entries_apart():
    values = np.arange(6.0).reshape(2, 3)
    assert probe_loss(values) != probe_loss(values[::-1])
    assert probe_loss(values, seed=1) != probe_loss(values, seed=2)


def test_loop_over_cell_with_identical_untied_copies_equals_the_tied_loop():
    cell = rnngrad.GRUCell(2, 3)
    params = cell.init(0)
    x = np.random.default_rng(1).normal(size=(4, 2, 2))
    mask = np.array([[1, 0], [1, 1], [0, 1], [1, 1]], bool)
    tied = loop_over_cell(cell, params, x, cell.initial_state(2), mask=mask, reverse=True)
    untied = loop_over_cell(cell, [params] * 4, x, cell.initial_state(2), mask=mask, reverse=True)
    np.testing.assert_array_equal(tied[0], untied[0])


# -- check_cell on good cells ---------------------------------------------------


@dataclass(frozen=True)
class IndependentlyRecurrentCell(rnngrad.Cell):
    r"""IndRNN (Li et al. 2018) with a tanh: h' = tanh(x W^T + b + u * h), u a vector (no unit sees another).

    A cell written only from the protocol, to show check_cell on a cell rnngrad does not ship.
    """

    def param_shapes(self):
        return {
            "weight_ih": (self.hidden_size, self.input_size),
            "weight_hh": (self.hidden_size,),
            "bias": (self.hidden_size,),
        }

    def step(self, params, x, state):
        (h,) = state
        h_new = rnngrad.tanh(affine(x, params["weight_ih"], params["bias"]) + params["weight_hh"] * h)
        return h_new, (h_new,)


QUICK = settings(max_examples=10, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


@impl_param()
@pytest.mark.parametrize(
    "make_cell",
    [
        lambda d: rnngrad.RNNCell(d, 3),
        lambda d: rnngrad.RNNCell(d, 2, nonlinearity="relu", bias=False),
        lambda d: rnngrad.LSTMCell(d, 3),
        lambda d: rnngrad.LSTMCell(d, 3, proj_size=2),
        lambda d: rnngrad.GRUCell(d, 3),
    ],
    ids=["rnn", "rnn-relu-nobias", "lstm", "lstm-proj", "gru"],
)
def test_check_cell_passes_on_the_built_in_cells(make_cell, impl):
    check_cell(make_cell, impl=None if impl == "fused" else impl, settings=scaled(0.4))


def test_check_cell_passes_on_a_cell_written_by_a_user():
    check_cell(lambda d: IndependentlyRecurrentCell(d, 3), second_order=True)


def test_check_cell_accepts_a_cell_object_and_a_subset_of_properties():
    check_cell(rnngrad.GRUCell(2, 2), properties=["shapes", "padding"], settings=QUICK)


def test_check_cell_rejects_an_unknown_property_by_name():
    with pytest.raises(ValueError, match="properties"):
        check_cell(rnngrad.GRUCell(2, 2), properties=["speed"])


# -- check_cell on broken cells -----------------------------------------------


@dataclass(frozen=True, eq=False)
class LeakyMemoryCell(IndependentlyRecurrentCell):
    """Remembers its last output in a Python list: hidden state that masked steps update too."""

    memory: list = field(default_factory=list)

    def step(self, params, x, state):
        (h,) = state
        previous = self.memory[-1] if self.memory and self.memory[-1].shape == getval(h).shape else 0.0
        h_new = rnngrad.tanh(affine(x, params["weight_ih"], params["bias"]) + params["weight_hh"] * (h + previous))
        self.memory.append(getval(h_new))
        return h_new, (h_new,)


@dataclass(frozen=True)
class BatchNormalizedCell(IndependentlyRecurrentCell):
    """Centres its pre-activation over the batch: each sequence's step depends on the others."""

    def step(self, params, x, state):
        (h,) = state
        pre = affine(x, params["weight_ih"], params["bias"]) + params["weight_hh"] * h
        h_new = rnngrad.tanh(pre - anp.mean(pre, axis=0, keepdims=True))
        return h_new, (h_new,)


@primitive
def _softsign(x):
    return x / (1.0 + np.abs(x))


defvjp(_softsign, lambda ans, x: lambda g: g / (1.0 + np.abs(x)))  # wrong: the square is missing


@dataclass(frozen=True)
class WrongDerivativeCell(IndependentlyRecurrentCell):
    """A softsign nonlinearity whose hand-written VJP forgets to square (1 + |x|)."""

    def step(self, params, x, state):
        (h,) = state
        h_new = _softsign(affine(x, params["weight_ih"], params["bias"]) + params["weight_hh"] * h)
        return h_new, (h_new,)


@dataclass(frozen=True)
class DtypePromotingCell(IndependentlyRecurrentCell):
    """Multiplies by a float64 constant, so float32 inputs come out float64."""

    def step(self, params, x, state):
        (h,) = state
        h_new = rnngrad.tanh(affine(x, params["weight_ih"], params["bias"]) + params["weight_hh"] * h) * np.ones(1)
        return h_new, (h_new,)


def failed_properties(make_cell):
    with pytest.raises(AssertionError) as info:
        check_cell(make_cell, settings=QUICK)
    first_line = str(info.value).splitlines()[0]
    return set(first_line.split(": ")[-1].split(", "))


def test_check_cell_catches_a_cell_that_leaks_state_through_masked_steps():
    caught = failed_properties(lambda d: LeakyMemoryCell(d, 3))
    assert {"purity", "loop", "padding"} <= caught


def test_check_cell_catches_a_cell_whose_step_depends_on_the_rest_of_the_batch():
    caught = failed_properties(lambda d: BatchNormalizedCell(d, 3))
    assert {"batch", "padding"} <= caught and "shapes" not in caught


def test_check_cell_catches_a_wrong_hand_written_derivative_and_nothing_else():
    assert failed_properties(lambda d: WrongDerivativeCell(d, 3)) == {"gradients"}


def test_check_cell_catches_a_cell_that_changes_the_dtype():
    assert failed_properties(lambda d: DtypePromotingCell(d, 3)) == {"shapes"}


def test_without_hypothesis_the_import_error_says_what_to_install():
    code = (
        "import sys\nsys.modules['hypothesis'] = None\n"
        "try:\n    import rnngrad.testing\nexcept ImportError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert "pip install hypothesis" in result.stdout


def test_check_cell_runs_every_property_by_default():
    assert list(CELL_PROPERTIES) == [
        "shapes",
        "purity",
        "loop",
        "batch",
        "padding",
        "reversal",
        "split",
        "weight_sharing",
        "gradients",
    ]
