"""Sphinx configuration of the skquant documentation.

Build (offline, warnings are errors):

    sphinx-build -W --keep-going -b html docs docs/_build/html

The gallery runs every ``examples/plot_*.py`` script. For a quick check of the
prose, ``SKQUANT_DOCS_NO_GALLERY=1`` skips running them (pages without
pictures), and ``SKQUANT_DOCS_SKIP_EXAMPLES='plot_a|plot_b'`` leaves those out.
"""

import os
import re
import sys
import warnings
from pathlib import Path

import skquant

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for gallery_order

project = "skquant"
author = "skquant developers"
copyright = "skquant developers"
release = skquant.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
default_role = "literal"

# -- API reference ------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    # scikit-learn's metadata-routing setters document sklearn concepts.
    "exclude-members": ",".join(
        f"set_{method}_request"
        for method in (
            "fit",
            "partial_fit",
            "predict",
            "score",
            "transform",
            "inverse_transform",
        )
    ),
}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

_TRAILING_UNDERSCORE = re.compile(r"\b([A-Za-z][A-Za-z0-9_]*?)_(?=[\s,)\]])")


def _escape_attribute_names(app, what, name, obj, options, lines):
    """Escape names such as ``n_colors_`` in numpydoc type lines.

    numpydoc writes types (``ndarray of shape (n_colors_, n_channels)``) as
    plain reST, where a word ending in ``_`` is a link to a target of that
    name. Escaping the underscore shows the name as written.
    """
    for i, line in enumerate(lines):
        if re.match(r"\s*\*?\*?[A-Za-z_][\w]* : ", line) and "`" not in line:
            head, _, tail = line.partition(" : ")
            lines[i] = head + " : " + _TRAILING_UNDERSCORE.sub(r"\1\\_", tail)


def setup(app):
    # Runs before numpydoc's own handler (priority 500), on the raw docstring.
    app.connect("autodoc-process-docstring", _escape_attribute_names, priority=400)


# -- Gallery ------------------------------------------------------------------
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg",
)

sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "plot_gallery": "False" if os.environ.get("SKQUANT_DOCS_NO_GALLERY") else "True",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "gallery_order.StoryOrder",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "min_reported_time": 1,
    "show_memory": False,
    "show_signature": False,
    "write_computation_times": True,
    "reset_modules": ("matplotlib",),
    # SKQUANT_DOCS_SKIP_EXAMPLES='plot_a|plot_b' builds without running those.
    "ignore_pattern": os.environ.get("SKQUANT_DOCS_SKIP_EXAMPLES") or r"__init__\.py",
}

# Pages of skipped examples left by an earlier full build are not built.
if os.environ.get("SKQUANT_DOCS_SKIP_EXAMPLES"):
    exclude_patterns += [
        f"auto_examples/{path.stem}.rst"
        for path in (HERE.parent / "examples").glob("*.py")
        if re.search(os.environ["SKQUANT_DOCS_SKIP_EXAMPLES"], path.name)
    ]

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skquant {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
html_show_sourcelink = False
html_copy_source = False


# -- The command line's --help, always in sync with the code ----------------------
def _write_cli_help():
    from skquant._cli import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse wraps the help to the terminal width
    try:
        text = build_parser().format_help()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    target = HERE / "generated" / "cli_help.txt"
    target.parent.mkdir(exist_ok=True)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


_write_cli_help()
