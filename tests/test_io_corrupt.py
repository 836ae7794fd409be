"""Corrupted, truncated and foreign files are refused by rnngrad.io with a ValueError naming the file."""

import zipfile

import numpy as np
import pytest

import rnngrad
from rnngrad import io


@pytest.fixture
def model():
    return rnngrad.LSTM(3, 4, num_layers=2, bidirectional=True)


@pytest.fixture
def saved(tmp_path, model):
    return io.save_params(tmp_path / "params", model.init(seed=0))


def assert_clear_error(path, model):
    with pytest.raises(ValueError) as info:
        io.load_params(path, model)
    assert str(path) in str(info.value), f"the message does not name the file: {info.value}"


@pytest.mark.parametrize("keep", [0.0, 0.01, 0.5, 0.99])
def test_a_truncated_file_is_refused_naming_it(tmp_path, saved, model, keep):
    raw = open(saved, "rb").read()
    path = tmp_path / "truncated.npz"
    path.write_bytes(raw[: int(len(raw) * keep)])
    assert_clear_error(path, model)


def test_a_file_with_a_flipped_byte_is_refused_naming_it(tmp_path, saved, model):
    raw = bytearray(open(saved, "rb").read())
    raw[len(raw) // 2] ^= 0xFF
    path = tmp_path / "corrupted.npz"
    path.write_bytes(bytes(raw))
    assert_clear_error(path, model)


def test_a_text_file_is_refused_naming_it(tmp_path, model):
    path = tmp_path / "notes.npz"
    path.write_text("weight_ih_l0 = 1, 2, 3")
    assert_clear_error(path, model)


def test_a_single_npy_array_is_refused_naming_it(tmp_path, model):
    path = tmp_path / "one.npy"
    np.save(path, np.zeros(3))
    assert_clear_error(path, model)


@pytest.mark.parametrize("member", ["weight_ih_l0.npy", "readme.txt"])
def test_a_zip_whose_member_is_not_an_array_is_refused_naming_it(tmp_path, model, member):
    path = tmp_path / "other.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, b"not an array")
    assert_clear_error(path, model)


def test_a_bad_dtype_argument_names_dtype(saved, model):
    with pytest.raises(TypeError, match="dtype"):
        io.load_params(saved, model, dtype="junk")
