"""What each install brings, and what the README tells a newcomer: the main job needs no torch."""

import os
import re
import shlex
import subprocess
import sys

import pytest

from rnngrad import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tomllib = pytest.importorskip("tomllib")


def _extras():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        return tomllib.load(handle)["project"]["optional-dependencies"]


def _readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        return handle.read()


def _names(requirements):
    return {re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def test_the_light_extra_brings_plots_and_progress_and_no_torch():
    extras = _extras()
    assert _names(extras["cli"]) == {"matplotlib", "tqdm"}
    assert "torch" in _names(extras["torch"]) and _names(extras["all"]) >= {"torch", "matplotlib", "tqdm"}


def test_the_readme_quick_start_uses_the_light_install_and_says_what_torch_is_for():
    readme = _readme()
    quick_start = readme.split("## Set up", 1)[1].split("## ", 1)[0]
    assert 'python -m pip install -e ".[cli]" && rnngrad train' in quick_start
    for use in ("exchanging weights with", "parity tests", "torch columns of the"):
        assert use in " ".join(quick_start.split())


def test_the_main_job_runs_without_torch(tmp_path):
    # torch made unimportable, as on a machine with the light install
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from rnngrad.cli import main\n"
        f"status = main(['train', '--task', 'adding', '--length', '4', '--hidden', '3', '--steps', '2', "
        f"'--out', {str(tmp_path)!r}])\n"
        "assert 'torch' not in [name for name, module in sys.modules.items() if module is not None]\n"
        "sys.exit(status)\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT, MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "metrics.json").exists()


def test_every_readme_command_line_parses():
    readme = _readme()
    block = readme.split("## Command line", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert any("--data examples/reviews.csv" in command for command in commands)
    assert any(command.startswith("rnngrad bench --quick") for command in commands)
    parser = cli._parser()
    for command in commands:
        argv = shlex.split(command)[1:]
        if argv[0] != "bench":
            parser.parse_args(argv)  # exits on a flag that does not exist
    assert os.path.exists(os.path.join(ROOT, "examples", "reviews.csv"))


def test_the_readme_points_at_the_first_example_and_the_quick_benchmark():
    readme = _readme()
    assert "examples/first_model.py" in readme and os.path.exists(os.path.join(ROOT, "examples", "first_model.py"))
    assert "bench --quick" in readme and "--version" in readme
