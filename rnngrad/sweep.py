# long: a study's file format, its validation, the Dask run and the report belong together (one concept)
r"""Many training runs at once on Dask: a study described in a TOML file, results that survive a crash.

A *study* is a small TOML file naming a task and the values to try::

    [study]
    task = "adding"        # order, adding, copy or chars (rnngrad.experiments)
    steps = 300            # fixed for every job; also: batch, retries
    [grid]                 # every combination of these lists
    cell = ["vanilla", "nfg", "noaf", "cifg"]
    seed = [0, 1, 2]
    [random]               # crossed with the grid: `samples` draws of these
    samples = 4
    draw_seed = 0          # seeds the draws (the jobs' own seeds are the axis `seed`)
    step_size = {log_uniform = [1e-3, 3e-2]}
    hidden = [16, 32]      # a list: drawn uniformly from it

The axes (in ``[grid]`` or ``[random]``, not both) are :data:`AXES`:
``cell`` (a name of :data:`rnngrad.experiments.CELLS`: ``rnn``, ``lstm``,
``gru`` and Greff et al.'s variants ``vanilla``, ``nig``, ...), ``hidden``,
``length`` (T), ``step_size`` (the learning rate) and ``seed``. A random axis
is a list or a table ``{uniform = [lo, hi]}``, ``{log_uniform = [lo, hi]}``
or ``{int_uniform = [lo, hi]}`` (both ends included). The draws come from
``[random].draw_seed`` (default 0), so a study file always makes the same jobs.

:func:`load_study` checks the whole file before any job starts: an unknown
table or key, an empty list, a value of the wrong type or out of range
raises :class:`StudyError` naming the key (``[grid] hidden: ...``).

:func:`run_study` runs each job (one :func:`rnngrad.experiments.run`) as an
independent Dask task: by default on a local cluster of one single-threaded
worker process per core, or on an existing cluster at ``scheduler``. Each
result is appended to a JSON-lines file as soon as its job finishes, so a
study interrupted at any point loses at most the jobs that were running, and
run again it skips the jobs already in the file. A job whose worker dies is
rescheduled by Dask on another worker; one that raises is retried
``retries`` times; a job that still fails is recorded as failed (and tried
again on the next run). :func:`report` reads the file back: a summary table
per cell and figures of the metric per cell and against each hyperparameter.

Run it as ``rnngrad sweep study.toml`` or ``python -m rnngrad.sweep
study.toml`` (``--report`` for the report); it needs the optional extra ``rnngrad[sweep]`` (Dask distributed,
matplotlib, and tomli before Python 3.11).
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time
import uuid
from dataclasses import dataclass

import numpy as onp

from . import experiments

__all__ = [
    "AXES",
    "TASKS",
    "Study",
    "StudyError",
    "load_study",
    "parse_study",
    "job_id",
    "run_job",
    "run_study",
    "read_results",
    "summary_table",
    "plot_variants",
    "plot_hyperparameters",
    "plot_report",
    "report",
    "add_arguments",
    "main",
]

#: The axes a study may vary: name -> what a value must be.
AXES = {
    "cell": "a cell name of rnngrad.experiments.CELLS",
    "hidden": "an integer >= 1 (H)",
    "length": "an integer >= 1 (T)",
    "step_size": "a number > 0 (the learning rate)",
    "seed": "an integer >= 0",
}
#: The tasks a study may run: those of :data:`rnngrad.experiments.DEFAULTS` that need no data file.
TASKS = ("order", "adding", "copy", "chars")
_STUDY_KEYS = {"task", "name", "steps", "batch", "retries"}
_DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform")


class StudyError(ValueError):
    """A study file that cannot run; the message names the table and key."""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _check_value(where, axis, value):
    """One value of ``axis``, or :class:`StudyError` naming ``where``."""
    if axis == "cell":
        ok = isinstance(value, str) and value in experiments.CELLS
    elif axis == "step_size":
        ok = _is_number(value) and value > 0
    else:
        ok = _is_int(value) and value >= (0 if axis == "seed" else 1)
    if not ok:
        choices = f" (one of {sorted(experiments.CELLS)})" if axis == "cell" else ""
        raise StudyError(f"{where}: expected {AXES[axis]}{choices}, got {value!r}")
    return value


def _check_keys(where, table, allowed):
    if not isinstance(table, dict):
        raise StudyError(f"{where}: expected a table, got {table!r}")
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise StudyError(f"{where}: unknown key {unknown[0]!r}; expected keys from {sorted(allowed)}")


def _check_distribution(where, axis, spec):
    """A random axis: a list to choose from, or one ``{kind = [lo, hi]}``; returned as (kind, values)."""
    if isinstance(spec, list):
        if not spec:
            raise StudyError(f"{where}: expected a non-empty list, got []")
        return ("choice", [_check_value(where, axis, value) for value in spec])
    if not isinstance(spec, dict) or len(spec) != 1:
        raise StudyError(
            f"{where}: expected a list or one of {{{' | '.join(_DISTRIBUTIONS)} = [low, high]}}, got {spec!r}"
        )
    ((kind, bounds),) = spec.items()
    if kind not in _DISTRIBUTIONS:
        raise StudyError(f"{where}: unknown distribution {kind!r}; expected one of {list(_DISTRIBUTIONS)}")
    if axis == "cell":
        raise StudyError(f"{where}: a cell is drawn from a list, not from {kind}")
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(_is_number(b) for b in bounds)):
        raise StudyError(f"{where}.{kind}: expected [low, high], two numbers, got {bounds!r}")
    low, high = bounds
    if low > high:
        raise StudyError(f"{where}.{kind}: expected low <= high, got {bounds!r}")
    if axis == "step_size":
        if kind == "int_uniform":
            raise StudyError(f"{where}: step_size takes numbers: use uniform or log_uniform, got int_uniform")
        if low <= 0:
            raise StudyError(f"{where}.{kind}: expected 0 < low <= high, got {bounds!r}")
    else:
        if kind != "int_uniform":
            raise StudyError(f"{where}: {axis} takes integers: use int_uniform or a list, got {kind}")
        _check_value(f"{where}.{kind}", axis, low)
        _check_value(f"{where}.{kind}", axis, high)
    return (kind, [low, high])


@dataclass(frozen=True)
class Study:
    """A checked study: what :func:`parse_study` returns.

    Attributes:
        task: the task of every job.
        name: a label (the file's stem by default).
        fixed: settings shared by every job (``steps``, ``batch``).
        grid: axis -> list of values, crossed with each other.
        random: axis -> ``(kind, values)``; ``kind`` is ``"choice"`` (values
            listed) or a distribution over ``[low, high]``.
        samples, random_seed: how many random draws, and their seed.
        retries: how often a job that raises is tried again.
    """

    task: str
    name: str
    fixed: dict
    grid: dict
    random: dict
    samples: int
    random_seed: int
    retries: int

    def jobs(self):
        """The jobs, each a dict of settings (``task``, the fixed settings, one value per axis), in a fixed order."""
        rng = onp.random.default_rng(self.random_seed)
        draws = [{axis: _draw(rng, *spec) for axis, spec in self.random.items()} for _ in range(self.samples)]
        points = [{}]
        for axis, values in self.grid.items():
            points = [dict(point, **{axis: value}) for point in points for value in values]
        return [dict(task=self.task, **self.fixed, **point, **draw) for point in points for draw in draws]


def _draw(rng, kind, values):
    if kind == "choice":
        return values[int(rng.integers(len(values)))]
    low, high = values
    if kind == "int_uniform":
        return int(rng.integers(low, high + 1))
    if kind == "log_uniform":
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return float(rng.uniform(low, high))


def job_id(job):
    """A stable name of a job: a hash of its settings (so a restarted study recognises finished jobs)."""
    return hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()[:16]


def parse_study(document, name="study"):
    """Check a study given as a dict (a parsed TOML document) and return a :class:`Study`.

    Raises:
        StudyError: naming the table and key of the first problem found.
    """
    _check_keys("study file", document, {"study", "grid", "random"})
    head = document.get("study")
    if head is None:
        raise StudyError("[study]: missing; it needs at least task = one of " + ", ".join(TASKS))
    _check_keys("[study]", head, _STUDY_KEYS)
    task = head.get("task")
    if task not in TASKS:
        raise StudyError(f"[study] task: expected one of {list(TASKS)}, got {task!r}")
    fixed = {}
    for key in ("steps", "batch"):
        if key in head:
            if not (_is_int(head[key]) and head[key] >= 1):
                raise StudyError(f"[study] {key}: expected an integer >= 1, got {head[key]!r}")
            fixed[key] = head[key]
    retries = head.get("retries", 2)
    if not (_is_int(retries) and retries >= 0):
        raise StudyError(f"[study] retries: expected an integer >= 0, got {retries!r}")
    label = head.get("name", name)
    if not isinstance(label, str):
        raise StudyError(f"[study] name: expected a string, got {label!r}")
    grid = document.get("grid", {})
    _check_keys("[grid]", grid, AXES)
    for axis, values in grid.items():
        if not isinstance(values, list) or not values:
            raise StudyError(f"[grid] {axis}: expected a non-empty list, got {values!r}")
        for value in values:
            _check_value(f"[grid] {axis}", axis, value)
    random = dict(document.get("random", {}))
    _check_keys("[random]", random, set(AXES) | {"samples", "draw_seed"})
    samples = random.pop("samples", None if random else 1)
    if not (_is_int(samples) and samples >= 1):
        raise StudyError(f"[random] samples: expected an integer >= 1 (the number of draws), got {samples!r}")
    random_seed = random.pop("draw_seed", 0)
    if not (_is_int(random_seed) and random_seed >= 0):
        raise StudyError(f"[random] draw_seed: expected an integer >= 0, got {random_seed!r}")
    both = sorted(set(grid) & set(random))
    if both:
        raise StudyError(f"[random] {both[0]}: already an axis of [grid]; an axis is in one of them")
    random = {axis: _check_distribution(f"[random] {axis}", axis, spec) for axis, spec in random.items()}
    study = Study(task, label, fixed, grid, random, samples, random_seed, retries)
    for job in study.jobs():  # what only the recipe knows (the adding task needs T >= 2, ...)
        settings = {key: value for key, value in job.items() if key != "task"}
        try:
            experiments.prepare(task, **settings)
        except (ValueError, TypeError) as error:
            key = str(error).split(":")[0]
            where = "[grid]" if key in grid else "[random]" if key in random else "[study]"
            raise StudyError(f"{where} {error} (in the job {settings})") from error
    return study


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def load_study(path):
    """Read and check a study file (TOML); see the module's docstring for its format."""
    tomllib = _toml()
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise StudyError(f"study: cannot read {path}: {error.strerror or error}") from error
    except tomllib.TOMLDecodeError as error:
        raise StudyError(f"study: {path} is not valid TOML: {error}") from error
    return parse_study(document, name=os.path.splitext(os.path.basename(path))[0])


# -- running --------------------------------------------------------------------------------------------------


def run_job(job):
    """Run one job (a dict from :meth:`Study.jobs`) and return its result, ready for JSON.

    The result: ``metric`` (its name), ``maximize``, ``test_metric`` (``None``
    when training diverged), ``baseline``, ``seconds`` (training time),
    ``steps`` (updates applied).
    """
    settings = {key: value for key, value in job.items() if key != "task"}
    result = experiments.prepare(job["task"], **settings).run(baseline_model=False)
    value = float(result.test_metric)
    return dict(
        metric=result.metric,
        maximize=bool(result.maximize),
        test_metric=value if math.isfinite(value) else None,
        baseline=float(result.baseline),
        seconds=float(result.fit.seconds),
        steps=int(result.steps),
    )


def read_results(path):
    """The records of a results file, one per job: the successful one if any, else the last failure.

    A last line cut short (a crash while writing it) is skipped.
    """
    records = {}
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if records.get(record["id"], {}).get("status") != "ok":
                records[record["id"]] = record
    return list(records.values())


def _append(path, record):
    with open(path, "a+", encoding="utf-8") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell():  # a line cut short by a crash must not swallow this one
            handle.seek(handle.tell() - 1)
            if handle.read(1) != "\n":
                handle.write("\n")
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _distributed():
    try:
        from distributed import Client, as_completed
    except ImportError as error:
        raise ImportError("rnngrad.sweep needs Dask distributed: pip install 'rnngrad[sweep]'") from error
    return Client, as_completed


def _client(scheduler, workers):
    Client, _ = _distributed()
    from distributed import LocalCluster

    if scheduler is not None:
        return Client(scheduler), None
    # One single-threaded process per core: the jobs are independent and NumPy's own threads would
    # fight each other (Dask's nanny sets OMP/OPENBLAS/MKL_NUM_THREADS=1 in each worker).
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    return Client(cluster), cluster


def run_study(study, results, *, scheduler=None, workers=None, job_function=run_job, progress=None, timeout=None):
    """Run every job of ``study`` not yet in the file ``results``, appending each result as it finishes.

    Args:
        study: a :class:`Study` (or the path of a study file).
        results: path of the JSON-lines results file (created if missing).
        scheduler: the address of an existing Dask scheduler (``tcp://host:8786``)
            or a :class:`distributed.Client`; ``None`` starts a local cluster.
        workers: the local cluster's worker processes (default: one per core).
        job_function: ``job dict -> result dict`` (default :func:`run_job`).
        progress: ``(done, running, failed, total, record) -> None`` after
            each finished job; ``None`` prints a line to stderr.
        timeout: seconds for the whole run (``None``: no limit); past it the
            unfinished jobs are cancelled and :class:`TimeoutError` raised
            (the finished ones are in ``results``).

    Returns:
        ``(done, failed)``: the numbers of jobs of the study finished and
        failed, counting those found in ``results`` from an earlier run.
    """
    if not isinstance(study, Study):
        study = load_study(study)
    jobs = {job_id(job): job for job in study.jobs()}
    finished = {record["id"] for record in read_results(results) if record["status"] == "ok"}
    pending = {key: job for key, job in jobs.items() if key not in finished}
    done, failed, total = len(jobs) - len(pending), 0, len(jobs)
    report_progress = progress or _print_progress
    if not pending:
        return done, failed
    Client, as_completed = _distributed()
    client, cluster = (scheduler, None) if isinstance(scheduler, Client) else _client(scheduler, workers)
    futures = {}
    # a fresh suffix per run: a task of an interrupted run may still be running under the old key
    run = uuid.uuid4().hex[:8]
    try:
        for key, job in pending.items():
            future = client.submit(job_function, job, key=f"rnngrad-sweep-{key}-{run}", retries=study.retries)
            futures[future] = key
        for future in as_completed(futures, timeout=timeout):
            key = futures[future]
            record = dict(id=key, job=jobs[key], finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            if future.status == "finished":
                record.update(status="ok", result=future.result())
                done += 1
            else:
                error = future.exception()
                record.update(status="failed", error=f"{type(error).__name__}: {error}")
                failed += 1
            _append(results, record)
            report_progress(done, _running(client, futures), failed, total, record)
    finally:
        unfinished = [future for future in futures if not future.done()]
        if unfinished:  # an interruption: the finished jobs are on disk, these will run next time
            client.cancel(unfinished)
        if client is not scheduler:
            client.close()
        if cluster is not None:
            cluster.close()
    return done, failed


def _running(client, futures):
    """How many of the study's jobs are running: those a worker holds, at most one per worker thread.

    (A Dask worker may hold one task more than it has threads, waiting; the
    count assumes the cluster runs only this study.)
    """
    ours = {str(future.key) for future in futures}
    held = sum(1 for tasks in client.processing().values() for task in tasks if str(task) in ours)
    return min(held, sum(client.nthreads().values()))


def _print_progress(done, running, failed, total, record):
    job = record["job"]
    what = " ".join(f"{axis}={job[axis]}" for axis in AXES if axis in job)
    if record["status"] == "ok":
        result = record["result"]
        outcome = f"{result['metric']} {result['test_metric']} ({result['seconds']:.1f} s)"
    else:
        outcome = record["error"]
    print(f"[{done}/{total} done, {running} running, {failed} failed] {what}: {outcome}", file=sys.stderr)


# -- the report -----------------------------------------------------------------------------------------------


def _groups(records):
    """``{(task, metric): {cell: [test metrics]}}`` of the successful records, cells in order of appearance."""
    groups = {}
    for record in records:
        if record["status"] != "ok" or record["result"]["test_metric"] is None:
            continue
        key = (record["job"]["task"], record["result"]["metric"])
        groups.setdefault(key, {}).setdefault(record["job"]["cell"], []).append(record["result"]["test_metric"])
    return groups


def summary_table(records):
    """A plain-text table: per task and cell, the jobs done and failed and the metric's median, best and worst."""
    lines = []
    failed = {}
    diverged = {}
    for record in records:
        job = record["job"]
        if record["status"] != "ok":
            failed[job["task"], job.get("cell")] = failed.get((job["task"], job.get("cell")), 0) + 1
        elif record["result"]["test_metric"] is None:
            diverged[job["task"], job.get("cell")] = diverged.get((job["task"], job.get("cell")), 0) + 1
    maximize = {record["job"]["task"]: record["result"]["maximize"] for record in records if record["status"] == "ok"}
    header = f"{'task':8} {'cell':8} {'metric':14} {'runs':>5} {'failed':>6} {'median':>9} {'best':>9} {'worst':>9}"
    lines.append(header)
    lines.append("-" * len(header))
    for (task, metric), cells in _groups(records).items():
        for cell, values in cells.items():
            best, worst = (max, min) if maximize[task] else (min, max)
            bad = failed.get((task, cell), 0) + diverged.get((task, cell), 0)
            lines.append(
                f"{task:8} {cell:8} {metric:14} {len(values):5d} {bad:6d} "
                f"{onp.median(values):9.4f} {best(values):9.4f} {worst(values):9.4f}"
            )
    return "\n".join(lines)


def varying_axes(records):
    """The numeric axes that take more than one value among ``records`` (the x-axes of the report)."""
    axes = []
    for axis in ("hidden", "length", "step_size"):
        if len({record["job"].get(axis) for record in records}) > 1:
            axes.append(axis)
    return axes


def plot_variants(records, axes=None):
    """Box plots of the test metric per cell, each run a dot, one panel per task: the gate-importance figure.

    Args:
        records: from :func:`read_results`.
        axes: a list of matplotlib axes, one per task (``None``: a new figure).

    Returns:
        the figure.
    """
    import matplotlib.pyplot as plt

    groups = _groups(records)
    if axes is None:
        fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
        axes = list(axes[0])
    for ax, ((task, metric), cells) in zip(axes, groups.items()):
        ax.boxplot(list(cells.values()), showfliers=False)
        for position, values in enumerate(cells.values(), start=1):  # few runs a cell: show each one
            spread = onp.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else [0.0]
            ax.plot(position + onp.asarray(spread), values, ".", color="0.3", alpha=0.7)
        ax.set_xticks(range(1, len(cells) + 1), list(cells))
        ax.set_title(task)
        ax.set_ylabel(f"test {metric}")
        ax.tick_params(axis="x", labelrotation=45)
    fig = axes[0].figure
    fig.tight_layout()
    return fig


def plot_hyperparameters(records):
    """The test metric against each varying hyperparameter, one row per task, one colour per cell."""
    import matplotlib.pyplot as plt

    groups = _groups(records)
    axes_names = varying_axes(records) or ["seed"]
    fig, axes = plt.subplots(
        len(groups), len(axes_names), figsize=(4.2 * len(axes_names), 3.2 * len(groups)), squeeze=False
    )
    for row, (task, metric) in enumerate(groups):
        for column, axis in enumerate(axes_names):
            ax = axes[row][column]
            for cell in groups[task, metric]:
                chosen = [
                    r
                    for r in records
                    if r["status"] == "ok"
                    and r["job"]["task"] == task
                    and r["job"].get("cell") == cell
                    and r["result"]["test_metric"] is not None
                ]
                xs = [r["job"].get(axis, experiments.DEFAULTS[task].get(axis)) for r in chosen]
                ax.plot(xs, [r["result"]["test_metric"] for r in chosen], "o", alpha=0.7, label=cell)
            if axis == "step_size":
                ax.set_xscale("log")
            ax.set_xlabel(axis)
            ax.set_ylabel(f"{task}: test {metric}")
    axes[0][-1].legend(fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


def plot_report(records, out):
    """Write ``variants.png`` and ``hyperparameters.png`` into the directory ``out``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    paths = []
    for name, draw in (("variants.png", plot_variants), ("hyperparameters.png", plot_hyperparameters)):
        fig = draw(records)
        paths.append(os.path.join(out, name))
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths


def report(results, out=None):
    """The summary table of a results file, and its figures written into ``out`` when given."""
    records = read_results(results)
    if not records:
        raise ValueError(f"results: {results} holds no results yet")
    text = summary_table(records)
    if out is not None:
        text += "\n\nfigures: " + ", ".join(plot_report(records, out))
    return text


# -- the command line ------------------------------------------------------------------------------------------


def add_arguments(parser):
    """The arguments of ``rnngrad sweep`` (and ``python -m rnngrad.sweep``) on an :class:`argparse.ArgumentParser`."""
    parser.add_argument("study", help="the study file (TOML)")
    parser.add_argument("--results", help="the JSON-lines results file (default: the study's name + .jsonl, beside it)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (default: a local cluster)")
    parser.add_argument("--workers", type=int, help="local cluster: worker processes (default: one per core)")
    parser.add_argument("--report", action="store_true", help="print the summary table and draw the figures")
    parser.add_argument("--out", help="with --report: the directory of the figures (default: beside the results)")
    return parser


def sweep_command(args):
    """Run ``rnngrad sweep`` with parsed ``args``; return the exit status."""
    results = args.results or os.path.splitext(args.study)[0] + ".jsonl"
    if args.report:
        out = args.out or os.path.splitext(results)[0] + "-report"
        print(report(results, out))
        return 0
    if args.workers is not None and args.workers < 1:
        raise StudyError(f"--workers: expected an integer >= 1, got {args.workers}")
    study = load_study(args.study)
    total = len(study.jobs())
    print(f"study {study.name}: {total} jobs on task {study.task}; results in {results}", file=sys.stderr)
    done, failed = run_study(study, results, scheduler=args.scheduler, workers=args.workers)
    print(f"study {study.name}: {done} of {total} jobs done, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def main(argv=None):
    """``python -m rnngrad.sweep``: run a study, or report on its results."""
    parser = add_arguments(argparse.ArgumentParser(prog="python -m rnngrad.sweep", description=__doc__.splitlines()[0]))
    args = parser.parse_args(argv)
    try:
        return sweep_command(args)
    except (StudyError, ValueError) as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")


if __name__ == "__main__":
    sys.exit(main())
