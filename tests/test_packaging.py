"""What the README's install gives a user's own tools: a typed package they can find.

``pip install -e .`` with setuptools used to install an import hook, which type checkers cannot
follow: mypy in the user's project then could not find ``agentools`` at all. The project now
says where its packages sit, so the editable install is a plain ``.pth`` path.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
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


def test_importing_agentools_loads_only_what_every_program_needs() -> None:
    """``import agentools`` costs what a program with no tool, no stored history and no mistake
    pays: cattrs (converters), docstring_parser (tool descriptions), the SDK's resource modules
    (its own import leaves them for first use) and the history checks load when first needed."""
    code = (
        "import sys, openai; before = set(sys.modules); import agentools; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    deferred = {"cattrs", "docstring_parser", "difflib", "openai.resources", "agentools._validate"}
    assert loaded & deferred == set()
    assert "agentools.assistant" in loaded


def test_deferred_names_load_on_first_use() -> None:
    code = (
        "import agentools; from agentools import validate_history, HistoryProblem; "
        "import sys; assert 'agentools._validate' in sys.modules; "
        "assert set(agentools.__all__) <= set(dir(agentools)); "
        "print(validate_history([{'role': 'user', 'content': 'hi'}]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        agentools.nope  # noqa: B018
