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


def test_settle_is_the_idle_time_before_each_timed_call(monkeypatch):
    monkeypatch.setitem(bench.SIZES, "tiny", (2, 3, 4, 5))
    pauses = []
    monkeypatch.setattr(bench.time, "sleep", pauses.append)
    bench.run_case("gru", "tiny", "float32", repeats=3, reference=False, use_torch=False, settle=0.25)
    assert pauses == [0.25] * 3  # one per timed call: 3 repeats of the fused path alone


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
