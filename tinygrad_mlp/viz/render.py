"""Turning drawings into SVG, PNG and PDF — and explaining a missing Graphviz.

The Python package ``graphviz`` only writes DOT text; pictures come from the separate Graphviz
program ``dot`` (a system package).  Every drawing here is a :class:`Drawing`, a
``graphviz.Digraph`` whose render calls turn "program not found" into one
:class:`GraphvizNotFoundError` that says how to install it, and whose notebook display shows that
advice as text instead of a traceback.  The DOT source (``drawing.source``, :func:`to_dot`) needs
no Graphviz at all.
"""

from __future__ import annotations

import numbers
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import graphviz

__all__ = [
    "Drawing",
    "GraphvizNotFoundError",
    "INSTALL_HINT",
    "FORMATS",
    "render",
    "to_dot",
    "set_notebook_format",
]

INSTALL_HINT = """\
The Python package graphviz only writes DOT text; the Graphviz program draws it:
  Debian/Ubuntu:  sudo apt-get install graphviz
  macOS:          brew install graphviz
  conda:          conda install -c conda-forge graphviz
  Windows:        winget install graphviz   (or: choco install graphviz), then open a new terminal
The DOT source works without it: drawing.source, or tinygrad_mlp.viz.to_dot(drawing)."""

# extension -> Graphviz output format; "dot" means: write the DOT source itself
FORMATS = {
    ".svg": "svg", ".png": "png", ".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg",
    ".gif": "gif", ".dot": "dot", ".gv": "dot",
}


# resolutions of raster output: below, nothing is legible; above, a large graph makes a PNG of
# gigapixels (Graphviz reads a negative dpi as its default scale times a huge factor)
MIN_DPI, MAX_DPI = 10, 1200


def check_dpi(dpi: Any) -> float:
    """``dpi`` as a float if it is a number from :data:`MIN_DPI` to :data:`MAX_DPI`.

    >>> check_dpi(150)
    150.0
    """
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real):
        raise TypeError(f"dpi must be a number, got {type(dpi).__name__}")
    if not MIN_DPI <= dpi <= MAX_DPI:  # also refuses nan
        raise ValueError(f"dpi must be between {MIN_DPI} and {MAX_DPI} (150-300 for slides), "
                         f"got {dpi:g}")
    return float(dpi)


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """The Graphviz program (``dot``, ``neato``) is not on ``PATH``.

    A ``RuntimeError`` (and a ``graphviz.ExecutableNotFound``, so code written for the
    ``graphviz`` package still catches it) whose message says how to install Graphviz.
    """

    def __init__(self, program: str = "dot") -> None:
        self.program = program
        # the first line alone must help (a one-line summary shows only that)
        RuntimeError.__init__(
            self, f"the Graphviz program {program!r} was not found on PATH; install Graphviz to "
            f"draw (e.g. sudo apt-get install graphviz).\n{INSTALL_HINT}"
        )


def _program(err: graphviz.ExecutableNotFound) -> str:
    args = err.args[0] if err.args else ""
    # graphviz puts the failed command line in the message: "failed to execute PosixPath('dot')"
    for name in ("dot", "neato", "fdp", "sfdp", "twopi", "circo"):
        if f"'{name}'" in str(args):
            return name
    return "dot"


