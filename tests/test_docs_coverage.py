"""The documentation covers the whole public API, and every code block in it runs.

The API reference is generated from ``__all__`` (``docs/_ext/apigen.py``),
so every public name gets a place in it; these tests check what generation
cannot: that each public module, class, function and constant says what it
is, and that the docs hold no code that nothing executes. The docs build
itself (``tox -e docs``, ``-W -n``) fails on broken references and runs
every doctest.
"""

import ast
import inspect
import os
import re
import shlex
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
sys.path.insert(0, os.path.join(DOCS, "_ext"))

import apigen  # noqa: E402

MODULES, ENTRIES = apigen.plan()


def cases(entries):
    return [pytest.param(entry, id=entry.name) for entry in entries]


CALLABLES = cases(entry for entry in ENTRIES if entry.kind != "data")
CONSTANTS = cases(entry for entry in ENTRIES if entry.kind == "data")


def own_docstring(obj):
    """The docstring written for ``obj`` itself: not inherited, not made up by ``dataclass``."""
    doc = obj.__doc__ if inspect.isclass(obj) else inspect.getdoc(obj)
    if inspect.isclass(obj) and doc and doc.startswith(f"{obj.__name__}("):
        return ""  # dataclass's generated signature
    return (doc or "").strip()


def documented_constants(module):
    """Names assigned at module level with a ``#:`` comment above or a string literal below."""
    source = inspect.getsource(module)
    lines = source.splitlines()
    tree = ast.parse(source)
    names = set()
    for i, node in enumerate(tree.body):
        if isinstance(node, ast.Assign):
            targets = [elt for target in node.targets for elt in getattr(target, "elts", [target])]
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        comment = node.lineno >= 2 and lines[node.lineno - 2].strip().startswith("#:")
        following = tree.body[i + 1] if i + 1 < len(tree.body) else None
        literal = isinstance(following, ast.Expr) and isinstance(getattr(following, "value", None), ast.Constant)
        if comment or (literal and isinstance(following.value.value, str)):
            names.update(target.id for target in targets if isinstance(target, ast.Name))
    return names


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__)
def test_every_public_module_has_a_docstring_and_an_all(module):
    assert (inspect.getdoc(module) or "").strip(), f"{module.__name__}: no module docstring"
    if inspect.getdoc(module) and module.__name__ != apigen.PACKAGE:
        assert hasattr(module, "__all__"), f"{module.__name__}: no __all__, so its public names are unknown"


@pytest.mark.parametrize("entry", CALLABLES)
def test_every_public_class_and_function_has_its_own_docstring(entry):
    assert own_docstring(entry.obj), f"{entry.name} has no docstring of its own (it is in an __all__)"


@pytest.mark.parametrize("entry", CONSTANTS)
def test_every_public_constant_has_a_doc_comment(entry):
    module = sys.modules[entry.section]
    name = entry.name.rsplit(".", 1)[-1]
    holders = [m for m in MODULES if f"{m.__name__}.{name}" in entry.aliases]
    assert any(name in documented_constants(m) for m in holders), (
        f"{entry.name}: add a '#:' comment line right above its assignment in {module.__name__}"
    )


def test_every_api_page_shows_its_generated_directives():
    pages = {entry.page for entry in ENTRIES}
    for page in pages:
        path = os.path.join(DOCS, "api", f"{page}.rst")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                assert f".. include:: generated/{page}.inc" in handle.read(), f"{path} must include its names"


# -- every code block runs ---------------------------------------------------
def doc_pages():
    for folder, _, files in os.walk(DOCS):
        inside = os.path.relpath(folder, DOCS).split(os.sep)
        # written by the build: apigen's API pages, Sphinx-Gallery's pages (whose code the build runs)
        if "_build" in inside or inside[:2] == ["api", "generated"] or inside[0] == "gallery":
            continue
        for name in files:
            if name.endswith(".rst"):
                yield os.path.join(folder, name)


EXECUTED = {"doctest", "testsetup", "testcleanup", "plot", "testcode", "testoutput"}
# Pages whose shell commands run for minutes (the benchmark's): neither the
# docs build nor the test suite can afford to run them.
LONG_RUNNING = {"benchmarks.rst"}
SHOWN_ONLY = {"code-block:: text", "code-block:: console"}  # pseudo-code, and shell commands checked below


@pytest.mark.parametrize("path", sorted(doc_pages()), ids=lambda path: os.path.relpath(path, DOCS))
def test_every_code_block_is_executed_or_checked(path):
    if os.path.relpath(path, DOCS) in LONG_RUNNING:
        pytest.skip("its commands run for minutes")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    for match in re.finditer(r"^\s*\.\. ([\w-]+::(?: \S+)?)", text, flags=re.MULTILINE):
        directive = match.group(1)
        kind = directive.split("::")[0]
        excused = re.search(r"\.\. not run: .+\n\n\s*$", text[: match.start() + 1])
        if kind in ("code-block", "code", "sourcecode") and not excused:
            assert directive in SHOWN_ONLY, f"{path}: a '{directive}' block is not run; use a doctest"
    assert not re.search(r"^[^.\s].*::\s*$", text, flags=re.MULTILINE), f"{path}: a '::' literal block is not run"
    for block in re.finditer(r"(\.\. not run: .+\n\n)?\.\. code-block:: console\n\n((?:   .*\n|\n)+)", text):
        if block.group(1):  # a reST comment "not run: <why>" right above the block says why it cannot run here
            continue
        for line in block.group(2).splitlines():
            if line.strip().startswith("$ "):  # a command; other lines are its output
                check_shell_command(path, text, line.strip()[2:])


def check_shell_command(path, text, command):
    """A shell command shown in the docs is the README's (which CI runs) or a CLI call the page runs.

    A block that cannot run in the docs build (a long benchmark) says so in a
    comment right above it: ``.. not run: <why>``.
    """
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    if command in readme:
        return
    argv = shlex.split(command)
    assert argv[0] == "rnngrad", f"{path}: '{command}' is neither in README.md (run by CI) nor an rnngrad command"
    call = "main([" + ", ".join(f'"{arg}"' for arg in argv[1:]) + "])"
    joined = re.sub(r"\s*\n\s*\.\.\.\s*", " ", text)  # doctest continuation lines joined
    assert call in joined, f"{path}: '{command}' is not run as {call} on the page"
