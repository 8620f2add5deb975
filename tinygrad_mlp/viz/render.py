"""Turning drawings into SVG, PNG and PDF — and explaining a missing Graphviz.

The Python package ``graphviz`` only writes DOT text; pictures come from the separate Graphviz
program ``dot`` (a system package).  Where ``dot`` is missing, ``graphviz-pure`` draws instead
when it is installed (``pip install "tinygrad_mlp[draw]"``: a port of Graphviz to Rust with the
same command line; SVG, PNG and JPEG, no PDF).  :func:`run_graphviz` is the one place a program
is run, :func:`graphviz_backend` says which one, and the environment variable
``TINYGRAD_MLP_GRAPHVIZ`` (``auto``, ``system`` or ``pure``) overrides the choice.

Every drawing here is a :class:`Drawing`, a ``graphviz.Digraph`` whose render calls turn
"program not found" into one :class:`GraphvizNotFoundError` that says how to install one, and
whose notebook display shows that advice as text instead of a traceback.  The DOT source
(``drawing.source``, :func:`to_dot`) needs no Graphviz at all.
"""

from __future__ import annotations

import numbers
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import graphviz

from tinygrad_mlp.files import write_atomic

__all__ = [
    "Drawing",
    "GraphvizNotFoundError",
    "INSTALL_HINT",
    "FORMATS",
    "GRAPHVIZ_ENV",
    "graphviz_backend",
    "render",
    "fit_width",
    "run_graphviz",
    "to_dot",
    "set_notebook_format",
]

INSTALL_HINT = """\
The Python package graphviz only writes DOT text; the Graphviz program draws it:
  Debian/Ubuntu:  sudo apt-get install graphviz
  macOS:          brew install graphviz
  conda:          conda install -c conda-forge graphviz
  Windows:        winget install graphviz   (or: choco install graphviz), then open a new terminal
Without admin rights: pip install "tinygrad_mlp[draw]" installs graphviz-pure, which draws SVG,
PNG and JPEG (no PDF) when dot is missing.
The DOT source works without either: drawing.source, or tinygrad_mlp.viz.to_dot(drawing)."""

#: environment variable choosing the program that draws: "auto" (the default: Graphviz's ``dot``,
#: else graphviz-pure), "system" (``dot`` only) or "pure" (graphviz-pure, even where ``dot`` exists)
GRAPHVIZ_ENV = "TINYGRAD_MLP_GRAPHVIZ"
PURE_PROGRAM = "graphviz-pure"
# what graphviz-pure writes (its -T list); PDF, GIF and the cairo/gd renderers are missing
PURE_FORMATS = frozenset({"svg", "png", "jpeg", "jpg", "jpe", "json", "json0", "dot_json",
                          "xdot_json", "dot", "gv", "canon", "xdot", "xdot1.2", "xdot1.4",
                          "plain", "plain-ext"})
# graphviz-pure estimates the width of some non-ASCII text from a space and says so once per run;
# the boxes still fit their text (checked on every drawing of this package)
_PURE_NOISE = re.compile(r"^Warning: (Warning: )?no value for width of non-ASCII character \d+\. "
                         r"Falling back to width of space character\s*$", re.M)

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
    """No program can draw: neither Graphviz's ``dot`` nor graphviz-pure is on ``PATH`` (or the
    one that is cannot write the format asked for, e.g. PDF without ``dot``).

    A ``RuntimeError`` (and a ``graphviz.ExecutableNotFound``, so code written for the
    ``graphviz`` package still catches it) whose message says how to install either.
    """

    def __init__(self, program: str = "dot", reason: str | None = None) -> None:
        self.program = program
        # the first line alone must help (a one-line summary shows only that)
        if reason is None:
            reason = (f"the Graphviz program {program!r} was not found on PATH; install Graphviz "
                      f'(e.g. sudo apt-get install graphviz) or pip install "tinygrad_mlp[draw]" '
                      f"to draw")
        RuntimeError.__init__(self, f"{reason}.\n{INSTALL_HINT}")


def _program(err: graphviz.ExecutableNotFound) -> str:
    args = err.args[0] if err.args else ""
    # graphviz puts the failed command line in the message: "failed to execute PosixPath('dot')"
    for name in ("dot", "neato", "fdp", "sfdp", "twopi", "circo"):
        if f"'{name}'" in str(args):
            return name
    return "dot"


