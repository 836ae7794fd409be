"""What the command line reports: progress, the end of training, metrics.json, the files it wrote, its plots."""

import json
import os
import re

import numpy as np
import pytest

from rnngrad import cli, experiments

matplotlib = pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "reviews.csv")


@pytest.fixture(autouse=True)
def _agg_backend(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.fixture
def figures(monkeypatch):
    """The figures the command saves, kept open for inspection."""
    import matplotlib.figure

    saved = []
    original = matplotlib.figure.Figure.savefig

    def savefig(fig, path, *args, **kwargs):
        saved.append(fig)
        return original(fig, path, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    yield saved


def _strict_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.loads(handle.read(), parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))


def _last_bar(stderr):
    """``(done, total)`` of the last progress bar drawn."""
    done, total = re.findall(r"(\d+)/(\d+) \[", stderr)[-1]
    return int(done), int(total)


def test_early_stopping_is_announced_and_the_step_count_agrees_with_the_bar(tmp_path, capsys, monkeypatch):
    # The example reaches validation accuracy 1 within a few dozen steps; evaluated every
    # 8 steps with patience 5, training stops long before 1000 steps.
    monkeypatch.setitem(experiments.DEFAULTS["text"], "eval_every", 8)
    argv = ["train", "--task", "text", "--data", EXAMPLE, "--hidden", "8", "--steps", "1000", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr()
    stop = re.search(r"stopped early at step (\d+) of 1000: .* kept the parameters of step (\d+)", printed.out)
    assert stop, printed.out
    steps = int(stop.group(1))
    # an evaluation ends training, so it stops after a multiple of 8 updates (not after the batch drawn next)
    assert (
        steps % 8 == 0 and steps < 1000 and re.search(rf"\| {steps} steps, best at step {stop.group(2)},", printed.out)
    )
    assert _last_bar(printed.err) == (steps, 1000)
    metrics = _strict_json(tmp_path / "metrics.json")
    assert metrics["stopped_early"] and metrics["steps"] == steps == metrics["evaluations"][-1][0]
    assert metrics["best_step"] == int(stop.group(2))


def test_a_run_to_the_end_says_no_early_stop(tmp_path, capsys):
    argv = ["train", "--task", "adding", "--length", "5", "--hidden", "3", "--steps", "4", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr()
    assert "stopped early" not in printed.out and "| 4 steps," in printed.out and _last_bar(printed.err) == (4, 4)


def test_metrics_json_stays_valid_when_training_diverges(tmp_path, capsys):
    argv = ["train", "--task", "adding", "--length", "5", "--hidden", "3", "--steps", "4", "--lr", "1e200"]
    with np.errstate(all="ignore"):
        assert cli.main([*argv, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    assert "training diverged" in printed.err and "--lr" in printed.err
    metrics = _strict_json(tmp_path / "metrics.json")
    assert metrics["test_metric"] is None and None in metrics["losses"]
    assert "diverged" in metrics["non_finite"]["reason"] and "test_metric" in metrics["non_finite"]["fields"]


def test_a_finite_run_has_no_non_finite_note(tmp_path, capsys):
    argv = ["train", "--task", "adding", "--length", "5", "--hidden", "3", "--steps", "3", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    assert "non_finite" not in _strict_json(tmp_path / "metrics.json")


def test_gradflow_training_shows_progress(tmp_path, capsys):
    argv = ["gradflow", "--length", "6", "--hidden", "3", "--train-steps", "3", "--out", str(tmp_path / "g.png")]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    for cell in ("rnn", "lstm", "gru"):
        assert re.search(rf"{cell} on adding: 100%.*3/3", err), err


def test_gradflow_progress_without_tqdm_is_printed(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    argv = ["gradflow", "--length", "6", "--hidden", "3", "--train-steps", "10", "--out", str(tmp_path / "g.png")]
    assert cli.main(argv) == 0
    assert "step 10/10: loss" in capsys.readouterr().out


def test_order_announces_the_baseline_parameters_it_writes(tmp_path, capsys):
    argv = ["train", "--steps", "2", "--hidden", "4", "--length", "4", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "baseline_params.npz (bag-of-embeddings)" in printed and (tmp_path / "baseline_params.npz").exists()


def test_chars_sample_starts_with_its_prime(tmp_path, capsys):
    argv = ["train", "--task", "chars", "--steps", "2", "--hidden", "8", "--batch", "4", "--length", "8"]
    assert cli.main([*argv, "--out", str(tmp_path)]) == 0
    sample = re.search(r"sample: ['\"](.*)", capsys.readouterr().out).group(1)
    assert sample.startswith("The ")
    assert _strict_json(tmp_path / "metrics.json")["sample"].startswith("The ")


def _overlaps(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _check_axes_and_legends(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # the figure was closed after saving: lay it out again
    canvas.draw()
    renderer = canvas.get_renderer()
    for axis in fig.axes:
        assert axis.get_xlabel() and axis.get_ylabel(), "every axis is labelled"
        legend = axis.get_legend()
        if legend is not None:
            assert not _overlaps(legend.get_window_extent(renderer), axis.get_window_extent(renderer)), (
                "a legend inside the axes can hide a line"
            )


@pytest.mark.parametrize(
    "argv",
    [
        ["--task", "adding", "--length", "5", "--hidden", "3", "--steps", "3"],
        ["--task", "text", "--data", EXAMPLE, "--hidden", "4", "--steps", "3"],
        ["--steps", "3", "--hidden", "4", "--length", "4"],
    ],
)
def test_loss_plot_has_labelled_axes_one_quantity_each_and_legends_outside(argv, tmp_path, capsys, figures):
    assert cli.main(["train", *argv, "--out", str(tmp_path)]) == 0
    (fig,) = figures
    _check_axes_and_legends(fig)
    ylabels = [axis.get_ylabel() for axis in fig.axes]
    assert any("loss" in label for label in ylabels) and any("validation" in label for label in ylabels)
    assert not any("loss" in label and "validation" in label for label in ylabels)


def test_gradflow_plot_has_one_colour_per_cell(tmp_path, capsys, figures):
    argv = ["gradflow", "--length", "6", "--hidden", "3", "--train-steps", "2", "--forget-bias", "1"]
    assert cli.main([*argv, "--out", str(tmp_path / "g.png")]) == 0
    (fig,) = figures
    _check_axes_and_legends(fig)
    colours, styles = {}, {}
    for line in fig.axes[0].get_lines():
        cell, stage = (
            line.get_label().split(", ", 1) if ", after" in line.get_label() else line.get_label().rsplit(", ")
        )
        colours.setdefault(cell, set()).add(matplotlib.colors.to_hex(line.get_color()))
        styles.setdefault(cell, set()).add(line.get_linestyle())
    assert len(colours) == 4 and all(len(c) == 1 for c in colours.values())
    assert len({next(iter(c)) for c in colours.values()}) == 4  # and a different colour for each cell
    assert all(s == {"-", "--"} for s in styles.values())  # init solid, trained dashed


def test_run_returns_a_typed_frozen_result():
    import dataclasses

    result = experiments.run("adding", length=4, hidden=3, steps=2)
    assert isinstance(result, experiments.RunResult) and result.metric == "mse" and result.steps == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.test_metric = 0.0
