"""Generate the API reference from the package's ``__all__`` lists, so that no public name is left out.

Every public module (no underscore anywhere in its dotted name) and every name
in its ``__all__`` is documented exactly once:

* an object exported under several names (``rnngrad.LSTM`` is
  ``rnngrad.models.LSTM``) is documented under its shortest public name, on
  the page of the top-level module that defines it (``api/models``);
* each page gets its directives from ``api/generated/<name>.inc``; a
  hand-written ``api/<name>.rst`` adds prose and includes that file, any other
  module gets a generated page ``api/generated/<name>.rst``;
* a cross-reference that Sphinx cannot find under the name written in a
  docstring (``:class:`Cell``` from inside ``rnngrad.models``) is looked up
  by the object it names and sent to where that object is documented; a
  reference to another project (``numpy.random.Generator``, ``argparse``) or
  to a private part of rnngrad (``rnngrad.kernels._primitive``) cannot be
  linked offline and is shown as code without a link, and so is an
  instance attribute set in ``__init__`` (``:attr:`chars```);
* an autograd primitive (``rnngrad.sigmoid``) shows the signature of the
  function it wraps;
* a module-level constant without a doc comment (``#:``) shows no text,
  rather than the docstring of its type (``dict``'s);
* an argument described by one letter (``input_size: D.``) is not turned
  into a list numbered from D by docutils;
* napoleon does not read the start of a constant's or a property's
  docstring as its type: rnngrad writes prose there (``N, the number of
  directions``), never Google's ``int: the number of ...``.

:func:`plan` is the whole decision, without Sphinx; ``tests/test_docs_coverage.py``
uses it to check that every public name is documented and has a docstring.
"""

import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
from dataclasses import dataclass, field

PACKAGE = "rnngrad"


@dataclass
class Entry:
    """One public object: where it is documented and under which name."""

    name: str  # the documented dotted name, e.g. "rnngrad.LSTM"
    obj: object
    kind: str  # "class", "function" or "data"
    page: str  # the top-level module whose page shows it, e.g. "models"
    section: str  # the module whose section holds it, e.g. "rnngrad" or "rnngrad.tasks.copy"
    aliases: list = field(default_factory=list)  # every public dotted name of the object


def is_public(module_name):
    return not any(part.startswith("_") for part in module_name.split("."))


def public_modules(package=PACKAGE):
    """The package and its public submodules, shallowest first, imported."""
    root = importlib.import_module(package)
    names = [
        info.name
        for info in pkgutil.walk_packages(root.__path__, package + ".")
        if is_public(info.name) and info.name.rsplit(".", 1)[-1] != "__main__"
    ]
    names.sort(key=lambda name: (name.count("."), name))
    return [root] + [importlib.import_module(name) for name in names]


def kind_of(obj):
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def page_of(module_name):
    """``rnngrad.cells.gru`` -> ``cells``; the package itself -> ``index``."""
    parts = module_name.split(".")
    return parts[1] if len(parts) > 1 else "index"


def exporter(modules, obj, name):
    """The first submodule exporting ``obj`` as ``name``: the home of objects made elsewhere (autograd primitives)."""
    for module in modules[1:]:
        if name in getattr(module, "__all__", ()) and getattr(module, name) is obj:
            return module.__name__
    return None


def plan(package=PACKAGE):
    """``(modules, entries)``: the public modules and one :class:`Entry` per public object."""
    modules = public_modules(package)
    entries, by_key = [], {}
    for module in modules:
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue  # a submodule listed in __all__ has its own section
            kind = kind_of(obj)
            dotted = f"{module.__name__}.{name}"
            key = id(obj) if kind != "data" else (id(obj), name)
            if key in by_key:
                by_key[key].aliases.append(dotted)
                continue
            home = getattr(obj, "__module__", None) if kind != "data" else None
            if not (home and home.startswith(package + ".") and is_public(home)):
                home = exporter(modules, obj, name) or module.__name__
            entry = Entry(dotted, obj, kind, page_of(home), module.__name__, [dotted])
            by_key[key] = entry
            entries.append(entry)
    return modules, entries


