"""Hypothesis profiles and the torch guard.

Profiles, chosen by the environment variable ``RNNGRAD_PROFILE`` (default:
``ci`` when ``CI`` is set, else ``dev``):

* ``dev``: few examples, random, for the edit-test loop;
* ``ci``: derandomized (the same examples every run), moderate count;
* ``thorough``: hundreds of examples, for a long run by hand.

In the ``ci`` profile the examples of a test do not depend on which modules
happen to be imported. Hypothesis (6.131 and later) mixes into its draws
constants collected from the source of every *local* module loaded so far
(``hypothesis.internal.conjecture.providers._get_local_constants``), so a
test run alone, after other tests, or against a mutated copy of rnngrad
would draw different examples. No setting turns that off; the ``ci``
profile empties that pool (:func:`freeze_constant_pool`), keeping
Hypothesis' own global constants (0, 1, -1, the float edge values, ...).
``RNNGRAD_HYPOTHESIS_CONSTANTS=modules`` leaves the pool as Hypothesis makes
it (tests/test_profiles.py uses it as the control).

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
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_SLOW_OK,
    print_blob=True,
)
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=_SLOW_OK)

_IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
PROFILE = os.environ.get("RNNGRAD_PROFILE") or ("ci" if _IN_CI else "dev")
settings.load_profile(PROFILE)


def freeze_constant_pool():
    """Make Hypothesis draw from no module-derived constants: the same examples whatever is imported.

    Returns whether the pool could be frozen (``False`` if Hypothesis no
    longer has the mechanism; tests/test_profiles.py then fails and says so).
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a Hypothesis without the module
        return False
    if not callable(getattr(providers, "_get_local_constants", None)) or not hasattr(providers, "Constants"):
        return False
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None and hasattr(cache, "cache"):
        cache.cache.clear()
    return True


CONSTANT_POOL_FROZEN = (
    PROFILE == "ci" and os.environ.get("RNNGRAD_HYPOTHESIS_CONSTANTS") != "modules" and freeze_constant_pool()
)

HAVE_TORCH = importlib.util.find_spec("torch") is not None


def pytest_configure(config):
    if _IN_CI and not HAVE_TORCH:
        raise pytest.UsageError(
            "torch is not installed, so the torch parity tests would be skipped; in CI they must run. "
            "Install the test extra: pip install -e '.[test]' (it pins torch==2.13.0)."
        )


def pytest_report_header(config):
    torch_line = "torch: installed, parity tests run" if HAVE_TORCH else "torch: NOT INSTALLED, parity tests SKIPPED"
    pool = "frozen (examples independent of the imported modules)" if CONSTANT_POOL_FROZEN else "Hypothesis' own"
    return [f"rnngrad hypothesis profile: {PROFILE}; constant pool: {pool}", torch_line]


def pytest_terminal_summary(terminalreporter):
    if not HAVE_TORCH:
        terminalreporter.section("TORCH PARITY TESTS SKIPPED", sep="!", red=True, bold=True)
        terminalreporter.write_line(
            "torch is not installed: nothing checked rnngrad against torch.nn in this run. "
            "pip install torch==2.13.0 to run them.",
            red=True,
        )
