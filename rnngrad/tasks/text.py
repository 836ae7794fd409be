"""The ``text`` task: classify the user's own texts, read from a CSV file of ``label,text`` rows.

A first row ``label,text`` is taken as a header and skipped. The tokenizer
is deliberately simple (lower case, runs of letters and digits, with an
inner apostrophe kept: ``"Don't panic!"`` -> ``["don't", "panic"]``); the
vocabulary keeps words seen at least ``min_count`` times in the training
split, others become ``<unk>``.
"""

import collections
import csv
import re

import numpy as onp

from ..utilities import make_rng

__all__ = ["PAD", "UNK", "tokenize", "Vocabulary", "read_csv", "load"]

#: The padding token (id 0 in every vocabulary).
PAD = "<pad>"
#: The token for words outside the vocabulary (id 1).
UNK = "<unk>"
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text):
    """Lower-case words: runs of letters and digits, an inner apostrophe kept."""
    return _WORD.findall(text.lower())


class Vocabulary:
    """Token <-> id, with ``<pad>`` = 0 and ``<unk>`` = 1.

    Args:
        tokens: the known tokens in id order (after the two reserved ones).
    """

    def __init__(self, tokens):
        self.tokens = (PAD, UNK) + tuple(token for token in tokens if token not in (PAD, UNK))
        self.index = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def build(cls, token_lists, *, min_count=1, max_size=None):
        """The tokens of ``token_lists`` seen at least ``min_count`` times, most frequent first."""
        counts = collections.Counter(token for tokens in token_lists for token in tokens)
        ranked = sorted((token for token, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t))
        return cls(ranked[:max_size] if max_size else ranked)

    def __len__(self):
        return len(self.tokens)

    def encode(self, tokens):
        """Ids (int64) of ``tokens``; unknown ones map to ``<unk>``."""
        return onp.array([self.index.get(token, 1) for token in tokens], dtype=onp.int64)

    def decode(self, ids):
        return [self.tokens[i] for i in ids]


def read_csv(path):
    """``(labels, texts)``: two lists of strings from a ``label,text`` CSV file."""
    labels, texts = [], []
    with open(path, newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or (number == 1 and [cell.strip().lower() for cell in row[:2]] == ["label", "text"]):
                continue
            if len(row) < 2:
                raise ValueError(f"{path}, line {number}: expected 'label,text', got {row!r}")
            labels.append(row[0].strip())
            texts.append(",".join(row[1:]))
    if not labels:
        raise ValueError(f"{path}: expected rows 'label,text', found none")
    return labels, texts


def load(path, seed=None, *, fractions=(0.8, 0.1, 0.1), min_count=1):
    """Read, tokenize, split (shuffled by ``seed``) and encode a CSV data set.

    Returns:
        a dict: ``vocabulary`` (built on the training split), ``classes``
        (label names, sorted), and ``train``, ``valid``, ``test``, each
        ``(ids, labels)``: a list of int64 id arrays (empty texts become one
        ``<unk>``) and an int64 label array.
    """
    labels, texts = read_csv(path)
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"fractions: expected three numbers >= 0 summing to 1, got {fractions}")
    classes = sorted(set(labels))
    class_index = {name: i for i, name in enumerate(classes)}
    order = make_rng(seed).permutation(len(labels))
    num_train = max(1, int(round(fractions[0] * len(labels))))
    num_valid = int(round(fractions[1] * len(labels)))
    parts = {
        "train": order[:num_train],
        "valid": order[num_train : num_train + num_valid],
        "test": order[num_train + num_valid :],
    }
    tokens = [tokenize(text) or [UNK] for text in texts]
    vocabulary = Vocabulary.build([tokens[i] for i in parts["train"]], min_count=min_count)
    result = {"vocabulary": vocabulary, "classes": classes}
    for name, indices in parts.items():
        ids = [vocabulary.encode(tokens[i]) for i in indices]
        result[name] = (ids, onp.array([class_index[labels[i]] for i in indices], dtype=onp.int64))
    return result
