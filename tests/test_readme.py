"""The README's commands and code stay true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert first_block == [
        'pip install -e ".[plot]" && tinygrad-mlp demo',
        'pip install -e ".[dev]" && pytest -q',
    ]


@pytest.mark.parametrize("index", range(len(re.findall(r"```python\n", README))))
def test_readme_python_blocks_run(index, tmp_path, monkeypatch, capsys):
    pytest.importorskip("graphviz")
    monkeypatch.chdir(tmp_path)
    code = re.findall(r"```python\n(.*?)```", README, re.S)[index]
    try:
        exec(compile(code, f"README block {index}", "exec"), {})
    except Exception as e:  # the render line needs the dot program
        if type(e).__name__ != "GraphvizNotFoundError":
            raise
    out = capsys.readouterr().out
    if "print(" in code:
        assert out.strip()
