"""Saving, loading and torch conversion: bit-exact round trips and errors that list every difference."""

import numpy as np
import pytest

import rnngrad
from rnngrad.io import from_torch, load_params, save_params, to_torch
from rnngrad.nets import RecurrentNet


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_round_trip_is_bit_exact(tmp_path, dtype):
    model = rnngrad.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    params = model.init(0, dtype=dtype)
    path = save_params(tmp_path / "p", params)
    assert path.endswith(".npz")
    loaded = load_params(path, model, dtype=dtype)
    assert list(loaded) == list(params)
    for key in params:
        assert loaded[key].dtype == params[key].dtype
        np.testing.assert_array_equal(loaded[key], params[key])


def test_nested_params_save_under_dotted_names(tmp_path):
    net = RecurrentNet(rnngrad.GRU(4, 5), 3, vocab_size=7)
    params = net.init(1)
    path = save_params(tmp_path / "net.npz", params)
    with np.load(path, allow_pickle=False) as archive:
        assert "rnn.weight_ih_l0" in archive.files and "embedding.weight" in archive.files
    loaded = load_params(path, net)
    np.testing.assert_array_equal(loaded["readout"]["weight"], params["readout"]["weight"])


def test_load_lists_every_difference_from_the_model(tmp_path):
    model = rnngrad.RNN(3, 4)
    params = model.init(0)
    params["weight_hh_l0"] = np.zeros((4, 5))
    del params["bias_ih_l0"]
    params["extra"] = np.zeros(2)
    path = save_params(tmp_path / "bad", params)
    with pytest.raises(ValueError) as info:
        load_params(path, model)
    message = str(info.value)
    assert "missing keys ['bias_ih_l0']" in message and "unknown keys ['extra']" in message
    assert "'weight_hh_l0' has shape (4, 5), the model expects (4, 4)" in message
    good = save_params(tmp_path / "good", model.init(0))
    with pytest.raises(ValueError, match="expected dtype float32"):
        load_params(good, model, dtype=np.float32)


def test_torch_conversion_runs_the_same_network_both_ways():
    torch = pytest.importorskip("torch")
    model = rnngrad.LSTM(3, 4, num_layers=2, bidirectional=True)
    params = model.init(0)
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    module = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    module.load_state_dict(to_torch(params))
    expected, _ = module(torch.tensor(x))
    np.testing.assert_allclose(model(params, x)[0], expected.detach().numpy(), rtol=1e-12, atol=1e-14)

    torch.manual_seed(0)  # an unseeded module made this comparison flaky near zero outputs
    other = torch.nn.GRU(3, 4).float()
    back = from_torch(other.state_dict(), rnngrad.GRU(3, 4), dtype=np.float32)
    got, _ = rnngrad.GRU(3, 4)(back, x.astype(np.float32))
    np.testing.assert_allclose(
        got, other(torch.tensor(x, dtype=torch.float32))[0].detach().numpy(), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="missing keys"):
        from_torch(other.state_dict(), rnngrad.GRU(3, 4, num_layers=2))


def test_torch_conversion_of_a_whole_network():
    torch = pytest.importorskip("torch")
    net = RecurrentNet(rnngrad.RNN(4, 5), 2, vocab_size=6)
    params = net.init(2)

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(6, 4)
            self.rnn = torch.nn.RNN(4, 5)
            self.readout = torch.nn.Linear(5, 2)

        def forward(self, ids):
            _, h_n = self.rnn(self.embedding(ids))
            return self.readout(h_n[-1])

    module = Classifier().double()
    module.load_state_dict(to_torch(params))
    ids = np.random.default_rng(1).integers(0, 6, size=(7, 3))
    expected = module(torch.tensor(ids)).detach().numpy()
    np.testing.assert_allclose(net(params, ids)[0], expected, rtol=1e-12)
    round_trip = from_torch(module.state_dict(), net)
    np.testing.assert_array_equal(round_trip["rnn"]["weight_hh_l0"], params["rnn"]["weight_hh_l0"])


@pytest.mark.parametrize(
    "params, words",
    [
        ({"w": np.array(["a", "b"])}, ["float32 or float64", "<U1"]),
        ({"w": np.arange(3)}, ["float32 or float64", "int64"]),
        ({"w": np.zeros(2), "v": np.zeros(2, np.float32)}, ["mix dtypes"]),
    ],
    ids=["strings", "integers", "mixed float dtypes"],
)
def test_save_params_refuses_what_load_params_would_refuse_and_writes_nothing(tmp_path, params, words):
    with pytest.raises(ValueError) as error:
        save_params(tmp_path / "p.npz", params)
    assert all(word in str(error.value) for word in words), str(error.value)
    assert not (tmp_path / "p.npz").exists()
