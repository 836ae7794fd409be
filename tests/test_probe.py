"""Probes find a planted flag unit held out, and report chance on labels that carry nothing."""

import numpy as np
import pytest

from rnngrad.probe import probe, unit_correlations


def _flags(rng, num_steps, batch):
    """Flags that switch on at a random step and stay on, as "a negation has been read" does."""
    onset = rng.integers(0, num_steps + 1, size=batch)
    return np.arange(num_steps)[:, None] >= onset[None, :]


def _states(rng, flags, size=8, unit=3, signal=2.0):
    states = rng.normal(size=flags.shape + (size,))
    states[..., unit] += signal * np.where(flags, 1.0, -1.0)
    return states


def test_probe_finds_the_planted_unit_and_scores_it_held_out():
    rng = np.random.default_rng(0)
    flags = _flags(rng, 20, 40)
    result = probe(_states(rng, flags), flags, permutations=50, seed=1)
    assert result.unit == 3
    assert result.unit_accuracy > 0.9 and result.accuracy > 0.9
    assert result.p_value < 0.05 and result.unit_p_value < 0.05
    assert result.permuted.mean() < 0.75


def test_probe_reports_chance_for_labels_unrelated_to_the_states():
    rng = np.random.default_rng(1)
    flags = _flags(rng, 20, 40)
    states = _states(rng, _flags(rng, 20, 40))  # a flag unit, but of another, independent flag
    result = probe(states, flags, permutations=50, seed=2)
    assert abs(result.accuracy - result.permuted.mean()) < 0.15
    assert result.p_value > 0.05


def test_probe_ignores_masked_steps():
    rng = np.random.default_rng(2)
    flags = _flags(rng, 10, 30)
    states = _states(rng, flags)
    mask = np.ones_like(flags)
    mask[5:, :10] = False
    states[5:, :10] = np.nan  # padding may hold anything
    flags_noisy = flags.copy()
    flags_noisy[5:, :10] = ~flags_noisy[5:, :10]
    assert probe(states, flags_noisy, mask=mask, permutations=10).unit == 3


def test_unit_correlations_of_a_copy_of_the_flag_is_one():
    flags = _flags(np.random.default_rng(3), 6, 5)
    states = np.stack([flags.astype(float), np.ones(flags.shape)], axis=-1)
    np.testing.assert_allclose(unit_correlations(states, flags), [1.0, 0.0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"labels": np.zeros((3, 4))}, "labels"),
        ({"labels": np.full((4, 5), 2)}, "labels"),
        ({"train_fraction": 1.0}, "train_fraction"),
        ({"permutations": 0}, "permutations"),
        ({"mask": np.ones((4, 5))}, "mask"),
    ],
)
def test_probe_names_a_bad_argument(kwargs, match):
    arguments = {"states": np.zeros((4, 5, 2)), "labels": np.zeros((4, 5), bool)} | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        probe(**arguments)
