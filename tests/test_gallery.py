"""The gallery: every script in examples/ is a Sphinx-Gallery example that the docs build runs.

Sphinx-Gallery renders a script only if its module docstring opens with an
RST title (a line, then ``=`` underlining it), and runs it only if its name
matches ``filename_pattern``; a script that lacks either would silently drop
out of the gallery (or appear without its figures). Running the examples
themselves is the docs build's job (its failures fail the build). A helper
script that is no example (it writes a data file) is left out by name
through ``ignore_pattern``.
"""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def gallery_conf():
    """``sphinx_gallery_conf`` as docs/conf.py assigns it (read without importing Sphinx)."""
    tree = ast.parse((ROOT / "docs" / "conf.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "sphinx_gallery_conf" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py assigns no sphinx_gallery_conf")


def title_of(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=True)
    if not docstring:
        return None
    lines = [line.rstrip() for line in docstring.strip().splitlines()]
    if len(lines) < 2 or not lines[0] or not re.fullmatch(r"=+", lines[1]) or len(lines[1]) < len(lines[0]):
        return None
    return lines[0]


def test_the_docs_build_runs_the_examples_directory():
    conf = gallery_conf()
    assert (ROOT / "docs" / conf["examples_dirs"]).resolve() == (ROOT / "examples")
    assert (ROOT / "examples" / "README.txt").is_file()  # Sphinx-Gallery's index header
    assert "sphinx_gallery.gen_gallery" in (ROOT / "docs" / "conf.py").read_text(encoding="utf-8")
    # an example that raises must fail the build, not only warn
    assert conf.get("only_warn_on_example_error", False) is False


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_every_example_is_in_the_gallery_and_runs(path):
    ignored = gallery_conf().get("ignore_pattern")
    if ignored and re.search(ignored, str(path)):
        assert path.name == "make_reviews.py", f"{path.name}: only the data helper may be left out of the gallery"
        return
    assert title_of(path), f"{path.name}: the docstring must open with a title underlined by '='"
    assert re.search(gallery_conf()["filename_pattern"], str(path)), f"{path.name} would not run at the docs build"
