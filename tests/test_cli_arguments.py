"""The command line refuses bad arguments and output paths before it prints, creates or computes anything.

Each refusal exits with status 2, names the flag as the user typed it, and
leaves no output directory behind.
"""

import pytest

from rnngrad import __version__, cli


def _refused(argv, capsys, tmp_path):
    """Run ``argv``; assert it was refused cleanly; return stderr."""
    out = tmp_path / "run"
    status = cli.main([*argv, "--out", str(out)] if "--out" not in argv else argv)
    printed = capsys.readouterr()
    assert status == 2
    assert printed.out == ""  # no settings line, no progress, no partial result
    assert "%|" not in printed.err  # no progress bar
    assert not out.exists()
    return printed.err


@pytest.mark.parametrize(
    "argv, flag, internal",
    [
        (["--task", "chars", "--length", "-5"], "--length", "num_steps"),
        (["--task", "order", "--length", "2"], "--length", "max_length"),
        (["--task", "adding", "--length", "1"], "--length", "error: length"),
        (["--layers", "0"], "--layers", "num_layers"),
        (["--hidden", "0"], "--hidden", "hidden_size"),
        (["--batch", "0"], "--batch", "batch_size"),
        (["--steps", "0"], "--steps", "num_steps"),
        (["--seed", "-1"], "--seed", "error: seed"),
        (["--lr", "nan"], "--lr", "step_size"),
        (["--lr", "-1"], "--lr", "step_size"),
        (["--lr", "inf"], "--lr", "step_size"),
        (["--lr", "0"], "--lr", "step_size"),
    ],
)
def test_bad_numbers_are_refused_naming_the_flag_before_anything_is_written(argv, flag, internal, capsys, tmp_path):
    err = _refused(["train", *argv], capsys, tmp_path)
    assert flag in err and internal not in err


def test_order_and_adding_minimum_lengths_are_said_for_the_task(capsys, tmp_path):
    err = _refused(["train", "--task", "order", "--length", "2"], capsys, tmp_path)
    assert "--length: expected an integer >= 3 for the order task, got 2" in err


@pytest.mark.parametrize("task", ["order", "adding", "copy"])
def test_data_is_refused_by_tasks_that_make_their_own(task, capsys, tmp_path):
    data = tmp_path / "reviews.csv"
    data.write_text("label,text\n")
    err = _refused(["train", "--task", task, "--data", str(data)], capsys, tmp_path)
    assert f"--data: the {task} task makes its own data and reads no file" in err


def test_csv_columns_are_refused_by_tasks_other_than_text(capsys, tmp_path):
    err = _refused(["train", "--task", "adding", "--label-column", "sentiment"], capsys, tmp_path)
    assert "--label-column: only the text task reads a CSV file" in err


def test_text_without_data_and_with_a_missing_file_say_so(capsys, tmp_path):
    assert "--data: the text task needs a CSV file" in _refused(["train", "--task", "text"], capsys, tmp_path)
    err = _refused(["train", "--task", "text", "--data", str(tmp_path / "none.csv")], capsys, tmp_path)
    assert "--data: cannot read" in err and "No such file" in err


def test_out_that_is_a_file_is_refused_clearly(capsys, tmp_path):
    existing = tmp_path / "taken"
    existing.write_text("")
    status = cli.main(["train", "--task", "adding", "--steps", "1", "--out", str(existing)])
    printed = capsys.readouterr()
    assert status == 2 and printed.out == "" and "Errno" not in printed.err
    assert f"--out: {existing} exists and is not a directory" in printed.err
    status = cli.main(["train", "--task", "adding", "--steps", "1", "--out", str(existing / "below")])
    assert status == 2 and f"--out: {existing} is a file" in capsys.readouterr().err


def test_gradflow_out_in_a_missing_directory_fails_before_computing(capsys, tmp_path):
    status = cli.main(["gradflow", "--length", "5", "--hidden", "3", "--out", str(tmp_path / "no" / "g.png")])
    printed = capsys.readouterr()
    assert status == 2 and "|dL/dx_1|" not in printed.out
    assert "--out: the directory" in printed.err and "does not exist" in printed.err


@pytest.mark.parametrize("name", ["plot.xyz", "."])
def test_gradflow_out_of_an_unknown_format_or_a_directory_fails_before_computing(name, capsys, tmp_path):
    status = cli.main(["gradflow", "--length", "5", "--hidden", "3", "--out", str(tmp_path / name)])
    printed = capsys.readouterr()
    assert status == 2 and printed.out == "" and "--out:" in printed.err and "Errno" not in printed.err


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--length", "1"], "--length"),
        (["--hidden", "0"], "--hidden"),
        (["--train-steps", "-1"], "--train-steps"),
        (["--forget-bias", "nan"], "--forget-bias"),
    ],
)
def test_gradflow_numbers_are_checked_before_computing(argv, flag, capsys, tmp_path):
    assert cli.main(["gradflow", *argv, "--out", str(tmp_path / "g.png")]) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and f"argument {flag}" in printed.err


def test_version_names_the_package_and_its_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rnngrad {__version__}"


def test_train_help_shows_each_task_default(capsys):
    assert cli.main(["train", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "per task" in shown
    for piece in ("order 32", "copy 64", "order 1500", "adding 3000", "text 0.005", "chars 16", "adding 50"):
        assert piece in shown
    assert "--label-column" in shown and "0-based index" in shown


def test_a_refused_run_leaves_no_default_output_directory(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--lr", "nan"]) == 2
    assert cli.main(["train", "--task", "text", "--data", "missing.csv"]) == 2
    assert capsys.readouterr().out == "" and list(tmp_path.iterdir()) == []
