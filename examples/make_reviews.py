"""Write ``examples/reviews.csv``: short made-up reviews whose label depends on word order.

Each review says that something "was" or "was not" good or bad, sometimes
with an aside between commas, so the file shows CSV quoting too
(``negative,"the room, sadly, was not lovely"``). The label flips with "not",
which a model must read in order: a linear function of word counts cannot
express "not" flipping whatever follows it.

Run from the repository's root (the output is the same on every run)::

    python examples/make_reviews.py
    rnngrad train --task text --data examples/reviews.csv
"""

import csv
import os

import numpy as np

SUBJECTS = ["the film", "the food", "the service", "our stay", "the music", "the room", "the staff", "the view"]
POSITIVE = ["good", "great", "lovely", "fine", "superb", "pleasant"]
NEGATIVE = ["bad", "awful", "dull", "poor", "terrible", "bland"]
ASIDES = ["to be honest", "sadly", "frankly", "as expected", "all in all"]
ROWS = 400
PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reviews.csv")


def review(rng):
    """One ``(label, text)`` pair."""
    word = str(rng.choice(POSITIVE + NEGATIVE))
    negated = bool(rng.random() < 0.5)
    text = f"{rng.choice(SUBJECTS)} was {'not ' if negated else ''}{word}"
    if rng.random() < 0.3:
        subject, rest = text.split(" was ", 1)
        text = f"{subject}, {rng.choice(ASIDES)}, was {rest}"
    label = "positive" if (word in POSITIVE) != negated else "negative"
    return label, text


def main(path=PATH):
    rng = np.random.default_rng(2026)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["label", "text"])
        for _ in range(ROWS):
            writer.writerow(review(rng))
    print(f"wrote {ROWS} rows to {path}")


if __name__ == "__main__":
    main()
