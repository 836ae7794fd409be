"""The command line end to end, at small sizes, in temporary directories."""

import json
import subprocess
import sys
import types

import numpy as np
import pytest

from rnngrad import cli
from rnngrad.io import load_params

pytest.importorskip("matplotlib")


@pytest.fixture(autouse=True)
def _agg_backend(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


def _metrics(out):
    with open(out / "metrics.json", encoding="utf-8") as handle:
        return json.load(handle)


def test_no_command_trains_order_with_lstm_and_the_bag_baseline(tmp_path, capsys):
    assert cli.main(["--steps", "30", "--hidden", "8", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "bag-of-embeddings test accuracy" in printed and "lstm test accuracy" in printed
    metrics = _metrics(tmp_path)
    assert metrics["task"] == "order" and metrics["cell"] == "lstm" and 0 <= metrics["bag_test_metric"] <= 1
    assert {"params.npz", "baseline_params.npz", "metrics.json", "loss.png"} <= {p.name for p in tmp_path.iterdir()}
    params = load_params(tmp_path / "params.npz")
    assert params["rnn"]["weight_ih_l0"].shape == (32, 16)


@pytest.mark.parametrize(
    "argv",
    [
        ["--task", "adding", "--cell", "rnn", "--length", "8", "--hidden", "4"],
        ["--task", "copy", "--cell", "gru", "--length", "2", "--hidden", "4", "--layers", "2", "--bidirectional"],
        ["--task", "chars", "--length", "8", "--hidden", "8", "--batch", "4"],
    ],
)
def test_train_each_generated_task_writes_its_outputs(tmp_path, capsys, argv):
    assert cli.main(["train", *argv, "--steps", "6", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    metrics = _metrics(tmp_path)
    assert metrics["steps"] == 6 and np.isfinite(metrics["test_metric"]) and len(metrics["losses"]) == 6
    assert f"test {metrics['metric']}" in printed and "baseline" in printed
    assert (tmp_path / "loss.png").stat().st_size > 0


def test_train_text_task_reads_a_csv(tmp_path, capsys):
    data = tmp_path / "reviews.csv"
    rows = [f"{'pos' if i % 3 else 'neg'},{'a fine film' if i % 3 else 'a dull film'} number {i}" for i in range(30)]
    data.write_text("label,text\n" + "\n".join(rows))
    out = tmp_path / "run"
    assert cli.main(["train", "--task", "text", "--data", str(data), "--steps", "5", "--out", str(out)]) == 0
    assert _metrics(out)["classes"] == ["neg", "pos"]
    assert cli.main(["train", "--task", "text", "--out", str(out)]) == 2
    assert "--data" in capsys.readouterr().err


def test_gradflow_prints_ratios_and_plots(tmp_path, capsys):
    png = tmp_path / "flow.png"
    assert cli.main(["gradflow", "--length", "12", "--hidden", "6", "--train-steps", "2", "--out", str(png)]) == 0
    printed = capsys.readouterr().out
    for cell in ("rnn", "lstm", "gru"):
        assert f"{cell} init: |dL/dx_1| / |dL/dx_T|" in printed
    assert "after 2 adding steps" in printed and png.stat().st_size > 0


def test_commands_without_matplotlib_or_tqdm_say_how_to_install_and_still_print(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert cli.main(["gradflow", "--length", "5", "--hidden", "3", "--out", str(tmp_path / "g.png")]) == 0
    argv = ["train", "--task", "adding", "--length", "5", "--hidden", "3", "--steps", "3", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert 'pip install "rnngrad[plot]"' in printed and 'pip install "rnngrad[progress]"' in printed
    assert "|dL/dx_1| / |dL/dx_T|" in printed and "test mse" in printed
    assert not (tmp_path / "g.png").exists() and not (tmp_path / "loss.png").exists()


def test_bench_passes_its_arguments_on(monkeypatch):
    seen = []
    monkeypatch.setitem(sys.modules, "rnngrad.bench", types.SimpleNamespace(main=lambda argv: seen.append(argv)))
    assert cli.main(["bench", "--quick", "x"]) == 0 and seen == [["--quick", "x"]]


def test_bench_says_clearly_when_it_is_missing(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "rnngrad.bench", None)
    assert cli.main(["bench"]) == 2
    assert "rnngrad.bench is not available" in capsys.readouterr().err


def test_python_dash_m_shows_every_command_in_help():
    done = subprocess.run([sys.executable, "-m", "rnngrad", "--help"], capture_output=True, text=True, check=True)
    for command in ("train", "gradflow", "bench"):
        assert command in done.stdout
    done = subprocess.run([sys.executable, "-m", "rnngrad", "train", "--help"], capture_output=True, text=True)
    assert "--bidirectional" in done.stdout and "--task" in done.stdout