def graphviz_backend() -> str:
    """Which program draws: ``"system"`` (Graphviz's ``dot``) or ``"pure"`` (graphviz-pure).

    Graphviz's ``dot`` when it is on ``PATH``, else graphviz-pure when that is (``pip install
    "tinygrad_mlp[draw]"``); the environment variable ``TINYGRAD_MLP_GRAPHVIZ`` set to
    ``system`` or ``pure`` insists on one.  Raises :class:`GraphvizNotFoundError` when the
    program needed is missing.

    >>> graphviz_backend() in ("system", "pure")
    True
    """
    choice = os.environ.get(GRAPHVIZ_ENV, "").strip().lower() or "auto"
    if choice not in ("auto", "system", "pure"):
        raise ValueError(f"{GRAPHVIZ_ENV} must be auto, system or pure, got {choice!r}")
    if choice == "pure":
        if pure_program() is None:
            raise GraphvizNotFoundError(
                PURE_PROGRAM, f"{GRAPHVIZ_ENV}=pure asks for graphviz-pure, which was not found on "
                f'PATH; pip install "tinygrad_mlp[draw]" (or unset {GRAPHVIZ_ENV})')
        return "pure"
    if choice == "system" or shutil.which("dot") is not None:
        return "system"  # a missing dot is then reported when it is run
    if pure_program() is not None:
        return "pure"
    raise GraphvizNotFoundError("dot")


def pure_program() -> str | None:
    """The path of the ``graphviz-pure`` program, or None when it is not installed.

    Looked for on ``PATH``, then beside this Python: in its scripts folder and the user's
    (``pip install --user``), which a virtual environment that was never activated, or a
    Jupyter kernel started from one, leaves off ``PATH``.

    >>> pure_program() is None or pure_program().endswith(("graphviz-pure", "graphviz-pure.exe"))
    True
    """
    return shutil.which(PURE_PROGRAM) or pure_program_beside_python()


def pure_program_beside_python() -> str | None:
    """``graphviz-pure`` in this Python's scripts folders (its own, its base installation's
    for a virtual environment, the user's), whatever ``PATH`` says; None when it is not there.

    >>> p = pure_program_beside_python(); p is None or "graphviz-pure" in p
    True
    """
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    folders = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent),
               sysconfig.get_path("scripts", vars=base)]
    try:
        folders.append(sysconfig.get_path("scripts", f"{os.name}_user"))
    except KeyError:  # (no user scheme on this platform)
        pass
    for folder in dict.fromkeys(f for f in folders if f):
        found = shutil.which(PURE_PROGRAM, path=folder)
        if found is not None:
            return found
    return None


