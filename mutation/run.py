"""Run the mutation catalogue: apply each mutant to a scratch copy, run the test suite, report the killer.

Usage (from the repository root; ``tox -e mutation`` runs the first line)::

    python mutation/run.py                       # every mutant, both configurations
    python mutation/run.py --config default      # only the default run (torch and Keras importable)
    python mutation/run.py --only clip-epsilon --only merge-mean-is-sum
    python mutation/run.py --check               # only check that every snippet still applies
    python mutation/run.py --render results.json --rst docs/mutation_report.inc   # the docs' table

Each mutant (see ``mutation/catalogue.py``) replaces one snippet, which must
occur exactly once in its file, in a fresh copy of the tree (the files git
knows, committed or not). The suite then runs as ``tox -e py`` runs it
(``pytest``, Hypothesis profile ``ci``), stopping at the first failure, in
two configurations:

* ``default``: everything installed importable;
* ``no-optional``: torch and Keras made unimportable, so their parity
  tests skip (torch parity must not be the only guard of any behaviour).

For each mutant and configuration the report gives the first failing test
(the killer) and the seconds from the start of the session to its failure;
a mutant that no failing test finds "survived". A mutant whose snippet is
not in its file is reported as "does not apply", with the files where the
snippet is now (re-target it in the catalogue). The exit status is 1 when a
mutant survives or does not apply. The list of files to copy is taken once,
at the start: add no test file while a run is going.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from catalogue import MUTANTS  # noqa: E402

CONFIGS = {"default": {}, "no-optional": {"MUTATION_BLOCK_OPTIONAL": "1"}}

#: The first stage: quick property files that hold most behaviours. The suite runs in two stages (these
#: files, then every other file of tests/), each stopping at its first failure, so that most mutants
#: die before the slower files, and those importing torch and Keras, are even collected.
FIRST_STAGE = (
    "tests/test_equations.py",
    "tests/test_model_options.py",
    "tests/test_activations.py",
    "tests/test_init.py",
    "tests/test_roundtrips.py",
    "tests/test_clipping.py",
    "tests/test_vjp_second_order.py",
    "tests/test_kernels.py",
    "tests/test_properties_masking.py",
    "tests/test_train.py",
)


def tree_files(root):
    """The files git knows in ``root`` (tracked, or untracked and not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and os.path.isfile(os.path.join(root, name))]


def locate(snippet, root, files):
    """The Python files under rnngrad/ holding ``snippet`` (to re-target a mutant whose code moved)."""
    found = []
    for name in files:
        if name.endswith(".py") and name.startswith("rnngrad/"):
            with open(os.path.join(root, name), encoding="utf-8") as source:
                if snippet in source.read():
                    found.append(name)
    return found


def applies(mutant, root, files):
    """``None`` if the mutant applies to the tree at ``root``, else why not."""
    path = os.path.join(root, mutant.path)
    if not os.path.isfile(path):
        elsewhere = locate(mutant.old, root, files)
        return f"{mutant.path} does not exist" + (f"; the snippet is in {elsewhere}" if elsewhere else "")
    with open(path, encoding="utf-8") as source:
        count = source.read().count(mutant.old)
    if count == 1:
        return None
    if count == 0:
        elsewhere = locate(mutant.old, root, files)
        return f"snippet not in {mutant.path}" + (f"; it is in {elsewhere}" if elsewhere else "; reworded?")
    return f"snippet occurs {count} times in {mutant.path}; make it unique"


def scratch_copy(root, files, target):
    for name in files:
        destination = os.path.join(target, name)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy2(os.path.join(root, name), destination)


def apply(mutant, tree):
    path = os.path.join(tree, mutant.path)
    with open(path, encoding="utf-8") as source:
        text = source.read()
    with open(path, "w", encoding="utf-8") as out:
        out.write(text.replace(mutant.old, mutant.new, 1))


def stages(tree):
    """The test files of each stage: :data:`FIRST_STAGE` (those present), then the rest of tests/, sorted."""
    first = [name for name in FIRST_STAGE if os.path.isfile(os.path.join(tree, name))]
    folder = os.path.join(tree, "tests")
    rest = sorted(
        f"tests/{name}"
        for name in os.listdir(folder)
        if name.startswith("test_") and name.endswith(".py") and f"tests/{name}" not in first
    )
    return [stage for stage in (first, rest) if stage]


def run_suite(tree, config, timeout, pytest_args):
    """Run the suite in ``tree`` in ``config``, stage by stage; the probe's record (killer, seconds, ...).

    ``seconds`` counts from the start of the first stage: the whole wall time
    of the stages before, plus the killing stage's time to its failure.
    """
    result_file = os.path.join(tree, ".mutation-result.json")
    env = dict(os.environ)
    for name in ("CI", "RNNGRAD_HYPOTHESIS_CONSTANTS", "MUTATION_BLOCK_OPTIONAL", "PYTHONPATH"):
        env.pop(name, None)
    env.update(
        RNNGRAD_PROFILE="ci",
        PYTHONPATH=os.pathsep.join([tree, HERE]),
        PYTHONDONTWRITEBYTECODE="1",
        MUTATION_RESULT=result_file,
        MPLBACKEND="agg",
        **CONFIGS[config],
    )
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "mutation_probe"]
    command += list(pytest_args)
    started = time.perf_counter()
    before = 0.0
    record = {}
    for number, files in enumerate(stages(tree), start=1):
        if os.path.exists(result_file):
            os.remove(result_file)
        stage_started = time.perf_counter()
        remaining = timeout - (stage_started - started)
        try:
            completed = subprocess.run(
                command + files, cwd=tree, env=env, capture_output=True, text=True, timeout=max(remaining, 1)
            )
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "killer": None, "seconds": time.perf_counter() - started}
        record = {}
        if os.path.exists(result_file):
            with open(result_file) as source:
                record = json.load(source)
        record["stage"] = number
        if record.get("killer"):
            record["status"] = "killed"
            record["seconds"] = before + record["seconds"]
            break
        if completed.returncode not in (0, 5):  # 5: no tests collected
            record["status"] = "error"
            record["output"] = (completed.stdout + completed.stderr)[-2000:]
            break
        before += time.perf_counter() - stage_started
    else:
        record["status"] = "survived"
    record["wall_seconds"] = time.perf_counter() - started
    return record


