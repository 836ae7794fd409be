r"""The ``chars`` task: a character-level language model, and sampling from it.

The text is a user's file or, by default, a few kilobytes of public-domain
English shipped with the package (:func:`default_text`: Lincoln's Gettysburg
Address, 1863, and five of Shakespeare's sonnets, 1609). The model reads the
text as one stream and predicts each next character; it is trained by
truncated backpropagation through time (:func:`rnngrad.train.truncated_bptt`).

The memoryless baseline is the unigram model, which predicts every character
with its frequency in the training text: its cross-entropy is the entropy of
those frequencies, :math:`-\sum_c p_c \log p_c` nats per character.
"""

import importlib.resources
import math

import numpy as onp

from ..utilities import make_rng

__all__ = ["DEFAULT_TEXT", "default_text", "CharVocabulary", "unigram_entropy", "split_text", "sample"]

#: File name of the shipped public-domain text (in ``rnngrad/tasks/data``) used without ``--data``.
DEFAULT_TEXT = "public_domain.txt"


def default_text():
    """The shipped public-domain text (a few KB)."""
    return importlib.resources.files(__package__).joinpath("data", DEFAULT_TEXT).read_text(encoding="utf-8")


class CharVocabulary:
    """The characters of a text, sorted; ids index :attr:`chars`."""

    def __init__(self, text):
        self.chars = tuple(sorted(set(text)))
        if not self.chars:
            raise ValueError("text: expected a non-empty text, got an empty one")
        self.index = {char: i for i, char in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        missing = sorted(set(text) - set(self.index))
        if missing:
            raise ValueError(f"text: characters {missing} are not in the vocabulary")
        return onp.array([self.index[char] for char in text], dtype=onp.int64)

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


def unigram_entropy(ids, vocab_size, evaluated=None):
    """Cross-entropy (nats/char) of ``evaluated`` under the character frequencies of ``ids``.

    With ``evaluated=None`` it is the entropy of the frequencies themselves.
    Unseen characters get a count of one half, so the value stays finite.
    """
    counts = onp.bincount(ids, minlength=vocab_size).astype(float) + 0.5
    probabilities = counts / counts.sum()
    target = ids if evaluated is None else evaluated
    return float(-onp.mean(onp.log(probabilities[target])))


def split_text(ids, fractions=(0.9, 0.05, 0.05)):
    """Contiguous train/valid/test pieces of a stream (in this order, no shuffling across them)."""
    n = len(ids)
    a = int(math.floor(fractions[0] * n))
    b = a + int(math.floor(fractions[1] * n))
    return ids[:a], ids[a:b], ids[b:]


def sample(net, params, vocabulary, prime, length, *, temperature=1.0, seed=None):
    """Generate ``length`` characters after ``prime`` from a trained character model.

    The prime runs through the network in one call; then each drawn character
    is fed back one step at a time, the state carried by ``initial_state``.
    ``temperature`` divides the logits: below 1 sharper, above 1 more random.
    """
    if not temperature > 0:
        raise ValueError(f"temperature: expected a number > 0, got {temperature!r}")
    rng = make_rng(seed)
    ids = vocabulary.encode(prime or vocabulary.chars[0])
    logits, state = net(params, ids[:, None])
    drawn = []
    for _ in range(length):
        scaled = onp.asarray(logits[-1, 0], dtype=onp.float64) / temperature
        probabilities = onp.exp(scaled - scaled.max())
        probabilities /= probabilities.sum()
        char_id = int(rng.choice(len(probabilities), p=probabilities))
        drawn.append(char_id)
        logits, state = net(params, onp.array([[char_id]]), initial_state=state)
    return vocabulary.decode(drawn)