@contextmanager
def _install_hint() -> Iterator[None]:
    """Turn graphviz's missing-program error into ours, which says how to install it."""
    try:
        yield
    except GraphvizNotFoundError:
        raise
    except graphviz.ExecutableNotFound as e:
        raise GraphvizNotFoundError(_program(e)) from None


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` made by this package: displays inline in Jupyter like any Digraph.

    Differences from its base class: rendering without Graphviz installed raises
    :class:`GraphvizNotFoundError` (with install commands); the notebook display then shows
    that advice as text; ``notebook_format`` (``"svg"``, ``"png"``, ``"jpeg"``) chooses the
    notebook image format of this drawing, and ``png_dpi`` the resolution of its PNG.

    >>> d = Drawing()
    >>> d.node("a", "x")
    >>> d.notebook_format = "png"
    >>> "a [label=x]" in d.source
    True
    """

    png_dpi: float | None = None

    @property
    def notebook_format(self) -> str:
        """``"svg"`` (the default), ``"png"`` or ``"jpeg"``: what Jupyter shows.

        Some notebook viewers do not show inline SVG; PNG shows everywhere.
        """
        for fmt, mime in graphviz.jupyter_integration.JUPYTER_FORMATS.items():
            if mime == self._jupyter_mimetype:
                return fmt
        return "svg"  # pragma: no cover - all mimetypes are in the table

    @notebook_format.setter
    def notebook_format(self, fmt: str) -> None:
        self._jupyter_mimetype = graphviz.jupyter_integration.get_jupyter_format_mimetype(fmt)

    def pipe(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 - as graphviz.Digraph
        fmt = kwargs.get("format", args[0] if args else None) or self.format
        if fmt != "svg":
            # the small FONT around <SUB>/<SUP> is for SVG only: the other renderers shrink
            # scripts themselves, and would shrink them twice
            return _without_script_fonts(self)._pipe_checked(*args, **kwargs)
        return self._pipe_checked(*args, **kwargs)

    def _pipe_checked(self, *args: Any, **kwargs: Any) -> Any:
        with _install_hint():
            return super().pipe(*args, **kwargs)

    def render(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 - as graphviz.Digraph
        with _install_hint():
            return super().render(*args, **kwargs)

    def _repr_image_png(self) -> bytes:
        if self.png_dpi:
            return _with_dpi(self, self.png_dpi).pipe(format="png")
        return self.pipe(format="png")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict:
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except GraphvizNotFoundError as e:
            # a notebook user needs the install command, not a traceback into subprocess
            return {"text/plain": str(e)}


_SCRIPT_FONT = re.compile(r'<FONT POINT-SIZE="\d+(?:\.\d+)?">(<(SUB|SUP)>.*?</\2>)</FONT>')


def _without_script_fonts(graph: Drawing) -> Drawing:
    copy = graph.copy()
    copy.body = [_SCRIPT_FONT.sub(r"\1", line) for line in copy.body]
    return copy


def _with_dpi(graph: graphviz.Digraph, dpi: float) -> graphviz.Digraph:
    copy = graph.copy()
    copy.graph_attr["dpi"] = f"{check_dpi(dpi):g}"
    return copy


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        return "jpeg" if fmt == "jpg" else fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(
            f"cannot tell the format of {str(path)!r} from its extension; use one of "
            f"{', '.join(FORMATS)} or pass format="
        ) from None


def _write_atomic(path: Path, data: bytes) -> None:
    # a failed render must not leave a truncated picture where a good one was
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; a picture is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def render(graph: graphviz.Digraph, path: str | os.PathLike, *, format: str | None = None,
           dpi: float | None = None) -> Path:
    """Write ``graph`` to ``path`` as SVG, PNG, PDF (or JPEG, GIF, DOT) by its extension.

    ``dpi`` sets the resolution of raster formats (for slides: 150-300; from 10 to 1200,
    checked for every format).  ``.dot``/``.gv``
    writes the DOT source and works without Graphviz; the others raise
    :class:`GraphvizNotFoundError` when Graphviz is not installed.  Returns the path written.

    >>> from tinygrad_mlp import Value
    >>> from tinygrad_mlp.viz import draw_dot
    >>> import tempfile, pathlib
    >>> out = render(draw_dot(Value(2.0, label="a") * 3), pathlib.Path(tempfile.mkdtemp()) / "g.dot")
    >>> out.read_text().startswith("digraph")
    True
    """
    path = Path(path)
    fmt = _format_of(path, format)
    if dpi is not None:
        check_dpi(dpi)
    if fmt == "dot":
        _write_atomic(path, graph.source.encode("utf-8"))
        return path
    if dpi is not None and fmt not in ("svg", "pdf"):
        graph = _with_dpi(graph, dpi)
    with _install_hint():  # a plain graphviz.Digraph may be given too
        data = graph.pipe(format=fmt)
    _write_atomic(path, data)
    return path


def to_dot(graph: graphviz.Digraph, path: str | os.PathLike | None = None) -> str:
    """The DOT source of ``graph`` (also written to ``path`` when given); needs no Graphviz.

    >>> from tinygrad_mlp import Value
    >>> from tinygrad_mlp.viz import draw_dot
    >>> to_dot(draw_dot(Value(1.0) + 2)).startswith("digraph")
    True
    """
    source = graph.source
    if path is not None:
        _write_atomic(Path(path), source.encode("utf-8"))
    return source


def set_notebook_format(fmt: str) -> None:
    """Show every drawing in notebooks as ``"svg"`` (default), ``"png"`` or ``"jpeg"``.

    For one drawing only, set ``drawing.notebook_format`` instead.

    >>> set_notebook_format("png"); set_notebook_format("svg")
    """
    graphviz.set_jupyter_format(fmt)
