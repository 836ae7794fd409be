"""rnngrad.sweep: study files checked before any job, jobs on a real Dask cluster, results that survive a crash."""

import functools
import json
import os
import signal
import sys

import pytest

from rnngrad import sweep

TINY = """
[study]
task = "adding"
steps = 2
batch = 4
retries = {retries}
[grid]
cell = ["lstm", "nfg"]
hidden = [2]
length = [3]
[random]
samples = 2
seed = {{int_uniform = [0, 99]}}
step_size = {{log_uniform = [0.001, 0.1]}}
"""


#: seconds: a hung cluster fails a test instead of stalling the suite
TIMEOUT = 120


def write(tmp_path, text, name="study.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def tiny_study(tmp_path, retries=2):
    return sweep.load_study(write(tmp_path, TINY.format(retries=retries)))


# -- the study file ---------------------------------------------------------------------------------------------


def test_a_study_crosses_the_grid_with_the_same_random_draws():
    study = sweep.parse_study(
        {
            "study": {"task": "adding", "steps": 5},
            "grid": {"cell": ["lstm", "gru", "nfg"], "hidden": [4, 8]},
            "random": {"samples": 3, "step_size": {"log_uniform": [1e-3, 1e-1]}, "seed": [1, 2, 3]},
        }
    )
    jobs = study.jobs()
    assert len(jobs) == 3 * 2 * 3
    assert {job["steps"] for job in jobs} == {5}
    draws = {cell: [(job["step_size"], job["seed"]) for job in jobs if job["cell"] == cell] for cell in ("lstm", "gru")}
    assert draws["lstm"] == draws["gru"]  # paired: every cell sees the same draws
    assert all(1e-3 <= job["step_size"] <= 1e-1 for job in jobs)
    assert jobs == study.jobs()  # a study file makes the same jobs every time
    assert len({sweep.job_id(job) for job in jobs}) == len(jobs)


BAD_STUDIES = [
    ({"study": {"task": "adding"}, "grids": {}}, "study file: unknown key 'grids'"),
    ({"grid": {"cell": ["lstm"]}}, r"\[study\]: missing"),
    ({"study": {"task": "adding", "step": 3}}, r"\[study\]: unknown key 'step'"),
    ({"study": {"task": "text"}}, r"\[study\] task: expected one of"),
    ({"study": {"task": "adding", "steps": "300"}}, r"\[study\] steps: expected an integer >= 1, got '300'"),
    ({"study": {"task": "adding", "retries": -1}}, r"\[study\] retries"),
    ({"study": {"task": "adding"}, "grid": {"cell": []}}, r"\[grid\] cell: expected a non-empty list, got \[\]"),
    ({"study": {"task": "adding"}, "grid": {"hidden": 16}}, r"\[grid\] hidden: expected a non-empty list, got 16"),
    ({"study": {"task": "adding"}, "grid": {"hidden": [16, "32"]}}, r"\[grid\] hidden: expected an integer >= 1"),
    ({"study": {"task": "adding"}, "grid": {"hidden": [True]}}, r"\[grid\] hidden: expected an integer"),
    ({"study": {"task": "adding"}, "grid": {"cell": ["lstm", "NFG"]}}, r"\[grid\] cell: expected a cell name"),
    ({"study": {"task": "adding"}, "grid": {"step_size": [0.0]}}, r"\[grid\] step_size: expected a number > 0"),
    ({"study": {"task": "adding"}, "grid": {"seed": [-1]}}, r"\[grid\] seed: expected an integer >= 0"),
    ({"study": {"task": "adding"}, "grid": {"layers": [2]}}, r"\[grid\]: unknown key 'layers'"),
    ({"study": {"task": "adding"}, "grid": {"length": [5, 1]}}, r"\[grid\] length: expected an integer >= 2 for"),
    ({"study": {"task": "adding"}, "random": {"hidden": [8]}}, r"\[random\] samples: expected an integer >= 1"),
    ({"study": {"task": "adding"}, "random": {"samples": 0, "hidden": [8]}}, r"\[random\] samples"),
    ({"study": {"task": "adding"}, "random": {"samples": 2, "hidden": []}}, r"\[random\] hidden: expected a non-empty"),
    (
        {"study": {"task": "adding"}, "random": {"samples": 2, "hidden": {"uniform": [4, 8]}}},
        r"\[random\] hidden: hidden takes integers",
    ),
    (
        {"study": {"task": "adding"}, "random": {"samples": 2, "step_size": {"normal": [0, 1]}}},
        r"\[random\] step_size: unknown distribution 'normal'",
    ),
    (
        {"study": {"task": "adding"}, "random": {"samples": 2, "step_size": {"log_uniform": [0, 1]}}},
        r"\[random\] step_size.log_uniform: expected 0 < low <= high",
    ),
    (
        {"study": {"task": "adding"}, "random": {"samples": 2, "step_size": {"uniform": [0.1, 0.01]}}},
        r"\[random\] step_size.uniform: expected low <= high",
    ),
    (
        {"study": {"task": "adding"}, "grid": {"hidden": [4]}, "random": {"samples": 2, "hidden": [8]}},
        r"\[random\] hidden: already an axis of \[grid\]",
    ),
]


@pytest.mark.parametrize(("document", "message"), BAD_STUDIES, ids=[m for _, m in BAD_STUDIES])
def test_a_bad_study_is_refused_naming_the_key(document, message):
    with pytest.raises(sweep.StudyError, match=message):
        sweep.parse_study(document)


def test_a_bad_study_file_stops_before_any_job_and_writes_nothing(tmp_path, capsys):
    path = write(tmp_path, '[study]\ntask = "adding"\n[grid]\ncell = ["lstm", "lsmt"]\n')
    results = tmp_path / "results.jsonl"
    with pytest.raises(SystemExit) as stopped:
        sweep.main([path, "--results", str(results)])
    assert stopped.value.code == 2
    assert "[grid] cell: expected a cell name" in capsys.readouterr().err
    assert not results.exists()
    calls = []
    with pytest.raises(sweep.StudyError, match="lsmt"):
        sweep.run_study(path, str(results), scheduler="tcp://nowhere:1", job_function=calls.append)
    assert not calls and not results.exists()


def test_the_command_line_runs_the_check_and_the_report(tmp_path, capsys):
    from rnngrad import cli

    bad = write(tmp_path, '[study]\ntask = "adding"\n[grid]\nlength = [1]\n', name="bad.toml")
    assert cli.main(["sweep", bad]) == 2
    assert "[grid] length: expected an integer >= 2 for the adding task, got 1" in capsys.readouterr().err
    assert not (tmp_path / "bad.jsonl").exists()


def test_a_file_that_is_not_toml_is_refused_with_its_path(tmp_path):
    path = write(tmp_path, "[study\ntask = adding\n")
    with pytest.raises(sweep.StudyError, match="is not valid TOML"):
        sweep.load_study(path)


def test_a_results_line_cut_short_is_skipped_and_the_next_one_kept(tmp_path):
    results = str(tmp_path / "results.jsonl")
    sweep._append(results, {"id": "a", "status": "ok"})
    with open(results, "a") as handle:
        handle.write('{"id": "b", "sta')  # a crash in the middle of a line
    sweep._append(results, {"id": "c", "status": "ok"})
    assert [record["id"] for record in sweep.read_results(results)] == ["a", "c"]


# -- on a Dask cluster -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    import cloudpickle

    # the test's job functions travel by value: the workers need not import this file
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", death_timeout=30
    ) as local:
        yield local.scheduler_address
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def lines_by_id(results):
    records = [json.loads(line) for line in open(results)]
    ok = [record["id"] for record in records if record["status"] == "ok"]
    return records, ok