# -- writing the pages -------------------------------------------------------
DIRECTIVES = {"class": "autoclass", "function": "autofunction", "data": "autodata"}


def first_line(module):
    doc = inspect.getdoc(module) or ""
    return doc.splitlines()[0] if doc else ""


def render_include(page, modules, entries):
    """The directives of one page: top-level exports first, then each module's own names."""
    lines = []
    mine = [entry for entry in entries if entry.page == page]
    page_module = f"{PACKAGE}.{page}"
    sections = [PACKAGE, page_module] + sorted(
        {m.__name__ for m in modules if m.__name__.startswith(page_module + ".")}
    )
    order = list(getattr(importlib.import_module(page_module), "__all__", ())) if page != "index" else []

    def position(entry):  # the page module's own order, for names exported at the top level too
        name = entry.name.rsplit(".", 1)[-1]
        return order.index(name) if name in order else len(order)

    for section in sections:
        here = sorted((entry for entry in mine if entry.section == section), key=position)
        if section not in (PACKAGE, page_module):
            if not here:
                continue
            title = f"``{section}``"
            lines += [title, "-" * len(title), "", f".. automodule:: {section}", "   :no-members:", ""]
        for entry in here:
            lines.append(f".. {DIRECTIVES[entry.kind]}:: {entry.name}")
            if entry.kind == "class":
                lines.append("   :members:")
            if entry.kind == "data" and len(repr(entry.obj)) > 60:
                lines.append("   :no-value:")
            lines.append("")
            others = [alias for alias in entry.aliases[1:] if alias.count(".") <= 2]
            if others:
                lines += ["   Also available as " + ", ".join(f"``{alias}``" for alias in others) + ".", ""]
    quiet = [
        m.__name__
        for m in modules
        if m.__name__.startswith(page_module + ".") and not any(e.section == m.__name__ for e in mine)
    ]
    if quiet:
        lines += ["Modules whose public names are all documented above:", ""]
        for name in quiet:
            lines.append(f"* ``{name}``: {first_line(importlib.import_module(name))}")
        lines.append("")
    return "\n".join(lines)


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def generate(app):
    api = os.path.join(app.srcdir, "api")
    out = os.path.join(api, "generated")
    os.makedirs(out, exist_ok=True)
    modules, entries = plan()
    pages = sorted({page_of(m.__name__) for m in modules if m.__name__ != PACKAGE} | {e.page for e in entries})
    wanted = set()
    for page in pages:
        include = render_include(page, modules, entries)
        write_if_changed(os.path.join(out, f"{page}.inc"), include)
        wanted.add(f"{page}.inc")
        if page == "index" or os.path.exists(os.path.join(api, f"{page}.rst")):
            continue
        module = f"{PACKAGE}.{page}"
        title = f"``{module}``"
        text = "\n".join([title, "=" * len(title), "", f".. automodule:: {module}", "   :no-members:", "", include])
        write_if_changed(os.path.join(out, f"{page}.rst"), text)
        wanted.add(f"{page}.rst")
    for stale in set(os.listdir(out)) - wanted:
        os.remove(os.path.join(out, stale))
    app.env.rnngrad_documented = {id(e.obj): e.name for e in entries if e.kind != "data"}


