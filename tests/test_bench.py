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
    bench.run_case("gru", "tiny", "float32", repeats=2, use_torch=False, settle=0.25)
    warm_up = ["fused", "reference"]
    one_round = [("sleep", 0.25), "fused", "clock", "fused", "clock", ("sleep", 0.25), "reference", "clock"]
    one_round += ["reference", "clock"]
    assert events[: len(warm_up) + 2 * len(one_round)] == warm_up + 2 * one_round


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
