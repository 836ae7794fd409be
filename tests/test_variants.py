"""The cell variants and model options beyond torch: each runs with masks, both directions and stacking."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.builtins import tuple as traced_tuple
from autograd.test_util import check_grads

import rnngrad
from rnngrad.cells import LayerNormGRUCell, LayerNormLSTMCell, MGUCell, PeepholeLSTMCell

VARIANTS = {
    "peephole": lambda d: PeepholeLSTMCell(d, 3),
    "peephole_proj": lambda d: PeepholeLSTMCell(d, 3, proj_size=2),
    "layer_norm_lstm": lambda d: LayerNormLSTMCell(d, 3),
    "layer_norm_lstm_proj_nobias": lambda d: LayerNormLSTMCell(d, 3, proj_size=2, bias=False),
    "layer_norm_gru": lambda d: LayerNormGRUCell(d, 3),
    "mgu": lambda d: MGUCell(d, 3),
    "gru_reset_before": lambda d: rnngrad.GRUCell(d, 3, reset_after=False),
}


def _net(name, **options):
    return rnngrad.Recurrent(VARIANTS[name], input_size=2, num_layers=2, bidirectional=True, **options)


def _finals(final):
    return final if isinstance(final, tuple) else (final,)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_gradients_match_finite_differences_with_lengths(name):
    net = _net(name)
    rng = np.random.default_rng(0)
    params = net.init(rng)
    x = rng.normal(size=(4, 3, 2))

    def run(params, x):
        output, final = net(params, x, lengths=[4, 0, 2])
        return traced_tuple((output, traced_tuple(_finals(final))))

    check_grads(run, modes=["rev", "fwd"], order=1)(params, x)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_padding_changes_nothing_and_empty_sequence_keeps_initial_state(name):
    net = _net(name)
    rng = np.random.default_rng(1)
    params = net.init(rng)
    x = rng.normal(size=(5, 3, 2))
    lengths = np.array([5, 2, 0])
    padded = x.copy()
    padded[2:, 1] = 1e3  # garbage at padded steps
    padded[:, 2] = -7.0
    sizes = net.cells[0][0].state_sizes
    state = tuple(rng.normal(size=(4, 3, s)) for s in sizes)
    state = state if len(state) > 1 else state[0]
    out, final = net(params, x, lengths=lengths, initial_state=state)
    out2, final2 = net(params, padded, lengths=lengths, initial_state=state)
    np.testing.assert_array_equal(out, out2)
    for f, f2, s in zip(_finals(final), _finals(final2), _finals(state)):
        np.testing.assert_array_equal(f, f2)
        np.testing.assert_array_equal(f[:, 2], s[:, 2])
    assert np.all(out[2:, 1] == 0) and np.all(out[:, 2] == 0)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_reverse_direction_is_the_flipped_sequence_within_its_length(name):
    net = rnngrad.Recurrent(VARIANTS[name], input_size=2, bidirectional=True)
    forward_only = rnngrad.Recurrent(VARIANTS[name], input_size=2)
    rng = np.random.default_rng(2)
    params = net.init(rng)
    x = rng.normal(size=(5, 2, 2))
    lengths = [5, 3]
    out, _ = net(params, x, lengths=lengths)
    reverse_params = {k.replace("_reverse", ""): v for k, v in params.items() if k.endswith("_reverse")}
    half = net.cells[0][1].output_size
    for b, length in enumerate(lengths):
        flipped = x[:length, b : b + 1][::-1]
        run, _ = forward_only(reverse_params, flipped)
        np.testing.assert_allclose(out[:length, b, -half:], run[::-1, 0], rtol=1e-12, atol=1e-14)


def test_model_options_select_the_variant_cells():
    assert type(rnngrad.LSTM(2, 3, peephole=True).cells[0][0]) is PeepholeLSTMCell
    assert type(rnngrad.LSTM(2, 3, layer_norm=True).cells[0][0]) is LayerNormLSTMCell
    assert type(rnngrad.GRU(2, 3, layer_norm=True).cells[0][0]) is LayerNormGRUCell
    assert rnngrad.GRU(2, 3, reset_after=False).cells[0][0].reset_after is False
    with pytest.raises(ValueError, match="peephole"):
        rnngrad.LSTM(2, 3, peephole=True, layer_norm=True)
    with pytest.raises(ValueError, match="reset_after"):
        rnngrad.GRU(2, 3, layer_norm=True, reset_after=False)


def test_reset_before_gru_differs_from_reset_after_with_the_same_weights():
    rng = np.random.default_rng(3)
    after, before = rnngrad.GRU(2, 3), rnngrad.GRU(2, 3, reset_after=False)
    params = after.init(rng)
    x = rng.normal(size=(4, 2, 2))
    assert not np.allclose(after(params, x)[0], before(params, x)[0])


# -- initialization ---------------------------------------------------------------


def test_forget_bias_sets_the_forget_gate_rows_only():
    params = rnngrad.LSTM(2, 3, num_layers=2).init(0, forget_bias=1.0)
    for layer in (0, 1):
        np.testing.assert_array_equal(params[f"bias_ih_l{layer}"][3:6], 1.0)
        np.testing.assert_array_equal(params[f"bias_hh_l{layer}"][3:6], 0.0)
        assert not np.any(params[f"bias_ih_l{layer}"][:3] == 1.0)
    mgu = MGUCell(2, 3).init(0, forget_bias=2.0)
    np.testing.assert_array_equal(mgu["bias_ih"][:3], 2.0)
    with pytest.raises(ValueError, match="forget_bias"):
        rnngrad.GRU(2, 3).init(0, forget_bias=1.0)


def test_orthogonal_recurrent_init_gives_orthogonal_gate_blocks():
    H = 5
    params = rnngrad.LSTM(3, H).init(0, recurrent_init="orthogonal")
    for g in range(4):
        block = params["weight_hh_l0"][g * H : (g + 1) * H]
        np.testing.assert_allclose(block @ block.T, np.eye(H), atol=1e-12)
    projected = rnngrad.LSTM(3, H, proj_size=2).init(0, recurrent_init="orthogonal")["weight_hh_l0"][:H]
    np.testing.assert_allclose(projected.T @ projected, np.eye(2), atol=1e-12)


def test_glorot_input_init_respects_its_limit_and_unknown_names_are_refused():
    params = rnngrad.GRU(10, 6).init(0, input_init="glorot")
    assert np.abs(params["weight_ih_l0"]).max() <= np.sqrt(6 / (10 + 6))
    assert np.abs(params["weight_ih_l0"]).max() > 1 / np.sqrt(6)  # wider than the default uniform
    with pytest.raises(ValueError, match="recurrent_init"):
        rnngrad.GRU(10, 6).init(0, recurrent_init="he")


def test_default_init_is_unchanged_by_the_init_options():
    model = rnngrad.LSTM(3, 4, num_layers=2)
    plain, explicit = model.init(5), model.init(5, input_init="uniform", recurrent_init="uniform")
    for key in plain:
        np.testing.assert_array_equal(plain[key], explicit[key])


# -- learnable initial state ---------------------------------------------------


def test_learned_initial_state_starts_at_zero_and_receives_gradient():
    model = rnngrad.LSTM(2, 3, num_layers=2, bidirectional=True, learn_initial_state=True)
    plain = rnngrad.LSTM(2, 3, num_layers=2, bidirectional=True)
    params = model.init(0)
    assert {"initial_h_l0", "initial_c_l0", "initial_h_l1_reverse", "initial_c_l1_reverse"} <= set(params)
    base = {k: v for k, v in params.items() if not k.startswith("initial_")}
    x = np.random.default_rng(0).normal(size=(4, 3, 2))
    np.testing.assert_array_equal(model(params, x)[0], plain(base, x)[0])
    g = grad(lambda p: anp.sum(model(p, x, lengths=[4, 1, 0])[0] ** 2))(params)
    assert np.all(np.abs(g["initial_c_l0"]) > 0)


def test_learned_initial_state_is_broadcast_over_the_batch_and_overridden_by_an_explicit_one():
    model = rnngrad.GRU(2, 3, learn_initial_state=True)
    params = model.init(0)
    params["initial_h_l0"] = np.array([0.5, -0.5, 0.25])
    x = np.zeros((0, 4, 2))
    _, h_n = model(params, x)
    np.testing.assert_array_equal(h_n[0], np.tile(params["initial_h_l0"], (4, 1)))
    explicit = np.ones((1, 4, 3))
    np.testing.assert_array_equal(model(params, x, initial_state=explicit)[1], explicit)


# -- regularization -------------------------------------------------------------


def test_weight_dropout_uses_one_mask_on_weight_hh_for_the_whole_sequence():
    model = rnngrad.LSTM(2, 3, weight_dropout=0.5)
    params = model.init(0)
    x = np.random.default_rng(1).normal(size=(6, 2, 2))
    trained, _ = model(params, x, train=True, rng=np.random.default_rng(7))
    keep = np.random.default_rng(7).random(params["weight_hh_l0"].shape) >= 0.5
    dropped = dict(params, weight_hh_l0=params["weight_hh_l0"] * keep * 2.0)
    np.testing.assert_allclose(trained, model(dropped, x)[0], rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(model(params, x, rng=np.random.default_rng(7))[0], model(params, x)[0])


def test_variational_dropout_uses_one_input_mask_per_sequence_for_all_steps():
    model = rnngrad.GRU(4, 3, variational_dropout=0.25)
    params = model.init(0)
    x = np.random.default_rng(2).normal(size=(6, 2, 4))
    trained, _ = model(params, x, train=True, rng=np.random.default_rng(9))
    keep = np.random.default_rng(9).random((1, 2, 4)) >= 0.25
    np.testing.assert_allclose(trained, model(params, x * keep / 0.75)[0], rtol=1e-13, atol=1e-15)


def test_regularization_in_training_needs_a_generator():
    with pytest.raises(ValueError, match="weight_dropout=0.5"):
        model = rnngrad.LSTM(2, 3, weight_dropout=0.5)
        model(model.init(0), np.zeros((3, 1, 2)), train=True)


# -- stacking options -------------------------------------------------------------


@pytest.mark.parametrize("merge_mode", ["sum", "mean"])
def test_merge_modes_combine_the_two_directions(merge_mode):
    concat = rnngrad.GRU(2, 3, bidirectional=True)
    merged = rnngrad.GRU(2, 3, bidirectional=True, merge_mode=merge_mode)
    params = concat.init(0)
    x = np.random.default_rng(3).normal(size=(5, 2, 2))
    full, h_full = concat(params, x, lengths=[5, 2])
    out, h_n = merged(params, x, lengths=[5, 2])
    total = full[..., :3] + full[..., 3:]
    np.testing.assert_allclose(out, total if merge_mode == "sum" else total / 2, rtol=1e-14)
    np.testing.assert_array_equal(h_n, h_full)
    assert merged.output_size == 3


def test_residual_adds_each_upper_layer_input_to_its_output():
    model = rnngrad.LSTM(3, 3, num_layers=2, residual=True)
    single = rnngrad.LSTM(3, 3)
    params = model.init(0)
    x = np.random.default_rng(4).normal(size=(5, 2, 3))
    out, _ = model(params, x, lengths=[5, 3])
    layer = [{k.replace(f"_l{i}", "_l0"): v for k, v in params.items() if k.endswith(f"_l{i}")} for i in (0, 1)]
    first, _ = single(layer[0], x, lengths=[5, 3])
    second, _ = single(layer[1], first, lengths=[5, 3])
    np.testing.assert_allclose(out, second + first, rtol=1e-13)
    assert np.all(out[3:, 1] == 0)


def test_residual_needs_equal_widths():
    with pytest.raises(ValueError, match="residual"):
        rnngrad.Recurrent(lambda d: rnngrad.GRUCell(d, d + 1), input_size=2, num_layers=2, residual=True)
    rnngrad.LSTM(3, 4, num_layers=3, bidirectional=True, residual=True)


def test_variants_fall_back_to_the_reference_path():
    model = rnngrad.LSTM(2, 3, peephole=True)
    params = model.init(0)
    x = np.zeros((3, 1, 2))
    np.testing.assert_array_equal(model(params, x)[0], model(params, x, impl="reference")[0])
    with pytest.raises(ValueError, match="impl"):
        model(params, x, impl="fused")


# -- the property battery ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_passes_the_property_battery(name):
    """The whole battery of rnngrad.testing, at a fifth of the profile's examples (seven variants)."""
    from hypothesis import settings

    from rnngrad.testing import check_cell

    check_cell(
        VARIANTS[name], settings=settings(settings.default, max_examples=max(3, settings.default.max_examples // 5))
    )
