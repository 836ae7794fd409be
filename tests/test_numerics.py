"""Extreme numbers: huge and tiny inputs, NaN and inf, and the dtype policy, on both paths.

Floating-point policy checked here: no overflow, no invalid operation (a
NaN made from finite numbers) and no division by zero, with every warning
an error. Underflow is allowed: a product too small for the dtype rounds to
zero or a subnormal, which is the correctly rounded answer (NumPy ignores
it by default), and matmuls of tiny inputs cannot avoid it.
"""

import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

import rnngrad

pytestmark = pytest.mark.filterwarnings("error")

STRICT = {"over": "raise", "invalid": "raise", "divide": "raise", "under": "ignore"}

# (name, constructor, options, has a fused kernel)
VARIANTS = [
    ("rnn-tanh", rnngrad.RNN, {}, True),
    ("rnn-relu", rnngrad.RNN, {"nonlinearity": "relu"}, True),
    ("lstm", rnngrad.LSTM, {}, True),
    ("lstm-projection", rnngrad.LSTM, {"proj_size": 2}, True),
    ("gru", rnngrad.GRU, {}, True),
    ("gru-reset-before", rnngrad.GRU, {"reset_after": False}, False),
    ("lstm-peephole", rnngrad.LSTM, {"peephole": True}, False),
    ("lstm-layer-norm", rnngrad.LSTM, {"layer_norm": True}, False),
    ("gru-layer-norm", rnngrad.GRU, {"layer_norm": True}, False),
]
PATHS = [
    pytest.param(constructor, options, impl, id=f"{name}-{impl}")
    for name, constructor, options, fused in VARIANTS
    for impl in (("fused", "reference") if fused else ("reference",))
]
KERNEL_PATHS = [
    pytest.param(constructor, options, impl, id=f"{name}-{impl}")
    for name, constructor, options, fused in VARIANTS
    if fused
    for impl in ("fused", "reference")
]
LENGTHS = [5, 3, 0, 1]


def build(constructor, options, dtype=np.float64):
    model = constructor(3, 4, num_layers=2, bidirectional=True, **options)
    return model, model.init(seed=0, dtype=dtype)


def inputs(scale, dtype=np.float64, seed=0):
    return (np.random.default_rng(seed).normal(size=(5, len(LENGTHS), 3)) * scale).astype(dtype)


def run(model, params, x, impl, **kwargs):
    """Output, final states and the gradients of a loss reading both, w.r.t. params and x."""

    def loss(params, x):
        output, final = model(params, x, impl=impl, **kwargs)
        finals = final if isinstance(final, tuple) else (final,)
        return anp.sum(output**2) + sum(anp.sum(f**2) for f in finals)

    output, final = model(params, x, impl=impl, **kwargs)
    param_grads, x_grad = grad(loss, (0, 1))(params, x)
    return output, final, param_grads, x_grad


def leaves(*trees):
    out = []
    for tree in trees:
        if isinstance(tree, dict):
            out += [tree[key] for key in sorted(tree)]
        elif isinstance(tree, (tuple, list)):
            out += leaves(*tree)
        else:
            out.append(tree)
    return out


