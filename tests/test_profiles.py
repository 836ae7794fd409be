"""The ``ci`` profile draws the same examples for a test whether it runs alone or among other modules.

Each check runs a small probe test twice in a fresh interpreter: alone, and
with more local modules imported first (every rnngrad module and one full of
distinctive constants, as a whole-suite run or a mutated copy of rnngrad
would have), then compares every example the probe drew.
"""

import os
import subprocess
import sys
import textwrap

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)

PROBE = textwrap.dedent(
    """
    import os

    import hypothesis.extra.numpy as hnp
    import numpy as np
    from hypothesis import given
    from hypothesis import strategies as st


    @given(
        st.lists(st.integers(0, 10**6), max_size=6),
        hnp.arrays(np.float64, 3, elements=st.floats(-1e4, 1e4)),
        st.text(max_size=4),
    )
    def test_probe(integers, floats, text):
        with open(os.environ["PROBE_OUT"], "a") as out:
            out.write(repr((integers, floats.tolist(), text)) + "\\n")
    """
)

CONSTANTS = textwrap.dedent(
    """
    import rnngrad.testing  # noqa: F401

    VALUES = [123457, 98765, 4242, 77, 31337, 271828, 0.318, 1234.5, -999.25, 31.4159]
    NAMES = ["zq", "xyzzy", "qwk", "plugh"]
    """
)


def _draws(tmp_path, name, profile, extra_modules, keep_pool=False):
    out = tmp_path / f"{name}.txt"
    env = dict(os.environ, RNNGRAD_PROFILE=profile, PROBE_OUT=str(out))
    env.pop("RNNGRAD_HYPOTHESIS_CONSTANTS", None)
    if keep_pool:
        env["RNNGRAD_HYPOTHESIS_CONSTANTS"] = "modules"
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "modules"), TESTS, ROOT])
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest"]
    if extra_modules:
        command += ["-p", "manyconstants"]
    command += [str(tmp_path / "probe" / "test_probe.py")]
    result = subprocess.run(command, env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return out.read_text().splitlines()


@pytest.fixture
def probe(tmp_path):
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "test_probe.py").write_text(PROBE)
    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / "manyconstants.py").write_text(CONSTANTS)
    return tmp_path


def test_ci_profile_draws_the_same_examples_whatever_modules_are_imported(probe):
    alone = _draws(probe, "alone", "ci", extra_modules=False)
    among_others = _draws(probe, "among_others", "ci", extra_modules=True)
    assert len(alone) >= 25
    assert alone == among_others
    # the control: with Hypothesis' own pool the imports do change the examples, else this proves nothing.
    # If it fails after a Hypothesis upgrade, the mechanism is gone: drop freeze_constant_pool from conftest.
    unfrozen = _draws(probe, "unfrozen", "ci", extra_modules=True, keep_pool=True)
    assert unfrozen != among_others
