"""Reading the text task's CSV files: strict about malformed files, flexible about layout, clear about classes."""

import os

import pytest

from rnngrad import cli, experiments
from rnngrad.tasks import text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "reviews.csv")


def _rows(count=30):
    """``count`` (label, text) pairs, two classes, a comma inside some texts."""
    return [("pos", f"a fine film, number {i}") if i % 3 else ("neg", f"a dull film number {i}") for i in range(count)]


def _write(tmp_path, lines, name="data.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _csv_lines(rows, header=("label", "text")):
    quote = lambda cell: f'"{cell}"' if "," in cell else cell  # noqa: E731
    lines = [",".join(header)] if header else []
    return lines + [",".join(quote(cell) for cell in row) for row in rows]


def test_an_unterminated_quote_is_refused_at_the_line_it_opens(tmp_path):
    lines = _csv_lines(_rows(40))
    lines[6] = 'neg,"a dull film that never closes'
    path = _write(tmp_path, lines)
    with pytest.raises(ValueError, match=r"line 7: a quoted field opens"):
        text.read_csv(path)


def test_a_quote_closed_lines_later_is_refused_at_the_line_it_opens(tmp_path):
    lines = _csv_lines(_rows(40))
    lines[6] = 'neg,"a dull film that never closes'  # closed by the quote of a later quoted text
    path = _write(tmp_path, lines)
    with pytest.raises(ValueError, match=r"line 7: a quoted field opens in this row and runs on"):
        text.read_csv(path)


def test_a_row_with_another_number_of_fields_is_refused_with_its_line(tmp_path):
    lines = _csv_lines(_rows(40))
    lines[4] = "pos,a fine film, unquoted comma"
    with pytest.raises(ValueError, match=r"line 5: expected 2 fields like line 1, got 3"):
        text.read_csv(_write(tmp_path, lines))


def test_quoted_commas_stay_in_the_text(tmp_path):
    labels, texts = text.read_csv(_write(tmp_path, _csv_lines(_rows(30))))
    assert len(labels) == 30 and texts[1] == "a fine film, number 1" and set(labels) == {"pos", "neg"}


def test_a_header_with_other_names_is_not_read_as_a_row(tmp_path):
    path = _write(tmp_path, _csv_lines(_rows(30), header=("sentiment", "review")))
    with pytest.raises(ValueError, match=r"'sentiment' 1 \(line 1\).*if line 1 is a header, name its columns"):
        text.read_csv(path)
    labels, texts = text.read_csv(path, label_column="Sentiment", text_column="review")
    assert len(labels) == 30 and set(labels) == {"pos", "neg"}


def test_columns_in_another_order_are_found_by_name_or_index(tmp_path):
    swapped = [(words, label) for label, words in _rows(30)]
    with_header = _write(tmp_path, _csv_lines(swapped, header=("text", "label")), "a.csv")
    labels, texts = text.read_csv(with_header)
    assert set(labels) == {"pos", "neg"} and texts[0].startswith("a dull film")
    without_header = _write(tmp_path, _csv_lines(swapped, header=None), "b.csv")
    with pytest.raises(ValueError, match=r"is the label in another column"):
        text.read_csv(without_header)
    labels, _ = text.read_csv(without_header, label_column=1, text_column="0")
    assert set(labels) == {"pos", "neg"} and len(labels) == 30


def test_a_column_name_not_in_the_header_is_refused(tmp_path):
    path = _write(tmp_path, _csv_lines(_rows(30)))
    with pytest.raises(ValueError, match=r"label_column: expected a column named 'sentiment'"):
        text.read_csv(path, label_column="sentiment")
    with pytest.raises(ValueError, match=r"text_column: expected a column index below 2"):
        text.read_csv(path, text_column=5)


def test_a_single_class_is_refused(tmp_path):
    path = _write(tmp_path, _csv_lines([("pos", f"fine {i}") for i in range(30)]))
    with pytest.raises(ValueError, match=r"expected at least 2 classes, found 1 \('pos', 30 rows"):
        text.read_csv(path)


def test_a_class_with_too_few_rows_is_refused(tmp_path):
    rows = [("pos", f"fine {i}") for i in range(30)] + [("neg", "dull"), ("neg", "bad")]
    path = _write(tmp_path, _csv_lines(rows))
    with pytest.raises(ValueError, match=rf"at least {text.MIN_ROWS_PER_CLASS} rows per class.*'neg' 2 \(line 32\)"):
        text.read_csv(path)
    assert len(text.read_csv(path, min_per_class=2)[0]) == 32


def test_the_shipped_example_reads_as_two_balanced_classes():
    labels, texts = text.read_csv(EXAMPLE)
    counts = {label: labels.count(label) for label in set(labels)}
    assert set(counts) == {"negative", "positive"} and min(counts.values()) > 150
    assert any("," in t for t in texts)  # it shows quoting


def test_the_example_is_what_its_script_makes(tmp_path):
    import runpy

    script = runpy.run_path(os.path.join(ROOT, "examples", "make_reviews.py"))
    script["main"](str(tmp_path / "again.csv"))
    with open(EXAMPLE, encoding="utf-8") as shipped:
        assert (tmp_path / "again.csv").read_text(encoding="utf-8") == shipped.read()


def test_prepare_reports_a_bad_file_as_data_with_the_line(tmp_path):
    lines = _csv_lines(_rows(40))
    lines[3] = 'neg,"open'
    path = _write(tmp_path, lines)
    with pytest.raises(ValueError, match=rf"^data: {path}, line 4: "):
        experiments.prepare("text", data=str(path))


def test_cli_prints_the_class_counts_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # the README's line, as written
    out = tmp_path / "run"
    argv = ["train", "--task", "text", "--data", "examples/reviews.csv", "--steps", "3", "--hidden", "4"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[1] == "data: examples/reviews.csv, 400 rows, 2 classes: negative 185, positive 215"
    assert printed[2].startswith("test accuracy")


def test_cli_refuses_a_malformed_csv_naming_data_and_the_line(tmp_path, capsys):
    lines = _csv_lines(_rows(40))
    lines[3] = 'neg,"open'
    path = _write(tmp_path, lines)
    out = tmp_path / "run"
    assert cli.main(["train", "--task", "text", "--data", str(path), "--out", str(out)]) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and not out.exists()
    assert f"--data: {path}, line 4: a quoted field opens" in printed.err
