"""A whole HTML page shown inside another one (a notebook cell) without touching it.

A page with its own ids, styles and scripts breaks its neighbours when pasted into a
notebook: two copies share element ids, a ``body`` or ``h1`` style restyles the notebook, and
one copy's script finds the other's elements.  :func:`isolated_html` puts the page into a
sandboxed ``<iframe srcdoc=...>`` instead: the page gets a document of its own, its scripts
run in an opaque origin that cannot reach the notebook, and the wrapper itself carries only
inline styles and an id made unique by :func:`unique_id`.
"""

from __future__ import annotations

import html
import uuid

__all__ = ["isolated_html", "unique_id"]


def unique_id(prefix: str = "tinygrad-mlp") -> str:
    """An element id no other output has, even across kernel restarts: ``prefix`` + 12 hex digits.

    >>> a, b = unique_id(), unique_id("anim")
    >>> a != b and a.startswith("tinygrad-mlp-") and b.startswith("anim-")
    True
    """
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def isolated_html(page: str, *, height: int = 600, title: str = "", id_prefix: str = "tinygrad-mlp",
                  resizable: bool = True) -> str:
    """``page`` (a whole HTML document) as a sandboxed iframe, ready for ``_repr_html_``.

    The iframe takes the cell's width and ``height`` pixels; with ``resizable`` the reader
    can drag its bottom-right corner to make it taller.  ``sandbox="allow-scripts"`` lets the
    page's own scripts run, but not reach the notebook, open windows or submit forms.

    >>> out = isolated_html("<!DOCTYPE html><p>a & b</p>", height=200, title="demo")
    >>> out.startswith('<div id="tinygrad-mlp-') and 'sandbox="allow-scripts"' in out
    True
    >>> 'srcdoc="&lt;!DOCTYPE html&gt;&lt;p&gt;a &amp; b&lt;/p&gt;"' in out
    True
    """
    if not isinstance(page, str):
        raise TypeError(f"isolated_html takes the page as a str, got {type(page).__name__}")
    height = int(height)
    if height < 50:
        raise ValueError(f"height must be at least 50 pixels, got {height}")
    box = (f"width: 100%; height: {height}px; min-height: 120px; box-sizing: border-box; "
           "border: 1px solid #ddd; overflow: hidden;" + (" resize: vertical;" if resizable else ""))
    return (f'<div id="{unique_id(id_prefix)}" style="{box}">'
            f'<iframe sandbox="allow-scripts" title="{html.escape(title, quote=True)}" '
            f'style="width: 100%; height: 100%; border: 0; display: block;" '
            f'srcdoc="{html.escape(page, quote=True)}"></iframe></div>')
