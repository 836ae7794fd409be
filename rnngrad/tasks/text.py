"""The ``text`` task: classify the user's own texts, read from a CSV file.

The file holds one text and its label per row (by default the label first:
``positive,the film was not bad``); a first row naming the columns
(``label,text``) is a header. :func:`read_csv` says what is refused and how
other layouts are read. ``examples/reviews.csv`` in the repository is a
small example (made by ``examples/make_reviews.py``). The tokenizer
is deliberately simple (lower case, runs of letters and digits, with an
inner apostrophe kept: ``"Don't panic!"`` -> ``["don't", "panic"]``); the
vocabulary keeps words seen at least ``min_count`` times in the training
split, others become ``<unk>``.
"""

import collections
import csv
import numbers
import os
import re

import numpy as onp

from .._validation import check_positive_int
from ..utilities import make_rng

__all__ = ["PAD", "UNK", "MIN_ROWS_PER_CLASS", "tokenize", "Vocabulary", "read_csv", "split", "load"]

#: The padding token (id 0 in every vocabulary).
PAD = "<pad>"
#: The token for words outside the vocabulary (id 1).
UNK = "<unk>"
#: :func:`read_csv` refuses a file with a class of fewer rows (too few to
#: reach the training, validation and test splits).
MIN_ROWS_PER_CLASS = 5
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


def read_csv(path, *, label_column=None, text_column=None, min_per_class=MIN_ROWS_PER_CLASS):
    """``(labels, texts)``: two lists of strings read from a CSV file, checked.

    The file is read by Python's :mod:`csv` module (RFC 4180: a field with a
    comma, a quote or a line break is quoted, ``"a fine, long film"``; a
    quote inside is doubled). It is refused, with the line where the bad
    record starts, when a quote is never closed or stray text follows a
    closing quote, when a row has a different number of fields than the
    first, and when a label is empty. Blank lines are skipped.

    Columns: ``label_column`` and ``text_column`` are names (found in a
    header) or 0-based indices. The first row is a header when it holds both
    names (``label`` and ``text`` by default, compared without case and
    surrounding spaces); without a header the label is column 0 and the text
    column 1 unless given by index.

    Classes: at least two, each with at least ``min_per_class`` rows; a
    header that was not recognised shows up here as a class of one row, and
    a label read from the text column as many such classes, so the message
    says which columns were used.

    Raises:
        ValueError: naming the file, the line and what was expected.
    """
    path = os.fspath(path)
    label_name = "label" if label_column is None else label_column
    text_name = "text" if text_column is None else text_column
    records = _records(path)
    if not records:
        raise ValueError(f"{path}: expected rows of a label and a text, found none")
    first_line, first = records[0]
    header = [cell.strip().lower() for cell in first]
    label_index = _column(path, "label_column", label_name, header, default=0)
    text_index = _column(path, "text_column", text_name, header, default=1)
    named = [column for column in (label_name, text_name) if _column_index(column) is None]
    # A header names the columns given by name; with indices only, it is one that says label and text.
    has_header = all(_is_name(column, header) for column in named) if named else {"label", "text"} <= set(header)
    if label_index == text_index:
        raise ValueError(f"label_column, text_column: expected two different columns, got column {label_index} twice")
    width = len(first)
    for index, name in ((label_index, "label_column"), (text_index, "text_column")):
        if index >= width:
            raise ValueError(
                f"{name}: expected a column index below {width} (line {first_line} has {width} fields), got {index}"
            )
    labels, texts, lines = [], [], []
    for line, row in records[1:] if has_header else records:
        if len(row) != width:
            raise ValueError(
                f"{path}, line {line}: expected {width} fields like line {first_line}, got {len(row)}: {row!r} "
                '(quote a text that holds a comma: "a fine, long film")'
            )
        label = row[label_index].strip()
        if not label:
            raise ValueError(f"{path}, line {line}: the label (column {label_index}) is empty: {row!r}")
        labels.append(label)
        texts.append(row[text_index])
        lines.append(line)
    _check_classes(path, labels, lines, label_index, text_index, has_header, min_per_class)
    return labels, texts


