"""Sphinx configuration for the tinygrad_mlp documentation."""

from __future__ import annotations

import tinygrad_mlp

project = "tinygrad_mlp"
author = "The tinygrad_mlp authors"
copyright = "2026, The tinygrad_mlp authors"
release = tinygrad_mlp.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
nb_execution_mode = "force"  # notebooks run at every build, so the pictures are always current
nb_execution_timeout = 120
nb_execution_raise_on_error = True
nb_execution_show_tb = True

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}

html_theme = "furo"
html_title = "tinygrad_mlp"
html_static_path = ["_static"]
html_css_files = ["figures.css"]  # the drawing guide's pictures: fitted, and links to full size
