"""Shared test settings: hypothesis profiles and fixtures.

``CI`` set in the environment selects the ``ci`` profile: derandomized, so a run on CI always
draws the same examples and can never flake.  Locally the ``dev`` profile explores fresh
random examples on every run.  ``HYPOTHESIS_PROFILE`` picks a profile by name explicitly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,  # timings on a shared 2-core machine are too noisy for per-example limits
    "suppress_health_check": [HealthCheck.too_slow],
    "print_blob": True,
}

settings.register_profile("ci", derandomize=True, max_examples=200, **_COMMON)
settings.register_profile("dev", max_examples=200, **_COMMON)
settings.register_profile("thorough", max_examples=1000, **_COMMON)

_default = "ci" if os.environ.get("CI") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or _default)


def pytest_configure(config) -> None:
    """Register the markers test files use (pyproject.toml holds no marker list)."""
    config.addinivalue_line("markers", "slow: a long-running test (deselect with -m 'not slow')")
    config.addinivalue_line(
        "markers", "fast_only: reads a private name of the fast engine (its slots, node classes, "
        "counters) or measures its memory per node; skipped on the reference engine")


@pytest.fixture
def restore_losses():
    """Undo any register_loss a test makes."""
    from tinygrad_mlp.functional import LOSSES

    saved = dict(LOSSES)
    yield
    LOSSES.clear()
    LOSSES.update(saved)


@pytest.fixture
def restore_activations():
    """Undo any register_activation a test makes."""
    from tinygrad_mlp.nn import ACTIVATIONS

    saved = dict(ACTIVATIONS)
    yield
    ACTIVATIONS.clear()
    ACTIVATIONS.update(saved)


# --------------------------------------------------------------------------- the browser
@pytest.fixture(scope="session")
def browser():
    """A headless Chromium (see ``tests/browser.py``): skipped where there is none, except on CI."""
    sys.path.insert(0, str(Path(__file__).parent))
    from browser import Browser, unavailable

    reason = unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run on CI: {reason}")
        pytest.skip(reason)
    b = Browser()
    yield b
    b.close()


@pytest.fixture
def open_html(browser, tmp_path):
    """``open_html(html_string_or_path) -> Opened``: a page in the browser, closed after the test."""

    def open_(target, **kwargs):
        return browser.open(target, tmp_path / "pages", **kwargs)

    yield open_
    browser.close_pages()
