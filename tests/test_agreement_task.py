"""The agreement task: the rule on hand-checked sentences, flags read word by word, determinism."""

import numpy as np
import pytest

from rnngrad.tasks import agreement


@pytest.mark.parametrize(
    "sentence, label",
    [
        ("alice felt not really sad , so she left", 1),
        ("alice and tom felt very sad , so they left", 2),
        ("tom felt not quite calm today , so she left", 0),
        ("tom felt happy , so he left", 1),
        ("mary and anna felt not proud , so they left", 2),
        ("mary and anna felt glad , so she left", 0),
    ],
)
def test_label_follows_the_rule_on_hand_checked_sentences(sentence, label):
    assert agreement.label_of(sentence.split()) == label


def test_flags_are_raised_when_their_word_is_read_and_windows_end_where_they_are_used():
    tokens = "alice and tom felt not very sad , so they left".split()
    values, windows = agreement.flags_of(tokens)
    np.testing.assert_array_equal(values["plural"], [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(values["negation"], [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(values["feminine"], [1] * 11)
    np.testing.assert_array_equal(windows["negation"], [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(windows["plural"], [1] * 9 + [0, 0])


def test_generate_is_determined_by_its_seed_and_consistent_with_the_rule():
    first, second = agreement.generate(200, seed=3), agreement.generate(200, seed=3)
    assert first.sentences == second.sentences
    np.testing.assert_array_equal(first.labels, second.labels)
    assert first.labels.dtype == np.int64 and set(first.labels) == {0, 1, 2}
    for tokens, ids, label in zip(first.sentences, first.ids, first.labels):
        assert [agreement.VOCABULARY[i] for i in ids] == tokens
        assert agreement.label_of(tokens) == label
    counts = np.bincount(first.labels, minlength=3) / 200
    assert np.all(np.abs(counts - 1 / 3) < 0.1)
    assert all(len(f) == len(s) for f, s in zip(first.flags["negation"], first.sentences))


def test_generate_names_a_bad_argument():
    with pytest.raises(ValueError, match="num_examples"):
        agreement.generate(0)
    with pytest.raises(ValueError, match="max_fillers"):
        agreement.generate(3, max_fillers=-1)