def run_mutant(mutant, config, files, timeout, pytest_args, keep):
    folder = tempfile.mkdtemp(prefix=f"mutant-{mutant.name}-")
    try:
        scratch_copy(ROOT, files, folder)
        apply(mutant, folder)
        record = run_suite(folder, config, timeout, pytest_args)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return record


def describe(record):
    if record["status"] == "killed":
        return f"killed by {record['killer']} ({record['phase']}) after {record['seconds']:.1f} s"
    return record["status"]


def rst_table(results):
    """The report as an RST list-table: mutant, area, bug, and the killer and seconds of each configuration."""

    def cell(record):
        if not record:
            return "not run"
        if record.get("status") != "killed":
            return f"**{record.get('status')}**"
        test = record["killer"].split("::", 1)
        short = test[1] if len(test) > 1 else test[0]
        short = short.split("[", 1)[0]
        note = f" ({record['note']})" if record.get("note") else ""
        return f"``{os.path.basename(test[0])}::{short}``, {record['seconds']:.0f} s{note}"

    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 22 8 30 40 40",
        "",
        "   * - mutant",
        "     - area",
        "     - the bug",
        "     - killed by (default run), seconds",
        "     - killed by (without torch and Keras), seconds",
    ]
    for name, result in results.items():
        if "does_not_apply" in result:
            default = optional = f"does not apply: {result['does_not_apply']}"
        else:
            default, optional = cell(result.get("default")), cell(result.get("no-optional"))
        lines += [f"   * - ``{name}``", f"     - {result['area']}", f"     - {result['why']}"]
        lines += [f"     - {default}", f"     - {optional}"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=["default", "no-optional", "both"], default="both")
    parser.add_argument("--only", action="append", default=[], help="run only this mutant (repeatable)")
    parser.add_argument("--check", action="store_true", help="only check that every mutant applies")
    parser.add_argument("--baseline", action="store_true", help="first run the unmutated tree (it must pass)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per suite run")
    parser.add_argument("--json", help="write every result to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch trees (for debugging)")
    parser.add_argument("--render", help="only render the report of this JSON file (see --json)")
    parser.add_argument("--rst", help="write the report as an RST table to this file")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    if args.render:
        with open(args.render) as source:
            rendered = rst_table(json.load(source))
        if args.rst:
            with open(args.rst, "w") as out:
                out.write(rendered)
        else:
            print(rendered)
        return 0

    files = tree_files(ROOT)
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    unknown = set(args.only) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"--only: no mutants named {sorted(unknown)}")
    names = [m.name for m in MUTANTS]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        parser.error(f"the catalogue repeats the names {sorted(duplicates)}")
    problems = {m.name: applies(m, ROOT, files) for m in mutants}
    problems = {name: why for name, why in problems.items() if why}
    for name, why in problems.items():
        print(f"DOES NOT APPLY  {name}: {why}", flush=True)
    if args.check:
        print(f"{len(mutants) - len(problems)} of {len(mutants)} mutants apply")
        return 1 if problems else 0

    configs = ["default", "no-optional"] if args.config == "both" else [args.config]
    if args.baseline:
        for config in configs:
            with tempfile.TemporaryDirectory(prefix="mutation-baseline-") as folder:
                scratch_copy(ROOT, files, folder)
                record = run_suite(folder, config, args.timeout, args.pytest_args)
            print(f"baseline [{config}]: {describe(record)}", flush=True)
            if record["status"] != "survived":
                print("the unmutated tree must pass; fix that first", file=sys.stderr)
                return 2

    runnable = [m for m in mutants if m.name not in problems]
    jobs = [(m, config) for config in configs for m in runnable]
    results = {m.name: {"area": m.area, "path": m.path, "why": m.why} for m in mutants}
    for name, why in problems.items():
        results[name]["does_not_apply"] = why

    def work(job):
        mutant, config = job
        record = run_mutant(mutant, config, files, args.timeout, args.pytest_args, args.keep)
        print(f"[{config}] {mutant.name}: {describe(record)}", flush=True)
        return mutant.name, config, record

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for name, config, record in pool.map(work, jobs):
            results[name][config] = record

    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)
    if args.rst:
        with open(args.rst, "w") as out:
            out.write(rst_table(results))
    survivors = [(n, c) for n, r in results.items() for c in configs if r.get(c, {}).get("status") != "killed"]
    killed = len(jobs) - len([s for s in survivors if s[0] not in problems])
    print(f"\n{killed} of {len(jobs)} mutant runs killed; {len(problems)} mutants do not apply")
    for name, config in survivors:
        if name not in problems:
            print(f"NOT KILLED  [{config}] {name}: {describe(results[name][config])}")
    return 1 if survivors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