# -- cross-references by object ----------------------------------------------
def resolve(dotted):
    """Import the object named by a dotted path, or return None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def is_external(target):
    """Whether ``target`` names something outside rnngrad that is importable (the standard library, NumPy)."""
    top = target.split(".")[0]
    if not top or top == PACKAGE:
        return False
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def is_instance_attribute(cls, name):
    """Whether ``cls`` (a class, or None) assigns ``self.<name>`` in its source."""
    if not inspect.isclass(cls):
        return False
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return False
    return re.search(rf"\bself\.{re.escape(name)}\s*=", source) is not None


def module_page_reference(app, env, node, contnode, target):
    """A link to the page of the top-level module that holds ``target``, a module without a section of its own.

    Such a module (``rnngrad.cells.lstm``) only re-exports names documented on
    its package's page; giving it no target of its own also keeps relative
    references (``:mod:`.lstm``` inside ``rnngrad.kernels``) unambiguous.
    """
    from sphinx.util.nodes import make_refnode

    if resolve(target) is None:
        return None
    page = page_of(target)
    docname = f"api/{page}" if f"api/{page}" in env.found_docs else f"api/generated/{page}"
    anchor = f"module-{PACKAGE}.{page}"
    return make_refnode(app.builder, node["refdoc"], docname, anchor, contnode, target)


def missing_reference(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    documented = getattr(env, "rnngrad_documented", {})
    target = node.get("reftarget", "")
    module = node.get("py:module") or ""
    owner = node.get("py:class") or ""
    if is_external(target):
        return contnode
    if node.get("reftype") == "mod" and target.startswith(PACKAGE + ".") and is_public(target):
        return module_page_reference(app, env, node, contnode, target)
    parts = module.split(".") if module else []
    candidates = [f"{module}.{owner}.{target}" if module and owner else None]
    candidates += [".".join(parts[:cut] + [target]) for cut in range(len(parts), 0, -1)]
    candidates += [target]
    for candidate in filter(None, candidates):
        head, _, attr = candidate.rpartition(".")
        obj = resolve(candidate)
        if obj is None:
            continue
        if id(obj) in documented:
            name = documented[id(obj)]
        elif head and id(resolve(head)) in documented:
            name = f"{documented[id(resolve(head))]}.{attr}"
        else:
            continue
        domain = env.domains["py"]
        return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], name, node, contnode)
    for candidate in filter(None, candidates):
        if any(part.startswith("_") for part in candidate.split(".")) and resolve(candidate) is not None:
            return contnode  # a private module or helper: real, but not part of the reference
    if node.get("reftype") == "attr" and owner and is_instance_attribute(resolve(f"{module}.{owner}"), target):
        return contnode  # set in __init__, so there is no class attribute to document or link
    short = [name for name in documented.values() if name.endswith("." + target)]
    if len(short) == 1:  # a name written relative to the module that defines it
        domain = env.domains["py"]
        return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], short[0], node, contnode)
    return None


def primitive_signature(app, what, name, obj, options, signature, return_annotation):
    """An autograd primitive shows the signature of the function it wraps, not ``(*args, **kwargs)``."""
    raw = getattr(obj, "fun", None)
    if what == "function" and callable(raw):
        return str(inspect.signature(raw)), return_annotation
    return None


def drop_type_docstrings(app, what, name, obj, options, lines):
    """A constant without a doc comment would show the docstring of its type; show nothing instead."""
    if what in ("data", "attribute") and lines and not inspect.isclass(obj) and not callable(obj):
        type_doc = inspect.getdoc(type(obj)) or ""
        if "\n".join(lines).strip() == type_doc.strip():
            lines[:] = []


ONE_LETTER = re.compile(r"^(\s*[\w*]+: )([A-Za-z])\.$")


def prose_attributes(app):
    """Route napoleon around data, attributes and properties (see the module docstring)."""
    from sphinx.ext import napoleon

    listeners = app.events.listeners["autodoc-process-docstring"]
    for listener in list(listeners):
        if listener.handler is napoleon._process_docstring:
            listeners.remove(listener)

    def process(app, what, name, obj, options, lines):
        # "input_size: D." - a one-letter description would become a list item "D." in docutils
        lines[:] = [ONE_LETTER.sub(r"\1\2\\.", line) for line in lines]
        if what not in ("data", "attribute", "property"):
            napoleon._process_docstring(app, what, name, obj, options, lines)

    app.connect("autodoc-process-docstring", process)


def setup(app):
    app.setup_extension("sphinx.ext.napoleon")
    prose_attributes(app)
    app.connect("builder-inited", generate)
    app.connect("missing-reference", missing_reference)
    app.connect("autodoc-process-docstring", drop_type_docstrings)
    app.connect("autodoc-process-signature", primitive_signature)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
