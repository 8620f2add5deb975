"""Collection rules for every test run from the repository root, the package's doctests
included (``pytest tinygrad_mlp`` as well as the README's ``pytest -q``)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items) -> None:
    """Each engine's doctests run on that engine: the process runs one of them (see
    ``tinygrad_mlp.engine``), and the other's examples would mix two kinds of Value."""
    from tinygrad_mlp import engine

    other = "reference" if engine.ENGINE == "fast" else "fast"
    skip = pytest.mark.skip(reason=f"a doctest of the {other} engine; this run uses {engine.ENGINE}")
    fast_only = pytest.mark.skip(reason="reads the fast engine's private names")
    for item in items:
        if item.nodeid.startswith(f"tinygrad_mlp/engine/{other}.py::"):
            item.add_marker(skip)
        elif engine.ENGINE != "fast" and item.get_closest_marker("fast_only"):
            item.add_marker(fast_only)
