"""A small reproduction of Greff et al. (2017), "LSTM: A Search Space Odyssey", on rnngrad's tasks.

Runs the studies in ``benchmarks/greff/`` (the vanilla peephole LSTM and its
eight variants, the same random draws of learning rate and seed for every
variant) on a local Dask cluster through :mod:`rnngrad.sweep`, appends the
results to ``benchmarks/results/greff-<task>.jsonl`` (a run that is stopped
and started again skips the finished jobs), and prints for each task:

* the summary table of :func:`rnngrad.sweep.summary_table`;
* each variant against the baseline on the same draws: the median of the
  ratio variant / vanilla of the test metric (a loss: above 1 is worse) and
  in how many draws the variant was worse;
* the wall time and the number of jobs run by this invocation.

``python benchmarks/greff.py`` (about half an hour on 2 busy cores);
``--tasks adding`` for one study; ``--workers N``; ``--scheduler ADDRESS``.
The docs page ``docs/sweep.rst`` draws its figure from the results files.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# run from a checkout too: the repository root holds the rnngrad package
sys.path.insert(0, os.path.dirname(HERE))

from rnngrad import sweep  # noqa: E402

STUDIES = os.path.join(HERE, "greff")
RESULTS = os.path.join(HERE, "results")


def paired(records, baseline="vanilla"):
    """``{cell: (median ratio to the baseline on the same draw, draws worse, draws compared)}`` (a loss metric)."""
    by_draw = {}
    for record in records:
        if record["status"] != "ok":
            continue
        job = dict(record["job"])
        cell = job.pop("cell")
        draw = json.dumps(job, sort_keys=True)
        value = record["result"]["test_metric"]
        by_draw.setdefault(draw, {})[cell] = np.inf if value is None else value
    cells = sorted({cell for values in by_draw.values() for cell in values}, key=lambda c: c != baseline)
    table = {}
    for cell in cells:
        both = [values for values in by_draw.values() if cell in values and baseline in values]
        pairs = [(values[cell], values[baseline]) for values in both]
        ratios = [mine / theirs for mine, theirs in pairs]
        table[cell] = (float(np.median(ratios)), sum(mine > theirs for mine, theirs in pairs), len(pairs))
    return table


def describe(records):
    lines = [sweep.summary_table(records), "", f"{'cell':8} {'median ratio to vanilla':>24} {'worse in':>10}"]
    for cell, (ratio, worse, total) in paired(records).items():
        lines.append(f"{cell:8} {ratio:24.3f} {worse:>5d} of {total}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["adding", "chars"], help="studies (default: adding chars)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (default: 2)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler")
    parser.add_argument("--report-only", action="store_true", help="print the tables of the results so far")
    args = parser.parse_args(argv)
    os.makedirs(RESULTS, exist_ok=True)
    for task in args.tasks:
        study = sweep.load_study(os.path.join(STUDIES, f"{task}.toml"))
        results = os.path.join(RESULTS, f"greff-{task}.jsonl")
        before = sum(record["status"] == "ok" for record in sweep.read_results(results))
        start = time.perf_counter()
        if not args.report_only:
            sweep.run_study(study, results, scheduler=args.scheduler, workers=args.workers)
        wall = time.perf_counter() - start
        records = sweep.read_results(results)
        ran = sum(record["status"] == "ok" for record in records) - before
        cpu = sum(record["result"]["seconds"] for record in records if record["status"] == "ok")
        print(f"\n== {study.name}: {len(study.jobs())} jobs; this run: {ran} jobs in {wall:.0f} s wall")
        print(f"   training time summed over all {len(records)} recorded jobs: {cpu:.0f} s\n")
        print(describe(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
