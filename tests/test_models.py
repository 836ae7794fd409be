"""The models' construction: hyperparameters as Python values, immutability, the cell factory, init."""

import dataclasses

import numpy as np
import pytest

import rnngrad


@pytest.mark.parametrize(
    "build",
    [
        lambda: rnngrad.LSTM(np.int64(3), np.int64(4), np.int64(2), proj_size=np.int64(2), bias=np.bool_(True)),
        lambda: rnngrad.GRU(np.int32(3), np.int64(4), bias=np.bool_(False)),
        lambda: rnngrad.RNN(np.int64(3), np.uint8(4), bidirectional=np.bool_(True)),
    ],
    ids=["LSTM", "GRU", "RNN"],
)
def test_hyperparameters_given_as_numpy_scalars_are_stored_as_python_values(build):
    model = build()
    assert "np." not in repr(model)
    for name, value in model._options().items():
        assert type(value) in (int, float, bool, str), (name, type(value))


def test_models_and_cells_are_frozen_the_same_way():
    with pytest.raises(dataclasses.FrozenInstanceError):
        rnngrad.LSTM(2, 3).hidden_size = 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        rnngrad.LSTMCell(2, 3).hidden_size = 4


def test_recurrent_runs_a_wrapper_cell_that_has_no_standard_fields():
    @dataclasses.dataclass(frozen=True)
    class Doubled(rnngrad.AbstractCell):
        inner: rnngrad.AbstractCell

        def param_shapes(self):
            return self.inner.param_shapes()

        @property
        def state_sizes(self):
            return self.inner.state_sizes

        def step(self, params, x, state):
            output, new = self.inner.step(params, 2 * x, state)
            return output, new

    model = rnngrad.Recurrent(lambda width: Doubled(rnngrad.GRUCell(width, 3)), 2)
    params = rnngrad.GRU(2, 3).init(0)
    x = np.random.default_rng(0).normal(size=(4, 1, 2))
    output, _ = model(params, x)
    np.testing.assert_allclose(output, rnngrad.GRU(2, 3)(params, 2 * x)[0], rtol=1e-14)
    with pytest.raises(TypeError, match="no init"):
        model.init(0)


@pytest.mark.parametrize("make_cell", [rnngrad.LSTMCell, rnngrad.MGUCell])
def test_forget_bias_is_set_the_same_way_by_the_model_and_the_network(make_cell):
    core = rnngrad.Recurrent(lambda width: make_cell(width, 3), 2, num_layers=2)
    direct = core.init(0, forget_bias=1.5)
    through_net = rnngrad.RecurrentNet(core, 1).init(0, forget_bias=1.5)["rnn"]
    plain = core.init(0)
    block = make_cell(2, 3).forget_gate_block
    for key in direct:
        np.testing.assert_array_equal(through_net[key], direct[key])
        if key.startswith("bias_ih"):
            np.testing.assert_array_equal(direct[key][3 * block : 3 * block + 3], 1.5)
        elif not key.startswith("bias_hh"):
            np.testing.assert_array_equal(direct[key], plain[key])


def test_forget_bias_for_a_cell_without_a_forget_gate_is_an_error_everywhere():
    with pytest.raises(ValueError, match="forget_bias: GRUCell has no forget gate"):
        rnngrad.RecurrentNet(rnngrad.GRU(2, 3), 1).init(0, forget_bias=1.0)
