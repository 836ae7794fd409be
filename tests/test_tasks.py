"""Task generators: the labels depend on exactly what each task claims."""

import math

import numpy as np
import pytest

from rnngrad.tasks import adding, chars, copy, order, text


def test_order_labels_follow_the_rule_and_flip_with_the_order():
    sentences, ids, labels = order.generate(300, seed=0, max_length=9)
    assert 0.4 < labels.mean() < 0.6
    for sentence, sentence_ids, label in zip(sentences, ids, labels):
        assert 3 <= len(sentence) <= 9 and len(sentence_ids) == len(sentence)
        assert order.order_label(sentence) == label
        swapped = order.swap_order(sentence)
        assert sorted(swapped) == sorted(sentence)
        assert order.order_label(swapped) == 1 - label


def test_order_bag_of_words_carries_no_label_information():
    sentences, _, labels = order.generate(4000, seed=1, max_length=5)
    by_bag = {}
    for sentence, label in zip(sentences, labels):
        by_bag.setdefault(tuple(sorted(sentence)), []).append(label)
    # Each bag comes with both labels about equally often: pooled over bags, the
    # majority label of a bag predicts a fresh draw no better than chance.
    frequent = [np.mean(v) for v in by_bag.values() if len(v) >= 8]
    assert frequent and abs(np.mean(frequent) - 0.5) < 0.1


def test_order_examples_text():
    assert order.order_label("the movie was good not bad".split()) == 1
    assert order.order_label("the movie was bad not good".split()) == 0


def test_adding_target_is_the_sum_of_the_two_marked_values():
    x, y = adding.generate(50, 20, seed=0)
    assert x.shape == (20, 50, 2) and y.shape == (50, 1)
    markers = x[..., 1]
    assert np.all(markers.sum(axis=0) == 2)
    assert np.all(markers[:10].sum(axis=0) == 1)
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(axis=0))


def test_adding_trivial_predictor_has_mse_one_sixth():
    _, y = adding.generate(20000, 10, seed=1)
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.01


def test_copy_targets_repeat_the_symbols_after_the_delimiter():
    x, y = copy.generate(7, 5, seed=0)
    assert x.shape == y.shape == (25, 7)
    np.testing.assert_array_equal(y[-10:], x[:10])
    assert np.all(y[:15] == copy.BLANK) and np.all((x[:10] >= 1) & (x[:10] <= 8))
    assert np.all(x[14] == copy.DELIMITER) and np.all(x[10:14] == copy.BLANK) and np.all(x[15:] == copy.BLANK)
    assert copy.baseline(100) == pytest.approx(10 * math.log(8) / 120)


def test_text_tokenizer_vocabulary_and_csv_split(tmp_path):
    assert text.tokenize("Don't PANIC, 42 times!") == ["don't", "panic", "42", "times"]
    path = tmp_path / "data.csv"
    rows = ["label,text"] + [
        f'{"pos" if i % 2 else "neg"},"word{i % 5} is {"good" if i % 2 else "bad"}"' for i in range(40)
    ]
    path.write_text("\n".join(rows))
    data = text.load(path, seed=0)
    assert data["classes"] == ["neg", "pos"]
    assert [len(data[name][1]) for name in ("train", "valid", "test")] == [32, 4, 4]
    vocabulary = data["vocabulary"]
    assert vocabulary.tokens[:2] == ("<pad>", "<unk>")
    np.testing.assert_array_equal(vocabulary.encode(["good", "never-seen"])[1:], [1])
    ids, labels = data["test"]
    assert all(i.dtype == np.int64 for i in ids) and set(labels) <= {0, 1}


def test_text_csv_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("pos,fine\nlonely\n")
    with pytest.raises(ValueError, match="line 2"):
        text.read_csv(path)


def test_chars_default_text_is_shipped_and_round_trips():
    content = chars.default_text()
    assert 2000 < len(content) < 20000 and "Four score and seven years ago" in content
    vocabulary = chars.CharVocabulary(content)
    assert vocabulary.decode(vocabulary.encode(content)) == content
    ids = vocabulary.encode(content)
    assert 2.0 < chars.unigram_entropy(ids, len(vocabulary)) < math.log(len(vocabulary))
