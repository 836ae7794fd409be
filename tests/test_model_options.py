"""Each model option against a construction by hand.

Dropout, weight dropout and variational dropout are checked against
:func:`rnngrad.testing.equations.reference_model` fed with the very masks
the call's ``rng`` draws. The masks are drawn, each once per call, in this
order: for each layer k, the variational mask of its input (B, F), then the
DropConnect mask of each direction's ``weight_hh``, then (k < L - 1) the
dropout mask of its merged output (T, B, F); each as ``rng.random(shape) >=
rate``, kept entries scaled by ``1 / (1 - rate)``. Residual connections and
merge modes are also built from one-layer models and :func:`rnngrad.unroll`.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from hypothesis import given
from hypothesis import strategies as st
from property_support import scaled

import rnngrad
from rnngrad.testing import probe_loss, random_params, variant_models
from rnngrad.testing.equations import reference_model

RTOL, ATOL = 1e-11, 1e-12
MODELS = {"rnn": rnngrad.RNN, "lstm": rnngrad.LSTM, "gru": rnngrad.GRU}


def draw_masks(model, rng, num_steps, batch, *, dropout=0.0, weight_dropout=0.0, variational_dropout=0.0):
    """The keep-and-scale masks of one training call, drawn from ``rng`` in the documented order."""
    noise = {"variational": [], "weight": [], "between": []}
    width = model.input_size
    for k, layer in enumerate(model.cells):
        if variational_dropout:
            keep = rng.random((1, batch, width))[0] >= variational_dropout
            noise["variational"].append(keep / (1.0 - variational_dropout))
        else:
            noise["variational"].append(np.ones((batch, width)))
        weights = []
        for cell in layer:
            shape = cell.param_shapes()["weight_hh"]
            if weight_dropout:
                weights.append((rng.random(shape) >= weight_dropout) / (1.0 - weight_dropout))
            else:
                weights.append(np.ones(shape))
        noise["weight"].append(weights)
        sizes = [cell.output_size for cell in layer]
        width = sum(sizes) if model.merge_mode == "concat" else sizes[0]
        if dropout and k < model.num_layers - 1:
            noise["between"].append((rng.random((num_steps, batch, width)) >= dropout) / (1.0 - dropout))
        else:
            noise["between"].append(np.ones((num_steps, batch, width)))
    return noise


rates = st.sampled_from([0.0, 0.25, 0.5, 0.8])


@scaled(2)
@given(data=st.data())
def test_training_noise_equals_the_equations_with_the_masks_of_the_calls_rng(data):
    model_options = data.draw(variant_models(max_layers=3), label="model")
    dropout, weight_dropout, variational = (data.draw(rates, label=name) for name in ("d", "w", "v"))
    options = {name: getattr(model_options, name) for name in model_options._fields}
    options.update({name: getattr(model_options, name) for name in model_options._extras})
    options.update(dropout=dropout, weight_dropout=weight_dropout, variational_dropout=variational)
    model = type(model_options)(**options)
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    params = random_params(model.param_shapes(), rng, scale=0.8)
    num_steps, batch = data.draw(st.integers(1, 4), label="T"), data.draw(st.integers(1, 3), label="B")
    shape = (batch, num_steps) if model.batch_first else (num_steps, batch)
    x = rng.uniform(-2, 2, shape + (model.input_size,))
    lengths = rng.integers(0, num_steps + 1, batch)
    noise = draw_masks(
        model,
        np.random.default_rng(seed + 1),
        num_steps,
        batch,
        dropout=dropout,
        weight_dropout=weight_dropout,
        variational_dropout=variational,
    )
    call_rng = np.random.default_rng(seed + 1)
    output, final = model(params, x, lengths=lengths, train=True, rng=call_rng)
    want_output, want_final = reference_model(model, params, x, lengths=lengths, noise=noise)
    np.testing.assert_allclose(output, want_output, rtol=RTOL, atol=ATOL)
    for got, want in zip(
        final if isinstance(final, tuple) else (final,), want_final if isinstance(want_final, tuple) else (want_final,)
    ):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_dropout_is_not_applied_after_the_last_layer(kind):
    """With one layer there is no 'between': training with dropout computes the evaluation's function."""
    model = MODELS[kind](3, 4, dropout=0.9, bidirectional=True)
    params = model.init(0)
    x = np.random.default_rng(1).normal(size=(5, 2, 3))
    trained = model(params, x, train=True, rng=np.random.default_rng(2))
    evaluated = model(params, x)
    np.testing.assert_array_equal(trained[0], evaluated[0])
    deep = MODELS[kind](3, 4, num_layers=2, dropout=0.9)
    deep_params = deep.init(0)
    top = deep(deep_params, x, train=True, rng=np.random.default_rng(2))[0]
    # the last layer's own output is never zeroed by dropout: no exact zeros appear at valid steps
    assert np.count_nonzero(top == 0.0) == 0


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_dropout_masks_come_from_the_calls_rng(kind):
    model = MODELS[kind](2, 3, num_layers=2, dropout=0.5, weight_dropout=0.3, variational_dropout=0.2)
    params = model.init(0)
    x = np.random.default_rng(1).normal(size=(4, 2, 2))
    first = model(params, x, train=True, rng=np.random.default_rng(5))[0]
    again = model(params, x, train=True, rng=np.random.default_rng(5))[0]
    other = model(params, x, train=True, rng=np.random.default_rng(6))[0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    rng = np.random.default_rng(5)
    model(params, x, train=True, rng=rng)
    assert rng.random() != np.random.default_rng(5).random(), "the call did not draw from its rng"
    np.testing.assert_array_equal(model(params, x, train=False, rng=np.random.default_rng(5))[0], model(params, x)[0])


def _single_layer(model, k, input_size, **changes):
    """Layer k of ``model`` as a one-layer model of the same kind, with its parameters renamed to _l0."""
    fields = {name: getattr(model, name) for name in model._fields}
    fields.update(input_size=input_size, num_layers=1, **changes)
    return type(model)(**fields)


def _layer_params(params, k):
    renamed = {}
    for key, value in params.items():
        for direction in ("_reverse", ""):
            suffix = f"_l{k}{direction}"
            if key.endswith(suffix):
                renamed[key[: -len(suffix)] + "_l0" + direction] = value
                break
    return renamed


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mean"])
def test_residual_stack_equals_one_layer_models_plus_their_inputs(kind, merge_mode):
    model = MODELS[kind](3, 4, num_layers=3, bidirectional=True, residual=True, merge_mode=merge_mode)
    params = random_params(model.param_shapes(), np.random.default_rng(0), scale=0.7)
    x = np.random.default_rng(1).normal(size=(5, 2, 3))
    lengths = np.array([5, 3])
    layer_input = x
    for k in range(3):
        single = _single_layer(model, k, layer_input.shape[-1], residual=False, merge_mode=merge_mode)
        out, _ = single(_layer_params(params, k), layer_input, lengths=lengths)
        layer_input = out + layer_input if k > 0 else out
    np.testing.assert_allclose(model(params, x, lengths=lengths)[0], layer_input, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_merge_modes_combine_the_two_directions_as_documented(kind):
    cell = {"rnn": rnngrad.RNNCell, "lstm": rnngrad.LSTMCell, "gru": rnngrad.GRUCell}[kind](3, 4)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 2, 3))
    mask = rng.random((5, 2)) < 0.7
    results = {}
    for mode in ("concat", "sum", "mean"):
        model = MODELS[kind](3, 4, bidirectional=True, merge_mode=mode)
        params = random_params(model.param_shapes(), np.random.default_rng(0), scale=0.7)
        results[mode] = model(params, x, mask=mask)[0]
    forward_params = {key[: -len("_l0")]: v for key, v in params.items() if key.endswith("_l0")}
    backward_params = {key[: -len("_l0_reverse")]: v for key, v in params.items() if key.endswith("_l0_reverse")}
    state = cell.initial_state(2)
    forward, _ = rnngrad.unroll(cell, forward_params, x, state, mask=mask)
    backward, _ = rnngrad.unroll(cell, backward_params, x, state, mask=mask, reverse=True)
    np.testing.assert_allclose(results["concat"], np.concatenate([forward, backward], -1), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(results["sum"], forward + backward, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(results["mean"], (forward + backward) / 2, rtol=RTOL, atol=ATOL)


# -- learned initial state -----------------------------------------------------------------


@scaled(1)
@given(model=variant_models(learn_initial_state=True), seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 3))
def test_an_empty_call_returns_each_rows_own_learned_initial_state(model, seed, batch):
    """T = 0: h_n[k*N + d] (and c_n) is initial_{h,c}_l{k}[_reverse], broadcast over the batch."""
    params = random_params(model.param_shapes(), np.random.default_rng(seed))
    shape = (batch, 0) if model.batch_first else (0, batch)
    _, final = model(params, np.zeros(shape + (model.input_size,)))
    finals = final if isinstance(final, tuple) else (final,)
    names = model.cells[0][0].state_names
    for name, part in zip(names, finals):
        for k in range(model.num_layers):
            for d in range(model.num_directions):
                key = f"initial_{name}_l{k}" + ("_reverse" if d else "")
                np.testing.assert_array_equal(
                    part[k * model.num_directions + d], np.broadcast_to(params[key], part.shape[1:])
                )


@pytest.mark.parametrize(
    "model",
    [
        rnngrad.LSTM(2, 3, num_layers=2, bidirectional=True, learn_initial_state=True),
        rnngrad.LSTM(2, 3, proj_size=2, bidirectional=True, learn_initial_state=True),
        rnngrad.GRU(2, 3, num_layers=2, bidirectional=True, learn_initial_state=True, merge_mode="sum"),
        rnngrad.RNN(2, 3, num_layers=3, bidirectional=True, learn_initial_state=True, residual=True),
        rnngrad.GRU(2, 3, bidirectional=True, learn_initial_state=True, reset_after=False),
        rnngrad.LSTM(2, 3, bidirectional=True, learn_initial_state=True, layer_norm=True),
    ],
    ids=repr,
)
@pytest.mark.parametrize("impl", [None, "reference"])
def test_every_learned_initial_state_gets_a_gradient_equal_to_the_reference(model, impl):
    params = random_params(model.param_shapes(), np.random.default_rng(0), scale=0.7)
    x = np.random.default_rng(1).normal(size=(3, 2, 2))
    lengths = np.array([3, 2])
    gradient = grad(lambda p: probe_loss(*model(p, x, lengths=lengths, impl=impl)))(params)
    initial = [key for key in params if key.startswith("initial_")]
    assert len(initial) == len(model.cells[0][0].state_sizes) * model.num_layers * model.num_directions
    for key in initial:
        assert np.all(gradient[key] != 0.0), key

    # the same gradient as the initial_state argument broadcast from these parameters
    def explicit(p):
        parts = []
        for name in model.cells[0][0].state_names:
            rows = [
                p[f"initial_{name}_l{k}" + ("_reverse" if d else "")] * np.ones((2, 1))
                for k in range(model.num_layers)
                for d in range(model.num_directions)
            ]
            parts.append(anp.stack(rows))
        state = parts[0] if len(parts) == 1 else tuple(parts)
        return probe_loss(*model(p, x, lengths=lengths, initial_state=state, impl=impl))

    want = grad(explicit)(params)
    for key in initial:
        np.testing.assert_allclose(gradient[key], want[key], rtol=1e-10, atol=1e-12)


# -- float32 stays float32 ---------------------------------------------------------------------

OPTIONS = [
    {},
    {"dropout": 0.5, "num_layers": 2},
    {"weight_dropout": 0.5},
    {"variational_dropout": 0.5},
    {"residual": True, "num_layers": 2},
    {"bidirectional": True, "merge_mode": "sum", "num_layers": 2},
    {"bidirectional": True, "merge_mode": "mean"},
    {"learn_initial_state": True, "bidirectional": True},
    {"dropout": 0.3, "weight_dropout": 0.3, "variational_dropout": 0.3, "num_layers": 2, "bidirectional": True},
]
VARIANTS = [
    ("rnn", {}),
    ("rnn", {"nonlinearity": "relu"}),
    ("lstm", {}),
    ("lstm", {"proj_size": 2}),
    ("lstm", {"peephole": True}),
    ("lstm", {"layer_norm": True}),
    ("gru", {}),
    ("gru", {"reset_after": False}),
    ("gru", {"layer_norm": True}),
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v[0] + "".join(f"-{k}" for k in v[1]))
def test_float32_in_means_float32_out_under_training_for_every_option(variant, options):
    kind, extra = variant
    model = MODELS[kind](3, 4, **extra, **options)
    params = model.init(0, dtype=np.float32)
    x = np.random.default_rng(1).normal(size=(4, 2, 3)).astype(np.float32)

    def run(p):
        return model(p, x, lengths=[4, 2], train=True, rng=np.random.default_rng(3))

    output, final = run(params)
    assert output.dtype == np.float32
    for part in final if isinstance(final, tuple) else (final,):
        assert part.dtype == np.float32
    gradient = grad(lambda p: probe_loss(*run(p)))(params)
    assert {key: value.dtype for key, value in gradient.items()} == {key: np.dtype(np.float32) for key in params}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_one_layer_with_dropout_trains_without_an_rng_as_torch_does(kind):
    """Dropout acts only between layers: one layer has nowhere to apply it, so no rng is needed."""
    model = MODELS[kind](2, 3, dropout=0.5)
    params = model.init(0)
    x = np.random.default_rng(1).normal(size=(4, 2, 2))
    np.testing.assert_array_equal(model(params, x, train=True)[0], model(params, x)[0])
    deep = MODELS[kind](2, 3, num_layers=2, dropout=0.5)
    with pytest.raises(ValueError, match="rng"):
        deep(deep.init(0), x, train=True)
