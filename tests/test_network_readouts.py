"""The networks around a core, against constructions by hand: readouts, embeddings, the bag of embeddings."""

import numpy as np
import pytest

import rnngrad
from rnngrad import nn


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_final_readout_reads_the_last_layers_h_n_forward_then_backward(kind, bidirectional):
    core = {"rnn": rnngrad.RNN, "lstm": rnngrad.LSTM, "gru": rnngrad.GRU}[kind](
        4, 3, num_layers=2, bidirectional=bidirectional
    )
    net = rnngrad.RecurrentNet(core, 5, vocab_size=7)
    params = net.init(0)
    ids = np.random.default_rng(1).integers(0, 7, size=(6, 3))
    lengths = np.array([6, 2, 0])
    y, final = net(params, ids, lengths=lengths)
    x = params["embedding"]["weight"][ids]
    _, want_final = core(params["rnn"], x, lengths=lengths)
    h_n = want_final[0] if isinstance(want_final, tuple) else want_final
    features = np.concatenate(list(h_n[-core.num_directions :]), axis=-1)
    np.testing.assert_allclose(y, features @ params["readout"]["weight"].T + params["readout"]["bias"], rtol=1e-13)
    for got, want in zip(
        final if isinstance(final, tuple) else (final,), want_final if isinstance(want_final, tuple) else (want_final,)
    ):
        np.testing.assert_array_equal(got, want)


def test_steps_readout_maps_every_steps_output():
    core = rnngrad.GRU(2, 3, bidirectional=True)
    net = rnngrad.RecurrentNet(core, 4, readout="steps")
    params = net.init(0)
    x = np.random.default_rng(1).normal(size=(5, 2, 2))
    y, _ = net(params, x, lengths=[5, 3])
    output, _ = core(params["rnn"], x, lengths=[5, 3])
    np.testing.assert_allclose(y, nn.linear(params["readout"], output), rtol=1e-13)
    np.testing.assert_allclose(y[4, 1], params["readout"]["bias"], rtol=1e-13)  # padded: the readout of zeros
    assert net.param_shapes() == {
        "rnn": core.param_shapes(),
        "readout": {"weight": (4, 6), "bias": (4,)},
    }


def test_bag_of_embeddings_is_the_mean_over_valid_steps_then_linear():
    bag = rnngrad.BagOfEmbeddings(vocab_size=6, embedding_dim=3, num_outputs=2)
    params = bag.init(0)
    ids = np.array([[1, 2, 3], [4, 5, 0], [5, 1, 2]])  # (T, B)
    lengths = np.array([3, 1, 0])
    logits, state = bag(params, ids, lengths=lengths)
    table = params["embedding"]["weight"]
    means = [table[ids[:3, 0]].mean(0), table[ids[:1, 1]].mean(0), np.zeros(3)]
    expected = np.stack(means) @ params["readout"]["weight"].T + params["readout"]["bias"]
    np.testing.assert_allclose(logits, expected, rtol=1e-13)
    assert state is None
    # order-blind: permuting the valid steps changes nothing
    shuffled = ids.copy()
    shuffled[:3, 0] = shuffled[[2, 0, 1], 0]
    np.testing.assert_allclose(bag(params, shuffled, lengths=lengths)[0], logits, rtol=1e-13)


def test_forget_bias_reaches_every_cell_of_the_core():
    net = rnngrad.RecurrentNet(rnngrad.LSTM(2, 3, num_layers=2, bidirectional=True), 2)
    params = net.init(0, forget_bias=1.0)
    for key, value in params["rnn"].items():
        if key.startswith("bias_ih"):
            np.testing.assert_array_equal(value[3:6], 1.0)
        if key.startswith("bias_hh"):
            np.testing.assert_array_equal(value[3:6], 0.0)
