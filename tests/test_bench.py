"""The benchmark script measures what its table says, and refuses bad arguments by name.

Timings themselves are never asserted: benchmarks are read, not tested.
"""

import numpy as np
import pytest

from rnngrad import bench


def test_a_row_has_every_column_and_times_every_implementation(monkeypatch):
    monkeypatch.setitem(bench.SIZES, "tiny", (2, 3, 4, 5))
    row = bench.run_case("lstm", "tiny", "float64", repeats=1, use_torch=False, settle=0.0)
    assert {"fused", "reference", "floor", "peak_fused", "peak_reference"} <= set(row)
    assert all(row[key] > 0 for key in ("fused", "reference", "floor"))
    table = bench.format_table([row])
    assert "lstm" in table and "tiny" in table and "-" in table  # no torch: its columns are dashes


def test_each_timed_call_follows_a_pause_and_an_untimed_call_of_its_own(monkeypatch):
    events = []
    clock = iter(range(10**6))

    def case(kind, size, dtype, impl, seed=0):
        return lambda: events.append(impl)

    monkeypatch.setitem(bench.SIZES, "tiny", (2, 3, 4, 5))
    monkeypatch.setattr(bench, "_rnngrad_case", case)
    monkeypatch.setattr(bench, "matmul_floor", lambda *args: 1.0)
    monkeypatch.setattr(bench.time, "sleep", lambda seconds: events.append(("sleep", seconds)))
    monkeypatch.setattr(bench.time, "perf_counter", lambda: events.append("clock") or next(clock))
    bench.run_case("gru", "tiny", "float32", repeats=3, use_torch=False, settle=0.25)
    # a timed call is one between two clock reads; the property is what precedes each, whatever the order of rounds
    timed = [i for i in range(1, len(events) - 1) if events[i - 1] == events[i + 1] == "clock" and events[i] != "clock"]
    assert sorted(events[i] for i in timed) == ["fused"] * 3 + ["reference"] * 3
    for i in timed:
        assert events[i - 2] == events[i], f"timed call {i} does not follow an untimed call of its own: {events}"
        assert events[i - 3] == ("sleep", 0.25), f"the untimed call before {i} does not follow a pause: {events}"


def test_the_peak_is_measured_with_an_empty_workspace():
    """A warm workspace would hand the call buffers the trace cannot see, and the peak would read near zero."""
    batch, steps, hidden = 16, 100, 64
    run = bench._rnngrad_case("lstm", (batch, steps, 8, hidden), np.float64, "fused")
    run()
    # the saved gates and the backward's factors alone are two (4, T, B, H) float64 buffers (6.6 MB)
    assert bench.peak_megabytes(run) > 2 * 4 * steps * batch * hidden * 8 / 2**20


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--repeats", "0"], "--repeats"),
        (["--settle", "-1"], "--settle"),
        (["--settle", "nan"], "--settle"),
        (["--settle", "inf"], "--settle"),
    ],
)
def test_bad_numbers_are_refused_by_name(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        bench.main(argv)
    assert message in str(stop.value)


def test_bad_choices_are_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--cells", "lstm,transformer"])
    assert "--cells" in capsys.readouterr().err


def test_a_curvature_row_times_every_product_and_states_the_target_ratios(monkeypatch):
    monkeypatch.setitem(bench.SIZES, "tiny", (2, 3, 4, 5))
    row = bench.run_curvature_case("gru", "tiny", "float64", repeats=1, use_torch=False, settle=0.0)
    assert all(row[key] > 0 for key in ("fwd", "grad", "jvp", "ggn", "hvp"))
    table = bench.format_table([row], bench._bench_curvature.CURVATURE_COLUMNS)
    header = table.splitlines()[1]
    assert all(title in header for title in ("jvp/fwd", "ggn/grad", "hvp/grad", "hvp/t hvp"))
    ratios = bench._ratios(row, bench._bench_curvature.CURVATURE_COLUMNS)
    assert ratios["hvp/grad"] == row["hvp"] / row["grad"] and "hvp/t hvp" not in ratios  # no torch: no ratio


def test_the_environment_names_the_blas_kernel_and_its_threads():
    pytest.importorskip("threadpoolctl")
    line = bench.blas_line()
    assert "kernel" in line and "threads" in line, line


@pytest.mark.parametrize("flag", ["--cells", "--sizes", "--dtypes"])
def test_a_bad_choice_is_named_once_and_the_allowed_values_are_listed(flag, capsys):
    with pytest.raises(SystemExit):
        bench.main([flag, "foo"])
    error = capsys.readouterr().err
    assert error.count(flag) == 1 + error.split("error:")[0].count(flag), error  # the usage line may name it too
    allowed = {"--cells": bench.MODELS, "--sizes": bench.SIZES, "--dtypes": bench.DTYPES}[flag]
    assert all(value in error for value in allowed)


def test_the_help_lists_the_allowed_values_of_each_choice(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for values in (bench.MODELS, bench.SIZES, bench.DTYPES):
        assert all(value in text for value in values)