def _records(path):
    """``[(line, fields)]``: the non-blank records of a CSV file and the line each starts on."""
    records = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, strict=True)
        start = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                end = reader.line_num
                if "unexpected end of data" in str(error):
                    raise ValueError(
                        f"{path}, line {start}: a quoted field opens here and no closing quote follows "
                        f"before the end of the file (line {end})"
                    ) from None
                if end > start:
                    raise ValueError(
                        f"{path}, line {start}: a quoted field opens in this row and runs on to line {end}, "
                        f"where the CSV breaks ({error}): is a closing quote missing?"
                    ) from None
                raise ValueError(f"{path}, line {end}: not valid CSV ({error})") from None
            except UnicodeDecodeError as error:
                raise ValueError(f"{path}: expected a UTF-8 text file ({error})") from None
            if any(cell.strip() for cell in row):
                records.append((start, row))
            start = reader.line_num + 1
    return records


def _column_index(column):
    """``column`` as an int when it is an index (an int or a string of digits), else ``None``."""
    if isinstance(column, str) and column.strip().lstrip("-").isdigit():
        return int(column)
    if isinstance(column, numbers.Integral) and not isinstance(column, bool):
        return int(column)
    return None


def _is_name(column, header):
    return column.strip().lower() in header


def _column(path, argument, column, header, *, default):
    """The 0-based index of ``column``: an index (int or digits), or a name found in ``header``."""
    index = _column_index(column)
    if index is not None:
        if index < 0:
            raise ValueError(f"{argument}: expected a column name or a 0-based index >= 0, got {index}")
        return index
    if not isinstance(column, str) or not column.strip():
        raise TypeError(f"{argument}: expected a column name or a 0-based index, got {column!r}")
    name = column.strip().lower()
    if name in header:
        return header.index(name)
    if name in ("label", "text"):
        return default  # no header: the default layout, label then text
    raise ValueError(f"{argument}: expected a column named {column!r} in the first row of {path}, got {header}")


def _check_classes(path, labels, lines, label_index, text_index, has_header, min_per_class):
    min_per_class = check_positive_int("min_per_class", min_per_class)
    counts = collections.Counter(labels)
    columns = f"labels from column {label_index}, texts from column {text_index}"
    columns += ", the first row a header" if has_header else ", no header row"
    if len(counts) < 2:
        raise ValueError(
            f"{path}: expected at least 2 classes, found 1 ({next(iter(counts))!r}, {len(labels)} rows; {columns})"
        )
    scarce = sorted((n, label) for label, n in counts.items() if n < min_per_class)
    if scarce:
        first_line = {label: line for line, label in reversed(list(zip(lines, labels)))}
        shown = ", ".join(f"{label!r} {n} (line {first_line[label]})" for n, label in scarce[:3])
        more = f" and {len(scarce) - 3} more" if len(scarce) > 3 else ""
        hint = ""
        if not has_header and any(first_line[label] == lines[0] for _, label in scarce):
            hint = (
                f"; if line {lines[0]} is a header, name its columns "
                "(label_column and text_column; on the command line --label-column and --text-column)"
            )
        if len(counts) > 10 and len(scarce) > len(counts) / 2:
            hint += "; is the label in another column? (label_column, --label-column)"
        raise ValueError(
            f"{path}: expected at least {min_per_class} rows per class, got {len(scarce)} of {len(counts)} classes "
            f"with fewer: {shown}{more} ({columns}){hint}"
        )


def load(
    path,
    seed=None,
    *,
    fractions=(0.8, 0.1, 0.1),
    min_count=1,
    label_column=None,
    text_column=None,
    min_per_class=MIN_ROWS_PER_CLASS,
):
    """Read (:func:`read_csv`), then split and encode (:func:`split`) a CSV data set."""
    labels, texts = read_csv(path, label_column=label_column, text_column=text_column, min_per_class=min_per_class)
    return split(labels, texts, seed, fractions=fractions, min_count=min_count)


def split(labels, texts, seed=None, *, fractions=(0.8, 0.1, 0.1), min_count=1):
    """Tokenize, split (shuffled by ``seed``) and encode labelled texts.

    Returns:
        a dict: ``vocabulary`` (built on the training split), ``classes``
        (label names, sorted), and ``train``, ``valid``, ``test``, each
        ``(ids, labels)``: a list of int64 id arrays (empty texts become one
        ``<unk>``) and an int64 label array.
    """
    if len(labels) != len(texts):
        raise ValueError(f"labels, texts: expected the same number of each, got {len(labels)} and {len(texts)}")
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