@pytest.mark.parametrize("constructor, options, impl", PATHS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inputs_of_magnitude_1e4_give_finite_values_and_gradients_without_warnings(constructor, options, impl, dtype):
    model, params = build(constructor, options, dtype)
    with np.errstate(**STRICT):
        results = run(model, params, inputs(1e4, dtype), impl, lengths=LENGTHS)
    assert all(np.all(np.isfinite(leaf)) for leaf in leaves(*results))


@pytest.mark.parametrize("constructor, options, impl", PATHS)
@pytest.mark.parametrize("dtype, scale", [(np.float64, 1e-300), (np.float64, 1e-30), (np.float32, 1e-30)])
def test_tiny_inputs_give_finite_values_and_gradients_without_warnings(constructor, options, impl, dtype, scale):
    model, params = build(constructor, options, dtype)
    with np.errstate(**STRICT):
        results = run(model, params, inputs(scale, dtype), impl, lengths=LENGTHS)
        at_zero = run(model, params, np.zeros_like(inputs(scale, dtype)), impl, lengths=LENGTHS)
    assert all(np.all(np.isfinite(leaf)) for leaf in leaves(*results))
    # so small an input is a rounding error away from none at all
    for got, want in zip(leaves(results[0], results[1]), leaves(at_zero[0], at_zero[1])):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("constructor, options", [p.values[:2] for p in KERNEL_PATHS[::2]])
def test_saturating_inputs_give_the_same_values_on_both_paths(constructor, options):
    model, params = build(constructor, options)
    x = inputs(1e4)
    with np.errstate(**STRICT):
        fused = run(model, params, x, "fused", lengths=LENGTHS)
        reference = run(model, params, x, "reference", lengths=LENGTHS)
    for got, want in zip(leaves(*fused), leaves(*reference)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("constructor, options, impl", PATHS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_nan_or_inf_input_spoils_only_its_own_sequence(constructor, options, impl, bad):
    """Outputs, final states and input gradients of the other sequences equal a run without the bad value.

    The parameter gradients sum over the batch, so they do take the NaN: that is the honest answer.
    """
    model, params = build(constructor, options)
    x = inputs(1.0)
    poisoned = x.copy()
    poisoned[1, 1, 0] = bad  # sequence 1 (length 3), at a valid step
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf is expected inside row 1
        output, final, _, x_grad = run(model, params, poisoned, impl, lengths=LENGTHS)
    clean_output, clean_final, _, clean_x_grad = run(model, params, x, impl, lengths=LENGTHS)
    others = [0, 2, 3]
    np.testing.assert_array_equal(output[:, others], clean_output[:, others])
    np.testing.assert_array_equal(x_grad[:, others], clean_x_grad[:, others])
    for got, want in zip(leaves(final), leaves(clean_final)):
        np.testing.assert_array_equal(got[:, others], want[:, others])
    if np.isnan(bad):  # a NaN shows in its own sequence (an inf may legitimately saturate a gate instead)
        assert np.isnan(output[:, 1]).any()


def padded_poison(x, valid, bad):
    poisoned = x.copy()
    poisoned[~valid] = bad
    return poisoned


@pytest.mark.parametrize("constructor, options, impl", PATHS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("masking", ["lengths", "mask"])
def test_nan_or_inf_at_padded_steps_changes_nothing_not_even_gradients(constructor, options, impl, bad, masking):
    model, params = build(constructor, options)
    x = inputs(1.0)
    if masking == "lengths":
        kwargs = {"lengths": LENGTHS}
        valid = rnngrad.lengths_to_mask(LENGTHS, x.shape[0])
    else:
        valid = np.random.default_rng(1).random(x.shape[:2]) < 0.6
        kwargs = {"mask": valid}
    with np.errstate(**STRICT):
        clean = run(model, params, x, impl, **kwargs)
        poisoned = run(model, params, padded_poison(x, valid, bad), impl, **kwargs)
    for got, want in zip(leaves(*poisoned), leaves(*clean)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("impl", ["fused", "reference"])
def test_nan_padding_changes_nothing_in_a_batch_first_model_in_training(impl):
    """The same with batch_first, dropout between layers and a learned initial state."""
    model = rnngrad.GRU(3, 4, num_layers=2, batch_first=True, dropout=0.3, learn_initial_state=True)
    params = model.init(seed=0)
    x = np.swapaxes(inputs(1.0), 0, 1)
    valid = rnngrad.lengths_to_mask(LENGTHS, x.shape[1]).T
    kwargs = {"lengths": LENGTHS, "train": True}
    with np.errstate(**STRICT):
        clean = run(model, params, x, impl, rng=np.random.default_rng(3), **kwargs)
        poisoned = run(model, params, padded_poison(x, valid, np.nan), impl, rng=np.random.default_rng(3), **kwargs)
    for got, want in zip(leaves(*poisoned), leaves(*clean)):
        np.testing.assert_array_equal(got, want)


# -- the dtype policy ---------------------------------------------------------------
@pytest.mark.parametrize("param_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("input_dtype", [np.float16, np.int8, np.int64, np.uint8, np.float32, np.float64])
def test_a_concrete_input_is_converted_to_the_params_dtype(param_dtype, input_dtype):
    model, params = build(rnngrad.LSTM, {}, param_dtype)
    x = (inputs(3.0) * 10).astype(input_dtype)
    output, (h_n, c_n) = model(params, x, lengths=LENGTHS)
    expected, (expected_h, expected_c) = model(params, x.astype(param_dtype), lengths=LENGTHS)
    assert output.dtype == h_n.dtype == c_n.dtype == param_dtype
    np.testing.assert_array_equal(output, expected)
    np.testing.assert_array_equal(h_n, expected_h)


def test_a_concrete_initial_state_is_converted_to_the_params_dtype():
    model, params = build(rnngrad.GRU, {}, np.float32)
    state = np.ones((4, len(LENGTHS), 4), np.float16)
    output, h_n = model(params, inputs(1.0), initial_state=state)
    expected, expected_h = model(params, inputs(1.0), initial_state=state.astype(np.float32))
    assert h_n.dtype == np.float32
    np.testing.assert_array_equal(h_n, expected_h)


def test_a_traced_input_of_another_dtype_is_refused_not_converted():
    """Converting a traced x would change what is differentiated, so it is an error naming x and both dtypes."""
    model, params = build(rnngrad.RNN, {}, np.float32)
    with pytest.raises(TypeError, match=r"x: .*float32.*float64"):
        grad(lambda x: anp.sum(model(params, x)[0]))(inputs(1.0, np.float64))


def test_float64_input_beyond_the_float32_range_becomes_inf_with_numpys_warning():
    """The conversion is NumPy's cast: out-of-range values overflow to inf, and NumPy says so."""
    model, params = build(rnngrad.RNN, {}, np.float32)
    x = inputs(1.0)
    x[0, 0, 0] = 1e39
    with pytest.warns(RuntimeWarning, match="overflow"):
        model(params, x)
