"""``rnngrad train --task agreement`` and ``rnngrad trace``: a trained run read back, run on a sentence, drawn."""

import json

import numpy as np
import pytest

from rnngrad import cli, experiments
from rnngrad._trace_command import encode, load_run, trace_sentence
from rnngrad.tasks import agreement

pytest.importorskip("matplotlib")

SENTENCE = "alice and tom felt not very sad , so they left"


@pytest.fixture(autouse=True)
def _agg_backend(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.fixture(scope="module")
def agreement_run(tmp_path_factory):
    """A tiny agreement run of the command line (its numbers are not the point: its files are)."""
    out = tmp_path_factory.mktemp("agreement")
    argv = ["train", "--task", "agreement", "--steps", "12", "--hidden", "6", "--out", str(out)]
    assert cli.main(argv) == 0
    return out


def test_train_agreement_writes_a_run_with_probes_of_both_flags(agreement_run):
    metrics = json.loads((agreement_run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["task"] == "agreement" and metrics["classes"] == list(agreement.CLASSES)
    assert 0 <= metrics["test_metric"] <= 1 and 0 < metrics["baseline"] < 1
    for stage in ("trained", "untrained"):
        for flag in ("negation", "plural"):
            found = metrics["probes"][stage][flag]
            assert 0 <= found["unit"] < 6
            assert all(0 <= found[key] <= 1 for key in ("unit_accuracy", "unit_permuted", "accuracy", "permuted"))


def test_the_agreement_recipe_refuses_a_data_file_and_a_length():
    with pytest.raises(ValueError, match="^data: the agreement task makes its own data"):
        experiments.prepare("agreement", data="x.csv")
    with pytest.raises(ValueError, match="^length: the agreement task takes its sequence lengths from the data"):
        experiments.prepare("agreement", length=5)


def test_trace_draws_every_record_and_prints_the_prediction(agreement_run, tmp_path, capsys):
    out = tmp_path / "trace.png"
    assert cli.main(["trace", str(agreement_run), "--sentence", SENTENCE, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "class: " in printed and any(name in printed for name in agreement.CLASSES)
    assert "(h, c, i, f, g, o)" in printed
    assert out.stat().st_size > 0


def test_trace_defaults_to_the_run_directory_and_draws_only_the_named_records(agreement_run, capsys):
    assert cli.main(["trace", str(agreement_run), "--sentence", SENTENCE, "--names", "c,f"]) == 0
    assert "(c, f)" in capsys.readouterr().out
    assert (agreement_run / "trace.png").stat().st_size > 0


def test_a_sentence_is_encoded_as_the_task_generator_encodes_it(agreement_run):
    drawn = agreement.generate(5, seed=3)
    run = load_run(agreement_run)
    for words, ids in zip(drawn.sentences, drawn.ids):
        encoded, tokens = encode(run, " ".join(words))
        assert tokens == words
        np.testing.assert_array_equal(encoded, ids)


def test_the_traced_states_are_the_networks(agreement_run):
    run = load_run(agreement_run)
    tokens, record, prediction = trace_sentence(run, SENTENCE)
    ids, _ = encode(run, SENTENCE)
    _, (h_n, c_n) = run.net(run.params, ids[:, None])
    np.testing.assert_allclose(record.values("h")[-1], h_n[-1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(record.values("c")[-1], c_n[-1], rtol=1e-10, atol=1e-12)
    assert len(tokens) == record.values("c").shape[0] == 11


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--sentence", "alice felt bob"], "--sentence: ['bob'] are not words of the agreement task"),
        (["--sentence", SENTENCE, "--names", "c,zz"], "--names: expected records of this network"),
        (["--sentence", SENTENCE, "--layer", "1"], "--layer: expected a layer of this 1-layer network"),
        (["--sentence", SENTENCE, "--reverse"], "--reverse: this network has no reverse direction"),
    ],
)
def test_trace_refuses_bad_arguments_naming_the_flag(agreement_run, tmp_path, capsys, extra, message):
    out = tmp_path / "t.png"
    assert cli.main(["trace", str(agreement_run), *extra, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_trace_refuses_a_directory_that_is_no_run_and_a_task_without_sentences(tmp_path, capsys):
    assert cli.main(["trace", str(tmp_path), "--sentence", SENTENCE]) == 2
    assert "run: expected a directory written by 'rnngrad train'" in capsys.readouterr().err
    (tmp_path / "metrics.json").write_text(json.dumps({"task": "adding"}))
    np.savez(tmp_path / "params.npz", x=np.zeros(1))
    assert cli.main(["trace", str(tmp_path), "--sentence", SENTENCE]) == 2
    assert "run: expected a run of a task that reads sentences" in capsys.readouterr().err
