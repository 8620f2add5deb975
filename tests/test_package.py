"""The package as installed: light import, typed, its metadata as the design fixes it."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_mlp

ROOT = Path(__file__).resolve().parent.parent


def test_import_does_not_load_heavy_optional_modules():
    code = (
        "import sys, tinygrad_mlp, tinygrad_mlp.nn, tinygrad_mlp.train, tinygrad_mlp.io; "
        "print(sorted(m for m in ('graphviz', 'matplotlib', 'safetensors', 'tqdm', 'sklearn', "
        "'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ships_py_typed():
    assert (Path(tinygrad_mlp.__file__).parent / "py.typed").is_file()
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert "py.typed" in cfg["options.package_data"]["tinygrad_mlp"]


def test_setup_cfg_dependencies_and_entry_point():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    requires = cfg["options"]["install_requires"]
    for name in ("numpy", "graphviz", "tqdm", "safetensors"):
        assert name in requires
    assert "torch" not in requires
    assert cfg["options"]["python_requires"].strip() == ">=3.10"
    extras = cfg["options.extras_require"]
    assert "matplotlib" in extras["plot"]
    for name in ("pytest", "hypothesis", "ruff", "matplotlib", "scikit-learn"):
        assert name in extras["dev"]
    assert "sphinx" in extras["docs"]
    assert "tinygrad-mlp = tinygrad_mlp.cli:main" in cfg["options.entry_points"]["console_scripts"]


def test_pyproject_holds_only_build_system_and_tool_sections():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert set(data) <= {"build-system", "tool"}
    assert "build-backend" in data["build-system"]


def test_public_api_is_exported():
    for name in ("Value", "Function", "gradcheck", "GradcheckError", "no_grad", "detect_anomaly",
                 "MLP", "Layer", "Neuron", "Module", "__version__"):
        assert hasattr(tinygrad_mlp, name), name
