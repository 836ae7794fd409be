"""A pytest plugin for the mutation runner: records the first failing test and when it failed.

Loaded with ``-p mutation_probe`` (``mutation/`` on ``PYTHONPATH``). With
``MUTATION_BLOCK_OPTIONAL=1`` it makes torch and keras unimportable before
any conftest runs (``sys.modules[name] = None``: ``import`` raises
ImportError and ``importlib.util.find_spec`` returns ``None``), as on a
machine without them. The record goes to the JSON file ``MUTATION_RESULT``.
"""

import json
import os
import sys
import time

if os.environ.get("MUTATION_BLOCK_OPTIONAL") == "1":
    for _name in ("torch", "keras"):
        sys.modules[_name] = None

_record = {"killer": None, "phase": None, "seconds": None, "test_seconds": None, "failed": 0, "passed": 0}
_start = [None]


def pytest_sessionstart(session):
    _start[0] = time.perf_counter()


def _failed(nodeid, phase, duration):
    _record["failed"] += 1
    if _record["killer"] is None:
        _record.update(killer=nodeid, phase=phase, seconds=time.perf_counter() - _start[0], test_seconds=duration)


def pytest_collectreport(report):
    if report.failed:
        _failed(report.nodeid or "<collection>", "collect", 0.0)


def pytest_runtest_logreport(report):
    if report.failed:
        _failed(report.nodeid, report.when, report.duration)
    elif report.when == "call" and report.passed:
        _record["passed"] += 1


def pytest_sessionfinish(session, exitstatus):
    _record["exitstatus"] = int(exitstatus)
    _record["total_seconds"] = time.perf_counter() - _start[0]
    _record["blocked_optional"] = os.environ.get("MUTATION_BLOCK_OPTIONAL") == "1"
    path = os.environ.get("MUTATION_RESULT")
    if path:
        with open(path, "w") as out:
            json.dump(_record, out)
