"""The package's layering, read from its source: no import cycles, no private names across modules.

Every ``import`` statement of every module counts, those inside functions
included (a lazy import hides a cycle from Python, not from a maintainer).
A private (underscore) name is used only inside the module that defines it;
shared internals live in private modules (``rnngrad._validation``) under
names without an underscore.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "rnngrad"

#: The longest a module may be without a one-line reason at its top (a comment ``# long: ...``).
MAX_LINES = 400


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(path):
    return path.name == "__init__.py"


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def resolve(importer, level, module):
    """The absolute name of ``from <level dots><module> import ...`` written in ``importer``."""
    if level == 0:
        return module
    base = importer.split(".")
    if not is_package(MODULES[importer]):
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports(name):
    """``(target module, imported name or None, line)`` for every rnngrad import in module ``name``."""
    tree = ast.parse(MODULES[name].read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names if alias.name.split(".")[0] == "rnngrad"]
        elif isinstance(node, ast.ImportFrom):
            target = resolve(name, node.level, node.module)
            if target.split(".")[0] != "rnngrad":
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in MODULES:  # ``from . import nn`` imports a module, not a name
                    found.append((submodule, None, node.lineno))
                else:
                    found.append((target, alias.name, node.lineno))
    return found


def edges():
    """The import graph: module -> the rnngrad modules (packages are their ``__init__``) it imports."""
    graph = {name: set() for name in MODULES}
    for name in MODULES:
        for target, _, _ in imports(name):
            if target in MODULES and target != name:
                graph[name].add(target)
    return graph


def find_cycle(graph):
    """One cycle as a list of modules, or ``None``."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt, path)
                if found:
                    return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle():
    assert find_cycle(edges()) is None, " -> ".join(find_cycle(edges()))


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = edges()
    graph["rnngrad.cells.base"].add("rnngrad.models")  # the layer below importing the one above
    assert find_cycle(graph) is not None


#: The layers from the bottom up (docs/architecture.rst): a module imports only from its own layer or below.
#: A package's name stands for its submodules too.
LAYERS = [
    ["rnngrad.activations", "rnngrad._validation", "rnngrad.utilities"],
    ["rnngrad.cells"],
    ["rnngrad._runners", "rnngrad._tape"],
    ["rnngrad.kernels"],
    ["rnngrad.sequence"],
    ["rnngrad.recurrent"],
    ["rnngrad.models"],
    [
        "rnngrad.nn",
        "rnngrad.nets",
        "rnngrad.train",
        "rnngrad.hessian_free",
        "rnngrad.io",
        "rnngrad.interop",
        "rnngrad.diagnostics",
        "rnngrad.tasks",
        "rnngrad.testing",
        "rnngrad.trace",
        "rnngrad.probe",
        "rnngrad.curvature",
    ],
    [
        "rnngrad.experiments",
        "rnngrad.bench",
        "rnngrad._bench_curvature",
        "rnngrad._bench_machine",
        "rnngrad._report",
        "rnngrad.sweep",
        "rnngrad._trace_command",
        "rnngrad.cli",
        "rnngrad.__main__",
    ],
    ["rnngrad"],
]


def layer_of(name):
    for index, layer in enumerate(LAYERS):
        if any(name == top or name.startswith(top + ".") for top in layer if top != "rnngrad") or name in layer:
            return index
    return None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_imports_only_from_its_layer_or_below(name):
    own = layer_of(name)
    assert own is not None, f"{name} is in no layer: add it to LAYERS here and to docs/architecture.rst"
    upward = [
        f"line {line}: {target}"
        for target, _, line in imports(name)
        if target in MODULES and (layer_of(target) or 0) > own
    ]
    assert not upward, f"{name} imports from a layer above its own: {upward}"


def private_uses(name):
    """Private names of other rnngrad modules that module ``name`` imports or reads as attributes."""
    found = [
        f"{name}:{line} imports {target}.{imported}"
        for target, imported, line in imports(name)
        if imported is not None and imported.startswith("_") and not imported.startswith("__") and target != name
    ]
    tree = ast.parse(MODULES[name].read_text())
    module_aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            target = resolve(name, node.level, node.module)
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    module_aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{name}:{node.lineno} reads {module_aliases[node.value.id]}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_name():
    found = [use for name in MODULES for use in private_uses(name)]
    assert not found, "\n".join(found)


def test_the_private_name_check_sees_an_import_and_an_attribute(tmp_path, monkeypatch):
    planted = PACKAGE / "_planted_for_test.py"
    monkeypatch.setitem(MODULES, "rnngrad._planted_for_test", planted)
    source = "from .sequence import _hidden\nfrom . import sequence\nsequence._other\n"
    monkeypatch.setattr(pathlib.Path, "read_text", lambda self: source if self == planted else _read(self))
    found = private_uses("rnngrad._planted_for_test")
    assert len(found) == 2, found


def _read(path):
    with open(path) as handle:
        return handle.read()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_long_module_says_why_at_its_top(name):
    lines = MODULES[name].read_text().splitlines()
    if len(lines) > MAX_LINES:
        head = "\n".join(lines[:3])
        assert "# long:" in head, f"{name} has {len(lines)} lines and no '# long: <reason>' in its first lines"
