"""A documentation site that works without a network, and a check that it does.

* **Equations.** MathJax is served from the site itself: one self-contained
  file, ``_static/mathjax/tex-svg-full.js`` (MathJax 3, every TeX extension,
  SVG output, so no font files and nothing fetched later, which also works
  from ``file://``), copied at build time from the PyPI package
  ``sphinx-mathjax-offline`` (in the ``docs`` extra). A pip package, so that
  ``tox -e docs`` on a clean machine gets it with the rest; only that one file
  of the package is used, and the package's own Sphinx hook is not.
* **The check.** After an HTML build every page is read: a ``<script>`` or a
  stylesheet that is not part of the site, and a table cell that renders as
  a list (a lone ``-`` in a table cell is a bullet list in reStructuredText),
  are reported as warnings, so ``sphinx-build -W`` fails on them.

:func:`problems` is the check without Sphinx, for the tests.
"""

import html.parser
import importlib.metadata
import os
import shutil

MATHJAX_PACKAGE = "sphinx-mathjax-offline"
MATHJAX_FILE = "tex-svg-full.js"
#: Where the site serves MathJax from, relative to ``_static``.
MATHJAX_PATH = f"mathjax/{MATHJAX_FILE}"


def mathjax_source():
    """The path of the MathJax file inside the installed package (``LookupError`` if it is not installed)."""
    try:
        distribution = importlib.metadata.distribution(MATHJAX_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise LookupError(
            f'{MATHJAX_PACKAGE} is not installed, so equations cannot be served offline: pip install -e ".[docs]"'
        ) from None
    path = str(distribution.locate_file(f"sphinx-mathjax-offline/static/mathjax/{MATHJAX_FILE}"))
    if not os.path.isfile(path):
        raise LookupError(f"{MATHJAX_PACKAGE} has no {MATHJAX_FILE} at {path}")
    return path


class _Page(html.parser.HTMLParser):
    """Collects remote scripts and stylesheets, and lists inside the cells of content tables."""

    def __init__(self):
        super().__init__()
        self.remote = []
        self.cell_lists = 0
        self.tables = []  # for each open <table>: whether it is a content table (docutils), not an index
        self.cells = 0  # depth of open <td>/<th> in content tables

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src") and _is_remote(attrs["src"]):
            self.remote.append(attrs["src"])
        if tag == "link" and "stylesheet" in (attrs.get("rel") or "") and _is_remote(attrs.get("href") or ""):
            self.remote.append(attrs["href"])
        if tag == "table":
            self.tables.append("docutils" in (attrs.get("class") or "").split())
        if tag in ("td", "th") and self.tables and self.tables[-1]:
            self.cells += 1
        if tag in ("ul", "ol") and self.cells:
            self.cell_lists += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.tables and self.tables[-1] and self.cells:
            self.cells -= 1
        if tag == "table" and self.tables:
            self.tables.pop()


def _is_remote(url):
    return url.startswith(("http:", "https:", "//"))


def problems(page_html):
    """What stops a page from working offline or reading well: a list of sentences, empty when none."""
    page = _Page()
    page.feed(page_html)
    found = [f"loads {url} from the network" for url in page.remote]
    if page.cell_lists:
        found.append(f"{page.cell_lists} table cell(s) render as a list (a lone '-' in a cell is a bullet)")
    return found


def use_local_mathjax(app, config):
    config.mathjax_path = MATHJAX_PATH


def copy_mathjax_and_check(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    target = os.path.join(app.outdir, "_static", *MATHJAX_PATH.split("/"))
    try:
        source = mathjax_source()
    except LookupError as error:
        logger.warning(str(error))
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, target)
    for folder, _, names in os.walk(app.outdir):
        for name in names:
            if name.endswith(".html"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as handle:
                    for problem in problems(handle.read()):
                        logger.warning(f"{os.path.relpath(path, app.outdir)}: {problem}")


def setup(app):
    app.connect("config-inited", use_local_mathjax)
    app.connect("build-finished", copy_mathjax_and_check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
