r"""The ``agreement`` task: sentences whose label needs a negation and a subject held in memory.

Each sentence names a subject (one or two people), may negate a feeling
with ``not``, and ends with a pronoun that does or does not agree with the
subject, with fillers in between::

    alice felt not really sad , so she left            -> positive (1)
    alice and tom felt very sad , so they left           -> negative (2)
    tom felt not quite calm today , so she left          -> mismatch (0)

The label is 0 when the pronoun disagrees with the subject (``she`` for one
woman, ``he`` for one man, ``they`` for two people), else the polarity of
the feeling, reversed by ``not``: 1 positive, 2 negative. A network must
carry two facts across the fillers: whether a ``not`` was read, until the
feeling arrives, and the subject's number and gender, until the pronoun.

The generator also returns, for every step, the ground truth of those facts
as flags (:data:`FLAGS`), each with the window of steps where it is still
needed, so that a probe (:func:`rnngrad.probe.probe`) can ask whether a
trained network's state tracks them:

* ``negation``: a ``not`` has been read; needed from the subject until the
  step before the feeling word;
* ``plural``: the subject is two people (raised at ``and``); needed from
  the subject until the step before the pronoun;
* ``feminine``: the first person named is a woman; needed over the same window.

An order-blind reader cannot solve it: agreement is an interaction between
the names and the pronoun, and ``not`` reverses the feeling it precedes.
"""

from dataclasses import dataclass

import numpy as onp

from .._validation import check_positive_int
from ..utilities import make_rng

__all__ = [
    "FEMININE",
    "MASCULINE",
    "POSITIVE",
    "NEGATIVE",
    "FILLERS",
    "VOCABULARY",
    "FLAGS",
    "CLASSES",
    "Sentences",
    "label_of",
    "flags_of",
    "generate",
]

#: Names of women.
FEMININE = ("alice", "mary", "emma", "anna")
#: Names of men.
MASCULINE = ("tom", "john", "paul", "mark")
#: Feelings of positive polarity.
POSITIVE = ("happy", "calm", "glad", "proud")
#: Feelings of negative polarity.
NEGATIVE = ("sad", "angry", "tired", "afraid")
#: Words that pad a sentence between its parts and carry nothing.
FILLERS = ("really", "very", "quite", "rather", "today", "again", "still")
_FRAME = ("and", "felt", "not", ",", "so", "left")
_PRONOUNS = ("she", "he", "they")
#: token id 0 is padding; then names, feelings, fillers, the frame words and the pronouns.
VOCABULARY = ("<pad>",) + FEMININE + MASCULINE + POSITIVE + NEGATIVE + FILLERS + _FRAME + _PRONOUNS
_INDEX = {word: i for i, word in enumerate(VOCABULARY)}
#: The per-step facts the generator reports, each with its window.
FLAGS = ("negation", "plural", "feminine")
#: The label names by class: the pronoun disagrees, a positive feeling, a negative feeling.
CLASSES = ("mismatch", "positive", "negative")


def _pronoun_of(names):
    if len(names) == 2:
        return "they"
    return "she" if names[0] in FEMININE else "he"


def label_of(tokens):
    """The label of a sentence by the rule of the task (0 mismatch, 1 positive, 2 negative)."""
    names = [word for word in tokens if word in FEMININE or word in MASCULINE]
    pronoun = next(word for word in tokens if word in _PRONOUNS)
    if pronoun != _pronoun_of(names):
        return 0
    feeling = next(word for word in tokens if word in POSITIVE or word in NEGATIVE)
    positive = (feeling in POSITIVE) != ("not" in tokens)
    return 1 if positive else 2


def flags_of(tokens):
    """``({flag: (T,) bool}, {flag: (T,) bool window})`` for one sentence, by reading it word by word."""
    steps = len(tokens)
    values = {name: onp.zeros(steps, bool) for name in FLAGS}
    windows = {name: onp.zeros(steps, bool) for name in FLAGS}
    feeling = next(i for i, word in enumerate(tokens) if word in POSITIVE or word in NEGATIVE)
    pronoun = next(i for i, word in enumerate(tokens) if word in _PRONOUNS)
    seen = {"negation": False, "plural": False, "feminine": False}
    for t, word in enumerate(tokens):
        if t == 0:
            seen["feminine"] = word in FEMININE
        seen["negation"] |= word == "not"
        seen["plural"] |= word == "and"
        for name in FLAGS:
            values[name][t] = seen[name]
    windows["negation"][:feeling] = True
    windows["plural"][:pronoun] = True
    windows["feminine"][:pronoun] = True
    return values, windows


def _sentence(rng, max_fillers):
    names = [str(rng.choice(FEMININE + MASCULINE))]
    if rng.random() < 0.5:
        others = [name for name in FEMININE + MASCULINE if name != names[0]]
        names.append(str(rng.choice(others)))
    subject = names if len(names) == 1 else [names[0], "and", names[1]]
    negated = rng.random() < 0.5
    feeling = str(rng.choice(POSITIVE if rng.random() < 0.5 else NEGATIVE))

    def fillers():
        return [str(word) for word in rng.choice(FILLERS, size=int(rng.integers(0, max_fillers + 1)))]

    agreeing = _pronoun_of(names)
    # a third of the sentences disagree, so the three classes come equally often
    pronoun = agreeing if rng.random() < 2 / 3 else str(rng.choice([p for p in _PRONOUNS if p != agreeing]))
    tokens = subject + ["felt"] + (["not"] if negated else []) + fillers() + [feeling] + fillers()
    return tokens + [",", "so", pronoun, "left"]


@dataclass(frozen=True)
class Sentences:
    """What :func:`generate` draws.

    Attributes:
        sentences: the token lists.
        ids: their id arrays (into :data:`VOCABULARY`, no padding).
        labels: (N,) int64, an index into :data:`CLASSES`.
        flags: ``{flag: [(T_n,) bool per sentence]}``, the ground truth of each flag after each word.
        windows: ``{flag: [(T_n,) bool per sentence]}``, the steps where the flag is still needed.
    """

    sentences: list
    ids: list
    labels: onp.ndarray
    flags: dict
    windows: dict


def generate(num_examples, seed=None, *, max_fillers=4):
    """Draw ``num_examples`` sentences with up to ``max_fillers`` fillers at each of two places.

    Returns:
        a :class:`Sentences`.
    """
    num_examples = check_positive_int("num_examples", num_examples)
    max_fillers = check_positive_int("max_fillers", max_fillers, minimum=0)
    rng = make_rng(seed)
    sentences = [_sentence(rng, max_fillers) for _ in range(num_examples)]
    truth = [flags_of(tokens) for tokens in sentences]
    return Sentences(
        sentences=sentences,
        ids=[onp.array([_INDEX[word] for word in tokens], dtype=onp.int64) for tokens in sentences],
        labels=onp.array([label_of(tokens) for tokens in sentences], dtype=onp.int64),
        flags={name: [values[name] for values, _ in truth] for name in FLAGS},
        windows={name: [windows[name] for _, windows in truth] for name in FLAGS},
    )