def run_graphviz(source: str | bytes, *, engine: str = "dot", format: str = "svg",
                 neato_no_op: int | None = None, quiet: bool = False,
                 renderer: str | None = None, formatter: str | None = None) -> bytes:
    """Lay out and draw the DOT ``source`` with the program :func:`graphviz_backend` picks.

    ``engine`` is the layout (``dot``, ``neato``, ...; ``layout=`` in the source wins),
    ``format`` the output (``svg``, ``png``, ``json``...).  Raises
    :class:`GraphvizNotFoundError` when no program can draw it (graphviz-pure writes no PDF) and
    ``graphviz.CalledProcessError`` (a ``subprocess.CalledProcessError``) when it fails.
    Warnings are printed to stderr unless ``quiet``.

    >>> run_graphviz("digraph { a -> b }", format="svg").startswith(b"<?xml")
    True
    """
    data = source.encode("utf-8") if isinstance(source, str) else source
    if graphviz_backend() == "system":
        with _install_hint():
            return graphviz.pipe(engine, format, data, renderer=renderer, formatter=formatter,
                                 neato_no_op=neato_no_op, quiet=quiet)
    if format not in PURE_FORMATS or renderer is not None or formatter is not None:
        wanted = ":".join(f for f in (format, renderer, formatter) if f)
        raise GraphvizNotFoundError(
            "dot", f"graphviz-pure cannot write {wanted!r} (it writes SVG, PNG and JPEG); install "
            f"Graphviz (e.g. sudo apt-get install graphviz) for it")
    cmd = [pure_program() or PURE_PROGRAM, f"-K{engine}", f"-T{format}"]
    if neato_no_op:
        cmd.append(f"-n{int(neato_no_op)}")
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, check=False)
    except FileNotFoundError:  # removed since graphviz_backend() looked
        raise GraphvizNotFoundError(PURE_PROGRAM) from None
    stderr = _PURE_NOISE.sub("", proc.stderr.decode("utf-8", "replace")).strip()
    if stderr and not quiet:
        print(stderr, file=sys.stderr)
    if proc.returncode != 0:
        raise graphviz.CalledProcessError(proc.returncode, cmd, output=proc.stdout,
                                          stderr=proc.stderr)
    return proc.stdout


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

    def pipe(self, format: str | None = None, renderer: str | None = None,  # noqa: D417
             formatter: str | None = None, neato_no_op: int | None = None, quiet: bool = False,
             *, engine: str | None = None, encoding: str | None = None) -> bytes | str:
        """The drawing as ``format`` (bytes, or text decoded with ``encoding``), as
        ``graphviz.Digraph.pipe``, drawn by :func:`run_graphviz`."""
        fmt = format or self.format
        # the small FONT around <SUB>/<SUP> is for SVG only: the other renderers shrink
        # scripts themselves, and would shrink them twice
        graph = self if fmt == "svg" else _without_script_fonts(self)
        data = run_graphviz(graph.source.encode(self.encoding), engine=engine or self.engine,
                            format=fmt, neato_no_op=neato_no_op, quiet=quiet,
                            renderer=renderer or self.renderer,
                            formatter=formatter or self.formatter)
        return data.decode(encoding) if encoding is not None else data

    def render(self, filename: str | os.PathLike | None = None,  # noqa: D417
               directory: str | os.PathLike | None = None, view: bool = False,
               cleanup: bool = False, format: str | None = None, renderer: str | None = None,
               formatter: str | None = None, neato_no_op: int | None = None,
               quiet: bool = False, quiet_view: bool = False, *,
               outfile: str | os.PathLike | None = None, engine: str | None = None,
               **kwargs: Any) -> str:
        """Save the source and draw it to a file, as ``graphviz.Digraph.render``; returns the
        path of the drawing.  Without ``dot`` (see :func:`graphviz_backend`) graphviz-pure
        draws it."""
        options = dict(filename=filename, directory=directory, view=view, cleanup=cleanup,
                       format=format, renderer=renderer, formatter=formatter,
                       neato_no_op=neato_no_op, quiet=quiet, quiet_view=quiet_view,
                       outfile=outfile, engine=engine, **kwargs)
        if graphviz_backend() == "system":
            with _install_hint():
                return super().render(**options)
        if outfile is not None:
            outfile = Path(outfile) if directory is not None else Path(self.directory, outfile)
            if format is None:
                format = FORMATS.get(outfile.suffix.lower(), outfile.suffix.lstrip(".").lower())
        fmt = format or self.format
        data = self.pipe(format=fmt, renderer=renderer, formatter=formatter,
                         neato_no_op=neato_no_op, quiet=quiet, engine=engine)
        if outfile is not None and filename is None:
            filename = outfile.with_suffix(".gv").name
        source = self.save(filename, directory=directory)
        rendered = str(outfile) if outfile is not None else f"{source}.{fmt}"
        _write_atomic(Path(rendered), data)
        if cleanup:
            os.remove(source)
        if view or quiet_view:
            graphviz.view(rendered, quiet=quiet_view)
        return rendered

    def _repr_image_png(self) -> bytes:
        if self.png_dpi:
            return _with_dpi(self, self.png_dpi).pipe(format="png")
        return self.pipe(format="png")

    def _repr_image_svg_xml(self) -> str:
        return fit_width(self.pipe(format="svg", encoding="utf-8"))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict:
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except GraphvizNotFoundError as e:
            # a notebook user needs the install command, not a traceback into subprocess
            return {"text/plain": str(e)}


_SVG_ROOT = re.compile(r"<svg\b([^>]*)>")
FIT_STYLE = "max-width:100%;height:auto"


def fit_width(svg: str) -> str:
    """``svg`` with its root element shrinking to the width of its container when wider.

    A narrower picture keeps its natural size; the height follows the width (the
    ``viewBox`` keeps the proportions).  Used for the notebook display.

    >>> fit_width('<svg width="800pt" height="90pt" viewBox="0 0 800 90"></svg>')
    '<svg style="max-width:100%;height:auto" width="800pt" height="90pt" viewBox="0 0 800 90"></svg>'
    """
    def add_style(m: re.Match) -> str:
        attrs = m.group(1)
        if re.search(r"\sstyle=", attrs):
            attrs = re.sub(r'(\sstyle=")', rf"\1{FIT_STYLE};", attrs, count=1)
            return f"<svg{attrs}>"
        return f'<svg style="{FIT_STYLE}"{attrs}>'
    return _SVG_ROOT.sub(add_style, svg, count=1)


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
    write_atomic(path, data)


def render(graph: graphviz.Digraph, path: str | os.PathLike, *, format: str | None = None,
           dpi: float | None = None) -> Path:
    """Write ``graph`` to ``path`` as SVG, PNG, PDF (or JPEG, GIF, DOT) by its extension.

    ``dpi`` sets the resolution of raster formats (for slides: 150-300; from 10 to 1200,
    checked for every format).  ``.dot``/``.gv``
    writes the DOT source and works without Graphviz; the others raise
    :class:`GraphvizNotFoundError` when neither Graphviz nor graphviz-pure is installed (and
    for PDF, GIF without Graphviz).  Returns the path written.

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
    if isinstance(graph, Drawing):
        data = graph.pipe(format=fmt)
    else:  # a plain graphviz.Digraph may be given too
        data = run_graphviz(graph.source.encode(graph.encoding), engine=graph.engine, format=fmt)
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
