"""The eight LSTM variants of Greff et al. (2017): each held to its own equations, and to the property battery.

The reference below is a transcription of the paper's equations (section II
and the variant list of section III) in plain NumPy with its own names: the
block input z, the gates, the peepholes p, the block output y. It shares no
code with rnngrad's cell: it reads the parameter dict by the layout stated
in the cell's docstring and nothing else.
"""

import numpy as np
import pytest
from hypothesis import settings

import rnngrad
from rnngrad.cells import GREFF_VARIANTS, GreffLSTMCell

D, H, B, T = 3, 4, 2, 5


def logistic(a):
    return 1.0 / (1.0 + np.exp(-a))


def paper_step(variant, p, x, y, c, previous_gates):
    """One step of Greff et al.'s LSTM block, variant by variant, on plain arrays."""
    rows = {
        "nig": "fzo",
        "nfg": "izo",
        "nog": "ifz",
        "cifg": "fzo",
    }.get(variant, "ifzo")
    W = {name: p["weight_ih"][k * H : (k + 1) * H] for k, name in enumerate(rows)}
    R = {name: p["weight_hh"][k * H : (k + 1) * H] for k, name in enumerate(rows)}
    b = {name: p["bias_ih"][k * H : (k + 1) * H] + p["bias_hh"][k * H : (k + 1) * H] for k, name in enumerate(rows)}
    no_peep = np.zeros(H)
    peep = {name: no_peep if variant == "np" else p.get(f"weight_c{name}") for name in "ifo"}

    def bar(name):
        total = x @ W[name].T + y @ R[name].T + b[name]
        if (
            variant == "fgr" and name != "z"
        ):  # R_{.name}: the rows of weight_gg for this gate, columns [i, f, o] of the last step
            k = "ifo".index(name)
            total = total + previous_gates @ p["weight_gg"][k * H : (k + 1) * H].T
        return total

    z_bar = bar("z")
    z = z_bar if variant == "niaf" else np.tanh(z_bar)
    f = logistic(bar("f") + peep["f"] * c) if "f" in rows else np.ones_like(c)
    if variant == "cifg":
        i = 1.0 - f
    elif "i" in rows:
        i = logistic(bar("i") + peep["i"] * c)
    else:
        i = np.ones_like(c)
    c_new = z * i + c * f
    o = logistic(bar("o") + peep["o"] * c_new) if "o" in rows else np.ones_like(c)
    y_new = (c_new if variant == "noaf" else np.tanh(c_new)) * o
    return y_new, c_new, np.concatenate([i, f, o], axis=1)


@pytest.mark.parametrize("variant", GREFF_VARIANTS)
def test_each_variant_equals_the_papers_equations_over_a_sequence(variant):
    cell = GreffLSTMCell(D, H, variant=variant)
    rng = np.random.default_rng(3)
    # larger than init's scale, so that every gate is far from 1/2 and every term matters
    params = {name: rng.normal(size=shape) for name, shape in cell.param_shapes().items()}
    x = rng.normal(size=(T, B, D))
    output, final = rnngrad.unroll(cell, params, x, cell.initial_state(B))
    y, c, gates = np.zeros((B, H)), np.zeros((B, H)), np.zeros((B, 3 * H))
    for t in range(T):
        y, c, gates = paper_step(variant, params, x[t], y, c, gates)
        np.testing.assert_allclose(output[t], y, rtol=1e-12, atol=1e-12, err_msg=f"{variant}: y at step {t}")
    np.testing.assert_allclose(final[1], c, rtol=1e-12, atol=1e-12)
    if variant == "fgr":
        np.testing.assert_allclose(final[2], gates, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("variant", GREFF_VARIANTS)
def test_each_variant_changes_the_function(variant):
    """No two variants compute the same function of the same-named parameters (no variant silently ignored)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(T, B, D))
    cell = GreffLSTMCell(D, H, variant=variant)
    params = {name: rng.normal(size=shape) for name, shape in cell.param_shapes().items()}
    mine = rnngrad.unroll(cell, params, x, cell.initial_state(B))[0]
    for other in GREFF_VARIANTS:
        other_cell = GreffLSTMCell(D, H, variant=other)
        if other == variant or other_cell.param_shapes() != cell.param_shapes():
            continue
        assert not np.allclose(rnngrad.unroll(other_cell, params, x, other_cell.initial_state(B))[0], mine), (
            variant,
            other,
        )


def test_the_baseline_is_the_peephole_lstm_and_np_is_torchs_lstm():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(T, B, D))
    for variant, known in (("vanilla", rnngrad.PeepholeLSTMCell(D, H)), ("np", rnngrad.LSTMCell(D, H))):
        params = known.init(rng)
        cell = GreffLSTMCell(D, H, variant=variant)
        assert cell.param_shapes() == known.param_shapes()
        np.testing.assert_allclose(
            rnngrad.unroll(cell, params, x, cell.initial_state(B))[0],
            rnngrad.unroll(known, params, x, known.initial_state(B))[0],
        )


@pytest.mark.parametrize("variant", ["vanilla", "nig", "cifg"])
def test_forget_bias_opens_the_forget_gate_where_there_is_one(variant):
    cell = GreffLSTMCell(D, H, variant=variant)
    params = cell.init(0, forget_bias=3.0)
    block = cell.gates.index("f")
    np.testing.assert_array_equal(params["bias_ih"][block * H : (block + 1) * H], 3.0)


def test_forget_bias_is_refused_without_a_forget_gate():
    with pytest.raises(ValueError, match="forget_bias"):
        GreffLSTMCell(D, H, variant="nfg").init(0, forget_bias=1.0)


@pytest.mark.parametrize("bad", ["NFG", "peephole", 3, None])
def test_an_unknown_variant_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="variant"):
        GreffLSTMCell(D, H, variant=bad)


@pytest.mark.parametrize("variant", GREFF_VARIANTS)
def test_each_variant_passes_the_property_battery(variant):
    """The whole battery of rnngrad.testing, at a fifth of the profile's examples (nine cells)."""
    from rnngrad.testing import check_cell

    check_cell(
        lambda d: GreffLSTMCell(d, 3, variant=variant),
        settings=settings(settings.default, max_examples=max(3, settings.default.max_examples // 5)),
    )


@pytest.mark.parametrize(
    ("variant", "shown"),
    [("vanilla", "fgio"), ("nig", "fgo"), ("nfg", "gio"), ("nog", "fgi"), ("cifg", "fgio"), ("fgr", "fgio")],
)
def test_a_trace_shows_the_gates_each_variant_has(variant, shown):
    from rnngrad.trace import trace

    model = rnngrad.Recurrent(lambda d: GreffLSTMCell(d, H, variant=variant), input_size=D)
    params = model.init(0)
    record = trace(model, params, np.random.default_rng(0).normal(size=(T, B, D)))
    gates = sorted(name for name in record.records[0][0] if name in "ifgo")
    assert "".join(gates) == shown
    if variant == "cifg":
        np.testing.assert_allclose(record.values("i"), 1.0 - record.values("f"))
