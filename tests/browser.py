"""The browser-test harness: open the project's HTML outputs in headless Chromium.

Used through the fixtures in ``tests/conftest.py``::

    def test_page(open_html, tmp_path):
        opened = open_html(some_html_string)       # or open_html(Path("page.html"))
        opened.page.click("text=▶")
        opened.assert_clean()                        # no console error, page error or fetch

The browser is Debian's ``chromium`` driven by ``playwright`` (``executable_path`` points at
it, so playwright never downloads a browser of its own). Every request that leaves the file
(``http:``, ``https:``, ``ws:`` ...) is refused and recorded: a page that fetches anything
fails :meth:`Opened.assert_clean`, so "works offline, from ``file://``" is tested too.

Where playwright or Chromium is missing the browser tests skip on a developer's machine but
*fail* when ``CI`` is set, so CI cannot go green by skipping them. ``TINYGRAD_MLP_CHROMIUM``
names another Chromium binary.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Flags for a headless Chromium on a machine with a closed network and no display.
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


def chromium_path() -> str | None:
    """The Chromium binary to drive, or None when there is none."""
    named = os.environ.get("TINYGRAD_MLP_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "no Chromium found (apt-get install -y chromium, or set TINYGRAD_MLP_CHROMIUM)"
    return None


@dataclass
class Opened:
    """A page open in the browser and everything that went wrong on it so far."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Every console error, uncaught exception and refused request, in one list."""
        return ([f"console: {m}" for m in self.console_errors]
                + [f"page error: {m}" for m in self.page_errors]
                + [f"fetched: {u}" for u in self.fetched])

    def assert_clean(self) -> None:
        """Fail when the page logged an error, threw, or tried to fetch something."""
        assert not self.problems, "the page reported problems:\n" + "\n".join(self.problems)


class Browser:
    """One headless Chromium for a test session; :meth:`open` gives each page a new context."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True)
        self._contexts: list[Any] = []

    def open(self, target: str | Path, directory: Path, *,
             viewport: tuple[int, int] = (1280, 720)) -> Opened:
        """Open a file (a ``Path``) or an HTML string (written to ``directory`` first)."""
        if isinstance(target, str):
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"page{len(self._contexts)}.html"
            path.write_text(target, encoding="utf-8")
        else:
            path = Path(target)
        context = self._browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]})
        self._contexts.append(context)
        page = context.new_page()
        opened = Opened(page)

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith(LOCAL_SCHEMES):
                r.continue_()
            else:
                opened.fetched.append(url)
                r.abort()

        context.route("**/*", route)
        page.on("console", lambda m: m.type == "error" and opened.console_errors.append(m.text))
        page.on("pageerror", lambda e: opened.page_errors.append(str(e)))
        page.goto(path.resolve().as_uri())
        page.wait_for_load_state("load")
        return opened

    def close_pages(self) -> None:
        """Close every page opened since the last call."""
        for context in self._contexts:
            context.close()
        self._contexts.clear()

    def close(self) -> None:
        """Close the browser and stop playwright."""
        self.close_pages()
        self._browser.close()
        self._playwright.stop()
