"""What the README's install gives a user's own tools: a typed package they can find.

``pip install -e .`` with setuptools used to install an import hook, which type checkers cannot
follow: mypy in the user's project then could not find ``agentools`` at all. The project now
says where its packages sit, so the editable install is a plain ``.pth`` path.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

import agentools


def test_the_package_is_typed() -> None:
    assert (Path(agentools.__file__).parent / "py.typed").is_file()


def test_an_editable_install_is_a_plain_path_that_type_checkers_follow() -> None:
    # Every distribution of that name: a source checkout's own agentools.egg-info may come first.
    files = [f for d in importlib.metadata.distributions(name="agentools") for f in d.files or []]
    editable = [f for f in files if f.name.startswith("__editable__") and f.suffix == ".pth"]
    if not editable:
        pytest.skip("agentools is not installed in editable mode here")
    (pth,) = editable
    lines = [line for line in Path(pth.locate()).read_text().splitlines() if line.strip()]
    assert lines, "an empty .pth"
    assert not any(line.startswith("import") for line in lines), lines  # no import hook
    roots = {Path(line).resolve() for line in lines}
    assert Path(agentools.__file__).resolve().parent.parent in roots