def test_a_study_on_two_workers_equals_its_jobs_run_one_by_one(tmp_path, cluster):
    study = tiny_study(tmp_path)
    results = str(tmp_path / "results.jsonl")
    seen = []
    done, failed = sweep.run_study(
        study, results, scheduler=cluster, timeout=TIMEOUT, progress=lambda *a: seen.append(a[:4])
    )
    assert (done, failed) == (4, 0)
    records, ok = lines_by_id(results)
    assert sorted(ok) == sorted(sweep.job_id(job) for job in study.jobs())
    by_id = {record["id"]: record for record in records}
    for job in study.jobs():
        alone = sweep.run_job(job)
        remote = by_id[sweep.job_id(job)]["result"]
        assert remote["test_metric"] == alone["test_metric"]  # bit for bit: same seed, same code
        assert (remote["metric"], remote["steps"]) == (alone["metric"], alone["steps"])
    assert [s[0] for s in seen] == [1, 2, 3, 4] and all(s[2] == 0 and s[3] == 4 for s in seen)


def die_once(job, marker):
    """Kill this worker process the first time any job runs (in the middle of the job), then run normally."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return sweep.run_job(job)
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_in_a_job_loses_nothing_and_duplicates_nothing(tmp_path, cluster):
    study = tiny_study(tmp_path)
    results = str(tmp_path / "results.jsonl")
    marker = str(tmp_path / "killed")
    done, failed = sweep.run_study(
        study,
        results,
        scheduler=cluster,
        timeout=TIMEOUT,
        job_function=functools.partial(die_once, marker=marker),
        progress=print,
    )
    assert os.path.exists(marker)  # a worker did die
    assert (done, failed) == (4, 0)
    records, ok = lines_by_id(results)
    assert len(records) == 4
    assert sorted(ok) == sorted(sweep.job_id(job) for job in study.jobs())


def recording(job, calls):
    with open(os.path.join(calls, sweep.job_id(job)), "x"):
        pass
    return sweep.run_job(job)


def test_a_restart_after_an_interruption_runs_only_the_unfinished_jobs(tmp_path, cluster):
    study = tiny_study(tmp_path)
    results = str(tmp_path / "results.jsonl")

    def interrupt_after_two(done, running, failed, total, record):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep.run_study(study, results, scheduler=cluster, timeout=TIMEOUT, progress=interrupt_after_two)
    _, first = lines_by_id(results)
    assert len(first) == 2
    calls = tmp_path / "calls"
    calls.mkdir()
    job_function = functools.partial(recording, calls=str(calls))
    assert sweep.run_study(
        study, results, scheduler=cluster, timeout=TIMEOUT, job_function=job_function, progress=print
    ) == (4, 0)
    records, ok = lines_by_id(results)
    everything = {sweep.job_id(job) for job in study.jobs()}
    assert sorted(os.listdir(calls)) == sorted(everything - set(first))
    assert len(records) == 4 and set(ok) == everything


def fail_always(job):
    raise RuntimeError(f"no luck with {job['cell']}")


def fail_once(job, marker):
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return sweep.run_job(job)
    raise RuntimeError("a passing failure")


def test_a_failing_job_is_retried_then_recorded_as_failed_and_tried_again_next_time(tmp_path, cluster):
    results = str(tmp_path / "results.jsonl")
    once = functools.partial(fail_once, marker=str(tmp_path / "failed"))
    assert sweep.run_study(
        tiny_study(tmp_path, retries=1), results, scheduler=cluster, timeout=TIMEOUT, job_function=once
    ) == (4, 0)
    other = str(tmp_path / "other.jsonl")
    study = tiny_study(tmp_path, retries=0)
    assert sweep.run_study(
        study, other, scheduler=cluster, timeout=TIMEOUT, job_function=fail_always, progress=print
    ) == (0, 4)
    records = sweep.read_results(other)
    assert all(record["status"] == "failed" and "RuntimeError: no luck" in record["error"] for record in records)
    assert sweep.run_study(study, other, scheduler=cluster, timeout=TIMEOUT, progress=print) == (4, 0)
    assert all(record["status"] == "ok" for record in sweep.read_results(other))


# -- the report --------------------------------------------------------------------------------------------------


def fake_results(tmp_path):
    """A results file of two cells on adding, three learning rates each, one failure and one divergence."""
    results = str(tmp_path / "results.jsonl")
    for cell, scale in (("vanilla", 1.0), ("nfg", 3.0)):
        for step_size in (0.001, 0.01, 0.1):
            job = {"task": "adding", "cell": cell, "hidden": 8, "step_size": step_size, "seed": 0}
            result = {"metric": "mse", "maximize": False, "test_metric": scale * step_size, "baseline": 0.167}
            result.update(seconds=1.0, steps=10)
            sweep._append(results, {"id": sweep.job_id(job), "job": job, "status": "ok", "result": result})
    job = {"task": "adding", "cell": "nfg", "hidden": 8, "step_size": 0.5, "seed": 0}
    sweep._append(results, {"id": sweep.job_id(job), "job": job, "status": "failed", "error": "RuntimeError: x"})
    job = dict(job, step_size=0.9)
    result = {"metric": "mse", "maximize": False, "test_metric": None, "baseline": 0.167, "seconds": 1.0, "steps": 3}
    sweep._append(results, {"id": sweep.job_id(job), "job": job, "status": "ok", "result": result})
    return results


def test_the_summary_table_has_each_cells_runs_failures_median_best_and_worst(tmp_path):
    table = sweep.summary_table(sweep.read_results(fake_results(tmp_path)))
    rows = {line.split()[1]: line.split()[3:] for line in table.splitlines()[2:]}
    assert rows["vanilla"] == ["3", "0", "0.0100", "0.0010", "0.1000"]
    assert rows["nfg"] == ["3", "2", "0.0300", "0.0030", "0.3000"]  # one failed, one diverged


def test_the_report_draws_the_variants_and_each_varying_hyperparameter(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    results = fake_results(tmp_path)
    assert sweep.varying_axes(sweep.read_results(results)) == ["step_size"]
    out = tmp_path / "figures"
    study = write(tmp_path, '[study]\ntask = "adding"\n')
    assert sweep.main([study, "--results", results, "--report", "--out", str(out)]) == 0
    assert "vanilla" in capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["hyperparameters.png", "variants.png"]
    assert all((out / name).stat().st_size > 5000 for name in os.listdir(out))
