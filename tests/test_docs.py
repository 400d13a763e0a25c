"""Every Python block of README.md and docs/*.md runs as written.

A page is read top to bottom, so its blocks run in order in one namespace (a block may use what
an earlier block of the same page defined), in an empty temporary folder, with
``OPENAI_BASE_URL`` pointing at the loopback server and its offline model: code that builds
``Assistant(model=...)`` with the default clients talks to it. Blocks are run as a script would
run them, so top-level ``await`` is an error here as it is in a script.

Comments on the line right before a block's fence (invisible on GitHub) adjust this:

- ``<!-- docs-test: setup ... -->``: Python run before the block, for what the reader has
  already (a folder of notes, a file). The comment may span lines.
- ``<!-- docs-test: run by tests/test_x.py -->``: another test module runs the block (it needs a
  server of its own); that module must name this page.
- ``<!-- docs-test: excerpt of path/to/file.py -->``: a piece of a program of the repository,
  shown as it is there: the block must be found in that file, word for word.
- ``<!-- docs-test: skip: reason -->``: not run; the reason is required.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from agentools import Assistant
from agentools.testing import FakeOpenAIServer, offline_model

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<code>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)
_DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(?P<what>(?:(?!-->).)*?)\s*-->\s*\Z", re.S)


@attrs.frozen
class Block:
    page: Path
    line: int
    code: str
    directive: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip()
        directive = _DIRECTIVE.search(before)
        found.append(
            Block(
                page=page,
                line=text.count("\n", 0, match.start()) + 1,
                code=textwrap.dedent(match["code"]),
                directive=directive["what"] if directive else None,
            )
        )
    return found


@contextlib.contextmanager
def offline_endpoint(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Iterator[None]:
    with FakeOpenAIServer(responder=offline_model) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-docs")
        monkeypatch.chdir(folder)
        yield


@contextlib.contextmanager
def closing_assistants(namespace: dict[str, object]) -> Iterator[None]:
    """The page's assistants are closed at its end, as a script's are when it exits."""
    try:
        yield
    finally:
        for value in namespace.values():
            if isinstance(value, Assistant):
                value.close()


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_python_fence_is_collected(page: Path) -> None:
    """A block the collector missed would never be run: each opening fence is a block."""
    fences = re.findall(r"^[ \t]*```python[ \t]*$", page.read_text(encoding="utf-8"), re.M)
    assert len(blocks_of(page)) == len(fences)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_block_of_the_page_runs(
    page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocks = blocks_of(page)
    if not blocks:
        pytest.skip("no Python block")
    namespace: dict[str, object] = {"__name__": "__docs__"}
    with (
        offline_endpoint(monkeypatch, tmp_path),
        contextlib.redirect_stdout(io.StringIO()),
        closing_assistants(namespace),
    ):
        for block in blocks:
            directive = block.directive or ""
            if directive.startswith("skip"):
                assert directive.removeprefix("skip").strip(": "), (
                    f"{block.where}: skip needs a reason"
                )
                continue
            if directive.startswith("run by "):
                module = ROOT / directive.removeprefix("run by ").strip()
                assert module.is_file(), f"{block.where}: no {module}"
                assert page.name in module.read_text(), (
                    f"{block.where}: {module.name} does not run it"
                )
                continue
            if directive.startswith("excerpt of "):
                source = ROOT / directive.removeprefix("excerpt of ").strip()
                assert block.code.strip() in source.read_text(encoding="utf-8"), (
                    f"{block.where}: not found as it is in {source.relative_to(ROOT)}"
                )
                continue
            if directive.startswith("setup"):
                setup = textwrap.dedent(directive.removeprefix("setup").strip("\n"))
                exec(compile(setup, f"{block.where} (setup)", "exec"), namespace)
            elif directive:
                pytest.fail(f"{block.where}: unknown docs-test comment {directive!r}")
            try:
                exec(compile(block.code, block.where, "exec"), namespace)
            except Exception as error:
                raise AssertionError(
                    f"the block at {block.where} does not run: {error!r}"
                ) from error


def test_the_readme_table_has_every_hook_with_its_signature_and_event() -> None:
    from agentools.events import EVENT_TYPES
    from agentools.hooks import HOOK_NAMES

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `((?:on|before)_\w+)\(([^)]*)\)` \| `(\w+)` \|", text, re.M)
    by_hook = {event.hook: event for event in EVENT_TYPES}
    assert sorted(hook for hook, _, _ in rows) == sorted(HOOK_NAMES)
    for hook, parameters, event_name in rows:
        event = by_hook[hook]
        assert event.__name__ == event_name, hook
        fields = [field.name for field in attrs.fields(event)]
        assert [p.strip() for p in parameters.split(",")] == fields, hook
