"""Initialization as documented: torch's uniform(-1/sqrt(H), 1/sqrt(H)), gains and shifts, forget_bias."""

import numpy as np
import pytest

import rnngrad

CELLS = [
    rnngrad.RNNCell(5, 16),
    rnngrad.LSTMCell(5, 16),
    rnngrad.LSTMCell(5, 16, proj_size=4),
    rnngrad.GRUCell(5, 16),
    rnngrad.GRUCell(5, 16, reset_after=False),
    rnngrad.PeepholeLSTMCell(5, 16),
    rnngrad.LayerNormLSTMCell(5, 16),
    rnngrad.LayerNormGRUCell(5, 16),
    rnngrad.MGUCell(5, 16),
]


@pytest.mark.parametrize("cell", CELLS, ids=repr)
def test_default_init_fills_the_documented_uniform_range(cell):
    params = cell.init(0)
    bound = 1 / np.sqrt(16)
    for name, value in params.items():
        assert value.shape == cell.param_shapes()[name]
        if name.startswith("norm_"):
            expected = 0.0 if name.endswith("_bias") else 1.0
            np.testing.assert_array_equal(value, expected, err_msg=name)  # gains start at 1, shifts at 0
            continue
        assert np.abs(value).max() <= bound, name
        if value.size >= 16:
            # a uniform draw of this many entries comes within 20% of the bound (chance of failing < 1e-3)
            assert np.abs(value).max() > 0.8 * bound, name
            assert abs(value.mean()) < bound / 2, name


@pytest.mark.parametrize("cell", [c for c in CELLS if c.forget_gate_block is not None and c.bias], ids=repr)
def test_forget_bias_sets_exactly_the_forget_gates_rows(cell):
    plain, biased = cell.init(3), cell.init(3, forget_bias=1.5)
    H = cell.hidden_size
    rows = np.zeros(plain["bias_ih"].shape[0], bool)
    rows[cell.forget_gate_block * H : (cell.forget_gate_block + 1) * H] = True
    np.testing.assert_array_equal(biased["bias_ih"][rows], 1.5)
    np.testing.assert_array_equal(biased["bias_hh"][rows], 0.0)
    np.testing.assert_array_equal(biased["bias_ih"][~rows], plain["bias_ih"][~rows])
    np.testing.assert_array_equal(biased["bias_hh"][~rows], plain["bias_hh"][~rows])
    # the documented gate: row block 1 (i, f, g, o) for the LSTMs, block 0 (f, n) for the MGU
    assert cell.forget_gate_block == (0 if isinstance(cell, rnngrad.MGUCell) else 1)
