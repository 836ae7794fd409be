"""Hypothesis profiles and the torch guard.

Profiles, chosen by the environment variable ``RNNGRAD_PROFILE`` (default:
``ci`` when ``CI`` is set, else ``dev``):

* ``dev``: few examples, random, for the edit-test loop;
* ``ci``: derandomized (the same examples every run), moderate count;
* ``thorough``: hundreds of examples, for a long run by hand.

The costlier properties (Jacobians, second order, check_cell on every cell)
run a fixed fraction of the profile's examples (``property_support.scaled``),
so every profile scales the whole suite together.
"""

import importlib.util
import os

import pytest
from hypothesis import HealthCheck, settings

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("dev", max_examples=10, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, suppress_health_check=_SLOW_OK, print_blob=True
)
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=_SLOW_OK)

_IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
PROFILE = os.environ.get("RNNGRAD_PROFILE") or ("ci" if _IN_CI else "dev")
settings.load_profile(PROFILE)

HAVE_TORCH = importlib.util.find_spec("torch") is not None


def pytest_configure(config):
    if _IN_CI and not HAVE_TORCH:
        raise pytest.UsageError(
            "torch is not installed, so the torch parity tests would be skipped; in CI they must run. "
            "Install the test extra: pip install -e '.[test]' (it pins torch==2.13.0)."
        )


def pytest_report_header(config):
    torch_line = "torch: installed, parity tests run" if HAVE_TORCH else "torch: NOT INSTALLED, parity tests SKIPPED"
    return [f"rnngrad hypothesis profile: {PROFILE}", torch_line]


def pytest_terminal_summary(terminalreporter):
    if not HAVE_TORCH:
        terminalreporter.section("TORCH PARITY TESTS SKIPPED", sep="!", red=True, bold=True)
        terminalreporter.write_line(
            "torch is not installed: nothing checked rnngrad against torch.nn in this run. "
            "pip install torch==2.13.0 to run them.",
            red=True,
        )
