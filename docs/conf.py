"""Sphinx configuration for the rnngrad documentation.

The build needs no network, and neither does the site it makes: there are
no remote intersphinx inventories, references to NumPy, autograd and torch
objects are plain text (see ``nitpick_ignore_regex``), and MathJax is served
from the site (``_ext/offline.py``, which also fails the build on a page
that loads a script from the network or renders a table cell as a list). Figures come from the scripts in ``figures/``,
which call rnngrad at build time through matplotlib's plot directive.
"""

import doctest
import os
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(DOCS))  # rnngrad itself, when it is not installed
sys.path.insert(0, os.path.join(DOCS, "figures"))  # the figures' shared drawing helpers
sys.path.insert(0, os.path.join(DOCS, "_ext"))  # apigen (the API pages from __all__), offline (MathJax)

import rnngrad  # noqa: E402

project = "rnngrad"
author = "the rnngrad developers"
copyright = "2026, the rnngrad developers"
release = rnngrad.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.doctest",
    "matplotlib.sphinxext.plot_directive",
    "apigen",
    "offline",
    "sphinx_gallery.gen_gallery",
]

root_doc = "index"
exclude_patterns = ["_build", "figures", "_ext"]
templates_path = []
nitpicky = True

# The docs are built offline, so objects of other projects cannot be linked;
# their references render as code without a link instead of failing the build.
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|onp|np|autograd|torch|matplotlib)(\..*)?"),
]

# -- autodoc and napoleon (Google-style docstrings) ---------------------------
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
autodoc_class_signature = "mixed"
autodoc_preserve_defaults = True  # dtype=onp.float64, not <class 'numpy.float64'>
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# -- doctest: every example in the docs runs, and its output is checked ----
doctest_global_setup = """
import numpy as np
import autograd.numpy as anp
from autograd import grad
import rnngrad
np.set_printoptions(precision=4, suppress=True)
"""
doctest_test_doctest_blocks = "default"
# Error messages are part of the contract: check them (no IGNORE_EXCEPTION_DETAIL).
doctest_default_flags = doctest.ELLIPSIS | doctest.DONT_ACCEPT_TRUE_FOR_1

# -- figures made by rnngrad at build time ------------------------------------
plot_include_source = False
plot_html_show_source_link = True
plot_html_show_formats = False
plot_formats = [("png", 144)]
plot_basedir = os.path.join(DOCS, "figures")
plot_working_directory = os.path.join(DOCS, "figures")
plot_rcparams = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 100,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.frameon": False,
    "savefig.bbox": "tight",
}
plot_apply_rcparams = True
plot_pre_code = "import numpy as np\nimport matplotlib.pyplot as plt\n"

# -- the gallery: examples/*.py, run at build time --------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "gallery",
    "filename_pattern": r"\.py$",  # run every example, not only plot_*.py
    "ignore_pattern": r"make_reviews\.py$",  # a data-writing helper of the text how-to, not an example
    "within_subsection_order": "FileNameSortKey",
    "only_warn_on_example_error": False,  # an example that raises fails the build
    "abort_on_example_error": False,  # ... after running the others, so all failures show
    "download_all_examples": False,
    "write_computation_times": False,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "furo"
html_title = f"rnngrad {release}"
html_static_path = ["_static"]
html_css_files = ["rnngrad.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": True,
}
pygments_style = "friendly"
pygments_dark_style = "monokai"


# -- pages added by others join the contents ---------------------------------
def list_new_pages(app, docname, source):
    """Put every top-level page that ``index.rst``'s toctree does not name yet after "semantics".

    Pages are written by several people at once; a page that lands before
    its entry in the toctree is then listed rather than failing the build.
    Naming it in the toctree places it anywhere else.
    """
    if docname != root_doc:
        return
    text = source[0]
    pages = sorted(name[:-4] for name in os.listdir(DOCS) if name.endswith(".rst") and name != "index.rst")
    new = [page for page in pages if f"\n   {page}\n" not in text]
    if new:
        source[0] = text.replace("\n   semantics\n", "\n   semantics\n" + "".join(f"   {page}\n" for page in new), 1)


def reread_index_for_new_pages(app, env, added, changed, removed):
    return [root_doc] if added or removed else []


def setup(app):
    app.connect("source-read", list_new_pages)
    app.connect("env-get-outdated", reread_index_for_new_pages)
