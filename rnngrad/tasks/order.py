r"""The ``order`` task: sentences whose meaning is in their word order only.

Each sentence holds one positive and one negative sentiment word, one
``not`` right before one of them, and filler words around::

    the movie was good not bad      -> positive (1)
    the movie was bad not good      -> negative (0)

The negated word is the one right after ``not``; the label is the polarity of
the other one. Swapping the two sentiment words flips the label and leaves
the bag of words unchanged, and both orders are drawn equally often, so a
classifier that only sees the bag of words (:class:`rnngrad.nets.BagOfEmbeddings`)
cannot beat chance (0.5) on fresh sentences, while a recurrent classifier,
which reads in order, can learn the rule.
"""

import numpy as onp

from .._validation import check_positive_int
from ..utilities import make_rng

__all__ = ["POSITIVE", "NEGATIVE", "FILLERS", "NEGATION", "VOCABULARY", "order_label", "swap_order", "generate"]

#: Words of positive sentiment.
POSITIVE = ("good", "great", "fine", "nice", "excellent", "wonderful", "pleasant", "superb")
#: Words of negative sentiment.
NEGATIVE = ("bad", "awful", "poor", "terrible", "dull", "boring", "weak", "horrible")
#: Neutral words that pad a sentence and carry no label.
FILLERS = ("the", "movie", "film", "was", "is", "really", "quite", "plot", "acting", "very", "so", "and", "it")
#: The word that reverses the sentiment of the word after it.
NEGATION = "not"
#: token id 0 is padding; then fillers, sentiment words and ``not``.
VOCABULARY = ("<pad>",) + FILLERS + POSITIVE + NEGATIVE + (NEGATION,)
_INDEX = {word: i for i, word in enumerate(VOCABULARY)}
MIN_LENGTH = 3


def order_label(tokens):
    """The label by the rule: 1 if the sentiment word *not* right after ``not`` is positive, else 0."""
    for i, word in enumerate(tokens):
        if word in POSITIVE or word in NEGATIVE:
            negated = i > 0 and tokens[i - 1] == NEGATION
            if not negated:
                return int(word in POSITIVE)
    raise ValueError(f"tokens: expected one sentiment word not preceded by {NEGATION!r}, got {tokens}")


def swap_order(tokens):
    """The same bag of words with the two sentiment words exchanged (the label flips)."""
    positions = [i for i, word in enumerate(tokens) if word in POSITIVE or word in NEGATIVE]
    swapped = list(tokens)
    first, second = positions
    swapped[first], swapped[second] = tokens[second], tokens[first]
    return swapped


def _sentence(rng, max_length):
    positive, negative = rng.choice(POSITIVE), rng.choice(NEGATIVE)
    label = int(rng.integers(2))
    first, second = (positive, negative) if label else (negative, positive)
    num_fillers = int(rng.integers(0, max_length - MIN_LENGTH + 1))
    # Fillers go before, between and after the phrase; "not" stays glued to the second word.
    cuts = onp.sort(rng.integers(0, num_fillers + 1, size=2))
    fillers = list(rng.choice(FILLERS, size=num_fillers))
    tokens = fillers[: cuts[0]] + [first] + fillers[cuts[0] : cuts[1]] + [NEGATION, second] + fillers[cuts[1] :]
    return [str(word) for word in tokens], label


def generate(num_examples, seed=None, *, max_length=8):
    """Draw ``num_examples`` sentences of 3 to ``max_length`` words.

    Returns:
        ``(sentences, ids, labels)``: the token lists, their id arrays (into
        :data:`VOCABULARY`, no padding) and the labels (int64, 1 = positive).
    """
    num_examples = check_positive_int("num_examples", num_examples)
    max_length = check_positive_int("max_length", max_length, minimum=MIN_LENGTH)
    rng = make_rng(seed)
    sentences, labels = zip(*(_sentence(rng, max_length) for _ in range(num_examples)))
    ids = [onp.array([_INDEX[word] for word in sentence], dtype=onp.int64) for sentence in sentences]
    return list(sentences), ids, onp.array(labels, dtype=onp.int64)
