"""The documentation site works without a network: equations from the site itself, tables without stray lists.

``docs/_ext/offline.py`` serves MathJax from the built site and checks every
built page (``tox -e docs`` fails on its warnings). These tests hold the
check itself, and build a small site with the real extension and the real
benchmarks table.
"""

import ast
import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
sys.path.insert(0, os.path.join(DOCS, "_ext"))

import offline  # noqa: E402


def test_a_remote_script_or_stylesheet_is_a_problem():
    page = '<script src="https://cdn.example/mathjax.js"></script><link rel="stylesheet" href="//fonts.example/a.css">'
    assert offline.problems(page) == [
        "loads https://cdn.example/mathjax.js from the network",
        "loads //fonts.example/a.css from the network",
    ]
    assert (
        offline.problems('<script src="_static/mathjax/tex-svg-full.js"></script><a href="https://x.org">x</a>') == []
    )


def test_a_list_in_a_content_table_cell_is_a_problem_but_not_in_the_index():
    cell = '<table class="docutils align-default"><tr><td><ul class="simple"><li></li></ul></td></tr></table>'
    assert offline.problems(cell) == ["1 table cell(s) render as a list (a lone '-' in a cell is a bullet)"]
    index = '<table class="indextable genindextable"><tr><td><ul><li>x</li></ul></td></tr></table>'
    assert offline.problems(index) == []
    after = '<table class="docutils"><tr><td>1</td></tr></table><ul><li>a list after the table</li></ul>'
    assert offline.problems(after) == []


def test_the_docs_use_the_offline_extension():
    with open(os.path.join(DOCS, "conf.py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    extensions = next(
        node.value for node in tree.body if isinstance(node, ast.Assign) and node.targets[0].id == "extensions"
    )
    assert "offline" in ast.literal_eval(extensions)


def _benchmark_table():
    """The results table of ``docs/benchmarks.rst``, as written there."""
    with open(os.path.join(DOCS, "benchmarks.rst"), encoding="utf-8") as handle:
        text = handle.read()
    match = re.search(r"\n(\.\. table::\n(?:.*\n)*?\n(?:   .*\n)+)", text)
    assert match, "docs/benchmarks.rst has a '.. table::' of results"
    return match.group(1)


@pytest.fixture(scope="module")
def small_site(tmp_path_factory):
    """A site built with the offline extension: one page with equations and the benchmarks table."""
    pytest.importorskip("furo")
    sphinx_cmd = pytest.importorskip("sphinx.cmd.build")
    try:
        offline.mathjax_source()
    except LookupError as error:
        pytest.skip(str(error))
    source = tmp_path_factory.mktemp("source")
    (source / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {os.path.join(DOCS, '_ext')!r})\n"
        'extensions = ["sphinx.ext.mathjax", "offline"]\nhtml_theme = "furo"\n'
    )
    (source / "index.rst").write_text(
        "Page\n====\n\nInline :math:`h_t = \\tanh(W x_t)` and displayed:\n\n.. math::\n\n   c' = f \\odot c\n\n"
        + _benchmark_table()
    )
    out = tmp_path_factory.mktemp("html")
    assert sphinx_cmd.build_main(["-q", "-W", "-b", "html", str(source), str(out)]) == 0
    return out


def test_the_built_page_loads_mathjax_from_the_site(small_site):
    page = (small_site / "index.html").read_text(encoding="utf-8")
    assert 'src="_static/mathjax/tex-svg-full.js"' in page
    assert (small_site / "_static" / "mathjax" / "tex-svg-full.js").stat().st_size > 1_000_000
    assert offline.problems(page) == []


def test_the_benchmarks_table_has_no_cell_that_renders_as_a_list(small_site):
    page = (small_site / "index.html").read_text(encoding="utf-8")
    assert "<td><p>139.56</p></td>" in page and "<ul" not in page.split("<table", 1)[1].split("</table>")[0]
