"""``rnngrad train --optimizer hf`` and the pathological problems on the command line."""

import json

import pytest

from rnngrad import cli, experiments

pytest.importorskip("matplotlib")


@pytest.fixture(autouse=True)
def _agg_backend(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


def test_train_with_hf_runs_and_records_the_optimizer(tmp_path, capsys):
    argv = ["train", "--task", "temporal_order", "--cell", "rnn", "--optimizer", "hf", "--length", "10"]
    argv += ["--steps", "2", "--hidden", "4", "--batch", "20", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr()
    assert "optimizer=hf" in printed.out and "test error" in printed.out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["settings"]["optimizer"] == "hf" and metrics["steps"] == 2
    assert metrics["baseline"] == 0.75


def test_hf_progress_hook_receives_cg_iterations_and_damping():
    seen = []
    experiment = experiments.prepare(
        "adding", cell="rnn", hidden=4, length=6, steps=2, batch=20, optimizer="hf"
    )  # fmt: skip
    experiment.run(on_step=lambda step, loss, metric, details=None: seen.append(details))
    assert len(seen) == 2 and all(d["cg"] > 0 and d["damping"] > 0 for d in seen)


def test_pathological_problems_train_with_adam_too(tmp_path, capsys):
    argv = ["train", "--task", "memorization", "--length", "12", "--steps", "3", "--hidden", "4"]
    assert cli.main([*argv, "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["settings"]["optimizer"] == "adam" and metrics["metric"] == "error"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--task", "order", "--optimizer", "hf"], "optimizer: 'hf' trains the pathological problems"),
        (["--task", "temporal_order", "--length", "9"], "length: expected an integer >= 10"),
        (["--task", "xor", "--optimizer", "lbfgs"], "--optimizer"),
    ],
)
def test_bad_hf_arguments_are_refused_naming_the_flag(argv, message, capsys, tmp_path):
    assert cli.main(["train", *argv, "--out", str(tmp_path / "run")]) == 2
    printed = capsys.readouterr()
    assert message in printed.err and printed.out == ""
    assert not (tmp_path / "run").exists()
